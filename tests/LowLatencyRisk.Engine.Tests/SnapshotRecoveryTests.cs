using System.Buffers.Binary;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>Snapshots and journal replay in one process: the state survives closing and reopening, and bad snapshots are refused with a reason.</summary>
public sealed class SnapshotRecoveryTests : IDisposable
{
    private readonly string _dir = Path.Combine(TempFiles.Directory, $"llr-snap-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public SnapshotRecoveryTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private LlrConfig Config(string extra = "") => LlrConfig.Parse($$"""
        {
          {{extra}}
          "workload": { "underlyings": 2, "futures": 2, "expiries": 3, "strikes": 5, "accounts": 200, "positionsPerAccount": 10, "collateralToMargin": 1.3 },
          "limits": { "maxTrackedOrders": 1024 },
          "rings": { "directory": "{{_dir}}", "feedCapacity": 1024, "breachCapacity": 4096 },
          "engine": { "cpu": -1 },
          "journal": { "mode": "journal", "directory": "journal", "segmentMegabytes": 1, "snapshotIntervalSeconds": 0, "keepSnapshots": 3 }
        }
        """);

    /// <summary>Publishes simulated events and lets the engine apply them all.</summary>
    private static void Feed(EngineService service, VenueSimulator sim, int count)
    {
        var producer = service.Feed.CreateMultiProducer();
        for (int i = 0; i < count; i++)
        {
            long s;
            while (!producer.TryClaim(1, out s))
            {
                service.Engine.PollOnce();
            }

            sim.Next(producer.Payload(s), MonotonicClock.Now());
            producer.Publish(s);
        }

        while (service.Engine.PollOnce() > 0 || service.Engine.HasPendingMarks)
        {
        }
    }

    private static VenueSimulator Simulator(LlrConfig c) => new(c.BuildWorkload(), seed: 5, producerId: 1, stressStart: 3_000, stressLength: 10_000);

    [Fact]
    public void ReopenAfterSnapshots_RestoresTheSameState_AndABadNewestSnapshotFallsBackToAnOlderOne()
    {
        var c = Config();
        var sim = Simulator(c);
        ulong expected;
        using (var service = c.OpenEngine())
        {
            Assert.Equal(0, service.Recovery!.Replayed);
            Feed(service, sim, 6_000);
            service.Snapshots!.TryCapture(service.Engine, service.Engine.Journal!.LastSequence);
            service.Snapshots.WaitIdle();
            Feed(service, sim, 6_000);
            service.Snapshots.TryCapture(service.Engine, service.Engine.Journal!.LastSequence);
            service.Snapshots.WaitIdle();
            Feed(service, sim, 3_000); // journaled after the last snapshot only
            expected = EngineStateHash.Compute(service.Engine);
            Assert.Equal(2, service.Snapshots.Written);
        }

        string journal = EngineService.JournalDirectory(c);
        var snapshots = SnapshotStore.List(journal);
        Assert.Equal(2, snapshots.Count);

        // Reopen: the newest snapshot plus the 3,000 records after it.
        using (var service = c.OpenEngine())
        {
            Assert.Equal(snapshots[0].Sequence, service.Recovery!.SnapshotSequence);
            Assert.Equal(3_000, service.Recovery.Replayed);
            Assert.Equal(expected, EngineStateHash.Compute(service.Engine));
        }

        // Corrupt the newest: refused (checksum), the older one plus 9,000 records give the same state.
        Flip(snapshots[0].Path, 5_000);
        using (var service = c.OpenEngine())
        {
            Assert.Contains(service.Recovery!.RefusedSnapshots, r => r.Contains("checksum mismatch", StringComparison.Ordinal));
            Assert.Equal(snapshots[1].Sequence, service.Recovery.SnapshotSequence);
            Assert.Equal(9_000, service.Recovery.Replayed);
            Assert.Equal(expected, EngineStateHash.Compute(service.Engine));
        }
    }

    [Fact]
    public void MarginModes_SurviveASnapshotAndTheJournal()
    {
        // Every account starts in standard margin; a feed message moves one to portfolio before the
        // snapshot, another after it (journal only): both survive the reopen, and so does the state hash.
        var c = Config("""
            "margin": { "defaultMode": "standard" },
            """);
        var sim = Simulator(c);
        ulong expected;
        using (var service = c.OpenEngine())
        {
            Assert.Equal(MarginMode.Standard, service.Engine.Book.Mode(3));
            Feed(service, sim, 3_000);
            SwitchToPortfolio(service, 3, 1);
            service.Snapshots!.TryCapture(service.Engine, service.Engine.Journal!.LastSequence);
            service.Snapshots.WaitIdle();
            SwitchToPortfolio(service, 4, 2);
            Feed(service, sim, 1_000);
            Assert.Equal((MarginMode.Portfolio, MarginMode.Portfolio, MarginMode.Standard), (service.Engine.Book.Mode(3), service.Engine.Book.Mode(4), service.Engine.Book.Mode(5)));
            expected = EngineStateHash.Compute(service.Engine);
        }

        using (var service = c.OpenEngine())
        {
            Assert.Equal(1_001, service.Recovery!.Replayed);
            Assert.Equal((MarginMode.Portfolio, MarginMode.Portfolio, MarginMode.Standard), (service.Engine.Book.Mode(3), service.Engine.Book.Mode(4), service.Engine.Book.Mode(5)));
            Assert.Equal(expected, EngineStateHash.Compute(service.Engine));
        }

        static void SwitchToPortfolio(EngineService service, int account, long sequence)
        {
            var producer = service.Feed.CreateMultiProducer();
            Assert.True(producer.TryClaim(1, out long s));
            FeedMessageDescriptor.WriteHeader(producer.Payload(s), FeedMessageType.MarginMode, 9, sequence, StandardWorkload.StartNanos, 0);
            FeedMessageDescriptor.WriteMarginMode(producer.Payload(s), account, MarginMode.Portfolio);
            producer.Publish(s);
            while (service.Engine.PollOnce() > 0)
            {
            }

            Assert.Equal(0, service.Engine.Counters.Rejects[(int)FeedReject.ModeRefused]);
        }
    }

    private static void Flip(string path, long offset)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        int b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0x40));
    }

    [Fact]
    public void SnapshotOfAnotherVersionOrLayout_IsRefusedWithTheReason()
    {
        var c = Config();
        var sim = Simulator(c);
        using (var service = c.OpenEngine())
        {
            Feed(service, sim, 2_000);
            service.Snapshots!.TryCapture(service.Engine, service.Engine.Journal!.LastSequence);
            service.Snapshots.WaitIdle();
        }

        string path = SnapshotStore.List(EngineService.JournalDirectory(c))[0].Path;
        byte[] bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), SnapshotStore.Version + 1);
        File.WriteAllBytes(path, bytes);
        using (var service = c.OpenEngine())
        {
            Assert.Contains(service.Recovery!.RefusedSnapshots, r => r.Contains($"snapshot version {SnapshotStore.Version + 1}, this build reads version {SnapshotStore.Version}", StringComparison.Ordinal));
            Assert.Equal(0, service.Recovery.SnapshotSequence);
            Assert.Equal(2_000, service.Recovery.Replayed); // the whole journal instead
        }

        // A book of another size cannot take the snapshot: refused by its layout fingerprint.
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), SnapshotStore.Version);
        File.WriteAllBytes(path, bytes);
        var other = LlrConfig.Parse($$"""
            { "workload": { "underlyings": 2, "futures": 2, "expiries": 3, "strikes": 5, "accounts": 300, "positionsPerAccount": 10 },
              "limits": { "maxTrackedOrders": 1024 }, "rings": { "directory": "{{_dir}}", "feedCapacity": 1024, "breachCapacity": 4096 },
              "journal": { "mode": "journal", "directory": "journal" } }
            """);
        using var feed = SharedRing.CreateInProcess(new RingOptions(128, 64, ProducerMode.Single));
        using var breach = SharedRing.CreateInProcess(new RingOptions(128, 64, ProducerMode.Single));
        var engine = new RiskEngine(other.BuildWorkload().Book, null, feed.CreateConsumer(0), breach.CreateSingleProducer());
        var (sequence, used, refused) = SnapshotStore.LoadNewest(EngineService.JournalDirectory(c), engine);
        Assert.Null(used);
        Assert.Equal(0, sequence);
        Assert.Contains(refused, r => r.Contains("state layout differs", StringComparison.Ordinal));
    }

    [Fact]
    public void SnapshotCapture_DoesNotAllocateOnTheEngineThread()
    {
        var c = Config();
        using var service = c.OpenEngine();
        Feed(service, Simulator(c), 1_000);
        var store = service.Snapshots!;
        for (int i = 0; i < 40; i++)
        {
            // Warm-up: the first walks load and compile the state visitor's generic instantiations, and the
            // walk's methods pass tiered compilation's 30 calls (three warm-up walks let a full CI run, with
            // other test classes loading both CPUs, see 3,528 bytes in the measured twenty once; alone it never did).
            store.WaitIdle();
            store.TryCapture(service.Engine, service.Engine.Journal!.LastSequence);
        }

        // Three windows of twenty captures: a capture that allocates shows in every window (twenty times its
        // bytes); a one-off of the runtime under load shows in one. The steady state is what is asserted.
        var windows = new List<long>();
        for (int w = 0; w < 3 && (windows.Count == 0 || windows[^1] != 0); w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++)
            {
                store.WaitIdle();
                Assert.True(store.TryCapture(service.Engine, service.Engine.Journal!.LastSequence));
            }

            windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.True(windows[^1] == 0, $"bytes allocated per window of 20 captures: {string.Join(", ", windows)}");
        store.WaitIdle();
    }
    [Fact]
    public void AFirmLimitChange_SurvivesARestart_OverTheStartingShares_FromTheJournalAndFromASnapshot()
    {
        // Firm "f" (accounts 3 and 4, 1,000,000): each starts at 500,000. The aggregator's change (as
        // producer 9) moves account 3 to 200,000; a restart starts from the shares again and the journal
        // (then a snapshot) brings the change back — not the share.
        var c = Config("""
            "firms": [ { "name": "f", "accounts": [3, 4], "creditLimit": 1000000 } ],
            "summaries": { "enabled": true },
            """);
        using (var service = c.OpenEngine())
        {
            var gate = service.Engine.Machine.Gate!;
            Assert.Equal((500_000.0, 500_000.0), (gate.CreditLimitOf(3), gate.CreditLimitOf(4)));
            var producer = service.Feed.CreateMultiProducer();
            Assert.True(producer.TryClaim(1, out long s));
            FeedMessageDescriptor.WriteHeader(producer.Payload(s), FeedMessageType.LimitChange, 9, 1, StandardWorkload.StartNanos, 0);
            FeedMessageDescriptor.WriteLimitChange(producer.Payload(s), LimitScope.Account, LimitField.MaxOrderQuantityOrCredit, 3, 200_000);
            producer.Publish(s);
            while (service.Engine.PollOnce() > 0)
            {
            }

            Assert.Equal(200_000, gate.CreditLimitOf(3));
            Assert.NotNull(service.SummaryRing);
        }

        using (var service = c.OpenEngine())
        {
            Assert.Equal(1, service.Recovery!.Replayed);
            Assert.Equal((200_000.0, 500_000.0), (service.Engine.Machine.Gate!.CreditLimitOf(3), service.Engine.Machine.Gate!.CreditLimitOf(4)));
            Assert.True(service.Snapshots!.TryCapture(service.Engine, service.Engine.Journal!.LastSequence));
            service.Snapshots.WaitIdle();
        }

        using (var service = c.OpenEngine())
        {
            Assert.Equal(0, service.Recovery!.Replayed); // from the snapshot alone
            Assert.Equal(200_000, service.Engine.Machine.Gate!.CreditLimitOf(3));
        }
    }
}
