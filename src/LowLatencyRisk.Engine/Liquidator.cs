using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine;

/// <summary>A breach as read from the breach ring.</summary>
/// <remarks><paramref name="Replaced"/>: state changes of the account folded into this breach while it waited for room (it stands for 1 + Replaced changes). <paramref name="Mode"/>: the account's margin mode (isolated: the account is an isolated position).</remarks>
public readonly record struct BreachRecord(long Sequence, int Account, MarginState From, MarginState To, double Equity, double InitialMargin, double MaintenanceMargin, int Candidates, int TopInstrument, int Replaced = 0,
    MarginMode Mode = MarginMode.Portfolio)
{
    /// <summary>What the account's working orders would add to its initial margin if they filled (0 without working orders; not part of <see cref="InitialMargin"/>).</summary>
    public double OpenOrderMargin { get; init; }
}

/// <summary>A liquidation order as the liquidator handled it: <paramref name="Sent"/> false when it had sent that id before (a re-read or a re-announcement).</summary>
public readonly record struct LiquidationOrderRecord(long PlanId, int Account, int Instrument, double SignedQuantity, double LimitPrice, double Fee, bool Reannounced, bool Sent, int Counterparty = -1);

/// <summary>
/// The downstream reader of the breach ring (in production a separate liquidation process):
/// decodes breaches, measures feed-publish → breach-read latency, counts by state, and hands each
/// breach to an optional callback. With an order ring it acts: every liquidation order the engine
/// sized goes to the matching engine on that ring, exactly once per order id (the
/// <see cref="LiquidatorLedger"/>), and a full order ring holds the breach ring back (the message is
/// left unconsumed for the next poll: nothing is dropped, the engine goes risk-off if it lasts).
/// </summary>
public sealed class Liquidator : IAgent
{
    private readonly RingConsumer _breaches;
    private readonly IRingProducer? _orders;
    private readonly LiquidatorLedger? _ledger;
    private Handler _handler;

    /// <summary>
    /// Creates a liquidator over the breach ring's consumer; with <paramref name="orders"/> it sends
    /// the engine's liquidation orders there, de-duplicated by <paramref name="ledger"/> (required with it).
    /// </summary>
    public Liquidator(RingConsumer breaches, Action<BreachRecord>? onBreach = null, IRingProducer? orders = null, LiquidatorLedger? ledger = null, Action<LiquidationOrderRecord>? onOrder = null)
    {
        ArgumentNullException.ThrowIfNull(breaches);
        if (orders is not null && ledger is null)
        {
            throw new ArgumentNullException(nameof(ledger), "sending orders needs a ledger of what was sent");
        }

        _breaches = breaches;
        _orders = orders;
        _ledger = ledger;
        _handler = new Handler(this, onBreach, onOrder);
    }

    /// <summary>Liquidation orders read from the breach ring (re-reads and re-announcements included).</summary>
    public long OrdersRead { get; private set; }

    /// <summary>Liquidation orders put on the order ring.</summary>
    public long OrdersSent { get; private set; }

    /// <summary>Orders read whose id had been sent before (not sent again).</summary>
    public long OrdersAlreadySent { get; private set; }

    /// <summary>Times the order ring was full (the breach ring waited; nothing dropped).</summary>
    public long OrderRingFull { get; private set; }

    /// <summary>Orders refused and not forwarded: an account outside the ledger, an id ≤ 0, no side, a quantity or limit that is not a positive finite number.</summary>
    public long OrdersRefused { get; private set; }

    /// <summary>Cause publish → order published on the order ring, nanoseconds.</summary>
    public LatencyHistogram OrderLatency { get; } = new();

    /// <summary>
    /// Fill publish → order published on the order ring, nanoseconds: the orders whose cause is the
    /// fill of the last trade-caused breach read for their account (the engine writes a breach's
    /// order right after it, with the same cause).
    /// </summary>
    public LatencyHistogram TradeOrderLatency { get; } = new();

    private int _lastTradeAccount = -1;
    private long _lastTradeSourceTicks;

    /// <summary>Feed publish → breach read, nanoseconds, every breach.</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>Fill (or collateral change) publish → breach read, nanoseconds.</summary>
    public LatencyHistogram TradeLatency { get; } = new();

    /// <summary>First waiting mark's publish → breach read after the revaluation, nanoseconds.</summary>
    public LatencyHistogram RevaluationLatency { get; } = new();

    /// <summary>Fill publish → breach publish by the engine, nanoseconds: the engine's part of a fill's breach latency.</summary>
    public LatencyHistogram TradeToPublish { get; } = new();

    /// <summary>Breach publish → breach read, nanoseconds: the delivery to this reader (its wake-up included).</summary>
    public LatencyHistogram Delivery { get; } = new();

    /// <summary>Breaches read, by state entered.</summary>
    public long[] ByState { get; } = new long[4];

    /// <summary>Breaches read.</summary>
    public long Read { get; private set; }

    /// <summary>Breach sequence gaps (should stay 0: the engine never drops a breach).</summary>
    public long SequenceGaps { get; private set; }

    /// <summary>State changes the engine folded into the breaches read (Σ Replaced): <see cref="Read"/> + this = the engine's state changes.</summary>
    public long Coalesced { get; private set; }

    /// <summary>Messages on the breach ring that were not breaches of this layout version (counted, skipped).</summary>
    public long Unrecognised { get; private set; }

    /// <summary>Reads what is available (stopping before an order the order ring has no room for); returns how many.</summary>
    public int Poll() => _breaches.PollWhile(ref _handler);

    /// <summary>"liquidator".</summary>
    public string RoleName => "liquidator";

    /// <summary>One <see cref="Poll"/>.</summary>
    public int DoWork() => Poll();

    /// <summary>Never: the liquidator reads until stopped.</summary>
    public bool IsDone => false;

    private long _lastSequence;

    private bool OnMessage(ReadOnlySpan<byte> p, Action<BreachRecord>? callback, Action<LiquidationOrderRecord>? onOrder)
    {
        if (p[0] == LiquidationOrderDescriptor.MessageType && p[1] == LiquidationOrderDescriptor.Version)
        {
            return OnOrder(p, onOrder);
        }

        if (p[0] == MassCancelDescriptor.MessageType && p[1] == MassCancelDescriptor.Version)
        {
            return OnMassCancel(p);
        }

        OnBreach(p, callback);
        return true;
    }

    /// <summary>
    /// A mass cancel (a market-maker protection trip, a kill switch): forwarded to the matching engine
    /// on the order ring as it is, restamped. At least once: cancelling twice is harmless, so no ledger.
    /// </summary>
    private bool OnMassCancel(ReadOnlySpan<byte> p)
    {
        if (_orders is null)
        {
            MassCancelsRead++;
            return true; // no order ring (liquidation off): nothing downstream to tell
        }

        if (!_orders.TryClaim(1, out long slot))
        {
            OrderRingFull++;
            return false; // left on the breach ring: taken again at the next poll
        }

        MassCancelsRead++;

        var payload = _orders.Payload(slot);
        p[..MassCancelDescriptor.Size].CopyTo(payload);
        WireMessage.As<MassCancelMessage>(payload).PublishTicks = MonotonicClock.Now();
        _orders.Publish(slot);
        MassCancelsSent++;
        return true;
    }

    /// <summary>Mass cancels read from the breach ring.</summary>
    public long MassCancelsRead { get; private set; }

    /// <summary>Mass cancels forwarded to the matching engine on the order ring.</summary>
    public long MassCancelsSent { get; private set; }

    private bool OnOrder(ReadOnlySpan<byte> p, Action<LiquidationOrderRecord>? onOrder)
    {
        ref readonly var m = ref WireMessage.Read<LiquidationOrderMessage>(p);
        bool reannounced = (m.Flags & LiquidationOrderDescriptor.Reannounced) != 0;
        if (_orders is null)
        {
            OrdersRead++;
            onOrder?.Invoke(new LiquidationOrderRecord(m.PlanId, m.Account, m.Instrument, m.SignedQuantity, m.LimitPrice, m.Fee, reannounced, Sent: false, m.IsDeleverage ? m.Counterparty : -1));
            return true;
        }

        long last = _ledger!.LastSent(m.Account);
        if (last < 0 || m.PlanId <= 0 || m.Side is not (Core.Gate.OrderSide.Buy or Core.Gate.OrderSide.Sell)
            || !(m.Quantity > 0) || !double.IsFinite(m.Quantity) || !(m.LimitPrice > 0) || !double.IsFinite(m.LimitPrice)
            || (m.IsDeleverage && (m.Counterparty == m.Account || _ledger.LastSent(m.Counterparty) < 0)))
        {
            // Not an order the engine writes (an account outside the ledger, no id, no side, a
            // quantity or price that is not a positive number, a deleverage order whose counterparty
            // is the account itself or outside the ledger): never forwarded to the matching engine.
            OrdersRead++;
            OrdersRefused++;
            return true;
        }

        if (m.PlanId <= last)
        {
            OrdersRead++;
            OrdersAlreadySent++;
            onOrder?.Invoke(new LiquidationOrderRecord(m.PlanId, m.Account, m.Instrument, m.SignedQuantity, m.LimitPrice, m.Fee, reannounced, Sent: false, m.IsDeleverage ? m.Counterparty : -1));
            return true;
        }

        if (!_orders.TryClaim(1, out long slot))
        {
            OrderRingFull++;
            return false; // left on the breach ring: taken again at the next poll
        }

        var payload = _orders.Payload(slot);
        p[..LiquidationOrderDescriptor.Size].CopyTo(payload);
        long now = MonotonicClock.Now();
        WireMessage.As<LiquidationOrderMessage>(payload).PublishTicks = now;
        _orders.Publish(slot);
        _ledger.Record(m.Account, m.PlanId); // after the publish: a crash in between is repaired by LiquidatorLedger.Reconcile
        OrdersRead++;
        OrdersSent++;
        if (m.SourcePublishTicks > 0)
        {
            long orderLatency = MonotonicClock.ToNanos(now - m.SourcePublishTicks);
            OrderLatency.Record(orderLatency);
            if (m.Account == _lastTradeAccount && m.SourcePublishTicks == _lastTradeSourceTicks)
            {
                TradeOrderLatency.Record(orderLatency);
            }
        }

        onOrder?.Invoke(new LiquidationOrderRecord(m.PlanId, m.Account, m.Instrument, m.SignedQuantity, m.LimitPrice, m.Fee, reannounced, Sent: true, m.IsDeleverage ? m.Counterparty : -1));
        return true;
    }

    private void OnBreach(ReadOnlySpan<byte> p, Action<BreachRecord>? callback)
    {
        long now = MonotonicClock.Now();
        ref readonly var m = ref WireMessage.Read<BreachMessage>(p);
        if (m.Type != BreachMessageDescriptor.MessageType || m.Version != BreachMessageDescriptor.Version)
        {
            Unrecognised++;
            return;
        }

        long sequence = m.BreachSequence;
        if (sequence != _lastSequence + 1)
        {
            SequenceGaps++;
        }

        _lastSequence = sequence;
        long published = m.SourcePublishTicks;
        long breachPublished = m.PublishTicks;
        if (breachPublished > 0)
        {
            Delivery.Record(MonotonicClock.ToNanos(now - breachPublished));
        }

        if (published > 0)
        {
            long latency = MonotonicClock.ToNanos(now - published);
            Latency.Record(latency);
            bool trade = m.Cause == BreachCause.Trade;
            (trade ? TradeLatency : RevaluationLatency).Record(latency);
            if (trade)
            {
                _lastTradeAccount = m.Account;
                _lastTradeSourceTicks = published;
            }

            if (trade && breachPublished > 0)
            {
                TradeToPublish.Record(MonotonicClock.ToNanos(breachPublished - published));
            }
        }

        var to = m.ToState;
        ByState[(int)to & 3]++;
        Read++;
        Coalesced += m.Replaced;
        callback?.Invoke(new BreachRecord(sequence, m.Account, m.FromState, to, m.Equity, m.InitialMargin, m.MaintenanceMargin,
            m.CandidateCount, m.CandidateInstruments[0], m.Replaced, m.MarginMode) { OpenOrderMargin = m.OpenOrderMargin });
    }

    private readonly struct Handler(Liquidator owner, Action<BreachRecord>? callback, Action<LiquidationOrderRecord>? onOrder) : IRingHandlerWhile
    {
        public bool OnMessage(long sequence, ReadOnlySpan<byte> payload) => owner.OnMessage(payload, callback, onOrder);
    }
}
