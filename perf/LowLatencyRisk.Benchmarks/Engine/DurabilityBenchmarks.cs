using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Benchmarks.Engine;

/// <summary>
/// Appending one feed message to the memory-mapped journal on the engine thread (CRC-32C
/// included; segment rolls amortized, the next segment being prepared in the background).
/// </summary>
[MemoryDiagnoser]
[InvocationCount(256)]
public class DurabilityBenchmarks
{
    private readonly string _dir = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"llr-bench-{Environment.ProcessId}");
    private JournalWriter _journal = null!;
    private readonly byte[] _message = new byte[FeedMessageDescriptor.PayloadSize];

    [GlobalSetup]
    public void Setup()
    {
        Directory.CreateDirectory(_dir);
        _journal = JournalWriter.Open(Path.Combine(_dir, "journal"), FeedMessageDescriptor.PayloadSize, segmentBytes: 256L << 20);
        new Random(1).NextBytes(_message);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _journal.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>One 120-byte message into the journal, per operation (1,024 per invocation; segment rolls included: the next segment is prepared in the background).</summary>
    [Benchmark(OperationsPerInvoke = 1024)]
    public long JournalAppend()
    {
        long last = 0;
        for (int i = 0; i < 1024; i++)
        {
            last = _journal.Append(_message);
        }

        return last;
    }

    /// <summary>Full segments are deleted between iterations, as snapshots would allow, so /dev/shm does not fill up.</summary>
    [IterationCleanup(Target = nameof(JournalAppend))]
    public void TrimJournal() => JournalReader.Trim(Path.Combine(_dir, "journal"), _journal.LastSequence);

}

/// <summary>The engine's counters into the shared-memory counters file (what the engine does every countersIntervalMilliseconds).</summary>
[MemoryDiagnoser]
public class CountersBenchmarks
{
    private readonly string _path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"llr-bench-counters-{Environment.ProcessId}");
    private readonly EngineCounters _engineCounters = new();
    private readonly long[] _slots = new long[EngineCountersLayout.Count];
    private SharedCounters _counters = null!;

    [GlobalSetup]
    public void Setup() => _counters = SharedCounters.Create(_path, EngineCountersLayout.Count);

    [GlobalCleanup]
    public void Cleanup()
    {
        _counters.Dispose();
        File.Delete(_path);
    }

    [Benchmark]
    public long CountersPublish()
    {
        EngineCountersLayout.Copy(_engineCounters, _slots);
        _counters.Publish(_slots, 1);
        return _slots[0];
    }
}

/// <summary>
/// The engine thread's part of a snapshot on the standard workload: copying the whole state into
/// the pre-touched buffer. One capture per iteration; the background write of the previous one is
/// awaited in the iteration set-up, outside the measurement.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
[IterationCount(20)]
[WarmupCount(3)]
public class SnapshotCaptureBenchmarks
{
    private readonly string _dir = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"llr-bench-snap-{Environment.ProcessId}");
    private SnapshotStore _snapshots = null!;
    private RiskEngine _engine = null!;
    private readonly List<SharedRing> _rings = [];

    /// <summary>Gate order-table capacity: the default (262,144 tracked orders) and a small one.</summary>
    [Params(262_144, 4_096)]
    public int MaxTrackedOrders { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var w = StandardWorkload.Build(new WorkloadScale());
        var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 64, ProducerMode.Single));
        var breach = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 64, ProducerMode.Single));
        _rings.Add(feed);
        _rings.Add(breach);
        _engine = new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig { MaxTrackedOrders = MaxTrackedOrders }), feed.CreateConsumer(0), breach.CreateSingleProducer());
        _snapshots = new SnapshotStore(_dir, _engine);
        Console.WriteLine($"// snapshot {_snapshots.Length:N0} bytes");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _snapshots.Dispose();
        _rings.ForEach(r => r.Dispose());
        Directory.Delete(_dir, recursive: true);
    }

    [IterationSetup]
    public void WaitForTheWriter() => _snapshots.WaitIdle();

    [Benchmark]
    public bool Capture() => _snapshots.TryCapture(_engine, 1);
}
