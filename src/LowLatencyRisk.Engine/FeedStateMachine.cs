using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Wire;

namespace LowLatencyRisk.Engine;

/// <summary>
/// What applying one feed message led to. <see cref="Accepted"/> is false when the message was
/// refused before dispatch (version, producer, type, sequence); a refusal after dispatch (unknown
/// id, invalid value, …) is counted in <see cref="EngineCounters.Rejects"/> with the message still
/// <see cref="Accepted"/>. The margin transitions it caused wait in the book's transition queue.
/// </summary>
/// <param name="Type">The message type.</param>
/// <param name="TimestampNanos">Its business time.</param>
/// <param name="PublishTicks">Its publish time (monotonic clock), for latency.</param>
/// <param name="LadderMayMove">It changed positions, collateral or a mode: drain the book's transitions now (cause: trade).</param>
/// <param name="MarkedUnderlying">The underlying whose marks it changed, or −1: revalue its holders when the scheduler says.</param>
public readonly record struct FeedEffect(FeedMessageType Type, long TimestampNanos, long PublishTicks, bool LadderMayMove, int MarkedUnderlying)
{
    /// <summary>True when the message passed the header checks and was dispatched.</summary>
    public bool Accepted => Type != 0;
}

/// <summary>
/// The engine's decisions, without rings, journal, clock or breach output: applies one decoded
/// feed message to the book and the gate (validation, per-producer sequences and epochs, dispatch,
/// refusals counted by reason) and reports what followed (<see cref="FeedEffect"/>; the margin
/// transitions wait in the book's queue). The live engine, recovery, <c>llr replay</c>, the fuzz
/// test and an embedding venue all apply messages through this one type; what happens around it —
/// journaling, revaluation scheduling, breach publishing — belongs to <see cref="RiskEngine"/>.
/// </summary>
/// <remarks>
/// Producer sequences are checked per producer and epoch: a repeated or older sequence is a
/// duplicate and is dropped; a jump beyond <see cref="SequenceWindow"/> is refused and not adopted;
/// a smaller jump is counted as a gap and the message applied; a newer epoch (a restarted producer)
/// is followed from its sequence 1, an older one refused. No allocation.
/// </remarks>
public sealed class FeedStateMachine
{
    /// <summary>Longest funding interval a <see cref="FundingRateMessage"/> may give (7 days).</summary>
    public const long MaxFundingIntervalNanos = 7 * 86_400_000_000_000L;

    private readonly RiskBook _book;
    private readonly PreTradeGate? _gate;
    private readonly long[] _lastSequence = new long[FeedMessageDescriptor.MaxProducers];
    private readonly uint[] _epoch = new uint[FeedMessageDescriptor.MaxProducers];

    /// <summary>Creates the machine over <paramref name="book"/> and (optionally) <paramref name="gate"/>, counting into <paramref name="counters"/>.</summary>
    public FeedStateMachine(RiskBook book, PreTradeGate? gate, EngineCounters counters)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(counters);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("the wire messages are little-endian structs read in place; this machine is big-endian");
        }

        _book = book;
        _gate = gate;
        Counters = counters;
    }

    /// <summary>The counters the machine writes.</summary>
    public EngineCounters Counters { get; }

    /// <summary>The book.</summary>
    public RiskBook Book => _book;

    /// <summary>The gate (null when the engine runs without one).</summary>
    public PreTradeGate? Gate => _gate;

    /// <summary>
    /// Largest accepted forward jump of a producer's sequence (default <see cref="RiskEngine.DefaultSequenceWindow"/>):
    /// a message further ahead is refused as <see cref="FeedReject.SequenceJump"/> and the producer's
    /// position is kept, so a corrupt sequence number cannot make every later valid message a duplicate.
    /// </summary>
    public long SequenceWindow { get; set; } = RiskEngine.DefaultSequenceWindow;

    /// <summary>Whether the last fill message applied changed a position (false when it was refused).</summary>
    public bool LastFillApplied { get; private set; }

    /// <summary>
    /// A mass cancel the last message called for — a market-maker protection tripped by a maker fill,
    /// or a kill switch turned on — until the owner takes it (<see cref="TakeMassCancel"/>).
    /// </summary>
    public bool HasMassCancel => _cancel.Reason != 0;

    /// <summary>Takes the pending mass cancel (<see cref="HasMassCancel"/>).</summary>
    public MassCancelRequest TakeMassCancel()
    {
        var c = _cancel;
        _cancel = default;
        return c;
    }

    private MassCancelRequest _cancel;

    // Accounts another shard owns (null when the engine is not sharded): one load per account message.
    private bool[]? _otherShard;

    /// <summary>The shard map this machine follows (<see cref="ShardMap.Single"/> until <see cref="AssignShard"/>).</summary>
    public ShardMap ShardMap { get; private set; } = ShardMap.Single;

    /// <summary>Which shard of <see cref="ShardMap"/> this machine is.</summary>
    public int ShardIndex { get; private set; }

    /// <summary>
    /// Makes this machine shard <paramref name="index"/> of <paramref name="map"/>: messages about
    /// accounts other shards own are refused (<see cref="FeedReject.OtherShard"/>) after their
    /// producer sequence is consumed — every shard reads the whole feed, so sequences stay
    /// contiguous and a redelivery is still an exact duplicate — and the gate refuses their orders.
    /// Call before the first message; a single-shard map changes nothing.
    /// </summary>
    public void AssignShard(ShardMap map, int index)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, map.Count);
        ShardMap = map;
        ShardIndex = index;
        if (map.Count == 1)
        {
            _otherShard = null;
            return;
        }

        _otherShard = new bool[_book.Config.MaxAccounts];
        for (int a = 0; a < _otherShard.Length; a++)
        {
            _otherShard[a] = map.ShardOf(a) != index;
            if (_otherShard[a])
            {
                _gate?.SetAccountOtherShard(a);
                if (_book.IsAccount(a))
                {
                    Release(a);
                }
            }
        }

        // What releasing queued (accounts leaving a margin state they started in) is not this
        // shard's to announce; its own accounts' states are announced by the owner as at any start.
        while (_book.TryDequeueTransition(out _))
        {
        }
    }

    /// <summary>
    /// Empties an account another shard owns out of the starting book (a book file or the generator
    /// hold every account): its positions are closed at their own average price — no P&amp;L — and
    /// its collateral set to zero, so it holds nothing here, is never revalued and never breaches
    /// here; its state lives on its owner.
    /// </summary>
    private void Release(int account)
    {
        for (int k = _book.PositionCount(account) - 1; k >= 0; k--)
        {
            int instrument = _book.PositionInstrumentAt(account, k);
            double q = _book.PositionQuantity(account, instrument);
            if (q != 0)
            {
                _book.ApplyFill(account, instrument, -q, _book.PositionAveragePrice(account, instrument));
            }
        }

        for (int x = 0; x < _book.Config.MaxAssets; x++)
        {
            if (_book.CollateralBalance(account, x) != 0)
            {
                _book.SetCollateral(account, x, 0);
            }
        }
    }

    /// <summary>Whether this machine's shard owns <paramref name="account"/> (true for every id when not sharded; an unknown id is left to the book to refuse).</summary>
    public bool Owns(int account) => _otherShard is null || (uint)account >= (uint)_otherShard.Length || !_otherShard[account];

    /// <summary>The last producer sequence accepted from <paramref name="producer"/> in its current epoch (what makes replays idempotent).</summary>
    public long LastProducerSequence(int producer) => _lastSequence[producer];

    /// <summary>The epoch (session) of <paramref name="producer"/> the machine follows.</summary>
    public uint ProducerEpoch(int producer) => _epoch[producer];

    /// <summary>Walks the producer sequences and epochs (the book and gate are walked by their owner).</summary>
    public void VisitSequences(Core.Persistence.StateVisitor visitor)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        visitor.Array(_lastSequence);
        visitor.Array(_epoch);
    }

    /// <summary>
    /// Applies one feed message (validated, sequence-checked, dispatched) and says what followed;
    /// <paramref name="replaying"/> counts it as replayed rather than live. Never throws on input.
    /// </summary>
    public FeedEffect Apply(ReadOnlySpan<byte> p, bool replaying = false)
    {
        if (replaying)
        {
            Counters.ReplayedEvents++;
        }
        else
        {
            Counters.Events++;
        }

        if (p.Length < FeedMessageDescriptor.PayloadSize)
        {
            ThrowShort(p.Length); // rings and the journal always hand over whole payloads: this is a caller's bug, not input
        }

        ref readonly var h = ref FeedMessageDescriptor.Header(p);
        byte type = (byte)h.Type;
        if (h.Version != FeedMessageDescriptor.Version)
        {
            Reject(FeedReject.BadVersion);
            return default;
        }

        int producer = h.ProducerId;
        if (producer >= FeedMessageDescriptor.MaxProducers)
        {
            Reject(FeedReject.BadProducer);
            return default;
        }

        if ((type is < (byte)FeedMessageType.IndexPrice or > (byte)FeedMessageType.FundingRate) && type != (byte)FeedMessageType.ScenarioCalibration)
        {
            Reject(FeedReject.UnknownType);
            return default;
        }

        // Sequences are checked per producer and epoch, before anything changes: a newer epoch is a
        // restarted producer (its sequence starts again from 1), an older one a stale session; a
        // jump beyond the window is refused without being adopted.
        uint epoch = h.ProducerEpoch;
        long sequence = h.ProducerSequence;
        if (epoch < _epoch[producer])
        {
            Reject(FeedReject.StaleEpoch);
            return default;
        }

        bool newEpoch = epoch != _epoch[producer];
        long last = newEpoch ? 0 : _lastSequence[producer];
        if (sequence <= last)
        {
            Reject(FeedReject.Duplicate);
            return default;
        }

        // A new epoch is followed only from its sequence 1 (how a restarted producer begins): a
        // corrupt epoch on an otherwise ordinary message is refused, not adopted, or it would make
        // every later message of the real session stale.
        if (sequence - last > SequenceWindow || (newEpoch && sequence != 1))
        {
            Reject(FeedReject.SequenceJump);
            return default;
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
        if (_otherShard is not null && !OwnsAccountsOf(p))
        {
            Counters.EventsByType[type]++;
            Reject(FeedReject.OtherShard);
            return new FeedEffect((FeedMessageType)type, h.TimestampNanos, h.PublishTicks, false, -1);
        }

        long timestamp = h.TimestampNanos;
        long publishTicks = h.PublishTicks;
        if (_gate is not null && timestamp >= _gate.NextDayStart)
        {
            // A new business day on the feed's clock: the daily loss limit counts from here (one pass
            // over the accounts, once a day), before this message applies.
            _gate.RollDay(timestamp);
        }

        bool ladder = false;
        int marked = -1;
        Counters.EventsByType[type]++;
        switch ((FeedMessageType)type)
        {
            case FeedMessageType.IndexPrice:
                ref readonly var index = ref WireMessage.Read<IndexPriceMessage>(p);
                Mark(_book.UpdateIndex(index.Underlying, index.Price, timestamp));
                marked = index.Underlying;
                break;
            case FeedMessageType.OptionMark:
                ref readonly var mark = ref WireMessage.Read<OptionMarkMessage>(p);
                Mark(_book.UpdateVolatility(mark.Instrument, mark.Volatility));
                marked = _book.IsInstrument(mark.Instrument) ? _book.Instrument(mark.Instrument).Underlying : -1;
                break;
            case FeedMessageType.Fill:
                ref readonly var f = ref WireMessage.Read<FillMessage>(p);
                var fill = _book.ApplyFill(f.Account, f.Instrument, f.Quantity, f.Price);
                LastFillApplied = fill == FillResult.Applied;
                if (LastFillApplied && (f.Flags & FillMessage.Maker) != 0 && _gate is { Mmp.Count: > 0 })
                {
                    MakerFill(f.Account, f.Instrument, f.Quantity, timestamp);
                }

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

                ladder = true;
                break;
            case FeedMessageType.OrderLifecycle:
                ApplyLifecycle(WireMessage.Read<OrderLifecycleMessage>(p), timestamp);
                break;
            case FeedMessageType.Collateral:
                ref readonly var c = ref WireMessage.Read<CollateralMessage>(p);
                if (!double.IsFinite(c.Balance))
                {
                    Reject(FeedReject.InvalidValue);
                }
                else if (!_book.SetCollateral(c.Account, c.Asset, c.Balance))
                {
                    Reject(FeedReject.UnknownId);
                }

                ladder = true;
                break;
            case FeedMessageType.KillSwitch:
                ApplyKillSwitch(WireMessage.Read<KillSwitchMessage>(p));
                break;
            case FeedMessageType.InstrumentDefinition:
                ref readonly var d = ref WireMessage.Read<InstrumentDefinitionMessage>(p);
                if (_book.TryDefineInstrument(d.Instrument, d.ToSpec()) != DefinitionResult.Defined)
                {
                    Reject(FeedReject.InvalidDefinition);
                }

                break;
            case FeedMessageType.LimitChange:
                ApplyLimit(WireMessage.Read<LimitChangeMessage>(p));
                break;
            case FeedMessageType.MarginMode:
                ref readonly var m = ref WireMessage.Read<MarginModeMessage>(p);
                var mode = _book.SetMarginMode(m.Account, m.Mode, m.Parent, m.Instrument);
                if (mode is ModeChangeResult.RejectedUnknownId)
                {
                    Reject(FeedReject.UnknownId);
                }
                else if (mode is not (ModeChangeResult.Changed or ModeChangeResult.Unchanged))
                {
                    Reject(FeedReject.ModeRefused);
                }

                ladder = true;
                break;
            case FeedMessageType.CollateralTransfer:
                ref readonly var t = ref WireMessage.Read<CollateralTransferMessage>(p);
                var transfer = _book.TransferCollateral(t.FromAccount, t.ToAccount, t.Asset, t.Amount);
                if (transfer != TransferResult.Applied)
                {
                    Reject(transfer switch { TransferResult.RejectedUnknownId => FeedReject.UnknownId, TransferResult.RejectedInvalid => FeedReject.InvalidValue, _ => FeedReject.TransferRefused });
                }

                ladder = true;
                break;
            case FeedMessageType.MmpConfig:
                ApplyMmp(WireMessage.Read<MmpConfigMessage>(p));
                break;
            case FeedMessageType.ScenarioCalibration:
                ref readonly var calibration = ref WireMessage.Read<ScenarioCalibrationMessage>(p);
                if (!_book.IsUnderlying(calibration.Underlying))
                {
                    Reject(FeedReject.UnknownId);
                }
                else if (_book.SetScenarioCalibration(calibration.Underlying, calibration.ToParameters()) is not null)
                {
                    Reject(FeedReject.InvalidValue); // a field out of range, or a range that takes a row's price to zero
                }
                else
                {
                    marked = calibration.Underlying; // revalued like a vol tick: every holder re-margined
                }

                break;
            case FeedMessageType.FundingRate:
                ref readonly var funding = ref WireMessage.Read<FundingRateMessage>(p);
                // The funding time may not lie more than one interval past the message's business
                // time: a far-future time would be accepted once and then refuse every real event
                // of the instrument as "not after the last".
                var paid = funding.IntervalNanos is > 0 and <= MaxFundingIntervalNanos && funding.FundingTimeNanos > 0
                    && funding.FundingTimeNanos - timestamp <= funding.IntervalNanos
                    ? _book.BeginFunding(funding.Instrument, funding.Rate, funding.FundingTimeNanos)
                    : FundingResult.InvalidRate;
                if (paid != FundingResult.Applied)
                {
                    Reject(paid switch { FundingResult.UnknownInstrument => FeedReject.UnknownId, FundingResult.NotAfterLast => FeedReject.OutOfOrder, _ => FeedReject.InvalidValue });
                }
                else if (replaying)
                {
                    // A replay settles at once (the payments were fixed from the same positions, so
                    // the amounts are the live ones whatever steps the live engine took).
                    Counters.FundingEvents++;
                    _book.ContinueFunding(int.MaxValue);
                    Counters.FundingPayments = _book.FundingPayments;
                    Counters.FundingPaid = _book.FundingPaid;
                    ladder = true;
                }
                else
                {
                    Counters.FundingEvents++; // settled in steps by the revaluation scheduler
                }

                break;
            case FeedMessageType.SizeAddOn:
                ref readonly var addOn = ref WireMessage.Read<SizeAddOnMessage>(p);
                if (!_book.IsUnderlying(addOn.Underlying))
                {
                    Reject(FeedReject.UnknownId);
                }
                else if (!_book.SetSizeAddOn(addOn.Underlying, addOn.BaseRate, addOn.BandScale, addOn.ShockThreshold, addOn.ShockFullAt, addOn.MaxShock, addOn.VegaRate, addOn.Combine))
                {
                    Reject(FeedReject.InvalidValue); // no add-on configured for it, or a value out of range
                }
                else
                {
                    marked = addOn.Underlying; // revalued like a vol tick: every holder re-margined
                }

                break;
            default: // heartbeat
                break;
        }

        return new FeedEffect((FeedMessageType)type, timestamp, publishTicks, ladder, marked);
    }

    /// <summary>Whether every account <paramref name="p"/> is about belongs to this shard (true for market and parameter messages).</summary>
    private bool OwnsAccountsOf(ReadOnlySpan<byte> p)
    {
        int n = ShardMap.AccountsOf(p, out int first, out int second);
        return n == 0 || (Owns(first) && (n == 1 || Owns(second)));
    }

    private void ApplyLifecycle(in OrderLifecycleMessage m, long timestamp)
    {
        int account = m.Account;
        if (_gate is null || !_book.IsAccount(account))
        {
            Reject(FeedReject.UnknownId);
            return;
        }

        double filled = m.FilledQuantity;
        bool known = m.Event switch
        {
            OrderLifecycleEvent.Filled => double.IsFinite(filled) && filled > 0 && _gate.OnOrderFilled(account, m.ClientOrderId, filled, timestamp),
            OrderLifecycleEvent.Cancelled or OrderLifecycleEvent.Expired => _gate.OnOrderEnded(account, m.ClientOrderId, timestamp),
            _ => false,
        };
        if (!known)
        {
            Reject(m.Event is OrderLifecycleEvent.Filled or OrderLifecycleEvent.Cancelled or OrderLifecycleEvent.Expired ? FeedReject.UnknownOrder : FeedReject.InvalidValue);
        }
    }

    /// <summary>Counts a maker fill against the account's protection in the instrument's underlying; a trip calls for a mass cancel of its protected quotes.</summary>
    private void MakerFill(int account, int instrument, double quantity, long timestamp)
    {
        int u = _book.Instrument(instrument).Underlying;
        var trip = _gate!.Mmp.OnMakerFill(account, u, quantity, quantity * _book.InstrumentDelta(instrument), quantity * _book.InstrumentVega(instrument), timestamp, out long frozenUntil);
        if (trip != MmpTrip.None)
        {
            Counters.MmpTrips++;
            _cancel = new MassCancelRequest(MassCancelReason.MarketMakerProtection, KillSwitchScope.Account, account, u, frozenUntil);
        }
    }

    private void ApplyMmp(in MmpConfigMessage m)
    {
        if (_gate is null || !_book.IsAccount(m.Account) || !_book.IsUnderlying(m.Underlying))
        {
            Reject(FeedReject.UnknownId);
            return;
        }

        var change = m.Action switch
        {
            MmpAction.Set => _gate.Mmp.Configure(m.Account, m.Underlying, new MmpSettings(m.IntervalNanos, m.FrozenNanos, m.QuantityLimit, m.DeltaLimit, m.VegaLimit)),
            MmpAction.Disable => _gate.Mmp.Disable(m.Account, m.Underlying),
            MmpAction.Reset => _gate.Mmp.Reset(m.Account, m.Underlying),
            _ => MmpChange.RejectedInvalid,
        };
        switch (change)
        {
            case MmpChange.Applied:
                break;
            case MmpChange.RejectedCapacity:
                Reject(FeedReject.PositionCapacity);
                break;
            case MmpChange.RejectedUnknown:
                Reject(FeedReject.UnknownId);
                break;
            default:
                Reject(FeedReject.InvalidValue);
                break;
        }
    }

    private void ApplyKillSwitch(in KillSwitchMessage m)
    {
        bool on = m.On != 0;
        int id = m.Id;
        if (_gate is null)
        {
            Reject(FeedReject.UnknownId);
            return;
        }

        switch (m.Scope)
        {
            case KillSwitchScope.Venue:
                _gate.VenueKillSwitch = on;
                break;
            case KillSwitchScope.Underlying when _book.IsUnderlying(id):
                _gate.SetUnderlyingKillSwitch(id, on);
                break;
            case KillSwitchScope.Account when _book.IsAccount(id):
                _gate.SetAccountKillSwitch(id, on);
                break;
            default:
                Reject(FeedReject.UnknownId);
                return;
        }

        if (on)
        {
            // Refusing new orders is not enough: the resting ones go too (every one in the scope).
            _cancel = new MassCancelRequest(MassCancelReason.KillSwitch, m.Scope, m.Scope == KillSwitchScope.Account ? id : -1, m.Scope == KillSwitchScope.Underlying ? id : -1, 0);
        }
    }

    private void ApplyLimit(in LimitChangeMessage m)
    {
        var scope = m.Scope;
        var field = m.Field;
        int id = m.Id;
        double v = m.Value;
        if (_gate is null || !(scope == LimitScope.Instrument ? _book.IsInstrument(id) : scope is LimitScope.Account or LimitScope.AccountUnderlying && _book.IsAccount(id))
            || (scope == LimitScope.AccountUnderlying && !_book.IsUnderlying(m.Underlying)))
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
            case (LimitScope.Account, LimitField.MaxOpenOrders) when GateConfig.IsOrderCount(v): _gate.SetAccountMaxOpenOrders(id, v); break;
            case (LimitScope.Account, LimitField.DailyLossLimit): _gate.SetAccountDailyLossLimit(id, v); break;
            case (LimitScope.AccountUnderlying, LimitField.MaxOrderNotionalOrUnderlyingPosition): _gate.SetAccountUnderlyingPositionLimit(id, m.Underlying, v); break;
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

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowShort(int length) =>
        throw new ArgumentOutOfRangeException(nameof(length), length, $"a feed payload is {FeedMessageDescriptor.PayloadSize} bytes");
}

/// <summary>A mass cancel the feed called for (<see cref="FeedStateMachine.TakeMassCancel"/>): why, its scope, and for a market-maker protection until when it is frozen.</summary>
public readonly record struct MassCancelRequest(MassCancelReason Reason, KillSwitchScope Scope, int Account, int Underlying, long FrozenUntilNanos);
