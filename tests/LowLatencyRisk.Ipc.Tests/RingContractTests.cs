using LowLatencyRisk.Ipc.TestPeer;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Ipc.Tests;

/// <summary>The ring contract, run against every way of creating a ring (in process and memory-mapped).</summary>
public abstract class RingContractTests : IDisposable
{
    private readonly List<SharedRing> _rings = [];

    protected TempFiles Files { get; } = new();

    protected abstract SharedRing CreateRingCore(RingOptions options);

    protected SharedRing CreateRing(int capacity = 16, ProducerMode mode = ProducerMode.Single, int consumers = 1, int slotSize = 64)
    {
        var ring = CreateRingCore(new RingOptions(slotSize, capacity, mode, consumers));
        _rings.Add(ring);
        return ring;
    }

    public void Dispose()
    {
        foreach (var r in _rings)
        {
            r.Dispose();
        }

        Files.Dispose();
        GC.SuppressFinalize(this);
    }

    private static IRingProducer Producer(SharedRing ring) =>
        ring.Options.Mode == ProducerMode.Single ? ring.CreateSingleProducer() : ring.CreateMultiProducer();

    private static void PublishOne(IRingProducer p, int producerId, long seq)
    {
        Assert.True(p.TryClaim(1, out long s));
        TestMessage.Write(p.Payload(s), producerId, seq);
        Assert.True(p.Publish(s));
    }

    [Theory]
    [InlineData(ProducerMode.Single)]
    [InlineData(ProducerMode.Multi)]
    public void Poll_WhenEmpty_ReturnsZero(ProducerMode mode)
    {
        var ring = CreateRing(mode: mode);
        var consumer = ring.CreateConsumer(0);
        var h = new CollectingHandler();
        Assert.Equal(0, consumer.Poll(ref h));
        Assert.False(consumer.IsAvailable());
        Assert.Equal(0, ring.ReadConsumerSequence(0));
    }

    [Theory]
    [InlineData(ProducerMode.Single)]
    [InlineData(ProducerMode.Multi)]
    public void TryClaim_WhenFull_ReturnsFalse_AndSucceedsAfterConsume(ProducerMode mode)
    {
        var ring = CreateRing(capacity: 8, mode: mode);
        var p = Producer(ring);
        for (int i = 0; i < 8; i++)
        {
            PublishOne(p, 1, i);
        }

        Assert.False(p.TryClaim(1, out _));
        var consumer = ring.CreateConsumer(0);
        var h = new CollectingHandler();
        Assert.Equal(8, consumer.Poll(ref h));
        Assert.True(p.TryClaim(1, out long s));
        Assert.Equal(8, s);
    }

    [Theory]
    [InlineData(ProducerMode.Single)]
    [InlineData(ProducerMode.Multi)]
    public void TryClaim_BatchLargerThanFreeSpace_ClaimsNothing(ProducerMode mode)
    {
        var ring = CreateRing(capacity: 8, mode: mode);
        var p = Producer(ring);
        Assert.True(p.TryClaim(5, out long first));
        Assert.Equal(0, first);
        Assert.False(p.TryClaim(4, out _));
        Assert.True(p.TryClaim(3, out first));
        Assert.Equal(5, first);
    }

    [Theory]
    [InlineData(ProducerMode.Single)]
    [InlineData(ProducerMode.Multi)]
    public void Poll_WrapsAroundManyTimes_DeliversEveryMessageInOrder(ProducerMode mode)
    {
        var ring = CreateRing(capacity: 16, mode: mode);
        var p = Producer(ring);
        var consumer = ring.CreateConsumer(0);
        var h = new CollectingHandler();
        long sent = 0;
        var rng = new Random(7);
        while (sent < 16 * 1000)
        {
            int burst = rng.Next(1, 17);
            for (int i = 0; i < burst && p.TryClaim(1, out long s); i++)
            {
                TestMessage.Write(p.Payload(s), 3, sent++);
                Assert.True(p.Publish(s));
            }

            consumer.Poll(ref h, maxBatch: rng.Next(1, 20));
        }

        while (consumer.Poll(ref h) > 0)
        {
        }

        Assert.Equal(sent, h.Received.Count);
        for (int i = 0; i < h.Received.Count; i++)
        {
            Assert.Equal((3, (long)i), h.Received[i]);
        }

        Assert.Equal(0, h.Torn);
    }

    [Fact]
    public void Poll_RespectsMaxBatch_AndPublishesSequenceOncePerBatch()
    {
        var ring = CreateRing(capacity: 32);
        var p = ring.CreateSingleProducer();
        for (int i = 0; i < 20; i++)
        {
            PublishOne(p, 1, i);
        }

        var consumer = ring.CreateConsumer(0);
        var h = new SequenceObservingHandler(ring);
        Assert.Equal(7, consumer.Poll(ref h, maxBatch: 7));
        // During the batch the published consumer sequence did not move.
        Assert.All(h.ConsumerSequenceDuringBatch, s => Assert.Equal(0, s));
        Assert.Equal(7, ring.ReadConsumerSequence(0));
        h.ConsumerSequenceDuringBatch.Clear();
        Assert.Equal(13, consumer.Poll(ref h));
        Assert.All(h.ConsumerSequenceDuringBatch, s => Assert.Equal(7, s));
        Assert.Equal(20, ring.ReadConsumerSequence(0));
    }

    [Fact]
    public void Poll_StopsAtFirstUnpublishedSlot_EvenIfLaterSlotsArePublished()
    {
        var ring = CreateRing(mode: ProducerMode.Multi);
        var p1 = ring.CreateMultiProducer();
        var p2 = ring.CreateMultiProducer();
        Assert.True(p1.TryClaim(1, out long a));
        Assert.True(p2.TryClaim(1, out long b));
        TestMessage.Write(p2.Payload(b), 2, 0);
        Assert.True(p2.Publish(b));
        var consumer = ring.CreateConsumer(0);
        var h = new CollectingHandler();
        Assert.Equal(0, consumer.Poll(ref h));
        TestMessage.Write(p1.Payload(a), 1, 0);
        Assert.True(p1.Publish(a));
        Assert.Equal(2, consumer.Poll(ref h));
        Assert.Equal([(1, 0L), (2, 0L)], h.Received);
    }

    [Fact]
    public void MultiProducer_ManyThreads_NoLossNoDuplicateOrderPerProducer()
    {
        const int Producers = 3;
        const int PerProducer = 50_000;
        var ring = CreateRing(capacity: 1024, mode: ProducerMode.Multi);
        var consumer = ring.CreateConsumer(0);
        var threads = new Thread[Producers];
        for (int t = 0; t < Producers; t++)
        {
            int id = t + 1;
            threads[t] = new Thread(() =>
            {
                var p = ring.CreateMultiProducer();
                var wait = new YieldingWait();
                for (long i = 0; i < PerProducer; i++)
                {
                    // Alternate the blocking (atomic add) and non-blocking (CAS) claim paths.
                    long s;
                    if ((i & 1) == 0)
                    {
                        s = p.Claim(1, ref wait);
                    }
                    else
                    {
                        int spins = 0;
                        while (!p.TryClaim(out s))
                        {
                            wait.Idle(spins++);
                        }
                    }

                    TestMessage.Write(p.Payload(s), id, i);
                    Assert.True(p.Publish(s));
                }
            });
            threads[t].Start();
        }

        var h = new OrderCheckingHandler(Producers);
        var idle = new YieldingWait();
        long total = (long)Producers * PerProducer;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (h.Count < total && DateTime.UtcNow < deadline)
        {
            if (consumer.Poll(ref h) == 0)
            {
                idle.Idle(200);
            }
        }

        foreach (var t in threads)
        {
            t.Join();
        }

        Assert.Equal(0, h.Errors);
        Assert.Equal(total, h.Count);
        for (int t = 1; t <= Producers; t++)
        {
            Assert.Equal(PerProducer, h.NextExpected[t]);
        }
    }

    [Fact]
    public void DependentConsumer_SeesOnlyWhatItsDependencyFinished_AndProducerIsGatedByTheMinimum()
    {
        var ring = CreateRing(capacity: 8, consumers: 2);
        var p = ring.CreateSingleProducer();
        var journal = ring.CreateConsumer(0);
        var engine = ring.CreateConsumer(1, dependsOn: [0]);
        for (int i = 0; i < 5; i++)
        {
            PublishOne(p, 1, i);
        }

        var h = new CollectingHandler();
        Assert.Equal(0, engine.Poll(ref h));
        Assert.Equal(3, journal.Poll(ref h, maxBatch: 3));
        Assert.Equal(3, engine.Poll(ref h));
        Assert.Equal(0, engine.Poll(ref h));
        Assert.Equal(2, journal.Poll(ref h));
        Assert.Equal(2, engine.Poll(ref h));

        // Fill: the journal runs ahead, the engine lags; the producer is gated by the engine.
        for (int i = 5; i < 13; i++)
        {
            PublishOne(p, 1, i);
        }

        Assert.False(p.TryClaim(1, out _));
        Assert.Equal(8, journal.Poll(ref h));
        Assert.False(p.TryClaim(1, out _));
        Assert.Equal(1, engine.Poll(ref h, maxBatch: 1));
        Assert.True(p.TryClaim(1, out _));
    }

    [Fact]
    public void ParallelConsumers_BothSeeEverything_ProducerGatedBySlowest()
    {
        var ring = CreateRing(capacity: 4, consumers: 2);
        var p = ring.CreateSingleProducer();
        var a = ring.CreateConsumer(0);
        var b = ring.CreateConsumer(1);
        for (int i = 0; i < 4; i++)
        {
            PublishOne(p, 1, i);
        }

        var ha = new CollectingHandler();
        var hb = new CollectingHandler();
        Assert.Equal(4, a.Poll(ref ha));
        Assert.False(p.TryClaim(1, out _));
        Assert.Equal(4, b.Poll(ref hb));
        Assert.True(p.TryClaim(1, out _));
        Assert.Equal(ha.Received, hb.Received);
    }

    [Fact]
    public void WaitForAvailable_WhenSilent_TimesOut_AndWhenPublished_ReturnsTrue()
    {
        var ring = CreateRing();
        var consumer = ring.CreateConsumer(0);
        var wait = new YieldingWait();
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(consumer.WaitForAvailable(ref wait, TimeSpan.FromMilliseconds(30)));
        Assert.True(started.ElapsedMilliseconds >= 25, $"returned after {started.ElapsedMilliseconds} ms");

        var p = ring.CreateSingleProducer();
        var publisher = new Thread(() =>
        {
            Thread.Sleep(20);
            PublishOne(p, 1, 0);
        });
        publisher.Start();
        Assert.True(consumer.WaitForAvailable(ref wait, TimeSpan.FromSeconds(30)));
        publisher.Join();
    }

    [Fact]
    public void DeadProducer_SlotIsAbandonedAfterTimeout_LaterMessagesDelivered_LatePublishRefused()
    {
        var ring = CreateRing(mode: ProducerMode.Multi, consumers: 2);
        var dead = ring.CreateMultiProducer();
        var live = ring.CreateMultiProducer();
        Assert.True(dead.TryClaim(out long stuck));
        PublishOne(live, 2, 0);
        PublishOne(live, 2, 1);

        var root = ring.CreateConsumer(0, abandonTimeout: TimeSpan.FromMilliseconds(50));
        var dependent = ring.CreateConsumer(1, dependsOn: [0]);
        var h = new CollectingHandler();
        Assert.Equal(0, root.Poll(ref h));
        var wait = new YieldingWait();
        Assert.True(root.WaitForAvailable(ref wait, TimeSpan.FromSeconds(10)));
        Assert.Equal(3, root.Poll(ref h));
        Assert.Equal([(2, 0L), (2, 1L)], h.Received);
        Assert.Equal(1, root.AbandonedCount);
        Assert.Equal(1, ring.ReadAbandonedCount(0));

        var hd = new CollectingHandler();
        Assert.Equal(3, dependent.Poll(ref hd));
        Assert.Equal(h.Received, hd.Received);
        Assert.Equal(1, dependent.AbandonedCount);

        // The stalled producer wakes up: its publish is refused, so it knows to send again.
        TestMessage.Write(dead.Payload(stuck), 1, 0);
        Assert.False(dead.Publish(stuck));
    }

    [Fact]
    public void SilentProducer_WithoutLaterSlots_IsNeverAbandoned()
    {
        var ring = CreateRing(mode: ProducerMode.Multi);
        var slow = ring.CreateMultiProducer();
        Assert.True(slow.TryClaim(out long s));
        var root = ring.CreateConsumer(0, abandonTimeout: TimeSpan.FromMilliseconds(10));
        var wait = new YieldingWait();
        Assert.False(root.WaitForAvailable(ref wait, TimeSpan.FromMilliseconds(60)));
        TestMessage.Write(slow.Payload(s), 1, 0);
        Assert.True(slow.Publish(s));
        var h = new CollectingHandler();
        Assert.Equal(1, root.Poll(ref h));
        Assert.Equal(0, root.AbandonedCount);
    }

    [Fact]
    public void Consumer_Recreated_ResumesFromItsPublishedSequence()
    {
        var ring = CreateRing();
        var p = ring.CreateSingleProducer();
        for (int i = 0; i < 6; i++)
        {
            PublishOne(p, 1, i);
        }

        var h = new CollectingHandler();
        Assert.Equal(4, ring.CreateConsumer(0).Poll(ref h, maxBatch: 4));
        var again = ring.CreateConsumer(0);
        Assert.Equal(4, again.Sequence);
        Assert.Equal(2, again.Poll(ref h));
        Assert.Equal(6, h.Received.Count);
    }

    [Fact]
    public void SingleProducer_Recreated_ResumesAtClaimSequence()
    {
        var ring = CreateRing();
        var p = ring.CreateSingleProducer();
        PublishOne(p, 1, 0);
        PublishOne(p, 1, 1);
        var again = ring.CreateSingleProducer();
        Assert.Equal(2, again.NextSequence);
    }

    [Fact]
    public void Create_WithInvalidOptions_ThrowsNamingTheField()
    {
        var ex = Assert.Throws<ArgumentException>(() => CreateRing(capacity: 12));
        Assert.Contains("Capacity", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => CreateRing(slotSize: 100));
        Assert.Contains("SlotSize", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => CreateRing(consumers: 5));
        Assert.Contains("ConsumerCount", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HotPaths_DoNotAllocate()
    {
        var ring = CreateRing(capacity: 64, consumers: 1);
        var p = ring.CreateSingleProducer();
        var c = ring.CreateConsumer(0);
        var state = new HotPathState(p, c);
        GcAssert.NoAllocation(state, static s =>
        {
            var wait = new BusySpinWait();
            long seq = s.Producer.Claim(1, ref wait);
            s.Producer.Payload(seq)[0] = 1;
            s.Producer.Publish(seq);
            var handler = new CountingHandler();
            s.Consumer.Poll(ref handler);
            s.Consumer.WaitForAvailable(ref wait, TimeSpan.Zero);
        });
    }

    [Fact]
    public void MultiProducerHotPaths_DoNotAllocate()
    {
        var ring = CreateRing(capacity: 64, mode: ProducerMode.Multi);
        var p = ring.CreateMultiProducer();
        var c = ring.CreateConsumer(0, abandonTimeout: TimeSpan.FromSeconds(1));
        GcAssert.NoAllocation((p, c), static s =>
        {
            var wait = new BusySpinWait();
            long seq = s.p.Claim(1, ref wait);
            s.p.Publish(seq);
            Assert.True(s.p.TryClaim(out seq));
            s.p.Publish(seq);
            var handler = new CountingHandler();
            s.c.Poll(ref handler);
            s.c.Poll(ref handler);
        });
    }

    private sealed record HotPathState(SingleProducer Producer, RingConsumer Consumer);

    internal struct CountingHandler : IRingHandler
    {
        public long Count;

        public void OnMessage(long sequence, ReadOnlySpan<byte> payload) => Count++;
    }

    private sealed class CollectingHandler : IRingHandler
    {
        public List<(int, long)> Received { get; } = [];

        public int Torn { get; private set; }

        public void OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
            if (TestMessage.TryRead(payload, out int id, out long seq))
            {
                Received.Add((id, seq));
            }
            else
            {
                Torn++;
            }
        }
    }

    private sealed class SequenceObservingHandler(SharedRing ring) : IRingHandler
    {
        public List<long> ConsumerSequenceDuringBatch { get; } = [];

        public void OnMessage(long sequence, ReadOnlySpan<byte> payload) => ConsumerSequenceDuringBatch.Add(ring.ReadConsumerSequence(0));
    }
}

/// <summary>Checks per-producer order, no loss, no duplicates and no torn slots, without allocating per message.</summary>
public sealed class OrderCheckingHandler(int producers) : IRingHandler
{
    public long[] NextExpected { get; } = new long[producers + 1];

    public long Count { get; private set; }

    public long Errors { get; private set; }

    public string? FirstError { get; private set; }

    public void OnMessage(long sequence, ReadOnlySpan<byte> payload)
    {
        Count++;
        if (!TestMessage.TryRead(payload, out int id, out long seq))
        {
            Fail($"torn slot at ring sequence {sequence}");
            return;
        }

        if (id < 1 || id >= NextExpected.Length)
        {
            Fail($"unknown producer {id} at {sequence}");
            return;
        }

        if (seq != NextExpected[id])
        {
            Fail($"producer {id}: expected {NextExpected[id]}, got {seq} at ring sequence {sequence}");
        }

        NextExpected[id] = seq + 1;
    }

    private void Fail(string message)
    {
        Errors++;
        FirstError ??= message;
    }
}

public sealed class InProcessRingTests : RingContractTests
{
    protected override SharedRing CreateRingCore(RingOptions options) => SharedRing.CreateInProcess(options);
}

public sealed class MappedRingTests : RingContractTests
{
    protected override SharedRing CreateRingCore(RingOptions options) => SharedRing.CreateMapped(Files.NewPath(), options);
}
