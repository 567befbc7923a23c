using System.Diagnostics;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Gate;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;

namespace LowLatencyRisk.Engine;

/// <summary>What recovery from the journal found.</summary>
public sealed record RecoveryReport(string Directory, string? Snapshot, long SnapshotSequence, long Replayed, string? Problem, IReadOnlyList<string> RefusedSnapshots, int Announced, double Milliseconds)
{
    /// <summary>Liquidation orders restored from the engine's own records in the journal (not counted in <see cref="Replayed"/>, the feed messages).</summary>
    public long RestoredOrders { get; init; }
}

/// <summary>What <see cref="EngineService.Run"/> returns after a clean stop.</summary>
public sealed record EngineRunSummary(long Events, long Rejects, long Breaches, double Seconds, long AllocatedBytes, int GcCount, bool Pinned, string RejectsByReason)
{
    /// <summary>Margin state changes (published as breaches, or folded into one while it waited).</summary>
    public long StateChanges { get; init; }

    /// <summary>State changes folded into a waiting breach.</summary>
    public long Coalesced { get; init; }

    /// <summary>Seconds the venue spent risk-off because the breach reader was behind.</summary>
    public double RiskOffSeconds { get; init; }

    /// <summary>Why the engine stopped by itself (its journal could not take a record), or null after a requested stop.</summary>
    public string? HaltReason { get; init; }

    /// <summary>True when the halt was a shared file changed under the engine (not the journal).</summary>
    public bool HaltedOnFault { get; init; }

    /// <summary>Snapshot writes that failed during the run.</summary>
    public int SnapshotFailures { get; init; }

    /// <summary>The last snapshot write error, if any.</summary>
    public string? LastSnapshotError { get; init; }
}

/// <summary>
/// <c>llr engine</c> as a library: the rings named by the configuration (created when missing,
/// attached and checked when present), the book built from the configuration's generator, a
/// warm-up on a scratch book, then the single engine thread with the configured wait strategy and
/// CPU, publishing its counters to the shared counters file until stopped.
/// </summary>
public sealed class EngineService : IDisposable
{
    private readonly LlrConfig _config;
    private readonly SharedRing _feed;
    private readonly SharedRing _breach;
    private readonly SharedCounters _counters;
    private readonly long[] _slots = new long[EngineCountersLayout.Count];

    private SharedRing[] _gateRings = [];

    /// <summary>
    /// The order-check services the engine thread polls between feed batches, one per client, each
    /// over a request and a response ring of its own (empty when <c>gate.enabled</c> is false).
    /// </summary>
    public IReadOnlyList<GateService> OrderChecks => _orderChecks;

    private GateService[] _orderChecks = [];

    /// <summary>The request ring of gate client <paramref name="client"/> (0 .. gate.clients − 1).</summary>
    public SharedRing GateRequests(int client) => _gateRings[2 * client];

    /// <summary>The response ring of gate client <paramref name="client"/>.</summary>
    public SharedRing GateResponses(int client) => _gateRings[(2 * client) + 1];

    private EngineService(LlrConfig config, SharedRing feed, SharedRing breach, SharedCounters counters, RiskEngine engine, bool attached)
    {
        _config = config;
        _feed = feed;
        _breach = breach;
        _counters = counters;
        Engine = engine;
        AttachedToExistingRings = attached;
    }

    /// <summary>The engine.</summary>
    public RiskEngine Engine { get; }

    /// <summary>True when the rings existed before (another process created them).</summary>
    public bool AttachedToExistingRings { get; }

    /// <summary>The feed ring.</summary>
    public SharedRing Feed => _feed;

    /// <summary>The breach ring.</summary>
    public SharedRing Breach => _breach;

    /// <summary>
    /// Opens the rings and the counters file and builds the book; nothing runs yet. First takes the
    /// engine's roles — consumer of the feed ring, producer of the breach ring, writer of the
    /// counters file and of the journal folder — as exclusive locks (<see cref="OwnerLock"/>): a
    /// second engine on any of them is refused naming the first one's pid, whatever else its
    /// configuration says. A start that fails removes the files it created. The book comes from
    /// <paramref name="books"/> (a file's, or a generator's). <paramref name="shard"/> overrides
    /// <c>shards.index</c> (which shard of the map this engine is).
    /// </summary>
    public static EngineService Open(LlrConfig config, IBookSource books, int? shard = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(books);
        var errors = config.Validate();
        if (errors.Count > 0)
        {
            throw new ConfigException("config", errors);
        }

        // The book first: a book file with problems is refused before any shared file is created.
        var book = books.Build(config);

        var mode = config.FilePermissions;
        var feedOptions = config.FeedRingOptions();
        var breachOptions = config.BreachRingOptions();
        string feedPath = config.PathOf(config.Rings.Feed);
        string breachPath = config.PathOf(config.Rings.Breach);
        string countersPath = config.PathOf(config.Rings.Counters);
        var roles = new List<IDisposable>();
        var created = new List<string>();
        SharedRing? feed = null, breach = null, summaries = null;
        var gateRings = new List<SharedRing>();
        SharedCounters? counters = null;
        try
        {
            Directory.CreateDirectory(config.Rings.Directory);
            roles.Add(TakeRole(feedPath, "feed ring's consumer role", mode, created));
            roles.Add(TakeRole(breachPath, "breach ring's producer role", mode, created));
            roles.Add(TakeRole(countersPath, "counters file", mode, created));
            if (config.Summaries.Enabled)
            {
                roles.Add(TakeRole(config.PathOf(config.Summaries.Ring), "summary ring's producer role", mode, created));
            }
            if (config.Journal.Mode != JournalMode.None)
            {
                Directory.CreateDirectory(JournalDirectory(config));
                roles.Add(TakeRole(JournalDirectory(config), "journal folder", mode, created));
                config.ToShardMap().ClaimJournal(JournalDirectory(config), shard ?? config.Shards.Index, mode); // a journal is one shard's, under one map
            }

            for (int k = 0; config.Gate.Enabled && k < config.Gate.Clients; k++)
            {
                roles.Add(TakeRole(config.PathOf(config.Gate.RequestsOf(k)), "gate request ring's consumer role", mode, created));
                roles.Add(TakeRole(config.PathOf(config.Gate.ResponsesOf(k)), "gate response ring's producer role", mode, created));
            }

            bool attached = File.Exists(feedPath) || File.Exists(breachPath);
            feed = OpenOrCreate(feedPath, feedOptions, created);
            breach = OpenOrCreate(breachPath, breachOptions, created);
            // One request and one response ring per gate client: a client that stops reading holds up
            // only its own checks, never another client's or the engine thread.
            for (int k = 0; config.Gate.Enabled && k < config.Gate.Clients; k++)
            {
                gateRings.Add(OpenOrCreate(config.PathOf(config.Gate.RequestsOf(k)), new RingOptions(GateSlotSize, config.Gate.Capacity, ProducerMode.Multi) { FileMode = mode }, created));
                gateRings.Add(OpenOrCreate(config.PathOf(config.Gate.ResponsesOf(k)), new RingOptions(GateSlotSize, config.Gate.Capacity, ProducerMode.Single) { FileMode = mode }, created));
            }

            if (config.Summaries.Enabled)
            {
                summaries = OpenOrCreate(config.PathOf(config.Summaries.Ring), config.SummaryRingOptions(), created);
            }

            if (File.Exists(countersPath))
            {
                File.Delete(countersPath); // a previous engine's: this one is its only writer now (readers follow the new file)
            }

            counters = SharedCounters.Create(countersPath, EngineCountersLayout.Count, mode);
            created.Add(countersPath);
            var gate = new PreTradeGate(book, config.ToGateConfig());
            var engine = new RiskEngine(book, gate, feed.CreateConsumer(0, abandonTimeout: TimeSpan.FromSeconds(1)), breach.CreateSingleProducer(),
                TimeSpan.FromMilliseconds(config.Engine.RevalueIntervalMilliseconds), config.ToLiquidationOptions()) { RevaluationStep = config.Engine.RevaluationStepHolders, SequenceWindow = config.Engine.SequenceWindow };
            int index = shard ?? config.Shards.Index;
            engine.Machine.AssignShard(config.ToShardMap(), index); // before recovery: a replay refuses the other shards' accounts as the live engine did
            FirmLimits.ApplyStartingShares(config, book, gate); // before recovery: the aggregator's later limit changes replay over them
            var service = new EngineService(config, feed, breach, counters, engine, attached) { _roles = roles, _gateRings = [.. gateRings], _summaryRing = summaries };
            if (summaries is not null)
            {
                service._summaries = new RiskSummaryPublisher(book, gate, engine.Machine, summaries.CreateSingleProducer(), index,
                    TimeSpan.FromMilliseconds(config.Summaries.IntervalMilliseconds), TimeSpan.FromSeconds(config.Summaries.HeartbeatSeconds), config.Summaries.Step, config.Summaries.ChangeFraction, config.Summaries.AccountsOf(config.Firms), config.Firms.PositionUnderlyings());
            }

            service._orderChecks = [.. Enumerable.Range(0, gateRings.Count / 2).Select(k =>
                new GateService(gate, gateRings[2 * k].CreateConsumer(0, abandonTimeout: TimeSpan.FromSeconds(1)), gateRings[(2 * k) + 1].CreateSingleProducer()))];
            if (config.Journal.Mode != JournalMode.None)
            {
                service.Recover(); // announces the ladder as recovered
            }
            else if (config.Book.File is not null)
            {
                engine.Breaches.AnnounceLadder(); // a venue's own book may start with accounts not healthy: the liquidator learns them first
            }

            return service;
        }
        catch
        {
            feed?.Dispose();
            breach?.Dispose();
            summaries?.Dispose();
            foreach (var ring in gateRings)
            {
                ring.Dispose();
            }

            counters?.Dispose();
            foreach (string path in created)
            {
                TryDelete(path);
            }

            foreach (var role in roles)
            {
                role.Dispose();
            }

            throw;
        }
    }

    /// <summary>Slot size of the gate's rings: an 8-byte stamp and the 56-byte order-check message.</summary>
    private const int GateSlotSize = 8 + OrderCheckRequestDescriptor.Size;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort: the start failed for a reason already being reported
        }
    }

    private List<IDisposable> _roles = [];

    private SharedRing? _summaryRing;

    private RiskSummaryPublisher? _summaries;

    /// <summary>The risk summary publisher (null unless <c>summaries.enabled</c>).</summary>
    public RiskSummaryPublisher? Summaries => _summaries;

    /// <summary>The summary ring (null unless <c>summaries.enabled</c>).</summary>
    public SharedRing? SummaryRing => _summaryRing;

    private static OwnerLock TakeRole(string path, string role, UnixFileMode mode, List<string> created)
    {
        string lockPath = OwnerLock.LockPathOf(path);
        bool existed = File.Exists(lockPath);
        var owner = OwnerLock.TryAcquire(path, mode, out int pid);
        if (owner is null)
        {
            throw new IOException(pid > 0
                ? $"another llr engine (pid {pid}) holds the {role} of {path} (lock {lockPath}); stop it first"
                : $"another process holds the {role} of {path} (lock {lockPath}); stop it first");
        }

        if (!existed)
        {
            created.Add(lockPath);
        }

        return owner;
    }

    /// <summary>What recovery found and did (null when the journal is off).</summary>
    public RecoveryReport? Recovery { get; private set; }

    /// <summary>The journal folder of a configuration (relative paths are under rings.directory).</summary>
    public static string JournalDirectory(LlrConfig config) => Path.Combine(config.Rings.Directory, config.Journal.Directory);

    /// <summary>
    /// Recovery: replays every good journal record into the fresh book (the live path's own
    /// validation; duplicates by producer sequence are refused, so nothing applies twice), cuts a
    /// torn or corrupt tail, then journals from there on, starting with the re-announcement of the
    /// margin ladder (an account in liquidation without an order gets one, journaled). The ring
    /// consumer resumes from its own sequence: messages it had not yet released are read again and
    /// refused as duplicates if the journal already holds them.
    /// </summary>
    private void Recover()
    {
        string dir = JournalDirectory(_config);
        var clock = Stopwatch.StartNew();
        var (snapshotSequence, snapshotPath, refused) = SnapshotStore.LoadNewest(dir, Engine);
        long records = 0, orders = 0;
        var scan = JournalReader.Scan(dir, FeedMessageDescriptor.PayloadSize, (_, payload) =>
        {
            records += EngineRecords.IsRecord(payload[0]) ? 1 : 0;
            orders += payload[0] == EngineRecords.LiquidationPlanned ? 1 : 0;
            Engine.Replay(payload);
        }, after: snapshotSequence);
        var writer = JournalWriter.Open(dir, FeedMessageDescriptor.PayloadSize, (long)_config.Journal.SegmentMegabytes << 20, _config.FilePermissions);
        writer.SyncEachAppend = _config.Journal.Mode == JournalMode.JournalSync;
        Engine.Journal = writer; // before the announcement: an order it sizes is journaled like any other
        int announced = Engine.FinishReplay();
        _snapshots = new SnapshotStore(dir, Engine, _config.Journal.KeepSnapshots)
        {
            FilePermissions = _config.FilePermissions,
            Failed = message => SnapshotFailed?.Invoke(message),
        };
        Recovery = new RecoveryReport(dir, snapshotPath is null ? null : Path.GetFileName(snapshotPath), snapshotSequence, Math.Max(0, scan.LastSequence - snapshotSequence - records),
            scan.Problem, refused, announced, clock.Elapsed.TotalMilliseconds) { RestoredOrders = orders };
    }

    private SnapshotStore? _snapshots;

    /// <summary>Called (on the snapshot writer's thread) with the message of each failed snapshot write, as it happens.</summary>
    public Action<string>? SnapshotFailed { get; set; }

    /// <summary>The snapshot store (null when the journal is off).</summary>
    public SnapshotStore? Snapshots => _snapshots;

    private static SharedRing OpenOrCreate(string path, RingOptions options, List<string> created)
    {
        if (File.Exists(path))
        {
            return SharedRing.AttachMapped(path, options, TimeSpan.FromSeconds(5));
        }

        try
        {
            var ring = SharedRing.CreateMapped(path, options);
            created.Add(path);
            return ring;
        }
        catch (IOException) when (File.Exists(path))
        {
            return SharedRing.AttachMapped(path, options, TimeSpan.FromSeconds(5)); // another process created it first
        }
    }

    /// <summary>
    /// Runs the engine on the calling thread until <paramref name="stop"/> is cancelled, then
    /// drains what is already published and writes the final counters. Pins the thread when the
    /// configuration names a CPU.
    /// </summary>
    public EngineRunSummary Run(CancellationToken stop)
    {
        bool pinned = _config.Engine.Cpu >= 0 && CpuAffinity.TryPinCurrentThread(_config.Engine.Cpu);
        return _config.Engine.Wait switch
        {
            WaitKind.BusySpin => Loop(new BusySpinWait(), pinned, stop),
            WaitKind.Sleeping => Loop(new SleepingWait(), pinned, stop),
            _ => Loop(new YieldingWait(), pinned, stop),
        };
    }

    // Fully optimized from the first call: this method is entered once and loops for the life of the
    // process, so under tiering it would run as tier-0 code and then transition on the stack (OSR)
    // in the middle of live traffic; the methods it calls are brought to their final tier by the warm-up.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private EngineRunSummary Loop<TWait>(TWait wait, bool pinned, CancellationToken stop) where TWait : struct, IWaitStrategy
    {
        long start = Stopwatch.GetTimestamp();
        long interval = (long)(_config.Engine.CountersIntervalMilliseconds * Stopwatch.Frequency / 1000);

        // The shared files are checked on the watch's own thread; this loop reads its one field.
        var watched = new List<(string, Func<string?>)> { ("feed ring", _feed.CheckIntegrity), ("breach ring", _breach.CheckIntegrity), ("counters file", _counters.CheckIntegrity) };
        if (_summaryRing is not null)
        {
            watched.Add(("summary ring", _summaryRing.CheckIntegrity));
        }

        for (int k = 0; k < _gateRings.Length; k++)
        {
            watched.Add(($"gate {(k % 2 == 0 ? "request" : "response")} ring {k / 2}", _gateRings[k].CheckIntegrity));
        }

        using var watch = new IntegrityWatch(TimeSpan.FromMilliseconds(_config.Engine.CountersIntervalMilliseconds), [.. watched]);

        long snapshotInterval = _config.Journal.SnapshotIntervalSeconds > 0 ? (long)(_config.Journal.SnapshotIntervalSeconds * Stopwatch.Frequency) : long.MaxValue / 2;
        var duty = new Duty(this, watch, start, interval, snapshotInterval);
        var drain = new CompositeAgent([Engine, .. _orderChecks]);

        // One pass of the loop body before the baseline: a new thread's first touch of the runtime's
        // per-thread state allocates a few bytes once; what is measured from here is the live loop.
        TypeWarmUp.InitializeEngineTypes(); // static storage allocated here, not on a rare path under live traffic
        Engine.PollOnce();
        PollOrderChecks();
        PublishCounters(start, start, GC.GetAllocatedBytesForCurrentThread(), GcCount());
        long allocatedBefore = duty.AllocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        int gcBefore = duty.GcBefore = GcCount();
        AgentRunner.Run(ref duty, wait, stop); // a struct agent: specialized, no interface dispatch per cycle

        // Drain what was published before the stop (the producers have stopped or will be ignored).
        // After a shared file changed under the engine, no mapping is touched again: its pages may be gone.
        bool mappingsIntact = !Engine.HaltedOnFault;
        if (mappingsIntact)
        {
            AgentRunner.DrainUntilIdle(drain);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        int gcs = GcCount() - gcBefore;
        if (_snapshots is not null)
        {
            // A clean stop leaves a snapshot of the final state: the next start replays nothing.
            _snapshots.WaitIdle();
            _snapshots.TryCapture(Engine, Engine.Journal!.LastSequence);
            _snapshots.WaitIdle();
        }

        if (mappingsIntact)
        {
            PublishCounters(Stopwatch.GetTimestamp(), start, allocatedBefore, gcBefore);
        }

        var c = Engine.Counters;
        return new EngineRunSummary(c.Events, c.TotalRejects, c.BreachesPublished, Stopwatch.GetElapsedTime(start).TotalSeconds, allocated, gcs, pinned,
            string.Join(", ", Enum.GetValues<FeedReject>().Where(r => c.Rejects[(int)r] > 0).Select(r => $"{r} {c.Rejects[(int)r]}")))
        {
            StateChanges = c.StateChanges,
            Coalesced = c.BreachesCoalesced,
            RiskOffSeconds = Engine.RiskOffNanos / 1e9,
            HaltReason = Engine.HaltReason,
            HaltedOnFault = Engine.HaltedOnFault,
            SnapshotFailures = _snapshots?.Failures ?? 0,
            LastSnapshotError = _snapshots?.LastError,
        };
    }

    /// <summary>
    /// The engine thread's duty cycle: a feed batch (with the revaluation step after it), then the
    /// order checks every gate client has sent (a check sees the state the last batch left), then
    /// the periodic duties — the counters file and the integrity watch's verdict each counters
    /// interval, a snapshot each snapshot interval. Done when the engine halts or a shared file changed.
    /// </summary>
    private struct Duty(EngineService service, IntegrityWatch watch, long start, long counterInterval, long snapshotInterval) : IAgent
    {
        private long _nextPublish;

        public long AllocatedBefore { get; set; }

        public int GcBefore { get; set; }
        private long _nextSnapshot = start + snapshotInterval;

        public readonly string RoleName => "engine";

        public readonly bool IsDone => service.Engine.HaltReason is not null;

        public int DoWork()
        {
            var engine = service.Engine;
            int n = engine.DoWork() + service.PollOrderChecks();
            long now = Stopwatch.GetTimestamp();
            n += service._summaries?.Poll(now) ?? 0; // a bounded step of the sweep: never waits for the summary reader
            if (now >= _nextPublish)
            {
                if (watch.Fault is { } fault)
                {
                    engine.HaltOnFault(fault); // before touching any mapping again
                    return n;
                }

                service.PublishCounters(now, start, AllocatedBefore, GcBefore);
                _nextPublish = now + counterInterval;
            }

            if (now >= _nextSnapshot && service._snapshots is not null)
            {
                service._snapshots.TryCapture(engine, engine.Journal!.LastSequence);
                _nextSnapshot = now + snapshotInterval;
            }

            return n;
        }
    }

    /// <summary>Answers what every gate client has sent, as far as its response ring has room; returns how many.</summary>
    private int PollOrderChecks()
    {
        int n = 0;
        foreach (var checks in _orderChecks)
        {
            n += checks.Poll();
        }

        return n;
    }

    private static int GcCount() => GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);

    private void PublishCounters(long now, long start, long allocatedBefore, int gcBefore)
    {
        var slots = _slots.AsSpan();
        EngineCountersLayout.Copy(Engine.Counters, slots);
        slots[EngineCountersLayout.FeedLag] = _feed.ReadClaimSequence() - _feed.ReadConsumerSequence(0);
        slots[EngineCountersLayout.BreachLag] = _breach.ReadClaimSequence() - _breach.ReadConsumerSequence(0);
        slots[EngineCountersLayout.AbandonedSlots] = _feed.ReadAbandonedCount(0);
        slots[EngineCountersLayout.RiskOff] = Engine.IsRiskOff ? 1 : 0;
        slots[EngineCountersLayout.RiskOffNanos] = Engine.RiskOffNanos;
        slots[EngineCountersLayout.SnapshotsWritten] = _snapshots?.Written ?? 0;
        slots[EngineCountersLayout.SnapshotFailures] = _snapshots?.Failures ?? 0;
        slots[EngineCountersLayout.JournalFailed] = Engine.HaltReason is null ? 0 : 1;
        slots[EngineCountersLayout.UptimeNanos] = MonotonicClock.ToNanos(now - start);
        slots[EngineCountersLayout.EngineAllocatedBytes] = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        slots[EngineCountersLayout.GcCount] = GcCount() - gcBefore;
        long answered = 0, malformed = 0, waited = 0;
        foreach (var checks in _orderChecks)
        {
            answered += checks.Answered;
            malformed += checks.MalformedRequests;
            waited += checks.WaitedForRoom;
        }

        slots[EngineCountersLayout.OrderChecksAnswered] = answered;
        slots[EngineCountersLayout.OrderChecksMalformed] = malformed;
        slots[EngineCountersLayout.OrderChecksWaited] = waited;
        slots[EngineCountersLayout.SummariesPublished] = _summaries?.Published ?? 0;
        slots[EngineCountersLayout.SummariesDeferred] = _summaries?.Deferred ?? 0;
        _counters.Publish(slots, now);
    }

    /// <summary>Unmaps the rings and the counters file (the files stay for the other processes).</summary>
    public void Dispose()
    {
        _snapshots?.Dispose();
        Engine.Journal?.Dispose();
        _feed.Dispose();
        _breach.Dispose();
        _summaryRing?.Dispose();
        foreach (var ring in _gateRings)
        {
            ring.Dispose();
        }

        _counters.Dispose();
        foreach (var role in _roles)
        {
            role.Dispose();
        }
    }
}
