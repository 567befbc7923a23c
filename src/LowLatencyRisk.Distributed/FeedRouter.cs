using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace LowLatencyRisk.Distributed;

/// <summary>
/// Moves a local ring into a JetStream stream without loss: reads slots without consuming them
/// (<see cref="SharedRing.PublishedPayload"/>), publishes up to the ack window of them, and releases
/// them from the ring only when JetStream has acknowledged every one. A publisher killed in between
/// leaves them in the ring; its successor publishes them again and JetStream drops the copies by
/// message id within its duplicate window (counted in <see cref="Duplicates"/>). An error (stream
/// full, no stream, server gone) is thrown with nothing released: the ring's producers meet
/// back-pressure; nothing is skipped. Runs on a non-engine core; it allocates (the client's buffers,
/// ids), the engine does not.
/// </summary>
public abstract class RingPublisher
{
    private readonly INatsJSContext _js;
    private readonly SharedRing _ring;
    private readonly RingConsumer _consumer;
    private readonly byte[][] _copies;
    private readonly Task<PubAckResponse>[] _acks;
    private readonly int _size;

    /// <summary>Creates the publisher over <paramref name="consumer"/> of <paramref name="ring"/>, <paramref name="messageSize"/> bytes of each payload, <paramref name="ackWindow"/> publishes in flight.</summary>
    protected RingPublisher(INatsJSContext js, SharedRing ring, RingConsumer consumer, int messageSize, int ackWindow)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentOutOfRangeException.ThrowIfLessThan(ackWindow, 1);
        if (ring.PayloadSize < messageSize)
        {
            throw new ArgumentException($"the ring's payload is {ring.PayloadSize} bytes; its messages need {messageSize}", nameof(ring));
        }

        _js = js;
        _ring = ring;
        _consumer = consumer;
        _size = messageSize;
        _copies = new byte[ackWindow][];
        for (int i = 0; i < _copies.Length; i++)
        {
            _copies[i] = new byte[messageSize];
        }

        _acks = new Task<PubAckResponse>[ackWindow];
    }

    /// <summary>Messages published and acknowledged as new.</summary>
    public long Published { get; private set; }

    /// <summary>Messages JetStream acknowledged as duplicates (a restarted publisher re-publishing what it had sent).</summary>
    public long Duplicates { get; private set; }

    /// <summary>
    /// Messages JetStream stored after an earlier message of the same round had failed (seen only in a
    /// cluster's leader change, when one publish is refused and the next accepted by the new leader).
    /// The retry stores the failed one behind them; a reader of the stream then meets that producer's
    /// sequences out of order. Counted and shown by <c>llr bridge route</c>: an operator alarm.
    /// </summary>
    public long LandedOutOfOrder { get; private set; }

    /// <summary>The ring sequence up to which slots are released (the ring consumer's sequence).</summary>
    public long Released => _consumer.Sequence;

    /// <summary>The subject of a message.</summary>
    protected abstract string Subject(ReadOnlySpan<byte> message);

    /// <summary>The message id JetStream de-duplicates by: the same for the same message read again, different for any other.</summary>
    protected abstract string MessageId(long ringSequence, ReadOnlySpan<byte> message);

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

            payload[.._size].CopyTo(_copies[n]);
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

        // A round, once begun, is sent whole, in ring order, without the caller's token: cancelling a
        // publish waiting for the connection could drop it while the ones behind it go out — a hole the
        // retry would fill only behind later sequences (the shards' bridges then hold those back). A
        // stop waits for the round's acks (bounded by the client's request timeout).
        for (int i = 0; i < n; i++)
        {
            var copy = _copies[i];
            _acks[i] = _js.PublishAsync(Subject(copy), copy, opts: new NatsJSPubOpts { MsgId = MessageId(first + i, copy) }, cancellationToken: CancellationToken.None).AsTask();
        }

        Exception? failed = null;
        for (int i = 0; i < n; i++)
        {
            try
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
                    if (failed is not null)
                    {
                        LandedOutOfOrder++; // stored after an earlier one of the round failed: see the property
                    }
                }
            }
            catch (Exception e)
            {
                failed ??= e; // every ack of the round is still observed, then the round fails whole with the first failure
            }
            finally
            {
                _acks[i] = null!;
            }
        }

        if (failed is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failed).Throw();
        }

        var release = new Release(n, first);
        int released = _consumer.PollWhile(ref release, n);
        return released != n || release.Mismatch
            ? throw new InvalidOperationException($"the ring moved under its publisher: released {released} of {n} slots from {first}")
            : n;
    }

    /// <summary>
    /// A downstream slot's message id: the shard, the ring sequence and a 64-bit FNV-1a hash of the
    /// payload — the same slot read again after a restart has the same id (JetStream drops the copy),
    /// and a new message in a re-created ring whose sequences start again does not.
    /// </summary>
    protected static string SlotId(int shard, long ringSequence, ReadOnlySpan<byte> message)
    {
        ulong h = 14695981039346656037;
        foreach (byte b in message)
        {
            h = (h ^ b) * 1099511628211;
        }

        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{shard}-{ringSequence}-{h:x16}");
    }

    /// <summary>Rounds that failed (a server lost, a leader being elected, the stream full) and were tried again; nothing of theirs was released.</summary>
    public long Retries { get; private set; }

    /// <summary>The last failure tried again, or null.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>
    /// Pumps until <paramref name="cancel"/> fires, idling briefly when the ring is empty. A failed
    /// round (the server gone, a stream leader being elected in a cluster, the stream full) is tried
    /// again after a back-off — the unreleased slots are published again and JetStream drops what
    /// had arrived — while the ring's producers meet back-pressure. It never skips a message.
    /// </summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        int failures = 0, idle = 0;
        while (!cancel.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await PumpAsync(cancel).ConfigureAwait(false);
                failures = 0;
            }
            catch (Exception e) when (!cancel.IsCancellationRequested && IsTransient(e))
            {
                Retries++;
                LastFailure = e.Message;
                await Task.Delay(RingPublisher.Backoff(failures++), cancel).ConfigureAwait(false);
                continue;
            }

            // Idle: yield the core for a while (a message arriving now is published within
            // microseconds), then sleep in milliseconds (a quiet ring costs no CPU).
            if (n > 0)
            {
                idle = 0;
            }
            else if (++idle < IdleYields)
            {
                Thread.Yield();
            }
            else
            {
                await Task.Delay(1, cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Empty polls answered by yielding the core before the publisher sleeps a millisecond at a time.</summary>
    private const int IdleYields = 2_000;

    /// <summary>The wait before trying again after <paramref name="failures"/> failures in a row: 50, 100, 200, 400, 800 ms, then 1 s.</summary>
    internal static int Backoff(int failures) => Math.Min(1_000, 50 << Math.Min(failures, 4));

    /// <summary>What a JetStream cluster recovers from by itself: connection loss, time-outs, no responders during an election, API errors (stream full, leader moved).</summary>
    internal static bool IsTransient(Exception e) => e is NATS.Client.Core.NatsException or TimeoutException or OperationCanceledException;

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

/// <summary>
/// Feed out, on the producers' machine: reads a local feed ring (written by the matching engine and
/// market data, C# or C) and publishes every message to JetStream — on <c>{prefix}.feed.all</c> when
/// every shard applies it, on <c>{prefix}.feed.shard.{k}</c> when it is about shard k's accounts
/// (<see cref="ShardMap.Route"/>) — with its producer, epoch and sequence as JetStream's message id
/// (beyond JetStream's duplicate window an engine still refuses a repeated producer sequence).
/// </summary>
public sealed class FeedRouter : RingPublisher
{
    private readonly JetStreamSection _config;
    private readonly ShardMap _map;
    private readonly string[] _shardSubjects;

    /// <summary>Creates the router over <paramref name="consumer"/> of <paramref name="ring"/>.</summary>
    public FeedRouter(INatsJSContext js, JetStreamSection config, ShardMap map, SharedRing ring, RingConsumer consumer)
        : base(js, ring, consumer, FeedMessageDescriptor.PayloadSize, config?.AckWindow ?? throw new ArgumentNullException(nameof(config)))
    {
        ArgumentNullException.ThrowIfNull(map);
        _config = config;
        _map = map;
        _shardSubjects = [.. Enumerable.Range(0, map.Count).Select(config.ShardSubject)];
    }

    /// <summary>Messages for every shard (<c>feed.all</c>).</summary>
    public long Broadcast { get; private set; }

    /// <inheritdoc/>
    protected override string Subject(ReadOnlySpan<byte> message)
    {
        int shard = _map.Route(message);
        Broadcast += shard < 0 ? 1 : 0;
        return shard < 0 ? _config.BroadcastSubject : _shardSubjects[shard];
    }

    /// <inheritdoc/>
    protected override string MessageId(long ringSequence, ReadOnlySpan<byte> message) => JetStreamTopology.MessageId(message);
}
