using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Wire;

namespace LowLatencyRisk.Engine.Gate;

/// <summary>
/// The order-check request on a gate request ring: one <see cref="OrderCheckRequestMessage"/> in the
/// 56-byte payload of a 64-byte slot, so a request is one cache line. (The gate messages keep their
/// own 8-byte header rather than the feed's 32-byte one, which would push the request into a second line.)
/// </summary>
public static class OrderCheckRequestDescriptor
{
    /// <summary>Message type.</summary>
    public const ushort MessageType = 20;
    /// <summary>Layout version.</summary>
    public const byte Version = 1;
    /// <summary>Bytes used.</summary>
    public const int Size = 56;

    /// <summary>Encodes a request.</summary>
    public static void Write(Span<byte> payload, long correlationId, in OrderRequest order, long timestampNanos)
    {
        ref var m = ref WireMessage.As<OrderCheckRequestMessage>(payload);
        m = default;
        m.MessageType = MessageType;
        m.Version = Version;
        m.Side = order.Side;
        m.OrderType = order.Type;
        m.TimeInForce = order.TimeInForce;
        m.Flags = (byte)((order.ReduceOnly ? 1 : 0) | (order.MmpProtected ? 2 : 0));
        m.CorrelationId = correlationId;
        m.Account = order.Account;
        m.Instrument = order.Instrument;
        m.Quantity = order.Quantity;
        m.LimitPrice = order.LimitPrice;
        m.ClientOrderId = order.ClientOrderId;
        m.TimestampNanos = timestampNanos;
    }

    /// <summary>
    /// Decodes a request; false (with the correlation id still read) when the type or version is
    /// not this layout's. Field values are not judged here: the gate rejects bad ones with a reason.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out long correlationId, out OrderRequest order, out long timestampNanos)
    {
        if (payload.Length < Size)
        {
            correlationId = payload.Length >= 16 ? WireMessage.Read<long>(payload[8..]) : 0;
            order = default;
            timestampNanos = 0;
            return false;
        }

        ref readonly var m = ref WireMessage.Read<OrderCheckRequestMessage>(payload);
        correlationId = m.CorrelationId;
        if (m.MessageType != MessageType || m.Version != Version)
        {
            order = default;
            timestampNanos = 0;
            return false;
        }

        order = new OrderRequest(m.Account, m.Instrument, m.Side, m.Quantity, m.LimitPrice, m.OrderType, m.ClientOrderId, m.TimeInForce, (m.Flags & 1) != 0, (m.Flags & 2) != 0);
        timestampNanos = m.TimestampNanos;
        return true;
    }
}

/// <summary>The decision on a gate response ring: one <see cref="OrderCheckResponseMessage"/> in the 56-byte payload of a 64-byte slot.</summary>
public static class OrderCheckResponseDescriptor
{
    /// <summary>Message type.</summary>
    public const ushort MessageType = 21;
    /// <summary>Layout version.</summary>
    public const byte Version = 1;
    /// <summary>Bytes used.</summary>
    public const int Size = 56;

    /// <summary>Encodes a response.</summary>
    public static void Write(Span<byte> payload, long correlationId, in Decision decision, long requestTimestampNanos)
    {
        ref var m = ref WireMessage.As<OrderCheckResponseMessage>(payload);
        m = default;
        m.MessageType = MessageType;
        m.Version = Version;
        m.Reason = decision.Reason;
        m.CorrelationId = correlationId;
        m.Limit = decision.Limit;
        m.Actual = decision.Actual;
        m.RequestTimestamp = requestTimestampNanos;
    }

    /// <summary>Decodes a response; false if the type or version is not this layout's.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out long correlationId, out Decision decision)
    {
        if (payload.Length < Size || WireMessage.Read<OrderCheckResponseMessage>(payload) is not { MessageType: MessageType, Version: Version } m)
        {
            correlationId = 0;
            decision = default;
            return false;
        }

        correlationId = m.CorrelationId;
        decision = new Decision(m.Reason, m.Limit, m.Actual);
        return true;
    }
}
