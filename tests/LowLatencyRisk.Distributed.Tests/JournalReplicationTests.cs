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
    public async Task AFollower_HoldsARecordThatArrivesEarly_AppliesItInOrder_AndStopsAtAGapBeyondItsWindow()
    {
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 16 };
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);
        var sim = new VenueSimulator(Book(), seed: 5, producerId: 1);
        var records = new Dictionary<long, byte[]>();
        byte[] Record(long sequence)
        {
            if (!records.TryGetValue(sequence, out var record))
            {
                record = new byte[JournalShipper.RecordBytes];
                BinaryPrimitives.WriteInt64LittleEndian(record, sequence);
                sim.Next(record.AsSpan(8), 0);
                records[sequence] = record;
            }

            return record;
        }

        // Shard 3: 1, 2, a copy of 2, then 4 before 3 (a publish of 3 refused in a leader change and sent
        // again): 4 is held and applied after 3, so the standby equals an engine fed 1, 2, 3, 4 in order.
        foreach (long sequence in new long[] { 1, 2, 2, 4, 3, 5 })
        {
            (await js.PublishAsync(config.JournalSubject(3), Record(sequence))).EnsureSuccess();
        }

        var standby = Engine();
        var follower = new JournalFollower(js, config, 3, standby, "early");
        using (var enough = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            var following = follower.RunAsync(enough.Token);
            while (follower.LastApplied < 5 && !enough.IsCancellationRequested && !following.IsCompleted)
            {
                await Task.Delay(10);
            }

            await enough.CancelAsync();
            await following.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        Assert.Equal((5L, 5L, 1L, 1L), (follower.LastApplied, follower.Applied, follower.Copies, follower.HeldEarly));
        Assert.Null(follower.Stopped);
        var inOrder = Engine();
        for (long sequence = 1; sequence <= 5; sequence++)
        {
            inOrder.Replay(records[sequence].AsSpan(8));
        }

        Assert.Equal(EngineStateHash.Compute(inOrder), EngineStateHash.Compute(standby));

        // Shard 4: 1, 2, then a record four ack windows and more ahead: a gap, not a late arrival.
        long far = 2 + (4L * config.AckWindow) + 1;
        foreach (long sequence in new long[] { 1, 2, 2, far })
        {
            (await js.PublishAsync(config.JournalSubject(4), Record(sequence))).EnsureSuccess();
        }

        var stopping = new JournalFollower(js, config, 4, Engine(), "gap");
        await stopping.RunAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.Equal((2L, 1L), (stopping.Applied, stopping.Copies));
        Assert.Contains($"records 3..{far - 1} are missing", stopping.Stopped, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARestartedShipper_FillsAHoleItsPredecessorLeftBehindTheLastStoredRecord()
    {
        // The journal holds records 1..10; the stream holds all but 8 (a predecessor's last round in
        // which the publish of 8 was refused and 9 and 10 were stored: a cluster's leader change). A new
        // shipper resumes a window before the last stored record, so 8 lands; the rest are JetStream's
        // duplicates. Resuming after the last stored record (the earlier rule) would have left the hole.
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 16 };
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);
        string dir = Path.Combine(_root, "hole");
        var sim = new VenueSimulator(Book(), seed: 6, producerId: 1);
        using (var journal = JournalWriter.Open(dir, FeedMessageDescriptor.PayloadSize, 1 << 20))
        {
            var m = new byte[FeedMessageDescriptor.PayloadSize];
            for (long sequence = 1; sequence <= 10; sequence++)
            {
                sim.Next(m, 0);
                Assert.Equal(sequence, journal.Append(m));
                if (sequence != 8)
                {
                    var record = new byte[JournalShipper.RecordBytes];
                    BinaryPrimitives.WriteInt64LittleEndian(record, sequence);
                    m.CopyTo(record.AsSpan(8));
                    (await js.PublishAsync(config.JournalSubject(0), record, opts: new NatsJSPubOpts { MsgId = $"0-{sequence}" })).EnsureSuccess();
                }
            }
        }

        using var shipper = new JournalShipper(js, config, 0, dir);
        while (shipper.LastShipped < 10)
        {
            await shipper.PumpAsync(CancellationToken.None);
        }

        Assert.Equal((1L, 9L), (shipper.Shipped, shipper.Duplicates));
        var stream = await js.GetStreamAsync(config.JournalStream);
        Assert.Equal(10L, (long)stream.Info.State.Messages);

        // And a follower applies 1..10 in order: 8 arrived last and the two before it were held for it.
        var follower = new JournalFollower(js, config, 0, Engine(), "after-hole");
        using var enough = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var following = follower.RunAsync(enough.Token);
        while (follower.LastApplied < 10 && !enough.IsCancellationRequested && !following.IsCompleted)
        {
            await Task.Delay(10);
        }

        await enough.CancelAsync();
        await following.ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.Equal((10L, 2L), (follower.LastApplied, follower.HeldEarly));
        Assert.Null(follower.Stopped);
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
