using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Core.Simulation;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Benchmarks.Engine;

/// <summary>
/// The durability paths on the engine thread: appending one feed message to the memory-mapped
/// journal (CRC-32C included, segment rolls amortized), capturing a snapshot of the whole engine
/// state on the standard workload (the stall a snapshot costs the engine), and publishing the
/// counters file.
/// </summary>
[MemoryDiagnoser]
public class DurabilityBenchmarks
{
    private readonly string _dir = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"llr-bench-{Environment.ProcessId}");
    private JournalWriter _journal = null!;
    private readonly byte[] _message = new byte[FeedMessageDescriptor.PayloadSize];
    private SnapshotStore _snapshots = null!;
    private RiskEngine _engine = null!;
    private SharedCounters _counters = null!;
    private readonly long[] _slots = new long[EngineCountersLayout.Count];
    private readonly List<SharedRing> _rings = [];

    [GlobalSetup]
    public void Setup()
    {
        Directory.CreateDirectory(_dir);
        _journal = JournalWriter.Open(Path.Combine(_dir, "journal"), FeedMessageDescriptor.PayloadSize, segmentBytes: 256L << 20);
        new Random(1).NextBytes(_message);
        var w = StandardWorkload.Build(new WorkloadScale());
        var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 64, ProducerMode.Single));
        var breach = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 64, ProducerMode.Single));
        _rings.Add(feed);
        _rings.Add(breach);
        _engine = new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), feed.CreateConsumer(0), breach.CreateSingleProducer());
        _snapshots = new SnapshotStore(Path.Combine(_dir, "snapshots"), _engine);
        _counters = SharedCounters.Create(Path.Combine(_dir, "counters"), EngineCountersLayout.Count);
        Console.WriteLine($"// snapshot {_snapshots.Length:N0} bytes (standard workload, default gate capacity)");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _snapshots.Dispose();
        _journal.Dispose();
        _counters.Dispose();
        _rings.ForEach(r => r.Dispose());
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>One 120-byte message into the journal.</summary>
    [Benchmark]
    public long JournalAppend() => _journal.Append(_message);

    /// <summary>The engine thread's part of a snapshot: copying the whole state (the file write is on another thread).</summary>
    [Benchmark]
    public bool SnapshotCapture()
    {
        _snapshots.WaitIdle();
        return _snapshots.TryCapture(_engine, 1);
    }

    /// <summary>Counters into the shared-memory file.</summary>
    [Benchmark]
    public long CountersPublish()
    {
        EngineCountersLayout.Copy(_engine.Counters, _slots);
        _counters.Publish(_slots, 1);
        return _slots[0];
    }
}
