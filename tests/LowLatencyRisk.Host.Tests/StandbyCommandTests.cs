using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using LowLatencyRisk.Distributed;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary>
/// A manual failover across "machines" (two ring and journal folders), with every part its own
/// process: the primary `llr engine` journals, `llr bridge shard` ships its journal to JetStream,
/// `llr standby` follows it into the second folder; an `llr engine` started there recovers to the
/// primary's state.
/// </summary>
public sealed partial class StandbyCommandTests : IDisposable
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

    private string Config(string name, string natsUrl)
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
              "journal": { "mode": "journal", "segmentMegabytes": 1 },
              "jetStream": { "url": "{{natsUrl}}" }
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
}
