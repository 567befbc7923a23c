using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine;

/// <summary>
/// Margin transitions out: turns the book's transitions into breach messages on the breach ring,
/// and never blocks on the reader and never drops one. A breach that finds the ring full waits in a
/// preallocated slot of its account, the gate goes risk-off (only risk-reducing orders pass) and the
/// alarm counter moves; waiting breaches go out, in the order their accounts first changed, as room
/// appears. Later changes of a waiting account fold into its breach (first from-state, latest state
/// and numbers, how many it replaced), so the wait cannot overflow and the reader's last message per
/// account is always the account's current state.
/// </summary>
/// <remarks>
/// With <see cref="LiquidationOptions"/>, it also acts for accounts in liquidation: it sizes their
/// next liquidation order (<see cref="RiskBook{TMargin}.PlanLiquidation"/>) when an account enters
/// liquidation, when its previous order has filled and it is still in liquidation, and when an order
/// has waited longer than the timeout (business time); one order per account outstanding, published
/// after its account's breach as a <see cref="LiquidationOrderMessage"/> in the same waiting slot, so
/// it cannot be lost either (an unpublished order that is replaced is simply never sent). An order
/// ends when fills of its instrument in its direction have covered it, when it times out, or when
/// the account leaves liquidation. The plans are engine state (snapshotted; recomputed by a replay).
///
/// Without a ring (an offline engine: <c>llr replay</c>, tests of the decisions alone) breaches are
/// queued and folded exactly the same way and simply stay queued; the venue is not put risk-off,
/// since there is no venue. No allocation after construction.
/// </remarks>
public sealed class BreachPublisher
{
    private readonly RiskBook _book;
    private readonly PreTradeGate? _gate;
    private readonly IRingProducer? _ring;
    private readonly PendingBreach[] _pending; // by account
    private readonly WaitingAccounts _order;
    private readonly LiquidationCandidate[] _candidates = new LiquidationCandidate[BreachMessageDescriptor.MaxCandidates];
    private long _breachSequence;
    private bool _riskOff;
    private long _riskOffSince;
    private readonly LiquidationOptions? _liquidation;
    private readonly LiquidationPlan[] _plans; // by account: the outstanding order (Id 0: none)
    private readonly WaitingAccounts _planAges; // accounts with an outstanding order, oldest issue first (timeouts)
    private readonly int[] _deleveragedBy; // by account: 1 + the bankrupt account whose deleverage order it is the counterparty of (0: none)
    private int _busyCounterparties;       // entries of _deleveragedBy that are not 0
    private long _planSequence;
    private double _fund; // the insurance fund's balance (settlement currency)
    private readonly PendingCancel[] _cancels; // by account: a mass cancel waiting with the account's breach
    private readonly PendingCancel[] _scopeCancels; // venue and underlying kill switches' cancels, in order (one per scope and id)
    private int _scopeCancelCount;
    private long _cancelSequence;
    private readonly byte[] _record = new byte[FeedMessageDescriptor.PayloadSize];

    /// <summary>Creates the publisher of <paramref name="book"/>'s transitions onto <paramref name="ring"/> (null: offline).</summary>
    public BreachPublisher(RiskBook book, PreTradeGate? gate, EngineCounters counters, IRingProducer? ring, LiquidationOptions? liquidation = null)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(counters);
        _book = book;
        _gate = gate;
        _ring = ring;
        Counters = counters;
        _pending = new PendingBreach[book.Config.MaxAccounts];
        _order = new WaitingAccounts(book.Config.MaxAccounts);
        _liquidation = liquidation;
        _plans = new LiquidationPlan[liquidation is null ? 0 : book.Config.MaxAccounts];
        _planAges = new WaitingAccounts(liquidation is null ? 1 : book.Config.MaxAccounts);
        _deleveragedBy = new int[_plans.Length];
        _cancels = new PendingCancel[book.Config.MaxAccounts];
        _scopeCancels = new PendingCancel[book.Config.MaxUnderlyings + 1];
        _fund = liquidation?.InsuranceFund ?? 0;
        Counters.InsuranceFund = _fund;
    }

    /// <summary>The insurance fund's balance: its configured start, plus liquidation fees, less the deficits it paid.</summary>
    public double InsuranceFund => _fund;

    /// <summary>
    /// Where the engine journals each liquidation order it sizes, before publishing it (see
    /// <see cref="EngineRecords"/>); false when the journal cannot take it — the order is then not
    /// made (the engine halts). Null: no journal (nothing will be replayed).
    /// </summary>
    public RecordWriter? Records { get; set; }

    /// <summary>How liquidation orders are sized and when they expire (null: breaches only).</summary>
    public LiquidationOptions? Liquidation => _liquidation;

    /// <summary>The account's outstanding liquidation order and its id (false when none).</summary>
    public bool TryGetLiquidationOrder(int account, out long planId, out LiquidationOrder order, out double remaining) =>
        TryGetLiquidationOrder(account, out planId, out order, out remaining, out _);

    /// <summary>
    /// The account's outstanding order, its id and, for a deleverage order of the default waterfall,
    /// the counterparty (−1 for a liquidation order); false when none.
    /// </summary>
    public bool TryGetLiquidationOrder(int account, out long planId, out LiquidationOrder order, out double remaining, out int counterparty)
    {
        planId = 0;
        order = default;
        remaining = 0;
        counterparty = -1;
        if (_liquidation is null || (uint)account >= (uint)_plans.Length || _plans[account].Id == 0)
        {
            return false;
        }

        ref readonly var p = ref _plans[account];
        (planId, order, remaining, counterparty) = (p.Id, p.Order, p.Remaining, p.Deleverage ? p.Counterparty : -1);
        return true;
    }

    /// <summary>
    /// A fill was applied: if it trades the account's outstanding liquidation order's instrument in
    /// the order's direction, it covers that much of it (by whoever it was sent: a reducing order of
    /// the account's own does the same job), and when the matching engine marks it as the liquidation
    /// order's fill (<paramref name="liquidationFill"/>, <see cref="FillMessage.Liquidation"/>) the
    /// liquidation fee on what it covered — feeRate × quantity × fill price × multiplier — moves from
    /// the account to the insurance fund (none on a deleverage order, none on the account's own trade). Fully covered, the order ends and, if the account is still in liquidation
    /// at the next <see cref="Drain"/>, the next one is sized. A replay runs this exactly as the live
    /// engine did (the orders come back from the journal first), so the fund is replayed too.
    /// </summary>
    public void OnFill(int account, int instrument, double quantity, double price, bool liquidationFill)
    {
        if (_liquidation is null || (uint)account >= (uint)_plans.Length)
        {
            return;
        }

        int by = _busyCounterparties > 0 ? _deleveragedBy[account] - 1 : -1; // no read of the array on a fill while nothing is deleveraged
        if (by >= 0)
        {
            CoverCounterpartyLeg(by, instrument, quantity);
        }

        ref var p = ref _plans[account];
        if (p.Id == 0 || p.Order.Instrument != instrument || !(quantity * p.Remaining > 0))
        {
            return;
        }

        double covered = Math.Min(Math.Abs(quantity), Math.Abs(p.Remaining));
        if (p.Deleverage)
        {
            Counters.DeleveragedQuantity += covered;
        }
        else if (liquidationFill && _liquidation.Policy.FeeRate > 0)
        {
            double fee = _liquidation.Policy.FeeRate * _book.ContractNotional(instrument, covered, price);
            if (double.IsFinite(fee) && fee > 0 && _book.Settle(account, -fee))
            {
                _fund += fee;
                Counters.LiquidationFees += fee;
                Counters.InsuranceFund = _fund;
            }
        }

        double left = p.Remaining - quantity;
        p.Remaining = IsCovered(left, p.Remaining, p.Order.Quantity) ? 0 : left;
        TryEnd(account);
    }

    /// <summary>True when <paramref name="left"/> of an order of <paramref name="quantity"/> is nothing, or crossed zero from <paramref name="before"/>.</summary>
    private static bool IsCovered(double left, double before, double quantity) =>
        left * before <= 0 || Math.Abs(left) <= Math.Abs(quantity) * 1e-9;

    /// <summary>
    /// A fill of a deleverage order's counterparty: the other leg of the trade. The order is covered
    /// only when both legs are in — the matching engine may report them in either order, and until
    /// the counterparty's is applied its position still looks available to the next deleverage.
    /// </summary>
    private void CoverCounterpartyLeg(int bankrupt, int instrument, double quantity)
    {
        ref var p = ref _plans[bankrupt];
        if (p.Id == 0 || !p.Deleverage || p.Order.Instrument != instrument || !(quantity * p.CounterpartyRemaining > 0))
        {
            return;
        }

        double left = p.CounterpartyRemaining - quantity;
        p.CounterpartyRemaining = IsCovered(left, p.CounterpartyRemaining, p.Order.Quantity) ? 0 : left;
        TryEnd(bankrupt);
    }

    private void TryEnd(int account)
    {
        ref readonly var p = ref _plans[account];
        if (p.Remaining != 0 || p.CounterpartyRemaining != 0)
        {
            return;
        }

        EndPlan(account);
        Counters.LiquidationOrdersFilled++;
        _replan = account;
    }

    /// <summary>
    /// Ends the account's order unfilled (live: the account left liquidation, or it timed out),
    /// journaled so a replay ends it at the same point (<see cref="EngineRecords.LiquidationEnded"/>).
    /// </summary>
    private bool EndUnfilled(int account, long timestamp)
    {
        if (Records is { } records)
        {
            Array.Clear(_record);
            ref var r = ref WireMessage.As<PlanEndRecord>(_record);
            r.Type = EngineRecords.LiquidationEnded;
            r.Version = EngineRecords.Version;
            r.Account = account;
            r.PlanId = _plans[account].Id;
            r.TimestampNanos = timestamp;
            if (!records(_record))
            {
                return false; // not durable, so not done: the engine halts on its journal's failure
            }
        }

        EndPlan(account);
        Counters.LiquidationOrdersEnded++;
        return true;
    }

    private void MarkBusy(int counterparty, int bankrupt)
    {
        _busyCounterparties += _deleveragedBy[counterparty] == 0 ? 1 : 0;
        _deleveragedBy[counterparty] = bankrupt + 1;
    }

    /// <summary>Ends the account's order (its counterparty, if a deleverage order, is free for the next).</summary>
    private void EndPlan(int account)
    {
        ref var p = ref _plans[account];
        if (p.Deleverage && (uint)p.Counterparty < (uint)_deleveragedBy.Length && _deleveragedBy[p.Counterparty] == account + 1)
        {
            _deleveragedBy[p.Counterparty] = 0;
            _busyCounterparties--;
        }

        p = default;
    }

    private int _replan = -1;

    /// <summary>The counters written (state changes, breaches by state, published, coalesced, ring full, risk-off time).</summary>
    public EngineCounters Counters { get; }

    /// <summary>True while breaches wait for room on the breach ring (the gate is risk-off meanwhile).</summary>
    public bool IsRiskOff => _riskOff;

    /// <summary>Breaches waiting for room (or, offline, queued).</summary>
    public int Waiting => _order.Count;

    /// <summary>When set (the engine halted), the venue stays risk-off after the waiting breaches are out.</summary>
    public bool KeepVenueRiskOff { get; set; }

    /// <summary>Nanoseconds spent risk-off so far, the episode under way included.</summary>
    public long RiskOffNanos => Counters.RiskOffNanos + (_riskOff ? MonotonicClock.ToNanos(MonotonicClock.Now() - _riskOffSince) : 0);

    /// <summary>Walks the breach sequence and the waiting breaches (for a snapshot or a restore).</summary>
    public void VisitState(Core.Persistence.StateVisitor visitor)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        visitor.Value(ref _breachSequence);
        visitor.Array(_pending);
        _order.VisitState(visitor);
        visitor.Value(ref _planSequence);
        visitor.Array(_plans);
        _planAges.VisitState(visitor);
        visitor.Value(ref _fund);
        visitor.Array(_deleveragedBy);
        visitor.Value(ref _busyCounterparties);
        visitor.Array(_cancels);
        visitor.Array(_scopeCancels);
        visitor.Value(ref _scopeCancelCount);
        visitor.Value(ref _cancelSequence);
        Counters.InsuranceFund = _fund;
    }

    /// <summary>
    /// Takes every transition waiting in the book, stamped with the business time and publish ticks
    /// of what caused it, and sends what fits; <paramref name="discard"/> drops them instead (a
    /// replay of history whose breaches were published before).
    /// </summary>
    public void Drain(long timestamp, long publishTicks, BreachCause cause, bool discard = false)
    {
        DrainTransitions(timestamp, publishTicks, cause, discard);
        if (_liquidation is not null)
        {
            if (_replan >= 0)
            {
                int a = _replan;
                _replan = -1;
                if (_plans[a].Id == 0 && _book.State(a) == MarginState.Liquidation)
                {
                    Plan(a, timestamp, publishTicks, discard);
                }
            }

            Expire(timestamp, publishTicks, discard);
            DrainTransitions(timestamp, publishTicks, cause, discard); // the insurance fund's payments move ladders too
        }

        Flush();
    }

    private void DrainTransitions(long timestamp, long publishTicks, BreachCause cause, bool discard)
    {
        while (_book.TryDequeueTransition(out var t))
        {
            if (!discard)
            {
                Queue(t, timestamp, publishTicks, cause, counted: true);
            }

            if (_liquidation is not null)
            {
                OnTransition(t, timestamp, publishTicks, discard);
            }
        }
    }

    private void OnTransition(in MarginTransition t, long timestamp, long publishTicks, bool replaying)
    {
        int a = t.Account;
        if (replaying)
        {
            // A replay's ladder can take another path than the live one (it revalues at its end):
            // ending an order on it could leave an account the live engine still liquidates without
            // its order, and the next one sized beside it. Orders end by replayed fills and records.
            return;
        }

        if (t.To == MarginState.Liquidation)
        {
            if (_plans[a].Id == 0)
            {
                Plan(a, timestamp, publishTicks, replaying);
            }
        }
        else if (_plans[a].Id != 0 && !(_plans[a].Deleverage && _plans[a].Remaining == 0))
        {
            EndUnfilled(a, timestamp); // out of liquidation: the order's remainder is not needed
        }
        else if (_plans[a].Id != 0)
        {
            // A deleverage order whose own leg took the account out of liquidation: its counterparty's
            // leg is still to come, and covers it (until then the counterparty is not chosen again).
        }
        else
        {
            _plans[a].RetryNanos = 0; // nothing to retry
        }
    }

    /// <summary>
    /// Sizes the account's next order, journals it and queues it behind its breach. Replaying, no
    /// decision is taken: the orders the live engine made come back from the journal (<see cref="ApplyRecord"/>).
    /// </summary>
    private void Plan(int account, long timestamp, long publishTicks, bool replaying)
    {
        if (replaying)
        {
            return;
        }

        bool deleverage = false;
        int counterparty = -1;
        LiquidationOrder order;
        if (_book.Equity(account) < 0)
        {
            // Bankrupt: the default waterfall (the insurance fund, then auto-deleveraging).
            switch (Waterfall(account, timestamp, out order, out counterparty))
            {
                case WaterfallStep.Done:
                    return;
                case WaterfallStep.Deleverage:
                    deleverage = true;
                    break;
                case WaterfallStep.Liquidate when _book.State(account) != MarginState.Liquidation:
                    return; // the fund's payment took it out of liquidation
            }
        }
        else
        {
            order = default;
        }

        if (!deleverage && !_book.PlanLiquidation(account, _liquidation!.Policy, out order))
        {
            // Nothing helps now (every reduction worsens the gap: hedges, or band and fee above what
            // it frees). Tried again after the timeout, so an account that a later price makes
            // plannable is not forgotten.
            Counters.LiquidationUnplannable++;
            RetryLater(account, timestamp);
            return;
        }

        var plan = new LiquidationPlan
        {
            Id = _planSequence + 1, Order = order, Remaining = order.Quantity, IssuedNanos = timestamp, CauseTimestamp = timestamp, CausePublishTicks = publishTicks,
            Equity = _book.Equity(account), Queued = true, Deleverage = deleverage, Counterparty = counterparty,
            CounterpartyRemaining = deleverage ? -order.Quantity : 0,
        };
        if (Records is { } records && !records(Record(account, plan)))
        {
            return; // not durable, so not made: the engine halts on its journal's failure
        }

        _planSequence = plan.Id;
        _plans[account] = plan;
        if (deleverage)
        {
            MarkBusy(counterparty, account); // not chosen again until both legs are in
        }

        Counters.LiquidationOrdersPlanned++;
        Counters.DeleverageOrders += deleverage ? 1 : 0;
        _planAges.TryEnqueue(account); // false: still listed from an earlier order, in an older place (Expire stops there until this one is due)
        if (_order.TryEnqueue(account))
        {
            _pending[account] = default; // an order without a breach (the account was already in liquidation)
        }
    }

    private void RetryLater(int account, long timestamp)
    {
        _plans[account] = new LiquidationPlan { RetryNanos = timestamp };
        _planAges.TryEnqueue(account);
    }

    /// <summary>A deficit below this (settlement currency) is paid: rounding, not a loss.</summary>
    private const double DeficitTolerance = 1e-6;

    private enum WaterfallStep
    {
        Liquidate,  // the fund paid the deficit, or nobody can be deleveraged: liquidate as usual (if still in liquidation)
        Deleverage, // the fund could not: a deleverage order was chosen
        Done,       // nothing more now (tried again after the order timeout)
    }

    /// <summary>
    /// The default waterfall for a bankrupt account (equity &lt; 0 at the marks). First the insurance
    /// fund pays the deficit, as far as its balance goes (journaled before it moves, like an order);
    /// the account, back at zero equity, is then liquidated as usual, and a later deficit (the band
    /// and fee of closing it) is paid again. What the fund cannot pay is deleveraged: the account's
    /// heaviest position in the worst scenario is closed against the opposite side's highest-ranked
    /// holder (<see cref="RiskBook{TMargin}.FindDeleverageCounterparty"/>) at the bankruptcy price
    /// (<see cref="RiskBook{TMargin}.BankruptcyPrice(int, int, double, double)"/>), one counterparty per order — the next order
    /// follows the fill, at the same price while the marks stand. A position nobody holds the other
    /// side of is liquidated in the market like any other, its loss uncovered (counted). A flat account
    /// keeps its deficit (counted) and is tried again after the order timeout: fees paid into the fund
    /// meanwhile pay it.
    /// </summary>
    private WaterfallStep Waterfall(int account, long timestamp, out LiquidationOrder order, out int counterparty)
    {
        order = default;
        counterparty = -1;
        double deficit = -_book.Equity(account);
        if (_fund > 0)
        {
            double paid = Math.Min(deficit, _fund);
            if (Records is { } records && !records(FundRecord(account, paid, deficit, _fund - paid, timestamp)))
            {
                return WaterfallStep.Done; // not durable, so not paid: the engine halts on its journal's failure
            }

            Pay(account, paid);
            deficit -= paid;
        }

        if (!(deficit > DeficitTolerance))
        {
            return WaterfallStep.Liquidate;
        }

        int n = _book.RankForLiquidation(account, _candidates);
        int k = 0;
        while (k < n && _candidates[k].Quantity == 0)
        {
            k++;
        }

        if (k == n)
        {
            Counters.UncoveredDeficits++; // flat: nothing left to deleverage
            RetryLater(account, timestamp);
            return WaterfallStep.Done;
        }

        int instrument = _candidates[k].Instrument;
        double held = _candidates[k].Quantity;
        double price = _book.BankruptcyPrice(account, instrument, held, deficit);
        if (!double.IsFinite(price) || !_book.FindDeleverageCounterparty(instrument, held, account, out var other, _deleveragedBy))
        {
            Counters.UncoveredDeficits++; // nobody holds the other side: closed in the market like any account, the loss uncovered
            return WaterfallStep.Liquidate;
        }

        double quantity = Math.Min(Math.Abs(held), Math.Abs(other.Quantity));
        order = new LiquidationOrder(instrument, held > 0 ? -quantity : quantity, price, 0, RestoresTarget: false);
        counterparty = other.Account;
        return WaterfallStep.Deleverage;
    }

    private void Pay(int account, double paid)
    {
        _fund -= paid;
        _book.Settle(account, paid);
        Counters.DeficitsCovered++;
        Counters.DeficitCoveredAmount += paid;
        Counters.InsuranceFund = _fund;
    }

    private ReadOnlySpan<byte> FundRecord(int account, double paid, double deficit, double fundAfter, long timestamp)
    {
        Array.Clear(_record);
        ref var r = ref WireMessage.As<FundCoverRecord>(_record);
        r.Type = EngineRecords.FundCovered;
        r.Version = EngineRecords.Version;
        r.Account = account;
        r.Paid = paid;
        r.Deficit = deficit;
        r.FundAfter = fundAfter;
        r.TimestampNanos = timestamp;
        return _record;
    }

    private ReadOnlySpan<byte> Record(int account, in LiquidationPlan p)
    {
        Array.Clear(_record);
        ref var r = ref WireMessage.As<LiquidationPlanRecord>(_record);
        r.Type = EngineRecords.LiquidationPlanned;
        r.Version = EngineRecords.Version;
        r.RestoresTarget = p.Order.RestoresTarget ? (byte)1 : (byte)0;
        r.Account = account;
        r.PlanId = p.Id;
        r.Instrument = p.Order.Instrument;
        r.Quantity = p.Order.Quantity;
        r.LimitPrice = p.Order.LimitPrice;
        r.Fee = p.Order.Fee;
        r.Equity = p.Equity;
        r.IssuedNanos = p.IssuedNanos;
        r.CausePublishTicks = p.CausePublishTicks;
        r.Flags = p.Deleverage ? LiquidationOrderDescriptor.Deleverage : (byte)0;
        r.Counterparty = p.Deleverage ? p.Counterparty : -1;
        return _record;
    }

    /// <summary>
    /// Replay: restores a decision the live engine made (its journal record). A liquidation or
    /// deleverage order comes back with its id, replacing the account's previous one; fills replayed
    /// after it cover it as they did live, and an order the live engine ended unfilled is ended at the
    /// same point. A payment of the insurance fund is made again. Returns false
    /// (nothing changed) for a record this engine cannot hold: liquidation off, an unknown type,
    /// account or instrument, an id ≤ 0, a number that is not finite, a deleverage order without a
    /// counterparty, a payment that is negative or larger than the fund holds.
    /// </summary>
    public bool ApplyRecord(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < FeedMessageDescriptor.PayloadSize || _liquidation is null || payload[1] != EngineRecords.Version)
        {
            return false;
        }

        if (payload[0] == EngineRecords.LiquidationEnded)
        {
            ref readonly var e = ref WireMessage.Read<PlanEndRecord>(payload);
            if ((uint)e.Account >= (uint)_plans.Length || e.PlanId <= 0 || _plans[e.Account].Id != e.PlanId)
            {
                return false;
            }

            EndPlan(e.Account);
            Counters.LiquidationOrdersEnded++;
            return true;
        }

        if (payload[0] == EngineRecords.FundCovered)
        {
            ref readonly var f = ref WireMessage.Read<FundCoverRecord>(payload);
            if ((uint)f.Account >= (uint)_plans.Length || !(f.Paid >= 0) || !(f.Paid <= _fund + DeficitTolerance) || !double.IsFinite(f.Paid))
            {
                return false;
            }

            Pay(f.Account, Math.Min(f.Paid, _fund));
            return true;
        }

        ref readonly var r = ref WireMessage.Read<LiquidationPlanRecord>(payload);
        bool deleverage = (r.Flags & LiquidationOrderDescriptor.Deleverage) != 0;
        if (r.Type != EngineRecords.LiquidationPlanned || (uint)r.Account >= (uint)_plans.Length || r.PlanId <= 0
            || !_book.IsInstrument(r.Instrument) || !double.IsFinite(r.Quantity) || r.Quantity == 0 || !(r.LimitPrice > 0) || !double.IsFinite(r.LimitPrice) || !double.IsFinite(r.Fee)
            || (deleverage && ((uint)r.Counterparty >= (uint)_plans.Length || r.Counterparty == r.Account)))
        {
            return false;
        }

        EndPlan(r.Account);
        _plans[r.Account] = new LiquidationPlan
        {
            Id = r.PlanId, Order = new LiquidationOrder(r.Instrument, r.Quantity, r.LimitPrice, r.Fee, r.RestoresTarget != 0), Remaining = r.Quantity,
            IssuedNanos = r.IssuedNanos, CauseTimestamp = r.IssuedNanos, CausePublishTicks = r.CausePublishTicks, Equity = r.Equity,
            Deleverage = deleverage, Counterparty = deleverage ? r.Counterparty : -1, CounterpartyRemaining = deleverage ? -r.Quantity : 0,
        };
        if (deleverage)
        {
            MarkBusy(r.Counterparty, r.Account);
        }

        _planSequence = Math.Max(_planSequence, r.PlanId);
        _planAges.TryEnqueue(r.Account);
        return true;
    }

    /// <summary>Ends orders outstanding longer than the timeout and sizes their successors; O(1) when none is due.</summary>
    private void Expire(long now, long publishTicks, bool replaying)
    {
        if (replaying)
        {
            return; // the live engine's timeouts come back as its next orders' records
        }

        long timeout = _liquidation!.OrderTimeoutNanos;
        for (int guard = _planAges.Count; guard > 0 && _planAges.TryPeek(out int a); guard--)
        {
            ref var p = ref _plans[a];
            bool retry = p.Id == 0 && p.RetryNanos != 0;
            if (p.Id == 0 && !retry)
            {
                _planAges.Dequeue(); // ended by its fills or the ladder
                continue;
            }

            if (now - (retry ? p.RetryNanos : p.IssuedNanos) < timeout)
            {
                return;
            }

            _planAges.Dequeue();
            if (retry)
            {
                p = default;
            }
            else if (!EndUnfilled(a, now))
            {
                return;
            }

            if (_book.State(a) == MarginState.Liquidation)
            {
                Plan(a, now, publishTicks, replaying);
            }
        }
    }

    /// <summary>
    /// Queues one breach per account that is not healthy (from = to = its state, cause
    /// <see cref="BreachCause.Recovery"/>), so a reader learns the ladder as recovered even if
    /// breaches were lost with a crash; returns how many.
    /// </summary>
    public int AnnounceLadder()
    {
        int announced = 0;
        for (int a = 0; a < _book.Config.MaxAccounts; a++)
        {
            var state = _book.State(a);
            if (state != MarginState.Healthy)
            {
                var t = new MarginTransition(a, state, state, _book.Equity(a), _book.InitialMargin(a), _book.MaintenanceMargin(a));
                Queue(t, _book.NowNanos, 0, BreachCause.Recovery, counted: false);
                announced++;
                if (_liquidation is not null && _plans[a].Id != 0)
                {
                    _plans[a].Queued = true; // the liquidator sends it only if it never did (its id is the key)
                    _plans[a].Reannounced = true;
                }
                else if (_liquidation is not null && state == MarginState.Liquidation)
                {
                    Plan(a, _book.NowNanos, 0, replaying: false); // in liquidation without an order (a file book, or before any was made)
                }
            }
        }

        Flush();
        return announced;
    }

    /// <summary>
    /// Queues a breach for <paramref name="t"/>'s account, or folds it into the one already waiting
    /// for that account (its first from-state, the latest state and numbers, the count replaced).
    /// One slot per account: nothing can be dropped, whatever the outage of the reader.
    /// </summary>
    private void Queue(in MarginTransition t, long timestamp, long publishTicks, BreachCause cause, bool counted)
    {
        if (counted)
        {
            Counters.StateChanges += 1 + t.Replaced;
            Counters.BreachesByState[(int)t.To]++;
        }

        int a = t.Account;
        ref var slot = ref _pending[a];
        MarginTransition merged = t;
        if (_order.TryEnqueue(a) || !slot.HasBreach)
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
        // What the account's working orders would add rides on every breach, at the same valuation as
        // its numbers (0 at once without working orders; otherwise one scan per underlying it has
        // orders in, off the fill path: breaches are rare).
        slot = new PendingBreach(merged, timestamp, publishTicks, cause, _book.Mode(a), n,
            n > 0 ? _candidates[0] : default, n > 1 ? _candidates[1] : default, n > 2 ? _candidates[2] : default, _book.OpenOrderMargin(a), HasBreach: true);
    }

    /// <summary>
    /// Queues a mass cancel the feed called for (a market-maker protection trip, a kill switch turned
    /// on) and publishes what fits. An account's cancel waits in the account's slot with its breach
    /// and order (a second one before it is out merges: a kill switch's covers a protection's, two
    /// underlyings become all); a venue's or an underlying's waits in a short queue, one per scope and
    /// id. Nothing is dropped; cancelling twice is harmless, so none is de-duplicated downstream.
    /// </summary>
    public void QueueMassCancel(in MassCancelRequest request, long timestamp, long publishTicks)
    {
        var c = new PendingCancel
        {
            Pending = true, Reason = request.Reason, Scope = request.Scope, Account = request.Account, Underlying = request.Underlying,
            FrozenUntil = request.FrozenUntilNanos, Timestamp = timestamp, PublishTicks = publishTicks,
        };
        if (request.Scope == KillSwitchScope.Account)
        {
            int a = request.Account;
            if ((uint)a >= (uint)_cancels.Length)
            {
                return;
            }

            ref var slot = ref _cancels[a];
            if (slot.Pending)
            {
                bool kill = slot.Reason == MassCancelReason.KillSwitch || c.Reason == MassCancelReason.KillSwitch;
                c.Reason = kill ? MassCancelReason.KillSwitch : c.Reason;
                c.Underlying = kill || slot.Underlying != c.Underlying ? -1 : c.Underlying;
                c.FrozenUntil = kill ? 0 : Math.Max(slot.FrozenUntil, c.FrozenUntil);
            }

            slot = c;
            if (_order.TryEnqueue(a))
            {
                _pending[a] = default; // a cancel without a breach
            }
        }
        else
        {
            for (int k = 0; k < _scopeCancelCount; k++)
            {
                if (_scopeCancels[k].Scope == c.Scope && _scopeCancels[k].Underlying == c.Underlying)
                {
                    return; // the same cancel is already waiting
                }
            }

            _scopeCancels[_scopeCancelCount++] = c; // room for the venue and every underlying, each at most once
        }

        Flush();
    }

    /// <summary>Publishes waiting breaches while the ring has room; risk-off while any is left.</summary>
    public void Flush()
    {
        if (_ring is null)
        {
            Counters.PendingBreaches = _order.Count;
            return;
        }

        while (_scopeCancelCount > 0)
        {
            if (!_ring.TryClaim(1, out long slot))
            {
                GoRiskOff();
                return;
            }

            WriteCancel(ref WireMessage.As<MassCancelMessage>(_ring.Payload(slot)), _scopeCancels[0], ++_cancelSequence);
            _ring.Publish(slot);
            Counters.MassCancelsPublished++;
            _scopeCancelCount--;
            Array.Copy(_scopeCancels, 1, _scopeCancels, 0, _scopeCancelCount); // a handful at most
            _scopeCancels[_scopeCancelCount] = default;
        }

        while (_order.TryPeek(out int account))
        {
            ref readonly var pending = ref _pending[account];
            bool order = _plans.Length > 0 && _plans[account].Queued && _plans[account].Id != 0;
            bool cancel = _cancels[account].Pending;
            int need = (pending.HasBreach ? 1 : 0) + (order ? 1 : 0) + (cancel ? 1 : 0);
            if (need == 0)
            {
                _order.Dequeue(); // its order ended before it was sent
                continue;
            }

            if (!_ring.TryClaim(need, out long first))
            {
                GoRiskOff();
                return;
            }

            if (pending.HasBreach)
            {
                ref var message = ref WireMessage.As<BreachMessage>(_ring.Payload(first));
                Write(ref message, pending, ++_breachSequence);
                message.PublishTicks = MonotonicClock.Now();
                Counters.BreachesPublished++;
            }

            if (cancel)
            {
                // Right behind the breach: the quotes go before anything else is done for the account.
                WriteCancel(ref WireMessage.As<MassCancelMessage>(_ring.Payload(first + (pending.HasBreach ? 1 : 0))), _cancels[account], ++_cancelSequence);
                _cancels[account] = default;
                Counters.MassCancelsPublished++;
            }

            if (order)
            {
                ref var p = ref _plans[account];
                WriteOrder(ref WireMessage.As<LiquidationOrderMessage>(_ring.Payload(first + need - 1)), account, p, _book.Mode(account));
                p.Queued = false;
                p.Reannounced = false;
                Counters.LiquidationOrdersPublished++;
            }

            for (long k = first; k < first + need; k++)
            {
                _ring.Publish(k); // a single-producer ring: never abandoned
            }

            _pending[account] = default;
            _order.Dequeue();
        }

        Counters.PendingBreaches = 0;
        if (_riskOff)
        {
            _riskOff = false;
            Counters.RiskOffNanos += MonotonicClock.ToNanos(MonotonicClock.Now() - _riskOffSince);
            if (_gate is not null && !KeepVenueRiskOff) // a halted engine keeps the venue risk-off
            {
                _gate.VenueRiskOff = false;
            }
        }
    }

    /// <summary>The reader is behind: the venue goes risk-off (only risk-reducing orders pass) until every waiting breach is out, and the time spent so is counted.</summary>
    private void GoRiskOff()
    {
        if (!_riskOff)
        {
            _riskOff = true;
            _riskOffSince = MonotonicClock.Now();
            Counters.BreachRingFull++;
            if (_gate is not null)
            {
                _gate.VenueRiskOff = true;
            }
        }

        Counters.PendingBreaches = _order.Count + _scopeCancelCount;
    }

    private static void WriteCancel(ref MassCancelMessage m, in PendingCancel c, long sequence)
    {
        m = default;
        m.Type = MassCancelDescriptor.MessageType;
        m.Version = MassCancelDescriptor.Version;
        m.Reason = c.Reason;
        m.Scope = c.Scope;
        m.Account = c.Scope == KillSwitchScope.Account ? c.Account : -1;
        m.CancelSequence = sequence;
        m.Underlying = c.Underlying;
        m.TimestampNanos = c.Timestamp;
        m.SourcePublishTicks = c.PublishTicks;
        m.FrozenUntilNanos = c.FrozenUntil;
        m.PublishTicks = MonotonicClock.Now();
    }

    private static void Write(ref BreachMessage m, in PendingBreach b, long sequence)
    {
        m = default;
        m.Type = BreachMessageDescriptor.MessageType;
        m.Version = BreachMessageDescriptor.Version;
        m.FromState = b.Transition.From;
        m.ToState = b.Transition.To;
        m.Account = b.Transition.Account;
        m.BreachSequence = sequence;
        m.TimestampNanos = b.Timestamp;
        m.SourcePublishTicks = b.PublishTicks;
        m.Equity = b.Transition.Equity;
        m.InitialMargin = b.Transition.InitialMargin;
        m.MaintenanceMargin = b.Transition.MaintenanceMargin;
        m.CandidateCount = (byte)b.CandidateCount;
        m.Cause = b.Cause;
        m.MarginMode = b.Mode;
        m.Replaced = b.Transition.Replaced;
        m.CandidateQuantities[0] = b.C0.Quantity;
        m.CandidateQuantities[1] = b.C1.Quantity;
        m.CandidateQuantities[2] = b.C2.Quantity;
        m.CandidateInstruments[0] = b.C0.Instrument;
        m.CandidateInstruments[1] = b.C1.Instrument;
        m.CandidateInstruments[2] = b.C2.Instrument;
        m.OpenOrderMargin = b.OpenOrderMargin;
    }

    private static void WriteOrder(ref LiquidationOrderMessage m, int account, in LiquidationPlan p, MarginMode mode)
    {
        m = default;
        m.Type = LiquidationOrderDescriptor.MessageType;
        m.Version = LiquidationOrderDescriptor.Version;
        m.Side = p.Order.Quantity < 0 ? OrderSide.Sell : OrderSide.Buy;
        m.Flags = (byte)((p.Order.RestoresTarget ? LiquidationOrderDescriptor.RestoresTarget : 0) | (p.Reannounced ? LiquidationOrderDescriptor.Reannounced : 0)
            | (p.Deleverage ? LiquidationOrderDescriptor.Deleverage : 0));
        m.Account = account;
        m.PlanId = p.Id;
        m.Instrument = p.Order.Instrument;
        m.MarginMode = mode;
        m.Quantity = Math.Abs(p.Remaining);
        m.LimitPrice = p.Order.LimitPrice;
        m.Fee = p.Order.Fee * (Math.Abs(p.Remaining) / Math.Abs(p.Order.Quantity));
        m.Equity = p.Equity;
        m.TimestampNanos = p.CauseTimestamp;
        m.SourcePublishTicks = p.CausePublishTicks;
        m.PublishTicks = MonotonicClock.Now();
        m.Counterparty = p.Deleverage ? p.Counterparty : -1;
    }

    private readonly record struct PendingBreach(MarginTransition Transition, long Timestamp, long PublishTicks, BreachCause Cause, MarginMode Mode, int CandidateCount,
        LiquidationCandidate C0, LiquidationCandidate C1, LiquidationCandidate C2, double OpenOrderMargin, bool HasBreach);

    /// <summary>A mass cancel waiting for room.</summary>
    private struct PendingCancel
    {
        public bool Pending;
        public MassCancelReason Reason;
        public KillSwitchScope Scope;
        public int Account;
        public int Underlying;
        public long FrozenUntil;
        public long Timestamp;
        public long PublishTicks;
    }

    /// <summary>An account's outstanding liquidation order (Id 0: none).</summary>
    private struct LiquidationPlan
    {
        public long Id;
        public LiquidationOrder Order;
        public double Remaining;      // signed like the order; fills of its direction reduce it
        public long IssuedNanos;      // business time sized (timeouts)
        public long CauseTimestamp;
        public long CausePublishTicks;
        public double Equity;
        public bool Queued;           // to be published (behind the account's breach, if any)
        public bool Reannounced;      // after a restart: the liquidator sends it only if it never did
        public long RetryNanos;       // Id 0: when sizing found nothing to do (retried after the timeout); 0: none
        public bool Deleverage;       // a deleverage order of the default waterfall, against Counterparty at the bankruptcy price
        public int Counterparty;
        public double CounterpartyRemaining; // deleverage: the counterparty's leg not yet filled (signed as its fill)
    }
}

/// <summary>Writes one engine record (<see cref="EngineRecords"/>) to the journal; false when it cannot.</summary>
public delegate bool RecordWriter(ReadOnlySpan<byte> record);

/// <summary>
/// How the engine acts for accounts in liquidation: <paramref name="Policy"/> sizes and prices each
/// order; an order not covered by fills within <paramref name="OrderTimeoutNanos"/> of business time
/// ends and the next one is sized from the account as it then stands.
/// <paramref name="InsuranceFund"/> is the insurance fund's starting balance (settlement currency,
/// ≥ 0): it receives the liquidation fees and pays bankrupt accounts' deficits; what it cannot pay is
/// deleveraged (the default waterfall). A snapshot or journal replay restores its balance.
/// </summary>
public sealed record LiquidationOptions(LiquidationPolicy Policy, long OrderTimeoutNanos, double InsuranceFund = 0)
{
    /// <summary>The default policy, orders expiring after 5 s, a fund of 1,000,000 (the configuration's defaults).</summary>
    public static LiquidationOptions Default { get; } = new(LiquidationPolicy.Default, 5_000_000_000, 1_000_000);
}
