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
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The SemaphoreSlim's wait handle is never asked for: it holds no OS resource to release.")]
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

    // Messages in the ring whose journal record is not yet replicated, in ring order (ack-when-replicated
    // only); OutOfOrder: written after a message later in the stream (a held one released), so an ack
    // of anything written before it would acknowledge it too early.
    private readonly Queue<(int Producer, uint Epoch, long Sequence, INatsJSMsg<byte[]> Message, bool OutOfOrder)> _awaiting = new();
    private int _outOfOrderAwaiting;
    private ulong _maxWrittenStreamSequence;

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
                _outOfOrderAwaiting -= head.OutOfOrder ? 1 : 0;
                release = head.Message;
                if (head.Producer >= 0)
                {
                    break; // this record's message; a malformed one (never in the ring) before it goes with it
                }
            }

            // Ack-all acknowledges every message before this one in the stream: not while a message
            // earlier in the stream is held or written out of stream order and not yet replicated.
            if (_outOfOrderAwaiting > 0 || Volatile.Read(ref _held) > 0)
            {
                release = null; // a later ack covers it
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

    /// <summary>
    /// How long a producer's messages are held behind a missing sequence, at most, before the bridge takes
    /// the gap as real — longer than a cluster's leader election and the router's retry of the refused
    /// message. A hold also ends as a gap once the stream has moved two ack windows past it.
    /// </summary>
    public TimeSpan HoldLimit { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where each producer stands in what this shard's bridges wrote into the ring (null: nowhere
    /// recorded — each producer then starts where this process first meets it). The bridge starts a
    /// producer's session from it and records every message it writes, so a bridge restarted in the
    /// middle of a hold still holds what comes before the missing message.
    /// </summary>
    public FeedPositions? Positions { get; init; }

    /// <summary>Messages that arrived ahead of a missing sequence of their producer and were held until it came (or the hold limit passed).</summary>
    public long HeldBack => Volatile.Read(ref _heldBack);

    /// <summary>Holds given up — the stream moved two ack windows past them, or <see cref="HoldLimit"/> passed: the missing sequence never came and the held messages were written after a gap.</summary>
    public long GapsAccepted => Volatile.Read(ref _gapsAccepted);

    private long _heldBack, _gapsAccepted;
    private int _held; // messages held now (read by OnReplicated on the shipper's thread)

    // Per producer session (id, epoch): the last sequence written into the ring (−1: not known — not
    // in the positions and not seen since this process started), and the messages held ahead of a missing one.
    private sealed class Session
    {
        public long Last = -1;
        public readonly SortedDictionary<long, (byte[] Data, INatsJSMsg<byte[]> Message, ulong Stream)> Held = [];
        public long HeldSince;
        public ulong HeldSinceStream;
    }

    private readonly Dictionary<(int, uint), Session> _sessions = [];
    private readonly SemaphoreSlim _writing = new(1, 1);
    private INatsJSMsg<byte[]>? _lastDelivered;

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
            _outOfOrderAwaiting = 0;
            _maxWrittenStreamSequence = 0;
        }

        foreach (var session in _sessions.Values)
        {
            session.Held.Clear(); // never acknowledged: delivered again from the floor
        }

        Volatile.Write(ref _held, 0);
        _lastDelivered = null;
        using var expiring = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var expiry = ExpireHoldsAsync(expiring.Token);

        // Short pulls with heartbeats: a pull lost with a server (a leader killed) is noticed in
        // seconds and issued again, not after the default 30 s.
        var pulls = new NatsJSConsumeOpts { MaxMsgs = _config.AckWindow, Expires = TimeSpan.FromSeconds(5), IdleHeartbeat = TimeSpan.FromSeconds(1) };
        int sinceAck = 0;
        ulong last = 0; // the stream sequence last taken; 0: none yet — the first delivered after floor + 1 starts (messages the stream no longer holds are not waited for)
        try
        {
            await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: pulls, cancellationToken: cancel).ConfigureAwait(false))
            {
                progressed();
                var meta = msg.Metadata;
                if (meta is { NumDelivered: > 1 })
                {
                    Interlocked.Increment(ref _redelivered);
                }

                // Strictly in stream order: an older one again is skipped (taken already); a jump means
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
                await _writing.WaitAsync(cancel).ConfigureAwait(false);
                try
                {
                    _lastDelivered = msg;
                    if (malformed)
                    {
                        Interlocked.Increment(ref _malformed);
                        Enqueue(-1, 0, 0, msg, at); // never in the ring: released with the next record
                    }
                    else
                    {
                        await OfferAsync(data!, msg, at, cancel).ConfigureAwait(false);
                    }

                    if (meta is { } m)
                    {
                        Volatile.Write(ref _lastStreamSequence, m.Sequence.Stream);
                    }

                    // Ack-all: acknowledging this message acknowledges every one before it. Once per half
                    // window, and whenever the stream has nothing more for now (a quiet feed leaves nothing
                    // pending) — never while a message is held (it is before this one in the stream).
                    if (!_ackWhenReplicated && _held == 0 && (++sinceAck >= _config.AckWindow / 2 || meta is not { NumPending: > 0 }))
                    {
                        await msg.AckAsync(cancellationToken: cancel).ConfigureAwait(false);
                        sinceAck = 0;
                    }
                }
                finally
                {
                    _writing.Release();
                }
            }
        }
        finally
        {
            await expiring.CancelAsync().ConfigureAwait(false);
            await expiry.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Takes one feed message in stream order. A producer's sequences are written in order: a message
    /// ahead of a missing sequence (stored after it in a cluster's leader change, when the router's publish
    /// of the missing one was refused and the next accepted; the router sends it again) is held until the
    /// missing one comes, then both are written in sequence order; an older or repeated one is written as
    /// it is (the engine refuses it as a duplicate). A session starts where <see cref="Positions"/> says
    /// it stands; without a record, the first message of it this process sees sets where it stands.
    /// </summary>
    private async ValueTask OfferAsync(byte[] data, INatsJSMsg<byte[]> msg, ulong stream, CancellationToken cancel)
    {
        ref readonly var h = ref FeedMessageDescriptor.Header(data);
        var key = (h.ProducerId, h.ProducerEpoch);
        long sequence = h.ProducerSequence;
        if (!_sessions.TryGetValue(key, out var session))
        {
            _sessions[key] = session = new Session { Last = Positions?.StartOf(h.ProducerId, h.ProducerEpoch) ?? -1 };
        }

        if (session.Last >= 0 && sequence > session.Last + 1)
        {
            if (session.Held.TryAdd(sequence, (data, msg, stream)))
            {
                if (session.Held.Count == 1)
                {
                    session.HeldSince = System.Diagnostics.Stopwatch.GetTimestamp();
                    session.HeldSinceStream = stream;
                }

                Interlocked.Increment(ref _held);
                Interlocked.Increment(ref _heldBack);
            }
        }
        else
        {
            await WriteOneAsync(data, msg, stream, cancel).ConfigureAwait(false);
            session.Last = Math.Max(session.Last, sequence);
            while (session.Held.Remove(session.Last + 1, out var next))
            {
                Interlocked.Decrement(ref _held);
                await WriteOneAsync(next.Data, next.Message, next.Stream, cancel).ConfigureAwait(false);
                session.Last++;
            }
        }

        // A hold the stream has moved more than two ack windows past is a real gap: the router sends a
        // refused message again before anything after its round, so it would have come by now. (And
        // nothing is acknowledged past a hold: the server delivers only so much unacknowledged.)
        if (_held > 0 && stream != 0)
        {
            foreach (var held in _sessions.Values)
            {
                if (held.Held.Count > 0 && stream - held.HeldSinceStream > 2UL * (ulong)_config.AckWindow)
                {
                    await AcceptGapAsync(held, cancel).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Writes what <paramref name="session"/> holds, in sequence order, after the gap no message filled (the engine counts it).</summary>
    private async ValueTask AcceptGapAsync(Session session, CancellationToken cancel)
    {
        Interlocked.Increment(ref _gapsAccepted);
        foreach (var (sequence, held) in session.Held)
        {
            await WriteOneAsync(held.Data, held.Message, held.Stream, cancel).ConfigureAwait(false);
            session.Last = sequence;
        }

        Interlocked.Add(ref _held, -session.Held.Count);
        session.Held.Clear();
    }

    /// <summary>Gives up holds older than <see cref="HoldLimit"/> (the gap is real), every 100 ms, and acknowledges once nothing is held.</summary>
    private async Task ExpireHoldsAsync(CancellationToken cancel)
    {
        long limit = (long)(HoldLimit.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(100, cancel).ConfigureAwait(false);
                if (Volatile.Read(ref _held) == 0)
                {
                    continue;
                }

                await _writing.WaitAsync(cancel).ConfigureAwait(false);
                try
                {
                    long now = System.Diagnostics.Stopwatch.GetTimestamp();
                    foreach (var session in _sessions.Values)
                    {
                        if (session.Held.Count == 0 || now - session.HeldSince < limit)
                        {
                            continue;
                        }

                        await AcceptGapAsync(session, cancel).ConfigureAwait(false);
                    }

                    if (_held == 0 && !_ackWhenReplicated && _lastDelivered is { } latest)
                    {
                        await latest.AckAsync(cancellationToken: cancel).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _writing.Release();
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Writes one message into the ring (queued first for the shipper with the journal on).</summary>
    private async ValueTask WriteOneAsync(byte[] data, INatsJSMsg<byte[]> msg, ulong stream, CancellationToken cancel)
    {
        var (producer, epoch, sequence) = SessionOf(data);
        Enqueue(producer, epoch, sequence, msg, stream); // before it is in the ring: the shipper may report its record at once
        await WriteAsync(data, cancel).ConfigureAwait(false);
        Positions?.Wrote(producer, epoch, sequence); // in the ring, and before anything after it is acknowledged
        Interlocked.Increment(ref _forwarded);
    }

    private static (int Producer, uint Epoch, long Sequence) SessionOf(byte[] data)
    {
        ref readonly var h = ref FeedMessageDescriptor.Header(data);
        return (h.ProducerId, h.ProducerEpoch, h.ProducerSequence);
    }

    private void Enqueue(int producer, uint epoch, long sequence, INatsJSMsg<byte[]> msg, ulong stream)
    {
        if (!_ackWhenReplicated)
        {
            return;
        }

        lock (_awaiting)
        {
            bool outOfOrder = stream != 0 && stream < _maxWrittenStreamSequence;
            _outOfOrderAwaiting += outOfOrder ? 1 : 0;
            _maxWrittenStreamSequence = Math.Max(_maxWrittenStreamSequence, stream);
            _awaiting.Enqueue((producer, epoch, sequence, msg, outOfOrder));
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
