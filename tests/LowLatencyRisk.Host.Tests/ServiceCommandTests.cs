using System.Globalization;
using System.Text.RegularExpressions;
using LowLatencyRisk.Testing;
using LowLatencyRisk.Fixtures;

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

    [GeneratedRegex(@"filled ([\d,]+) liquidation orders")]
    private static partial Regex Matched();

    [GeneratedRegex(@"liquidation orders read ([\d,]+): sent ([\d,]+), already sent before ([\d,]+)")]
    private static partial Regex OrdersSent();

    [GeneratedRegex(@"liquidation\s+orders sized ([\d,]+)\s+covered by fills ([\d,]+)")]
    private static partial Regex StatsLiquidation();

    [Fact]
    public void LiquidationOrders_GoFromTheEngineProcess_ThroughTheLiquidator_ToASimulatedMatchingEngine_AndTheirFillsComeBack()
    {
        // Three processes: the engine sizes, the liquidator sends, `llr simulate --match-liquidations`
        // fills each order on the feed (its own producer id), and the engine sees its orders covered.
        string config = Config();
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
        using var liquidator = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--quiet");
        liquidator.WaitForLine("llr liquidator: reading", TimeSpan.FromSeconds(60));
        long matched;
        using (var simulate = PeerProcess.StartDotnet("llr", "simulate", "--config", config, "--events", "150000", "--duration", "60", "--match-liquidations"))
        {
            Assert.Equal(0, simulate.WaitForExit(TimeSpan.FromSeconds(90)));
            var m = Matched().Match(simulate.Output);
            Assert.True(m.Success, simulate.Output);
            matched = Number(m);
        }

        Thread.Sleep(500); // the engine applies the last fills
        using var stats = PeerProcess.StartDotnet("llr", "stats", "--config", config, "--once");
        Assert.Equal(0, stats.WaitForExit(TimeSpan.FromSeconds(60)));
        engine.Signal("TERM");
        Assert.Equal(0, engine.WaitForExit(TimeSpan.FromSeconds(30)));
        Thread.Sleep(300);
        liquidator.Signal("INT");
        Assert.Equal(0, liquidator.WaitForExit(TimeSpan.FromSeconds(30)));

        var sent = OrdersSent().Match(liquidator.Output);
        Assert.True(sent.Success, liquidator.Output);
        long ordersSent = Number(sent, 2);
        var covered = StatsLiquidation().Match(stats.Output);
        Assert.True(covered.Success, stats.Output);
        Assert.True(matched > 0, $"matched {matched}; liquidator: {liquidator.Output}");
        Assert.True(matched <= ordersSent, $"matched {matched} of {ordersSent} sent");
        Assert.True(Number(covered, 2) > 0, stats.Output); // the fills came back and covered the engine's orders
        Assert.Equal(0, Number(sent, 3)); // nothing sent twice
    }

    [Fact]
    public void Engine_AnswersOrderChecks_OfACAndACSharpClient_WhileTheFeedRuns()
    {
        const int Count = 20_000;
        // 20,000 orders that rest forever (no lifecycle messages): with margin on resting orders the
        // accepted ones would soon use up the account's equity; this test is about serving, so that is off.
        string config = Config(",\n  \"limits\": { \"throttleRate\": 1e12, \"throttleBurst\": 1e12, \"marginOnWorkingOrders\": false },\n  \"gate\": { \"clients\": 2, \"capacity\": 1024 }");
        var c = LowLatencyRisk.Engine.Configuration.LlrConfig.Load(config);
        var w = c.BuildWorkload();
        int perp = w.Perpetuals[1];
        double tick = w.Book.Instrument(perp).TickSize;
        double price = Math.Round(LowLatencyRisk.Fixtures.StandardWorkload.InitialIndex(1) / tick) * tick;
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));

        // Client 0: the C matching engine (even requests valid, odd ones off the tick: InvalidTick).
        var inv = CultureInfo.InvariantCulture;
        using var cClient = PeerProcess.StartNative(NativePeers.Path("llr_gate_client"), c.PathOf(c.Gate.RequestsOf(0)), c.PathOf(c.Gate.ResponsesOf(0)),
            Count.ToString(inv), perp.ToString(inv), price.ToString("R", inv), (price + (tick / 3)).ToString("R", inv));

        // Client 1: a .NET one, at the same time, while index ticks and heartbeats go through the feed.
        using var requests = LowLatencyRisk.Ipc.SharedRing.AttachMapped(c.PathOf(c.Gate.RequestsOf(1)), new LowLatencyRisk.Ipc.RingOptions(64, 1024, LowLatencyRisk.Ipc.ProducerMode.Multi), TimeSpan.FromSeconds(5));
        using var responses = LowLatencyRisk.Ipc.SharedRing.AttachMapped(c.PathOf(c.Gate.ResponsesOf(1)), new LowLatencyRisk.Ipc.RingOptions(64, 1024, LowLatencyRisk.Ipc.ProducerMode.Single), TimeSpan.FromSeconds(5));
        using var feed = LowLatencyRisk.Ipc.SharedRing.AttachMapped(c.PathOf(c.Rings.Feed), new LowLatencyRisk.Ipc.RingOptions(128, 4096, LowLatencyRisk.Ipc.ProducerMode.Multi), TimeSpan.FromSeconds(5));
        var client = new LowLatencyRisk.Engine.Gate.GateClient(requests.CreateMultiProducer(), responses.CreateConsumer(0));
        var producer = feed.CreateMultiProducer();
        long start = LowLatencyRisk.Fixtures.StandardWorkload.StartNanos;
        int sent = 0, received = 0, fed = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (received < Count && DateTime.UtcNow < deadline)
        {
            while (sent < Count && sent - received < 64)
            {
                var order = new LowLatencyRisk.Core.Gate.OrderRequest(5, perp, LowLatencyRisk.Core.Gate.OrderSide.Buy, 0.001, (sent & 1) == 0 ? price : price + (tick / 3),
                    LowLatencyRisk.Core.Gate.OrderType.Limit, 1_000_000 + sent);
                client.Send(sent, order, start + 1_000 + sent);
                sent++;
            }

            if (sent % 200 == 0 && fed < sent / 200 && producer.TryClaim(1, out long slot))
            {
                var p = producer.Payload(slot);
                fed++;
                LowLatencyRisk.Engine.Wire.FeedMessageDescriptor.WriteHeader(p, LowLatencyRisk.Engine.Wire.FeedMessageType.IndexPrice, 9, fed, start + fed, 0);
                LowLatencyRisk.Engine.Wire.FeedMessageDescriptor.WriteIndexPrice(p, 0, LowLatencyRisk.Fixtures.StandardWorkload.InitialIndex(0) * (1 + ((fed % 7) * 0.001)));
                producer.Publish(slot);
            }

            if (client.TryReceive(out long correlation, out var decision))
            {
                Assert.Equal(received, correlation); // exactly one response per request, in order
                Assert.Equal((received & 1) == 0 ? LowLatencyRisk.Core.Gate.RejectReason.None : LowLatencyRisk.Core.Gate.RejectReason.InvalidTick, decision.Reason);
                received++;
            }
        }

        Assert.Equal(Count, received);
        Assert.False(client.TryReceive(out _, out _), "no response beyond the requests");
        Assert.Equal(0, cClient.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains($"ok {Count}", cClient.Output, StringComparison.Ordinal);
        Assert.True(fed > 50, $"fed {fed}");

        string stats = "";
        for (int i = 0; i < 100 && !stats.Contains($"answered {2 * Count:N0}", StringComparison.Ordinal); i++)
        {
            Thread.Sleep(50);
            using var s = PeerProcess.StartDotnet("llr", "stats", "--config", config, "--once");
            Assert.Equal(0, s.WaitForExit(TimeSpan.FromSeconds(60)));
            stats = s.Output;
        }

        Assert.Contains($"answered {2 * Count:N0}", stats, StringComparison.Ordinal);
        Assert.Contains("malformed 0", stats, StringComparison.Ordinal);
        engine.Signal("TERM");
        Assert.Equal(0, engine.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(fed, Number(EngineStopped().Match(engine.Output)));
        var thread = EngineThread().Match(engine.Output);
        Assert.Equal(0, Number(thread, 1)); // serving order checks allocates nothing on the engine thread
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
