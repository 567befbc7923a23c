using System.Buffers.Binary;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary>`llr stats` never shows a dead or hung engine as alive.</summary>
public sealed class StatsLivenessTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string CountersFile(out SharedCounters counters)
    {
        string path = _files.NewPath("counters");
        counters = SharedCounters.Create(path, EngineCountersLayout.Count);
        var slots = new long[EngineCountersLayout.Count];
        slots[EngineCountersLayout.Layout] = EngineCountersLayout.LayoutId;
        slots[EngineCountersLayout.Events] = 1234;
        counters.Publish(slots, MonotonicClock.Now());
        return path;
    }

    private static (int Code, string Output) Stats(string path, params string[] extra)
    {
        using var llr = PeerProcess.StartDotnet("llr", ["stats", "--counters", path, "--once", .. extra]);
        int code = llr.WaitForExit(TimeSpan.FromSeconds(60));
        return (code, llr.Output);
    }

    [Fact]
    public void FreshCounters_OfALiveWriter_AreLive_ExitZero()
    {
        // The negative control of the two below: the same file, just published, reads as live.
        string path = CountersFile(out var counters);
        using (counters)
        {
            var (code, output) = Stats(path, "--stale-after", "30");
            Assert.True(code == 0, output);
            Assert.Contains("live, updated", output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("--stale-after", "0")]
    [InlineData("--stale-after", "NaN")]
    [InlineData("--interval", "NaN")]
    [InlineData("--interval", "0")]
    public void BadIntervals_AreRefused_ExitTwo(string option, string value)
    {
        // Before: NaN went through Math.Max and TimeSpan.FromSeconds threw (a stack trace); a NaN
        // stale threshold would have read every engine as live.
        string path = CountersFile(out var counters);
        using (counters)
        {
            var (code, output) = Stats(path, option, value);
            Assert.Equal(2, code);
            Assert.Contains(option, output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void CountersNotUpdated_AreShownStale_AndOnceExitsNonZero()
    {
        // Before: a stopped engine's counters were shown indefinitely and --once exited 0.
        string path = CountersFile(out var counters);
        using (counters)
        {
            Thread.Sleep(600);
            var (code, output) = Stats(path, "--stale-after", "0.3");
            Assert.Equal(5, code);
            Assert.Contains("STALE", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void CountersOfAProcessThatIsGone_AreShownDead_AndOnceExitsNonZero()
    {
        string path = CountersFile(out var counters);
        counters.Dispose();
        using (var gone = PeerProcess.StartNative("/bin/true"))
        {
            gone.WaitForExit(TimeSpan.FromSeconds(10));
            var bytes = File.ReadAllBytes(path);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(SharedCounters.WriterPidOffset), gone.Id);
            File.WriteAllBytes(path, bytes);
        }

        var (code, output) = Stats(path, "--stale-after", "30");
        Assert.Equal(5, code);
        Assert.Contains("DEAD", output, StringComparison.Ordinal);
    }
}

/// <summary>Mistyped commands and options are bad input: a message and exit code 2, as the README says.</summary>
public sealed class CommandLineErrorTests
{
    [Theory]
    [InlineData("enigne")]
    [InlineData("stats", "--onse")]
    [InlineData("simulate", "--events", "many")]
    public void MistypedCommandOrOption_ExitsTwo_WithAMessage_NoStackTrace(params string[] args)
    {
        // Before: exit code 1.
        using var llr = PeerProcess.StartDotnet("llr", args);
        Assert.Equal(2, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("llr:", llr.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", llr.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("simulate --out /nonexistent-llr-folder/x.bin --events 10", 2, "llr simulate: --out /nonexistent-llr-folder/x.bin: the folder /nonexistent-llr-folder does not exist.")]
    [InlineData("simulate --out /proc/version/x.bin --events 10", 2, "llr simulate: --out /proc/version/x.bin: the folder /proc/version does not exist.")]
    [InlineData("simulate --out /proc/llr-x.bin --events 10", 2, "llr simulate: --out /proc/llr-x.bin: cannot write:")]
    [InlineData("margin /tmp", 2, "llr margin: /tmp: is a folder, not a portfolio file")]
    [InlineData("margin /nonexistent-llr-file.json", 2, "llr margin: /nonexistent-llr-file.json: cannot read the file:")]
    [InlineData("margin x.json --format xml", 2, "llr: Argument 'xml' not recognized")]
    [InlineData("stats --counters /tmp --once", 3, "llr stats:")]
    [InlineData("engine --config /tmp", 2, "llr engine: /tmp: invalid configuration:")]
    [InlineData("engine --duration -5", 2, "llr: --duration must be a number in [0, 31536000]; was -5.")]
    [InlineData("simulate --rate NaN", 2, "llr: --rate must be a number in [0, 1000000000]; was NaN.")]
    [InlineData("simulate --events -3", 2, "llr: --events must not be negative; was -3.")]
    [InlineData("liquidator --wait-for-rings -1", 2, "llr: --wait-for-rings must be a number")]
    [InlineData("ingest --file /nonexistent-llr-capture", 2, "llr ingest: /nonexistent-llr-capture does not exist")]
    [InlineData("ingest --file /tmp", 2, "llr ingest: /tmp is a folder, not a capture file")]
    [InlineData("replay /nonexistent-llr-journal", 2, "llr replay: /nonexistent-llr-journal: no journal segments")]
    public void UnusableFilesAndFolders_AreOneLineMessages_WithTheDocumentedExitCode(string commandLine, int exitCode, string message)
    {
        // Before: stack traces with exit code 1 (simulate --out into a missing folder; margin on a folder said "access denied").
        using var llr = PeerProcess.StartDotnet("llr", commandLine.Split(' '));
        Assert.Equal(exitCode, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains(message, llr.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", llr.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", llr.Output, StringComparison.Ordinal);
    }
}
