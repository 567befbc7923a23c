using System.Buffers.Binary;
using System.Diagnostics;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Ipc;
using NATS.Client.JetStream;

namespace LowLatencyRisk.Distributed.Tests;

/// <summary>
/// A shard's journal replicated on JetStream: the shipper follows the primary's journal as it is
/// written, the follower applies it to a standby engine through the replay path and writes a local
/// journal of its own. The standby holds the primary's state, its journal recovers to it, and a
/// restarted shipper neither loses nor repeats a record.
/// </summary>
public sealed class JournalReplicationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "llr-journal-repl-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static StandardWorkload Book()
    {
        var w = StandardWorkload.Build(WorkloadScale.Small);
        w.SetCollateralToMargin(1.2);
        return w;
    }

    private static RiskEngine Engine(RingConsumer? feed = null, IRingProducer? breaches = null)
    {
        var w = Book();
        return new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), feed, breaches, liquidation: LiquidationOptions.Default);
    }

    private static void AssertSameState(RiskEngine expected, RiskEngine actual, string what)
    {
        Assert.True(EngineStateHash.Compute(expected) == EngineStateHash.Compute(actual), what + ": state hash");
        for (int a = 0; a < expected.Book.Config.MaxAccounts; a++)
        {
            Assert.True(expected.Book.SettledCash(a) == actual.Book.SettledCash(a), $"{what}: account {a}'s settlements");
        }
    }

    [Fact]
    public async Task AStandby_FollowingTheReplicatedJournal_HoldsThePrimarysState_AndARestartedShipperLosesAndRepeatsNothing()
    {
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 128 };
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);

        // The primary: journal on (small segments, so the shipper follows rolls), breaches and
        // liquidation orders sized — its own decisions are journal records too.
        string primaryDir = Path.Combine(_root, "primary");
        using var breachRing = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Single));
        var primary = Engine(breaches: breachRing.CreateSingleProducer());
        using var journal = JournalWriter.Open(primaryDir, FeedMessageDescriptor.PayloadSize, 256 << 10);
        primary.Journal = journal;
        var reader = new Liquidator(breachRing.CreateConsumer(0));

        string standbyDir = Path.Combine(_root, "standby");
        using var standbyJournal = JournalWriter.Open(standbyDir, FeedMessageDescriptor.PayloadSize, 256 << 10);
        var standby = Engine();
        var follower = new JournalFollower(js, config, 0, standby, "llr-standby-0", standbyJournal);

        using var stop = new CancellationTokenSource();
        var shipper = new JournalShipper(js, config, 0, primaryDir);
        var shipping = Task.Run(() => shipper.RunAsync(stop.Token));
        using var stopFollower = new CancellationTokenSource();
        var following = Task.Run(() => follower.RunAsync(stopFollower.Token));

        var sim = new VenueSimulator(Book(), seed: 41, producerId: 1, stressStart: 3_000, stressLength: 6_000);
        var m = new byte[FeedMessageDescriptor.PayloadSize];
        Task? restarted = null;
        JournalShipper? second = null;
        using var stopFirst = new CancellationTokenSource();
        for (int i = 0; i < 15_000; i++)
        {
            sim.Next(m, MonotonicClock.Now());
            Assert.True(primary.Process(m));
            reader.Poll();
            if (i % 500 == 0)
            {
                await Task.Delay(1); // a feed at a pace: the shipper and the follower work while the primary does
            }

            if (i == 7_000)
            {
                var shipped = Stopwatch.StartNew();
                while (shipper.Shipped == 0 && shipped.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(10); // on a loaded machine the shipper may not have had its first round yet
                }

                Assert.True(shipper.Shipped > 0, $"the first shipper was shipping when it died ({shipper.LastFailure})");
                // The shipper dies (its task is cancelled mid-stream); a new one resumes after the
                // last record the stream holds.
                await stop.CancelAsync();
                await shipping.ContinueWith(_ => { }, TaskScheduler.Default);
                second = new JournalShipper(js, config, 0, primaryDir);
                restarted = Task.Run(() => second.RunAsync(stopFirst.Token));
            }
        }

        while (primary.HasPendingMarks)
        {
            primary.PollOnce();
            reader.Poll();
        }

        long last = journal.LastSequence;
        var clock = Stopwatch.StartNew();
        while (follower.LastApplied < last && clock.Elapsed < TimeSpan.FromSeconds(60) && follower.Stopped is null)
        {
            await Task.Delay(10);
        }

        await stopFirst.CancelAsync();
        await stopFollower.CancelAsync();
        await restarted!.ContinueWith(_ => { }, TaskScheduler.Default);
        await following.ContinueWith(_ => { }, TaskScheduler.Default);
        string story = $"journal {last}, followed {follower.LastApplied} (copies {follower.Copies}, stopped: {follower.Stopped}), shipped {shipper.Shipped} + {second!.Shipped} (duplicates {second.Duplicates}; retries {shipper.Retries} {shipper.LastFailure} / {second.Retries} {second.LastFailure}; faulted {shipping.Exception?.InnerException?.Message} / {restarted.Exception?.InnerException?.Message} / follower {following.Exception?.InnerException?.Message} {following.Status}), engine records {primary.Counters.LiquidationOrdersPlanned} orders planned";
        Assert.True(follower.LastApplied == last, story);
        Assert.True(primary.Counters.LiquidationOrdersPlanned > 0 && primary.Counters.BreachesPublished > 0, "the run made decisions of the engine's own: " + story);
        // Every record once across the restart: the stream holds each journal record exactly once (the
        // first shipper may have died between JetStream's acks and its own count of the last batch).
        Assert.InRange(shipper.Shipped + second.Shipped, last - config.AckWindow, last);
        var stream = await js.GetStreamAsync(config.JournalStream);
        Assert.Equal(last, (long)stream.Info.State.Messages);

        standby.FinishReplay();
        AssertSameState(primary, standby, "the standby");

        // The standby's own journal is a journal like any other: a recovery from it reaches the same state.
        var recovered = Engine();
        var scan = JournalReader.Scan(standbyDir, FeedMessageDescriptor.PayloadSize, (_, payload) => recovered.Replay(payload));
        Assert.Null(scan.Problem);
        Assert.Equal(last, scan.LastSequence);
        recovered.FinishReplay();
        AssertSameState(primary, recovered, "a recovery from the standby's journal");

        // Negative control: without the engine's own records (the feed alone) the settlements differ.
        var feedOnly = Engine();
        JournalReader.Scan(primaryDir, FeedMessageDescriptor.PayloadSize, (_, payload) =>
        {
            if (!EngineRecords.IsRecord(payload[0]))
            {
                feedOnly.Replay(payload);
            }
        });
        feedOnly.FinishReplay();
        Assert.Contains(Enumerable.Range(0, primary.Book.Config.MaxAccounts), a => primary.Book.SettledCash(a) != feedOnly.Book.SettledCash(a));
    }

    [Fact]
    public async Task AFollower_StopsAtAGap_RatherThanApplyOutOfOrder()
    {
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url };
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);
        var sim = new VenueSimulator(Book(), seed: 5, producerId: 1);
        foreach (long sequence in new long[] { 1, 2, 2, 4 })
        {
            var record = new byte[JournalShipper.RecordBytes];
            BinaryPrimitives.WriteInt64LittleEndian(record, sequence);
            sim.Next(record.AsSpan(8), 0);
            (await js.PublishAsync(config.JournalSubject(3), record)).EnsureSuccess();
        }

        var follower = new JournalFollower(js, config, 3, Engine(), "gap");
        await follower.RunAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.Equal((2L, 1L), (follower.Applied, follower.Copies));
        Assert.Contains("records 3..3 are missing", follower.Stopped, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheFeedBridge_AcknowledgesAMessage_OnlyOnceItsJournalRecordIsReplicated(bool ackWhenReplicated)
    {
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 64 };
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);

        // 3,000 feed messages in the stream, as a router would have put them there.
        var sim = new VenueSimulator(Book(), seed: 8, producerId: 1);
        for (int i = 0; i < 3_000; i++)
        {
            var m = new byte[FeedMessageDescriptor.PayloadSize];
            sim.Next(m, 0);
            (await js.PublishAsync(config.BroadcastSubject, m, opts: new NatsJSPubOpts { MsgId = JetStreamTopology.MessageId(m) })).EnsureSuccess();
        }

        // The shard: its ring, its engine journaling, the bridge; the shipper not started yet.
        string dir = Path.Combine(_root, "primary-" + ackWhenReplicated);
        using var ring = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1 << 12, ProducerMode.Multi));
        var engine = Engine(ring.CreateConsumer(0));
        using var journal = JournalWriter.Open(dir, FeedMessageDescriptor.PayloadSize, 1 << 20);
        engine.Journal = journal;
        var bridge = new FeedBridge(js, config, ring.CreateMultiProducer(), FeedBridge.DurableName(0), ackWhenReplicated);
        using var shipper = new JournalShipper(js, config, 0, dir) { Replicated = bridge.OnReplicated };
        using var stop = new CancellationTokenSource();
        var bridging = Task.Run(() => bridge.RunAsync(stop.Token));
        var clock = Stopwatch.StartNew();
        while (engine.Counters.Events < 3_000 && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            engine.PollOnce();
        }

        Assert.Equal(3_000, engine.Counters.Events);
        await Task.Delay(300); // acks in flight land
        async Task<ulong> AckFloor() => (await js.GetConsumerAsync(config.FeedStream, FeedBridge.DurableName(0))).Info.AckFloor.StreamSeq;
        ulong before = await AckFloor();
        if (ackWhenReplicated)
        {
            // Every message is in the ring, consumed and journaled, but nothing is replicated: the
            // stream must not consider any of it delivered (a standby would not have it).
            Assert.Equal(0UL, before);
            Assert.Equal(3_000, bridge.AwaitingReplication);
        }
        else
        {
            Assert.True(before > 0, "negative control: acknowledged once in the ring"); // what lost messages with the primary's machine
        }

        // The shipper replicates the journal: now the stream may forget them.
        var shipping = Task.Run(() => shipper.RunAsync(stop.Token));
        clock.Restart();
        while (await AckFloor() < 3_000 && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(50);
        }

        Assert.Equal(3_000UL, await AckFloor());
        Assert.Equal(0, bridge.AwaitingReplication);
        await stop.CancelAsync();
        await Task.WhenAll(bridging.ContinueWith(_ => { }, TaskScheduler.Default), shipping.ContinueWith(_ => { }, TaskScheduler.Default));
    }
}
