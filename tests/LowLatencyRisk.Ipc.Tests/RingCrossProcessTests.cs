using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Ipc.Tests;

/// <summary>Rings shared between this process and helper processes (LowLatencyRisk.Ipc.TestPeer).</summary>
public sealed class RingCrossProcessTests : IDisposable
{
    private const string Peer = "LowLatencyRisk.Ipc.TestPeer";
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static OrderCheckingHandler Drain(RingConsumer consumer, int producers, long total, Func<bool>? keepGoing = null)
    {
        var h = new OrderCheckingHandler(producers);
        var wait = new YieldingWait();
        var deadline = DateTime.UtcNow + s_timeout;
        int idle = 0;
        while (h.Count < total && DateTime.UtcNow < deadline && (keepGoing?.Invoke() ?? true))
        {
            if (consumer.Poll(ref h) == 0)
            {
                wait.Idle(idle++);
            }
            else
            {
                idle = 0;
            }
        }

        return h;
    }

    [Fact]
    public void SingleProducerProcess_TwoMillionMessages_NoLossNoDuplicateNoReorderNoTear()
    {
        const long Count = 2_000_000;
        string path = _files.NewPath();
        using var ring = SharedRing.CreateMapped(path, new RingOptions(64, 4096, ProducerMode.Single));
        var consumer = ring.CreateConsumer(0);
        using var peer = PeerProcess.StartDotnet(Peer, "produce", path, "1", Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var h = Drain(consumer, 1, Count);
        Assert.Equal(0, peer.WaitForExit(s_timeout));
        Assert.True(h.Errors == 0, h.FirstError);
        Assert.Equal(Count, h.Count);
        Assert.Equal(Count, h.NextExpected[1]);
        var tail = new OrderCheckingHandler(1);
        Assert.Equal(0, consumer.Poll(ref tail));
    }

    [Fact]
    public void TwoProducerProcesses_MultiProducerRing_EveryMessageOnceInProducerOrder()
    {
        const long PerProducer = 500_000;
        string path = _files.NewPath();
        using var ring = SharedRing.CreateMapped(path, new RingOptions(64, 4096, ProducerMode.Multi));
        var consumer = ring.CreateConsumer(0);
        string n = PerProducer.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var p1 = PeerProcess.StartDotnet(Peer, "produce", path, "1", n);
        using var p2 = PeerProcess.StartDotnet(Peer, "produce", path, "2", n);
        var h = Drain(consumer, 2, 2 * PerProducer);
        Assert.Equal(0, p1.WaitForExit(s_timeout));
        Assert.Equal(0, p2.WaitForExit(s_timeout));
        Assert.True(h.Errors == 0, h.FirstError);
        Assert.Equal(PerProducer, h.NextExpected[1]);
        Assert.Equal(PerProducer, h.NextExpected[2]);
        Assert.Equal(0, consumer.AbandonedCount);
    }

    [Fact]
    public void ProducerKilledBetweenClaimAndPublish_ConsumerUnblocksAfterTimeout_AndGetsEverythingElse()
    {
        const long Later = 100_000;
        string path = _files.NewPath();
        using var ring = SharedRing.CreateMapped(path, new RingOptions(64, 1024, ProducerMode.Multi));
        var consumer = ring.CreateConsumer(0, abandonTimeout: TimeSpan.FromMilliseconds(200));

        using (var hung = PeerProcess.StartDotnet(Peer, "claim-and-hang", path, "9"))
        {
            Assert.Equal("claimed 0", hung.WaitForLine("claimed", s_timeout));
            hung.Kill();
        }

        using var live = PeerProcess.StartDotnet(Peer, "produce", path, "1", Later.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var h = Drain(consumer, 1, Later);
        Assert.Equal(0, live.WaitForExit(s_timeout));
        Assert.True(h.Errors == 0, h.FirstError);
        Assert.Equal(Later, h.NextExpected[1]);
        Assert.Equal(1, consumer.AbandonedCount);
        Assert.Equal(Later + 1, consumer.Sequence);
    }
}
