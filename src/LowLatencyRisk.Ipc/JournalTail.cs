using System.Buffers.Binary;

namespace LowLatencyRisk.Ipc;

/// <summary>
/// Follows a journal while its writer appends to it (another thread or process): hands over each
/// record once it is whole, in journal-sequence order, across segment rolls — what ships a journal
/// to a replica. Keeps its segment mapped and its place, so a poll costs only the new records.
/// </summary>
/// <remarks>
/// A record is whole when its checksum, length and sequence agree (the writer stores the checksum
/// last); until then it is "not yet", not corruption: the tail waits at it. A record that stays bad
/// while later ones exist is reported by <see cref="Stuck"/> — the tail never skips. Single reader:
/// one thread polls it.
/// </remarks>
public sealed unsafe class JournalTail : IDisposable
{
    private readonly string _directory;
    private readonly int _payloadSize;
    private readonly int _recordSize;
    private MappedRingMemory? _segment;
    private int _segmentIndex;
    private long _segmentFirst;
    private long _capacity;

    /// <summary>Follows the journal in <paramref name="directory"/> from the record after <paramref name="after"/>.</summary>
    public JournalTail(string directory, int payloadSize, long after = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(after);
        _directory = directory;
        _payloadSize = payloadSize;
        _recordSize = JournalWriter.RecordHeaderLength + payloadSize;
        Next = after + 1;
    }

    /// <summary>The journal sequence of the next record to hand over.</summary>
    public long Next { get; private set; }

    /// <summary>Why the tail cannot go on, when the record it waits at is bad although later data exists (null otherwise).</summary>
    public string? Stuck { get; private set; }

    /// <summary>
    /// Hands at most <paramref name="max"/> whole records after the last one to <paramref name="onRecord"/>
    /// (journal sequence, payload); returns how many. 0 when the writer has not appended more yet.
    /// </summary>
    public int Poll(Action<long, ReadOnlySpan<byte>> onRecord, int max = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(onRecord);
        int n = 0;
        while (n < max)
        {
            if (_segment is null || Next - _segmentFirst >= _capacity)
            {
                if (!OpenSegmentHolding(Next))
                {
                    return n;
                }
            }

            long slot = Next - _segmentFirst;
            var record = new ReadOnlySpan<byte>(_segment!.Pointer + JournalWriter.HeaderLength + (slot * _recordSize), _recordSize);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(record);
            int length = BinaryPrimitives.ReadInt32LittleEndian(record[4..]);
            long sequence = BinaryPrimitives.ReadInt64LittleEndian(record[8..]);
            if (length != _payloadSize || sequence != Next || crc != JournalReader.Crc(record[4..]))
            {
                // Not yet whole (being written), or bad: the tail waits here either way.
                Stuck = crc == 0 && length == 0 && sequence == 0 ? null : $"{_segment.Description}: record {Next} is not whole (checksum, length {length} or sequence {sequence}); waiting at it";
                return n;
            }

            Stuck = null;
            onRecord(sequence, record[JournalWriter.RecordHeaderLength..]);
            Next++;
            n++;
        }

        return n;
    }

    /// <summary>Maps the segment whose records include <paramref name="sequence"/>, if the writer has started it.</summary>
    private bool OpenSegmentHolding(long sequence)
    {
        foreach (var (index, path) in JournalReader.Segments(_directory))
        {
            if (_segment is not null && index < _segmentIndex)
            {
                continue; // behind the one held: records only move forward
            }

            MappedRingMemory memory;
            try
            {
                memory = MappedRingMemory.Open(path, JournalWriter.HeaderLength);
            }
            catch (IOException)
            {
                continue; // trimmed or being created: looked at again next poll
            }

            var header = new ReadOnlySpan<byte>(memory.Pointer, JournalWriter.HeaderLength);
            long first = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
            long capacity = (memory.Length - JournalWriter.HeaderLength) / _recordSize;
            bool valid = BinaryPrimitives.ReadUInt64LittleEndian(header) == JournalWriter.Magic
                && BinaryPrimitives.ReadInt32LittleEndian(header[12..]) == _recordSize;
            if (valid && sequence >= first && sequence < first + capacity)
            {
                _segment?.Dispose();
                _segment = memory;
                _segmentIndex = index;
                _segmentFirst = first;
                _capacity = capacity;
                return true;
            }

            memory.Dispose();
        }

        return false;
    }

    /// <summary>Unmaps the segment.</summary>
    public void Dispose()
    {
        _segment?.Dispose();
        _segment = null;
    }
}
