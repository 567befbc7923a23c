using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace LowLatencyRisk.Ipc;

/// <summary>
/// One consumer of a ring: reads every published slot in order, in batches, and publishes its own
/// sequence once per batch, which frees the slots for the producers (and for dependent consumers).
/// </summary>
/// <remarks>
/// Single writer of its consumer line: one thread uses it. A consumer with no dependencies learns
/// availability from the slot stamps (acquire loads); a dependent consumer reads up to the minimum
/// of its dependencies' sequences. A root consumer also unblocks a slot whose producer died between
/// claim and publish (see <see cref="SharedRing.CreateConsumer"/>), counting it on its line.
/// </remarks>
public sealed unsafe class RingConsumer
{
    private const int AbandonScanWindow = 64;

    private readonly SharedRing _ring;
    private readonly long _capacity;
    private readonly long* _sequence;
    private readonly long* _abandoned;
    private readonly long* _claim;
    private readonly nint[] _dependencies;
    private readonly long _abandonTimeoutTicks;
    private long _next;
    private long _stuckSequence = -1;
    private long _stuckSince;

    internal RingConsumer(SharedRing ring, int index, ReadOnlySpan<int> dependsOn, TimeSpan abandonTimeout)
    {
        _ring = ring;
        Index = index;
        _capacity = ring.Capacity;
        _sequence = ring.ConsumerSequencePointer(index);
        _abandoned = ring.AbandonedPointer(index);
        _claim = ring.ClaimPointer;
        _dependencies = new nint[dependsOn.Length];
        for (int i = 0; i < dependsOn.Length; i++)
        {
            _dependencies[i] = (nint)ring.ConsumerSequencePointer(dependsOn[i]);
        }

        _abandonTimeoutTicks = dependsOn.Length == 0 ? (long)(abandonTimeout.TotalSeconds * Stopwatch.Frequency) : 0;
        // Resume from this consumer's own published sequence (a restarted consumer misses nothing).
        _next = Volatile.Read(ref *_sequence);
    }

    /// <summary>This consumer's index in the ring header.</summary>
    public int Index { get; }

    /// <summary>Next sequence this consumer will read (equals its published sequence between polls).</summary>
    public long Sequence => _next;

    /// <summary>Slots this consumer skipped because their producer died between claim and publish.</summary>
    public long AbandonedCount => Volatile.Read(ref *_abandoned);

    /// <summary>
    /// Delivers every available message, up to <paramref name="maxBatch"/>, to
    /// <paramref name="handler"/>, then publishes this consumer's sequence once. Returns the number
    /// of slots passed (delivered or skipped as abandoned); 0 when nothing was available.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Poll<THandler>(ref THandler handler, int maxBatch = int.MaxValue) where THandler : IRingHandler
    {
        var always = new Consuming<THandler>(handler);
        int n = PollWhile(ref always, maxBatch);
        handler = always.Inner;
        return n;
    }

    /// <summary>
    /// As <see cref="Poll"/>, but the handler may refuse a message (return false): the batch ends
    /// before it and it stays in the ring, unconsumed, for a later poll — a consumer that must not
    /// pass a message it could not act on (the engine when its journal cannot take a record).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PollWhile<THandler>(ref THandler handler, int maxBatch = int.MaxValue) where THandler : IRingHandlerWhile
    {
        long next = _next;
        long limit = next + Math.Min(maxBatch, _capacity);
        if (_dependencies.Length != 0)
        {
            limit = Math.Min(limit, DependencyMinimum());
        }

        int payloadSize = _ring.PayloadSize;
        long end = next;
        while (end < limit)
        {
            byte* slot = _ring.SlotPointer(end);
            long stamp = Volatile.Read(ref *(long*)slot);
            if (stamp == end + 1)
            {
                if (!handler.OnMessage(end, new ReadOnlySpan<byte>(slot + Layout.RingHeaderDescriptor.StampSize, payloadSize)))
                {
                    break; // refused: the message stays in the ring, unconsumed
                }
            }
            else if (stamp == -(end + 1))
            {
                // Abandoned (by this or another root consumer): nothing to deliver; counted on
                // this consumer's own line, which only this thread writes.
                Volatile.Write(ref *_abandoned, *_abandoned + 1);
            }
            else
            {
                break;
            }

            end++;
        }

        if (end == next)
        {
            if (_abandonTimeoutTicks != 0)
            {
                CheckForDeadProducer(next);
            }

            return 0;
        }

        _next = end;
        Volatile.Write(ref *_sequence, end);
        return (int)(end - next);
    }

    /// <summary>
    /// Waits with <typeparamref name="TWait"/> until a message is available, or
    /// <paramref name="timeout"/> passes (infinite when <see cref="Timeout.InfiniteTimeSpan"/>).
    /// True when something is available.
    /// </summary>
    public bool WaitForAvailable<TWait>(ref TWait wait, TimeSpan timeout) where TWait : struct, IWaitStrategy
    {
        long deadline = timeout == Timeout.InfiniteTimeSpan
            ? long.MaxValue
            : Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        int i = 0;
        while (!IsAvailable())
        {
            if (_abandonTimeoutTicks != 0 && (i & 1023) == 1023)
            {
                CheckForDeadProducer(_next);
            }

            if ((i & 63) == 63 && Stopwatch.GetTimestamp() >= deadline)
            {
                return IsAvailable();
            }

            wait.Idle(i++);
        }

        return true;
    }

    /// <summary>True when the next slot can be read (published or abandoned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsAvailable()
    {
        long next = _next;
        if (_dependencies.Length != 0 && DependencyMinimum() <= next)
        {
            return false;
        }

        long stamp = Volatile.Read(ref *(long*)_ring.SlotPointer(next));
        return stamp == next + 1 || stamp == -(next + 1);
    }

    private long DependencyMinimum()
    {
        long min = long.MaxValue;
        foreach (nint p in _dependencies)
        {
            long s = Volatile.Read(ref *(long*)p);
            if (s < min)
            {
                min = s;
            }
        }

        return min;
    }

    /// <summary>
    /// Sequence <paramref name="next"/> is not published. If it was claimed and a later slot is
    /// published, its producer is stalled or dead: after the timeout the slot is abandoned with a
    /// compare-and-swap on its stamp (which a late publish would lose) and counted.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckForDeadProducer(long next)
    {
        long claimed = Volatile.Read(ref *_claim);
        long scanEnd = Math.Min(claimed, next + Math.Min(AbandonScanWindow, _capacity));
        bool laterPublished = false;
        for (long s = next + 1; s < scanEnd; s++)
        {
            if (Volatile.Read(ref *(long*)_ring.SlotPointer(s)) == s + 1)
            {
                laterPublished = true;
                break;
            }
        }

        if (!laterPublished)
        {
            _stuckSequence = -1;
            return;
        }

        long now = Stopwatch.GetTimestamp();
        if (_stuckSequence != next)
        {
            _stuckSequence = next;
            _stuckSince = now;
            return;
        }

        if (now - _stuckSince < _abandonTimeoutTicks)
        {
            return;
        }

        ref long stamp = ref *(long*)_ring.SlotPointer(next);
        long seen = Volatile.Read(ref stamp);
        if (seen != next + 1 && seen != -(next + 1))
        {
            // Whichever of this and a late publish comes first wins; the next poll skips or delivers.
            Interlocked.CompareExchange(ref stamp, -(next + 1), seen);
        }

        _stuckSequence = -1;
    }
}

/// <summary>Adapts an <see cref="IRingHandler"/> (which consumes every message) to <see cref="RingConsumer.PollWhile"/>; inlined away.</summary>
internal struct Consuming<THandler>(THandler inner) : IRingHandlerWhile where THandler : IRingHandler
    {
        public THandler Inner = inner;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
            Inner.OnMessage(sequence, payload);
            return true;
        }
    }
