namespace LowLatencyRisk.Ipc;

/// <summary>How many producers may claim slots of a ring.</summary>
public enum ProducerMode
{
    /// <summary>One producer thread: claims are a local counter, no atomic instruction.</summary>
    Single = 1,
    /// <summary>Any number of producers, in any process: claims are an atomic add on the shared claim counter.</summary>
    Multi = 2,
}

/// <summary>Geometry and policy of a ring at creation.</summary>
/// <param name="SlotSize">Bytes per slot, the 8-byte stamp included; a multiple of 64.</param>
/// <param name="Capacity">Slots; a power of two.</param>
/// <param name="Mode">Single or multiple producers.</param>
/// <param name="ConsumerCount">Consumers that gate the producers (1..4); each has its own sequence line.</param>
public readonly record struct RingOptions(int SlotSize, int Capacity, ProducerMode Mode, int ConsumerCount = 1)
{
    /// <summary>Unix permission bits of a created ring file; 0600 unless configured (for example 0660 for a group).</summary>
    public UnixFileMode FileMode { get; init; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (SlotSize < Layout.RingHeaderDescriptor.MinSlotSize || SlotSize > Layout.RingHeaderDescriptor.MaxSlotSize || SlotSize % 64 != 0)
        {
            throw new ArgumentException($"SlotSize must be a multiple of 64 between {Layout.RingHeaderDescriptor.MinSlotSize} and {Layout.RingHeaderDescriptor.MaxSlotSize}; was {SlotSize}.", nameof(SlotSize));
        }

        if (Capacity < 2 || Capacity > Layout.RingHeaderDescriptor.MaxCapacity || (Capacity & (Capacity - 1)) != 0)
        {
            throw new ArgumentException($"Capacity must be a power of two between 2 and {Layout.RingHeaderDescriptor.MaxCapacity}; was {Capacity}.", nameof(Capacity));
        }

        if (Mode is not (ProducerMode.Single or ProducerMode.Multi))
        {
            throw new ArgumentException($"Mode must be Single (1) or Multi (2); was {(int)Mode}.", nameof(Mode));
        }

        if (ConsumerCount < 1 || ConsumerCount > Layout.RingHeaderDescriptor.MaxConsumers)
        {
            throw new ArgumentException($"ConsumerCount must be between 1 and {Layout.RingHeaderDescriptor.MaxConsumers}; was {ConsumerCount}.", nameof(ConsumerCount));
        }
    }
}
