using LowLatencyRisk.Core.Book;

namespace LowLatencyRisk.Engine.Wire;

/// <summary>Feed message types.</summary>
public enum FeedMessageType : byte
{
    /// <summary>Index price of an underlying.</summary>
    IndexPrice = 2,
    /// <summary>Mark implied volatility (and price) of an option.</summary>
    OptionMark = 3,
    /// <summary>A trade: signed quantity for one account.</summary>
    Fill = 4,
    /// <summary>An order left the book (cancelled or expired) or was partly filled: working exposure is released.</summary>
    OrderLifecycle = 5,
    /// <summary>A collateral balance.</summary>
    Collateral = 6,
    /// <summary>Kill switch on or off.</summary>
    KillSwitch = 7,
    /// <summary>Liveness.</summary>
    Heartbeat = 8,
    /// <summary>A new instrument (definitions are immutable once accepted).</summary>
    InstrumentDefinition = 9,
    /// <summary>A limit of an instrument or account (the gate's per-id overrides).</summary>
    LimitChange = 10,
    /// <summary>An account's margin mode: portfolio, standard, or isolated under a parent on one instrument.</summary>
    MarginMode = 11,
    /// <summary>Collateral moved between an isolated account and its parent.</summary>
    CollateralTransfer = 12,
    /// <summary>A recalibration of an underlying's size add-on.</summary>
    SizeAddOn = 13,
    /// <summary>An account's market-maker protection in an underlying (<see cref="MmpConfigMessage"/>).</summary>
    MmpConfig = 14,
    /// <summary>A perpetual's funding event (<see cref="FundingRateMessage"/>).</summary>
    FundingRate = 15,
    /// <summary>An underlying's scenario calibration (<see cref="ScenarioCalibrationMessage"/>). Types 16–18 are the downstream rings'.</summary>
    ScenarioCalibration = 19,
}

/// <summary>Scope of a <see cref="FeedMessageType.LimitChange"/>.</summary>
public enum LimitScope : byte
{
    /// <summary>An instrument's limit.</summary>
    Instrument = 1,
    /// <summary>An account's limit.</summary>
    Account = 2,
    /// <summary>An account's limit in one underlying (<see cref="LimitChangeMessage.Underlying"/>); field <see cref="LimitField.MaxOrderNotionalOrUnderlyingPosition"/> only.</summary>
    AccountUnderlying = 3,
}

/// <summary>Which limit a <see cref="FeedMessageType.LimitChange"/> sets (the meaning depends on the scope).</summary>
public enum LimitField : byte
{
    /// <summary>Instrument: largest order quantity. Account: credit limit.</summary>
    MaxOrderQuantityOrCredit = 1,
    /// <summary>Instrument: largest order notional. Account: position limit per underlying (every underlying; scope 3: the one named).</summary>
    MaxOrderNotionalOrUnderlyingPosition = 2,
    /// <summary>Instrument: smallest order quantity. Account: throttle rate (orders/s).</summary>
    MinQuantityOrThrottleRate = 3,
    /// <summary>Instrument: price band (fraction). Account: throttle burst.</summary>
    PriceBandOrThrottleBurst = 4,
    /// <summary>Instrument: position limit. Account: enabled (value 1) or disabled (0).</summary>
    PositionLimitOrEnabled = 5,
    /// <summary>Instrument: halted (value 1) or trading (0).</summary>
    Halted = 6,
    /// <summary>Account only: most working orders (a whole number ≥ 1, or +∞ for none).</summary>
    MaxOpenOrders = 7,
    /// <summary>Account only: largest loss since the start of the day (positive, or +∞ for none).</summary>
    DailyLossLimit = 8,
}

/// <summary>
/// The feed ring: 128-byte slots (an 8-byte stamp and a 120-byte payload), each payload one message
/// struct beginning with <see cref="FeedHeader"/> (<see cref="Messages"/> lists them; the README's
/// wire table and the C header are generated from those structs). The writers below fill a
/// payload through the typed structs, for producers and tests.
/// </summary>
public static class FeedMessageDescriptor
{
    /// <summary>Slot size of the feed ring.</summary>
    public const int SlotSize = 128;
    /// <summary>Payload bytes per slot (the slot less its 8-byte stamp); also a journal record's payload.</summary>
    public const int PayloadSize = SlotSize - 8;
    /// <summary>Layout version.</summary>
    public const byte Version = 1;
    /// <summary>Producer ids are below this.</summary>
    public const int MaxProducers = 64;
    /// <summary>Bytes of <see cref="FeedHeader"/>: a message's body begins here.</summary>
    public const int HeaderSize = 32;

    /// <summary>The message struct of each feed message type, in type order (the generator and the layout tests read it).</summary>
    public static IReadOnlyList<(FeedMessageType Type, Type Struct)> Messages { get; } =
    [
        (FeedMessageType.IndexPrice, typeof(IndexPriceMessage)),
        (FeedMessageType.OptionMark, typeof(OptionMarkMessage)),
        (FeedMessageType.Fill, typeof(FillMessage)),
        (FeedMessageType.OrderLifecycle, typeof(OrderLifecycleMessage)),
        (FeedMessageType.Collateral, typeof(CollateralMessage)),
        (FeedMessageType.KillSwitch, typeof(KillSwitchMessage)),
        (FeedMessageType.Heartbeat, typeof(HeartbeatMessage)),
        (FeedMessageType.InstrumentDefinition, typeof(InstrumentDefinitionMessage)),
        (FeedMessageType.LimitChange, typeof(LimitChangeMessage)),
        (FeedMessageType.MarginMode, typeof(MarginModeMessage)),
        (FeedMessageType.CollateralTransfer, typeof(CollateralTransferMessage)),
        (FeedMessageType.SizeAddOn, typeof(SizeAddOnMessage)),
        (FeedMessageType.MmpConfig, typeof(MmpConfigMessage)),
        (FeedMessageType.FundingRate, typeof(FundingRateMessage)),
        (FeedMessageType.ScenarioCalibration, typeof(ScenarioCalibrationMessage)),
    ];

    /// <summary>The header of a payload.</summary>
    public static ref readonly FeedHeader Header(ReadOnlySpan<byte> payload) => ref WireMessage.Read<FeedHeader>(payload);

    /// <summary>Writes the header (producer epoch 0).</summary>
    public static void WriteHeader(Span<byte> p, FeedMessageType type, int producerId, long producerSequence, long timestampNanos, long publishTicks) =>
        WriteHeader(p, type, producerId, 0, producerSequence, timestampNanos, publishTicks);

    /// <summary>Writes the header with a producer epoch (a restarted producer raises its epoch and starts again at sequence 1).</summary>
    public static void WriteHeader(Span<byte> p, FeedMessageType type, int producerId, uint producerEpoch, long producerSequence, long timestampNanos, long publishTicks)
    {
        if ((uint)producerId >= MaxProducers)
        {
            ThrowBadProducer(producerId); // refused at the source: the engine would refuse every message
        }

        ref var h = ref WireMessage.As<FeedHeader>(p);
        h = default;
        h.Type = type;
        h.Version = Version;
        h.ProducerId = (ushort)producerId;
        h.ProducerEpoch = producerEpoch;
        h.ProducerSequence = producerSequence;
        h.TimestampNanos = timestampNanos;
        h.PublishTicks = publishTicks;
    }

    /// <summary>An index price.</summary>
    public static void WriteIndexPrice(Span<byte> p, int underlying, double price)
    {
        ref var m = ref WireMessage.As<IndexPriceMessage>(p);
        m.Underlying = underlying;
        m.Price = price;
    }

    /// <summary>An option mark.</summary>
    public static void WriteOptionMark(Span<byte> p, int instrument, double volatility, double price)
    {
        ref var m = ref WireMessage.As<OptionMarkMessage>(p);
        m.Instrument = instrument;
        m.Volatility = volatility;
        m.Price = price;
    }

    /// <summary>A fill (<paramref name="flags"/>: <see cref="FillMessage.Maker"/> for a maker fill).</summary>
    public static void WriteFill(Span<byte> p, int account, int instrument, double quantity, double price, long tradeId, byte flags = 0)
    {
        ref var m = ref WireMessage.As<FillMessage>(p);
        m.Account = account;
        m.Instrument = instrument;
        m.Quantity = quantity;
        m.Price = price;
        m.TradeId = tradeId;
        m.Flags = flags; // always written: a reused slot holds the bytes of an earlier message
    }

    /// <summary>A market-maker protection change.</summary>
    public static void WriteMmpConfig(Span<byte> p, int account, int underlying, MmpAction action, in Core.Gate.MmpSettings settings)
    {
        ref var m = ref WireMessage.As<MmpConfigMessage>(p);
        m.Account = account;
        m.Underlying = underlying;
        m.IntervalNanos = settings.IntervalNanos;
        m.FrozenNanos = settings.FrozenNanos;
        m.QuantityLimit = settings.QuantityLimit;
        m.DeltaLimit = settings.DeltaLimit;
        m.VegaLimit = settings.VegaLimit;
        m.Action = action;
    }

    /// <summary>A perpetual's funding event.</summary>
    public static void WriteFundingRate(Span<byte> p, int instrument, double rate, long intervalNanos, long fundingTimeNanos)
    {
        ref var m = ref WireMessage.As<FundingRateMessage>(p);
        m.Instrument = instrument;
        m.Rate = rate;
        m.IntervalNanos = intervalNanos;
        m.FundingTimeNanos = fundingTimeNanos;
    }

    /// <summary>An underlying's scenario calibration.</summary>
    public static void WriteScenarioCalibration(Span<byte> p, int underlying, in Core.Risk.ScenarioParameters c)
    {
        ref var m = ref WireMessage.As<ScenarioCalibrationMessage>(p);
        m.Underlying = underlying;
        m.PriceScanRange = c.PriceScanRange;
        m.VolScanRange = c.VolScanRange;
        m.VolUp = c.VolUp;
        m.VolDown = c.VolDown;
        m.MinVolForShockUp = c.MinVolForShockUp;
        m.ExtendedDampener = c.ExtendedDampener;
        m.BasisAnnualMove = c.BasisAnnualMove;
        m.BasisMinimumMove = c.BasisMinimumMove;
    }

    /// <summary>An order lifecycle event.</summary>
    public static void WriteOrderLifecycle(Span<byte> p, int account, OrderLifecycleEvent lifecycleEvent, long clientOrderId, double filledQuantity)
    {
        ref var m = ref WireMessage.As<OrderLifecycleMessage>(p);
        m.Account = account;
        m.Event = lifecycleEvent;
        m.ClientOrderId = clientOrderId;
        m.FilledQuantity = filledQuantity;
    }

    /// <summary>A collateral balance.</summary>
    public static void WriteCollateral(Span<byte> p, int account, int asset, double balance)
    {
        ref var m = ref WireMessage.As<CollateralMessage>(p);
        m.Account = account;
        m.Asset = asset;
        m.Balance = balance;
    }

    /// <summary>A kill switch.</summary>
    public static void WriteKillSwitch(Span<byte> p, KillSwitchScope scope, int id, bool on)
    {
        ref var m = ref WireMessage.As<KillSwitchMessage>(p);
        m.Scope = scope;
        m.On = on ? (byte)1 : (byte)0;
        m.Id = id;
    }

    /// <summary>An instrument definition.</summary>
    public static void WriteInstrumentDefinition(Span<byte> p, int instrument, InstrumentSpec spec)
    {
        ref var m = ref WireMessage.As<InstrumentDefinitionMessage>(p);
        m.Instrument = instrument;
        m.Underlying = spec.Underlying;
        m.Strike = spec.Strike;
        m.ExpiryNanos = spec.ExpiryNanos;
        m.Multiplier = spec.Multiplier;
        m.TickSize = spec.TickSize;
        m.LotSize = spec.LotSize;
        m.Kind = spec.Kind;
        m.Settlement = spec.Settlement;
    }

    /// <summary>A limit change.</summary>
    public static void WriteLimitChange(Span<byte> p, LimitScope scope, LimitField field, int id, double value) => WriteLimitChange(p, scope, field, id, value, 0);

    /// <summary>A limit change (<paramref name="underlying"/>: scope <see cref="LimitScope.AccountUnderlying"/> only).</summary>
    public static void WriteLimitChange(Span<byte> p, LimitScope scope, LimitField field, int id, double value, ushort underlying)
    {
        ref var m = ref WireMessage.As<LimitChangeMessage>(p);
        m.Scope = scope;
        m.Field = field;
        m.Underlying = underlying;
        m.Id = id;
        m.Value = value;
    }

    /// <summary>A margin mode change (<paramref name="parent"/> and <paramref name="instrument"/> −1 unless isolated).</summary>
    public static void WriteMarginMode(Span<byte> p, int account, MarginMode mode, int parent = -1, int instrument = -1)
    {
        ref var m = ref WireMessage.As<MarginModeMessage>(p);
        m.Account = account;
        m.Parent = parent;
        m.Instrument = instrument;
        m.Mode = mode;
    }

    /// <summary>A collateral transfer between an isolated account and its parent.</summary>
    public static void WriteCollateralTransfer(Span<byte> p, int from, int to, int asset, double amount)
    {
        ref var m = ref WireMessage.As<CollateralTransferMessage>(p);
        m.FromAccount = from;
        m.ToAccount = to;
        m.Amount = amount;
        m.Asset = asset;
    }

    /// <summary>A recalibration of an underlying's size add-on.</summary>
    public static void WriteSizeAddOn(Span<byte> p, int underlying, double baseRate, double bandScale, double shockThreshold, double shockFullAt, double maxShock, double vegaRate, AddOnCombine combine)
    {
        ref var m = ref WireMessage.As<SizeAddOnMessage>(p);
        m.Underlying = underlying;
        m.Combine = combine;
        m.BaseRate = baseRate;
        m.BandScale = bandScale;
        m.ShockThreshold = shockThreshold;
        m.ShockFullAt = shockFullAt;
        m.MaxShock = maxShock;
        m.VegaRate = vegaRate;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBadProducer(int producerId) =>
        throw new ArgumentOutOfRangeException(nameof(producerId), producerId, $"producer ids are 0..{MaxProducers - 1}");
}

/// <summary>Liquidation orders: type 17 on the breach ring (from the engine) and on the liquidation-order ring (from the liquidator), 128-byte slots.</summary>
public static class LiquidationOrderDescriptor
{
    /// <summary>Slot size of the liquidation-order ring.</summary>
    public const int SlotSize = 128;
    /// <summary>Message type.</summary>
    public const byte MessageType = 17;
    /// <summary>Layout version.</summary>
    public const byte Version = 2; // 2: deleverage orders (flag bit 2, the counterparty at 80)
    /// <summary>Payload bytes of the message.</summary>
    public const int Size = 88;
    /// <summary><see cref="LiquidationOrderMessage.Flags"/> bit: the order restores the target when filled.</summary>
    public const byte RestoresTarget = 1;
    /// <summary><see cref="LiquidationOrderMessage.Flags"/> bit: re-announced after an engine restart (the liquidator sends it only if it never did).</summary>
    public const byte Reannounced = 2;
    /// <summary>
    /// <see cref="LiquidationOrderMessage.Flags"/> bit: a deleverage order of the default waterfall —
    /// the matching engine trades it with <see cref="LiquidationOrderMessage.Counterparty"/> at the
    /// limit price (the bankruptcy price), not in the book.
    /// </summary>
    public const byte Deleverage = 4;
}

/// <summary>Mass cancels: type 18 on the breach ring (from the engine) and on the liquidation-order ring (from the liquidator).</summary>
public static class MassCancelDescriptor
{
    /// <summary>Message type.</summary>
    public const byte MessageType = 18;
    /// <summary>Layout version.</summary>
    public const byte Version = 1;
    /// <summary>Payload bytes of the message.</summary>
    public const int Size = 56;
}

/// <summary>The summary ring: 128-byte slots, each payload one <see cref="RiskSummaryMessage"/> (type 22).</summary>
public static class RiskSummaryDescriptor
{
    /// <summary>Slot size of the summary ring.</summary>
    public const int SlotSize = 128;
    /// <summary>Message type.</summary>
    public const byte MessageType = 22;
    /// <summary>Layout version.</summary>
    public const byte Version = 2; // 2: the summary in one underlying (underlying, position usage and limit)
    /// <summary>Payload bytes of the message.</summary>
    public const int Size = 104;
}

/// <summary>The breach ring: 128-byte slots, each payload one <see cref="BreachMessage"/>.</summary>
public static class BreachMessageDescriptor
{
    /// <summary>Slot size of the breach ring.</summary>
    public const int SlotSize = 128;
    /// <summary>Message type.</summary>
    public const byte MessageType = 16;
    /// <summary>Layout version.</summary>
    public const byte Version = 4; // 3: the account's margin mode at 58; 4: candidates as two arrays (quantities at 64, instruments at 88) so the open-order margin fits at 104
    /// <summary>Liquidation candidates carried.</summary>
    public const int MaxCandidates = 3;
}
