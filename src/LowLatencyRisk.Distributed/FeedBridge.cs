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

    /// <summary>
    /// Creates the bridge writing into <paramref name="producer"/> (a producer of the shard's feed ring),
    /// as durable consumer <paramref name="durable"/>. With <paramref name="ackWhenReplicated"/> a message is
    /// acknowledged only once its journal record is replicated (<see cref="OnReplicated"/>, called by the
    /// shard's <see cref="JournalShipper"/>), not when it is in the ring: a standby then holds every
    /// message the stream considers delivered, whenever the primary's machine is lost.
    /// </summary>
    public FeedBridge(INatsJSContext js, JetStreamSection config, IRingProducer producer, string durable, bool ackWhenReplicated = false)
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
        _ackWhenReplicated = ackWhenReplicated;
    }

    private readonly bool _ackWhenReplicated;

    // Messages in the ring whose journal record is not yet replicated, in delivery order (ack-when-replicated only).
    private readonly Queue<(int Producer, uint Epoch, long Sequence, INatsJSMsg<byte[]> Message)> _awaiting = new();

    /// <summary>Messages written into the ring and not yet acknowledged because their journal record is not yet replicated.</summary>
    public int AwaitingReplication
    {
        get
        {
            lock (_awaiting)
            {
                return _awaiting.Count;
            }
        }
    }

    /// <summary>
    /// Called with each journal record once it is replicated, in journal order: the messages this
    /// bridge wrote are journaled in the order it wrote them (the engine journals every message it
    /// consumes before applying it), so the record either is the oldest one awaiting or belongs to
    /// another producer of the ring or the engine itself. The newest message released is acknowledged
    /// (ack-all: it stands for those before it).
    /// </summary>
    public void OnReplicated(ReadOnlySpan<byte> record)
    {
        if (!_ackWhenReplicated || record.Length < FeedMessageDescriptor.PayloadSize || EngineRecords.IsRecord(record[0]))
        {
            return;
        }

        ref readonly var h = ref FeedMessageDescriptor.Header(record);
        INatsJSMsg<byte[]>? release = null;
        lock (_awaiting)
        {
            while (_awaiting.TryPeek(out var head) && (head.Producer < 0 || (head.Producer == h.ProducerId && head.Epoch == h.ProducerEpoch && head.Sequence == h.ProducerSequence)))
            {
                _awaiting.Dequeue();
                release = head.Message;
                if (head.Producer >= 0)
                {
                    break; // this record's message; a malformed one (never in the ring) before it goes with it
                }
            }
        }

        if (release is not null)
        {
            _ = release.AckAsync().AsTask().ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // an ack lost with the connection is redelivered: a duplicate at the engine
        }
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
    private ulong _resumedAfter;

    /// <summary>The stream sequence the last (re-)created consumer started after: its acknowledgement floor then.</summary>
    public ulong ResumedAfter => Volatile.Read(ref _resumedAfter);

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
        // Start again exactly after what was acknowledged, in order. A durable consumer would hand
        // its new client new messages first and what it had delivered to the lost one (unacknowledged,
        // perhaps never written to the ring) only after the ack wait — behind later sequences of the
        // same producers, where the engine would refuse them as duplicates: lost. So the consumer is
        // re-created from its acknowledgement floor; what follows it that the engine already applied
        // comes again and is refused as a duplicate. One bridge per shard owns the consumer.
        ulong floor = 0;
        try
        {
            var existing = await _js.GetConsumerAsync(_config.FeedStream, _durable, cancel).ConfigureAwait(false);
            floor = existing.Info.AckFloor.StreamSeq;
            await _js.DeleteConsumerAsync(_config.FeedStream, _durable, cancel).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
        }

        Volatile.Write(ref _resumedAfter, floor);
        var consumer = await _js.CreateOrUpdateConsumerAsync(_config.FeedStream, new ConsumerConfig(_durable)
        {
            FilterSubject = _config.FeedSubjects,
            AckPolicy = ConsumerConfigAckPolicy.All,
            DeliverPolicy = floor == 0 ? ConsumerConfigDeliverPolicy.All : ConsumerConfigDeliverPolicy.ByStartSequence,
            OptStartSeq = floor == 0 ? 0 : floor + 1,
            // Waiting for replication holds more messages unacknowledged: room for the ring, the engine's
            // and the shipper's lag (the server stops delivering beyond it: back-pressure, not loss).
            MaxAckPending = Math.Max(_config.AckWindow * 4, 1024) * (_ackWhenReplicated ? 16 : 1),
            AckWait = TimeSpan.FromSeconds(_ackWhenReplicated ? 300 : 30), // waiting for replication is normal: a redelivery would come out of order
        }, cancel).ConfigureAwait(false);

        lock (_awaiting)
        {
            _awaiting.Clear(); // a new consumer delivers again from the acknowledged position
        }

        // Short pulls with heartbeats: a pull lost with a server (a leader killed) is noticed in
        // seconds and issued again, not after the default 30 s.
        var pulls = new NatsJSConsumeOpts { MaxMsgs = _config.AckWindow, Expires = TimeSpan.FromSeconds(5), IdleHeartbeat = TimeSpan.FromSeconds(1) };
        int sinceAck = 0;
        ulong last = 0; // the stream sequence last written; 0: none yet — the first delivered after floor + 1 starts (messages the stream no longer holds are not waited for)
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: pulls, cancellationToken: cancel).ConfigureAwait(false))
        {
            progressed();
            var meta = msg.Metadata;
            if (meta is { NumDelivered: > 1 })
            {
                Interlocked.Increment(ref _redelivered);
            }

            // Strictly in stream order: an older one again is skipped (written already); a jump means
            // deliveries were lost in flight (a server died mid-send) and would come back only after the
            // ack wait, behind later ones — start again from the acknowledgement floor instead.
            ulong at = meta?.Sequence.Stream ?? 0;
            if (at != 0 && last != 0 && at <= last)
            {
                continue;
            }

            if (at != 0 && last != 0 && at != last + 1)
            {
                throw new NatsJSException($"the feed stream jumped from {last} to {at}: deliveries were lost in flight; resuming from the acknowledged position");
            }

            last = at == 0 ? last : at;

            var data = msg.Data;
            bool malformed = data is null || data.Length != FeedMessageDescriptor.PayloadSize;
            if (malformed)
            {
                Interlocked.Increment(ref _malformed);
            }

            if (_ackWhenReplicated)
            {
                // Queued before it is in the ring: the shipper may report its record at once.
                lock (_awaiting)
                {
                    var h = malformed ? default : FeedMessageDescriptor.Header(data);
                    _awaiting.Enqueue((malformed ? -1 : h.ProducerId, h.ProducerEpoch, h.ProducerSequence, msg));
                }
            }

            if (!malformed)
            {
                await WriteAsync(data!, cancel).ConfigureAwait(false);
                Interlocked.Increment(ref _forwarded);
            }

            if (meta is { } m)
            {
                Volatile.Write(ref _lastStreamSequence, m.Sequence.Stream);
            }

            if (_ackWhenReplicated)
            {
                continue;
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
