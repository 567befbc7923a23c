using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Benchmarks.Engine;

/// <summary>
/// The engine on the simulated standard mix (as <see cref="RiskEngineBenchmarks.ProcessStandardMix"/>),
/// unsharded and as shard 0 of 2 — which reads every message, refuses the other shard's account
/// messages after one array load (<c>OtherShard</c>) and re-margins only its own accounts — in one
/// run, so the ownership check's cost and what sharding saves per message are compared side by side.
/// </summary>
[MemoryDiagnoser]
public class ShardBenchmarks
{
    private SharedRing _feed = null!, _breaches = null!;
    private RiskEngine _engine = null!;
    private Liquidator _liquidator = null!;
    private MultiProducer _producer = null!;
    private VenueSimulator _simulator = null!;

    /// <summary>Shards in the map (the engine is shard 0).</summary>
    [Params(1, 2)]
    public int Shards { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var w = StandardWorkload.Build(new WorkloadScale());
        _feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
        _breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Single));
        _engine = new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), _feed.CreateConsumer(0), _breaches.CreateSingleProducer(), TimeSpan.FromMilliseconds(10));
        _engine.Machine.AssignShard(Shards == 1 ? ShardMap.Single : new ShardMap(1, Shards, ShardRule.Modulo), 0);
        _liquidator = new Liquidator(_breaches.CreateConsumer(0));
        _producer = _feed.CreateMultiProducer();
        _simulator = new VenueSimulator(StandardWorkload.Build(new WorkloadScale()), seed: 3);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _feed.Dispose();
        _breaches.Dispose();
    }

    /// <summary>Per event of the standard mix, processed in batches of 256.</summary>
    [Benchmark(OperationsPerInvoke = RiskEngineBenchmarks.Batch)]
    public long ProcessStandardMix() => RiskEngineBenchmarks.ProcessBatch(_producer, _simulator, _engine, _liquidator);
}
