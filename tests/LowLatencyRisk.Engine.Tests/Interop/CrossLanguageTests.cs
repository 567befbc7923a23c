using System.Buffers.Binary;
using System.Globalization;
using B = LowLatencyRisk.Engine.Wire.BreachMessageDescriptor;
using F = LowLatencyRisk.Engine.Wire.FeedMessageDescriptor;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Simulation;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests.Interop;

/// <summary>C peers (native-interop/peer) against the C# rings and engine.</summary>
public sealed class CrossLanguageTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Rebuilds message k of a C producer (see llr_producer.c) and compares it field by field.</summary>
    private static bool Matches(ReadOnlySpan<byte> p, int producer, long k)
    {
        if (p[F.VersionOffset] != 1 || BinaryPrimitives.ReadUInt16LittleEndian(p[F.ProducerIdOffset..]) != producer ||
            BinaryPrimitives.ReadInt64LittleEndian(p[F.ProducerSequenceOffset..]) != k ||
            BinaryPrimitives.ReadInt64LittleEndian(p[F.TimestampOffset..]) != 1_767_225_600_000_000_000 + (k * 1_000))
        {
            return false;
        }

        if (k % 4 == 0)
        {
            return p[F.TypeOffset] == (byte)FeedMessageType.IndexPrice && F.ReadInt(p, F.Int0) == 0 && F.ReadDouble(p, F.Double0) == 60_000.0 + (k % 100);
        }

        long side = (k % 7) - 3;
        return p[F.TypeOffset] == (byte)FeedMessageType.Fill && F.ReadInt(p, F.Int0) == k % 200 && F.ReadInt(p, F.Int1) == k % 66 &&
            F.ReadDouble(p, F.Double0) == (side == 0 ? 1 : side) * 0.01 && F.ReadDouble(p, F.Double1) == 100.0 + (k % 1000) &&
            F.ReadLong(p, F.Long2) == (((long)producer << 40) | k);
    }

    private sealed class Verifier : IRingHandler
    {
        public long[] Next { get; } = new long[16];
        public long Count;
        public long Errors;
        public string? First;

        public void OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
            Count++;
            int producer = BinaryPrimitives.ReadUInt16LittleEndian(payload[F.ProducerIdOffset..]);
            if (producer >= Next.Length || !Matches(payload, producer, Next[producer] + 1))
            {
                Errors++;
                First ??= $"ring sequence {sequence}: producer {producer}, expected message {(producer < Next.Length ? Next[producer] + 1 : -1)}";
                return;
            }

            Next[producer]++;
        }
    }

    private static Verifier Drain(RingConsumer consumer, long total)
    {
        var v = new Verifier();
        var wait = new YieldingWait();
        var deadline = DateTime.UtcNow + s_timeout;
        int idle = 0;
        while (v.Count < total && DateTime.UtcNow < deadline)
        {
            if (consumer.Poll(ref v) == 0)
            {
                wait.Idle(idle++);
            }
            else
            {
                idle = 0;
            }
        }

        return v;
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    private sealed class Collector : IRingHandler
    {
        public List<byte[]> Messages { get; } = [];

        public void OnMessage(long sequence, ReadOnlySpan<byte> payload) => Messages.Add(payload.ToArray());
    }

    [Fact]
    public void CProducer_OfEveryMessageType_IsDecodedFieldByFieldByTheCSharpDescriptors()
    {
        // llr_producer "every" writes one message of each feed type through the C header's named
        // fields; each is read here with the C# offsets and readers the engine uses.
        string path = _files.NewPath("llr-c-every");
        using var ring = SharedRing.CreateMapped(path, new RingOptions(F.SlotSize, 64, ProducerMode.Multi));
        var consumer = ring.CreateConsumer(0);
        using var producer = PeerProcess.StartNative(NativePeers.Path("llr_producer"), path, "5", "every");
        Assert.Equal(0, producer.WaitForExit(s_timeout));
        var collector = new Collector();
        while (consumer.Poll(ref collector) > 0)
        {
        }

        var m = collector.Messages;
        Assert.Equal(11, m.Count);
        for (int k = 0; k < m.Count; k++)
        {
            Assert.Equal((1, 5, 7u, k + 1L, 1_767_225_600_000_000_001L + k), (m[k][F.VersionOffset], (int)BinaryPrimitives.ReadUInt16LittleEndian(m[k].AsSpan(F.ProducerIdOffset)),
                BinaryPrimitives.ReadUInt32LittleEndian(m[k].AsSpan(F.ProducerEpochOffset)), F.ReadLong(m[k], F.ProducerSequenceOffset), F.ReadLong(m[k], F.TimestampOffset)));
        }

        FeedMessageType Type(int k) => (FeedMessageType)m[k][F.TypeOffset];
        Assert.Equal(Enum.GetValues<FeedMessageType>(), Enumerable.Range(0, 11).Select(Type)); // every type, in type order
        Assert.Equal((3, 61234.5), (F.ReadInt(m[0], F.Int0), F.ReadDouble(m[0], F.Double0)));
        Assert.Equal((17, 0.625, 1234.25), (F.ReadInt(m[1], F.Int0), F.ReadDouble(m[1], F.Double0), F.ReadDouble(m[1], F.Double1)));
        Assert.Equal((42, 7, -1.5, 60001.25, 0x123456789L), (F.ReadInt(m[2], F.Int0), F.ReadInt(m[2], F.Int1), F.ReadDouble(m[2], F.Double0), F.ReadDouble(m[2], F.Double1), F.ReadLong(m[2], F.Long2)));
        Assert.Equal((43, (byte)2, 0x1122334455667788L, 0.75), (F.ReadInt(m[3], F.LifecycleAccount), m[3][F.LifecycleEvent], F.ReadLong(m[3], F.LifecycleClientOrderId), F.ReadDouble(m[3], F.LifecycleFilledQuantity)));
        Assert.Equal((44, 1, 12345.5), (F.ReadInt(m[4], F.Int0), F.ReadInt(m[4], F.Int1), F.ReadDouble(m[4], F.Double0)));
        Assert.Equal(((byte)2, (byte)1, 45), (m[5][F.KillSwitchScope], m[5][F.KillSwitchOn], F.ReadInt(m[5], F.KillSwitchId)));
        var spec = F.ReadInstrumentDefinition(m[7], out int instrument);
        Assert.Equal((90, new InstrumentSpec(InstrumentKind.Put, 1, 65000, 1_798_761_600_000_000_000, 0.1, 0.5, 0.01)), (instrument, spec));
        Assert.Equal(((byte)LimitScope.Account, (byte)LimitField.PositionLimitOrEnabled, 46, 1.0), (m[8][F.Byte0], m[8][F.Byte1], F.ReadInt(m[8], F.Int1), F.ReadDouble(m[8], F.Double0)));
        Assert.Equal((47, 48, 49, (byte)MarginMode.Isolated), (F.ReadInt(m[9], F.ModeAccount), F.ReadInt(m[9], F.ModeParent), F.ReadInt(m[9], F.ModeInstrument), m[9][F.ModeValue]));
        Assert.Equal((48, 47, 2500.5, 0), (F.ReadInt(m[10], F.TransferFrom), F.ReadInt(m[10], F.TransferTo), F.ReadDouble(m[10], F.TransferAmount), F.ReadInt(m[10], F.TransferAsset)));
    }

    [Fact]
    public void TwoCProducers_MillionMessages_EveryOneVerifiedInProducerOrder()
    {
        const long PerProducer = 500_000;
        string path = _files.NewPath("llr-c-feed");
        using var ring = SharedRing.CreateMapped(path, new RingOptions(F.SlotSize, 4096, ProducerMode.Multi));
        var consumer = ring.CreateConsumer(0);
        using var p1 = PeerProcess.StartNative(NativePeers.Path("llr_producer"), path, "1", N(PerProducer));
        using var p2 = PeerProcess.StartNative(NativePeers.Path("llr_producer"), path, "2", N(PerProducer));
        var v = Drain(consumer, 2 * PerProducer);
        Assert.Equal(0, p1.WaitForExit(s_timeout));
        Assert.Equal(0, p2.WaitForExit(s_timeout));
        Assert.True(v.Errors == 0, v.First);
        Assert.Equal(PerProducer, v.Next[1]);
        Assert.Equal(PerProducer, v.Next[2]);
    }

    [Fact]
    public void CProducer_IntoTheCSharpEngine_EveryMessageApplied()
    {
        const long Count = 100_000;
        string path = _files.NewPath("llr-c-engine");
        using var feed = SharedRing.CreateMapped(path, new RingOptions(F.SlotSize, 4096, ProducerMode.Multi));
        using var breaches = SharedRing.CreateInProcess(new RingOptions(B.SlotSize, 1 << 16, ProducerMode.Single));
        // Room for every instrument in every account: the C stream spreads fills over all 66.
        var w = StandardWorkload.Build(WorkloadScale.Small with { MaxPositionsPerAccount = 80 });
        var engine = new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), feed.CreateConsumer(0), breaches.CreateSingleProducer());
        using var producer = PeerProcess.StartNative(NativePeers.Path("llr_producer"), path, "3", N(Count));
        var deadline = DateTime.UtcNow + s_timeout;
        while (engine.Counters.Events < Count && DateTime.UtcNow < deadline)
        {
            if (engine.PollOnce() == 0)
            {
                Thread.Yield();
            }
        }

        Assert.Equal(0, producer.WaitForExit(s_timeout));
        var c = engine.Counters;
        Assert.Equal(Count, c.Events);
        Assert.True(c.TotalRejects == 0, string.Join(", ", c.Rejects.Select((n, i) => n > 0 ? $"{(FeedReject)i} {n}" : null).Where(x => x is not null)));
        Assert.Equal(Count / 4, c.EventsByType[(int)FeedMessageType.IndexPrice]);
        Assert.Equal(Count - (Count / 4), c.EventsByType[(int)FeedMessageType.Fill]);
        Assert.Equal(0, c.SequenceGaps);
    }

    [Fact]
    public void CSharpEngine_ToCConsumer_BreachesReadInOrder()
    {
        string breachPath = _files.NewPath("llr-c-breach");
        using var feed = SharedRing.CreateInProcess(new RingOptions(F.SlotSize, 1024, ProducerMode.Multi));
        using var breaches = SharedRing.CreateMapped(breachPath, new RingOptions(B.SlotSize, 1 << 14, ProducerMode.Single));
        var (w, shadow) = ThinWorkload.Build();

        var engine = new RiskEngine(w.Book, null, feed.CreateConsumer(0), breaches.CreateSingleProducer());
        var sim = new VenueSimulator(shadow, seed: 5, producerId: 1, stressStart: 500, stressLength: 4_000);
        var producer = feed.CreateMultiProducer();
        for (int i = 0; i < 6_000; i++)
        {
            long s;
            while (!producer.TryClaim(1, out s))
            {
                engine.PollOnce();
            }

            sim.Next(producer.Payload(s), MonotonicClock.Now());
            producer.Publish(s);
        }

        while (engine.PollOnce() > 0 || engine.HasPendingMarks)
        {
        }

        long emitted = engine.Counters.BreachesPublished;
        Assert.True(emitted > 10, $"only {emitted} breaches");
        using var consumer = PeerProcess.StartNative(NativePeers.Path("llr_consumer"), breachPath, N(emitted));
        Assert.Equal(0, consumer.WaitForExit(s_timeout));
        string[] lines = consumer.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"ok {emitted}", lines[^1]);
        var last = new Dictionary<int, int>();
        long standsFor = 0;
        foreach (string line in lines.Where(l => l.StartsWith("breach ", StringComparison.Ordinal)))
        {
            string[] f = line.Split(' ');
            last[int.Parse(f[2], CultureInfo.InvariantCulture)] = int.Parse(f[4], CultureInfo.InvariantCulture);
            standsFor += 1 + int.Parse(f[5], CultureInfo.InvariantCulture);
        }

        Assert.Equal(engine.Counters.StateChanges, standsFor); // the C reader reads the v2 layout's replaced field

        foreach (var (account, state) in last)
        {
            Assert.Equal((MarginState)state, w.Book.State(account));
        }
    }

    [Fact]
    public void CMatchingEngine_AsksTheGateOutOfProcess_EveryDecisionReadAndVerifiedInC()
    {
        const long Count = 50_000;
        var w = StandardWorkload.Build(WorkloadScale.Small);
        var gate = new PreTradeGate(w.Book, new GateConfig { ThrottleRate = 1e12, ThrottleBurst = 1e12, MaxTrackedOrders = 1 << 17 });
        string requestPath = _files.NewPath("llr-c-gate-req");
        string responsePath = _files.NewPath("llr-c-gate-resp");
        using var requests = SharedRing.CreateMapped(requestPath, new RingOptions(64, 1024, ProducerMode.Multi));
        using var responses = SharedRing.CreateMapped(responsePath, new RingOptions(64, 1024, ProducerMode.Single));
        var service = new LowLatencyRisk.Engine.Gate.GateService(gate, requests.CreateConsumer(0), responses.CreateSingleProducer());
        int perp = w.Perpetuals[0];
        double tick = w.Book.Instrument(perp).TickSize;
        double price = Math.Round(StandardWorkload.InitialIndex(0) / tick) * tick;
        var c = CultureInfo.InvariantCulture;
        using var client = PeerProcess.StartNative(NativePeers.Path("llr_gate_client"), requestPath, responsePath, N(Count), perp.ToString(c), price.ToString("R", c), (price + (tick / 3)).ToString("R", c));
        var deadline = DateTime.UtcNow + s_timeout;
        while (service.Answered < Count && DateTime.UtcNow < deadline)
        {
            if (service.Poll() == 0)
            {
                Thread.Yield();
            }
        }

        Assert.Equal(0, client.WaitForExit(s_timeout));
        Assert.Contains($"ok {Count}", client.Output, StringComparison.Ordinal);
        Assert.Equal(0, service.MalformedRequests);
    }

    [Fact]
    public void CProducer_WrongSlotSize_IsRefusedWithBothValues()
    {
        string path = _files.NewPath("llr-c-wrong");
        using var ring = SharedRing.CreateMapped(path, new RingOptions(64, 16, ProducerMode.Multi));
        using var producer = PeerProcess.StartNative(NativePeers.Path("llr_producer"), path, "1", "10");
        Assert.Equal(3, producer.WaitForExit(s_timeout));
        Assert.Contains("SlotSize expected 128, actual 64", producer.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void CProducerKilledBetweenClaimAndPublish_ConsumerUnblocks_AndGetsEverythingElse()
    {
        const long Later = 20_000;
        string path = _files.NewPath("llr-c-dead");
        using var ring = SharedRing.CreateMapped(path, new RingOptions(F.SlotSize, 1024, ProducerMode.Multi));
        var consumer = ring.CreateConsumer(0, abandonTimeout: TimeSpan.FromMilliseconds(200));
        using (var hung = PeerProcess.StartNative(NativePeers.Path("llr_producer"), path, "9", "hang"))
        {
            Assert.Equal("claimed 0", hung.WaitForLine("claimed", s_timeout));
            hung.Kill();
        }

        using var live = PeerProcess.StartNative(NativePeers.Path("llr_producer"), path, "4", N(Later));
        var v = Drain(consumer, Later);
        Assert.Equal(0, live.WaitForExit(s_timeout));
        Assert.True(v.Errors == 0, v.First);
        Assert.Equal(Later, v.Next[4]);
        Assert.Equal(1, consumer.AbandonedCount);
    }
}
