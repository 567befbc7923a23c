using System.Buffers.Binary;
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
}

/// <summary>Scope of a <see cref="FeedMessageType.LimitChange"/>.</summary>
public enum LimitScope : byte
{
    /// <summary>An instrument's limit.</summary>
    Instrument = 1,
    /// <summary>An account's limit.</summary>
    Account = 2,
}

/// <summary>Which limit a <see cref="FeedMessageType.LimitChange"/> sets (the meaning depends on the scope).</summary>
public enum LimitField : byte
{
    /// <summary>Instrument: largest order quantity. Account: credit limit.</summary>
    MaxOrderQuantityOrCredit = 1,
    /// <summary>Instrument: largest order notional. Account: position limit per underlying.</summary>
    MaxOrderNotionalOrUnderlyingPosition = 2,
    /// <summary>Instrument: smallest order quantity. Account: throttle rate (orders/s).</summary>
    MinQuantityOrThrottleRate = 3,
    /// <summary>Instrument: price band (fraction). Account: throttle burst.</summary>
    PriceBandOrThrottleBurst = 4,
    /// <summary>Instrument: position limit. Account: enabled (value 1) or disabled (0).</summary>
    PositionLimitOrEnabled = 5,
    /// <summary>Instrument: halted (value 1) or trading (0).</summary>
    Halted = 6,
}

/// <summary>
/// The feed ring's messages: 128-byte slots (120-byte payload), little-endian, a 32-byte header
/// then a type-specific body. Mirrored by <c>native-interop/include/llr/llr_ipc.h</c> once that lands.
/// </summary>
/// <code>
/// Header
/// Offset Size Field
///      0    1 Type              FeedMessageType
///      1    1 Version           1
///      2    2 ProducerId        0..63
///      4    4 ProducerEpoch     u32: the producer's session; a restarted producer raises it and starts its sequence again at 1
///      8    8 ProducerSequence  1, 2, 3 … per producer and epoch: a repeat or an older one is a duplicate; a jump beyond
///                               the engine's window is refused (not adopted); a smaller jump is counted as a gap and applied
///     16    8 TimestampNanos    Unix ns, business time (marks, staleness, throttles)
///     24    8 PublishTicks      monotonic clock (CLOCK_MONOTONIC ns) at publish, for latency only
/// IndexPrice          32 i32 Underlying, 40 f64 Price
/// OptionMark          32 i32 Instrument, 40 f64 Volatility, 48 f64 Price (informational)
/// Fill                32 i32 Account, 36 i32 Instrument, 40 f64 Quantity (+buy/−sell), 48 f64 Price, 56 i64 TradeId
/// OrderLifecycle      32 i32 Account, 36 u8 Event (1 filled, 2 cancelled, 3 expired), 40 i64 ClientOrderId, 48 f64 FilledQuantity
/// Collateral          32 i32 Account, 36 i32 Asset, 40 f64 Balance
/// KillSwitch          32 u8 Scope (0 venue, 1 underlying, 2 account), 33 u8 On, 36 i32 Id
/// Heartbeat           (no body)
/// InstrumentDefinition 32 i32 Instrument, 36 i32 Underlying, 40 f64 Strike, 48 i64 ExpiryNanos, 56 f64 Multiplier,
///                     64 f64 TickSize, 72 f64 LotSize, 80 u8 Kind (0 spot, 1 future, 2 perpetual, 3 call, 4 put)
/// LimitChange         32 u8 Scope (1 instrument, 2 account), 33 u8 Field (LimitField), 36 i32 Id, 40 f64 Value
/// MarginMode          32 i32 Account, 36 i32 Parent (isolated; else −1), 40 i32 Instrument (isolated; else −1),
///                     44 u8 Mode (0 portfolio, 1 standard, 2 isolated)
/// CollateralTransfer  32 i32 FromAccount, 36 i32 ToAccount, 40 f64 Amount (units of the asset, positive), 48 i32 Asset
/// </code>
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

    /// <summary>Header offsets.</summary>
    public const int TypeOffset = 0, VersionOffset = 1, ProducerIdOffset = 2, ProducerEpochOffset = 4, ProducerSequenceOffset = 8, TimestampOffset = 16, PublishTicksOffset = 24, BodyOffset = 32;

    /// <summary>Body offsets.</summary>
    public const int Int0 = 32, Int1 = 36, Double0 = 40, Double1 = 48, Long2 = 56, Byte0 = 32, Byte1 = 33, Byte4 = 36;

    /// <summary>Instrument definition body offsets.</summary>
    public const int DefinitionStrike = 40, DefinitionExpiry = 48, DefinitionMultiplier = 56, DefinitionTickSize = 64, DefinitionLotSize = 72, DefinitionKind = 80;

    /// <summary>Order lifecycle body offsets (the client order id is an i64).</summary>
    public const int LifecycleAccount = 32, LifecycleEvent = 36, LifecycleClientOrderId = 40, LifecycleFilledQuantity = 48;

    /// <summary>Kill switch body offsets.</summary>
    public const int KillSwitchScope = 32, KillSwitchOn = 33, KillSwitchId = 36;

    /// <summary>Margin mode body offsets.</summary>
    public const int ModeAccount = 32, ModeParent = 36, ModeInstrument = 40, ModeValue = 44;

    /// <summary>Collateral transfer body offsets.</summary>
    public const int TransferFrom = 32, TransferTo = 36, TransferAmount = 40, TransferAsset = 48;

    /// <summary>Writes the header (producer epoch 0).</summary>
    public static void WriteHeader(Span<byte> p, FeedMessageType type, int producerId, long producerSequence, long timestampNanos, long publishTicks) =>
        WriteHeader(p, type, producerId, 0, producerSequence, timestampNanos, publishTicks);

    /// <summary>Writes the header with a producer epoch (see the layout: a restarted producer raises its epoch and starts again at sequence 1).</summary>
    public static void WriteHeader(Span<byte> p, FeedMessageType type, int producerId, uint producerEpoch, long producerSequence, long timestampNanos, long publishTicks)
    {
        if ((uint)producerId >= MaxProducers)
        {
            ThrowBadProducer(producerId); // refused at the source: the engine would refuse every message
        }

        p[..BodyOffset].Clear();
        p[TypeOffset] = (byte)type;
        p[VersionOffset] = Version;
        BinaryPrimitives.WriteUInt16LittleEndian(p[ProducerIdOffset..], (ushort)producerId);
        BinaryPrimitives.WriteUInt32LittleEndian(p[ProducerEpochOffset..], producerEpoch);
        BinaryPrimitives.WriteInt64LittleEndian(p[ProducerSequenceOffset..], producerSequence);
        BinaryPrimitives.WriteInt64LittleEndian(p[TimestampOffset..], timestampNanos);
        BinaryPrimitives.WriteInt64LittleEndian(p[PublishTicksOffset..], publishTicks);
    }

    /// <summary>An index price.</summary>
    public static void WriteIndexPrice(Span<byte> p, int underlying, double price)
    {
        BinaryPrimitives.WriteInt32LittleEndian(p[Int0..], underlying);
        BinaryPrimitives.WriteDoubleLittleEndian(p[Double0..], price);
    }

    /// <summary>An option mark.</summary>
    public static void WriteOptionMark(Span<byte> p, int instrument, double volatility, double price)
    {
        BinaryPrimitives.WriteInt32LittleEndian(p[Int0..], instrument);
        BinaryPrimitives.WriteDoubleLittleEndian(p[Double0..], volatility);
        BinaryPrimitives.WriteDoubleLittleEndian(p[Double1..], price);
    }

    /// <summary>A fill.</summary>
    public static void WriteFill(Span<byte> p, int account, int instrument, double quantity, double price, long tradeId)
    {
        BinaryPrimitives.WriteInt32LittleEndian(p[Int0..], account);
        BinaryPrimitives.WriteInt32LittleEndian(p[Int1..], instrument);
        BinaryPrimitives.WriteDoubleLittleEndian(p[Double0..], quantity);
        BinaryPrimitives.WriteDoubleLittleEndian(p[Double1..], price);
        BinaryPrimitives.WriteInt64LittleEndian(p[Long2..], tradeId);
    }

    /// <summary>An order lifecycle event.</summary>
    public static void WriteOrderLifecycle(Span<byte> p, int account, byte lifecycleEvent, long clientOrderId, double filledQuantity)
    {
        BinaryPrimitives.WriteInt32LittleEndian(p[LifecycleAccount..], account);
        p[LifecycleEvent] = lifecycleEvent;
        BinaryPrimitives.WriteInt64LittleEndian(p[LifecycleClientOrderId..], clientOrderId);
        BinaryPrimitives.WriteDoubleLittleEndian(p[LifecycleFilledQuantity..], filledQuantity);
    }

    /// <summary>A collateral balance.</summary>
    public static void WriteCollateral(Span<byte> p, int account, int asset, double balance)
    {
        BinaryPrimitives.WriteInt32LittleEndian(p[Int0..], account);
        BinaryPrimitives.WriteInt32LittleEndian(p[Int1..], asset);
        BinaryPrimitives.WriteDoubleLittleEndian(p[Double0..], balance);
    }

    /// <summary>A kill switch.</summary>
    public static void WriteKillSwitch(Span<byte> p, byte scope, int id, bool on)
    {
        p[KillSwitchScope] = scope;
        p[KillSwitchOn] = on ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32LittleEndian(p[KillSwitchId..], id);
    }

    /// <summary>An instrument definition.</summary>
    public static void WriteInstrumentDefinition(Span<byte> p, int instrument, InstrumentSpec spec)
    {
        BinaryPrimitives.WriteInt32LittleEndian(p[Int0..], instrument);
        BinaryPrimitives.WriteInt32LittleEndian(p[Int1..], spec.Underlying);
        BinaryPrimitives.WriteDoubleLittleEndian(p[DefinitionStrike..], spec.Strike);
        BinaryPrimitives.WriteInt64LittleEndian(p[DefinitionExpiry..], spec.ExpiryNanos);
        BinaryPrimitives.WriteDoubleLittleEndian(p[DefinitionMultiplier..], spec.Multiplier);
        BinaryPrimitives.WriteDoubleLittleEndian(p[DefinitionTickSize..], spec.TickSize);
        BinaryPrimitives.WriteDoubleLittleEndian(p[DefinitionLotSize..], spec.LotSize);
        p[DefinitionKind] = (byte)spec.Kind;
    }

    /// <summary>Reads an instrument definition body.</summary>
    public static InstrumentSpec ReadInstrumentDefinition(ReadOnlySpan<byte> p, out int instrument)
    {
        instrument = ReadInt(p, Int0);
        return new InstrumentSpec((InstrumentKind)p[DefinitionKind], ReadInt(p, Int1), ReadDouble(p, DefinitionStrike), ReadLong(p, DefinitionExpiry),
            ReadDouble(p, DefinitionMultiplier), ReadDouble(p, DefinitionTickSize), ReadDouble(p, DefinitionLotSize));
    }

    /// <summary>A limit change.</summary>
    public static void WriteLimitChange(Span<byte> p, LimitScope scope, LimitField field, int id, double value)
    {
        p[Byte0] = (byte)scope;
        p[Byte1] = (byte)field;
        BinaryPrimitives.WriteInt32LittleEndian(p[Int1..], id);
        BinaryPrimitives.WriteDoubleLittleEndian(p[Double0..], value);
    }

    /// <summary>A margin mode change (<paramref name="parent"/> and <paramref name="instrument"/> −1 unless isolated).</summary>
    public static void WriteMarginMode(Span<byte> p, int account, MarginMode mode, int parent = -1, int instrument = -1)
    {
        BinaryPrimitives.WriteInt32LittleEndian(p[ModeAccount..], account);
        BinaryPrimitives.WriteInt32LittleEndian(p[ModeParent..], parent);
        BinaryPrimitives.WriteInt32LittleEndian(p[ModeInstrument..], instrument);
        p[ModeValue] = (byte)mode;
    }

    /// <summary>A collateral transfer between an isolated account and its parent.</summary>
    public static void WriteCollateralTransfer(Span<byte> p, int from, int to, int asset, double amount)
    {
        BinaryPrimitives.WriteInt32LittleEndian(p[TransferFrom..], from);
        BinaryPrimitives.WriteInt32LittleEndian(p[TransferTo..], to);
        BinaryPrimitives.WriteDoubleLittleEndian(p[TransferAmount..], amount);
        BinaryPrimitives.WriteInt32LittleEndian(p[TransferAsset..], asset);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBadProducer(int producerId) =>
        throw new ArgumentOutOfRangeException(nameof(producerId), producerId, $"producer ids are 0..{MaxProducers - 1}");

    /// <summary>Reads an int32 body field.</summary>
    public static int ReadInt(ReadOnlySpan<byte> p, int offset) => BinaryPrimitives.ReadInt32LittleEndian(p[offset..]);

    /// <summary>Reads an int64 field.</summary>
    public static long ReadLong(ReadOnlySpan<byte> p, int offset) => BinaryPrimitives.ReadInt64LittleEndian(p[offset..]);

    /// <summary>Reads a double field.</summary>
    public static double ReadDouble(ReadOnlySpan<byte> p, int offset) => BinaryPrimitives.ReadDoubleLittleEndian(p[offset..]);
}

/// <summary>
/// A margin breach on the breach ring: 128-byte slots (120-byte payload), little-endian.
/// </summary>
/// <code>
/// Offset Size Field
///      0    1 Type              16 = margin breach
///      1    1 Version           3
///      2    1 FromState         0 healthy, 1 margin call, 2 liquidation (the first from-state when changes were coalesced)
///      3    1 ToState           the account's latest state
///      4    4 Account
///      8    8 BreachSequence    1, 2, 3 … from this engine
///     16    8 TimestampNanos    business time of the event that caused it
///     24    8 SourcePublishTicks monotonic clock at the publish of that event (latency)
///     32    8 Equity            double
///     40    8 InitialMargin     double
///     48    8 MaintenanceMargin double
///     56    1 CandidateCount    0..3
///     57    1 Cause             1 a fill or collateral change, 2 the revaluation after marks, 3 recovery (current state re-announced)
///     58    1 MarginMode        the account's mode: 0 portfolio, 1 standard, 2 isolated (the account is then an isolated
///                               position: its candidates name its one instrument, and liquidating it touches nothing else)
///     59    1 reserved          0
///     60    4 Replaced          state changes of this account folded into this breach while it waited for room (0 normally):
///                               the message stands for 1 + Replaced changes; From may equal To after a round trip
///     64   48 Candidates[3]     i32 Instrument, i32 reserved, f64 Quantity: heaviest in the worst scenario first (liquidation triggers only; 0 candidates on a margin call)
///    112    8 PublishTicks      monotonic clock when the engine published this breach
/// </code>
/// <remarks>
/// Nothing is dropped: a breach that finds the ring full waits in a preallocated slot of its
/// account (one per account, so the wait cannot overflow); further changes of that account fold
/// into it (first from-state, latest to-state and numbers, <c>Replaced</c> counted). A reader's
/// last message per account is therefore always the account's current state, and
/// Σ (1 + Replaced) over the messages read equals the engine's count of state changes.
/// </remarks>
public static class BreachMessageDescriptor
{
    /// <summary>Slot size of the breach ring.</summary>
    public const int SlotSize = 128;
    /// <summary>Message type.</summary>
    public const byte MessageType = 16;
    /// <summary>Layout version.</summary>
    public const byte Version = 3; // 3: the account's margin mode at 58
    /// <summary>Liquidation candidates carried.</summary>
    public const int MaxCandidates = 3;
    /// <summary>Offsets.</summary>
    public const int TypeOffset = 0, VersionOffset = 1, FromOffset = 2, ToOffset = 3, AccountOffset = 4, SequenceOffset = 8, TimestampOffset = 16,
        SourcePublishTicksOffset = 24, EquityOffset = 32, InitialOffset = 40, MaintenanceOffset = 48, CandidateCountOffset = 56, CauseOffset = 57, ModeOffset = 58, ReplacedOffset = 60, CandidatesOffset = 64, CandidateSize = 16, PublishTicksOffset = 112;

    /// <summary>Cause: a fill or collateral change.</summary>
    public const byte CauseTrade = 1;
    /// <summary>Cause: the revaluation after marks.</summary>
    public const byte CauseRevaluation = 2;
    /// <summary>Cause: the engine recovered from its journal and announces the account's current state.</summary>
    public const byte CauseRecovery = 3;
}
