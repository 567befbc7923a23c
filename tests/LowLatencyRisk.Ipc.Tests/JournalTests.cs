using System.Buffers.Binary;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Ipc.Tests;

public sealed class JournalTests : IDisposable
{
    private const int Payload = 120;
    private readonly string _dir = Path.Combine(TempFiles.Directory, $"llr-journal-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static byte[] Message(long i)
    {
        var p = new byte[Payload];
        BinaryPrimitives.WriteInt64LittleEndian(p, i);
        BinaryPrimitives.WriteInt64LittleEndian(p.AsSpan(100), i * 31);
        return p;
    }

    private List<long> ReadAll(out JournalScan scan)
    {
        var seen = new List<long>();
        scan = JournalReader.Scan(_dir, Payload, (seq, p) =>
        {
            Assert.Equal(seq, BinaryPrimitives.ReadInt64LittleEndian(p));
            Assert.Equal(seq * 31, BinaryPrimitives.ReadInt64LittleEndian(p[100..]));
            seen.Add(seq);
        });
        return seen;
    }

    [Fact]
    public void Append_RollsSegments_AndReadsBackInOrder_AcrossReopen()
    {
        using (var w = JournalWriter.Open(_dir, Payload, segmentBytes: 64 + (136 * 100)))
        {
            for (long i = 1; i <= 250; i++)
            {
                Assert.Equal(i, w.Append(Message(i)));
            }
        }

        Assert.Equal(3, JournalReader.Segments(_dir).Count());
        using (var w = JournalWriter.Open(_dir, Payload, segmentBytes: 64 + (136 * 100)))
        {
            Assert.Equal(250, w.LastSequence);
            for (long i = 251; i <= 400; i++)
            {
                Assert.Equal(i, w.Append(Message(i)));
            }
        }

        Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), ReadAll(out var scan));
        Assert.Null(scan.Problem);
    }

    private string LastSegment => JournalReader.Segments(_dir).Last().Path;

    private void Corrupt(long recordInLastSegment, int byteOffset, int length)
    {
        using var f = new FileStream(LastSegment, FileMode.Open, FileAccess.ReadWrite);
        f.Position = 64 + (recordInLastSegment * 136) + byteOffset;
        f.Write(new byte[length].Select(_ => (byte)0x5A).ToArray());
    }

    [Fact]
    public void TornLastRecord_IsDetected_CutOff_AndOverwrittenByTheNextAppend()
    {
        using (var w = JournalWriter.Open(_dir, Payload))
        {
            for (long i = 1; i <= 10; i++)
            {
                w.Append(Message(i));
            }
        }

        // A crash in the middle of appending record 10: half of its payload is from another write.
        Corrupt(9, 16 + 60, 60);
        Assert.Equal(9, ReadAll(out var scan).Count);
        Assert.Contains("record 10: checksum mismatch", scan.Problem, StringComparison.Ordinal);
        using (var w = JournalWriter.Open(_dir, Payload))
        {
            Assert.Equal(9, w.LastSequence);
            Assert.Contains("record 10", w.OpenedWith.Problem, StringComparison.Ordinal);
            Assert.Equal(10, w.Append(Message(10)));
            Assert.Equal(11, w.Append(Message(11)));
        }

        Assert.Equal(11, ReadAll(out scan).Count);
        Assert.Null(scan.Problem);
    }

    [Fact]
    public void CorruptRecordInTheMiddle_EndsTheJournalThere_WithAClearMessage()
    {
        using (var w = JournalWriter.Open(_dir, Payload))
        {
            for (long i = 1; i <= 50; i++)
            {
                w.Append(Message(i));
            }
        }

        Corrupt(19, 30, 1); // one flipped byte in record 20
        Assert.Equal(19, ReadAll(out var scan).Count);
        Assert.Contains("record 20: checksum mismatch", scan.Problem, StringComparison.Ordinal);
        Assert.Equal(19, scan.LastSequence);
    }

    [Fact]
    public void IncompatibleVersion_IsRefusedWithTheVersions()
    {
        using (var w = JournalWriter.Open(_dir, Payload))
        {
            w.Append(Message(1));
        }

        using (var f = new FileStream(LastSegment, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = 8;
            f.Write(BitConverter.GetBytes(7));
        }

        var e = Assert.Throws<JournalException>(() => ReadAll(out _));
        Assert.Contains("journal version 7", e.Message, StringComparison.Ordinal);
        Assert.Throws<JournalException>(() => JournalWriter.Open(_dir, Payload).Dispose());
    }

    [Fact]
    public void Append_DoesNotAllocate()
    {
        using var w = JournalWriter.Open(_dir, Payload, segmentBytes: 64L << 20);
        var m = Message(1);
        GcAssert.NoAllocation((w, m), static s => s.w.Append(s.m));
    }

    [Fact]
    public void Append_AcrossSegmentRolls_DoesNotAllocate()
    {
        // Before: each roll started a Task (and its closure) on the appending thread, and unmapped
        // the old segment there: `llr engine` with the journal on allocated 952–4,144 B per run.
        // Segments of 64 KiB hold 481 records: the measured window crosses about 40 rolls.
        using var w = JournalWriter.Open(_dir, Payload, segmentBytes: 64L << 10);
        var m = Message(1);
        GcAssert.NoAllocation((w, m), static s => s.w.Append(s.m));
        Assert.True(w.LastSequence > 20_000);
    }

    [Fact]
    public void Crc32C_MatchesTheStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, JournalReader.Crc("123456789"u8));
    }

    [Fact]
    public void ATail_FollowsTheWriter_AcrossSegmentRolls_WhileItAppends()
    {
        // Segments of 64 + 100 records: the 5,000 records roll about 50 times under the tail.
        using var writer = JournalWriter.Open(_dir, Payload, JournalWriter.HeaderLength + (100L * (JournalWriter.RecordHeaderLength + Payload)));
        using var tail = new JournalTail(_dir, Payload);
        var seen = new List<long>();
        void Take(long seq, ReadOnlySpan<byte> p)
        {
            Assert.Equal(seq, BinaryPrimitives.ReadInt64LittleEndian(p));
            Assert.Equal(seq * 31, BinaryPrimitives.ReadInt64LittleEndian(p[100..]));
            seen.Add(seq);
        }

        var appending = new Thread(() =>
        {
            for (long i = 1; i <= 5_000; i++)
            {
                writer.Append(Message(i));
                if (i % 97 == 0)
                {
                    Thread.Yield();
                }
            }
        });
        appending.Start();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (seen.Count < 5_000 && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (tail.Poll(Take) == 0)
            {
                Thread.Yield();
            }
        }

        appending.Join();
        Assert.Equal(Enumerable.Range(1, 5_000).Select(i => (long)i), seen);
        Assert.Equal(0, tail.Poll(Take)); // nothing more, and nothing handed over twice
        writer.Dispose();
        writer.Dispose(); // a second dispose does nothing (a standby closes its journal before the engine opens it)
        Assert.Null(tail.Stuck);

        // A tail started after a point hands over only what follows it.
        using var later = new JournalTail(_dir, Payload, after: 4_990);
        var rest = new List<long>();
        later.Poll((seq, _) => rest.Add(seq));
        Assert.Equal(Enumerable.Range(4_991, 10).Select(i => (long)i), rest);
    }

    [Fact]
    public void ATail_WaitsAtABadRecord_AndSaysSo_NeverSkippingIt()
    {
        using (var writer = JournalWriter.Open(_dir, Payload))
        {
            for (long i = 1; i <= 10; i++)
            {
                writer.Append(Message(i));
            }
        }

        // Corrupt record 6's payload: its checksum no longer matches, and records 7..10 follow it.
        string segment = JournalReader.Segments(_dir).First().Path;
        using (var f = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = JournalWriter.HeaderLength + (5L * (JournalWriter.RecordHeaderLength + Payload)) + JournalWriter.RecordHeaderLength + 3;
            f.WriteByte(0xEE);
        }

        using var tail = new JournalTail(_dir, Payload);
        var seen = new List<long>();
        Assert.Equal(5, tail.Poll((seq, _) => seen.Add(seq)));
        Assert.Equal(0, tail.Poll((seq, _) => seen.Add(seq)));
        Assert.Equal(6, tail.Next);
        Assert.Contains("record 6 is not whole", tail.Stuck, StringComparison.Ordinal);
    }
}
