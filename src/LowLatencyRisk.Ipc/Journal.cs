using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;

namespace LowLatencyRisk.Ipc;

/// <summary>
/// An append-only journal of fixed-size messages in memory-mapped segment files
/// (<c>journal-000001.llrj</c>, <c>journal-000002.llrj</c>, …), rolled when a segment is full.
/// Each record carries a CRC-32C and a journal sequence (1, 2, 3 … across segments), so a torn
/// last record (a crash in the middle of an append) or a corrupted one is detected and the journal
/// ends at the last good record.
/// </summary>
/// <remarks>
/// <para>A record is in the operating system's page cache once <see cref="Append"/> returns: it
/// survives the death of this process (SIGKILL included). Surviving a power loss needs
/// <see cref="Flush"/> (msync), which costs a disk write; see README, Durability.</para>
/// <code>
/// Segment header (64 bytes)
///      0  8 Magic "LLRJRNL1"   8 4 Version 1   12 4 RecordSize   16 4 PayloadSize
///     20  4 SegmentIndex      24 8 FirstSequence (journal sequence of its first record)
///     32  8 CreatedUnixNanos  40 24 reserved
/// Record (RecordSize = 16 + PayloadSize bytes)
///      0  4 Crc32C over bytes 4 .. RecordSize
///      4  4 PayloadLength (= PayloadSize; 0 = never written)
///      8  8 JournalSequence
///     16  … Payload
/// </code>
/// </remarks>
public sealed unsafe class JournalWriter : IDisposable
{
    /// <summary>"LLRJRNL1" as a little-endian u64.</summary>
    public const ulong Magic = 0x314C4E524A524C4C;
    /// <summary>Format version.</summary>
    public const int Version = 1;
    /// <summary>Segment header bytes.</summary>
    public const int HeaderLength = 64;
    /// <summary>Record header bytes (CRC, length, sequence).</summary>
    public const int RecordHeaderLength = 16;

    private readonly string _directory;
    private readonly int _payloadSize;
    private readonly int _recordSize;
    private readonly long _recordsPerSegment;
    private RingMemory? _segment;
    private int _segmentIndex;
    private long _segmentFirst;
    private long _next; // journal sequence of the next record

    private JournalWriter(string directory, int payloadSize, long segmentBytes)
    {
        _directory = directory;
        _payloadSize = payloadSize;
        _recordSize = RecordHeaderLength + payloadSize;
        _recordsPerSegment = (segmentBytes - HeaderLength) / _recordSize;
    }

    /// <summary>msync each record before <see cref="Append"/> returns (power-loss durability, a storage write per record).</summary>
    public bool SyncEachAppend { get; set; }

    /// <summary>Journal sequence of the last record written (0 when empty).</summary>
    public long LastSequence => _next - 1;

    /// <summary>What opening found (records kept, torn or corrupt records cut off).</summary>
    public JournalScan OpenedWith { get; private set; } = JournalScan.Empty;

    /// <summary>
    /// Opens the journal in <paramref name="directory"/> for appending (creating it when empty):
    /// the existing records are checked and the journal is cut after the last good one, so the next
    /// append follows it. <see cref="OpenedWith"/> says what was found.
    /// </summary>
    public static JournalWriter Open(string directory, int payloadSize, long segmentBytes = 64L << 20) =>
        Open(directory, payloadSize, segmentBytes, UnixFileMode.UserRead | UnixFileMode.UserWrite);

    /// <summary>
    /// As <see cref="Open(string, int, long)"/>, creating segments with <paramref name="mode"/>. The
    /// segment after the current one is prepared before this returns: a folder that cannot hold it
    /// is refused now (<see cref="JournalException"/>), not when the engine first needs it.
    /// </summary>
    public static JournalWriter Open(string directory, int payloadSize, long segmentBytes, UnixFileMode mode)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(payloadSize);
        if (segmentBytes < HeaderLength + (RecordHeaderLength + payloadSize))
        {
            throw new ArgumentOutOfRangeException(nameof(segmentBytes), segmentBytes, "A segment must hold at least one record.");
        }

        Directory.CreateDirectory(directory);
        var writer = new JournalWriter(directory, payloadSize, segmentBytes) { FilePermissions = mode };
        // Older segments may have been trimmed behind a snapshot: the scan starts where the journal does.
        var firstSegment = JournalReader.Segments(directory).FirstOrDefault();
        long head = firstSegment.Path is null ? 0 : Math.Max(0, JournalReader.FirstSequenceOf(firstSegment.Path) - 1);
        var scan = JournalReader.Scan(directory, payloadSize, static (_, _) => { }, head);
        writer.OpenedWith = scan;
        // Segments after the one holding the last good record are cut (a bad record ends the journal).
        foreach (var (index, path) in JournalReader.Segments(directory))
        {
            if (scan.Records == 0 || index > scan.LastSegment)
            {
                File.Delete(path);
            }
        }

        if (scan.Records == 0)
        {
            writer._next = head + 1;
            writer.CreateSegment(1, head + 1);
        }
        else
        {
            writer._next = scan.LastSequence + 1;
            writer.OpenSegment(scan.LastSegment, scan.LastSegmentFirst, segmentBytes);
            writer.ZeroFrom(scan.LastSequence + 1); // cut the torn or corrupt tail
        }

        try
        {
            writer.WaitForSpareAtOpen();
        }
        catch
        {
            writer.Dispose();
            throw;
        }

        return writer;
    }

    private static string SegmentPath(string directory, int index) => Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"journal-{index:D6}.llrj"));

    private void CreateSegment(int index, long firstSequence) => InstallSegment(PrepareSegment(index), index, firstSequence);

    /// <summary>Writes the header of a prepared segment and makes it current; the next spare starts preparing.</summary>
    private void InstallSegment(MappedRingMemory memory, int index, long firstSequence)
    {
        _retired = _segment; // unmapped by the preparer thread (munmap is a system call, kept off the engine thread)
        byte* b = memory.Pointer;
        *(int*)(b + 8) = Version;
        *(int*)(b + 12) = _recordSize;
        *(int*)(b + 16) = _payloadSize;
        *(int*)(b + 20) = index;
        *(long*)(b + 24) = firstSequence;
        *(long*)(b + 32) = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        Volatile.Write(ref *(ulong*)b, Magic); // last: a reader sees a whole header or an unused file
        _segment = memory;
        _segmentIndex = index;
        _segmentFirst = firstSequence;
        PrepareSpare(index + 1);
    }

    // The next segment, created and its pages faulted in ahead of need by a preparer thread (one
    // at open, then one after each roll), so a roll costs the engine thread a header write and a
    // semaphore release: no wait, no allocation (a Task per roll allocated on the engine thread).
    // The preparer also unmaps the segment a roll retired. States: 0 preparing, 1 ready, 2 failed
    // (see _spareFailure).
    private MappedRingMemory? _spare;
    private RingMemory? _retired;
    private Thread? _preparer;
    private readonly SemaphoreSlim _prepare = new(0);
    private volatile bool _closing;
    private int _spareIndex;
    private int _spareState;
    private string? _spareFailure;

    /// <summary>Why the journal cannot take another record (null while it can): the next segment could not be created.</summary>
    public string? Failure { get; private set; }

    /// <summary>Creates segment <paramref name="index"/> (no magic yet: an unused file to a reader) and touches every page.</summary>
    private MappedRingMemory PrepareSegment(int index)
    {
        long length = HeaderLength + (_recordsPerSegment * _recordSize);
        string path = SegmentPath(_directory, index);
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        var memory = MappedRingMemory.Create(path, length, FilePermissions);
        for (long offset = 0; offset < length; offset += 4096)
        {
            memory.Pointer[offset] = 0; // fault the page in now, not on the engine thread's first append to it
        }

        return memory;
    }

    private void PrepareSpare(int index)
    {
        _spareIndex = index;
        _spare = null;
        _spareFailure = null;
        Volatile.Write(ref _spareState, 0);
        if (_preparer is null)
        {
            _preparer = new Thread(PrepareLoop) { IsBackground = true, Name = "llr-journal-prepare" };
            _preparer.Start();
        }

        _prepare.Release(); // orders the writes above before the preparer reads them
    }

    private void PrepareLoop()
    {
        while (true)
        {
            _prepare.Wait();
            Interlocked.Exchange(ref _retired, null)?.Dispose();
            if (_closing)
            {
                return;
            }

            int index = _spareIndex;
            try
            {
                _spare = PrepareSegment(index);
                Volatile.Write(ref _spareState, 1);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _spareFailure = $"cannot create the next journal segment {SegmentPath(_directory, index)}: {e.Message}";
                Volatile.Write(ref _spareState, 2);
            }
        }
    }

    /// <summary>Waits for the spare being prepared (at open only: the engine thread never calls this); throws when it failed.</summary>
    private void WaitForSpareAtOpen()
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref _spareState) == 0)
        {
            spin.SpinOnce(sleep1Threshold: 20);
        }

        if (_spareState == 2)
        {
            throw new JournalException($"the journal folder cannot hold the next segment: {_spareFailure}");
        }
    }

    /// <summary>Unix permission bits of created segments (0600 unless configured).</summary>
    public UnixFileMode FilePermissions { get; init; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private void OpenSegment(int index, long firstSequence, long segmentBytes)
    {
        var memory = MappedRingMemory.Open(SegmentPath(_directory, index), HeaderLength);
        if (memory.Length != HeaderLength + (_recordsPerSegment * _recordSize))
        {
            long records = (memory.Length - HeaderLength) / _recordSize;
            if (records < 1)
            {
                memory.Dispose();
                throw new JournalException($"{SegmentPath(_directory, index)}: {memory.Length} bytes holds no record (segment size {segmentBytes}).");
            }
        }

        _segment = memory;
        _segmentIndex = index;
        _segmentFirst = firstSequence;
        PrepareSpare(index + 1);
    }

    private long Capacity => (_segment!.Length - HeaderLength) / _recordSize;

    private void ZeroFrom(long sequence)
    {
        long slot = sequence - _segmentFirst;
        long capacity = Capacity;
        if (slot < capacity)
        {
            new Span<byte>(_segment!.Pointer + HeaderLength + (slot * _recordSize), (int)Math.Min(int.MaxValue, (capacity - slot) * _recordSize)).Clear();
        }
    }

    /// <summary>Appends one record; returns its journal sequence. Throws <see cref="JournalException"/> when it cannot (see <see cref="TryAppend"/>).</summary>
    public long Append(ReadOnlySpan<byte> payload)
    {
        if (!TryAppend(payload, out long sequence))
        {
            throw new JournalException(Failure!);
        }

        return sequence;
    }

    /// <summary>
    /// Appends one record (allocation-free, a roll included); false, with <see cref="Failure"/>
    /// saying why, when the next segment could not be created: nothing is written then, and every
    /// later call fails too. A roll that finds the spare segment still being prepared (the current
    /// one filled faster than a segment can be created) waits for that preparation to finish.
    /// </summary>
    public bool TryAppend(ReadOnlySpan<byte> payload, out long sequence)
    {
        sequence = 0;
        if (Failure is not null)
        {
            return false;
        }

        long slot = _next - _segmentFirst;
        if (slot >= Capacity)
        {
            var spin = new SpinWait();
            int state;
            while ((state = Volatile.Read(ref _spareState)) == 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            if (state == 2)
            {
                Failure = _spareFailure;
                return false;
            }

            InstallSegment(_spare!, _spareIndex, _next);
            slot = 0;
        }

        byte* r = _segment!.Pointer + HeaderLength + (slot * _recordSize);
        var record = new Span<byte>(r, _recordSize);
        int n = Math.Min(payload.Length, _payloadSize);
        payload[..n].CopyTo(record[RecordHeaderLength..]);
        record[(RecordHeaderLength + n)..].Clear();
        BinaryPrimitives.WriteInt32LittleEndian(record[4..], _payloadSize);
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], _next);
        // The checksum goes in last: a record is valid only once it is whole.
        BinaryPrimitives.WriteUInt32LittleEndian(record, JournalReader.Crc(record[4..]));
        if (SyncEachAppend)
        {
            Flush();
        }

        sequence = _next++;
        return true;
    }

    /// <summary>msync of the current segment: the records survive a power loss once this returns.</summary>
    public void Flush() => (_segment as MappedRingMemory)?.Flush();

    private int _disposed;

    /// <summary>Unmaps (once: a second call does nothing).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var spin = new SpinWait();
        while (_preparer is not null && Volatile.Read(ref _spareState) == 0)
        {
            spin.SpinOnce(); // a spare still being prepared finishes before its file is removed
        }

        if (_preparer is not null)
        {
            _closing = true;
            _prepare.Release();
            _preparer.Join();
        }

        _prepare.Dispose();
        Interlocked.Exchange(ref _retired, null)?.Dispose();
        _segment?.Dispose();
        if (_spare is { } spare)
        {
            spare.Dispose();
            File.Delete(SegmentPath(_directory, _spareIndex)); // never used: no record in it
        }
    }
}

/// <summary>What a journal scan found.</summary>
/// <param name="Records">Good records, in order.</param>
/// <param name="LastSequence">Journal sequence of the last good record (0 when none).</param>
/// <param name="LastSegment">Index of the segment holding it (0 when none).</param>
/// <param name="LastSegmentFirst">First journal sequence of that segment.</param>
/// <param name="Problem">Why the scan stopped before the end of the written data (a torn or corrupt record), or null.</param>
public sealed record JournalScan(long Records, long LastSequence, int LastSegment, long LastSegmentFirst, string? Problem)
{
    /// <summary>No journal.</summary>
    public static JournalScan Empty { get; } = new(0, 0, 0, 0, null);
}

/// <summary>Reads a journal written by <see cref="JournalWriter"/>, stopping at the first bad record.</summary>
public static unsafe class JournalReader
{
    /// <summary>The segments of a journal folder, by index.</summary>
    public static IEnumerable<(int Index, string Path)> Segments(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        return Directory.EnumerateFiles(directory, "journal-*.llrj")
            .Select(p => (Index: int.TryParse(Path.GetFileNameWithoutExtension(p)["journal-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i : -1, Path: p))
            .Where(x => x.Index > 0)
            .OrderBy(x => x.Index)
            .ToList();
    }

    /// <summary>The journal sequence of the first record of the oldest segment (1 unless older segments were trimmed behind a snapshot); 0 when there is none.</summary>
    public static long FirstSequence(string directory)
    {
        foreach (var (_, path) in Segments(directory))
        {
            using var memory = MappedRingMemory.Open(path, JournalWriter.HeaderLength);
            var header = new ReadOnlySpan<byte>(memory.Pointer, JournalWriter.HeaderLength);
            return BinaryPrimitives.ReadUInt64LittleEndian(header) == JournalWriter.Magic ? BinaryPrimitives.ReadInt64LittleEndian(header[24..]) : 0;
        }

        return 0;
    }

    /// <summary>
    /// Calls <paramref name="onRecord"/> with (journal sequence, payload) for every good record in
    /// order, and returns what was found. A record whose checksum, length or sequence is wrong ends
    /// the scan (reported in <see cref="JournalScan.Problem"/> unless it is simply never written).
    /// Throws <see cref="JournalException"/> for a segment from another format or payload size.
    /// </summary>
    public static JournalScan Scan(string directory, int payloadSize, Action<long, ReadOnlySpan<byte>> onRecord, long after = 0)
    {
        ArgumentNullException.ThrowIfNull(onRecord);
        long expected = -1; // the first segment sets it: older segments may have been trimmed behind a snapshot
        long records = 0;
        int lastSegment = 0;
        long lastSegmentFirst = 0;
        int recordSize = JournalWriter.RecordHeaderLength + payloadSize;
        foreach (var (index, path) in Segments(directory))
        {
            using var memory = MappedRingMemory.Open(path, JournalWriter.HeaderLength);
            byte* b = memory.Pointer;
            var header = new ReadOnlySpan<byte>(b, JournalWriter.HeaderLength);
            ulong magic = BinaryPrimitives.ReadUInt64LittleEndian(header);
            int version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            int size = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            long first = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
            if (magic == 0)
            {
                // A segment prepared ahead of time and never started (the writer died before the roll).
                return new JournalScan(records, Math.Max(0, expected - 1), lastSegment, lastSegmentFirst, null);
            }

            if (magic != JournalWriter.Magic)
            {
                return new JournalScan(records, Math.Max(0, expected - 1), lastSegment, lastSegmentFirst, $"{path}: not a journal segment (magic 0x{magic:X16}); the journal ends before it");
            }

            if (version != JournalWriter.Version || size != recordSize)
            {
                throw new JournalException($"{path}: journal version {version} with {size}-byte records; this build reads version {JournalWriter.Version} with {recordSize}-byte records.");
            }

            if (expected < 0)
            {
                if (first > after + 1)
                {
                    throw new JournalException($"{path}: the journal starts at record {first}, but records {after + 1}..{first - 1} are needed " +
                        (after == 0 ? "and no usable snapshot covers them (they were trimmed behind a snapshot that is now missing or invalid)." : "after the snapshot at record " + after + "."));
                }

                expected = first;
            }

            if (first != expected)
            {
                return new JournalScan(records, Math.Max(0, expected - 1), lastSegment, lastSegmentFirst, $"{path}: starts at journal sequence {first}, expected {expected}; the journal ends before it");
            }

            long capacity = (memory.Length - JournalWriter.HeaderLength) / recordSize;
            lastSegment = index;
            lastSegmentFirst = first;
            for (long slot = 0; slot < capacity; slot++)
            {
                var record = new ReadOnlySpan<byte>(b + JournalWriter.HeaderLength + (slot * recordSize), recordSize);
                uint crc = BinaryPrimitives.ReadUInt32LittleEndian(record);
                int length = BinaryPrimitives.ReadInt32LittleEndian(record[4..]);
                long sequence = BinaryPrimitives.ReadInt64LittleEndian(record[8..]);
                if (crc == 0 && length == 0 && sequence == 0)
                {
                    // Never written: the end of the journal, unless a later record was written (a hole).
                    return new JournalScan(records, Math.Max(0, expected - 1), lastSegment, lastSegmentFirst, HasDataAfter(b, slot, capacity, recordSize)
                        ? $"{path}: record {expected} was never completed but later data exists; the journal ends at {expected - 1}" : null);
                }

                if (length != payloadSize || sequence != expected || crc != Crc(record[4..]))
                {
                    string what = crc != Crc(record[4..]) ? "checksum mismatch (torn or corrupt record)" : $"length {length} / sequence {sequence}";
                    return new JournalScan(records, Math.Max(0, expected - 1), lastSegment, lastSegmentFirst, $"{path}: record {expected}: {what}; the journal ends at {expected - 1}");
                }

                if (sequence > after)
                {
                    onRecord(sequence, record[JournalWriter.RecordHeaderLength..]);
                }

                records++;
                expected++;
            }
        }

        return new JournalScan(records, Math.Max(0, expected - 1), lastSegment, lastSegmentFirst, null);
    }

    private static bool HasDataAfter(byte* b, long slot, long capacity, int recordSize)
    {
        for (long s = slot + 1; s < capacity; s++)
        {
            if (*(long*)(b + JournalWriter.HeaderLength + (s * recordSize)) != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The first journal sequence recorded in a segment's header (0 if unreadable).</summary>
    public static long FirstSequenceOf(string segmentPath)
    {
        try
        {
            using var f = new FileStream(segmentPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> header = stackalloc byte[JournalWriter.HeaderLength];
            return f.Read(header) == header.Length && BinaryPrimitives.ReadUInt64LittleEndian(header) == JournalWriter.Magic
                ? BinaryPrimitives.ReadInt64LittleEndian(header[24..]) : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Deletes the segments whose every record is at or below <paramref name="upTo"/> (covered by a
    /// snapshot), never the newest segment; returns how many.
    /// </summary>
    public static int Trim(string directory, long upTo)
    {
        var segments = Segments(directory).ToList();
        int deleted = 0;
        for (int i = 0; i + 1 < segments.Count; i++)
        {
            long nextFirst = FirstSequenceOf(segments[i + 1].Path);
            if (nextFirst <= 0 || nextFirst - 1 > upTo)
            {
                break;
            }

            File.Delete(segments[i].Path);
            deleted++;
        }

        return deleted;
    }

    /// <summary>CRC-32C (Castagnoli) of <paramref name="data"/>, hardware-accelerated where available.</summary>
    public static uint Crc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        }

        for (; i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, data[i]);
        }

        return ~crc;
    }
}

/// <summary>A journal that cannot be read by this build.</summary>
public sealed class JournalException(string message) : Exception(message);
