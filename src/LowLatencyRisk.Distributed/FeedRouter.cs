using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace LowLatencyRisk.Distributed;

/// <summary>
/// Feed out, on the producers' machine: reads a local feed ring (written by the matching engine and
/// market data, C# or C) and publishes every message to JetStream — on <c>{prefix}.feed.all</c> when
/// every shard applies it, on <c>{prefix}.feed.shard.{k}</c> when it is about shard k's accounts
/// (<see cref="ShardMap.Route"/>) — with its producer, epoch and sequence as JetStream's message id.
/// </summary>
/// <remarks>
/// Nothing is lost and nothing is sent twice into the stream: the router reads slots without
/// consuming them (<see cref="SharedRing.PublishedPayload"/>), publishes up to the ack window of
/// them, and releases them from the ring only when JetStream has acknowledged every one. A router
/// killed in between leaves them in the ring; its successor publishes them again and JetStream
/// drops the copies within its duplicate window (counted in <see cref="Duplicates"/>). Beyond the
/// window an engine still refuses a repeated producer sequence as a duplicate. A full stream or a
/// lost server stops the router (the producers then meet back-pressure on the ring); it never skips.
/// Runs on a non-engine core; it allocates (the client's buffers, ids), the engine does not.
/// </remarks>
public sealed class FeedRouter
{
    private readonly INatsJSContext _js;
    private readonly JetStreamSection _config;
    private readonly ShardMap _map;
    private readonly SharedRing _ring;
    private readonly RingConsumer _consumer;
    private readonly byte[][] _copies;
    private readonly Task<PubAckResponse>[] _acks;
    private readonly string[] _shardSubjects;

    /// <summary>Creates the router over <paramref name="consumer"/> of <paramref name="ring"/>.</summary>
    public FeedRouter(INatsJSContext js, JetStreamSection config, ShardMap map, SharedRing ring, RingConsumer consumer)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(consumer);
        if (ring.PayloadSize < FeedMessageDescriptor.PayloadSize)
        {
            throw new ArgumentException($"the ring's payload is {ring.PayloadSize} bytes; a feed message needs {FeedMessageDescriptor.PayloadSize}", nameof(ring));
        }

        _js = js;
        _config = config;
        _map = map;
        _ring = ring;
        _consumer = consumer;
        _copies = new byte[config.AckWindow][];
        for (int i = 0; i < _copies.Length; i++)
        {
            _copies[i] = new byte[FeedMessageDescriptor.PayloadSize];
        }

        _acks = new Task<PubAckResponse>[config.AckWindow];
        _shardSubjects = [.. Enumerable.Range(0, map.Count).Select(config.ShardSubject)];
    }

    /// <summary>Messages published and acknowledged as new.</summary>
    public long Published { get; private set; }

    /// <summary>Messages JetStream acknowledged as duplicates (a restarted router re-publishing what it had sent).</summary>
    public long Duplicates { get; private set; }

    /// <summary>Messages for every shard (<c>feed.all</c>).</summary>
    public long Broadcast { get; private set; }

    /// <summary>Messages whose first ring sequence the router has released (equals the ring consumer's sequence).</summary>
    public long Released => _consumer.Sequence;

    /// <summary>
    /// One round: publishes what the ring holds (up to the ack window), waits for every ack, then
    /// releases those slots. Returns how many were released; 0 when the ring had nothing.
    /// </summary>
    public async Task<int> PumpAsync(CancellationToken cancel)
    {
        long first = _consumer.Sequence;
        int n = 0;
        while (n < _copies.Length)
        {
            var payload = _ring.PublishedPayload(first + n);
            if (payload.IsEmpty)
            {
                break;
            }

            payload[..FeedMessageDescriptor.PayloadSize].CopyTo(_copies[n]);
            n++;
        }

        if (n == 0)
        {
            if (_consumer.IsAvailable())
            {
                // The next slot was abandoned by a producer that died between claim and publish:
                // passing it releases nothing that was ever a message.
                var none = new Release(0, first);
                _consumer.PollWhile(ref none);
            }

            return 0;
        }

        for (int i = 0; i < n; i++)
        {
            var copy = _copies[i];
            int shard = _map.Route(copy);
            string subject = shard < 0 ? _config.BroadcastSubject : _shardSubjects[shard];
            Broadcast += shard < 0 ? 1 : 0;
            _acks[i] = _js.PublishAsync(subject, copy, opts: new NatsJSPubOpts { MsgId = JetStreamTopology.MessageId(copy) }, cancellationToken: cancel).AsTask();
        }

        for (int i = 0; i < n; i++)
        {
            var ack = await _acks[i].ConfigureAwait(false);
            if (ack.Duplicate)
            {
                Duplicates++; // already in the stream (JetStream's window de-duplicated it): released like an ack
            }
            else
            {
                ack.EnsureSuccess(); // an error (stream full, no stream): thrown, nothing released
                Published++;
            }

            _acks[i] = null!;
        }

        var release = new Release(n, first);
        int released = _consumer.PollWhile(ref release, n);
        return released != n || release.Mismatch
            ? throw new InvalidOperationException($"the feed ring moved under the router: released {released} of {n} slots from {first}")
            : n;
    }

    /// <summary>Pumps until <paramref name="cancel"/> fires, idling briefly when the ring is empty.</summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            if (await PumpAsync(cancel).ConfigureAwait(false) == 0)
            {
                await Task.Delay(1, cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Consumes exactly the slots that were published and acknowledged, checking they are the ones read.</summary>
    private struct Release(int count, long first) : IRingHandlerWhile
    {
        private int _taken;

        public bool Mismatch { get; private set; }

        public bool OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
            if (_taken == count)
            {
                return false;
            }

            Mismatch |= sequence != first + _taken;
            _taken++;
            return true;
        }
    }
}
