namespace LowLatencyRisk.Core.Gate;

/// <summary>Venue defaults of the pre-trade gate; every instrument and account limit can be overridden.</summary>
public sealed record GateConfig
{
    /// <summary>Largest order quantity (contracts).</summary>
    public double MaxOrderQuantity { get; init; } = 1_000;
    /// <summary>Largest order notional (quantity × price × multiplier).</summary>
    public double MaxOrderNotional { get; init; } = 10_000_000;
    /// <summary>Smallest order quantity.</summary>
    public double MinQuantity { get; init; }
    /// <summary>Limit prices must lie within mark × (1 ± band).</summary>
    public double PriceBand { get; init; } = 0.30;
    /// <summary>Market orders are checked at mark × (1 ± protection).</summary>
    public double MarketProtection { get; init; } = 0.05;
    /// <summary>Largest |position + same-side working + order| per instrument (contracts).</summary>
    public double PositionLimit { get; init; } = 10_000;
    /// <summary>Largest gross contracts per underlying, positions and working orders (per account).</summary>
    public double UnderlyingPositionLimit { get; init; } = double.PositiveInfinity;
    /// <summary>Largest gross position notional + open order notional + order notional (per account).</summary>
    public double CreditLimit { get; init; } = double.PositiveInfinity;
    /// <summary>Most working orders per account (a whole number, or +∞ for none); an order beyond it is rejected whatever its risk.</summary>
    public double MaxOpenOrders { get; init; } = double.PositiveInfinity;
    /// <summary>
    /// Largest loss of an account since the start of the day, realized + unrealized P&amp;L (its equity less
    /// its collateral's value, so deposits, withdrawals and collateral prices do not count); past it only
    /// risk-reducing orders pass. +∞: none.
    /// </summary>
    public double DailyLossLimit { get; init; } = double.PositiveInfinity;
    /// <summary>Where the day starts, nanoseconds after 00:00 UTC (0 ≤ offset &lt; 24 h).</summary>
    public long DayStartOffsetNanos { get; init; }
    /// <summary>Token bucket refill rate per account (orders per second; CME's 3-second window allows about 500/s).</summary>
    public double ThrottleRate { get; init; } = 500;
    /// <summary>Token bucket depth (burst).</summary>
    public double ThrottleBurst { get; init; } = 500;
    /// <summary>A client order id may not repeat within this window after its order ended.</summary>
    public long DuplicateWindowNanos { get; init; } = 60L * 1_000_000_000;
    /// <summary>Live orders plus recently ended ones remembered for the duplicate check.</summary>
    public int MaxTrackedOrders { get; init; } = 1 << 18;

    /// <summary>
    /// Charge resting orders in the margin check: a new order must be covered with the worst side of the
    /// account's working orders (this one included) as if it all filled (the book's open-order margin),
    /// not only with itself filled alone. On by default: orders that each pass alone must not together
    /// push an account into liquidation when they fill.
    /// </summary>
    public bool MarginOnWorkingOrders { get; init; } = true;

    /// <summary>Market-maker protections the gate can hold (account × underlying pairs, set on the feed).</summary>
    public int MmpEntries { get; init; } = 256;

    /// <summary>Maker fills each protection remembers within its interval (more in one interval trips it).</summary>
    public int MmpWindowFills { get; init; } = 128;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        Require(MaxOrderQuantity > 0, nameof(MaxOrderQuantity));
        Require(MaxOrderNotional > 0, nameof(MaxOrderNotional));
        Require(MinQuantity >= 0 && double.IsFinite(MinQuantity), nameof(MinQuantity));
        Require(PriceBand > 0, nameof(PriceBand));
        Require(MarketProtection > 0 && MarketProtection < 1, nameof(MarketProtection));
        Require(PositionLimit > 0, nameof(PositionLimit));
        Require(UnderlyingPositionLimit > 0, nameof(UnderlyingPositionLimit));
        Require(CreditLimit > 0, nameof(CreditLimit));
        Require(IsOrderCount(MaxOpenOrders), nameof(MaxOpenOrders));
        Require(DailyLossLimit > 0, nameof(DailyLossLimit));
        Require(DayStartOffsetNanos is >= 0 and < NanosPerDay, nameof(DayStartOffsetNanos));
        Require(ThrottleRate > 0 && double.IsFinite(ThrottleRate), nameof(ThrottleRate));
        Require(ThrottleBurst >= 1 && double.IsFinite(ThrottleBurst), nameof(ThrottleBurst));
        Require(DuplicateWindowNanos >= 0, nameof(DuplicateWindowNanos));
        Require(MaxTrackedOrders is > 0 and <= 1 << 26, nameof(MaxTrackedOrders));
        Require(MmpEntries is >= 0 and <= 1 << 16, nameof(MmpEntries));
        Require(MmpWindowFills is >= 1 and <= 1 << 12, nameof(MmpWindowFills));
    }

    /// <summary>Nanoseconds in a day.</summary>
    public const long NanosPerDay = 86_400L * 1_000_000_000;

    /// <summary>A limit on a number of orders: a whole number of at least 1, or +∞ (none).</summary>
    public static bool IsOrderCount(double value) => double.IsPositiveInfinity(value) || (value >= 1 && value <= int.MaxValue && value == Math.Floor(value));

    private static void Require(bool ok, string field)
    {
        if (!ok)
        {
            throw new ArgumentException($"GateConfig.{field} is out of range.", field);
        }
    }
}
