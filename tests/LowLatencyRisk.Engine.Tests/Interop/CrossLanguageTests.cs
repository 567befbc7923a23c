using System.Buffers.Binary;
using System.Globalization;
using B = LowLatencyRisk.Engine.Wire.BreachMessageDescriptor;
using F = LowLatencyRisk.Engine.Wire.FeedMessageDescriptor;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Fixtures.Simulation;
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
        ref readonly var h = ref WireMessage.Read<FeedHeader>(p);
        if (h.Version != 1 || h.ProducerId != producer || h.ProducerSequence != k || h.TimestampNanos != 1_767_225_600_000_000_000 + (k * 1_000))
        {
            return false;
        }

        if (k % 4 == 0)
        {
            ref readonly var index = ref WireMessage.Read<IndexPriceMessage>(p);
            return h.Type == FeedMessageType.IndexPrice && index.Underlying == 0 && index.Price == 60_000.0 + (k % 100);
        }

        long side = (k % 7) - 3;
        ref readonly var f = ref WireMessage.Read<FillMessage>(p);
        return h.Type == FeedMessageType.Fill && f.Account == k % 200 && f.Instrument == k % 66 &&
            f.Quantity == (side == 0 ? 1 : side) * 0.01 && f.Price == 100.0 + (k % 1000) && f.TradeId == (((long)producer << 40) | k);
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
            int producer = WireMessage.Read<FeedHeader>(payload).ProducerId;
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
    public void CProducer_OfEveryMessageType_IsDecodedFieldByFieldByTheCSharpStructs()
    {
        // llr_producer "every" writes one message of each feed type through the C header's named
        // fields; each is read here through the C# message structs the engine reads.
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
        Assert.Equal(15, m.Count);
        for (int k = 0; k < m.Count; k++)
        {
            var h = WireMessage.Read<FeedHeader>(m[k]);
            Assert.Equal((1, 5, 7u, k + 1L, 1_767_225_600_000_000_001L + k), (h.Version, (int)h.ProducerId, h.ProducerEpoch, h.ProducerSequence, h.TimestampNanos));
        }

        FeedMessageType Type(int k) => WireMessage.Read<FeedHeader>(m[k]).Type;
        T At<T>(int k) where T : unmanaged => WireMessage.Read<T>(m[k]);
        Assert.Equal(Enum.GetValues<FeedMessageType>(), Enumerable.Range(0, 15).Select(Type)); // every type, in type order
        Assert.Equal((3, 61234.5), (At<IndexPriceMessage>(0).Underlying, At<IndexPriceMessage>(0).Price));
        var mark = At<OptionMarkMessage>(1);
        Assert.Equal((17, 0.625, 1234.25), (mark.Instrument, mark.Volatility, mark.Price));
        var fill = At<FillMessage>(2);
        Assert.Equal((42, 7, -1.5, 60001.25, 0x123456789L, FillMessage.Maker), (fill.Account, fill.Instrument, fill.Quantity, fill.Price, fill.TradeId, fill.Flags));
        var lifecycle = At<OrderLifecycleMessage>(3);
        Assert.Equal((43, OrderLifecycleEvent.Cancelled, 0x1122334455667788L, 0.75), (lifecycle.Account, lifecycle.Event, lifecycle.ClientOrderId, lifecycle.FilledQuantity));
        var collateral = At<CollateralMessage>(4);
        Assert.Equal((44, 1, 12345.5), (collateral.Account, collateral.Asset, collateral.Balance));
        var kill = At<KillSwitchMessage>(5);
        Assert.Equal((KillSwitchScope.Account, (byte)1, 45), (kill.Scope, kill.On, kill.Id));
        var definition = At<InstrumentDefinitionMessage>(7);
        Assert.Equal((90, new InstrumentSpec(InstrumentKind.Put, 1, 65000, 1_798_761_600_000_000_000, 0.1, 0.5, 0.01)), (definition.Instrument, definition.ToSpec()));
        var limit = At<LimitChangeMessage>(8);
        Assert.Equal((LimitScope.Account, LimitField.PositionLimitOrEnabled, 46, 1.0), (limit.Scope, limit.Field, limit.Id, limit.Value));
        var mode = At<MarginModeMessage>(9);
        Assert.Equal((47, 48, 49, MarginMode.Isolated), (mode.Account, mode.Parent, mode.Instrument, mode.Mode));
        var transfer = At<CollateralTransferMessage>(10);
        Assert.Equal((48, 47, 2500.5, 0), (transfer.FromAccount, transfer.ToAccount, transfer.Amount, transfer.Asset));
        var addOn = At<SizeAddOnMessage>(11);
        Assert.Equal((2, AddOnCombine.Max, 0.0125, 1.5, 2.0e7, 3.0e7, 0.1, 0.25),
            (addOn.Underlying, addOn.Combine, addOn.BaseRate, addOn.BandScale, addOn.ShockThreshold, addOn.ShockFullAt, addOn.MaxShock, addOn.VegaRate));
        var mmp = At<MmpConfigMessage>(12);
        Assert.Equal((50, 3, 5_000_000_000L, 100_000_000L, 100.0, 75.5, 1.0e4, MmpAction.Reset),
            (mmp.Account, mmp.Underlying, mmp.IntervalNanos, mmp.FrozenNanos, mmp.QuantityLimit, mmp.DeltaLimit, mmp.VegaLimit, mmp.Action));
        var funding = At<FundingRateMessage>(13);
        Assert.Equal((51, -0.000125, 28_800_000_000_000L, 1_767_254_400_000_000_000L), (funding.Instrument, funding.Rate, funding.IntervalNanos, funding.FundingTimeNanos));
        var calibration = At<ScenarioCalibrationMessage>(14);
        Assert.Equal(1, calibration.Underlying);
        Assert.Equal(new Core.Risk.ScenarioParameters(0.18, 0.25, 0.4, 0.25, 0.5, 200_000, 0.05, 0.005), calibration.ToParameters());
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
