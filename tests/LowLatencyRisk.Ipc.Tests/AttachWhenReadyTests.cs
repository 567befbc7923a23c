using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Ipc.Tests;

/// <summary>Attaching to a ring another process creates: waiting for it, and saying why not.</summary>
public sealed class AttachWhenReadyTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ARingCreatedLater_IsAttached()
    {
        string path = _files.NewPath();
        var options = new RingOptions(128, 64, ProducerMode.Single);
        SharedRing? created = null;
        var creator = new Thread(() =>
        {
            Thread.Sleep(300);
            created = SharedRing.CreateMapped(path, options);
        });
        creator.Start();
        using var attached = SharedRing.AttachWhenReady(path, options, TimeSpan.FromSeconds(30));
        creator.Join();
        using (created)
        {
            Assert.Equal(64, attached.Capacity);
        }
    }

    [Fact]
    public void NoRing_TimesOut_NamingThePath()
    {
        string path = _files.NewPath();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<TimeoutException>(() => SharedRing.AttachWhenReady(path, null, TimeSpan.FromMilliseconds(200)));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void AForeignFile_IsRefusedAsNotARing()
    {
        string path = _files.NewPath();
        File.WriteAllBytes(path, new byte[4096]);
        Assert.Throws<RingLayoutException>(() => SharedRing.AttachWhenReady(path, null, TimeSpan.FromMilliseconds(200)));
    }
}
