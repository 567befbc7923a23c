using System.Runtime.CompilerServices;

namespace LowLatencyRisk.Ipc;

/// <summary>What every producer offers; the contract tests run against both implementations.</summary>
/// <remarks>One producer object per thread. Claim, write the payload, publish; never hold a claim across a blocking call.</remarks>
public interface IRingProducer
{
    /// <summary>Bytes of payload per slot.</summary>
    int PayloadSize { get; }

    /// <summary>Claims <paramref name="count"/> consecutive slots if all are free; false (and nothing claimed) when the ring is full.</summary>
    bool TryClaim(int count, out long first);

    /// <summary>The payload of a claimed slot, to be written before publish.</summary>
    Span<byte> Payload(long sequence);

    /// <summary>
    /// Publishes a claimed slot. False only when a consumer already abandoned this sequence because
    /// the producer stalled beyond the abandonment timeout: the message was not delivered and must be
    /// sent again under a new claim.
    /// </summary>
    bool Publish(long sequence);
}

/// <summary>
/// The producer of a <see cref="ProducerMode.Single"/> ring: the claim is a thread-local counter
/// and the gate is re-read only when the cached value says the ring might be full.
/// </summary>
/// <remarks>Single writer: exactly one thread, in one process, uses it.</remarks>
public sealed unsafe class SingleProducer : IRingProducer
{
    private readonly SharedRing _ring;
    private readonly long _capacity;
    private readonly long* _claim;
    private long _next;
    private long _cachedGate;

    internal SingleProducer(SharedRing ring)
    {
        _ring = ring;
        _capacity = ring.Capacity;
        _claim = ring.ClaimPointer;
        // Resume where a previous producer of this ring stopped (a restart after a crash).
        _next = Volatile.Read(ref *_claim);
        _cachedGate = ring.ReadGatingSequence();
    }

    /// <inheritdoc/>
    public int PayloadSize => _ring.PayloadSize;

    /// <summary>Next sequence this producer will claim.</summary>
    public long NextSequence => _next;

    /// <summary>Claims one slot if free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryClaim(out long sequence) => TryClaim(1, out sequence);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryClaim(int count, out long first)
    {
        first = _next;
        long end = first + count;
        if (end - _capacity > _cachedGate && !RefreshGate(end))
        {
            return false;
        }

        _next = end;
        // Plain store: only this producer writes the claim counter; consumers read it only to
        // tell a dead producer from silence.
        *_claim = end;
        return true;
    }

    /// <summary>Claims <paramref name="count"/> slots, waiting with <typeparamref name="TWait"/> while the ring is full.</summary>
    public long Claim<TWait>(int count, ref TWait wait) where TWait : struct, IWaitStrategy
    {
        int i = 0;
        long first;
        while (!TryClaim(count, out first))
        {
            wait.Idle(i++);
        }

        return first;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Payload(long sequence) => new(_ring.SlotPointer(sequence) + Layout.RingHeaderDescriptor.StampSize, _ring.PayloadSize);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Publish(long sequence)
    {
        // Release: the payload stores become visible before the stamp (a plain mov on x64).
        Volatile.Write(ref *(long*)_ring.SlotPointer(sequence), sequence + 1);
        return true;
    }

    /// <summary>Publishes <paramref name="count"/> consecutive claimed slots from <paramref name="first"/>, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish(long first, int count)
    {
        for (long s = first, end = first + count; s < end; s++)
        {
            Volatile.Write(ref *(long*)_ring.SlotPointer(s), s + 1);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool RefreshGate(long end)
    {
        _cachedGate = _ring.ReadGatingSequence();
        return end - _capacity <= _cachedGate;
    }
}

/// <summary>
/// A producer of a <see cref="ProducerMode.Multi"/> ring: producers in any number of threads and
/// processes claim with an atomic operation on the shared claim counter.
/// </summary>
/// <remarks>
/// Publication is a compare-and-swap on the stamp, so a producer that stalled past the consumer's
/// abandonment timeout learns that its slot was skipped (<see cref="Publish(long)"/> returns false)
/// instead of writing a message nobody will read.
/// </remarks>
public sealed unsafe class MultiProducer : IRingProducer
{
    private readonly SharedRing _ring;
    private readonly long _capacity;
    private readonly long* _claim;
    private long _cachedGate;

    internal MultiProducer(SharedRing ring)
    {
        _ring = ring;
        _capacity = ring.Capacity;
        _claim = ring.ClaimPointer;
        _cachedGate = ring.ReadGatingSequence();
    }

    /// <inheritdoc/>
    public int PayloadSize => _ring.PayloadSize;

    /// <summary>Claims one slot if free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryClaim(out long sequence) => TryClaim(1, out sequence);

    /// <inheritdoc/>
    public bool TryClaim(int count, out long first)
    {
        while (true)
        {
            long current = Volatile.Read(ref *_claim);
            long end = current + count;
            if (end - _capacity > _cachedGate)
            {
                _cachedGate = _ring.ReadGatingSequence();
                if (end - _capacity > _cachedGate)
                {
                    first = 0;
                    return false;
                }
            }

            if (Interlocked.CompareExchange(ref *_claim, end, current) == current)
            {
                first = current;
                return true;
            }
        }
    }

    /// <summary>
    /// Claims <paramref name="count"/> slots with one atomic add, then waits with
    /// <typeparamref name="TWait"/> until the consumers have freed them.
    /// </summary>
    public long Claim<TWait>(int count, ref TWait wait) where TWait : struct, IWaitStrategy
    {
        long end = Interlocked.Add(ref *_claim, count);
        int i = 0;
        while (end - _capacity > _cachedGate)
        {
            _cachedGate = _ring.ReadGatingSequence();
            if (end - _capacity <= _cachedGate)
            {
                break;
            }

            wait.Idle(i++);
        }

        return end - count;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Payload(long sequence) => new(_ring.SlotPointer(sequence) + Layout.RingHeaderDescriptor.StampSize, _ring.PayloadSize);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Publish(long sequence)
    {
        ref long stamp = ref *(long*)_ring.SlotPointer(sequence);
        long seen = Volatile.Read(ref stamp);
        if (seen == -(sequence + 1))
        {
            return false;
        }

        // Full fence CAS: the payload is visible before the stamp, and exactly one of this
        // publish and a consumer's abandonment of the same sequence wins.
        return Interlocked.CompareExchange(ref stamp, sequence + 1, seen) == seen;
    }
}
