using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Distributed;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;
using NATS.Client.JetStream;

namespace LowLatencyRisk.Host.Tests;

/// <summary>
/// Failover across "machines" (two ring and journal folders), with every part its own process. By
/// hand: the primary `llr engine` journals, `llr bridge shard` ships its journal to JetStream, `llr
/// standby` follows it into the second folder, and an `llr engine` started there recovers to the
/// primary's state. Automatically: the primary's bridge holds the shard's lease; SIGKILLed mid-feed,
/// the primary stops renewing, `llr standby --take-over` takes the lease, goes live and ends with
/// one engine's state; the old primary's bridge, restarted, refuses to go live.
/// </summary>
public sealed partial class StandbyCommandTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(TempFiles.Directory, $"llr-standby-{Environment.ProcessId}-{Guid.NewGuid():N}");

    [GeneratedRegex(@"state hash 0x([0-9A-F]{16})")]
    private static partial Regex Hash();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string Config(string name, string natsUrl, string jetStreamExtra = "", string liquidation = "true", string sections = "")
    {
        string dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "llr.json");
        File.WriteAllText(path, $$"""
            {
              "workload": { "underlyings": 2, "futures": 2, "expiries": 3, "strikes": 5, "accounts": 300, "positionsPerAccount": 10, "collateralToMargin": 1.2 },
              "rings": { "directory": "{{dir}}", "feedCapacity": 1024, "breachCapacity": 65536 },
              "engine": { "cpu": -1, "wait": "yielding", "warmupMessages": 0 },
              "liquidator": { "cpu": -1 },
              "liquidation": { "enabled": {{liquidation}} },
              "journal": { "mode": "journal", "segmentMegabytes": 1 },
              "jetStream": { "url": "{{natsUrl}}"{{jetStreamExtra}} }{{sections}}
            }
            """);
        return path;
    }

    private static string HashOf(string output) => Hash().Matches(output) is { Count: > 0 } m ? m[^1].Groups[1].Value : throw new InvalidOperationException("no state hash in:\n" + output);

    [Fact]
    public void AStandby_FollowsTheShippedJournal_AndAnEngineStartedOnItsFolder_RecoversThePrimarysState()
    {
        using var server = LocalJetStreamServer.Start();
        string primary = Config("primary", server.Url), standby = Config("standby", server.Url);
        var timeout = TimeSpan.FromSeconds(90);

        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", primary);
        engine.WaitForLine("llr engine: live", timeout);
        using var liquidator = PeerProcess.StartDotnet("llr", "liquidator", "--config", primary, "--quiet");
        using var bridge = PeerProcess.StartDotnet("llr", "bridge", "shard", "--config", primary);
        bridge.WaitForLine("llr bridge shard 0:", timeout);
        using var follower = PeerProcess.StartDotnet("llr", "standby", "--config", standby);
        follower.WaitForLine("llr standby: shard 0", timeout);

        using (var simulate = PeerProcess.StartDotnet("llr", "simulate", "--config", primary, "--events", "30000", "--rate", "20000", "--duration", "60"))
        {
            Assert.Equal(0, simulate.WaitForExit(timeout));
        }

        Thread.Sleep(500);
        engine.Signal("TERM");
        Assert.Equal(0, engine.WaitForExit(timeout));
        string primaryHash = HashOf(engine.Output);

        // Everything the primary journaled reaches the standby, its own decisions included.
        long last = JournalReader.Scan(Path.Combine(_dir, "primary", "llr-journal"), FeedMessageDescriptor.PayloadSize, (_, _) => { }).LastSequence;
        Assert.True(last >= 30_000, $"the primary journaled {last} records");
        string applied = string.Create(CultureInfo.InvariantCulture, $"applied through journal record {last:N0} ");
        var clock = Stopwatch.StartNew();
        while (!follower.Output.Contains(applied, StringComparison.Ordinal) && clock.Elapsed < timeout)
        {
            Thread.Sleep(100);
        }

        follower.Signal("TERM");
        Assert.Equal(0, follower.WaitForExit(timeout));
        bridge.Signal("TERM");
        bridge.WaitForExit(timeout);
        liquidator.Signal("TERM");
        liquidator.WaitForExit(timeout);
        Assert.True(follower.Output.Contains(applied, StringComparison.Ordinal), $"the standby did not reach record {last}:\n{follower.Output}\nbridge:\n{bridge.Output}");
        Assert.Equal(primaryHash, HashOf(follower.Output));

        // The failover: an engine started on the standby's folder recovers from its journal.
        using var takeover = PeerProcess.StartDotnet("llr", "engine", "--config", standby, "--duration", "1");
        Assert.Equal(0, takeover.WaitForExit(timeout));
        Assert.Matches(@"llr engine: journal .*: no snapshot, replayed [1-9][\d,]* messages", takeover.Output); // from the standby's own journal
        Assert.Equal(primaryHash, HashOf(takeover.Output));
    }

    [Fact]
    public async Task ThePrimarySigkilledMidFeed_TheStandbyTakesOverWhenTheLeaseLapses_AndEndsWithOneEnginesState()
    {
        using var server = LocalJetStreamServer.Start();
        string primary = Config("primary", server.Url, ", \"leaseSeconds\": 2", "false"), standby = Config("standby", server.Url, ", \"leaseSeconds\": 2", "false");
        var timeout = TimeSpan.FromSeconds(90);
        var config = LlrConfig.Load(primary);
        await using var nats = await JetStreamTopology.ConnectAsync(config.JetStream, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config.JetStream, CancellationToken.None);

        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", primary);
        engine.WaitForLine("llr engine: live", timeout);
        using var bridge = PeerProcess.StartDotnet("llr", "bridge", "shard", "--config", primary, "--lease");
        bridge.WaitForLine("llr bridge shard 0:", timeout);
        using var follower = PeerProcess.StartDotnet("llr", "standby", "--config", standby, "--take-over");
        follower.WaitForLine("llr standby: shard 0", timeout);

        // The feed, and one engine fed all of it (the reference). The primary dies at a seeded moment.
        var sim = new VenueSimulator(config.BuildWorkload(), seed: 13, producerId: 1, stressStart: 500, stressLength: 1_500);
        var book = config.BuildBook();
        var reference = new FeedStateMachine(book, new PreTradeGate(book, config.ToGateConfig()), new EngineCounters());
        int seed = Environment.TickCount & 0x7FFF; // a different moment each run; the seed is in every failure message
        int killAt = 1_000 + new Random(seed).Next(2_000);
        long killedAt = 0;
        const int Total = 4_000;
        for (int i = 0; i < Total; i++)
        {
            var m = new byte[FeedMessageDescriptor.PayloadSize];
            sim.Next(m, 0);
            reference.Apply(m);
            while (book.TryDequeueTransition(out _))
            {
            }

            (await js.PublishAsync(config.JetStream.BroadcastSubject, m, opts: new NatsJSPubOpts { MsgId = JetStreamTopology.MessageId(m) })).EnsureSuccess();
            if (i == killAt)
            {
                bridge.Kill();
                engine.Kill();
                killedAt = Stopwatch.GetTimestamp();
            }

            if (i % 100 == 0)
            {
                await Task.Delay(20); // about 4,000 messages a second
            }
        }

        follower.WaitForLine("llr engine: live", timeout);
        double failoverSeconds = Stopwatch.GetElapsedTime(killedAt).TotalSeconds;

        // Everything consumed by the new primary (acknowledged once its journal record is replicated).
        var clock = Stopwatch.StartNew();
        ulong floor = 0;
        while (clock.Elapsed < timeout && (floor = await AckFloorAsync()) < Total)
        {
            await Task.Delay(100);
        }

        Assert.True(floor == Total, $"seed {seed}: the new primary acknowledged through {floor} of {Total}:\n{follower.Output}");

        // The durable consumer is the new primary's bridge's: until that bridge has (re)bound it, the server says
        // "consumer not found" (seen once in a full run) — nothing acknowledged yet, so ask again.
        async Task<ulong> AckFloorAsync()
        {
            try
            {
                return (await js.GetConsumerAsync(config.JetStream.FeedStream, FeedBridge.DurableName(0))).Info.AckFloor.StreamSeq;
            }
            catch (NatsJSApiException e) when (e.Error.Code == 404)
            {
                return 0;
            }
        }

        // The old primary comes back: it does not go live.
        using (var returning = PeerProcess.StartDotnet("llr", "bridge", "shard", "--config", primary, "--lease", "--wait-for-rings", "5"))
        {
            Assert.Equal(6, returning.WaitForExit(timeout));
            Assert.Contains("is held by standby@", returning.Output, StringComparison.Ordinal);
        }

        follower.Signal("TERM");
        follower.WaitForExit(timeout);
        var hashes = Hash().Matches(follower.Output);
        Assert.True(hashes.Count > 0, follower.Output);
        string expected = EngineStateHash.Compute(reference).ToString("X16", CultureInfo.InvariantCulture);
        Assert.True(expected == hashes[^1].Groups[1].Value, $"seed {seed}: killed after message {killAt}; failover {failoverSeconds:F1} s (lease 2 s); reference 0x{expected}:\n{follower.Output}");
        Assert.InRange(failoverSeconds, 0, 30);

        // The failover's timing, for perf/results (shown with --logger "console;verbosity=detailed").
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed}: primary SIGKILLed after message {killAt}; SIGKILL → the standby's engine live {failoverSeconds:F2} s (lease {config.JetStream.LeaseSeconds:F0} s)"));
        foreach (string line in follower.Output.Split('\n').Where(l => l.Contains("took over shard", StringComparison.Ordinal) || l.Contains("live on this machine", StringComparison.Ordinal)))
        {
            output.WriteLine(line.Trim());
        }
        Assert.DoesNotContain("internal error", follower.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", follower.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutAReachableJetStream_TheBridgeAndTheStandby_SayWhereAndExit5_StartingNothing()
    {
        // A loopback port nothing listens on (taken and released here).
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        string url = string.Create(CultureInfo.InvariantCulture, $"nats://127.0.0.1:{port}");
        string config = Config("unreachable", url);
        var timeout = TimeSpan.FromSeconds(60);
        using (var route = PeerProcess.StartDotnet("llr", "bridge", "route", "--config", config))
        {
            Assert.Equal(5, route.WaitForExit(timeout));
            Assert.Contains($"cannot use JetStream at {url}", route.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("internal error", route.Output, StringComparison.Ordinal);
        }

        using (var standby = PeerProcess.StartDotnet("llr", "standby", "--config", config))
        {
            Assert.Equal(5, standby.WaitForExit(timeout));
            Assert.Contains($"cannot use JetStream at {url}", standby.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("internal error", standby.Output, StringComparison.Ordinal);
        }

        string withFirm = Config("unreachable-firm", url, sections: """, "firms": [ { "name": "f", "accounts": [1, 2], "creditLimit": 1000000 } ]""");
        using (var aggregate = PeerProcess.StartDotnet("llr", "aggregate", "--config", withFirm))
        {
            Assert.Equal(5, aggregate.WaitForExit(timeout));
            Assert.Contains($"cannot use JetStream at {url}", aggregate.Output, StringComparison.Ordinal);
        }

        // Without firms there is nothing to enforce: exit 2 before connecting.
        using (var aggregate = PeerProcess.StartDotnet("llr", "aggregate", "--config", config))
        {
            Assert.Equal(2, aggregate.WaitForExit(timeout));
            Assert.Contains("has no firms", aggregate.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void TheBridgesPositionsFile_IsMadeBesideTheFeedRing_AndOneOfAnotherShapeStopsTheBridgeWithItsReason()
    {
        using var server = LocalJetStreamServer.Start();
        string config = Config("positions", server.Url);
        string positions = Path.Combine(_dir, "positions", "llr-feed.bridge-positions");
        var timeout = TimeSpan.FromSeconds(90);
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        engine.WaitForLine("llr engine: live", timeout);

        // Something else where the positions file belongs: the bridge says what and stops (exit 4), writing nothing.
        File.WriteAllBytes(positions, new byte[100]);
        using (var refused = PeerProcess.StartDotnet("llr", "bridge", "shard", "--config", config))
        {
            Assert.True(refused.WaitForExit(timeout) == 4, refused.Output);
            Assert.Contains("cannot open its positions file", refused.Output, StringComparison.Ordinal);
            Assert.Contains("a feed bridge's positions file has 1088", refused.Output, StringComparison.Ordinal);
        }

        Assert.Equal(100, new FileInfo(positions).Length);

        // Without it, the bridge makes it (owner-only, like the rings) and runs.
        File.Delete(positions);
        using var bridge = PeerProcess.StartDotnet("llr", "bridge", "shard", "--config", config);
        bridge.WaitForLine("llr bridge shard 0:", timeout);
        bridge.Signal("TERM");
        Assert.Equal(0, bridge.WaitForExit(timeout));
        Assert.Equal(1088, new FileInfo(positions).Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(positions));

        // The liquidator's ledger, the other state file of this shape, the same way (it crashed on one before:
        // the catch took InvalidDataException for an IOException, which it is not).
        File.WriteAllBytes(Path.Combine(_dir, "positions", "llr-liquidator-state"), new byte[100]);
        using (var liquidator = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--duration", "1"))
        {
            Assert.True(liquidator.WaitForExit(timeout) == 3, liquidator.Output);
            Assert.Contains("cannot open its ledger", liquidator.Output, StringComparison.Ordinal);
            Assert.Contains("not this configuration's ledger", liquidator.Output, StringComparison.Ordinal);
        }

        engine.Signal("TERM");
        Assert.Equal(0, engine.WaitForExit(timeout));
    }

    [Fact]
    public void AnEngineWithSummaries_ItsBridge_AndLlrAggregate_AsProcesses_BringEveryFirmAccountsNumbersToTheAggregator()
    {
        using var server = LocalJetStreamServer.Start();
        string config = Config("firm", server.Url, sections: """
            , "summaries": { "enabled": true, "intervalMilliseconds": 50 },
              "firms": [ { "name": "firm-a", "accounts": [3, 4, 5], "creditLimit": 300000 } ],
              "aggregator": { "rebalanceMilliseconds": 50 }
            """);
        var timeout = TimeSpan.FromSeconds(90);
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        engine.WaitForLine("llr engine: live", timeout);
        using var bridge = PeerProcess.StartDotnet("llr", "bridge", "shard", "--config", config);
        bridge.WaitForLine("llr bridge shard 0:", timeout);
        using var aggregate = PeerProcess.StartDotnet("llr", "aggregate", "--config", config, "--duration", "4");
        Assert.Equal(0, aggregate.WaitForExit(timeout));
        output.WriteLine(aggregate.Output);

        // Every account's summary went out (the engine owns all 300), the firm's three were read, and
        // the aggregator moved the shares: each account starts at 100,000 and moves to its usage plus a
        // third of the firm's headroom (the three hold different positions, so the shares move).
        Assert.Matches(@"firm firm-a: usage [\d,]+ of 300,000, limits that may be in force [\d,]+, 3 of 3 accounts summarized", aggregate.Output);
        Assert.Matches(@"limit changes [1-9][\d,]* \(confirmed [1-9]", aggregate.Output);
        Assert.DoesNotContain("malformed 1", aggregate.Output, StringComparison.Ordinal);
        bridge.Signal("TERM");
        Assert.Equal(0, bridge.WaitForExit(timeout));
        Assert.Matches(@"summaries out [1-9]", bridge.Output);
        engine.Signal("TERM");
        Assert.Equal(0, engine.WaitForExit(timeout));
    }
}
