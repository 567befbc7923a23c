using System.Buffers.Binary;
using LowLatencyRisk.Ipc.Layout;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Ipc.Tests;

public sealed class MappedRingAttachTests : IDisposable
{
    private static readonly RingOptions s_options = new(64, 16, ProducerMode.Multi, 2);
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string CreateRingFile()
    {
        string path = _files.NewPath();
        using var ring = SharedRing.CreateMapped(path, s_options);
        return path;
    }

    private static void Patch(string path, int offset, long value, int size)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        Span<byte> buf = stackalloc byte[8];
        if (size == 8)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buf, value);
        }
        else
        {
            BinaryPrimitives.WriteInt32LittleEndian(buf, (int)value);
        }

        fs.Position = offset;
        fs.Write(buf[..size]);
    }

    [Fact]
    public void Attach_ValidFile_ReadsGeometryAndSharesState()
    {
        string path = CreateRingFile();
        using var a = SharedRing.AttachMapped(path, s_options);
        using var b = SharedRing.AttachMapped(path);
        Assert.Equal(s_options.SlotSize, b.Options.SlotSize);
        Assert.Equal(s_options.Capacity, b.Capacity);
        Assert.Equal(ProducerMode.Multi, b.Options.Mode);
        var p = a.CreateMultiProducer();
        Assert.True(p.TryClaim(out long s));
        p.Payload(s)[0] = 42;
        Assert.True(p.Publish(s));
        var c = b.CreateConsumer(0);
        var h = new RingContractTests.CountingHandler();
        Assert.Equal(1, c.Poll(ref h));
        Assert.Equal(1, a.ReadConsumerSequence(0));
    }

    [Fact]
    public void Create_FileHasMode0600_AndFullLengthReserved()
    {
        string path = CreateRingFile();
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        Assert.Equal(RingHeaderDescriptor.TotalLength(64, 16), new FileInfo(path).Length);
    }

    [Fact]
    public void Create_WhenFileExists_Throws()
    {
        string path = CreateRingFile();
        Assert.Throws<IOException>(() => SharedRing.CreateMapped(path, s_options));
    }

    [Fact]
    public void Create_WithConfiguredGroupMode_AppliesIt()
    {
        string path = _files.NewPath();
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;
        using (SharedRing.CreateMapped(path, s_options with { FileMode = mode }))
        {
        }

        if (!OperatingSystem.IsWindows())
        {
            // The process umask may clear bits, never add them.
            Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(path) & ~mode);
        }
    }

    [Fact]
    public void Attach_BadMagic_NamesExpectedAndActual()
    {
        string path = CreateRingFile();
        Patch(path, RingHeaderDescriptor.MagicOffset, 0x1122334455667788, 8);
        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path));
        Assert.Contains("Magic expected 0x31474E4952524C4C, actual 0x1122334455667788", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attach_WrongVersion_NamesExpectedAndActual()
    {
        string path = CreateRingFile();
        Patch(path, RingHeaderDescriptor.LayoutVersionOffset, 99, 4);
        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path));
        Assert.Contains("LayoutVersion expected 1, actual 99", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attach_ExpectingOtherSlotSize_NamesBoth()
    {
        string path = CreateRingFile();
        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path, s_options with { SlotSize = 128 }));
        Assert.Contains("SlotSize expected 128, actual 64", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attach_ExpectingOtherCapacity_NamesBoth()
    {
        string path = CreateRingFile();
        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path, s_options with { Capacity = 32 }));
        Assert.Contains("Capacity expected 32, actual 16", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attach_ExpectingOtherProducerMode_NamesBoth()
    {
        string path = CreateRingFile();
        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path, s_options with { Mode = ProducerMode.Single }));
        Assert.Contains("ProducerMode expected Single, actual Multi", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attach_HeaderWithInvalidCapacity_IsRefused()
    {
        string path = CreateRingFile();
        Patch(path, RingHeaderDescriptor.CapacityOffset, 1000, 4);
        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path));
        Assert.Contains("Capacity must be a power of two", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attach_HeaderClaimingMoreSlotsThanTheFileHolds_IsRefused()
    {
        string path = CreateRingFile();
        Patch(path, RingHeaderDescriptor.CapacityOffset, 1 << 20, 4);
        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path));
        Assert.Contains("FileLength expected", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attach_TruncatedFile_NamesSizes()
    {
        string path = CreateRingFile();
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            fs.SetLength(RingHeaderDescriptor.SlotsOffset + 100);
        }

        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path));
        Assert.Contains($"file size expected {RingHeaderDescriptor.TotalLength(64, 16)}, actual {RingHeaderDescriptor.SlotsOffset + 100}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attach_FileShorterThanHeader_IsRefused()
    {
        string path = _files.NewPath();
        File.WriteAllBytes(path, new byte[100]);
        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path));
        Assert.Contains("is 100 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attach_NotReady_TimesOutWithClearError()
    {
        string path = CreateRingFile();
        Patch(path, RingHeaderDescriptor.ReadyOffset, 0, 4);
        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path, readyTimeout: TimeSpan.FromMilliseconds(20)));
        Assert.Contains("Ready expected 1, actual 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HeaderStruct_MatchesDescriptorOffsets()
    {
        Assert.Equal(RingHeaderDescriptor.SlotsOffset, System.Runtime.CompilerServices.Unsafe.SizeOf<RingHeader>());
        Assert.Equal(RingHeaderDescriptor.ClaimSequenceOffset, (int)System.Runtime.InteropServices.Marshal.OffsetOf<RingHeader>(nameof(RingHeader.ClaimSequence)));
        Assert.Equal(RingHeaderDescriptor.ConsumerLineOffset(3), (int)System.Runtime.InteropServices.Marshal.OffsetOf<RingHeader>(nameof(RingHeader.Consumer3Sequence)));
        Assert.Equal(RingHeaderDescriptor.ReadyOffset, (int)System.Runtime.InteropServices.Marshal.OffsetOf<RingHeader>(nameof(RingHeader.Ready)));
    }

    [Fact]
    public void Attach_ZeroedFile_NamesTheBadMagic_NotJustReady()
    {
        // Before: a zeroed (or foreign) file was reported as "Ready expected 1, actual 0".
        string path = CreateRingFile();
        Patch(path, RingHeaderDescriptor.MagicOffset, 0, 8);
        Patch(path, RingHeaderDescriptor.ReadyOffset, 0, 4);
        var ex = Assert.Throws<RingLayoutException>(() => SharedRing.AttachMapped(path, readyTimeout: TimeSpan.FromMilliseconds(20)));
        Assert.Contains("not a ring file: magic expected 0x31474E4952524C4C", ex.Message, StringComparison.Ordinal);
        Assert.Contains("actual 0x0000000000000000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckIntegrity_IntactRing_IsNull_EvenAfterTraffic()
    {
        // Negative control for the checks below: slots written and consumed change nothing it checks.
        string path = CreateRingFile();
        using var ring = SharedRing.AttachMapped(path, s_options);
        var producer = ring.CreateMultiProducer();
        var first = ring.CreateConsumer(0);
        var second = ring.CreateConsumer(1);
        var handler = default(RingContractTests.CountingHandler);
        for (int i = 0; i < 40; i++)
        {
            Assert.True(producer.TryClaim(1, out long s));
            producer.Payload(s)[0] = (byte)i;
            producer.Publish(s);
            first.Poll(ref handler);
            second.Poll(ref handler);
        }

        Assert.Equal(80, handler.Count);

        Assert.Null(ring.CheckIntegrity());
    }

    [Fact]
    public void CheckIntegrity_FileReplaced_SaysReplaced()
    {
        // Before: a ring file renamed over kept the engine on the orphaned mapping while producers
        // attached to the new file; nothing noticed.
        string path = CreateRingFile();
        using var ring = SharedRing.AttachMapped(path, s_options);
        string other = _files.NewPath();
        SharedRing.CreateMapped(other, s_options).Dispose();
        File.Move(other, path, overwrite: true);
        string? fault = ring.CheckIntegrity();
        Assert.NotNull(fault);
        Assert.Contains("was replaced by another file", fault, StringComparison.Ordinal);
        Assert.Contains(path, fault, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckIntegrity_FileRemoved_SaysRemoved()
    {
        string path = CreateRingFile();
        using var ring = SharedRing.AttachMapped(path, s_options);
        File.Delete(path);
        Assert.Contains("was removed", ring.CheckIntegrity(), StringComparison.Ordinal);
    }

    [Fact]
    public void CheckIntegrity_FileTruncated_SaysShrank_WithoutTouchingTheLostPages()
    {
        // Reading the header after the truncation would end the process (SIGBUS); the check
        // looks at the size first and returns without reading the mapping.
        string path = CreateRingFile();
        using var ring = SharedRing.AttachMapped(path, s_options);
        long length = new FileInfo(path).Length;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            fs.SetLength(0);
        }

        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"shrank from {length:N0} to 0 bytes"), ring.CheckIntegrity(), StringComparison.Ordinal);
    }

    [Fact]
    public void CheckIntegrity_HeaderZeroedInPlace_SaysOverwritten()
    {
        // Before: a ring zeroed in place lost every message in it, recorded as "sequence gaps 1".
        string path = CreateRingFile();
        using var ring = SharedRing.AttachMapped(path, s_options);
        Patch(path, RingHeaderDescriptor.MagicOffset, 0, 8);
        Assert.Contains("header changed under this process (magic 0x0000000000000000", ring.CheckIntegrity(), StringComparison.Ordinal);
    }

    [Fact]
    public void CheckIntegrity_RingRecreatedInPlace_SaysRecreated()
    {
        // Same magic and geometry, but another creation: a different ring with different sequences.
        string path = CreateRingFile();
        using var ring = SharedRing.AttachMapped(path, s_options);
        Patch(path, RingHeaderDescriptor.CreatedUnixNanosOffset, 12345, 8);
        Assert.Contains("re-created or overwritten in place", ring.CheckIntegrity(), StringComparison.Ordinal);
    }

    [Fact]
    public void CountersCheckIntegrity_DetectsReplacementAndOverwrite()
    {
        string path = _files.NewPath();
        using var counters = SharedCounters.Create(path, 4);
        Assert.Null(counters.CheckIntegrity());
        Patch(path, SharedCounters.MagicOffset, 7, 8);
        Assert.Contains("header changed", counters.CheckIntegrity(), StringComparison.Ordinal);
        string other = _files.NewPath();
        SharedCounters.Create(other, 4).Dispose();
        File.Move(other, path, overwrite: true);
        Assert.Contains("was replaced", counters.CheckIntegrity(), StringComparison.Ordinal);
    }

    [Fact]
    public void IntegrityWatch_ReportsTheFirstFault_OnItsThread_AndNamesTheFile()
    {
        string path = CreateRingFile();
        using var ring = SharedRing.AttachMapped(path, s_options);
        using var reported = new ManualResetEventSlim();
        string? seen = null;
        using var watch = new IntegrityWatch(TimeSpan.FromMilliseconds(10), f => { seen = f; reported.Set(); }, ("feed ring", ring.CheckIntegrity));
        Assert.False(reported.Wait(100), "an intact ring raises nothing");
        Assert.Null(watch.Fault);
        File.Delete(path);
        Assert.True(reported.Wait(TimeSpan.FromSeconds(10)));
        Assert.StartsWith("the feed ring changed: ", seen, StringComparison.Ordinal);
        Assert.Equal(seen, watch.Fault);
    }
}
