using System.Globalization;
using System.Text.RegularExpressions;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary>`llr engine`, `llr simulate`, `llr liquidator` and `llr stats` as four processes on one configuration.</summary>
public sealed partial class ServiceCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(TempFiles.Directory, $"llr-svc-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public ServiceCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string extra = "")
    {
        string path = Path.Combine(_dir, "llr.json");
        File.WriteAllText(path, $$"""
            {
              "workload": { "underlyings": 2, "futures": 2, "expiries": 3, "strikes": 5, "accounts": 300, "positionsPerAccount": 10, "collateralToMargin": 1.3 },
              "rings": { "directory": "{{_dir}}", "feedCapacity": 4096, "breachCapacity": 4096 },
              "engine": { "cpu": -1, "wait": "yielding", "warmupMessages": 20000, "countersIntervalMilliseconds": 20 },
              "simulator": { "cpu": -1, "rate": 0 },
              "liquidator": { "cpu": -1 }{{extra}}
            }
            """);
        return path;
    }

    [GeneratedRegex(@"stopped after [\d.]+ s: ([\d,]+) events, [\d,]+ rejected.*, ([\d,]+) breaches")]
    private static partial Regex EngineStopped();

    [GeneratedRegex(@"engine thread ([\d,]+) bytes allocated, (\d+) GC collections")]
    private static partial Regex EngineThread();

    [GeneratedRegex(@"published ([\d,]+) events")]
    private static partial Regex Published();

    [GeneratedRegex(@"read ([\d,]+) breaches")]
    private static partial Regex LiquidatorRead();

    [GeneratedRegex(@"^events\s+([\d,]+)", RegexOptions.Multiline)]
    private static partial Regex StatsEvents();

    private static long Number(Match m, int group = 1) => long.Parse(m.Groups[group].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);

    [Fact]
    public void EngineSimulateLiquidatorStats_AsSeparateProcesses_AgreeAndStopCleanly()
    {
        string config = Config();
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
        using var liquidator = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--quiet");
        liquidator.WaitForLine("llr liquidator: reading", TimeSpan.FromSeconds(60));

        using (var simulate = PeerProcess.StartDotnet("llr", "simulate", "--config", config, "--events", "150000", "--duration", "60"))
        {
            Assert.Equal(0, simulate.WaitForExit(TimeSpan.FromSeconds(90)));
            Assert.Equal(150_000, Number(Published().Match(simulate.Output)));
        }

        // The counters file shows every event once the engine has caught up.
        string stats = "";
        for (int i = 0; i < 100 && !stats.Contains("events               150,000", StringComparison.Ordinal); i++)
        {
            Thread.Sleep(100);
            using var s = PeerProcess.StartDotnet("llr", "stats", "--config", config, "--once");
            Assert.Equal(0, s.WaitForExit(TimeSpan.FromSeconds(60)));
            stats = s.Output;
        }

        Assert.Equal(150_000, Number(StatsEvents().Match(stats)));
        Assert.Contains("feed lag 0", stats, StringComparison.Ordinal);
        Assert.Contains("p50", stats, StringComparison.Ordinal);

        engine.Signal("TERM");
        Assert.Equal(0, engine.WaitForExit(TimeSpan.FromSeconds(30)));
        Thread.Sleep(300); // the liquidator reads the last breaches
        liquidator.Signal("INT");
        Assert.Equal(0, liquidator.WaitForExit(TimeSpan.FromSeconds(30)));

        var stopped = EngineStopped().Match(engine.Output);
        Assert.True(stopped.Success, engine.Output);
        Assert.Equal(150_000, Number(stopped));
        long breaches = Number(stopped, 2);
        Assert.True(breaches > 0, engine.Output); // the stress episode breaches the thin-collateral accounts
        Assert.Equal(breaches, Number(LiquidatorRead().Match(liquidator.Output)));
        var thread = EngineThread().Match(engine.Output);
        Assert.Equal(0, Number(thread, 1)); // nothing allocated on the engine thread once live
        Assert.Equal(0, Number(thread, 2));
    }

    [Fact]
    public void RingFilesReplacedUnderRunningProcesses_EveryProcessExits4_NamingTheFile()
    {
        // Before: the engine, the liquidator, the simulator and ingress kept running on the orphaned
        // mappings while anything that attached afterwards met new, empty files; nothing was reported.
        string config = Config();
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
        using var liquidator = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--quiet");
        liquidator.WaitForLine("llr liquidator: reading", TimeSpan.FromSeconds(60));
        using var simulate = PeerProcess.StartDotnet("llr", "simulate", "--config", config, "--rate", "1000", "--duration", "120");
        simulate.WaitForLine("llr simulate: publishing", TimeSpan.FromSeconds(60));
        using var ingest = PeerProcess.StartDotnet("llr", "ingest", "--config", config, "--listen", "0");
        ingest.WaitForLine("llr ingest: listening", TimeSpan.FromSeconds(60));
        foreach (string name in new[] { "llr-feed", "llr-breach" })
        {
            string path = Path.Combine(_dir, name);
            File.Copy(path, path + ".copy");
            File.Move(path + ".copy", path, overwrite: true); // same bytes, another inode
        }

        Assert.Equal(4, engine.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("llr engine: HALTED, venue risk-off: the feed ring changed: " + Path.Combine(_dir, "llr-feed") + " was replaced by another file", engine.Output, StringComparison.Ordinal);
        Assert.Equal(4, liquidator.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("llr liquidator: stopped: the breach ring changed: " + Path.Combine(_dir, "llr-breach") + " was replaced by another file", liquidator.Output, StringComparison.Ordinal);
        string feed = "the feed ring changed: " + Path.Combine(_dir, "llr-feed") + " was replaced by another file";
        Assert.Equal(4, simulate.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("llr simulate: stopped: " + feed, simulate.Output, StringComparison.Ordinal);
        Assert.Equal(4, ingest.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("llr ingest: stopped: " + feed, ingest.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", engine.Output + liquidator.Output + simulate.Output + ingest.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Engine_InvalidConfiguration_NamesEveryField_AndStartsNothing()
    {
        string path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, $$"""{ "rings": { "directory": "{{_dir}}", "feedCapacity": 1000 }, "engine": { "cpu": 64 }, "workload": { "accounts": -5 } }""");
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", path);
        Assert.Equal(2, engine.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("rings.feedCapacity: 1000 is not a power of two", engine.Output, StringComparison.Ordinal);
        Assert.Contains("engine.cpu: 64", engine.Output, StringComparison.Ordinal);
        Assert.Contains("workload.accounts: -5", engine.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "llr-feed")));
    }

    [Fact]
    public void Engine_MisspeltField_IsRejectedNotDefaulted()
    {
        string path = Path.Combine(_dir, "typo.json");
        File.WriteAllText(path, """{ "engine": { "revalueIntervalMs": 5 } }""");
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", path);
        Assert.Equal(2, engine.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("$.engine.revalueIntervalMs: unknown field", engine.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Engine_OnAnIncompatibleRingFile_SaysWhyAndExits()
    {
        string config = Config();
        File.WriteAllBytes(Path.Combine(_dir, "llr-feed"), new byte[4096]); // not a ring: no magic
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        Assert.Equal(3, engine.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("llr engine: cannot start:", engine.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", engine.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void SecondEngine_OnTheSameRings_IsRefused()
    {
        string config = Config();
        using var first = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        first.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
        using var second = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        Assert.Equal(3, second.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains($"another llr engine (pid {first.Id})", second.Output, StringComparison.Ordinal);
        first.Signal("TERM");
        Assert.Equal(0, first.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Stats_WithoutARunningEngine_SaysSo()
    {
        using var stats = PeerProcess.StartDotnet("llr", "stats", "--config", Config());
        Assert.Equal(3, stats.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("does not exist", stats.Output, StringComparison.Ordinal);
    }
}
