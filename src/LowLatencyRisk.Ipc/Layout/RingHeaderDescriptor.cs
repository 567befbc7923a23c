namespace LowLatencyRisk.Ipc.Layout;

/// <summary>
/// Layout of a ring file (or in-process ring block); little-endian, every offset from the start
/// of the mapping. Mirrored by <c>native-interop/include/llr/llr_ipc.h</c>.
/// </summary>
/// <code>
/// Offset Size Field                Writer
///      0    8 Magic "LLRRING1"     creator, once
///      8    4 LayoutVersion        creator, once
///     12    4 HeaderLength         creator, once (= SlotsOffset)
///     16    4 SlotSize             creator, once (bytes, multiple of 64, stamp included)
///     20    4 Capacity             creator, once (slots, power of two)
///     24    4 ProducerMode         creator, once (1 single, 2 multi)
///     28    4 ConsumerCount        creator, once (1..MaxConsumers; all gate the producers)
///     32    8 FileLength           creator, once
///     40    4 CreatorPid           creator, once
///     44    4 Ready                creator, last, release store (1 = header valid)
///     48    8 CreatedUnixNanos     creator, once
///     56   72 reserved             zero
///    128    8 ClaimSequence        producers; own 128-byte line (next sequence to claim)
///    256  128 Consumer[0]          consumer 0 only: Sequence (8) at +0, AbandonedSlots (8) at +8
///    384  128 Consumer[1]          consumer 1 only
///    512  128 Consumer[2]          consumer 2 only
///    640  128 Consumer[3]          consumer 3 only
///    768    - Slots[Capacity]      slot i at 768 + i * SlotSize
/// Slot:
///      0    8 Stamp                producer, release store after the payload; consumer, acquire load
///      8    - Payload              SlotSize - 8 bytes
/// </code>
/// <remarks>
/// A consumer's Sequence is the count of slots it has finished with (the next sequence it will
/// read); it starts at 0, so a zero-filled file is an empty ring. The producers may write sequence
/// <c>s</c> once <c>s &lt; min(Consumer[i].Sequence) + Capacity</c>. A slot's Stamp is <c>s + 1</c>
/// once sequence <c>s</c> is published in it, <c>-(s + 1)</c> once a consumer has abandoned
/// sequence <c>s</c> after its producer died between claim and publish, and 0 before first use.
/// </remarks>
internal static class RingHeaderDescriptor
{
    /// <summary>"LLRRING1" read as a little-endian 64-bit integer.</summary>
    public const ulong Magic = 0x31474E4952524C4CUL;
    /// <summary>Bumped on any layout change.</summary>
    public const int LayoutVersion = 1;

    public const int MagicOffset = 0;
    public const int LayoutVersionOffset = 8;
    public const int HeaderLengthOffset = 12;
    public const int SlotSizeOffset = 16;
    public const int CapacityOffset = 20;
    public const int ProducerModeOffset = 24;
    public const int ConsumerCountOffset = 28;
    public const int FileLengthOffset = 32;
    public const int CreatorPidOffset = 40;
    public const int ReadyOffset = 44;
    public const int CreatedUnixNanosOffset = 48;

    /// <summary>One line per hot counter: 128 bytes covers the adjacent-line prefetcher pair.</summary>
    public const int LineSize = 128;
    public const int ClaimSequenceOffset = 128;
    public const int ConsumersOffset = 256;
    public const int MaxConsumers = 4;
    public const int ConsumerSequenceOffsetInLine = 0;
    public const int ConsumerAbandonedOffsetInLine = 8;
    public const int SlotsOffset = ConsumersOffset + (MaxConsumers * LineSize);

    public const int StampOffsetInSlot = 0;
    public const int StampSize = 8;
    public const int MinSlotSize = 64;
    public const int MaxSlotSize = 64 * 1024;
    public const int MaxCapacity = 1 << 26;

    /// <summary>Offset of consumer <paramref name="index"/>'s line.</summary>
    public static int ConsumerLineOffset(int index) => ConsumersOffset + (index * LineSize);

    /// <summary>Total bytes of a ring with the given geometry.</summary>
    public static long TotalLength(int slotSize, int capacity) => SlotsOffset + ((long)slotSize * capacity);
}
