using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary>The engine is SIGKILLed again and again during a run and recovers from its journal each time.</summary>
public sealed partial class RecoveryTests : IDisposable
{
    private readonly string _dir = Path.Combine(TempFiles.Directory, $"llr-rec-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public RecoveryTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [GeneratedRegex(@"state hash (0x[0-9A-F]{16})")]
    private static partial Regex Hash();

    private string Config(string name)
    {
        string rings = Path.Combine(_dir, name);
        Directory.CreateDirectory(rings);
        string path = Path.Combine(rings, "llr.json");
        File.WriteAllText(path, $$"""
            {
              "workload": { "underlyings": 2, "futures": 2, "expiries": 3, "strikes": 5, "accounts": 300, "positionsPerAccount": 10, "collateralToMargin": 1.3 },
              "rings": { "directory": "{{rings}}", "feedCapacity": 1024, "breachCapacity": 4096 },
              "engine": { "cpu": -1, "wait": "yielding", "warmupMessages": 0 },
              "journal": { "mode": "journal", "directory": "journal", "segmentMegabytes": 1, "snapshotIntervalSeconds": 0.05 },
              "limits": { "maxTrackedOrders": 4096 },
              "simulator": { "cpu": -1 },
              "liquidator": { "cpu": -1 }
            }
            """);
        return path;
    }

    private const string Events = "120000";

    private static string StopAndHash(PeerProcess engine)
    {
        engine.Signal("TERM");
        Assert.Equal(0, engine.WaitForExit(TimeSpan.FromSeconds(60)));
        var m = Hash().Match(engine.Output);
        Assert.True(m.Success, engine.Output);
        return m.Groups[1].Value;
    }

    [Fact]
    public void Replay_OnATrimmedJournal_SaysToAddFromSnapshot_AndCompareAgainstAnOlderSnapshotMatches()
    {
        // Before: without --from-snapshot the message said the snapshot was "now missing or invalid"
        // (it was present and valid); --from-snapshot --compare OLDER replayed from the newest
        // snapshot, past the compare point, and reported DIFFERS (exit 1) on a healthy journal; the
        // record count included records that were skipped.
        string config = Config("trimmed");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"snapshotIntervalSeconds\": 0.05", "\"snapshotIntervalSeconds\": 0.05, \"keepSnapshots\": 3", StringComparison.Ordinal));
        using (var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config))
        {
            engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
            using var sim = PeerProcess.StartDotnet("llr", "simulate", "--config", config, "--events", "60000", "--duration", "300", "--rate", "30000", "--epoch", "1");
            Assert.Equal(0, sim.WaitForExit(TimeSpan.FromSeconds(120)));
            StopAndHash(engine);
        }

        string journal = Path.Combine(_dir, "trimmed", "journal");
        Assert.True(Ipc.JournalReader.FirstSequence(journal) > 1, "the premise: older segments were trimmed behind a snapshot");
        using (var plain = PeerProcess.StartDotnet("llr", "replay", journal, "--config", config))
        {
            Assert.Equal(2, plain.WaitForExit(TimeSpan.FromSeconds(60)));
            Assert.Contains("older records were trimmed behind a snapshot); add --from-snapshot", plain.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("missing or invalid", plain.Output, StringComparison.Ordinal);
        }

        // Kept snapshots, oldest first; a clean stop writes the newest at the journal's last record.
        var snapshots = Directory.GetFiles(journal, "snapshot-*.llrs").Order(StringComparer.Ordinal).ToArray();
        Assert.True(snapshots.Length >= 3, $"{snapshots.Length} snapshots kept");
        static long At(string snapshot) => long.Parse(Path.GetFileNameWithoutExtension(snapshot)["snapshot-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        string start = snapshots[^3], compared = snapshots[^2], newest = snapshots[^1];
        using (var compare = PeerProcess.StartDotnet("llr", "replay", journal, "--config", config, "--from-snapshot", "--compare", compared))
        {
            // From the snapshot before the compared one, exactly the records between the two.
            Assert.Equal(0, compare.WaitForExit(TimeSpan.FromSeconds(60)));
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            Assert.Contains($"from {Path.GetFileName(start)}", compare.Output, StringComparison.Ordinal);
            Assert.Contains(string.Create(inv, $"llr replay: {At(compared) - At(start):N0} records replayed"), compare.Output, StringComparison.Ordinal);
            Assert.Contains(string.Create(inv, $"({At(newest) - At(compared):N0} after the compare point not replayed)"), compare.Output, StringComparison.Ordinal);
            Assert.Contains("matches the replay", compare.Output, StringComparison.Ordinal);
        }

        using (var first = PeerProcess.StartDotnet("llr", "replay", journal, "--config", config, "--from-snapshot", "--compare", snapshots[0]))
        {
            // Nothing older to start from, and the journal no longer starts at record 1: said so.
            Assert.Equal(2, first.WaitForExit(TimeSpan.FromSeconds(60)));
            Assert.Contains("no usable snapshot before journal record", first.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Sigkill20Times_DuringARun_EndsInTheSameStateAsAnUninterruptedRun()
    {
        // The uninterrupted reference.
        string reference = Config("reference");
        string expected;
        using (var engine = PeerProcess.StartDotnet("llr", "engine", "--config", reference))
        {
            engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
            using var sim = PeerProcess.StartDotnet("llr", "simulate", "--config", reference, "--events", Events, "--duration", "300", "--rate", "60000", "--epoch", "1");
            Assert.Equal(0, sim.WaitForExit(TimeSpan.FromSeconds(120)));
            expected = StopAndHash(engine);
        }

        // The same input with the engine killed (SIGKILL) at random moments and restarted.
        string crashed = Config("crashed");
        var random = new Random(20261122);
        var engineRun = PeerProcess.StartDotnet("llr", "engine", "--config", crashed);
        engineRun.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
        using var simulate = PeerProcess.StartDotnet("llr", "simulate", "--config", crashed, "--events", Events, "--duration", "300", "--rate", "60000", "--epoch", "1");
        int kills = 0, snapshotsUsed = 0;
        for (; kills < 20; kills++)
        {
            Thread.Sleep(random.Next(20, 120));
            engineRun.Kill(); // SIGKILL: no clean-up of any kind
            engineRun.Dispose();
            engineRun = PeerProcess.StartDotnet("llr", "engine", "--config", crashed);
            string recovered = engineRun.WaitForLine("llr engine: journal", TimeSpan.FromSeconds(60));
            Assert.Contains("replayed", recovered, StringComparison.Ordinal);
            snapshotsUsed += recovered.Contains("snapshot snapshot-", StringComparison.Ordinal) ? 1 : 0;
            engineRun.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
        }

        Assert.Equal(0, simulate.WaitForExit(TimeSpan.FromSeconds(180)));
        string actual = StopAndHash(engineRun);
        engineRun.Dispose();
        Assert.Equal(20, kills);
        Assert.True(snapshotsUsed > 0, "no restart started from a snapshot");
        Assert.Equal(expected, actual);

        // And `llr replay` from the crashed run's last snapshot and journal gives the same state again.
        using var replay = PeerProcess.StartDotnet("llr", "replay", Path.Combine(_dir, "crashed", "journal"), "--config", crashed, "--from-snapshot", "--expect", expected);
        Assert.Equal(0, replay.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("matches the expected hash", replay.Output, StringComparison.Ordinal);
    }
}

/// <summary>The liquidator is SIGKILLed and restarted: it resumes from its own ring sequence and misses no breach.</summary>
public sealed partial class LiquidatorRestartTests : IDisposable
{
    private readonly string _dir = Path.Combine(TempFiles.Directory, $"llr-liq-{Environment.ProcessId}-{Guid.NewGuid():N}");
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public LiquidatorRestartTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
        Directory.CreateDirectory(_dir);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [GeneratedRegex(@"^breach (\d+) account", RegexOptions.Multiline)]
    private static partial Regex Breach();

    [GeneratedRegex(@"stopped after [\d.]+ s: [\d,]+ events, .* ([\d,]+) breaches")]
    private static partial Regex EngineBreaches();

    [Fact]
    public void LiquidatorKilledAtRandomPoints_SendsEveryLiquidationOrderExactlyOnce_AcrossProcesses()
    {
        // Engine, liquidator and `llr simulate --match-liquidations` as three processes; the
        // liquidator is SIGKILLed three times at random moments while orders flow and restarted
        // each time (its ledger file and the order ring survive it). Afterwards every order the
        // engine put on the breach ring is on the order ring exactly once: none sent twice, none lost.
        string config = TestConfigs.SmallEngine(_dir);
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
        var liquidator = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--quiet");
        liquidator.WaitForLine("llr liquidator: reading", TimeSpan.FromSeconds(60));
        using var simulate = PeerProcess.StartDotnet("llr", "simulate", "--config", config, "--events", "200000", "--duration", "300", "--rate", "40000", "--match-liquidations");
        var random = new Random(20261130);
        for (int kill = 0; kill < 3; kill++)
        {
            Thread.Sleep(random.Next(300, 1_200));
            liquidator.Kill(); // SIGKILL: between any two instructions, a publish and its ledger record included
            liquidator.Dispose();
            liquidator = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--quiet");
            liquidator.WaitForLine("llr liquidator: reading", TimeSpan.FromSeconds(60));
        }

        Assert.Equal(0, simulate.WaitForExit(TimeSpan.FromSeconds(120)));
        Thread.Sleep(1_000); // the liquidator reads the last orders
        liquidator.Signal("INT");
        Assert.Equal(0, liquidator.WaitForExit(TimeSpan.FromSeconds(30)));
        liquidator.Dispose();
        engine.Signal("TERM");
        Assert.Equal(0, engine.WaitForExit(TimeSpan.FromSeconds(30)));

        var made = Orders(Path.Combine(_dir, "llr-breach"), Engine.Wire.BreachMessageDescriptor.SlotSize);
        var sent = Orders(Path.Combine(_dir, "llr-liquidation-orders"), Engine.Wire.LiquidationOrderDescriptor.SlotSize);
        Assert.True(made.Count > 0, "no liquidation order was made");
        Assert.Equal(sent.Count, sent.Distinct().Count()); // none sent twice
        Assert.Equal(made.Distinct().Order(), sent.Order()); // none lost, none invented
    }

    [Fact]
    public void EngineAndLiquidatorKilledAtRandomPoints_EveryLiquidationOrderIsSentExactlyOnce_AcrossProcesses()
    {
        // As above, with the engine's journal on and the engine SIGKILLed too — twice, at random
        // moments while orders flow — and restarted on its journal each time: it recovers, restores
        // the orders it had planned with their ids and announces them again; the liquidator, killed
        // once between, sends each id once. Every order any incarnation of the engine put on the
        // breach ring is on the order ring exactly once. A kill that lands when no order is
        // outstanding proves little (nothing is announced again), so the scenario runs again with
        // other random moments until one did (at most four times); every run must hold.
        int seed = Environment.TickCount & 0xFFFF;
        var random = new Random(seed);
        int announcedAgain = 0;
        for (int attempt = 1; attempt <= 4 && announcedAgain == 0; attempt++)
        {
            announcedAgain = KillEngineAndLiquidator(Path.Combine(_dir, $"attempt-{attempt}"), random, $"seed {seed}, attempt {attempt}");
        }

        Assert.True(announcedAgain > 0, $"seed {seed}: in four runs no engine kill caught an order outstanding (the test proved nothing)");
    }

    /// <summary>One run of the scenario above in <paramref name="dir"/>; checks exactly-once and returns how many orders recovered engines announced again.</summary>
    private int KillEngineAndLiquidator(string dir, Random random, string story)
    {
        Directory.CreateDirectory(dir);
        string config = Path.Combine(dir, "journaled.json");
        File.WriteAllText(config, $$"""
            {
              "workload": { "underlyings": 2, "futures": 2, "expiries": 3, "strikes": 5, "accounts": 300, "positionsPerAccount": 10, "collateralToMargin": 1.2 },
              "rings": { "directory": "{{dir}}", "feedCapacity": 1024, "breachCapacity": 65536 },
              "engine": { "cpu": -1, "wait": "yielding", "warmupMessages": 0 },
              "liquidator": { "cpu": -1 },
              "journal": { "mode": "journal", "segmentMegabytes": 4 }
            }
            """);
        var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
        var liquidator = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--quiet");
        liquidator.WaitForLine("llr liquidator: reading", TimeSpan.FromSeconds(60));
        using var simulate = PeerProcess.StartDotnet("llr", "simulate", "--config", config, "--events", "200000", "--duration", "300", "--rate", "40000", "--match-liquidations");
        try
        {
            foreach (string victim in (string[])["engine", "liquidator", "engine"])
            {
                Thread.Sleep(random.Next(300, 1_200));
                if (victim == "engine")
                {
                    engine.Kill(); // SIGKILL: between any two instructions — a journal append, a breach publish
                    engine.Dispose();
                    engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
                    engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
                }
                else
                {
                    liquidator.Kill();
                    liquidator.Dispose();
                    liquidator = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--quiet");
                    liquidator.WaitForLine("llr liquidator: reading", TimeSpan.FromSeconds(60));
                }

                story += $", {victim} killed";
            }

            Assert.True(simulate.WaitForExit(TimeSpan.FromSeconds(180)) == 0, story + "\n" + simulate.Output);
            Thread.Sleep(1_000); // the engine drains the feed and the liquidator reads the last orders
            liquidator.Signal("INT");
            Assert.True(liquidator.WaitForExit(TimeSpan.FromSeconds(30)) == 0, story + "\n" + liquidator.Output);
            engine.Signal("TERM");
            Assert.True(engine.WaitForExit(TimeSpan.FromSeconds(60)) == 0, story + "\n" + engine.Output);
        }
        finally
        {
            liquidator.Dispose();
            engine.Dispose();
        }

        var abandoned = new StrongBox<int>();
        var made = Orders(Path.Combine(dir, "llr-breach"), Engine.Wire.BreachMessageDescriptor.SlotSize, abandoned);
        var sent = Orders(Path.Combine(dir, "llr-liquidation-orders"), Engine.Wire.LiquidationOrderDescriptor.SlotSize, abandoned);
        int again = made.Count - made.Distinct().Count();
        _output.WriteLine($"{story}: {made.Count} orders on the breach ring ({again} announced again by a recovered engine), {sent.Count} sent; {abandoned.Value} slots claimed and never published by a killed writer");
        Assert.True(made.Count > 0, $"{story}: no liquidation order was made");
        Assert.True(sent.Count == sent.Distinct().Count(), $"{story}: an order was sent twice"); // none sent twice
        Assert.True(made.Distinct().Order().SequenceEqual(sent.Order()), $"{story}: made {made.Distinct().Count()} distinct orders, sent {sent.Count}; missing {string.Join(", ", made.Distinct().Except(sent).Take(5))}, invented {string.Join(", ", sent.Except(made).Take(5))}");
        return again;
    }

    /// <summary>
    /// The (account, plan id) of every liquidation order published on a ring that has not wrapped. With
    /// <paramref name="abandoned"/>, a slot claimed and never published (its writer SIGKILLed between the
    /// two) is counted there instead of failing: what it would have held is announced again or decided
    /// again by the writer's successor, which the comparison of made and sent orders checks.
    /// </summary>
    private static List<(int Account, long PlanId)> Orders(string path, int slotSize, StrongBox<int>? abandoned = null)
    {
        using var ring = Ipc.SharedRing.AttachMapped(path);
        long published = ring.ReadClaimSequence();
        Assert.True(published < ring.Capacity, $"{path}: {published} messages wrapped a ring of {ring.Capacity}");
        var orders = new List<(int, long)>();
        for (long k = 0; k < published; k++)
        {
            var p = ring.PublishedPayload(k);
            if (p.IsEmpty && abandoned is not null)
            {
                abandoned.Value++;
                continue;
            }

            Assert.False(p.IsEmpty, $"{path}: slot {k} not published");
            if (p[0] == Engine.Wire.LiquidationOrderDescriptor.MessageType)
            {
                ref readonly var m = ref Engine.Wire.WireMessage.Read<Engine.Wire.LiquidationOrderMessage>(p);
                orders.Add((m.Account, m.PlanId));
            }
        }

        return orders;
    }

    [Fact]
    public void LiquidatorKilledTwice_ReadsEveryBreachAtLeastOnce_InOrder()
    {
        string config = TestConfigs.SmallEngine(_dir);
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
        using var simulate = PeerProcess.StartDotnet("llr", "simulate", "--config", config, "--events", "200000", "--duration", "300", "--rate", "100000");
        var seen = new List<long>();
        for (int run = 0; run < 3; run++)
        {
            using var liquidator = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--verbose");
            liquidator.WaitForLine("llr liquidator: reading", TimeSpan.FromSeconds(60));
            if (run < 2)
            {
                Thread.Sleep(400);
                liquidator.Kill(); // SIGKILL mid-stream
            }
            else
            {
                Assert.Equal(0, simulate.WaitForExit(TimeSpan.FromSeconds(120)));
                Thread.Sleep(500);
                liquidator.Signal("INT");
                Assert.Equal(0, liquidator.WaitForExit(TimeSpan.FromSeconds(30)));
            }

            seen.AddRange(Breach().Matches(liquidator.Output).Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)));
        }

        engine.Signal("TERM");
        Assert.Equal(0, engine.WaitForExit(TimeSpan.FromSeconds(30)));
        long emitted = long.Parse(EngineBreaches().Match(engine.Output).Groups[1].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(emitted > 0, engine.Output);
        // At-least-once: a reader killed inside a batch reads that batch again; nothing is skipped.
        Assert.Equal(Enumerable.Range(1, (int)emitted).Select(i => (long)i), seen.Distinct().Order());
        for (int i = 1; i < seen.Count; i++)
        {
            Assert.True(seen[i] <= seen[i - 1] + 1, $"jump from {seen[i - 1]} to {seen[i]}");
        }
    }
}
