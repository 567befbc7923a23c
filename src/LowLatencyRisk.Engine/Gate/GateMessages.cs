using System.Buffers.Binary;
using LowLatencyRisk.Core.Gate;

namespace LowLatencyRisk.Engine.Gate;

/// <summary>
/// The order-check request on the gate's request ring (56-byte payload of a 64-byte slot; little-endian).
/// </summary>
/// <code>
/// Offset Size Field
///      0    2 MessageType      20 = order-check request
///      2    1 Version          1
///      3    1 Side             1 buy, 2 sell
///      4    1 OrderType        0 limit, 1 market
///      5    1 TimeInForce      0 GTC, 1 IOC, 2 FOK, 3 day
///      6    1 Flags            bit 0: reduce-only
///      7    1 reserved         0
///      8    8 CorrelationId    echoed in the response
///     16    4 Account
///     20    4 Instrument
///     24    8 Quantity         double
///     32    8 LimitPrice       double (ignored for market orders)
///     40    8 ClientOrderId    0 .. 2^40 − 1
///     48    8 TimestampNanos   Unix ns: drives throttle, staleness and the duplicate window
/// </code>
public static class OrderCheckRequestDescriptor
{
    /// <summary>Message type.</summary>
    public const ushort MessageType = 20;
    /// <summary>Layout version.</summary>
    public const byte Version = 1;
    /// <summary>Bytes used.</summary>
    public const int Size = 56;
    /// <summary>Offsets.</summary>
    public const int MessageTypeOffset = 0, VersionOffset = 2, SideOffset = 3, OrderTypeOffset = 4, TimeInForceOffset = 5, FlagsOffset = 6,
        CorrelationIdOffset = 8, AccountOffset = 16, InstrumentOffset = 20, QuantityOffset = 24, LimitPriceOffset = 32, ClientOrderIdOffset = 40, TimestampOffset = 48;

    /// <summary>Encodes a request.</summary>
    public static void Write(Span<byte> payload, long correlationId, in OrderRequest order, long timestampNanos)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(payload.Length, Size);
        BinaryPrimitives.WriteUInt16LittleEndian(payload, MessageType);
        payload[VersionOffset] = Version;
        payload[SideOffset] = (byte)order.Side;
        payload[OrderTypeOffset] = (byte)order.Type;
        payload[TimeInForceOffset] = (byte)order.TimeInForce;
        payload[FlagsOffset] = order.ReduceOnly ? (byte)1 : (byte)0;
        payload[7] = 0;
        BinaryPrimitives.WriteInt64LittleEndian(payload[CorrelationIdOffset..], correlationId);
        BinaryPrimitives.WriteInt32LittleEndian(payload[AccountOffset..], order.Account);
        BinaryPrimitives.WriteInt32LittleEndian(payload[InstrumentOffset..], order.Instrument);
        BinaryPrimitives.WriteDoubleLittleEndian(payload[QuantityOffset..], order.Quantity);
        BinaryPrimitives.WriteDoubleLittleEndian(payload[LimitPriceOffset..], order.LimitPrice);
        BinaryPrimitives.WriteInt64LittleEndian(payload[ClientOrderIdOffset..], order.ClientOrderId);
        BinaryPrimitives.WriteInt64LittleEndian(payload[TimestampOffset..], timestampNanos);
    }

    /// <summary>
    /// Decodes a request; false (with the correlation id still read) when the type or version is
    /// not this layout's. Field values are not judged here: the gate rejects bad ones with a reason.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out long correlationId, out OrderRequest order, out long timestampNanos)
    {
        correlationId = payload.Length >= 16 ? BinaryPrimitives.ReadInt64LittleEndian(payload[CorrelationIdOffset..]) : 0;
        if (payload.Length < Size || BinaryPrimitives.ReadUInt16LittleEndian(payload) != MessageType || payload[VersionOffset] != Version)
        {
            order = default;
            timestampNanos = 0;
            return false;
        }

        order = new OrderRequest(
            BinaryPrimitives.ReadInt32LittleEndian(payload[AccountOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(payload[InstrumentOffset..]),
            (OrderSide)payload[SideOffset],
            BinaryPrimitives.ReadDoubleLittleEndian(payload[QuantityOffset..]),
            BinaryPrimitives.ReadDoubleLittleEndian(payload[LimitPriceOffset..]),
            (OrderType)payload[OrderTypeOffset],
            BinaryPrimitives.ReadInt64LittleEndian(payload[ClientOrderIdOffset..]),
            (TimeInForce)payload[TimeInForceOffset],
            (payload[FlagsOffset] & 1) != 0);
        timestampNanos = BinaryPrimitives.ReadInt64LittleEndian(payload[TimestampOffset..]);
        return true;
    }
}

/// <summary>The decision on the gate's response ring (56-byte payload; little-endian).</summary>
/// <code>
/// Offset Size Field
///      0    2 MessageType      21 = order-check response
///      2    1 Version          1
///      3    1 Reason           RejectReason; 0 = accepted
///      4    4 reserved         0
///      8    8 CorrelationId    from the request
///     16    8 Limit            double: the limit that failed (0 if accepted)
///     24    8 Actual           double: the value that failed it
///     32    8 RequestTimestamp from the request
///     40   16 reserved         0
/// </code>
public static class OrderCheckResponseDescriptor
{
    /// <summary>Message type.</summary>
    public const ushort MessageType = 21;
    /// <summary>Layout version.</summary>
    public const byte Version = 1;
    /// <summary>Bytes used.</summary>
    public const int Size = 56;
    /// <summary>Offsets.</summary>
    public const int MessageTypeOffset = 0, VersionOffset = 2, ReasonOffset = 3, CorrelationIdOffset = 8, LimitOffset = 16, ActualOffset = 24, RequestTimestampOffset = 32;

    /// <summary>Encodes a response.</summary>
    public static void Write(Span<byte> payload, long correlationId, in Decision decision, long requestTimestampNanos)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(payload.Length, Size);
        payload[..Size].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(payload, MessageType);
        payload[VersionOffset] = Version;
        payload[ReasonOffset] = (byte)decision.Reason;
        BinaryPrimitives.WriteInt64LittleEndian(payload[CorrelationIdOffset..], correlationId);
        BinaryPrimitives.WriteDoubleLittleEndian(payload[LimitOffset..], decision.Limit);
        BinaryPrimitives.WriteDoubleLittleEndian(payload[ActualOffset..], decision.Actual);
        BinaryPrimitives.WriteInt64LittleEndian(payload[RequestTimestampOffset..], requestTimestampNanos);
    }

    /// <summary>Decodes a response; false if the type or version is not this layout's.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out long correlationId, out Decision decision)
    {
        if (payload.Length < Size || BinaryPrimitives.ReadUInt16LittleEndian(payload) != MessageType || payload[VersionOffset] != Version)
        {
            correlationId = 0;
            decision = default;
            return false;
        }

        correlationId = BinaryPrimitives.ReadInt64LittleEndian(payload[CorrelationIdOffset..]);
        decision = new Decision((RejectReason)payload[ReasonOffset],
            BinaryPrimitives.ReadDoubleLittleEndian(payload[LimitOffset..]),
            BinaryPrimitives.ReadDoubleLittleEndian(payload[ActualOffset..]));
        return true;
    }
}
