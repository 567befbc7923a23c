using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Benchmarks.Engine;

/// <summary>
/// The engine on one thread over in-process rings, full standard workload: per event of the
/// simulated mix (publish, decode, validate, apply, revaluation slices, breaches), and per breach
/// emitted (a collateral message that flips one account between healthy and liquidation, with
/// the liquidator reading the breach).
/// </summary>
[MemoryDiagnoser]
public class RiskEngineBenchmarks
{
    /// <summary>Messages per invocation of the mix benchmarks.</summary>
    internal const int Batch = 256;
    private SharedRing _feed = null!, _breaches = null!, _feed2 = null!, _breaches2 = null!;
    private RiskEngine _engine = null!, _breachEngine = null!;
    private Liquidator _liquidator = null!, _breachLiquidator = null!;
    private MultiProducer _producer = null!, _producer2 = null!;
    private VenueSimulator _simulator = null!;
    private long _sequence;

    [GlobalSetup]
    public void Setup()
    {
        var w = StandardWorkload.Build(new WorkloadScale());
        var shadow = StandardWorkload.Build(new WorkloadScale());
        _feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
        _breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Single));
        _engine = new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), _feed.CreateConsumer(0), _breaches.CreateSingleProducer(), TimeSpan.FromMilliseconds(10));
        _liquidator = new Liquidator(_breaches.CreateConsumer(0));
        _producer = _feed.CreateMultiProducer();
        _simulator = new VenueSimulator(shadow, seed: 3);

        var w2 = StandardWorkload.Build(WorkloadScale.Small);
        _feed2 = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
        _breaches2 = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1024, ProducerMode.Single));
        _breachEngine = new RiskEngine(w2.Book, null, _feed2.CreateConsumer(0), _breaches2.CreateSingleProducer());
        _breachLiquidator = new Liquidator(_breaches2.CreateConsumer(0));
        _producer2 = _feed2.CreateMultiProducer();
        // Account 1 has working orders, so each of its breaches also computes its open-order margin.
        if (!w2.Book.AddWorkingOrder(1, w2.Perpetuals[0], 2) || !w2.Book.AddWorkingOrder(1, w2.Perpetuals[1], -3))
        {
            throw new InvalidOperationException("set-up: working orders");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _feed.Dispose();
        _breaches.Dispose();
        _feed2.Dispose();
        _breaches2.Dispose();
    }

    /// <summary>Per event of the standard mix, processed in batches of 256.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long ProcessStandardMix() => ProcessBatch(_producer, _simulator, _engine, _liquidator);

    /// <summary>Publishes one batch of the simulator's mix on the feed ring and lets the engine process all of it and the liquidator read its breaches.</summary>
    internal static long ProcessBatch(MultiProducer producer, VenueSimulator simulator, RiskEngine engine, Liquidator liquidator)
    {
        producer.TryClaim(Batch, out long first);
        long now = MonotonicClock.Now();
        for (int i = 0; i < Batch; i++)
        {
            simulator.Next(producer.Payload(first + i), now);
            producer.Publish(first + i);
        }

        while (engine.PollOnce() > 0)
        {
        }

        liquidator.Poll();
        return engine.Counters.Events;
    }

    /// <summary>One collateral message → one margin transition → one breach emitted and read.</summary>
    [Benchmark]
    public long EmitBreach() => EmitBreachOf(0);

    /// <summary>The same for an account with working orders: the breach carries their open-order margin.</summary>
    [Benchmark]
    public long EmitBreach_WorkingOrders() => EmitBreachOf(1);

    private long EmitBreachOf(int account)
    {
        long n = ++_sequence;
        _producer2.TryClaim(1, out long slot);
        var p = _producer2.Payload(slot);
        FeedMessageDescriptor.WriteHeader(p, FeedMessageType.Collateral, 1, n, StandardWorkload.StartNanos + n, MonotonicClock.Now());
        FeedMessageDescriptor.WriteCollateral(p, account, StandardWorkload.UsdAsset, (n & 1) == 0 ? 1e9 : 0);
        _producer2.Publish(slot);
        _breachEngine.PollOnce();
        _breachLiquidator.Poll();
        return _breachLiquidator.Read;
    }
}
