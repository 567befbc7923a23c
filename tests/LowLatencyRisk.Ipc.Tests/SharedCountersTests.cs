using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Ipc.Tests;

public sealed class SharedCountersTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Reader_AlwaysSeesAConsistentSnapshot_WhileTheWriterPublishes()
    {
        string path = _files.NewPath("counters");
        using var writer = SharedCounters.Create(path, 64);
        using var reader = SharedCounters.Attach(path);
        Assert.Equal(64, reader.SlotCount);
        Assert.Equal(Environment.ProcessId, reader.WriterPid);
        using var stop = new CancellationTokenSource();
        var thread = new Thread(() =>
        {
            var values = new long[64];
            for (long v = 1; !stop.IsCancellationRequested; v++)
            {
                Array.Fill(values, v); // every slot holds the same value in one publish
                writer.Publish(values, v);
            }
        });
        thread.Start();
        var copy = new long[64];
        int consistent = 0;
        for (int i = 0; i < 3_000; i++)
        {
            if (reader.TryRead(copy))
            {
                Assert.All(copy, x => Assert.Equal(copy[0], x)); // a torn copy would mix two publishes
                consistent++;
            }
        }

        stop.Cancel();
        thread.Join();
        Assert.True(consistent > 0);
        Assert.True(reader.UpdatedTicks > 0);
    }

    [Fact]
    public void Attach_RefusesAFileThatIsNotACountersFile()
    {
        string path = _files.NewPath("not-counters");
        File.WriteAllBytes(path, new byte[4096]);
        var e = Assert.Throws<RingLayoutException>(() => SharedCounters.Attach(path));
        Assert.Contains("not a counters file", e.Message, StringComparison.Ordinal);
        File.WriteAllBytes(path, new byte[10]);
        Assert.Throws<RingLayoutException>(() => SharedCounters.Attach(path));
    }

    [Fact]
    public void Publish_DoesNotAllocate()
    {
        using var writer = SharedCounters.Create(_files.NewPath("counters"), 128);
        var values = new long[128];
        GcAssert.NoAllocation((writer, values), static s => s.writer.Publish(s.values, 1));
    }
}
