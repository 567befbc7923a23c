using System.Diagnostics;
using System.Runtime.CompilerServices;
using LowLatencyRisk.Ipc.Layout;

namespace LowLatencyRisk.Ipc;

/// <summary>
/// A Disruptor-style ring of fixed-size slots in shared memory (a memory-mapped file) or in
/// process memory, with the same layout either way (<see cref="RingHeaderDescriptor"/>).
/// </summary>
/// <remarks>
/// The ring object only owns the mapping and validates it; producing and consuming go through
/// <see cref="SingleProducer"/>, <see cref="MultiProducer"/> and <see cref="RingConsumer"/>, each
/// used by one thread. Every field read from the file is validated once, at attach; the hot paths
/// trust those validated values and never the live header.
/// </remarks>
public sealed unsafe class SharedRing : IDisposable
{
    private readonly RingMemory _memory;
    internal readonly byte* Base;
    internal readonly long Mask;

    private readonly long _createdUnixNanos;
    private readonly int _creatorPid;

    private SharedRing(RingMemory memory, RingOptions options)
    {
        _memory = memory;
        Base = memory.Pointer;
        Options = options;
        Mask = options.Capacity - 1;
        ref RingHeader h = ref *(RingHeader*)Base;
        _createdUnixNanos = h.CreatedUnixNanos;
        _creatorPid = h.CreatorPid;
    }

    /// <summary>Geometry of this ring as validated at create or attach.</summary>
    public RingOptions Options { get; }

    /// <summary>Bytes of payload per slot (slot size less the 8-byte stamp).</summary>
    public int PayloadSize => Options.SlotSize - RingHeaderDescriptor.StampSize;

    /// <summary>Number of slots.</summary>
    public int Capacity => Options.Capacity;

    /// <summary>The file path, or "in-process memory".</summary>
    public string Location => _memory.Description;

    /// <summary>The default folder for ring files: /dev/shm where it exists, else the temp folder.</summary>
    public static string DefaultDirectory => Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    /// <summary>Creates a ring in process memory (for embedding and tests); same layout as a file.</summary>
    public static SharedRing CreateInProcess(RingOptions options)
    {
        options.Validate();
        var memory = new NativeRingMemory(RingHeaderDescriptor.TotalLength(options.SlotSize, options.Capacity));
        InitializeHeader(memory.Pointer, options, memory.Length);
        return new SharedRing(memory, options);
    }

    /// <summary>Creates a new ring file (which must not exist), its full length reserved, mode from <see cref="RingOptions.FileMode"/>.</summary>
    public static SharedRing CreateMapped(string path, RingOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options.Validate();
        var memory = MappedRingMemory.Create(path, RingHeaderDescriptor.TotalLength(options.SlotSize, options.Capacity), options.FileMode);
        InitializeHeader(memory.Pointer, options, memory.Length);
        return new SharedRing(memory, options);
    }

    /// <summary>
    /// Attaches to a ring another process creates: waits up to <paramref name="wait"/> for the file to
    /// appear (checking every 50 ms), then attaches as <see cref="AttachMapped"/> does, giving the
    /// creator at least a second to finish it. Throws <see cref="TimeoutException"/> when the file
    /// did not appear, <see cref="RingLayoutException"/> when it is not a ring of this layout, and
    /// <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when it cannot be opened.
    /// </summary>
    public static SharedRing AttachWhenReady(string path, RingOptions? expected, TimeSpan wait)
    {
        ArgumentNullException.ThrowIfNull(path);
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(path))
        {
            if (deadline.Elapsed >= wait)
            {
                throw new TimeoutException($"{path} did not appear within {wait.TotalSeconds:F0} s");
            }

            Thread.Sleep(50);
        }

        return AttachMapped(path, expected, wait > TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// Attaches to an existing ring file and validates magic, version, geometry and length, waiting
    /// up to <paramref name="readyTimeout"/> for the creator to finish. When <paramref name="expected"/>
    /// is given, the file must match it exactly. Throws <see cref="RingLayoutException"/> naming the
    /// expected and actual values on any mismatch.
    /// </summary>
    public static SharedRing AttachMapped(string path, RingOptions? expected = null, TimeSpan readyTimeout = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var memory = MappedRingMemory.Open(path);
        try
        {
            var options = Validate(memory.Pointer, memory.Length, path, expected, readyTimeout);
            return new SharedRing(memory, options);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>Creates the single producer of a <see cref="ProducerMode.Single"/> ring (one per ring across all processes).</summary>
    public SingleProducer CreateSingleProducer()
    {
        if (Options.Mode != ProducerMode.Single)
        {
            throw new InvalidOperationException($"Ring '{Location}' is {Options.Mode}-producer; use CreateMultiProducer.");
        }

        return new SingleProducer(this);
    }

    /// <summary>Creates one of many producers of a <see cref="ProducerMode.Multi"/> ring.</summary>
    public MultiProducer CreateMultiProducer()
    {
        if (Options.Mode != ProducerMode.Multi)
        {
            throw new InvalidOperationException($"Ring '{Location}' is {Options.Mode}-producer; use CreateSingleProducer.");
        }

        return new MultiProducer(this);
    }

    /// <summary>Creates the consumer with the given index.</summary>
    /// <param name="index">Which consumer line this consumer owns (0..ConsumerCount-1); one consumer per index.</param>
    /// <param name="dependsOn">Consumers that must finish a slot before this one reads it (for example the journaller before the engine).</param>
    /// <param name="abandonTimeout">
    /// How long a claimed but unpublished slot may block this consumer while later slots are
    /// published before it is abandoned (the producer is presumed dead). Zero disables.
    /// Only consumers with no dependencies abandon; dependents skip what was abandoned.
    /// </param>
    public RingConsumer CreateConsumer(int index, ReadOnlySpan<int> dependsOn = default, TimeSpan abandonTimeout = default)
    {
        if ((uint)index >= (uint)Options.ConsumerCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Ring has {Options.ConsumerCount} consumers.");
        }

        foreach (int d in dependsOn)
        {
            if ((uint)d >= (uint)Options.ConsumerCount || d == index)
            {
                throw new ArgumentOutOfRangeException(nameof(dependsOn), d, $"A dependency must be another consumer index below {Options.ConsumerCount}.");
            }
        }

        return new RingConsumer(this, index, dependsOn, abandonTimeout);
    }

    /// <summary>The shared claim counter: the next sequence any producer will claim.</summary>
    public long ReadClaimSequence() => Volatile.Read(ref *(long*)(Base + RingHeaderDescriptor.ClaimSequenceOffset));

    /// <summary>
    /// The payload of slot <paramref name="sequence"/> when it still holds that sequence's published
    /// message; empty when it was never published (claimed by a producer that died) or a later lap
    /// has overwritten it. For a restarted producer that must learn what it had already sent.
    /// </summary>
    public ReadOnlySpan<byte> PublishedPayload(long sequence)
    {
        if (sequence < 0)
        {
            return default;
        }

        byte* slot = SlotPointer(sequence);
        return Volatile.Read(ref *(long*)slot) == sequence + 1 ? new ReadOnlySpan<byte>(slot + RingHeaderDescriptor.StampSize, PayloadSize) : default;
    }

    /// <summary>Consumer <paramref name="index"/>'s published sequence (slots it has finished).</summary>
    public long ReadConsumerSequence(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Options.ConsumerCount, nameof(index));
        return Volatile.Read(ref *ConsumerSequencePointer(index));
    }

    /// <summary>Slots consumer <paramref name="index"/> has skipped because their producer died.</summary>
    public long ReadAbandonedCount(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Options.ConsumerCount, nameof(index));
        return Volatile.Read(ref *(long*)(Base + RingHeaderDescriptor.ConsumerLineOffset(index) + RingHeaderDescriptor.ConsumerAbandonedOffsetInLine));
    }

    /// <summary>
    /// Null while the ring is still the one this process attached to; otherwise why not: its file
    /// shrank, was removed or replaced (checked first, without touching the mapped pages), or its
    /// header no longer holds what was validated at attach (zeroed or re-created in place). Call it
    /// off the hot path, e.g. once per counters interval, and stop using the ring when it is not
    /// null. Allocation-free while the ring is intact.
    /// </summary>
    public string? CheckIntegrity()
    {
        if (_memory.CheckMapping() is { } mapping)
        {
            return mapping;
        }

        ref RingHeader h = ref *(RingHeader*)Base;
        if (Volatile.Read(ref h.Magic) != RingHeaderDescriptor.Magic)
        {
            return $"{Location}: header changed under this process (magic 0x{h.Magic:X16}, expected 0x{RingHeaderDescriptor.Magic:X16}): the file was overwritten in place";
        }

        if (h.Ready != 1 || h.LayoutVersion != RingHeaderDescriptor.LayoutVersion || h.HeaderLength != RingHeaderDescriptor.SlotsOffset
            || h.SlotSize != Options.SlotSize || h.Capacity != Options.Capacity || h.ProducerMode != (int)Options.Mode
            || h.ConsumerCount != Options.ConsumerCount || h.CreatedUnixNanos != _createdUnixNanos || h.CreatorPid != _creatorPid)
        {
            return $"{Location}: header changed under this process (now ready {h.Ready}, version {h.LayoutVersion}, slot {h.SlotSize} B, capacity {h.Capacity}, {h.ConsumerCount} consumers, creator pid {h.CreatorPid}; attached to slot {Options.SlotSize} B, capacity {Options.Capacity}, {Options.ConsumerCount} consumers, creator pid {_creatorPid}): the file was re-created or overwritten in place";
        }

        return null;
    }

    /// <summary>Unmaps the ring. Producers and consumers must no longer be used.</summary>
    public void Dispose() => _memory.Dispose();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte* SlotPointer(long sequence) => Base + RingHeaderDescriptor.SlotsOffset + ((sequence & Mask) * Options.SlotSize);

    internal long* ClaimPointer => (long*)(Base + RingHeaderDescriptor.ClaimSequenceOffset);

    internal long* ConsumerSequencePointer(int index) => (long*)(Base + RingHeaderDescriptor.ConsumerLineOffset(index) + RingHeaderDescriptor.ConsumerSequenceOffsetInLine);

    internal long* AbandonedPointer(int index) => (long*)(Base + RingHeaderDescriptor.ConsumerLineOffset(index) + RingHeaderDescriptor.ConsumerAbandonedOffsetInLine);

    /// <summary>Minimum of all consumer sequences: producers may write below it plus capacity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal long ReadGatingSequence()
    {
        long min = long.MaxValue;
        int count = Options.ConsumerCount;
        for (int i = 0; i < count; i++)
        {
            long s = Volatile.Read(ref *ConsumerSequencePointer(i));
            if (s < min)
            {
                min = s;
            }
        }

        return min;
    }

    private static void InitializeHeader(byte* p, RingOptions options, long length)
    {
        // Field by field, then Ready last with a release store: an attaching peer that sees
        // Ready == 1 sees every field before it.
        ref RingHeader h = ref *(RingHeader*)p;
        h.Magic = RingHeaderDescriptor.Magic;
        h.LayoutVersion = RingHeaderDescriptor.LayoutVersion;
        h.HeaderLength = RingHeaderDescriptor.SlotsOffset;
        h.SlotSize = options.SlotSize;
        h.Capacity = options.Capacity;
        h.ProducerMode = (int)options.Mode;
        h.ConsumerCount = options.ConsumerCount;
        h.FileLength = length;
        h.CreatorPid = Environment.ProcessId;
        h.CreatedUnixNanos = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        Volatile.Write(ref h.Ready, 1);
    }

    private static RingOptions Validate(byte* p, long actualLength, string path, RingOptions? expected, TimeSpan readyTimeout)
    {
        ref RingHeader h = ref *(RingHeader*)p;
        long deadline = Stopwatch.GetTimestamp() + (long)(readyTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Volatile.Read(ref h.Ready) != 1)
        {
            if (Stopwatch.GetTimestamp() >= deadline)
            {
                ulong magic = Volatile.Read(ref h.Magic);
                if (magic != RingHeaderDescriptor.Magic)
                {
                    throw new RingLayoutException($"Ring '{path}' is not a ring file: magic expected 0x{RingHeaderDescriptor.Magic:X16} (\"LLRRING1\"), actual 0x{magic:X16}.");
                }

                throw new RingLayoutException($"Ring '{path}': Ready expected 1, actual {h.Ready} (the creator has not finished, or this is not a ring file).");
            }

            Thread.Sleep(1);
        }

        Check(h.Magic == RingHeaderDescriptor.Magic, path, "Magic", $"0x{RingHeaderDescriptor.Magic:X16}", $"0x{h.Magic:X16}");
        Check(h.LayoutVersion == RingHeaderDescriptor.LayoutVersion, path, "LayoutVersion", RingHeaderDescriptor.LayoutVersion, h.LayoutVersion);
        Check(h.HeaderLength == RingHeaderDescriptor.SlotsOffset, path, "HeaderLength", RingHeaderDescriptor.SlotsOffset, h.HeaderLength);
        var options = new RingOptions(h.SlotSize, h.Capacity, (ProducerMode)h.ProducerMode, h.ConsumerCount);
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new RingLayoutException($"Ring '{path}': invalid header: {ex.Message}", ex);
        }

        long needed = RingHeaderDescriptor.TotalLength(options.SlotSize, options.Capacity);
        Check(h.FileLength == needed, path, "FileLength", needed, h.FileLength);
        Check(actualLength >= needed, path, "file size", needed, actualLength);
        if (expected is { } e)
        {
            Check(options.SlotSize == e.SlotSize, path, "SlotSize", e.SlotSize, options.SlotSize);
            Check(options.Capacity == e.Capacity, path, "Capacity", e.Capacity, options.Capacity);
            Check(options.Mode == e.Mode, path, "ProducerMode", e.Mode, options.Mode);
            Check(options.ConsumerCount == e.ConsumerCount, path, "ConsumerCount", e.ConsumerCount, options.ConsumerCount);
        }

        return options;
    }

    private static void Check<T>(bool ok, string path, string field, T expected, T actual)
    {
        if (!ok)
        {
            throw new RingLayoutException($"Ring '{path}': {field} expected {expected}, actual {actual}.");
        }
    }
}
