using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Benchmarks.Engine;

/// <summary>
/// The risk-summary sweep's cost on the engine thread, per account visited, on the standard book
/// (10,000 accounts): <see cref="QuietAccount"/> when nothing moved (the usage recomputed and five
/// comparisons: what a sweep costs an engine whose accounts are still), <see cref="MovedAccount"/>
/// when every account moved (a summary written to the ring and read off it); with
/// <see cref="PositionUnderlyings"/> 1, each account is also summarized in underlying 0 (a firm's
/// position limit there).
/// </summary>
[MemoryDiagnoser]
public class RiskSummaryBenchmarks
{
    private const int Step = 64;
    private SharedRing _ring = null!;
    private RingConsumer _reader = null!;
    private RiskSummaryPublisher _quiet = null!, _moving = null!;
    private long _now;

    /// <summary>Underlyings each account is also summarized in (0: none; 1: underlying 0).</summary>
    [Params(0, 1)]
    public int PositionUnderlyings { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var w = StandardWorkload.Build(new WorkloadScale());
        var gate = new PreTradeGate(w.Book, new GateConfig());
        var machine = new FeedStateMachine(w.Book, gate, new EngineCounters());
        _ring = SharedRing.CreateInProcess(new RingOptions(RiskSummaryDescriptor.SlotSize, 1 << 16, ProducerMode.Single));
        _reader = _ring.CreateConsumer(0);
        // The quiet publisher has sent every account once (its sweep then finds nothing moved); the
        // moving one has a change fraction of −∞ in effect: a heartbeat of one interval sends every account each sweep.
        int[] underlyings = PositionUnderlyings == 0 ? [] : [0];
        _quiet = new RiskSummaryPublisher(w.Book, gate, machine, new NullProducer(), 0, TimeSpan.FromTicks(1), TimeSpan.FromDays(1), Step, positionUnderlyings: underlyings);
        _moving = new RiskSummaryPublisher(w.Book, gate, machine, _ring.CreateSingleProducer(), 0, TimeSpan.FromTicks(1), TimeSpan.FromTicks(1), Step, positionUnderlyings: underlyings);
        _now = Stopwatch.GetTimestamp();
        long sweeps = _quiet.Sweeps;
        while (_quiet.Sweeps == sweeps)
        {
            _quiet.Poll(_now);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _ring.Dispose();

    /// <summary>Per account visited, nothing moved: no summary.</summary>
    [Benchmark(OperationsPerInvoke = Step)]
    public int QuietAccount() => _quiet.Poll(_now += 1_000);

    /// <summary>Per account visited, a summary written and read.</summary>
    [Benchmark(OperationsPerInvoke = Step)]
    public int MovedAccount()
    {
        int n = _moving.Poll(_now += 1_000_000_000);
        var drop = new Drop();
        _reader.PollWhile(ref drop);
        return n;
    }

    private struct Drop : IRingHandlerWhile
    {
        public readonly bool OnMessage(long sequence, ReadOnlySpan<byte> payload) => true;
    }

    /// <summary>A producer that is never asked for a slot (the quiet sweep writes nothing).</summary>
    private sealed class NullProducer : IRingProducer
    {
        private readonly byte[] _slot = new byte[RiskSummaryDescriptor.SlotSize];

        public int PayloadSize => RiskSummaryDescriptor.SlotSize - 8;

        public bool TryClaim(int count, out long first)
        {
            first = 0;
            return true;
        }

        public Span<byte> Payload(long sequence) => _slot.AsSpan(0, PayloadSize);

        public bool Publish(long sequence) => true;
    }
}
