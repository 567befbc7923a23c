namespace LowLatencyRisk.Core.Gate;

/// <summary>Buy or sell.</summary>
public enum OrderSide : byte
{
    /// <summary>Buy.</summary>
    Buy = 1,
    /// <summary>Sell.</summary>
    Sell = 2,
}

/// <summary>Order type.</summary>
public enum OrderType : byte
{
    /// <summary>Limit order at <see cref="OrderRequest.LimitPrice"/>.</summary>
    Limit = 0,
    /// <summary>Market order: checked at the protection price (mark ± market protection).</summary>
    Market = 1,
}

/// <summary>Time in force (carried for the matching engine; the gate treats all alike).</summary>
public enum TimeInForce : byte
{
    /// <summary>Good till cancelled.</summary>
    GoodTillCancel = 0,
    /// <summary>Immediate or cancel.</summary>
    ImmediateOrCancel = 1,
    /// <summary>Fill or kill.</summary>
    FillOrKill = 2,
    /// <summary>Day.</summary>
    Day = 3,
}

/// <summary>An order to check.</summary>
/// <param name="Account">Account id.</param>
/// <param name="Instrument">Instrument id.</param>
/// <param name="Side">Buy or sell.</param>
/// <param name="Quantity">Quantity (positive).</param>
/// <param name="LimitPrice">Limit price (ignored for market orders).</param>
/// <param name="Type">Limit or market.</param>
/// <param name="ClientOrderId">The client's id, unique per account within the duplicate window.</param>
/// <param name="TimeInForce">Time in force.</param>
/// <param name="ReduceOnly">True if the order may only reduce the position.</param>
/// <param name="MmpProtected">True for a quote under the account's market-maker protection: refused while the protection of its underlying is frozen.</param>
public readonly record struct OrderRequest(int Account, int Instrument, OrderSide Side, double Quantity, double LimitPrice, OrderType Type,
    long ClientOrderId, TimeInForce TimeInForce = TimeInForce.GoodTillCancel, bool ReduceOnly = false, bool MmpProtected = false)
{
    /// <summary>+quantity for a buy, −quantity for a sell.</summary>
    public double SignedQuantity => Side == OrderSide.Buy ? Quantity : -Quantity;
}

/// <summary>Why an order was rejected; <see cref="None"/> when accepted. Checks run in this order, cheapest first.</summary>
public enum RejectReason : byte
{
    /// <summary>Accepted.</summary>
    None = 0,
    /// <summary>Instrument id unknown.</summary>
    UnknownInstrument = 1,
    /// <summary>Account id unknown.</summary>
    UnknownAccount = 2,
    /// <summary>Account disabled.</summary>
    AccountDisabled = 3,
    /// <summary>Instrument not tradable (halted).</summary>
    InstrumentHalted = 4,
    /// <summary>Kill switch on for the venue, the underlying or the account.</summary>
    KillSwitch = 5,
    /// <summary>Message rate over the account's token bucket.</summary>
    Throttled = 6,
    /// <summary>Side, quantity or price malformed (not finite, not positive).</summary>
    InvalidOrder = 7,
    /// <summary>Limit price not a multiple of the tick size.</summary>
    InvalidTick = 8,
    /// <summary>Quantity not a multiple of the lot size.</summary>
    InvalidLot = 9,
    /// <summary>Quantity below the minimum.</summary>
    BelowMinimumQuantity = 10,
    /// <summary>Quantity above the maximum order quantity.</summary>
    MaxOrderQuantity = 11,
    /// <summary>Notional above the maximum order value.</summary>
    MaxOrderValue = 12,
    /// <summary>Limit price outside the band around the mark.</summary>
    PriceOutsideBand = 13,
    /// <summary>Same client order id within the window.</summary>
    DuplicateOrder = 14,
    /// <summary>The underlying's mark is stale and the order increases risk.</summary>
    MarkStale = 15,
    /// <summary>A reduce-only order that would not reduce the position.</summary>
    ReduceOnlyWouldIncrease = 16,
    /// <summary>Position plus working orders beyond the instrument limit.</summary>
    PositionLimit = 17,
    /// <summary>Gross contracts in the underlying beyond the account's limit.</summary>
    UnderlyingPositionLimit = 18,
    /// <summary>Open order exposure + positions + this order beyond the credit limit.</summary>
    CreditLimit = 19,
    /// <summary>Account in margin call or liquidation, or the venue in risk-off: only risk-reducing orders pass.</summary>
    AccountReduceOnly = 20,
    /// <summary>Initial margin after the order exceeds equity.</summary>
    InsufficientMargin = 21,
    /// <summary>The working-order table is full.</summary>
    OrderCapacity = 22,
    /// <summary>The account is an isolated position bound to another instrument.</summary>
    IsolatedInstrument = 23,
    /// <summary>The account already has its maximum number of working orders.</summary>
    MaxOpenOrders = 24,
    /// <summary>The account's loss since the start of the day (realized + unrealized) is beyond its limit and the order increases risk.</summary>
    DailyLossLimit = 25,
    /// <summary>A protected quote while the account's market-maker protection of the underlying is frozen (tripped).</summary>
    MmpFrozen = 26,
    /// <summary>The account belongs to another shard of a sharded venue: send the check to its owner.</summary>
    OtherShard = 27,
}

/// <summary>The gate's answer: accept, or reject with one reason and the numbers that failed.</summary>
/// <param name="Reason"><see cref="RejectReason.None"/> when accepted.</param>
/// <param name="Limit">The limit that was breached (or 0).</param>
/// <param name="Actual">The value that breached it (or 0).</param>
public readonly record struct Decision(RejectReason Reason, double Limit = 0, double Actual = 0)
{
    /// <summary>True when the order may go to the book.</summary>
    public bool Accepted => Reason == RejectReason.None;

    /// <summary>The accept decision.</summary>
    public static Decision Accept => default;
}
