using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>One owner per role, storage faults that stop cleanly, and the mode of every file the engine creates.</summary>
public sealed class EngineServiceHardeningTests : IDisposable
{
    private readonly string _dir = Path.Combine(TempFiles.Directory, $"llr-hard-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public EngineServiceHardeningTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private LlrConfig Config(string counters = "llr-counters", string journal = "none", string fileMode = "0600", bool liquidation = true, bool summaries = false) => LlrConfig.Parse($$"""
        {
          "summaries": { "enabled": {{(summaries ? "true" : "false")}} },
          "liquidation": { "enabled": {{(liquidation ? "true" : "false")}} },
          "workload": { "underlyings": 2, "futures": 2, "expiries": 3, "strikes": 5, "accounts": 200, "positionsPerAccount": 10, "collateralToMargin": 1.3 },
          "limits": { "maxTrackedOrders": 1024 },
          "rings": { "directory": "{{_dir}}", "counters": "{{counters}}", "feedCapacity": 1024, "breachCapacity": 4096, "fileMode": "{{fileMode}}" },
          "engine": { "cpu": -1 },
          "journal": { "mode": "{{journal}}", "directory": "journal", "segmentMegabytes": 1, "snapshotIntervalSeconds": 0, "keepSnapshots": 3 }
        }
        """);

    [Fact]
    public void SecondEngine_DifferingOnlyInItsCountersFile_IsRefused_NamingTheOwner()
    {
        // Before: a second engine whose configuration differed only in rings.counters attached to
        // the same feed and breach rings; both applied every message and both wrote the breach ring.
        using var first = Config().OpenEngine();
        var e = Assert.Throws<IOException>(() => Config(counters: "other-counters").OpenEngine());
        Assert.Contains($"pid {Environment.ProcessId}", e.Message, StringComparison.Ordinal);
        Assert.Contains("feed ring's consumer role", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "other-counters")), "a refused start leaves nothing behind");
        first.Dispose();

        // Once the owner is gone (here disposed; a killed process's lock goes with it) the role is free.
        using var second = Config(counters: "other-counters").OpenEngine();
        Assert.NotNull(second.Engine);
    }

    [Fact]
    public void JournalCannotRoll_EngineHalts_NothingUnjournaledIsApplied_TheMessageStaysInTheRing()
    {
        var c = Config(journal: "journal", liquidation: false); // feed messages only (the engine's own records: the next test)
        using var service = c.OpenEngine();
        string journalDir = EngineService.JournalDirectory(c);
        // Segment 2 is prepared at open; segment 3 is prepared after the roll to 2 — make that fail
        // (a directory where its file must go: the same path as a full disk, deterministically).
        Directory.CreateDirectory(Path.Combine(journalDir, "journal-000003.llrj"));
        var sim = new VenueSimulator(c.BuildWorkload(), seed: 5, producerId: 1);
        var producer = service.Feed.CreateMultiProducer();
        int perSegment = (int)(((1 << 20) - JournalWriter.HeaderLength) / (JournalWriter.RecordHeaderLength + Wire.FeedMessageDescriptor.PayloadSize));
        int published = 0;
        for (int guard = 0; guard < 100_000 && service.Engine.HaltReason is null; guard++)
        {
            if (producer.TryClaim(1, out long s))
            {
                sim.Next(producer.Payload(s), MonotonicClock.Now());
                producer.Publish(s);
                published++;
            }

            service.Engine.PollOnce();
        }

        var engine = service.Engine;
        Assert.NotNull(engine.HaltReason);
        Assert.Contains("journal-000003.llrj", engine.HaltReason, StringComparison.Ordinal);
        Assert.Equal(1, engine.Counters.JournalFailures);
        Assert.Equal(2L * perSegment, engine.Journal!.LastSequence);
        Assert.Equal(engine.Journal.LastSequence, engine.Counters.Events); // applied = journaled
        Assert.Equal(engine.Journal.LastSequence, service.Feed.ReadConsumerSequence(0)); // the refused message is still in the ring
        Assert.True(published > engine.Journal.LastSequence);
        Assert.Equal(0, engine.PollOnce());
        Assert.Equal(engine.Journal.LastSequence, service.Feed.ReadConsumerSequence(0));
    }

    /// <summary>
    /// The engine's own records (its liquidation orders and their unfilled endings) hit the same full
    /// journal: whichever append fails — a message, an order's record or an ending's — nothing is
    /// applied or made that is not journaled. Collateral flips of account 0 (broke: liquidation, an
    /// order; rich: healthy, the order ended) append message, order, message, ending, ...; the four
    /// offsets put the failing append on each of them.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void JournalCannotRoll_AnOrderItCannotRecord_IsNotMade(int offset)
    {
        var c = Config(journal: "journal");
        using var service = c.OpenEngine();
        Directory.CreateDirectory(Path.Combine(EngineService.JournalDirectory(c), "journal-000003.llrj"));
        var producer = service.Feed.CreateMultiProducer();
        var engine = service.Engine;
        long n = 0, published = 0;
        for (int guard = 0; guard < 100_000 && engine.HaltReason is null; guard++)
        {
            if (producer.TryClaim(1, out long s))
            {
                n++;
                var p = producer.Payload(s);
                long flip = n - offset;
                Wire.FeedMessageDescriptor.WriteHeader(p, flip <= 0 ? Wire.FeedMessageType.Heartbeat : Wire.FeedMessageType.Collateral, 1, n, StandardWorkload.StartNanos + n, MonotonicClock.Now());
                if (flip > 0)
                {
                    Wire.FeedMessageDescriptor.WriteCollateral(p, 0, StandardWorkload.UsdAsset, (flip & 1) == 1 ? 0 : 1e9);
                }

                producer.Publish(s);
                published++;
            }

            engine.PollOnce();
        }

        Assert.NotNull(engine.HaltReason);
        var k = engine.Counters;
        Assert.True(k.LiquidationOrdersPlanned > 1_000, $"{k.LiquidationOrdersPlanned} orders");
        // Every message applied, every order made and every order ended unfilled is journaled.
        Assert.Equal(engine.Journal!.LastSequence, k.Events + k.LiquidationOrdersPlanned + k.LiquidationOrdersEnded + k.DeficitsCovered);
        bool recordFailed = k.Events == published; // every message was taken: the failing append was one of the engine's records
        if (recordFailed)
        {
            // An order's record (the account in liquidation: the order is not made) or an ending's
            // (the account healthy again: the order is not ended either — the state stays what the
            // journal says, which is what a recovery rebuilds).
            bool outstanding = engine.Breaches.TryGetLiquidationOrder(0, out _, out _, out _);
            Assert.Equal(service.Engine.Book.State(0) == Core.Book.MarginState.Healthy, outstanding);
        }
        else
        {
            Assert.Equal(published - 1, k.Events); // a message was refused and stays in the ring
        }
    }

    [Theory]
    [InlineData("replaced")]
    [InlineData("zeroed")]
    [InlineData("counters replaced")]
    public void SharedFileChangedUnderARunningEngine_HaltsCleanly_RiskOff_NamingTheFile(string change)
    {
        // Before: a feed ring renamed over kept the engine reading the orphaned file (everything the
        // producers wrote to the new one was lost, silently); one zeroed in place lost what it held,
        // recorded only as "sequence gaps 1". Now the engine notices within a counters interval
        // (100 ms by default), stops taking messages, goes risk-off and says which file changed.
        var c = Config();
        using var service = c.OpenEngine();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        EngineRunSummary? summary = null;
        var thread = new Thread(() => summary = service.Run(stop.Token));
        thread.Start();
        Thread.Sleep(300);
        Assert.True(thread.IsAlive, "an intact engine keeps running (negative control)");
        string feed = c.PathOf(c.Rings.Feed);
        string counters = c.PathOf(c.Rings.Counters);
        switch (change)
        {
            case "replaced":
                string other = feed + ".new";
                SharedRing.CreateMapped(other, new RingOptions(Wire.FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi)).Dispose();
                File.Move(other, feed, overwrite: true);
                break;
            case "zeroed":
                using (var fs = new FileStream(feed, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
                {
                    fs.Write(new byte[4096]);
                }

                break;
            default:
                File.Delete(counters);
                File.WriteAllBytes(counters, new byte[4096]);
                break;
        }

        Assert.True(thread.Join(TimeSpan.FromSeconds(20)), "the engine stopped by itself");
        Assert.False(stop.IsCancellationRequested);
        Assert.NotNull(summary);
        Assert.True(summary!.HaltedOnFault);
        Assert.Equal(summary.HaltReason, service.Engine.HaltReason);
        string expected = change switch
        {
            "replaced" => $"the feed ring changed: {feed} was replaced by another file",
            "zeroed" => $"the feed ring changed: {feed}: header changed under this process (magic 0x0000000000000000",
            _ => $"the counters file changed: {counters} was replaced by another file",
        };
        Assert.Contains(expected, summary.HaltReason, StringComparison.Ordinal);
    }

    [Fact]
    public void JournalFolderThatCannotHoldTheNextSegment_RefusesToStart()
    {
        var c = Config(journal: "journal");
        Directory.CreateDirectory(Path.Combine(EngineService.JournalDirectory(c), "journal-000002.llrj"));
        var e = Assert.Throws<JournalException>(() => c.OpenEngine());
        Assert.Contains("cannot hold the next segment", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(c.PathOf(c.Rings.Feed)), "a failed start removes the rings it created");
        Assert.False(File.Exists(c.PathOf(c.Rings.Counters)));
    }

    [Theory]
    [InlineData("0600", UnixFileMode.UserRead | UnixFileMode.UserWrite)]
    [InlineData("0640", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void EveryFileTheEngineCreates_HasTheConfiguredMode(string fileMode, UnixFileMode expected)
    {
        // Before: snapshots 0644, rings 0600, journal and counters 0640.
        var c = Config(journal: "journal", fileMode: fileMode, summaries: true);
        using (var service = c.OpenEngine())
        {
            service.Snapshots!.TryCapture(service.Engine, service.Engine.Journal!.LastSequence);
            service.Snapshots.WaitIdle();
        }

        var files = Directory.GetFiles(_dir, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.EndsWith(".llrs", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(".llrj", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith(".lock", StringComparison.Ordinal));
        Assert.Contains(files, f => f.EndsWith("llr-summaries", StringComparison.Ordinal)); // the summary ring (summaries.enabled) too
        Assert.True(files.Length >= 7, string.Join(", ", files));
        foreach (string f in files)
        {
            Assert.True(File.GetUnixFileMode(f) == expected, $"{f}: {File.GetUnixFileMode(f)}, expected {expected}");
        }
    }

    [Theory]
    [InlineData("0644")]
    [InlineData("0666")]
    [InlineData("0400")]
    [InlineData("0700")]
    [InlineData("600x")]
    [InlineData("")]
    public void FileModeGrantingOthersOrDenyingTheOwner_IsRefused(string fileMode)
    {
        var e = Assert.Throws<ConfigException>(() => Config(fileMode: fileMode));
        Assert.Contains("rings.fileMode", e.Message, StringComparison.Ordinal);
    }
}
