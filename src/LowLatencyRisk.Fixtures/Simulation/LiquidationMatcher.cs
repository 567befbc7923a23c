using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Fixtures.Simulation;

/// <summary>
/// The simulated matching engine's side of liquidation: reads the liquidator's order ring and fills
/// every order in full at its limit price (the worst price the order allows: what the engine's
/// sizing assumed), publishing the fill on the feed under its own producer id, so it reaches the
/// engine as any other fill does. A deleverage order of the default waterfall trades with its
/// counterparty instead of the book: two fills at its limit (the bankruptcy price), the account's and
/// the counterparty's opposite one. Counts what it filled; allocates nothing.
/// </summary>
public sealed class LiquidationMatcher : IAgent
{
    private readonly RingConsumer _orders;
    private readonly MultiProducer _feed;
    private readonly int _producerId;
    private long _sequence;
    private long _tradeId;
    private Handler _handler;

    /// <summary>Creates the matcher: <paramref name="orders"/> from the liquidator, fills onto <paramref name="feed"/> as <paramref name="producerId"/>.</summary>
    public LiquidationMatcher(RingConsumer orders, MultiProducer feed, int producerId, long firstTradeId = 1L << 48)
    {
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)producerId, (uint)FeedMessageDescriptor.MaxProducers, nameof(producerId));
        _orders = orders;
        _feed = feed;
        _producerId = producerId;
        _tradeId = firstTradeId;
        _handler = new Handler(this);
    }

    /// <summary>The producer epoch written in every fill's header: a restarted matcher raises it, so its sequence 1 is a new session, not a duplicate.</summary>
    public uint ProducerEpoch { get; init; }

    /// <summary>Orders filled.</summary>
    public long Filled { get; private set; }

    /// <summary>Mass cancels received (market-maker protection trips, kill switches).</summary>
    public long MassCancels { get; private set; }

    /// <summary>Deleverage orders among them (traded with their counterparties).</summary>
    public long Deleveraged { get; private set; }

    private long _legsDoneOf; // the order id whose account leg is on the feed while its counterparty's waits for room

    /// <summary>Messages on the order ring that were not liquidation orders (skipped).</summary>
    public long Unrecognised { get; private set; }

    /// <summary>"matcher".</summary>
    public string RoleName => "matcher";

    /// <summary>Fills what is on the order ring, stopping before an order the feed has no room for.</summary>
    public int DoWork() => _orders.PollWhile(ref _handler);

    /// <summary>Never.</summary>
    public bool IsDone => false;

    private bool OnOrder(ReadOnlySpan<byte> p)
    {
        if (p[0] == MassCancelDescriptor.MessageType && p[1] == MassCancelDescriptor.Version)
        {
            MassCancels++; // the simulated venue rests no quotes: nothing to cancel, counted
            return true;
        }

        ref readonly var m = ref WireMessage.Read<LiquidationOrderMessage>(p);
        if (m.Type != LiquidationOrderDescriptor.MessageType || m.Version != LiquidationOrderDescriptor.Version)
        {
            Unrecognised++;
            return true;
        }

        if (_legsDoneOf != m.PlanId && !TryFill(m.Account, m.Instrument, m.SignedQuantity, m.LimitPrice, m.TimestampNanos, FillMessage.Liquidation))
        {
            return false; // waits on its ring
        }

        if (m.IsDeleverage)
        {
            _legsDoneOf = m.PlanId;
            if (!TryFill(m.Counterparty, m.Instrument, -m.SignedQuantity, m.LimitPrice, m.TimestampNanos, 0))
            {
                return false; // the counterparty's leg waits; the account's is not sent again
            }

            Deleveraged++;
        }

        _legsDoneOf = 0;
        Filled++;
        return true;
    }

    private bool TryFill(int account, int instrument, double quantity, double price, long timestamp, byte flags)
    {
        if (!_feed.TryClaim(1, out long slot))
        {
            return false; // the feed is full
        }

        var payload = _feed.Payload(slot);
        FeedMessageDescriptor.WriteHeader(payload, FeedMessageType.Fill, _producerId, ProducerEpoch, ++_sequence, timestamp, MonotonicClock.Now());
        FeedMessageDescriptor.WriteFill(payload, account, instrument, quantity, price, ++_tradeId, flags);
        return _feed.Publish(slot); // false: the engine gave the slot up (this thread stalled past its abandonment timeout): sent again at the next poll
    }

    private readonly struct Handler(LiquidationMatcher owner) : IRingHandlerWhile
    {
        public bool OnMessage(long sequence, ReadOnlySpan<byte> payload) => owner.OnOrder(payload);
    }
}
