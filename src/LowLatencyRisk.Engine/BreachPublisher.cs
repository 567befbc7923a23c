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

    /// <summary>Creates the publisher of <paramref name="book"/>'s transitions onto <paramref name="ring"/> (null: offline).</summary>
    public BreachPublisher(RiskBook book, PreTradeGate? gate, EngineCounters counters, IRingProducer? ring)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(counters);
        _book = book;
        _gate = gate;
        _ring = ring;
        Counters = counters;
        _pending = new PendingBreach[book.Config.MaxAccounts];
        _order = new WaitingAccounts(book.Config.MaxAccounts);
    }

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
    }

    /// <summary>
    /// Takes every transition waiting in the book, stamped with the business time and publish ticks
    /// of what caused it, and sends what fits; <paramref name="discard"/> drops them instead (a
    /// replay of history whose breaches were published before).
    /// </summary>
    public void Drain(long timestamp, long publishTicks, BreachCause cause, bool discard = false)
    {
        while (_book.TryDequeueTransition(out var t))
        {
            if (!discard)
            {
                Queue(t, timestamp, publishTicks, cause, counted: true);
            }
        }

        Flush();
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
        if (_order.TryEnqueue(a))
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

    /// <summary>Publishes waiting breaches while the ring has room; risk-off while any is left.</summary>
    public void Flush()
    {
        if (_ring is null)
        {
            Counters.PendingBreaches = _order.Count;
            return;
        }

        while (_order.TryPeek(out int account))
        {
            if (!_ring.TryClaim(1, out long slot))
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

                Counters.PendingBreaches = _order.Count;
                return;
            }

            ref var message = ref WireMessage.As<BreachMessage>(_ring.Payload(slot));
            Write(ref message, _pending[account], ++_breachSequence);
            message.PublishTicks = MonotonicClock.Now();
            _ring.Publish(slot);
            _order.Dequeue();
            Counters.BreachesPublished++;
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
        m.Candidates[0] = new BreachCandidate { Instrument = b.C0.Instrument, Quantity = b.C0.Quantity };
        m.Candidates[1] = new BreachCandidate { Instrument = b.C1.Instrument, Quantity = b.C1.Quantity };
        m.Candidates[2] = new BreachCandidate { Instrument = b.C2.Instrument, Quantity = b.C2.Quantity };
    }

    private readonly record struct PendingBreach(MarginTransition Transition, long Timestamp, long PublishTicks, BreachCause Cause, MarginMode Mode, int CandidateCount,
        LiquidationCandidate C0, LiquidationCandidate C1, LiquidationCandidate C2);
}
