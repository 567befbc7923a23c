namespace LowLatencyRisk.Ipc;

/// <summary>
/// A small memory-mapped file of 64-bit counters, written by one process and read by any number of
/// others without disturbing the writer: the writer copies its counters in under a sequence lock
/// (odd while writing), a reader retries until it sees the same even sequence before and after its
/// copy. The writer never waits for readers.
/// </summary>
/// <code>
/// Offset Size Field
///      0    8 Magic            "LLRCNT01"
///      8    4 Version          1
///     12    4 SlotCount        number of i64 slots after the header
///     16    4 WriterPid
///     20    4 reserved
///     24    8 CreatedUnixNanos
///     32    8 SequenceLock     even: stable, odd: being written
///     40    8 UpdatedTicks     CLOCK_MONOTONIC ns of the last update
///     48   16 reserved
///     64  8·n Slots            i64, little-endian; meaning defined by the writer's layout
/// </code>
public sealed unsafe class SharedCounters : IDisposable
{
    /// <summary>"LLRCNT01" as a little-endian u64.</summary>
    public const ulong Magic = 0x3130544E43524C4C;
    /// <summary>Layout version.</summary>
    public const int Version = 1;
    /// <summary>Header bytes before the slots.</summary>
    public const int HeaderLength = 64;
    /// <summary>Offsets of the header fields.</summary>
    public const int MagicOffset = 0, VersionOffset = 8, SlotCountOffset = 12, WriterPidOffset = 16, CreatedOffset = 24, SequenceOffset = 32, UpdatedOffset = 40;

    private readonly RingMemory _memory;
    private readonly byte* _base;
    private readonly long* _slots;

    private SharedCounters(RingMemory memory, int slotCount)
    {
        _memory = memory;
        _base = memory.Pointer;
        _slots = (long*)(_base + HeaderLength);
        SlotCount = slotCount;
    }

    /// <summary>Number of slots.</summary>
    public int SlotCount { get; }

    /// <summary>The writer's process id.</summary>
    public int WriterPid => *(int*)(_base + WriterPidOffset);

    /// <summary>CLOCK_MONOTONIC ns of the last update (0 before the first).</summary>
    public long UpdatedTicks => Volatile.Read(ref *(long*)(_base + UpdatedOffset));

    /// <summary>Creates (or replaces) the counters file with <paramref name="slotCount"/> zeroed slots.</summary>
    public static SharedCounters Create(string path, int slotCount) => Create(path, slotCount, UnixFileMode.UserRead | UnixFileMode.UserWrite);

    /// <summary>As <see cref="Create(string, int)"/>, with the file's permission bits.</summary>
    public static SharedCounters Create(string path, int slotCount, UnixFileMode mode)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slotCount);
        if (File.Exists(path))
        {
            File.Delete(path); // a stale file of an earlier run; readers attached to it keep their old mapping
        }

        var memory = MappedRingMemory.Create(path, HeaderLength + (8L * slotCount), mode);
        byte* b = memory.Pointer;
        *(int*)(b + VersionOffset) = Version;
        *(int*)(b + SlotCountOffset) = slotCount;
        *(int*)(b + WriterPidOffset) = Environment.ProcessId;
        *(long*)(b + CreatedOffset) = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        Volatile.Write(ref *(ulong*)(b + MagicOffset), Magic); // last: a reader sees a complete header or no magic
        return new SharedCounters(memory, slotCount);
    }

    /// <summary>Attaches to an existing counters file; throws <see cref="RingLayoutException"/> if it is not one.</summary>
    public static SharedCounters Attach(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var memory = MappedRingMemory.Open(path, HeaderLength);
        try
        {
            byte* b = memory.Pointer;
            ulong magic = Volatile.Read(ref *(ulong*)(b + MagicOffset));
            if (magic != Magic)
            {
                throw new RingLayoutException($"{path}: not a counters file (magic 0x{magic:X16}, expected 0x{Magic:X16}).");
            }

            int version = *(int*)(b + VersionOffset);
            if (version != Version)
            {
                throw new RingLayoutException($"{path}: counters layout version {version}, expected {Version}.");
            }

            int slots = *(int*)(b + SlotCountOffset);
            if (slots <= 0 || HeaderLength + (8L * slots) > memory.Length)
            {
                throw new RingLayoutException($"{path}: slot count {slots} does not fit the file's {memory.Length} bytes.");
            }

            return new SharedCounters(memory, slots);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>Writer: copies <paramref name="values"/> into the slots under the sequence lock, stamped <paramref name="nowTicks"/>. Allocation-free.</summary>
    public void Publish(ReadOnlySpan<long> values, long nowTicks)
    {
        ref long sequence = ref *(long*)(_base + SequenceOffset);
        long s = sequence;
        Volatile.Write(ref sequence, s + 1); // odd: writing
        Interlocked.MemoryBarrier();          // the odd sequence is visible before any slot changes
        int n = Math.Min(values.Length, SlotCount);
        for (int i = 0; i < n; i++)
        {
            _slots[i] = values[i];
        }

        Volatile.Write(ref *(long*)(_base + UpdatedOffset), nowTicks);
        Volatile.Write(ref sequence, s + 2); // even again: release orders the slot stores before it
    }

    /// <summary>Reader: a consistent copy of the slots into <paramref name="destination"/>; false if the writer kept it busy for every attempt.</summary>
    public bool TryRead(Span<long> destination, int attempts = 1000)
    {
        ref long sequence = ref *(long*)(_base + SequenceOffset);
        int n = Math.Min(destination.Length, SlotCount);
        for (int k = 0; k < attempts; k++)
        {
            long before = Volatile.Read(ref sequence);
            if ((before & 1) != 0)
            {
                Thread.SpinWait(20);
                continue;
            }

            for (int i = 0; i < n; i++)
            {
                destination[i] = Volatile.Read(ref _slots[i]);
            }

            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref sequence) == before)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Null while the file is still the one created or attached, at its length, with its header;
    /// otherwise why not (shrank, removed, replaced, overwritten). Allocation-free while intact.
    /// </summary>
    public string? CheckIntegrity()
    {
        if (_memory.CheckMapping() is { } mapping)
        {
            return mapping;
        }

        ulong magic = Volatile.Read(ref *(ulong*)(_base + MagicOffset));
        return magic == Magic && *(int*)(_base + SlotCountOffset) == SlotCount
            ? null
            : $"{_memory.Description}: header changed under this process (magic 0x{magic:X16}, slot count {*(int*)(_base + SlotCountOffset)}): the file was overwritten in place";
    }

    /// <summary>The header as bytes (for tools and tests).</summary>
    public ReadOnlySpan<byte> Header => new(_base, HeaderLength);

    /// <summary>The little-endian value of slot <paramref name="index"/> as last written (no consistency across slots).</summary>
    public long ReadSlot(int index) => (uint)index < (uint)SlotCount ? Volatile.Read(ref _slots[index]) : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>Unmaps.</summary>
    public void Dispose() => _memory.Dispose();
}
