using System.Buffers.Binary;
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
public sealed class RiskEngine
{
    private readonly RiskBook _book;
    private readonly PreTradeGate? _gate;
    private readonly RingConsumer _feed;
    private readonly IRingProducer _breaches;
    private readonly long[] _lastSequence = new long[FeedMessageDescriptor.MaxProducers];
    private readonly uint[] _epoch = new uint[FeedMessageDescriptor.MaxProducers];
    private readonly PendingBreach[] _pending; // by account
    private readonly WaitingAccounts _pendingOrder;
    private readonly LiquidationCandidate[] _candidates = new LiquidationCandidate[BreachMessageDescriptor.MaxCandidates];
    private long _breachSequence;
    private bool _riskOff;
    private long _riskOffSince;
    private long _batchTimestamp;
    private long _batchPublishTicks;
    private Handler _handler;
    private readonly long _revalueIntervalTicks;
    private JournalWriter? _journal;
    private bool _replaying;
    private bool _pendingMarks;
    private readonly long[] _firstMarkTicks;
    private readonly long[] _lastRevalue;
    private int _nextUnderlying;
    private int _slicedUnderlying;
    private long _slicedMarkTicks;

    /// <summary>Holders re-margined per step of a sliced revaluation (under a microsecond on the standard workload); the feed can take over between steps.</summary>
    public const int SliceAccounts = 4;

    /// <summary>Holders per revaluation step (default <see cref="SliceAccounts"/>): smaller gives way to the feed sooner, larger spends less on checking it.</summary>
    public int RevaluationStep { get; init; } = SliceAccounts;

    /// <summary>Largest batch while a revaluation runs in slices.</summary>
    public const int RevaluingBatch = 2048;

    /// <summary>Creates the engine; marks are applied to margins at most every <paramref name="revalueInterval"/> (default: every batch).</summary>
    public RiskEngine(RiskBook book, PreTradeGate? gate, RingConsumer feed, IRingProducer breaches, TimeSpan revalueInterval = default)
    {
        _revalueIntervalTicks = (long)(revalueInterval.TotalSeconds * Stopwatch.Frequency);
        _firstMarkTicks = new long[book.Config.MaxUnderlyings];
        _lastRevalue = new long[book.Config.MaxUnderlyings];
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentNullException.ThrowIfNull(breaches);
        _book = book;
        _gate = gate;
        _feed = feed;
        _breaches = breaches;
        _pending = new PendingBreach[book.Config.MaxAccounts];
        _pendingOrder = new WaitingAccounts(book.Config.MaxAccounts);
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
        visitor.Array(_lastSequence);
        visitor.Array(_epoch);
        visitor.Value(ref _breachSequence);
        visitor.Array(_pending);
        _pendingOrder.VisitState(visitor);
        _book.VisitState(visitor);
        _gate?.VisitState(visitor);
        if (visitor is Core.Persistence.StateRestore)
        {
            _pendingMarks = true; // re-derived from the book's dirty flags at the next poll
        }
    }

    /// <summary>The last producer sequence accepted from <paramref name="producer"/> in its current epoch (what makes replays idempotent).</summary>
    public long LastProducerSequence(int producer) => _lastSequence[producer];

    /// <summary>The epoch (session) of <paramref name="producer"/> the engine follows.</summary>
    public uint ProducerEpoch(int producer) => _epoch[producer];

    /// <summary>Default of <see cref="SequenceWindow"/>.</summary>
    public const long DefaultSequenceWindow = 1L << 20;

    /// <summary>
    /// Largest accepted forward jump of a producer's sequence (default 2^20): a message further
    /// ahead is refused as <see cref="FeedReject.SequenceJump"/> and the producer's position is
    /// kept, so a corrupt sequence number cannot make every later valid message a duplicate.
    /// </summary>
    public long SequenceWindow { get; init; } = DefaultSequenceWindow;

    /// <summary>
    /// Processes one feed message exactly as a message consumed from the feed ring: journaled (when
    /// a journal is set) before anything changes, validated, applied, its breaches queued and
    /// published. For callers that hold messages outside a ring (tests, fuzzing, an embedding venue).
    /// False when the engine has halted (see <see cref="HaltReason"/>): the message was not applied.
    /// </summary>
    public bool Process(ReadOnlySpan<byte> payload) => HaltReason is null && JournalThenApply(payload);

    /// <summary>
    /// Applies one journaled message exactly as the live path would (validation, duplicates,
    /// book, gate), without journaling it again and without publishing breaches: recovery and
    /// <c>llr replay</c>. Call <see cref="FinishReplay"/> after the last one.
    /// </summary>
    public void Replay(ReadOnlySpan<byte> payload)
    {
        _replaying = true;
        Apply(payload);
        _replaying = false;
    }

    /// <summary>
    /// Ends a replay: revalues the whole book at the replayed marks and queues one breach per
    /// account that is not healthy (from = to = its state, cause <see cref="BreachMessageDescriptor.CauseRecovery"/>),
    /// so the liquidator learns the ladder as recovered even if breaches were lost with the crash.
    /// Returns how many were announced.
    /// </summary>
    public int FinishReplay()
    {
        _book.Revalue();
        while (_book.TryDequeueTransition(out _))
        {
        }

        int announced = 0;
        for (int a = 0; a < _book.Config.MaxAccounts; a++)
        {
            var state = _book.State(a);
            if (state != MarginState.Healthy)
            {
                var t = new MarginTransition(a, state, state, _book.Equity(a), _book.InitialMargin(a), _book.MaintenanceMargin(a));
                QueueBreach(t, _book.NowNanos, 0, BreachMessageDescriptor.CauseRecovery, counted: false);
                announced++;
            }
        }

        FlushPending();
        return announced;
    }

    /// <summary>The book.</summary>
    public RiskBook Book => _book;

    /// <summary>True while marks wait for their underlying's revaluation (call <see cref="PollOnce"/> to progress).</summary>
    public bool HasPendingMarks => _pendingMarks;

    /// <summary>True while breaches wait for room on the breach ring (the gate is risk-off meanwhile).</summary>
    public bool IsRiskOff => _riskOff;

    /// <summary>Processes one batch (at most <paramref name="maxBatch"/> messages); returns how many.</summary>
    public int PollOnce(int maxBatch = 65_536)
    {
        FlushPending();
        // While a revaluation runs in slices, batches are kept short so it advances steadily
        // even when the feed is saturated.
        _batchPublishTicks = 0;
        long started = MonotonicClock.Now();
        if (HaltReason is not null)
        {
            return 0;
        }

        int n = _feed.PollWhile(ref _handler, _book.IsRevaluing ? Math.Min(maxBatch, RevaluingBatch) : maxBatch);
        long polled = MonotonicClock.Now();
        if (n > 0)
        {
            Counters.Batches++;
            if (_batchPublishTicks > 0)
            {
                Counters.RecordFeedLatency(MonotonicClock.ToNanos(polled - _batchPublishTicks));
            }
        }

        // Marks are coalesced per underlying: a dirty underlying is revalued once its interval has
        // passed since its last revaluation (0 = every batch), at most one per poll, so a fill never
        // waits behind more than one underlying's revaluation. Fills in between use the last
        // valuation; each revaluation is exact for every holder and re-bases their sums.
        if (_book.IsRevaluing)
        {
            // A revaluation runs in steps of a few holders between batches, and gives way to the
            // feed: it keeps going while no message waits (idle time is its own) and, when one
            // does, only until it has had as much time as the batch before it. Under load the two
            // share the thread about equally, so neither falls behind; a fill that arrives while a
            // revaluation runs waits for the rest of one step (about a microsecond), not a slice.
            long deadline = polled + (polled - started);
            bool done;
            do
            {
                done = _book.ContinueRevalue(RevaluationStep);
            }
            while (!done && (!_feed.IsAvailable() || MonotonicClock.Now() < deadline));

            if (done)
            {
                _lastRevalue[_slicedUnderlying] = MonotonicClock.Now();
            }

            DrainTransitions(_batchTimestamp, _slicedMarkTicks, BreachMessageDescriptor.CauseRevaluation);
        }
        else if (_pendingMarks)
        {
            long now = MonotonicClock.Now();
            for (int k = 0; k < _firstMarkTicks.Length; k++)
            {
                int u = (_nextUnderlying + k) % _firstMarkTicks.Length;
                if (_book.IsDirty(u) && now - _lastRevalue[u] >= _revalueIntervalTicks && _book.BeginRevalue(u))
                {
                    Counters.Revaluations++;
                    _slicedUnderlying = u;
                    _slicedMarkTicks = _firstMarkTicks[u];
                    _firstMarkTicks[u] = 0;
                    _nextUnderlying = (u + 1) % _firstMarkTicks.Length;
                    if (_book.ContinueRevalue(RevaluationStep))
                    {
                        _lastRevalue[u] = MonotonicClock.Now();
                    }

                    DrainTransitions(_batchTimestamp, _slicedMarkTicks, BreachMessageDescriptor.CauseRevaluation);
                    break;
                }
            }
        }

        // Whether marks still wait is the book's word (its dirty flags), not this engine's bookkeeping.
        _pendingMarks = _book.IsRevaluing;
        for (int u = 0; u < _firstMarkTicks.Length; u++)
        {
            _pendingMarks |= _book.IsDirty(u);
        }

        return n;
    }

    /// <summary>Runs until <paramref name="stop"/> is set, waiting with <typeparamref name="TWait"/> when the feed is empty.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // entered once, loops for the run: no tier-0 code or on-stack replacement under live traffic
    public void Run<TWait>(ref TWait wait, CancellationToken stop) where TWait : struct, IWaitStrategy
    {
        int idle = 0;
        while (!stop.IsCancellationRequested)
        {
            if (PollOnce() == 0)
            {
                wait.Idle(idle++);
            }
            else
            {
                idle = 0;
            }
        }
    }

    private void Apply(ReadOnlySpan<byte> p)
    {
        if (_replaying)
        {
            Counters.ReplayedEvents++;
        }
        else
        {
            Counters.Events++;
        }

        byte type = p[FeedMessageDescriptor.TypeOffset];
        if (p[FeedMessageDescriptor.VersionOffset] != FeedMessageDescriptor.Version)
        {
            Reject(FeedReject.BadVersion);
            return;
        }

        int producer = BinaryPrimitives.ReadUInt16LittleEndian(p[FeedMessageDescriptor.ProducerIdOffset..]);
        if (producer >= FeedMessageDescriptor.MaxProducers)
        {
            Reject(FeedReject.BadProducer);
            return;
        }

        if (type is < (byte)FeedMessageType.IndexPrice or > (byte)FeedMessageType.CollateralTransfer)
        {
            Reject(FeedReject.UnknownType);
            return;
        }

        // Sequences are checked per producer and epoch, before anything changes: a newer epoch is a
        // restarted producer (its sequence starts again from 1), an older one a stale session; a
        // jump beyond the window is refused without being adopted.
        uint epoch = BinaryPrimitives.ReadUInt32LittleEndian(p[FeedMessageDescriptor.ProducerEpochOffset..]);
        long sequence = FeedMessageDescriptor.ReadLong(p, FeedMessageDescriptor.ProducerSequenceOffset);
        if (epoch < _epoch[producer])
        {
            Reject(FeedReject.StaleEpoch);
            return;
        }

        bool newEpoch = epoch != _epoch[producer];
        long last = newEpoch ? 0 : _lastSequence[producer];
        if (sequence <= last)
        {
            Reject(FeedReject.Duplicate);
            return;
        }

        // A new epoch is followed only from its sequence 1 (how a restarted producer begins): a
        // corrupt epoch on an otherwise ordinary message is refused, not adopted, or it would make
        // every later message of the real session stale.
        if (sequence - last > SequenceWindow || (newEpoch && sequence != 1))
        {
            Reject(FeedReject.SequenceJump);
            return;
        }

        if (sequence != last + 1)
        {
            Counters.SequenceGaps++;
        }

        if (newEpoch)
        {
            _epoch[producer] = epoch;
            Counters.ProducerRestarts++;
        }

        _lastSequence[producer] = sequence;
        long timestamp = FeedMessageDescriptor.ReadLong(p, FeedMessageDescriptor.TimestampOffset);
        long publishTicks = FeedMessageDescriptor.ReadLong(p, FeedMessageDescriptor.PublishTicksOffset);
        _batchTimestamp = timestamp;
        _batchPublishTicks = publishTicks;
        Counters.EventsByType[type]++;
        switch ((FeedMessageType)type)
        {
            case FeedMessageType.IndexPrice:
                int underlying = FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.Int0);
                Mark(_book.UpdateIndex(underlying, FeedMessageDescriptor.ReadDouble(p, FeedMessageDescriptor.Double0), timestamp));
                NoteMark(underlying, publishTicks);
                break;
            case FeedMessageType.OptionMark:
                int option = FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.Int0);
                Mark(_book.UpdateVolatility(option, FeedMessageDescriptor.ReadDouble(p, FeedMessageDescriptor.Double0)));
                NoteMark(_book.IsInstrument(option) ? _book.Instrument(option).Underlying : -1, publishTicks);
                break;
            case FeedMessageType.Fill:
                var fill = _book.ApplyFill(FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.Int0), FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.Int1),
                    FeedMessageDescriptor.ReadDouble(p, FeedMessageDescriptor.Double0), FeedMessageDescriptor.ReadDouble(p, FeedMessageDescriptor.Double1));
                if (fill != FillResult.Applied)
                {
                    Reject(fill switch
                    {
                        FillResult.RejectedUnknownId => FeedReject.UnknownId,
                        FillResult.RejectedPositionCapacity => FeedReject.PositionCapacity,
                        FillResult.RejectedIsolatedInstrument => FeedReject.IsolatedInstrument,
                        _ => FeedReject.InvalidValue,
                    });
                }

                DrainTransitions(timestamp, publishTicks, BreachMessageDescriptor.CauseTrade);
                break;
            case FeedMessageType.OrderLifecycle:
                ApplyLifecycle(p, timestamp);
                break;
            case FeedMessageType.Collateral:
                double balance = FeedMessageDescriptor.ReadDouble(p, FeedMessageDescriptor.Double0);
                if (!double.IsFinite(balance))
                {
                    Reject(FeedReject.InvalidValue);
                }
                else if (!_book.SetCollateral(FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.Int0), FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.Int1), balance))
                {
                    Reject(FeedReject.UnknownId);
                }

                DrainTransitions(timestamp, publishTicks, BreachMessageDescriptor.CauseTrade);
                break;
            case FeedMessageType.KillSwitch:
                ApplyKillSwitch(p);
                break;
            case FeedMessageType.InstrumentDefinition:
                var spec = FeedMessageDescriptor.ReadInstrumentDefinition(p, out int instrument);
                if (_book.TryDefineInstrument(instrument, spec) != DefinitionResult.Defined)
                {
                    Reject(FeedReject.InvalidDefinition);
                }

                break;
            case FeedMessageType.LimitChange:
                ApplyLimit(p);
                break;
            case FeedMessageType.MarginMode:
                var mode = _book.SetMarginMode(FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.ModeAccount), (MarginMode)p[FeedMessageDescriptor.ModeValue],
                    FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.ModeParent), FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.ModeInstrument));
                if (mode is ModeChangeResult.RejectedUnknownId)
                {
                    Reject(FeedReject.UnknownId);
                }
                else if (mode is not (ModeChangeResult.Changed or ModeChangeResult.Unchanged))
                {
                    Reject(FeedReject.ModeRefused);
                }

                DrainTransitions(timestamp, publishTicks, BreachMessageDescriptor.CauseTrade);
                break;
            case FeedMessageType.CollateralTransfer:
                var transfer = _book.TransferCollateral(FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.TransferFrom), FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.TransferTo),
                    FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.TransferAsset), FeedMessageDescriptor.ReadDouble(p, FeedMessageDescriptor.TransferAmount));
                if (transfer != TransferResult.Applied)
                {
                    Reject(transfer switch { TransferResult.RejectedUnknownId => FeedReject.UnknownId, TransferResult.RejectedInvalid => FeedReject.InvalidValue, _ => FeedReject.TransferRefused });
                }

                DrainTransitions(timestamp, publishTicks, BreachMessageDescriptor.CauseTrade);
                break;
            default: // heartbeat
                break;
        }
    }

    private void ApplyLifecycle(ReadOnlySpan<byte> p, long timestamp)
    {
        int account = FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.LifecycleAccount);
        byte lifecycle = p[FeedMessageDescriptor.LifecycleEvent];
        long clientOrderId = FeedMessageDescriptor.ReadLong(p, FeedMessageDescriptor.LifecycleClientOrderId);
        double filled = FeedMessageDescriptor.ReadDouble(p, FeedMessageDescriptor.LifecycleFilledQuantity);
        if (_gate is null || !_book.IsAccount(account))
        {
            Reject(FeedReject.UnknownId);
            return;
        }

        bool known = lifecycle switch
        {
            1 => double.IsFinite(filled) && filled > 0 && _gate.OnOrderFilled(account, clientOrderId, filled, timestamp),
            2 or 3 => _gate.OnOrderEnded(account, clientOrderId, timestamp),
            _ => false,
        };
        if (!known)
        {
            Reject(lifecycle is 1 or 2 or 3 ? FeedReject.UnknownOrder : FeedReject.InvalidValue);
        }
    }

    private void ApplyKillSwitch(ReadOnlySpan<byte> p)
    {
        byte scope = p[FeedMessageDescriptor.KillSwitchScope];
        bool on = p[FeedMessageDescriptor.KillSwitchOn] != 0;
        int id = FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.KillSwitchId);
        if (_gate is null)
        {
            Reject(FeedReject.UnknownId);
            return;
        }

        switch (scope)
        {
            case 0:
                _gate.VenueKillSwitch = on;
                break;
            case 1 when _book.IsUnderlying(id):
                _gate.SetUnderlyingKillSwitch(id, on);
                break;
            case 2 when _book.IsAccount(id):
                _gate.SetAccountKillSwitch(id, on);
                break;
            default:
                Reject(FeedReject.UnknownId);
                break;
        }
    }

    private void ApplyLimit(ReadOnlySpan<byte> p)
    {
        var scope = (LimitScope)p[FeedMessageDescriptor.Byte0];
        var field = (LimitField)p[FeedMessageDescriptor.Byte1];
        int id = FeedMessageDescriptor.ReadInt(p, FeedMessageDescriptor.Int1);
        double v = FeedMessageDescriptor.ReadDouble(p, FeedMessageDescriptor.Double0);
        if (_gate is null || !(scope == LimitScope.Instrument ? _book.IsInstrument(id) : scope == LimitScope.Account && _book.IsAccount(id)))
        {
            Reject(FeedReject.UnknownId);
            return;
        }

        // Limits are positive; +∞ (no limit) only where "none" means something — not for a minimum
        // quantity, a price band or a throttle, whose arithmetic needs a number (a burst is at least
        // one order). Switches are exactly 0 or 1. Anything else changes nothing.
        bool isSwitch = field == LimitField.Halted || (scope == LimitScope.Account && field == LimitField.PositionLimitOrEnabled);
        bool mustBeFinite = field is LimitField.MinQuantityOrThrottleRate or LimitField.PriceBandOrThrottleBurst;
        bool isBurst = scope == LimitScope.Account && field == LimitField.PriceBandOrThrottleBurst;
        if (isSwitch ? v is not (0 or 1) : !(v > 0) || (mustBeFinite && !double.IsFinite(v)) || (isBurst && v < 1))
        {
            Reject(FeedReject.InvalidValue);
            return;
        }

        const double Keep = double.NaN;
        switch (scope, field)
        {
            case (LimitScope.Instrument, LimitField.MaxOrderQuantityOrCredit): _gate.SetInstrumentLimits(id, maxOrderQuantity: v); break;
            case (LimitScope.Instrument, LimitField.MaxOrderNotionalOrUnderlyingPosition): _gate.SetInstrumentLimits(id, Keep, maxOrderNotional: v); break;
            case (LimitScope.Instrument, LimitField.MinQuantityOrThrottleRate): _gate.SetInstrumentLimits(id, Keep, Keep, minQuantity: v); break;
            case (LimitScope.Instrument, LimitField.PriceBandOrThrottleBurst): _gate.SetInstrumentLimits(id, Keep, Keep, Keep, priceBand: v); break;
            case (LimitScope.Instrument, LimitField.PositionLimitOrEnabled): _gate.SetInstrumentLimits(id, Keep, Keep, Keep, Keep, positionLimit: v); break;
            case (LimitScope.Instrument, LimitField.Halted): _gate.SetHalted(id, v == 1); break;
            case (LimitScope.Account, LimitField.MaxOrderQuantityOrCredit): _gate.SetAccountLimits(id, creditLimit: v); break;
            case (LimitScope.Account, LimitField.MaxOrderNotionalOrUnderlyingPosition): _gate.SetAccountLimits(id, Keep, underlyingPositionLimit: v); break;
            case (LimitScope.Account, LimitField.MinQuantityOrThrottleRate): _gate.SetAccountLimits(id, Keep, Keep, throttleRate: v); break;
            case (LimitScope.Account, LimitField.PriceBandOrThrottleBurst): _gate.SetAccountLimits(id, Keep, Keep, Keep, throttleBurst: v); break;
            case (LimitScope.Account, LimitField.PositionLimitOrEnabled): _gate.SetAccountEnabled(id, v == 1); break;
            default: Reject(FeedReject.InvalidValue); break;
        }
    }

    private void Mark(MarkResult result)
    {
        switch (result)
        {
            case MarkResult.Accepted:
                break;
            case MarkResult.RejectedUnknownId:
                Reject(FeedReject.UnknownId);
                break;
            case MarkResult.RejectedInvalid:
                Reject(FeedReject.InvalidValue);
                break;
            case MarkResult.RejectedOutOfOrder:
                Reject(FeedReject.OutOfOrder);
                break;
            default: // held or rejected jump
                Reject(FeedReject.MarkJump);
                break;
        }
    }

    private void Reject(FeedReject reason) => Counters.Rejects[(int)reason]++;

    /// <summary>A mark waits for its underlying's next revaluation; breaches are timed from the first waiting mark's publish.</summary>
    private void NoteMark(int underlying, long publishTicks)
    {
        if ((uint)underlying < (uint)_firstMarkTicks.Length && _book.IsDirty(underlying))
        {
            _pendingMarks = true;
            if (_firstMarkTicks[underlying] == 0)
            {
                _firstMarkTicks[underlying] = publishTicks;
            }
        }
    }

    private void DrainTransitions(long timestamp, long publishTicks, byte cause)
    {
        while (_book.TryDequeueTransition(out var t))
        {
            if (_replaying)
            {
                continue; // breaches of replayed history were published before; FinishReplay announces the current ladder
            }

            QueueBreach(t, timestamp, publishTicks, cause, counted: true);
        }

        FlushPending();
    }

    /// <summary>
    /// Queues a breach for <paramref name="t"/>'s account, or folds it into the one already waiting
    /// for that account (its first from-state, the latest state and numbers, the count replaced).
    /// One slot per account: nothing can be dropped, whatever the outage of the reader.
    /// </summary>
    private void QueueBreach(in MarginTransition t, long timestamp, long publishTicks, byte cause, bool counted)
    {
        if (counted)
        {
            Counters.StateChanges += 1 + t.Replaced;
            Counters.BreachesByState[(int)t.To]++;
        }

        int a = t.Account;
        ref var slot = ref _pending[a];
        MarginTransition merged = t;
        if (_pendingOrder.TryEnqueue(a))
        {
            Counters.BreachesCoalesced += t.Replaced;
        }
        else
        {
            merged = t with { From = slot.Transition.From, Replaced = slot.Transition.Replaced + 1 + t.Replaced };
            Counters.BreachesCoalesced += 1 + t.Replaced;
        }

        // Positions to close first ride on liquidation triggers only: ranking reads a row per
        // position (mostly cache misses), which a margin call does not need on its way out.
        int n = merged.To == MarginState.Liquidation ? _book.RankForLiquidation(a, _candidates) : 0;
        slot = new PendingBreach(merged, timestamp, publishTicks, cause, _book.Mode(a), n,
            n > 0 ? _candidates[0] : default, n > 1 ? _candidates[1] : default, n > 2 ? _candidates[2] : default);
    }

    private void FlushPending()
    {
        while (_pendingOrder.TryPeek(out int account))
        {
            if (!_breaches.TryClaim(1, out long slot))
            {
                if (!_riskOff)
                {
                    // The reader is behind: the venue goes risk-off (only risk-reducing orders pass)
                    // until every waiting breach is out, and the time spent so is counted.
                    _riskOff = true;
                    _riskOffSince = MonotonicClock.Now();
                    Counters.BreachRingFull++;
                    if (_gate is not null)
                    {
                        _gate.VenueRiskOff = true;
                    }
                }

                Counters.PendingBreaches = _pendingOrder.Count;
                return;
            }

            Span<byte> payload = _breaches.Payload(slot);
            Write(payload, _pending[account], ++_breachSequence);
            BinaryPrimitives.WriteInt64LittleEndian(payload[BreachMessageDescriptor.PublishTicksOffset..], MonotonicClock.Now());
            _breaches.Publish(slot);
            _pendingOrder.Dequeue();
            Counters.BreachesPublished++;
        }

        Counters.PendingBreaches = 0;
        if (_riskOff)
        {
            _riskOff = false;
            Counters.RiskOffNanos += MonotonicClock.ToNanos(MonotonicClock.Now() - _riskOffSince);
            if (_gate is not null && HaltReason is null) // a halted engine keeps the venue risk-off
            {
                _gate.VenueRiskOff = false;
            }
        }
    }

    /// <summary>Nanoseconds spent risk-off so far, the episode under way included.</summary>
    public long RiskOffNanos => Counters.RiskOffNanos + (_riskOff ? MonotonicClock.ToNanos(MonotonicClock.Now() - _riskOffSince) : 0);

    private static void Write(Span<byte> p, in PendingBreach b, long sequence)
    {
        p[..BreachMessageDescriptor.PublishTicksOffset].Clear();
        p[BreachMessageDescriptor.TypeOffset] = BreachMessageDescriptor.MessageType;
        p[BreachMessageDescriptor.VersionOffset] = BreachMessageDescriptor.Version;
        p[BreachMessageDescriptor.FromOffset] = (byte)b.Transition.From;
        p[BreachMessageDescriptor.ToOffset] = (byte)b.Transition.To;
        BinaryPrimitives.WriteInt32LittleEndian(p[BreachMessageDescriptor.AccountOffset..], b.Transition.Account);
        BinaryPrimitives.WriteInt64LittleEndian(p[BreachMessageDescriptor.SequenceOffset..], sequence);
        BinaryPrimitives.WriteInt64LittleEndian(p[BreachMessageDescriptor.TimestampOffset..], b.Timestamp);
        BinaryPrimitives.WriteInt64LittleEndian(p[BreachMessageDescriptor.SourcePublishTicksOffset..], b.PublishTicks);
        BinaryPrimitives.WriteDoubleLittleEndian(p[BreachMessageDescriptor.EquityOffset..], b.Transition.Equity);
        BinaryPrimitives.WriteDoubleLittleEndian(p[BreachMessageDescriptor.InitialOffset..], b.Transition.InitialMargin);
        BinaryPrimitives.WriteDoubleLittleEndian(p[BreachMessageDescriptor.MaintenanceOffset..], b.Transition.MaintenanceMargin);
        p[BreachMessageDescriptor.CandidateCountOffset] = (byte)b.CandidateCount;
        p[BreachMessageDescriptor.CauseOffset] = b.Cause;
        p[BreachMessageDescriptor.ModeOffset] = (byte)b.Mode;
        BinaryPrimitives.WriteInt32LittleEndian(p[BreachMessageDescriptor.ReplacedOffset..], b.Transition.Replaced);
        WriteCandidate(p, 0, b.C0);
        WriteCandidate(p, 1, b.C1);
        WriteCandidate(p, 2, b.C2);
    }

    private static void WriteCandidate(Span<byte> p, int index, in LiquidationCandidate c)
    {
        int at = BreachMessageDescriptor.CandidatesOffset + (index * BreachMessageDescriptor.CandidateSize);
        BinaryPrimitives.WriteInt32LittleEndian(p[at..], c.Instrument);
        BinaryPrimitives.WriteDoubleLittleEndian(p[(at + 8)..], c.Quantity);
    }

    private readonly record struct PendingBreach(MarginTransition Transition, long Timestamp, long PublishTicks, byte Cause, MarginMode Mode, int CandidateCount,
        LiquidationCandidate C0, LiquidationCandidate C1, LiquidationCandidate C2);

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
        if (journal is not null && !journal.TryAppend(payload, out _))
        {
            Halt(journal.Failure);
            return false;
        }

        Apply(payload);
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
