using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace LowLatencyRisk.Distributed;

/// <summary>
/// Feed in, on a shard's machine: a durable JetStream consumer of the feed stream that writes every
/// message, in stream order, into the shard's local feed ring as one more producer. The engine
/// applies its own accounts' messages and refuses the others (<c>OtherShard</c>).
/// </summary>
/// <remarks>
/// <para>Why the whole stream and not only <c>feed.all</c> and the shard's subject: a NATS 2.9
/// consumer filters on one subject, and two consumers would lose the order between market data and
/// fills (one engine's state depends on it). Reading the whole stream in order keeps every
/// producer's sequence contiguous at every shard, so a redelivered message is an exact duplicate
/// there; the price is ring slots and a header check per message of the other shards.</para>
/// <para>At least once, applied once: a message is acknowledged (explicitly, the last of each batch
/// standing for those before it) only after it was published on the ring. A bridge or engine that
/// restarts gets the unacknowledged ones again; the engine refuses what it already applied as a
/// duplicate by producer sequence, counted. A full ring holds the bridge (back-pressure): nothing
/// is dropped; JetStream redelivers after the ack wait if the engine stays behind that long, and the
/// engine counts those as duplicates too.</para>
/// </remarks>
public sealed class FeedBridge
{
    private readonly INatsJSContext _js;
    private readonly JetStreamSection _config;
    private readonly IRingProducer _producer;
    private readonly string _durable;

    /// <summary>Creates the bridge writing into <paramref name="producer"/> (a producer of the shard's feed ring), as durable consumer <paramref name="durable"/>.</summary>
    public FeedBridge(INatsJSContext js, JetStreamSection config, IRingProducer producer, string durable)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentException.ThrowIfNullOrWhiteSpace(durable);
        if (producer.PayloadSize < FeedMessageDescriptor.PayloadSize)
        {
            throw new ArgumentException($"the ring's payload is {producer.PayloadSize} bytes; a feed message needs {FeedMessageDescriptor.PayloadSize}", nameof(producer));
        }

        _js = js;
        _config = config;
        _producer = producer;
        _durable = durable;
    }

    /// <summary>The durable consumer's name for shard <paramref name="shard"/> (one per shard: a standby of the shard resumes from its position).</summary>
    public static string DurableName(int shard) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"llr-shard-{shard}");

    /// <summary>Messages written into the ring.</summary>
    public long Forwarded => Volatile.Read(ref _forwarded);

    /// <summary>Stream messages that were not a feed message (wrong size): acknowledged and counted, never written.</summary>
    public long Malformed => Volatile.Read(ref _malformed);

    /// <summary>Messages JetStream delivered more than once (a restarted bridge, an ack that did not arrive in time).</summary>
    public long Redelivered => Volatile.Read(ref _redelivered);

    /// <summary>Times the ring was full and the bridge waited for the engine.</summary>
    public long RingFullWaits => Volatile.Read(ref _ringFull);

    /// <summary>The stream sequence of the last message written into the ring.</summary>
    public ulong LastStreamSequence => Volatile.Read(ref _lastStreamSequence);

    private long _forwarded, _malformed, _redelivered, _ringFull;
    private ulong _lastStreamSequence;

    /// <summary>Times the consumer was lost (a server gone, a leader being elected) and created again; the stream resumed from the acknowledged position.</summary>
    public long Resumes => Volatile.Read(ref _resumes);

    /// <summary>The last failure the bridge resumed from, or null.</summary>
    public string? LastFailure { get; private set; }

    private long _resumes;

    /// <summary>
    /// Consumes until <paramref name="cancel"/> fires. A lost consumer (the server gone, a leader
    /// being elected in a cluster) is created again after a back-off and resumes from what was
    /// acknowledged; what it hands over again the engine refuses as duplicates.
    /// </summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        int failures = 0;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                await ConsumeAsync(() => failures = 0, cancel).ConfigureAwait(false);
                await Task.Delay(100, cancel).ConfigureAwait(false); // the consumption ended without an error (the consumer was removed): create it again
            }
            catch (Exception e) when (!cancel.IsCancellationRequested && RingPublisher.IsTransient(e))
            {
                Interlocked.Increment(ref _resumes);
                LastFailure = e.Message;
                await Task.Delay(RingPublisher.Backoff(failures++), cancel).ConfigureAwait(false);
            }
        }
    }

    private async Task ConsumeAsync(Action progressed, CancellationToken cancel)
    {
        var consumer = await _js.CreateOrUpdateConsumerAsync(_config.FeedStream, new ConsumerConfig(_durable)
        {
            FilterSubject = _config.FeedSubjects,
            AckPolicy = ConsumerConfigAckPolicy.All,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            MaxAckPending = Math.Max(_config.AckWindow * 4, 1024),
            AckWait = TimeSpan.FromSeconds(30),
        }, cancel).ConfigureAwait(false);

        int sinceAck = 0;
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = _config.AckWindow }, cancellationToken: cancel).ConfigureAwait(false))
        {
            progressed();
            var meta = msg.Metadata;
            if (meta is { NumDelivered: > 1 })
            {
                Interlocked.Increment(ref _redelivered);
            }

            var data = msg.Data;
            if (data is null || data.Length != FeedMessageDescriptor.PayloadSize)
            {
                Interlocked.Increment(ref _malformed);
            }
            else
            {
                await WriteAsync(data, cancel).ConfigureAwait(false);
                Interlocked.Increment(ref _forwarded);
            }

            if (meta is { } m)
            {
                Volatile.Write(ref _lastStreamSequence, m.Sequence.Stream);
            }

            // Ack-all: acknowledging this message acknowledges every one before it. Once per half
            // window, and whenever the stream has nothing more for now (a quiet feed leaves nothing pending).
            if (++sinceAck >= _config.AckWindow / 2 || meta is not { NumPending: > 0 })
            {
                await msg.AckAsync(cancellationToken: cancel).ConfigureAwait(false);
                sinceAck = 0;
            }
        }
    }

    private async ValueTask WriteAsync(byte[] data, CancellationToken cancel)
    {
        while (true)
        {
            if (_producer.TryClaim(1, out long slot))
            {
                data.CopyTo(_producer.Payload(slot));
                if (_producer.Publish(slot))
                {
                    return;
                }

                continue; // abandoned while we held it (we stalled past the engine's timeout): write it again
            }

            Interlocked.Increment(ref _ringFull);
            await Task.Delay(1, cancel).ConfigureAwait(false);
        }
    }
}
