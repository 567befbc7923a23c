using System.Text.RegularExpressions;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary>`llr stats` redraws a screen in a terminal and writes timestamped lines when redirected.</summary>
public sealed partial class StatsScreenTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Counters(out SharedCounters counters)
    {
        string path = _files.NewPath("counters");
        counters = SharedCounters.Create(path, EngineCountersLayout.Count);
        var slots = new long[EngineCountersLayout.Count];
        slots[EngineCountersLayout.Layout] = EngineCountersLayout.LayoutId;
        slots[EngineCountersLayout.Events] = 1234;
        slots[EngineCountersLayout.FeedLatency + 10] = 90; // [512, 1024) ns
        slots[EngineCountersLayout.FeedLatency + 21] = 10; // [1, 2) ms
        slots[EngineCountersLayout.FeedLag] = 7;
        counters.Publish(slots, MonotonicClock.Now());
        return path;
    }

    /// <summary>Publishes the counters every 50 ms until disposed, as a live engine does.</summary>
    private static Timer Keep(SharedCounters counters, string path)
    {
        var slots = new long[EngineCountersLayout.Count];
        return new Timer(_ =>
        {
            if (counters.TryRead(slots))
            {
                slots[EngineCountersLayout.Events] += 100;
                counters.Publish(slots, MonotonicClock.Now());
            }
        }, path, 0, 50);
    }

    [Fact]
    public void Redirected_WritesOneTimestampedLinePerInterval_WithUnits()
    {
        string path = Counters(out var counters);
        using (counters)
        using (Keep(counters, path))
        {
            using var llr = PeerProcess.StartDotnet("llr", ["stats", "--counters", path, "--interval", "0.2", "--duration", "1.5"]);
            Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(60)));
            var lines = llr.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.True(lines.Length >= 4, llr.Output);
            foreach (string line in lines)
            {
                Assert.Matches(LogLine(), line);
            }

            Assert.Contains("feed_lag 7 msgs", lines[0], StringComparison.Ordinal);
            Assert.Contains("feed_latency p50<1.0 µs p90<1.0 µs p99<2.10 ms", lines[0], StringComparison.Ordinal);
            Assert.Contains("/s)", lines[1], StringComparison.Ordinal); // a rate from the second line on
            Assert.DoesNotContain("\u001b[", llr.Output, StringComparison.Ordinal); // no terminal codes in a log
        }
    }

    [Fact]
    public void Redirected_AnEngineThatStoppedPublishing_IsLoggedStale()
    {
        // The counters were published once and never again: every line says so (a log must not read "live").
        string path = Counters(out var counters);
        using (counters)
        {
            Thread.Sleep(400);
            using var llr = PeerProcess.StartDotnet("llr", ["stats", "--counters", path, "--interval", "0.2", "--duration", "0.7", "--stale-after", "0.2"]);
            Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(60)));
            var lines = llr.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.NotEmpty(lines);
            Assert.All(lines, line => Assert.Contains("Z stale events", line, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void InATerminal_RedrawsInPlace_WithItsSections()
    {
        // A pseudo-terminal from util-linux `script`: the program's output is a terminal.
        string path = Counters(out var counters);
        using (counters)
        using (Keep(counters, path))
        {
            string dll = Path.Combine(AppContext.BaseDirectory, "llr.dll");
            string command = $"TERM=xterm-256color COLUMNS=160 LINES=40 '{PeerProcess.DotnetHostPath}' '{dll}' stats --counters '{path}' --interval 0.2 --duration 1.5";
            using var script = PeerProcess.StartNative("/usr/bin/script", "-q", "-e", "-c", command, "/dev/null");
            Assert.Equal(0, script.WaitForExit(TimeSpan.FromSeconds(60)));
            string screen = script.Output;
            foreach (string section in (string[])["throughput", "lags", "rejects", "ladder", "feed latency", "alarms", "engine thread"])
            {
                Assert.Contains(section, screen, StringComparison.Ordinal);
            }

            // Redrawn: the cursor moves back up over the previous frame (CSI n A) and the frame is
            // drawn several times; a scrolling block would have neither.
            Assert.Matches(CursorUp(), screen);
            Assert.True(Regex.Count(screen, "llr engine") >= 3, screen);
            Assert.DoesNotMatch(LogLine(), screen.Split('\n')[0].Trim());
        }
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (live|stale|dead) events [\d,]+")]
    private static partial Regex LogLine();

    [GeneratedRegex(@"\u001b\[\d*A")]
    private static partial Regex CursorUp();
}
