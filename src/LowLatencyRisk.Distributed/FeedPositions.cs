using System.IO.MemoryMappedFiles;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;

namespace LowLatencyRisk.Distributed;

/// <summary>
/// Where each producer stands in what a shard's feed bridge has written into the shard's ring: per
/// producer id its session (epoch) and last sequence written. A restarted bridge starts from it, so a
/// producer's message stored in the stream ahead of a missing one (a leader change: the router's
/// publish refused, the next stored, the refused one stored again later) is held until the missing one
/// comes even when the bridge that saw the first part of the hold is gone: without it the successor
/// took the first message of each producer it met as where that producer stood, wrote it, and the
/// missing one, arriving after it, was refused by the engine as a duplicate — lost.
/// </summary>
/// <remarks>
/// <para>Backed by a memory-mapped file beside the ring (<see cref="PathBeside"/>), so a bridge killed at
/// any instruction leaves its writes in the page cache for its successor. The bridge records a message
/// after it is in the ring and before it acknowledges anything after it, so every message the stream
/// considers delivered is recorded; one written but not yet recorded lies after the acknowledgement
/// floor and comes again (the engine refuses the copy). A standby taking over seeds the file from the
/// engine state it replayed the replicated journal into (<see cref="SeedFrom"/>): exactly what that
/// engine has applied.</para>
/// <para>File: a 64-byte header ("LLRBPS01", the producer count) and one 16-byte slot per producer id:
/// u32 epoch, u32 known (1 once anything was recorded), i64 last sequence. Only the newest session of a
/// producer is kept; an older one's messages are stale to the engine anyway.</para>
/// </remarks>
public sealed class FeedPositions : IDisposable
{
    private const long Magic = 0x3130_5350_4252_4C4C; // "LLRBPS01" little-endian
    private const int SlotSize = 16;
    private static readonly long Length = MappedStateFile.HeaderSize + ((long)SlotSize * FeedMessageDescriptor.MaxProducers);
    private readonly MappedStateFile _state;
    private readonly MemoryMappedViewAccessor _view;

    private FeedPositions(MappedStateFile state)
    {
        _state = state;
        _view = state.View;
    }

    /// <summary>The positions file of the bridge writing into the ring at <paramref name="ringPath"/>.</summary>
    public static string PathBeside(string ringPath) => ringPath + ".bridge-positions";

    /// <summary>Positions that live as long as the process (tests, a bridge in the engine's process).</summary>
    public static FeedPositions InMemory() => new(MappedStateFile.InMemory(Magic, FeedMessageDescriptor.MaxProducers, Length));

    /// <summary>
    /// Opens the positions file at <paramref name="path"/>, creating it with <paramref name="mode"/>
    /// when absent (nothing known: the bridge then starts each producer where it first meets it);
    /// throws <see cref="InvalidDataException"/> naming the problem when the file is something else.
    /// </summary>
    public static FeedPositions Open(string path, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite) =>
        new(MappedStateFile.Open(path, Magic, FeedMessageDescriptor.MaxProducers, Length, mode, "a feed bridge's positions file",
            "remove it (the bridge then starts each producer where it first meets it)"));

    private static long SlotOf(int producer) => MappedStateFile.HeaderSize + ((long)SlotSize * producer);

    /// <summary>
    /// The sequence of session <paramref name="epoch"/> of <paramref name="producer"/> last written:
    /// the recorded one for the recorded session, 0 for a newer session (it starts at 1), −1 when
    /// nothing is known (the producer never recorded, an older session, an id out of range).
    /// </summary>
    public long StartOf(int producer, uint epoch)
    {
        if ((uint)producer >= FeedMessageDescriptor.MaxProducers)
        {
            return -1;
        }

        long at = SlotOf(producer);
        if (_view.ReadUInt32(at + 4) == 0)
        {
            return -1;
        }

        uint known = _view.ReadUInt32(at);
        return epoch == known ? _view.ReadInt64(at + 8) : epoch > known ? 0 : -1;
    }

    /// <summary>Records that <paramref name="sequence"/> of session <paramref name="epoch"/> of <paramref name="producer"/> is in the ring (a lower sequence or an older session changes nothing).</summary>
    public void Wrote(int producer, uint epoch, long sequence)
    {
        if ((uint)producer >= FeedMessageDescriptor.MaxProducers)
        {
            return;
        }

        long at = SlotOf(producer);
        bool known = _view.ReadUInt32(at + 4) != 0;
        uint current = _view.ReadUInt32(at);
        if (known && epoch == current)
        {
            if (sequence > _view.ReadInt64(at + 8))
            {
                _view.Write(at + 8, sequence);
            }

            return;
        }

        if (known && epoch < current)
        {
            return;
        }

        // A newer session (or the first record): the sequence before the epoch, so a bridge killed
        // between the two leaves the older session with a low sequence (its messages are stale to the
        // engine: at worst held for a moment) rather than the newer one with the older's high sequence.
        _view.Write(at + 8, sequence);
        _view.Write(at, epoch);
        _view.Write(at + 4, 1u);
    }

    /// <summary>
    /// Replaces every position with what <paramref name="machine"/> has applied (its producers' epochs
    /// and last sequences; one that never sent anything is unknown): how a standby that replayed the
    /// replicated journal starts its bridge.
    /// </summary>
    public void SeedFrom(FeedStateMachine machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        for (int p = 0; p < FeedMessageDescriptor.MaxProducers; p++)
        {
            long at = SlotOf(p);
            uint epoch = machine.ProducerEpoch(p);
            long last = machine.LastProducerSequence(p);
            _view.Write(at + 4, 0u);
            _view.Write(at + 8, last);
            _view.Write(at, epoch);
            _view.Write(at + 4, epoch != 0 || last != 0 ? 1u : 0u);
        }
    }

    /// <summary>Unmaps the file (its contents stay).</summary>
    public void Dispose() => _state.Dispose();
}
