using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;

namespace LowLatencyRisk.Engine.Wire;

// The wire messages as explicit-layout structs: the one source of every layout. The C header's
// message structs (native-interop/include/llr/llr_messages.h), native-interop/layout.golden and the
// README's wire table are generated from these types by tools/LowLatencyRisk.WireGen, and a test
// fails when any of the three differs from what the types render. A field is added here, nowhere else.
//
// Little-endian only (x86-64, AArch64): the structs are the bytes. Every field is naturally aligned
// and the slots are 8-byte aligned, so a field read is one load.

/// <summary>Describes a wire struct or field in the generated C header and the README's wire table.</summary>
/// <param name="description">One line, read by the engineer writing a peer.</param>
[AttributeUsage(AttributeTargets.Struct | AttributeTargets.Field | AttributeTargets.Enum)]
public sealed class WireAttribute(string description) : Attribute
{
    /// <summary>The description.</summary>
    public string Description { get; } = description;
}

/// <summary>Typed access to a ring slot's payload (or a journal record's) as a message struct.</summary>
public static class WireMessage
{
    /// <summary>The payload as <typeparamref name="T"/>, for writing. Throws if it is shorter than the struct.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref T As<T>(Span<byte> payload) where T : unmanaged => ref MemoryMarshal.AsRef<T>(payload);

    /// <summary>The payload as <typeparamref name="T"/>, for reading. Throws if it is shorter than the struct.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref readonly T Read<T>(ReadOnlySpan<byte> payload) where T : unmanaged => ref MemoryMarshal.AsRef<T>(payload);
}

/// <summary>Kill switch scope (<see cref="KillSwitchMessage.Scope"/>).</summary>
public enum KillSwitchScope : byte
{
    /// <summary>The whole venue (the id is ignored).</summary>
    Venue = 0,
    /// <summary>An underlying.</summary>
    Underlying = 1,
    /// <summary>An account.</summary>
    Account = 2,
}

/// <summary>What happened to a working order (<see cref="OrderLifecycleMessage.Event"/>).</summary>
public enum OrderLifecycleEvent : byte
{
    /// <summary>Filled, partly or fully (<see cref="OrderLifecycleMessage.FilledQuantity"/>).</summary>
    Filled = 1,
    /// <summary>Cancelled.</summary>
    Cancelled = 2,
    /// <summary>Expired.</summary>
    Expired = 3,
}

/// <summary>Why a breach was published (<see cref="BreachMessage.Cause"/>).</summary>
public enum BreachCause : byte
{
    /// <summary>A fill, collateral change, mode switch or transfer.</summary>
    Trade = 1,
    /// <summary>The revaluation after marks.</summary>
    Revaluation = 2,
    /// <summary>The engine recovered from its journal and announces the account's current state.</summary>
    Recovery = 3,
}

/// <summary>The 32-byte header that begins every feed message.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
[Wire("begins every feed message")]
public struct FeedHeader
{
    /// <summary>The message type.</summary>
    [FieldOffset(0), Wire("the message type")] public FeedMessageType Type;
    /// <summary>Layout version (<see cref="FeedMessageDescriptor.Version"/>).</summary>
    [FieldOffset(1), Wire("layout version, 1")] public byte Version;
    /// <summary>The producer, 0..63.</summary>
    [FieldOffset(2), Wire("0..63; the engine refuses any other")] public ushort ProducerId;
    /// <summary>The producer's session: a restarted producer raises it and starts its sequence again at 1.</summary>
    [FieldOffset(4), Wire("the producer's session: a restarted producer raises it and starts again at sequence 1")] public uint ProducerEpoch;
    /// <summary>1, 2, 3 … per producer and epoch.</summary>
    [FieldOffset(8), Wire("1, 2, 3 ... per producer and epoch; a repeat is a duplicate, a jump beyond the engine's window is refused")] public long ProducerSequence;
    /// <summary>Unix ns, business time (marks, staleness, throttles).</summary>
    [FieldOffset(16), Wire("Unix ns, business time")] public long TimestampNanos;
    /// <summary>CLOCK_MONOTONIC ns at publish, for latency only.</summary>
    [FieldOffset(24), Wire("CLOCK_MONOTONIC ns at publish, for latency only")] public long PublishTicks;
}

/// <summary>Index price of an underlying.</summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
[Wire("index price of an underlying")]
public struct IndexPriceMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The underlying.</summary>
    [FieldOffset(32), Wire("underlying id")] public int Underlying;
    /// <summary>The price.</summary>
    [FieldOffset(40), Wire("index price")] public double Price;
}

/// <summary>Mark implied volatility (and price) of an option.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
[Wire("mark implied volatility of an option")]
public struct OptionMarkMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The option.</summary>
    [FieldOffset(32), Wire("option instrument id")] public int Instrument;
    /// <summary>Implied volatility.</summary>
    [FieldOffset(40), Wire("implied volatility (0.55 = 55 %)")] public double Volatility;
    /// <summary>Mark price (informational).</summary>
    [FieldOffset(48), Wire("mark price (informational)")] public double Price;
}

/// <summary>A trade: signed quantity for one account.</summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
[Wire("a trade of one account")]
public struct FillMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The account.</summary>
    [FieldOffset(32), Wire("account id")] public int Account;
    /// <summary>The instrument.</summary>
    [FieldOffset(36), Wire("instrument id")] public int Instrument;
    /// <summary>Signed quantity: + buy, − sell.</summary>
    [FieldOffset(40), Wire("+ buy, - sell")] public double Quantity;
    /// <summary>Trade price.</summary>
    [FieldOffset(48), Wire("trade price")] public double Price;
    /// <summary>The venue's trade id.</summary>
    [FieldOffset(56), Wire("the venue's trade id")] public long TradeId;
    /// <summary>Bit 0: a maker fill (the account's resting order was hit), counted against its market-maker protection; bit 1: a fill of a liquidation order, charged the liquidation fee.</summary>
    [FieldOffset(64), Wire("bit 0: maker (a resting order of the account was hit); bit 1: fills a liquidation order (charged its fee); 0 when unknown")] public byte Flags;

    /// <summary><see cref="Flags"/> bit: a maker fill.</summary>
    public const byte Maker = 1;

    /// <summary><see cref="Flags"/> bit: a fill of the account's liquidation order (the engine charges the liquidation fee on it).</summary>
    public const byte Liquidation = 2;
}

/// <summary>An order left the book or was partly filled: the gate's working exposure is released.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
[Wire("an order filled, cancelled or expired: releases the gate's working exposure")]
public struct OrderLifecycleMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The account.</summary>
    [FieldOffset(32), Wire("account id")] public int Account;
    /// <summary>What happened.</summary>
    [FieldOffset(36), Wire("what happened")] public OrderLifecycleEvent Event;
    /// <summary>The client order id the gate accepted.</summary>
    [FieldOffset(40), Wire("the client order id the gate accepted")] public long ClientOrderId;
    /// <summary>Quantity filled by this event (Filled only).</summary>
    [FieldOffset(48), Wire("quantity filled by this event (filled only)")] public double FilledQuantity;
}

/// <summary>A collateral balance.</summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
[Wire("a collateral balance")]
public struct CollateralMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The account.</summary>
    [FieldOffset(32), Wire("account id")] public int Account;
    /// <summary>The asset.</summary>
    [FieldOffset(36), Wire("asset id")] public int Asset;
    /// <summary>The balance in units of the asset.</summary>
    [FieldOffset(40), Wire("balance, units of the asset")] public double Balance;
}

/// <summary>Kill switch on or off.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
[Wire("kill switch on or off")]
public struct KillSwitchMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>Scope.</summary>
    [FieldOffset(32), Wire("scope")] public KillSwitchScope Scope;
    /// <summary>1 on, 0 off.</summary>
    [FieldOffset(33), Wire("1 on, 0 off")] public byte On;
    /// <summary>The underlying or account (ignored for the venue).</summary>
    [FieldOffset(36), Wire("underlying or account id (ignored for the venue)")] public int Id;
}

/// <summary>Liveness: a header only.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
[Wire("liveness: the header only")]
public struct HeartbeatMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
}

/// <summary>A new instrument (definitions are immutable once accepted).</summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
[Wire("a new instrument; immutable once accepted")]
public struct InstrumentDefinitionMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The instrument id.</summary>
    [FieldOffset(32), Wire("instrument id")] public int Instrument;
    /// <summary>The underlying.</summary>
    [FieldOffset(36), Wire("underlying id")] public int Underlying;
    /// <summary>Strike (options).</summary>
    [FieldOffset(40), Wire("strike (options)")] public double Strike;
    /// <summary>Expiry, Unix ns (futures and options).</summary>
    [FieldOffset(48), Wire("expiry, Unix ns (futures and options)")] public long ExpiryNanos;
    /// <summary>Contract multiplier.</summary>
    [FieldOffset(56), Wire("contract multiplier")] public double Multiplier;
    /// <summary>Price increment.</summary>
    [FieldOffset(64), Wire("price increment")] public double TickSize;
    /// <summary>Quantity increment.</summary>
    [FieldOffset(72), Wire("quantity increment")] public double LotSize;
    /// <summary>Kind.</summary>
    [FieldOffset(80), Wire("kind")] public InstrumentKind Kind;
    /// <summary>Linear, or inverse (coin-settled futures and perpetuals; <see cref="Multiplier"/> is then the face value per contract). Write it: a producer that leaves the byte of a reused slot unwritten defines what is there.</summary>
    [FieldOffset(81), Wire("settlement (inverse: futures and perpetuals; multiplier = face value per contract)")] public Settlement Settlement;

    /// <summary>The definition as the book takes it.</summary>
    public readonly InstrumentSpec ToSpec() => new(Kind, Underlying, Strike, ExpiryNanos, Multiplier, TickSize, LotSize) { Settlement = Settlement };
}

/// <summary>A limit of an instrument or account (the gate's per-id overrides).</summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
[Wire("a limit of an instrument or account")]
public struct LimitChangeMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>Instrument or account.</summary>
    [FieldOffset(32), Wire("instrument or account")] public LimitScope Scope;
    /// <summary>Which limit (its meaning depends on the scope).</summary>
    [FieldOffset(33), Wire("which limit (meaning by scope)")] public LimitField Field;
    /// <summary>The underlying (scope <see cref="LimitScope.AccountUnderlying"/> only; 0 otherwise).</summary>
    [FieldOffset(34), Wire("underlying id (scope 3 only; else 0)")] public ushort Underlying;
    /// <summary>The instrument or account.</summary>
    [FieldOffset(36), Wire("instrument or account id")] public int Id;
    /// <summary>The value.</summary>
    [FieldOffset(40), Wire("the value (switches: 0 or 1)")] public double Value;
}

/// <summary>An account's margin mode.</summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
[Wire("an account's margin mode; refused unless healthy under the new mode, and isolation changes only while flat")]
public struct MarginModeMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The account.</summary>
    [FieldOffset(32), Wire("account id")] public int Account;
    /// <summary>The parent (isolated only; else −1).</summary>
    [FieldOffset(36), Wire("parent account (isolated; else -1)")] public int Parent;
    /// <summary>The one instrument (isolated only; else −1).</summary>
    [FieldOffset(40), Wire("its one instrument (isolated; else -1)")] public int Instrument;
    /// <summary>The mode.</summary>
    [FieldOffset(44), Wire("the mode")] public MarginMode Mode;
}

/// <summary>Collateral moved between an isolated account and its parent.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
[Wire("collateral moved between an isolated account and its parent; the source must stay healthy")]
public struct CollateralTransferMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The source account.</summary>
    [FieldOffset(32), Wire("source account")] public int FromAccount;
    /// <summary>The destination account.</summary>
    [FieldOffset(36), Wire("destination account")] public int ToAccount;
    /// <summary>Units of the asset, positive.</summary>
    [FieldOffset(40), Wire("units of the asset, positive")] public double Amount;
    /// <summary>The asset.</summary>
    [FieldOffset(48), Wire("asset id")] public int Asset;
}

/// <summary>A recalibration of an underlying's size add-on (portfolio margin components).</summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
[Wire("recalibrates an underlying's size add-on (configured at start); its holders are re-margined as on a vol tick")]
public struct SizeAddOnMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The underlying.</summary>
    [FieldOffset(32), Wire("underlying id")] public int Underlying;
    /// <summary>Sum or max with the scan part.</summary>
    [FieldOffset(36), Wire("0 sum, 1 max with the scan part")] public AddOnCombine Combine;
    /// <summary>Base rate of the |net delta| notional.</summary>
    [FieldOffset(40), Wire("base rate of the |net delta| notional, [0, 1]")] public double BaseRate;
    /// <summary>Multiplier of the configured band limits.</summary>
    [FieldOffset(48), Wire("multiplier of the configured band limits, [1e-6, 1e6]")] public double BandScale;
    /// <summary>Notional above which the delta shock applies.</summary>
    [FieldOffset(56), Wire("delta shock threshold (notional), [0, 1e18]")] public double ShockThreshold;
    /// <summary>Notional where the shock reaches its maximum.</summary>
    [FieldOffset(64), Wire("notional at which the shock is full, >= threshold")] public double ShockFullAt;
    /// <summary>Maximum shock rate.</summary>
    [FieldOffset(72), Wire("maximum shock rate, [0, 1]")] public double MaxShock;
    /// <summary>Charge per unit of gross vega.</summary>
    [FieldOffset(80), Wire("charge per unit of gross vega, [0, 1e6]")] public double VegaRate;
}

/// <summary>A perpetual's funding event: every holder pays or receives quantity × multiplier × mark × rate.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
[Wire("a perpetual's funding at the end of an interval: each holder pays quantity x multiplier x mark x rate (a long pays when positive)")]
public struct FundingRateMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The perpetual.</summary>
    [FieldOffset(32), Wire("instrument id (a perpetual)")] public int Instrument;
    /// <summary>The rate for the interval.</summary>
    [FieldOffset(40), Wire("rate for the interval, within +-0.5")] public double Rate;
    /// <summary>The interval's length.</summary>
    [FieldOffset(48), Wire("funding interval, ns, (0, 7 days]")] public long IntervalNanos;
    /// <summary>The funding time (the interval's end): each instrument's must rise, so a repeated event never pays twice.</summary>
    [FieldOffset(56), Wire("funding time (interval end), Unix ns, above the instrument's last")] public long FundingTimeNanos;
}

/// <summary>An underlying's scenario calibration (scan range, vol shocks, extended dampener, basis moves).</summary>
[StructLayout(LayoutKind.Explicit, Size = 104)]
[Wire("recalibrates an underlying's scenarios; applied like a vol tick: its holders are re-margined at its next revaluation")]
public struct ScenarioCalibrationMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The underlying.</summary>
    [FieldOffset(32), Wire("underlying id")] public int Underlying;
    /// <summary>Price scan range.</summary>
    [FieldOffset(40), Wire("price scan range, a fraction of the price in (0, 1)")] public double PriceScanRange;
    /// <summary>Absolute vol scan range (absolute grids).</summary>
    [FieldOffset(48), Wire("absolute vol scan range (absolute grids), [0, 5)")] public double VolScanRange;
    /// <summary>Relative shock up (relative grids).</summary>
    [FieldOffset(56), Wire("relative vol shock up at 30 days, [0, 10]")] public double VolUp;
    /// <summary>Relative shock down (relative grids).</summary>
    [FieldOffset(64), Wire("relative vol shock down at 30 days, [0, 1)")] public double VolDown;
    /// <summary>Floor of the shocked-up volatility.</summary>
    [FieldOffset(72), Wire("minimum vol for a shock up, [0, 10]")] public double MinVolForShockUp;
    /// <summary>Extended dampener.</summary>
    [FieldOffset(80), Wire("extended dampener, quote currency, [0, 1e15]; 0: none")] public double ExtendedDampener;
    /// <summary>Annualised basis move.</summary>
    [FieldOffset(88), Wire("annualised basis move, [0, 1)")] public double BasisAnnualMove;
    /// <summary>Smallest basis move.</summary>
    [FieldOffset(96), Wire("smallest basis move of a dated instrument, [0, 0.5)")] public double BasisMinimumMove;

    /// <summary>The calibration the message carries.</summary>
    public readonly Core.Risk.ScenarioParameters ToParameters() =>
        new(PriceScanRange, VolScanRange, VolUp, VolDown, MinVolForShockUp, ExtendedDampener, BasisAnnualMove, BasisMinimumMove);
}

/// <summary>What a <see cref="MmpConfigMessage"/> does.</summary>
public enum MmpAction : byte
{
    /// <summary>Sets (and enables) the protection; its window starts empty and a freeze ends.</summary>
    Set = 0,
    /// <summary>Switches it off.</summary>
    Disable = 1,
    /// <summary>Ends a freeze (the only way out of one with a frozen period of 0) and empties the window.</summary>
    Reset = 2,
}

/// <summary>An account's market-maker protection in an underlying.</summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
[Wire("sets, disables or resets an account's market-maker protection in an underlying")]
public struct MmpConfigMessage
{
    /// <summary>The header.</summary>
    [FieldOffset(0)] public FeedHeader Header;
    /// <summary>The account.</summary>
    [FieldOffset(32), Wire("account id")] public int Account;
    /// <summary>The underlying.</summary>
    [FieldOffset(36), Wire("underlying id")] public int Underlying;
    /// <summary>The rolling interval, ns.</summary>
    [FieldOffset(40), Wire("rolling interval, ns, (0, 1 day]")] public long IntervalNanos;
    /// <summary>How long a trip freezes, ns; 0 until reset.</summary>
    [FieldOffset(48), Wire("frozen period after a trip, ns, [0, 1 day]; 0: until reset")] public long FrozenNanos;
    /// <summary>Gross maker quantity limit.</summary>
    [FieldOffset(56), Wire("gross maker quantity in the interval, > 0 (inf: none)")] public double QuantityLimit;
    /// <summary>Net maker delta limit.</summary>
    [FieldOffset(64), Wire("|net maker delta| in the interval, > 0 (inf: none)")] public double DeltaLimit;
    /// <summary>Net maker vega limit.</summary>
    [FieldOffset(72), Wire("|net maker vega| in the interval, > 0 (inf: none)")] public double VegaLimit;
    /// <summary>What to do.</summary>
    [FieldOffset(80), Wire("0 set, 1 disable, 2 reset")] public MmpAction Action;
}

/// <summary>Why a mass cancel was sent (<see cref="MassCancelMessage.Reason"/>).</summary>
public enum MassCancelReason : byte
{
    /// <summary>The account's market-maker protection tripped: cancel its protected quotes in the underlying.</summary>
    MarketMakerProtection = 1,
    /// <summary>A kill switch went on: cancel every resting order in its scope.</summary>
    KillSwitch = 2,
}

/// <summary>
/// A mass cancel (56-byte payload of a 128-byte slot): from the engine on the breach ring, forwarded by
/// the liquidator to the matching engine on the liquidation-order ring. Cancelling twice is harmless,
/// so it is sent at least once (never dropped: it waits in its account's slot like a breach).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
[Wire("cancel resting orders: an account's protected quotes (market-maker protection) or everything in a kill switch's scope")]
public struct MassCancelMessage
{
    /// <summary><see cref="MassCancelDescriptor.MessageType"/>.</summary>
    [FieldOffset(0), Wire("18")] public byte Type;
    /// <summary><see cref="MassCancelDescriptor.Version"/>.</summary>
    [FieldOffset(1), Wire("layout version, 1")] public byte Version;
    /// <summary>Why.</summary>
    [FieldOffset(2), Wire("1 market-maker protection (protected quotes only), 2 kill switch (every resting order)")] public MassCancelReason Reason;
    /// <summary>Venue, underlying or account.</summary>
    [FieldOffset(3), Wire("0 venue, 1 underlying, 2 account")] public KillSwitchScope Scope;
    /// <summary>The account (account scope; else −1).</summary>
    [FieldOffset(4), Wire("account id (account scope; else -1)")] public int Account;
    /// <summary>1, 2, 3 … from this engine.</summary>
    [FieldOffset(8), Wire("1, 2, 3 ... from this engine")] public long CancelSequence;
    /// <summary>The underlying (−1: all).</summary>
    [FieldOffset(16), Wire("underlying id (-1: all)")] public int Underlying;
    /// <summary>Business time of the cause.</summary>
    [FieldOffset(24), Wire("business time of the cause")] public long TimestampNanos;
    /// <summary>Monotonic clock at the publish of the cause.</summary>
    [FieldOffset(32), Wire("CLOCK_MONOTONIC ns at the publish of the cause")] public long SourcePublishTicks;
    /// <summary>Market-maker protection: protected orders are refused until this business time (long.MaxValue: until reset); 0 otherwise.</summary>
    [FieldOffset(40), Wire("MMP: frozen until this business time (INT64_MAX: until reset); else 0")] public long FrozenUntilNanos;
    /// <summary>Monotonic clock when published.</summary>
    [FieldOffset(48), Wire("CLOCK_MONOTONIC ns when this ring's writer published it")] public long PublishTicks;
}

/// <summary>
/// An account's risk summary (104-byte payload of a 128-byte slot on the summary ring): what a
/// shard's engine publishes, at a bounded rate, for risk systems and the firm-limit aggregator on
/// other machines (<see cref="RiskSummaryDescriptor"/>). A summary is state, not an event: a reader
/// keeps the latest per account (and per account × underlying), and one the ring had no room for is
/// sent at the next sweep. <see cref="Underlying"/> −1 is the account's summary; an underlying's id
/// is its summary in that underlying (the account's numbers, plus its position usage and limit there),
/// published for the underlyings a firm limits.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 104)]
[Wire("an account's risk summary (underlying -1) or its summary in one underlying: state, not an event (a reader keeps the latest per account and underlying); at most one each per sweep")]
public struct RiskSummaryMessage
{
    /// <summary><see cref="RiskSummaryDescriptor.MessageType"/>.</summary>
    [FieldOffset(0), Wire("22")] public byte Type;
    /// <summary><see cref="RiskSummaryDescriptor.Version"/>.</summary>
    [FieldOffset(1), Wire("layout version, 1")] public byte Version;
    /// <summary>The account's margin state.</summary>
    [FieldOffset(2), Wire("the account's margin state")] public MarginState State;
    /// <summary>The shard that owns the account (0 when not sharded).</summary>
    [FieldOffset(4), Wire("the shard that owns the account")] public int Shard;
    /// <summary>The account.</summary>
    [FieldOffset(8), Wire("account id")] public int Account;
    /// <summary>−1: the account's summary; else the underlying whose position usage and limit it carries.</summary>
    [FieldOffset(12), Wire("-1: the account's summary; else the underlying of PositionUsage/PositionLimit")] public int Underlying;
    /// <summary>Feed messages the engine had consumed when it computed the summary.</summary>
    [FieldOffset(16), Wire("feed messages the engine had consumed when it computed this")] public long FeedEvents;
    /// <summary>Business time of the book (the feed's clock) when computed.</summary>
    [FieldOffset(24), Wire("business time of the book (the feed's clock) when computed")] public long BusinessNanos;
    /// <summary>Monotonic clock when computed.</summary>
    [FieldOffset(32), Wire("CLOCK_MONOTONIC ns when computed")] public long ComputedTicks;
    /// <summary>What the credit limit counts: gross notional of the positions at their marks plus the notional of the working orders.</summary>
    [FieldOffset(40), Wire("credit usage: gross notional of positions at marks + working orders' notional")] public double CreditUsage;
    /// <summary>The account's credit limit in force in the shard's gate (+∞: none).</summary>
    [FieldOffset(48), Wire("the credit limit in force in the shard's gate (+inf: none)")] public double CreditLimit;
    /// <summary>Initial margin.</summary>
    [FieldOffset(56), Wire("initial margin")] public double InitialMargin;
    /// <summary>Maintenance margin.</summary>
    [FieldOffset(64), Wire("maintenance margin")] public double MaintenanceMargin;
    /// <summary>Equity.</summary>
    [FieldOffset(72), Wire("equity")] public double Equity;
    /// <summary>Monotonic clock when published.</summary>
    [FieldOffset(80), Wire("CLOCK_MONOTONIC ns when this ring's writer published it")] public long PublishTicks;
    /// <summary>What the position limit in <see cref="Underlying"/> counts: gross contracts of positions plus working orders there (0 for the account's summary).</summary>
    [FieldOffset(88), Wire("position usage in the underlying: gross contracts + working (0 when underlying is -1)")] public double PositionUsage;
    /// <summary>The position limit in force in <see cref="Underlying"/> in the shard's gate (+∞: none; 0 for the account's summary).</summary>
    [FieldOffset(96), Wire("the position limit in force there (+inf: none; 0 when underlying is -1)")] public double PositionLimit;
}

/// <summary>The instruments of a breach's positions to close first (<see cref="BreachMessage.CandidateInstruments"/>).</summary>
[InlineArray(BreachMessageDescriptor.MaxCandidates)]
public struct BreachCandidateInstruments
{
    private int _first;
}

/// <summary>The signed quantities of a breach's positions to close first (<see cref="BreachMessage.CandidateQuantities"/>).</summary>
[InlineArray(BreachMessageDescriptor.MaxCandidates)]
public struct BreachCandidateQuantities
{
    private double _first;
}

/// <summary>A margin state change on the breach ring (120-byte payload of a 128-byte slot).</summary>
/// <remarks>
/// Nothing is dropped: a breach that finds the ring full waits in a preallocated slot of its
/// account; later changes of that account fold into it (first from-state, latest to-state and
/// numbers, <see cref="Replaced"/> counted). A reader's last message per account is therefore always
/// the account's current state, and Σ (1 + Replaced) over the messages read equals the engine's
/// count of state changes.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 120)]
[Wire("a margin state change; while the ring is full, later changes of the account fold into its waiting breach")]
public struct BreachMessage
{
    /// <summary><see cref="BreachMessageDescriptor.MessageType"/>.</summary>
    [FieldOffset(0), Wire("16")] public byte Type;
    /// <summary><see cref="BreachMessageDescriptor.Version"/>.</summary>
    [FieldOffset(1), Wire("layout version, 4")] public byte Version;
    /// <summary>The first from-state when changes were folded.</summary>
    [FieldOffset(2), Wire("the first from-state when changes were folded")] public MarginState FromState;
    /// <summary>The account's latest state.</summary>
    [FieldOffset(3), Wire("the account's latest state")] public MarginState ToState;
    /// <summary>The account.</summary>
    [FieldOffset(4), Wire("account id")] public int Account;
    /// <summary>1, 2, 3 … from this engine.</summary>
    [FieldOffset(8), Wire("1, 2, 3 ... from this engine")] public long BreachSequence;
    /// <summary>Business time of the event that caused it.</summary>
    [FieldOffset(16), Wire("business time of the cause")] public long TimestampNanos;
    /// <summary>Monotonic clock at the publish of the event that caused it.</summary>
    [FieldOffset(24), Wire("CLOCK_MONOTONIC ns at the publish of the cause")] public long SourcePublishTicks;
    /// <summary>Equity.</summary>
    [FieldOffset(32), Wire("equity")] public double Equity;
    /// <summary>Initial margin.</summary>
    [FieldOffset(40), Wire("initial margin")] public double InitialMargin;
    /// <summary>Maintenance margin.</summary>
    [FieldOffset(48), Wire("maintenance margin")] public double MaintenanceMargin;
    /// <summary>0..3 candidates (liquidation triggers only).</summary>
    [FieldOffset(56), Wire("0..3 (liquidation triggers only)")] public byte CandidateCount;
    /// <summary>What caused it.</summary>
    [FieldOffset(57), Wire("the cause")] public BreachCause Cause;
    /// <summary>The account's margin mode (isolated: the account is an isolated position; liquidating it touches nothing else).</summary>
    [FieldOffset(58), Wire("the account's mode (isolated: its candidate is its one instrument)")] public MarginMode MarginMode;
    /// <summary>State changes folded into this breach while it waited for room (0 normally).</summary>
    [FieldOffset(60), Wire("state changes folded into this one while it waited (0 normally)")] public int Replaced;
    /// <summary>The signed quantities of the positions to close first, heaviest in the worst scenario first (the first <see cref="CandidateCount"/> are set).</summary>
    [FieldOffset(64), Wire("signed quantities of the positions to close first, heaviest in the worst scenario first")] public BreachCandidateQuantities CandidateQuantities;
    /// <summary>The instruments of those positions, in the same order.</summary>
    [FieldOffset(88), Wire("their instrument ids, in the same order")] public BreachCandidateInstruments CandidateInstruments;
    /// <summary>
    /// Margin the account's working orders would add if they filled: per underlying, the worse of its
    /// positions plus all working buys and plus all working sells, over its positions alone (0 without
    /// working orders). Not part of <see cref="InitialMargin"/>, which is what the ladder reads; the
    /// liquidator cancels these orders first.
    /// </summary>
    [FieldOffset(104), Wire("open-order margin: what the working orders would add on fill (not in the ladder's IM)")] public double OpenOrderMargin;
    /// <summary>Monotonic clock when the engine published this breach.</summary>
    [FieldOffset(112), Wire("CLOCK_MONOTONIC ns when the engine published it")] public long PublishTicks;
}

/// <summary>
/// A liquidation order (80-byte payload of a 128-byte slot). The engine puts it on the breach ring
/// after it sizes one (the liquidator's work); the liquidator, after checking it has not sent that
/// plan before, puts the same bytes on the liquidation-order ring that the matching engine reads,
/// with <see cref="PublishTicks"/> restamped. The matching engine's fills come back on the feed.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
[Wire("a sized liquidation or deleverage order: from the engine on the breach ring, from the liquidator on the liquidation-order ring")]
public struct LiquidationOrderMessage
{
    /// <summary><see cref="LiquidationOrderDescriptor.MessageType"/>.</summary>
    [FieldOffset(0), Wire("17")] public byte Type;
    /// <summary><see cref="LiquidationOrderDescriptor.Version"/>.</summary>
    [FieldOffset(1), Wire("layout version, 2")] public byte Version;
    /// <summary>Buy or sell.</summary>
    [FieldOffset(2), Wire("side (of the account's trade)")] public Core.Gate.OrderSide Side;
    /// <summary>Bit 0: it restores the target when filled; bit 1: re-announced after an engine restart; bit 2: a deleverage order.</summary>
    [FieldOffset(3), Wire("bit 0: restores the target when filled; bit 1: re-announced after a restart; bit 2: deleverage (trade with the counterparty at the limit)")] public byte Flags;
    /// <summary>The account.</summary>
    [FieldOffset(4), Wire("account id")] public int Account;
    /// <summary>1, 2, 3 … from this engine; increasing per account: the liquidator's idempotency key with the account, and the order's id at the matching engine.</summary>
    [FieldOffset(8), Wire("1, 2, 3 ... from this engine, increasing per account: the idempotency key and order id")] public long PlanId;
    /// <summary>The instrument.</summary>
    [FieldOffset(16), Wire("instrument id")] public int Instrument;
    /// <summary>The account's margin mode.</summary>
    [FieldOffset(20), Wire("the account's margin mode")] public MarginMode MarginMode;
    /// <summary>Quantity to trade, positive.</summary>
    [FieldOffset(24), Wire("quantity, positive, at most the position")] public double Quantity;
    /// <summary>Worst acceptable price: the mark moved against the account by the band, on the tick.</summary>
    [FieldOffset(32), Wire("limit price: the mark moved by the band against the account, on the tick")] public double LimitPrice;
    /// <summary>The liquidation fee at the limit.</summary>
    [FieldOffset(40), Wire("liquidation fee at the limit price")] public double Fee;
    /// <summary>Equity when it was sized.</summary>
    [FieldOffset(48), Wire("equity when sized")] public double Equity;
    /// <summary>Business time of what made the engine size it.</summary>
    [FieldOffset(56), Wire("business time of the cause")] public long TimestampNanos;
    /// <summary>Monotonic clock at the publish of the cause.</summary>
    [FieldOffset(64), Wire("CLOCK_MONOTONIC ns at the publish of the cause")] public long SourcePublishTicks;
    /// <summary>Monotonic clock when published (by the engine on the breach ring, by the liquidator on the order ring).</summary>
    [FieldOffset(72), Wire("CLOCK_MONOTONIC ns when this ring's writer published it")] public long PublishTicks;
    /// <summary>Deleverage orders: the account that takes the other side, at <see cref="LimitPrice"/> (the bankruptcy price); otherwise −1.</summary>
    [FieldOffset(80), Wire("deleverage: the account taking the other side at the limit (the bankruptcy price); else -1")] public int Counterparty;

    /// <summary>True for a deleverage order (<see cref="LiquidationOrderDescriptor.Deleverage"/>).</summary>
    public readonly bool IsDeleverage => (Flags & LiquidationOrderDescriptor.Deleverage) != 0;

    /// <summary>The quantity signed as a fill of it would be (a sell negative).</summary>
    public readonly double SignedQuantity => Side == Core.Gate.OrderSide.Sell ? -Quantity : Quantity;
}

/// <summary>The order-check request on a gate request ring (56-byte payload of a 64-byte slot: one cache line).</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
[Wire("an order to check")]
public struct OrderCheckRequestMessage
{
    /// <summary><see cref="Gate.OrderCheckRequestDescriptor.MessageType"/>.</summary>
    [FieldOffset(0), Wire("20")] public ushort MessageType;
    /// <summary>Layout version.</summary>
    [FieldOffset(2), Wire("layout version, 1")] public byte Version;
    /// <summary>Side.</summary>
    [FieldOffset(3), Wire("side")] public OrderSide Side;
    /// <summary>Order type.</summary>
    [FieldOffset(4), Wire("order type")] public OrderType OrderType;
    /// <summary>Time in force.</summary>
    [FieldOffset(5), Wire("time in force")] public TimeInForce TimeInForce;
    /// <summary>Bit 0: reduce-only.</summary>
    [FieldOffset(6), Wire("bit 0: reduce-only; bit 1: a quote under market-maker protection")] public byte Flags;
    /// <summary>Echoed in the response.</summary>
    [FieldOffset(8), Wire("echoed in the response")] public long CorrelationId;
    /// <summary>The account.</summary>
    [FieldOffset(16), Wire("account id")] public int Account;
    /// <summary>The instrument.</summary>
    [FieldOffset(20), Wire("instrument id")] public int Instrument;
    /// <summary>Quantity, positive.</summary>
    [FieldOffset(24), Wire("quantity, positive")] public double Quantity;
    /// <summary>Limit price (ignored for market orders).</summary>
    [FieldOffset(32), Wire("limit price (ignored for market orders)")] public double LimitPrice;
    /// <summary>0 .. 2^40 − 1.</summary>
    [FieldOffset(40), Wire("0 .. 2^40 - 1")] public long ClientOrderId;
    /// <summary>Unix ns: drives throttle, staleness and the duplicate window.</summary>
    [FieldOffset(48), Wire("Unix ns: throttle, staleness, duplicate window")] public long TimestampNanos;
}

/// <summary>The decision on a gate response ring (56-byte payload of a 64-byte slot).</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
[Wire("the decision")]
public struct OrderCheckResponseMessage
{
    /// <summary><see cref="Gate.OrderCheckResponseDescriptor.MessageType"/>.</summary>
    [FieldOffset(0), Wire("21")] public ushort MessageType;
    /// <summary>Layout version.</summary>
    [FieldOffset(2), Wire("layout version, 1")] public byte Version;
    /// <summary>None (0) = accepted; else why not.</summary>
    [FieldOffset(3), Wire("0 accepted, else why not")] public RejectReason Reason;
    /// <summary>From the request.</summary>
    [FieldOffset(8), Wire("from the request")] public long CorrelationId;
    /// <summary>The limit that failed (0 if accepted).</summary>
    [FieldOffset(16), Wire("the limit that failed")] public double Limit;
    /// <summary>The value that failed it.</summary>
    [FieldOffset(24), Wire("the value that failed it")] public double Actual;
    /// <summary>From the request.</summary>
    [FieldOffset(32), Wire("the request's timestamp")] public long RequestTimestamp;
}
