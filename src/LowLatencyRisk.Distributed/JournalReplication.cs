using System.Buffers.Binary;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace LowLatencyRisk.Distributed;

/// <summary>
/// Ships a shard's journal to JetStream (<c>{prefix}.journal.{shard}</c> in the journal stream,
/// replicated by the cluster): follows the journal folder as the engine appends (<see cref="JournalTail"/>,
/// never the engine's thread), and publishes every record — the feed messages the engine consumed and
/// its own decisions (liquidation orders, fund payments, orders ended) — in order, each as its 8-byte
/// journal sequence followed by the payload, with <c>{shard}-{sequence}</c> as the message id.
/// </summary>
/// <remarks>
/// A batch is published again until every record of it is acknowledged (JetStream drops the copies),
/// so nothing is skipped; a restarted shipper resumes after the last record the stream holds for the
/// shard. A follower applies records by journal sequence, so even a copy beyond the duplicate window
/// changes nothing.
/// </remarks>
public sealed class JournalShipper : IDisposable
{
    /// <summary>Bytes of one shipped record: the journal sequence, then the payload.</summary>
    public const int RecordBytes = 8 + FeedMessageDescriptor.PayloadSize;

    private readonly INatsJSContext _js;
    private readonly JetStreamSection _config;
    private readonly int _shard;
    private readonly string _directory;
    private readonly string _subject;
    private readonly List<byte[]> _batch = [];
    private JournalTail? _tail;

    /// <summary>Creates the shipper of <paramref name="journalDirectory"/> for shard <paramref name="shard"/>.</summary>
    public JournalShipper(INatsJSContext js, JetStreamSection config, int shard, string journalDirectory)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrWhiteSpace(journalDirectory);
        _js = js;
        _config = config;
        _shard = shard;
        _directory = journalDirectory;
        _subject = config.JournalSubject(shard);
    }

    /// <summary>Records acknowledged as new by JetStream.</summary>
    public long Shipped { get; private set; }

    /// <summary>Called with each record's payload once JetStream holds it, in journal order (the shard's <see cref="FeedBridge.OnReplicated"/>).</summary>
    public ReplicatedRecord? Replicated { get; set; }

    /// <summary>Records JetStream already held (a restarted shipper, a batch sent again).</summary>
    public long Duplicates { get; private set; }

    /// <summary>The journal sequence of the last record acknowledged.</summary>
    public long LastShipped { get; private set; }

    /// <summary>Rounds that failed and were tried again.</summary>
    public long Retries { get; private set; }

    /// <summary>The last failure tried again, or null.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>Why the journal cannot be followed (a bad record with later data behind it), or null.</summary>
    public string? Stuck => _tail?.Stuck;

    /// <summary>The journal sequence of the last record the stream holds for <paramref name="shard"/> (0 when none).</summary>
    public static async Task<long> LastInStreamAsync(INatsJSContext js, JetStreamSection config, int shard, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(config);
        var data = await JetStreamTopology.LastBySubjectAsync(js, config.JournalStream, config.JournalSubject(shard), cancel).ConfigureAwait(false);
        if (data is null)
        {
            return 0;
        }

        return data.Length == RecordBytes ? BinaryPrimitives.ReadInt64LittleEndian(data) : throw new InvalidOperationException($"the journal stream's last record for shard {shard} has {data.Length} bytes, not {RecordBytes}");
    }

    /// <summary>One round: what the journal has gained (up to the ack window), published and acknowledged; returns how many.</summary>
    public async Task<int> PumpAsync(CancellationToken cancel)
    {
        if (_tail is null)
        {
            // Resume a window before the last record the stream holds: a predecessor's last round may
            // have stored a record while an earlier one of it failed (a cluster's leader change). Those
            // already stored come back as duplicates (JetStream's window); a missing one lands now, and
            // the follower, which holds records that arrive early, applies it in its place.
            long last = await LastInStreamAsync(_js, _config, _shard, cancel).ConfigureAwait(false);
            LastShipped = Math.Max(0, last - _config.AckWindow);
            _tail = new JournalTail(_directory, FeedMessageDescriptor.PayloadSize, LastShipped);
        }

        if (_batch.Count == 0)
        {
            _tail.Poll((sequence, payload) =>
            {
                var record = new byte[RecordBytes];
                BinaryPrimitives.WriteInt64LittleEndian(record, sequence);
                payload.CopyTo(record.AsSpan(8));
                _batch.Add(record);
            }, _config.AckWindow);
        }

        if (_batch.Count == 0)
        {
            return 0;
        }

        var acks = _batch.Select(r => _js.PublishAsync(_subject, r, opts: new NatsJSPubOpts { MsgId = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{_shard}-{BinaryPrimitives.ReadInt64LittleEndian(r)}") }, cancellationToken: CancellationToken.None).AsTask()).ToList(); // sent whole, in order: see RingPublisher.PumpAsync
        foreach (var task in acks)
        {
            var ack = await task.ConfigureAwait(false);
            if (ack.Duplicate)
            {
                Duplicates++;
            }
            else
            {
                ack.EnsureSuccess();
                Shipped++;
            }
        }

        int n = _batch.Count;
        LastShipped = BinaryPrimitives.ReadInt64LittleEndian(_batch[^1]);
        if (Replicated is { } replicated)
        {
            foreach (var record in _batch)
            {
                replicated(record.AsSpan(8));
            }
        }

        _batch.Clear(); // only now: a failed round publishes the same batch again
        return n;
    }

    /// <summary>Ships until <paramref name="cancel"/> fires; failed rounds are tried again after a back-off.</summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        int failures = 0;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                if (await PumpAsync(cancel).ConfigureAwait(false) == 0)
                {
                    await Task.Delay(1, cancel).ConfigureAwait(false);
                }

                failures = 0;
            }
            catch (Exception e) when (!cancel.IsCancellationRequested && RingPublisher.IsTransient(e))
            {
                Retries++;
                LastFailure = e.Message;
                await Task.Delay(RingPublisher.Backoff(failures++), cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Unmaps the journal segment followed.</summary>
    public void Dispose() => _tail?.Dispose();
}

/// <summary>A journal record's payload, once replicated.</summary>
public delegate void ReplicatedRecord(ReadOnlySpan<byte> payload);

/// <summary>
/// The other end of a shard's replicated journal: a durable consumer of <c>{prefix}.journal.{shard}</c>
/// that applies each record, in journal-sequence order, to an engine through its replay path
/// (<see cref="RiskEngine.Replay"/>: the feed's messages with the live path's validation, the engine's
/// own decisions restored, not taken again) — a standby whose state follows the primary's — and
/// optionally appends it to a local journal, from which <c>llr engine</c> recovers like any other.
/// <paramref name="after"/> is the journal sequence the engine already holds (0 for a fresh book).
/// </summary>
/// <remarks>
/// A record at or below the last applied sequence is a copy (counted, skipped); one beyond the next is
/// held until the records before it arrive (a publish refused in a cluster's leader change is sent
/// again behind later ones), within four of the shipper's ack windows; beyond that it is a gap and the
/// follower stops with the reason rather than apply out of order (a replica must never hold a state
/// the primary did not). Call from one task; the engine is the follower's alone.
/// </remarks>
public sealed class JournalFollower(INatsJSContext js, JetStreamSection config, int shard, RiskEngine engine, string durable, JournalWriter? localJournal = null, long after = 0)
{
    /// <summary>Records applied.</summary>
    public long Applied => Volatile.Read(ref _applied);

    /// <summary>Records received again (at or below the last applied sequence): skipped.</summary>
    public long Copies => Volatile.Read(ref _copies);

    /// <summary>The journal sequence of the last record applied.</summary>
    public long LastApplied => Volatile.Read(ref _last);

    /// <summary>Why the follower stopped (a gap in the journal sequence, a malformed record), or null.</summary>
    public string? Stopped { get; private set; }

    private long _applied, _copies, _heldEarly, _last = after; // after: the journal sequence the engine's state already holds (a snapshot's)
    private readonly Dictionary<long, byte[]> _early = [];

    /// <summary>Records that arrived ahead of a missing one and were held until it came (applied then, in order).</summary>
    public long HeldEarly => Volatile.Read(ref _heldEarly);

    private void Apply(long sequence, byte[] data)
    {
        var payload = data.AsSpan(8);
        localJournal?.Append(payload);
        engine.Replay(payload);
        Volatile.Write(ref _last, sequence);
        Interlocked.Increment(ref _applied);
    }

    /// <summary>Follows until <paramref name="cancel"/> fires or a gap stops it.</summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(engine);
        var consumer = await js.CreateOrUpdateConsumerAsync(config.JournalStream, new ConsumerConfig(durable)
        {
            FilterSubject = config.JournalSubject(shard),
            AckPolicy = ConsumerConfigAckPolicy.All,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            MaxAckPending = Math.Max(config.AckWindow * 4, 1024),
        }, cancel).ConfigureAwait(false);
        int sinceAck = 0;
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = config.AckWindow, Expires = TimeSpan.FromSeconds(5), IdleHeartbeat = TimeSpan.FromSeconds(1) }, cancellationToken: cancel).ConfigureAwait(false))
        {
            var data = msg.Data;
            if (data is not { Length: JournalShipper.RecordBytes })
            {
                Stopped = $"a record of {data?.Length ?? 0} bytes in {config.JournalSubject(shard)}; a journal record is {JournalShipper.RecordBytes}";
                return;
            }

            long sequence = BinaryPrimitives.ReadInt64LittleEndian(data);
            if (sequence <= _last || _early.ContainsKey(sequence))
            {
                Interlocked.Increment(ref _copies);
            }
            else if (sequence != _last + 1)
            {
                // Early: a record stored ahead of one whose publish failed and was sent again (a cluster's
                // leader change). Held, not applied, until the missing one arrives — within a window of
                // the shipper's rounds; beyond it the follower stops rather than apply out of order.
                if (sequence - _last > 4L * config.AckWindow)
                {
                    Stopped = $"journal record {sequence} arrived after {_last}: records {_last + 1}..{sequence - 1} are missing; stopped rather than apply out of order";
                    return;
                }

                _early[sequence] = data;
                Interlocked.Increment(ref _heldEarly);
            }
            else
            {
                Apply(sequence, data);
                while (_early.Remove(_last + 1, out var next))
                {
                    Apply(_last + 1, next);
                }
            }

            // Ack-all acknowledges everything before it in the stream: never while a record is held early
            // (a restart must get it again).
            if (_early.Count == 0 && (++sinceAck >= config.AckWindow / 2 || msg.Metadata is not { NumPending: > 0 }))
            {
                await msg.AckAsync(cancellationToken: cancel).ConfigureAwait(false);
                sinceAck = 0;
            }
        }
    }
}
