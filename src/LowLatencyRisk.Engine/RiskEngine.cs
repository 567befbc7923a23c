using System.Diagnostics;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine;

/// <summary>
/// The single writer: consumes the feed ring in batches, decodes and validates each message,
/// applies it to the <see cref="RiskBook"/> (and the <see cref="PreTradeGate"/>'s working orders),
/// revalues what the batch made dirty, and emits margin breaches to the breach ring.
/// </summary>
/// <remarks>
/// <para>One thread calls <see cref="PollOnce"/> (or <see cref="Run"/>); nothing else touches the
/// book while it runs. No allocation after construction.</para>
/// <para>A message that fails validation is counted by reason (<see cref="EngineCounters"/>) and
/// changes nothing; the engine never throws on input. Producer sequences are checked per producer
/// and epoch: a repeated or older sequence is a duplicate and is dropped; a jump beyond
/// <see cref="SequenceWindow"/> is refused and not adopted; a smaller jump is counted as a gap and
/// the message applied; a newer epoch (a restarted producer) is followed from its sequence 1, an
/// older one refused.</para>
/// <para>The engine never blocks on the breach reader: a breach that finds the ring full waits in a
/// preallocated slot of its account, the gate goes risk-off (only risk-reducing orders pass) and
/// the alarm counter moves; waiting breaches go out, in the order their accounts first changed, as
/// room appears. Later changes of a waiting account fold into its breach (first from-state, latest
/// state, how many it replaced), so none is dropped however long the reader is away, and the
/// reader's last message per account is always the account's current state.</para>
/// </remarks>
public sealed class RiskEngine : IAgent
{
    private readonly RiskBook _book;
    private readonly PreTradeGate? _gate;
    private readonly RingConsumer? _feed;
    private readonly FeedStateMachine _machine;
    private readonly BreachPublisher _breaches;
    private RevaluationScheduler _revaluation;
    private readonly TimeSpan _revalueInterval;
    private long _batchTimestamp;
    private long _batchPublishTicks;
    private Handler _handler;
    private JournalWriter? _journal;
    private bool _replaying;

    /// <summary>Holders re-margined per step of a sliced revaluation (under a microsecond on the standard workload); the feed can take over between steps.</summary>
    public const int SliceAccounts = 4;

    /// <summary>Holders per revaluation step (default <see cref="SliceAccounts"/>): smaller gives way to the feed sooner, larger spends less on checking it.</summary>
    public int RevaluationStep
    {
        get => _revaluation.Step;
        init => _revaluation = new RevaluationScheduler(_book, Counters, _revalueInterval, value);
    }

    /// <summary>Largest batch while a revaluation runs in slices.</summary>
    public const int RevaluingBatch = 2048;

    /// <summary>
    /// Creates the engine; marks are applied to margins at most every <paramref name="revalueInterval"/>
    /// (default: every batch). Without a <paramref name="feed"/> the engine takes messages only
    /// through <see cref="Process"/> and <see cref="Replay"/>; without <paramref name="breaches"/> it
    /// is offline (<c>llr replay</c>): breaches are queued and never published.
    /// </summary>
    public RiskEngine(RiskBook book, PreTradeGate? gate, RingConsumer? feed, IRingProducer? breaches, TimeSpan revalueInterval = default, LiquidationOptions? liquidation = null)
    {
        ArgumentNullException.ThrowIfNull(book);
        _book = book;
        _gate = gate;
        _feed = feed;
        _revalueInterval = revalueInterval;
        _machine = new FeedStateMachine(book, gate, Counters);
        _breaches = new BreachPublisher(book, gate, Counters, breaches, liquidation) { Records = JournalRecord };
        _revaluation = new RevaluationScheduler(book, Counters, revalueInterval, SliceAccounts);
        _handler = new Handler(this);
    }

    /// <summary>The counters.</summary>
    public EngineCounters Counters { get; } = new();


    /// <summary>Journals every message consumed from the feed before applying it (durable mode); null turns it off.</summary>
    public JournalWriter? Journal
    {
        get => _journal;
        set => _journal = value;
    }

    /// <summary>
    /// Walks the engine's whole mutable state — producer sequences, the breach sequence and queue,
    /// the book and the gate — for a snapshot or a restore (see <see cref="Core.Persistence.StateVisitor"/>).
    /// Call between polls, on the engine thread.
    /// </summary>
    public void VisitState(Core.Persistence.StateVisitor visitor)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        _machine.VisitSequences(visitor);
        _breaches.VisitState(visitor);
        _book.VisitState(visitor);
        _gate?.VisitState(visitor);
        if (visitor is Core.Persistence.StateRestore)
        {
            _revaluation.Rederive(); // re-derived from the book's dirty flags at the next poll
        }
    }

    /// <summary>The last producer sequence accepted from <paramref name="producer"/> in its current epoch (what makes replays idempotent).</summary>
    public long LastProducerSequence(int producer) => _machine.LastProducerSequence(producer);

    /// <summary>The epoch (session) of <paramref name="producer"/> the engine follows.</summary>
    public uint ProducerEpoch(int producer) => _machine.ProducerEpoch(producer);

    /// <summary>Default of <see cref="SequenceWindow"/>.</summary>
    public const long DefaultSequenceWindow = 1L << 20;

    /// <summary>
    /// Largest accepted forward jump of a producer's sequence (default 2^20): a message further
    /// ahead is refused as <see cref="FeedReject.SequenceJump"/> and the producer's position is
    /// kept, so a corrupt sequence number cannot make every later valid message a duplicate.
    /// </summary>
    public long SequenceWindow
    {
        get => _machine.SequenceWindow;
        init => _machine.SequenceWindow = value;
    }

    /// <summary>The decisions: what a message does to the book and the gate (<see cref="FeedStateMachine"/>).</summary>
    public FeedStateMachine Machine => _machine;

    /// <summary>
    /// Processes one feed message exactly as a message consumed from the feed ring: journaled (when
    /// a journal is set) before anything changes, validated, applied, its breaches queued and
    /// published. For callers that hold messages outside a ring (tests, fuzzing, an embedding venue).
    /// False when the engine has halted (see <see cref="HaltReason"/>): the message was not applied.
    /// The payload is a whole slot's, <see cref="FeedMessageDescriptor.PayloadSize"/> bytes (what a ring
    /// or the journal hands over); a shorter span is the caller's bug and throws
    /// <see cref="ArgumentOutOfRangeException"/> — what the bytes say is never a reason to throw.
    /// </summary>
    public bool Process(ReadOnlySpan<byte> payload) => HaltReason is null && JournalThenApply(payload);

    /// <summary>
    /// Applies one journaled message exactly as the live path would (validation, duplicates,
    /// book, gate), without journaling it again and without publishing breaches: recovery and
    /// <c>llr replay</c>. Call <see cref="FinishReplay"/> after the last one.
    /// </summary>
    public void Replay(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > 0 && EngineRecords.IsRecord(payload[0]))
        {
            // The engine's own decision, journaled live: restored, not taken again.
            if (!_breaches.ApplyRecord(payload))
            {
                Counters.RefusedRecords++;
            }

            return;
        }

        _replaying = true;
        Apply(payload);
        _replaying = false;
    }

    /// <summary>
    /// Ends a replay: revalues the whole book at the replayed marks and queues one breach per
    /// account that is not healthy (from = to = its state, cause <see cref="BreachCause.Recovery"/>),
    /// so the liquidator learns the ladder as recovered even if breaches were lost with the crash.
    /// Returns how many were announced.
    /// </summary>
    public int FinishReplay()
    {
        _book.Revalue();
        while (_book.TryDequeueTransition(out _))
        {
        }

        return _breaches.AnnounceLadder();
    }

    /// <summary>The book.</summary>
    public RiskBook Book => _book;

    /// <summary>True while marks wait for their underlying's revaluation (call <see cref="PollOnce"/> to progress).</summary>
    public bool HasPendingMarks => _revaluation.HasPendingMarks;

    /// <summary>True while breaches wait for room on the breach ring (the gate is risk-off meanwhile).</summary>
    public bool IsRiskOff => _breaches.IsRiskOff;

    /// <summary>The breach output (queue, risk-off).</summary>
    public BreachPublisher Breaches => _breaches;

    /// <summary>The revaluation scheduler.</summary>
    public RevaluationScheduler Revaluation => _revaluation;

    /// <summary>Processes one batch (at most <paramref name="maxBatch"/> messages); returns how many.</summary>
    public int PollOnce(int maxBatch = 65_536)
    {
        _breaches.Flush();
        // While a revaluation runs in slices, batches are kept short so it advances steadily
        // even when the feed is saturated.
        _batchPublishTicks = 0;
        long started = MonotonicClock.Now();
        if (HaltReason is not null)
        {
            return 0;
        }

        int n = _feed?.PollWhile(ref _handler, _book.IsRevaluing ? Math.Min(maxBatch, RevaluingBatch) : maxBatch) ?? 0;
        long polled = MonotonicClock.Now();
        if (n > 0)
        {
            Counters.Batches++;
            if (_batchPublishTicks > 0)
            {
                Counters.RecordFeedLatency(MonotonicClock.ToNanos(polled - _batchPublishTicks));
            }
        }

        if (_revaluation.Advance(started, polled, _feed))
        {
            _breaches.Drain(_batchTimestamp, _revaluation.MarkTicks, BreachCause.Revaluation, discard: _replaying);
        }

        return n;
    }

    /// <summary>Runs until <paramref name="stop"/> is set (or the engine halts), waiting with <typeparamref name="TWait"/> when nothing is ready.</summary>
    public void Run<TWait>(ref TWait wait, CancellationToken stop) where TWait : struct, IWaitStrategy
    {
        var loop = new Loop(this); // a struct agent: the runner is specialized for it, no interface dispatch per cycle
        AgentRunner.Run(ref loop, wait, stop);
    }

    /// <remarks>
    /// The loop's work is the feed alone: between empty polls it idles even while marks wait for
    /// their revaluation interval, so it does not hammer the feed ring's cache line back to back
    /// (counting waiting marks as work here measured fill → breach p50 1.21× slower in one process,
    /// 8 interleaved rounds; <c>perf/results/2026-11-30-wire-agents-ab/</c>).
    /// </remarks>
    private readonly struct Loop(RiskEngine engine) : IAgent
    {
        public string RoleName => "engine";

        public int DoWork() => engine.PollOnce();

        public bool IsDone => engine.IsDone;
    }

    /// <summary>"engine".</summary>
    public string RoleName => "engine";

    /// <summary>One <see cref="PollOnce"/>; counts a waiting revaluation as work, so the runner does not idle while marks wait.</summary>
    public int DoWork() => PollOnce() + (HasPendingMarks ? 1 : 0);

    /// <summary>True once the engine has halted (<see cref="HaltReason"/>).</summary>
    public bool IsDone => HaltReason is not null;

    private void Apply(ReadOnlySpan<byte> p)
    {
        var effect = _machine.Apply(p, _replaying);
        if (!effect.Accepted)
        {
            return;
        }

        _batchTimestamp = effect.TimestampNanos;
        _batchPublishTicks = effect.PublishTicks;
        if (effect.MarkedUnderlying >= 0)
        {
            _revaluation.NoteMark(effect.MarkedUnderlying, effect.PublishTicks);
        }

        if (_machine.HasMassCancel)
        {
            var cancel = _machine.TakeMassCancel();
            if (!_replaying)
            {
                _breaches.QueueMassCancel(cancel, effect.TimestampNanos, effect.PublishTicks); // live only: a replay's were published before
            }
        }

        if (effect.Type == Wire.FeedMessageType.Fill && _machine.LastFillApplied)
        {
            ref readonly var fill = ref WireMessage.Read<FillMessage>(p);
            _breaches.OnFill(fill.Account, fill.Instrument, fill.Quantity, fill.Price, (fill.Flags & FillMessage.Liquidation) != 0); // covers the account's liquidation order, if it trades it
        }

        if (effect.LadderMayMove)
        {
            // Breaches of replayed history were published before; FinishReplay announces the current ladder.
            _breaches.Drain(effect.TimestampNanos, effect.PublishTicks, BreachCause.Trade, discard: _replaying);
        }
    }

    /// <summary>Nanoseconds spent risk-off so far, the episode under way included.</summary>
    public long RiskOffNanos => _breaches.RiskOffNanos;

    private struct Handler(RiskEngine engine) : IRingHandlerWhile
    {
        public readonly bool OnMessage(long sequence, ReadOnlySpan<byte> payload) => engine.JournalThenApply(payload);
    }

    /// <summary>
    /// Durable mode: a message is journaled before it can change anything, and the ring's consumer
    /// sequence (which lets the producer reuse the slot) moves only past messages taken. A message
    /// the journal cannot take is not applied and stays in the ring: the engine halts (venue
    /// risk-off, <see cref="HaltReason"/> set) and its owner stops it; a restart resumes at that message.
    /// </summary>
    private bool JournalThenApply(ReadOnlySpan<byte> payload)
    {
        var journal = _journal;
        if (journal is not null && !journal.TryAppend(EngineRecords.IsRecord(payload[0]) ? Neutralized(payload) : payload, out _))
        {
            Halt(journal.Failure);
            return false;
        }

        Apply(payload);
        return true;
    }

    /// <summary>
    /// A feed message claiming to be an engine record (refused live as an unknown type) is journaled
    /// with its type byte replaced, so a replay refuses it too instead of taking it for a decision.
    /// </summary>
    private ReadOnlySpan<byte> Neutralized(ReadOnlySpan<byte> payload)
    {
        payload.CopyTo(_forged);
        _forged[0] = EngineRecords.Neutralized;
        return _forged.AsSpan(0, payload.Length);
    }

    private readonly byte[] _forged = new byte[FeedMessageDescriptor.PayloadSize];

    /// <summary>Journals one of the engine's own records (its liquidation orders) before they go out; a refusal halts the engine.</summary>
    private bool JournalRecord(ReadOnlySpan<byte> record)
    {
        var journal = _journal;
        if (journal is null || _replaying)
        {
            return true;
        }

        if (!journal.TryAppend(record, out _))
        {
            Halt(journal.Failure);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Halts for a fault found outside the engine (a shared file changed under it): no further
    /// message is taken, the venue goes risk-off, and the owner stops without touching the rings.
    /// </summary>
    public void HaltOnFault(string reason)
    {
        if (HaltReason is null)
        {
            HaltReason = reason;
            HaltedOnFault = true;
            _breaches.KeepVenueRiskOff = true;
            if (_gate is not null)
            {
                _gate.VenueRiskOff = true;
            }
        }
    }

    /// <summary>True when <see cref="HaltReason"/> came from <see cref="HaltOnFault"/> rather than the journal.</summary>
    public bool HaltedOnFault { get; private set; }

    private void Halt(string? reason)
    {
        if (HaltReason is null)
        {
            HaltReason = reason ?? "the journal cannot take another record";
            Counters.JournalFailures++;
            _breaches.KeepVenueRiskOff = true;
            if (_gate is not null)
            {
                _gate.VenueRiskOff = true;
            }
        }
    }

    /// <summary>
    /// Why the engine has stopped taking messages (its journal could not take one, or a shared file
    /// changed under it), or null while it runs. Once set, polls take nothing more from the feed and the venue is risk-off; the owner
    /// stops the process (<c>llr engine</c> exits with code 4).
    /// </summary>
    public string? HaltReason { get; private set; }
}

/// <summary>Monotonic timestamps comparable across processes on one machine.</summary>
public static class MonotonicClock
{
    /// <summary>Now, in the units of <see cref="Stopwatch.GetTimestamp"/> (nanoseconds on Linux: CLOCK_MONOTONIC).</summary>
    public static long Now() => Stopwatch.GetTimestamp();

    /// <summary>Converts a difference of <see cref="Now"/> values to nanoseconds.</summary>
    public static long ToNanos(long ticks) => (long)(ticks * (1_000_000_000.0 / Stopwatch.Frequency));
}
