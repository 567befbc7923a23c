using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using NATS.Client.JetStream;

namespace LowLatencyRisk.Distributed;

/// <summary>
/// Breaches out, on a shard's machine: a second consumer of the shard's breach ring (beside the
/// local liquidator; <c>rings.breachConsumers</c> 2) that publishes every downstream message —
/// breaches, liquidation orders, mass cancels — to <c>{prefix}.breach.{shard}</c>, where liquidators
/// and risk systems on other machines read them with durable consumers.
/// </summary>
/// <remarks>
/// The message id is the shard, the ring sequence and a 64-bit hash of the payload: the same slot
/// read again after a restart of the bridge has the same id (JetStream drops the copy), and a new
/// message in a re-created ring whose sequences start again does not. Like every consumer of the
/// breach ring the bridge gates the engine: a bridge that stops fills the ring and the venue goes
/// risk-off rather than lose a breach.
/// </remarks>
public sealed class BreachBridge(INatsJSContext js, JetStreamSection config, int shard, SharedRing ring, RingConsumer consumer)
    : RingPublisher(js, ring, consumer, BreachMessageDescriptor.SlotSize - 8 /* the slot's stamp */, config?.AckWindow ?? throw new ArgumentNullException(nameof(config)))
{
    private readonly string _subject = config.BreachSubject(shard);

    /// <inheritdoc/>
    protected override string Subject(ReadOnlySpan<byte> message) => _subject;

    /// <inheritdoc/>
    protected override string MessageId(long ringSequence, ReadOnlySpan<byte> message)
    {
        ulong h = 14695981039346656037;
        foreach (byte b in message)
        {
            h = (h ^ b) * 1099511628211;
        }

        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{shard}-{ringSequence}-{h:x16}");
    }
}
