using System.Runtime.InteropServices;

namespace LowLatencyRisk.Ipc.Layout;

/// <summary>The fixed header of a ring as an explicit-layout struct; see <see cref="RingHeaderDescriptor"/>.</summary>
/// <remarks>Only <see cref="ClaimSequence"/> and the consumer lines change after creation.</remarks>
[StructLayout(LayoutKind.Explicit, Size = RingHeaderDescriptor.SlotsOffset)]
internal struct RingHeader
{
    /// <summary>Creator, once.</summary>
    [FieldOffset(RingHeaderDescriptor.MagicOffset)] public ulong Magic;
    /// <summary>Creator, once.</summary>
    [FieldOffset(RingHeaderDescriptor.LayoutVersionOffset)] public int LayoutVersion;
    /// <summary>Creator, once.</summary>
    [FieldOffset(RingHeaderDescriptor.HeaderLengthOffset)] public int HeaderLength;
    /// <summary>Creator, once.</summary>
    [FieldOffset(RingHeaderDescriptor.SlotSizeOffset)] public int SlotSize;
    /// <summary>Creator, once.</summary>
    [FieldOffset(RingHeaderDescriptor.CapacityOffset)] public int Capacity;
    /// <summary>Creator, once.</summary>
    [FieldOffset(RingHeaderDescriptor.ProducerModeOffset)] public int ProducerMode;
    /// <summary>Creator, once.</summary>
    [FieldOffset(RingHeaderDescriptor.ConsumerCountOffset)] public int ConsumerCount;
    /// <summary>Creator, once.</summary>
    [FieldOffset(RingHeaderDescriptor.FileLengthOffset)] public long FileLength;
    /// <summary>Creator, once.</summary>
    [FieldOffset(RingHeaderDescriptor.CreatorPidOffset)] public int CreatorPid;
    /// <summary>Creator, last, release store.</summary>
    [FieldOffset(RingHeaderDescriptor.ReadyOffset)] public int Ready;
    /// <summary>Creator, once.</summary>
    [FieldOffset(RingHeaderDescriptor.CreatedUnixNanosOffset)] public long CreatedUnixNanos;
    /// <summary>Producers: next sequence to claim.</summary>
    [FieldOffset(RingHeaderDescriptor.ClaimSequenceOffset)] public long ClaimSequence;
    /// <summary>Consumer 0: slots finished.</summary>
    [FieldOffset(RingHeaderDescriptor.ConsumersOffset)] public long Consumer0Sequence;
    /// <summary>Consumer 0: slots abandoned after a dead producer.</summary>
    [FieldOffset(RingHeaderDescriptor.ConsumersOffset + 8)] public long Consumer0AbandonedSlots;
    /// <summary>Consumer 1: slots finished.</summary>
    [FieldOffset(RingHeaderDescriptor.ConsumersOffset + 128)] public long Consumer1Sequence;
    /// <summary>Consumer 1: slots abandoned.</summary>
    [FieldOffset(RingHeaderDescriptor.ConsumersOffset + 136)] public long Consumer1AbandonedSlots;
    /// <summary>Consumer 2: slots finished.</summary>
    [FieldOffset(RingHeaderDescriptor.ConsumersOffset + 256)] public long Consumer2Sequence;
    /// <summary>Consumer 2: slots abandoned.</summary>
    [FieldOffset(RingHeaderDescriptor.ConsumersOffset + 264)] public long Consumer2AbandonedSlots;
    /// <summary>Consumer 3: slots finished.</summary>
    [FieldOffset(RingHeaderDescriptor.ConsumersOffset + 384)] public long Consumer3Sequence;
    /// <summary>Consumer 3: slots abandoned.</summary>
    [FieldOffset(RingHeaderDescriptor.ConsumersOffset + 392)] public long Consumer3AbandonedSlots;
}
