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
    protected override string MessageId(long ringSequence, ReadOnlySpan<byte> message) => SlotId(shard, ringSequence, message);
}

/// <summary>
/// Risk summaries out, on a shard's machine: the reader of the shard's summary ring, publishing
/// each summary to <c>{prefix}.summary.account.{shard}.{account}</c> (its summary in an underlying
/// to <c>….{account}.{underlying}</c>). The summary stream keeps the
/// latest message per subject, so it holds each account's current summary and a reader starting
/// from its beginning (a restarted aggregator) is current once it has read it. Unlike the breach
/// ring, a stopped bridge never holds up the engine: it skips summaries the ring has no room for
/// and sends the account's latest at its next sweep.
/// </summary>
public sealed class SummaryBridge(INatsJSContext js, JetStreamSection config, int shard, SharedRing ring, RingConsumer consumer)
    : RingPublisher(js, ring, consumer, RiskSummaryDescriptor.Size, config?.AckWindow ?? throw new ArgumentNullException(nameof(config)))
{
    private readonly JetStreamSection _config = config;

    /// <inheritdoc/>
    protected override string Subject(ReadOnlySpan<byte> message)
    {
        ref readonly var m = ref WireMessage.Read<RiskSummaryMessage>(message);
        return _config.AccountSummarySubject(shard, m.Account, m.Underlying);
    }

    /// <inheritdoc/>
    protected override string MessageId(long ringSequence, ReadOnlySpan<byte> message) => SlotId(shard, ringSequence, message);
}
