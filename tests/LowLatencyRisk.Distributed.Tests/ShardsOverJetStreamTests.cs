using System.Diagnostics;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;
using NATS.Client.JetStream;

namespace LowLatencyRisk.Distributed.Tests;

/// <summary>
/// The feed between machines on a real JetStream server: producers' ring → <see cref="FeedRouter"/>
/// → the feed stream → one <see cref="FeedBridge"/> per shard → the shard's ring → its engine.
/// </summary>
public sealed class ShardsOverJetStreamTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static StandardWorkload Book()
    {
        var w = StandardWorkload.Build(WorkloadScale.Small);
        w.SetCollateralToMargin(1.3);
        return w;
    }

    /// <summary>The simulator's stream with a stress episode, and account messages (collateral, account kill switches) mixed in from a second producer.</summary>
    private static List<byte[]> Input(int count)
    {
        var sim = new VenueSimulator(Book(), seed: 23, producerId: 2, stressStart: 2_000, stressLength: 4_000);
        var random = new Random(23);
        var input = new List<byte[]>(count);
        long side = 0;
        for (int i = 0; i < count; i++)
        {
            var m = new byte[FeedMessageDescriptor.PayloadSize];
            if (random.Next(30) == 0)
            {
                bool kill = random.Next(2) == 0;
                FeedMessageDescriptor.WriteHeader(m, kill ? FeedMessageType.KillSwitch : FeedMessageType.Collateral, 6, ++side, sim.NowNanos, 0);
                if (kill)
                {
                    FeedMessageDescriptor.WriteKillSwitch(m, KillSwitchScope.Account, random.Next(200), random.Next(3) == 0);
                }
                else
                {
                    FeedMessageDescriptor.WriteCollateral(m, random.Next(200), 0, 50_000 + random.Next(100_000));
                }
            }
            else
            {
                sim.Next(m, 0);
            }

            input.Add(m);
        }

        return input;
    }

    private static FeedStateMachine Single(List<byte[]> input)
    {
        var w = Book();
        var machine = new FeedStateMachine(w.Book, new PreTradeGate(w.Book, new GateConfig()), new EngineCounters());
        foreach (var m in input)
        {
            machine.Apply(m);
            while (w.Book.TryDequeueTransition(out _))
            {
            }
        }

        return machine;
    }

    /// <summary>A shard: its feed ring (the bridge one more producer), its engine.</summary>
    private sealed class Shard : IDisposable
    {
        public Shard(ShardMap map, int index)
        {
            Ring = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
            var w = Book();
            Engine = new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), Ring.CreateConsumer(0), breaches: null);
            Engine.Machine.AssignShard(map, index);
        }

        public SharedRing Ring { get; }

        public RiskEngine Engine { get; }

        public void Dispose() => Ring.Dispose();
    }

    private static void Produce(MultiProducer producer, List<byte[]> input, ref int next)
    {
        while (next < input.Count && producer.TryClaim(1, out long slot))
        {
            input[next++].CopyTo(producer.Payload(slot));
            producer.Publish(slot);
        }
    }

    [Fact]
    public async Task TwoShards_FedThroughJetStream_HoldWhatOneEngineHolds_AndARedeliveryAppliesNothingTwice()
    {
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 128 };
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        var input = Input(12_000);
        var expected = Single(input);

        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);

        using var producers = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
        var router = new FeedRouter(js, config, map, producers, producers.CreateConsumer(0));
        using var shard0 = new Shard(map, 0);
        using var shard1 = new Shard(map, 1);
        using var stop = new CancellationTokenSource();
        var bridge0 = new FeedBridge(js, config, shard0.Ring.CreateMultiProducer(), FeedBridge.DurableName(0));
        var bridge1 = new FeedBridge(js, config, shard1.Ring.CreateMultiProducer(), FeedBridge.DurableName(1));
        var running = new[] { Task.Run(() => bridge0.RunAsync(stop.Token)), Task.Run(() => bridge1.RunAsync(stop.Token)) };

        var producer = producers.CreateMultiProducer();
        int next = 0;
        var clock = Stopwatch.StartNew();
        while ((shard0.Engine.Counters.Events < input.Count || shard1.Engine.Counters.Events < input.Count) && clock.Elapsed < Patience)
        {
            Produce(producer, input, ref next);
            await router.PumpAsync(CancellationToken.None);
            shard0.Engine.PollOnce();
            shard1.Engine.PollOnce();
            Assert.DoesNotContain(running, t => t.IsFaulted);
        }

        Assert.Equal(input.Count, router.Published);
        Assert.Equal(input.Count, shard0.Engine.Counters.Events);
        Assert.Equal(input.Count, shard1.Engine.Counters.Events);
        Drain(shard0.Engine);
        Drain(shard1.Engine);
        for (int k = 0; k < 2; k++)
        {
            var engine = k == 0 ? shard0.Engine : shard1.Engine;
            Assert.Equal(EngineStateHash.ComputeShard(expected, map, k), EngineStateHash.ComputeShard(engine.Machine, map, k));
            Assert.Equal(expected.Counters.Rejects[(int)FeedReject.Duplicate], engine.Counters.Rejects[(int)FeedReject.Duplicate]);
            Assert.True(engine.Counters.Rejects[(int)FeedReject.OtherShard] > 1_000);
        }

        // Negative control: a shard does not hold its peer's accounts.
        Assert.NotEqual(EngineStateHash.ComputeShard(expected, map, 1), EngineStateHash.ComputeShard(shard0.Engine.Machine, map, 1));

        // Every message went to exactly one subject: the broadcast ones once, not once per shard.
        var stream = await js.GetStreamAsync(config.FeedStream);
        Assert.Equal(input.Count, (long)stream.Info.State.Messages);
        Assert.True(router.Broadcast > 0 && router.Broadcast < input.Count);

        // Shard 1's bridge is replaced by one that starts the stream again (a lost consumer
        // position): every message arrives a second time and the engine refuses each as a duplicate.
        await stop.CancelAsync();
        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        ulong before = EngineStateHash.Compute(shard1.Engine);
        long duplicates = shard1.Engine.Counters.Rejects[(int)FeedReject.Duplicate];
        using var again = new CancellationTokenSource();
        var replay = new FeedBridge(js, config, shard1.Ring.CreateMultiProducer(), "llr-shard-1-lost-position");
        var replaying = Task.Run(() => replay.RunAsync(again.Token));
        clock.Restart();
        while (shard1.Engine.Counters.Events < 2L * input.Count && clock.Elapsed < Patience)
        {
            shard1.Engine.PollOnce();
            Assert.False(replaying.IsFaulted, replaying.Exception?.ToString());
        }

        await again.CancelAsync();
        Drain(shard1.Engine);
        Assert.Equal(2L * input.Count, shard1.Engine.Counters.Events);
        Assert.Equal(before, EngineStateHash.Compute(shard1.Engine));
        Assert.Equal(duplicates + input.Count - Refused(expected), shard1.Engine.Counters.Rejects[(int)FeedReject.Duplicate]);
    }

    /// <summary>Messages refused before their sequence is taken (bad version, producer or type, a jump, a stale epoch): a resend of those is refused the same way, not as a duplicate.</summary>
    private static long Refused(FeedStateMachine m) =>
        m.Counters.Rejects[(int)FeedReject.BadVersion] + m.Counters.Rejects[(int)FeedReject.BadProducer] + m.Counters.Rejects[(int)FeedReject.UnknownType]
        + m.Counters.Rejects[(int)FeedReject.SequenceJump] + m.Counters.Rejects[(int)FeedReject.StaleEpoch];

    private static void Drain(RiskEngine engine)
    {
        var clock = Stopwatch.StartNew();
        while (engine.HasPendingMarks && clock.Elapsed < Patience)
        {
            engine.PollOnce();
        }

        while (engine.Book.TryDequeueTransition(out _))
        {
        }
    }

    [Fact]
    public async Task ARouterThatPublishesTheSameMessagesAgain_AddsNothingToTheStream()
    {
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 64 };
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        var input = Input(2_000);
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);

        // The first router publishes everything; a restarted one (here: a second ring holding the
        // same messages, as the producers' ring would after a crash before release) publishes it again.
        var routers = new List<FeedRouter>();
        foreach (int round in new[] { 0, 1 })
        {
            using var ring = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 4096, ProducerMode.Multi));
            var router = new FeedRouter(js, config, map, ring, ring.CreateConsumer(0));
            int next = 0;
            Produce(ring.CreateMultiProducer(), input, ref next);
            while (router.Released < input.Count)
            {
                Assert.True(await router.PumpAsync(CancellationToken.None) > 0);
            }

            routers.Add(router);
        }

        Assert.Equal((input.Count, 0L), (routers[0].Published, routers[0].Duplicates));
        Assert.Equal((0L, (long)input.Count), (routers[1].Published, routers[1].Duplicates));
        var stream = await js.GetStreamAsync(config.FeedStream);
        Assert.Equal(input.Count, (long)stream.Info.State.Messages);
    }

    [Fact]
    public async Task KillingTheStreamLeader_OfAThreeServerCluster_MidRun_LosesNothing_AndAppliesNothingTwice()
    {
        var cluster = LocalJetStreamServer.StartCluster(3);
        try
        {
            var config = new JetStreamSection { Url = string.Join(",", cluster.Select(s => s.Url)), Replicas = 3, AckWindow = 128 };
            var map = new ShardMap(1, 2, ShardRule.Modulo);
            var input = Input(8_000);
            var expected = Single(input);
            await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
            var js = new NatsJSContext(nats);
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None); // once the cluster has elected its meta leader
                    break;
                }
                catch (Exception e) when (e is NATS.Client.Core.NatsException && clock.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(250);
                }
            }

            using var producers = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
            var router = new FeedRouter(js, config, map, producers, producers.CreateConsumer(0));
            using var shard0 = new Shard(map, 0);
            using var shard1 = new Shard(map, 1);
            var bridges = new[] { new FeedBridge(js, config, shard0.Ring.CreateMultiProducer(), FeedBridge.DurableName(0)), new FeedBridge(js, config, shard1.Ring.CreateMultiProducer(), FeedBridge.DurableName(1)) };
            using var stop = new CancellationTokenSource();
            var running = bridges.Select(b => Task.Run(() => b.RunAsync(stop.Token))).Append(Task.Run(() => router.RunAsync(stop.Token))).ToArray();

            var producer = producers.CreateMultiProducer();
            int next = 0;
            string? killed = null;
            clock.Restart();
            bool Done() => EngineStateHash.ComputeShard(shard0.Engine.Machine, map, 0) == EngineStateHash.ComputeShard(expected, map, 0)
                && EngineStateHash.ComputeShard(shard1.Engine.Machine, map, 1) == EngineStateHash.ComputeShard(expected, map, 1);
            while (clock.Elapsed < TimeSpan.FromSeconds(90) && !(next == input.Count && router.Released == input.Count && Done()))
            {
                // Produce in steps so the kill lands mid-stream, with messages in flight both ways.
                int budget = 200;
                var more = input.Skip(next).Take(budget).ToList();
                int done = 0;
                foreach (var m in more)
                {
                    if (!producer.TryClaim(1, out long slot))
                    {
                        break;
                    }

                    m.CopyTo(producer.Payload(slot));
                    producer.Publish(slot);
                    done++;
                }

                next += done;
                if (killed is null && router.Released > input.Count * 2 / 5)
                {
                    var info = await js.GetStreamAsync(config.FeedStream);
                    killed = info.Info.Cluster?.Leader ?? "llr-0";
                    cluster[int.Parse(killed[4..], System.Globalization.CultureInfo.InvariantCulture)].Kill();
                }

                for (int i = 0; i < 50; i++)
                {
                    shard0.Engine.PollOnce();
                    shard1.Engine.PollOnce();
                }

                await Task.Delay(2);
                Assert.DoesNotContain(running, t => t.IsFaulted);
            }

            await stop.CancelAsync();
            await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
            Drain(shard0.Engine);
            Drain(shard1.Engine);
            string story = $"killed {killed}; router retries {router.Retries} ({router.LastFailure}), bridge resumes {bridges[0].Resumes}/{bridges[1].Resumes} ({bridges[0].LastFailure ?? bridges[1].LastFailure}), redelivered {bridges[0].Redelivered}/{bridges[1].Redelivered}, released {router.Released} of {input.Count}, landed out of order {router.LandedOutOfOrder} (held by the bridges {bridges[0].HeldBack}/{bridges[1].HeldBack}, gaps accepted {bridges[0].GapsAccepted}/{bridges[1].GapsAccepted}), duplicates dropped by JetStream {router.Duplicates}; "
                + $"engines read {shard0.Engine.Counters.Events}/{shard1.Engine.Counters.Events}, forwarded {bridges[0].Forwarded}/{bridges[1].Forwarded}, sequence gaps {shard0.Engine.Counters.SequenceGaps}/{shard1.Engine.Counters.SequenceGaps}, "
                + $"duplicates {shard0.Engine.Counters.Rejects[(int)FeedReject.Duplicate]}/{shard1.Engine.Counters.Rejects[(int)FeedReject.Duplicate]} (the single engine {expected.Counters.Rejects[(int)FeedReject.Duplicate]}), stream {(await js.GetStreamAsync(config.FeedStream)).Info.State.Messages}";
            Assert.True(killed is not null, story);
            Assert.Equal(input.Count, router.Released);
            Assert.True(Done(), "every shard holds what one engine holds (nothing lost, nothing applied twice): " + story);

            // Nothing stored twice: JetStream's de-duplication held across the new leader.
            var stream = await js.GetStreamAsync(config.FeedStream);
            Assert.Equal(input.Count, (long)stream.Info.State.Messages);
        }
        finally
        {
            foreach (var server in cluster)
            {
                server.Dispose();
            }
        }
    }

    [Fact]
    public async Task ARestartedBridge_ResumesInOrder_FromWhatWasAcknowledged_LosingNothingItsPredecessorHeld()
    {
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 128 };
        var input = Input(6_000);
        var expected = Single(input);
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);
        foreach (var m in input)
        {
            (await js.PublishAsync(config.BroadcastSubject, m, opts: new NATS.Client.JetStream.NatsJSPubOpts { MsgId = JetStreamTopology.MessageId(m) })).EnsureSuccess();
        }

        // A small ring read slowly: the first bridge blocks on it with delivered messages in hand,
        // unacknowledged, when it dies.
        using var ring = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 64, ProducerMode.Multi));
        var w = Book();
        var engine = new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), ring.CreateConsumer(0), breaches: null);
        using var first = new CancellationTokenSource();
        var a = new FeedBridge(js, config, ring.CreateMultiProducer(), FeedBridge.DurableName(0));
        var running = Task.Run(() => a.RunAsync(first.Token));
        var clock = Stopwatch.StartNew();
        while (engine.Counters.Events < 1_500 && clock.Elapsed < Patience)
        {
            engine.PollOnce(maxBatch: 16);
            await Task.Delay(1);
        }

        await first.CancelAsync();
        await running.ContinueWith(_ => { }, TaskScheduler.Default);

        // Its successor, well within the ack wait (30 s) after which the server would hand the lost
        // deliveries out again — behind later sequences, where the engine would refuse them.
        using var second = new CancellationTokenSource();
        var b = new FeedBridge(js, config, ring.CreateMultiProducer(), FeedBridge.DurableName(0));
        var resumed = Task.Run(() => b.RunAsync(second.Token));
        ulong want = EngineStateHash.Compute(expected);
        clock.Restart();
        while (EngineStateHash.Compute(engine.Machine) != want && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            engine.PollOnce();
            Drain(engine);
            await Task.Delay(1);
        }

        await second.CancelAsync();
        await resumed.ContinueWith(_ => { }, TaskScheduler.Default);
        Drain(engine);
        Assert.True(b.ResumedAfter > 0, "the successor resumed after an acknowledged floor");
        Assert.True(EngineStateHash.Compute(engine.Machine) == want, $"every message applied once, in order: events {engine.Counters.Events}, duplicates {engine.Counters.Rejects[(int)FeedReject.Duplicate]}, gaps {engine.Counters.SequenceGaps}, resumed after {b.ResumedAfter}");
        Assert.Equal(0, engine.Counters.SequenceGaps); // in order: no producer sequence was skipped and applied out of turn
    }
    /// <summary>Publishes <paramref name="messages"/> to the feed stream in the given order, each on its shard's subject, as a router would have stored them.</summary>
    private static async Task StoreAsync(NatsJSContext js, JetStreamSection config, ShardMap map, IEnumerable<byte[]> messages)
    {
        foreach (var m in messages)
        {
            int shard = map.Route(m);
            string subject = shard < 0 ? config.BroadcastSubject : config.ShardSubject(shard);
            (await js.PublishAsync(subject, m, opts: new NATS.Client.JetStream.NatsJSPubOpts { MsgId = JetStreamTopology.MessageId(m) })).EnsureSuccess();
        }
    }

    private static int ProducerOf(byte[] m) => FeedMessageDescriptor.Header(m).ProducerId;

    /// <summary>Two shards' bridges and engines run over the stream until both have read <paramref name="count"/> messages; returns the bridges.</summary>
    private static async Task<FeedBridge[]> BridgeAsync(NatsJSContext js, JetStreamSection config, Shard shard0, Shard shard1, int count, TimeSpan holdLimit, Func<FeedBridge[], Task>? whileRunning = null)
    {
        var bridges = new[]
        {
            new FeedBridge(js, config, shard0.Ring.CreateMultiProducer(), FeedBridge.DurableName(0)) { HoldLimit = holdLimit },
            new FeedBridge(js, config, shard1.Ring.CreateMultiProducer(), FeedBridge.DurableName(1)) { HoldLimit = holdLimit },
        };
        using var stop = new CancellationTokenSource();
        var running = bridges.Select(b => Task.Run(() => b.RunAsync(stop.Token))).ToArray();
        var watching = whileRunning is null ? Task.CompletedTask : Task.Run(() => whileRunning(bridges));
        var clock = Stopwatch.StartNew();
        while ((shard0.Engine.Counters.Events < count || shard1.Engine.Counters.Events < count || !watching.IsCompleted) && clock.Elapsed < Patience)
        {
            shard0.Engine.PollOnce();
            shard1.Engine.PollOnce();
            Assert.DoesNotContain(running, t => t.IsFaulted);
            Assert.False(watching.IsFaulted, watching.Exception?.ToString());
            await Task.Yield();
        }

        await watching;
        await stop.CancelAsync();
        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        Drain(shard0.Engine);
        Drain(shard1.Engine);
        Assert.Equal(count, shard0.Engine.Counters.Events);
        Assert.Equal(count, shard1.Engine.Counters.Events);
        return bridges;
    }

    [Fact]
    public async Task AProducersMessagesStoredOutOfOrder_AreHeldByTheBridge_AndWrittenInSequence_SoNothingIsRefusedAsADuplicate()
    {
        // What a cluster's leader change can leave in the stream: the router's publish of a message
        // refused, the next ones of its round stored, the refused one stored again after them. Here
        // 20 stretches of three consecutive messages of the simulator's producer, the first a fill, are
        // stored as (b, c, a): each shard's bridge holds b and c until a comes, then writes a, b, c.
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 128 };
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        var input = Input(6_000);
        var stored = new List<byte[]>(input);
        int rotated = 0;
        for (int i = 100; i + 2 < stored.Count && rotated < 20; i++)
        {
            if (ProducerOf(stored[i]) == 2 && ProducerOf(stored[i + 1]) == 2 && ProducerOf(stored[i + 2]) == 2 && FeedMessageDescriptor.Header(stored[i]).Type == FeedMessageType.Fill)
            {
                (stored[i], stored[i + 1], stored[i + 2]) = (stored[i + 1], stored[i + 2], stored[i]);
                rotated++;
                i += 250;
            }
        }

        Assert.Equal(20, rotated);
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);
        await StoreAsync(js, config, map, stored);

        using var shard0 = new Shard(map, 0);
        using var shard1 = new Shard(map, 1);
        var bridges = await BridgeAsync(js, config, shard0, shard1, input.Count, TimeSpan.FromSeconds(10));
        var expected = Single(input);
        for (int k = 0; k < 2; k++)
        {
            var engine = k == 0 ? shard0.Engine : shard1.Engine;
            Assert.Equal(EngineStateHash.ComputeShard(expected, map, k), EngineStateHash.ComputeShard(engine.Machine, map, k));
            Assert.Equal(expected.Counters.Rejects[(int)FeedReject.Duplicate], engine.Counters.Rejects[(int)FeedReject.Duplicate]);
            Assert.Equal(40, bridges[k].HeldBack);
            Assert.Equal(0, bridges[k].GapsAccepted);
        }

        // Negative control: the stored order fed straight to an engine loses the 20 late messages (refused as duplicates).
        var unordered = Single(stored);
        Assert.Equal(expected.Counters.Rejects[(int)FeedReject.Duplicate] + 20, unordered.Counters.Rejects[(int)FeedReject.Duplicate]);
        Assert.Contains(Enumerable.Range(0, 2), k => EngineStateHash.ComputeShard(unordered, map, k) != EngineStateHash.ComputeShard(expected, map, k));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // the negative control: a successor without the positions loses the missing message
    public async Task ABridgeRestartedInTheMiddleOfAHold_StartsFromItsRecordedPositions_AndStillWritesTheMissingMessageFirst(bool positionsKept)
    {
        // A producer's fill a is refused in a leader change while its next two messages b and c are stored;
        // the bridge holds b and c — and is killed before a is stored again. Its successor's consumer starts
        // after the acknowledgement floor, which is just before b: it never meets a message of that
        // producer before the missing one. From the positions file it knows where the producer stands, so
        // it holds b and c again until a comes. Without them it took b as where the producer stood, wrote
        // b and c, and the engine refused a, arriving after them, as a duplicate: lost.
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 128 };
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        var input = Input(3_000);
        int at = Enumerable.Range(1_000, 1_500).First(i => ProducerOf(input[i]) == 2 && ProducerOf(input[i + 1]) == 2 && ProducerOf(input[i + 2]) == 2
            && FeedMessageDescriptor.Header(input[i]).Type == FeedMessageType.Fill && map.Route(input[i]) == 0);
        var stored = new List<byte[]>(input);
        (stored[at], stored[at + 1], stored[at + 2]) = (stored[at + 1], stored[at + 2], stored[at]); // (b, c, a)
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);
        using var shard = new Shard(map, 0);
        using var files = new TempFiles();
        string path = files.NewPath("llr-bridge-positions");

        // The first bridge takes everything before b (acknowledged: nothing more pending), then holds b and c.
        await StoreAsync(js, config, map, stored.Take(at));
        var firstPositions = FeedPositions.Open(path);
        var first = new FeedBridge(js, config, shard.Ring.CreateMultiProducer(), FeedBridge.DurableName(0)) { HoldLimit = TimeSpan.FromSeconds(60), Positions = firstPositions };
        using (var stop = new CancellationTokenSource())
        {
            var running = Task.Run(() => first.RunAsync(stop.Token));
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < Patience && (shard.Engine.Counters.Events < at || (await js.GetConsumerAsync(config.FeedStream, FeedBridge.DurableName(0))).Info.AckFloor.StreamSeq < (ulong)at))
            {
                shard.Engine.PollOnce();
                Assert.False(running.IsFaulted, running.Exception?.ToString());
                await Task.Delay(1);
            }

            await StoreAsync(js, config, map, stored.Skip(at).Take(2));
            while (first.HeldBack < 2 && clock.Elapsed < Patience)
            {
                shard.Engine.PollOnce();
                await Task.Delay(1);
            }

            Assert.Equal((2L, 0L), (first.HeldBack, first.GapsAccepted));
            await stop.CancelAsync(); // gone with b and c in hand, never acknowledged
            await running.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        firstPositions.Dispose();
        Drain(shard.Engine);
        Assert.Equal((ulong)at, (await js.GetConsumerAsync(config.FeedStream, FeedBridge.DurableName(0))).Info.AckFloor.StreamSeq);

        // a is stored again, then the rest; the successor starts.
        await StoreAsync(js, config, map, stored.Skip(at + 2));
        using var secondPositions = positionsKept ? FeedPositions.Open(path) : null;
        var second = new FeedBridge(js, config, shard.Ring.CreateMultiProducer(), FeedBridge.DurableName(0)) { HoldLimit = TimeSpan.FromSeconds(60), Positions = secondPositions };
        using (var stop = new CancellationTokenSource())
        {
            var running = Task.Run(() => second.RunAsync(stop.Token));
            var clock = Stopwatch.StartNew();
            while (second.LastStreamSequence < (ulong)stored.Count && clock.Elapsed < Patience)
            {
                shard.Engine.PollOnce();
                Assert.False(running.IsFaulted, running.Exception?.ToString());
                await Task.Yield();
            }

            await stop.CancelAsync();
            await running.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        while (shard.Engine.PollOnce() > 0)
        {
        }

        Drain(shard.Engine);
        var expected = Single(input);
        string state = $"held {second.HeldBack}, gaps accepted {second.GapsAccepted}; engine: events {shard.Engine.Counters.Events}, duplicates {shard.Engine.Counters.Rejects[(int)FeedReject.Duplicate]}, gaps {shard.Engine.Counters.SequenceGaps}";
        if (positionsKept)
        {
            Assert.True(EngineStateHash.ComputeShard(expected, map, 0) == EngineStateHash.ComputeShard(shard.Engine.Machine, map, 0), state);
            Assert.True((2L, 0L, 0L) == (second.HeldBack, second.GapsAccepted, shard.Engine.Counters.SequenceGaps), state);
        }
        else
        {
            Assert.True(EngineStateHash.ComputeShard(expected, map, 0) != EngineStateHash.ComputeShard(shard.Engine.Machine, map, 0), state);
            Assert.True((0L, 1L) == (second.HeldBack, shard.Engine.Counters.SequenceGaps), state); // b written at once, after a gap; a refused after it
        }
    }

    /// <summary>
    /// The order a bridge writes <paramref name="stored"/> in when <paramref name="producer"/>'s messages
    /// are held from stream index <paramref name="firstHeld"/>: the hold ends at the message two ack windows
    /// past the first held one, and the producer's messages from the first held through that one are
    /// written after it, in sequence order. Returns the order and how many were held.
    /// </summary>
    private static (List<byte[]> Order, int Held) HoldOrder(List<byte[]> stored, int firstHeld, int producer, int ackWindow)
    {
        int release = firstHeld + (2 * ackWindow) + 1;
        bool Moved(byte[] m, int i) => i >= firstHeld && i <= release && ProducerOf(m) == producer;
        var moved = stored.Where((m, i) => Moved(m, i)).OrderBy(m => FeedMessageDescriptor.Header(m).ProducerSequence).ToList();
        var order = new List<byte[]>();
        for (int i = 0; i < stored.Count; i++)
        {
            if (!Moved(stored[i], i))
            {
                order.Add(stored[i]);
            }

            if (i == release)
            {
                order.AddRange(moved);
            }
        }

        return (order, moved.Count);
    }

    [Fact]
    public async Task ARealGapInAProducersSequence_IsHeldOnlyUntilTheStreamMovesOn_WithNothingAcknowledgedPastIt()
    {
        // A message of the side producer never reaches the stream. Its later messages are held — the
        // consumer's acknowledgement floor stays before the first of them, so a restarted bridge would
        // meet them again — until the stream has moved two ack windows past the first, then written
        // after a gap, which the engine counts.
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 128 };
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        var input = Input(3_000);
        int missing = input.FindIndex(1_000, m => ProducerOf(m) == 6);
        var stored = input.Where((_, i) => i != missing).ToList();
        int firstHeld = stored.FindIndex(missing, m => ProducerOf(m) == 6); // stream sequence firstHeld + 1
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);
        await StoreAsync(js, config, map, stored.Take(firstHeld + 100)); // the hold begins; the rest later

        using var shard0 = new Shard(map, 0);
        using var shard1 = new Shard(map, 1);
        var bridges = await BridgeAsync(js, config, shard0, shard1, stored.Count, TimeSpan.FromSeconds(60), async b =>
        {
            var clock = Stopwatch.StartNew();
            while (b.Any(x => x.LastStreamSequence < (ulong)firstHeld + 100) && clock.Elapsed < Patience)
            {
                await Task.Delay(20);
            }

            await Task.Delay(200);
            Assert.True(b.All(x => x.HeldBack > 0 && x.GapsAccepted == 0), "held");
            var consumer = await js.GetConsumerAsync(config.FeedStream, FeedBridge.DurableName(0));
            Assert.True(consumer.Info.AckFloor.StreamSeq < (ulong)firstHeld + 1, $"ack floor {consumer.Info.AckFloor.StreamSeq} passed the first held message at {firstHeld + 1}");
            await StoreAsync(js, config, map, stored.Skip(firstHeld + 100));
        });

        var (expectedOrder, held) = HoldOrder(stored, firstHeld, 6, config.AckWindow);
        var expected = Single(expectedOrder);
        for (int k = 0; k < 2; k++)
        {
            var engine = k == 0 ? shard0.Engine : shard1.Engine;
            Assert.Equal(1, bridges[k].GapsAccepted);
            Assert.Equal(held, bridges[k].HeldBack);
            Assert.Equal(EngineStateHash.ComputeShard(expected, map, k), EngineStateHash.ComputeShard(engine.Machine, map, k));
            Assert.Equal(1, engine.Counters.SequenceGaps);
            Assert.Equal(0, engine.Counters.Rejects[(int)FeedReject.Duplicate]);
        }

        var after = await js.GetConsumerAsync(config.FeedStream, FeedBridge.DurableName(0));
        Assert.True(after.Info.AckFloor.StreamSeq >= (ulong)stored.Count - 1, $"acknowledged through the end once nothing is held ({after.Info.AckFloor.StreamSeq})");
    }
    [Fact]
    public async Task AMessageWithACorruptSequenceFarAhead_IsHeldThenRefusedByTheEngine_AndHoldsBackNoValidMessage()
    {
        // One of the simulator's messages carries a sequence 2^30 ahead (corrupt), so its real sequence
        // is missing from the stream: the bridge holds it and the producer's next ones (a gap) until the
        // stream has moved two ack windows on, then writes them in sequence order; the engine applies the
        // valid ones after a counted gap and refuses the corrupt one (a jump beyond its window). Nothing
        // valid is lost or refused.
        using var server = LocalJetStreamServer.Start();
        var config = new JetStreamSection { Url = server.Url, AckWindow = 128 };
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        var stored = Input(3_000).Select(m => (byte[])m.Clone()).ToList();
        int corrupt = stored.FindIndex(1_000, m => ProducerOf(m) == 2 && FeedMessageDescriptor.Header(m).Type == FeedMessageType.Fill);
        WireMessage.As<FeedHeader>(stored[corrupt]).ProducerSequence += 1L << 30; // beyond the engine's sequence window (2^20)
        await using var nats = await JetStreamTopology.ConnectAsync(config, "test", CancellationToken.None);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None);
        await StoreAsync(js, config, map, stored);

        using var shard0 = new Shard(map, 0);
        using var shard1 = new Shard(map, 1);
        var bridges = await BridgeAsync(js, config, shard0, shard1, stored.Count, TimeSpan.FromSeconds(60));
        var (order, held) = HoldOrder(stored, corrupt, 2, config.AckWindow);
        var expected = Single(order);
        Assert.Equal(1, expected.Counters.Rejects[(int)FeedReject.SequenceJump]);
        for (int k = 0; k < 2; k++)
        {
            var engine = k == 0 ? shard0.Engine : shard1.Engine;
            Assert.Equal(((long)held, 1L), (bridges[k].HeldBack, bridges[k].GapsAccepted));
            Assert.Equal(1, engine.Counters.Rejects[(int)FeedReject.SequenceJump]);
            Assert.Equal(0, engine.Counters.Rejects[(int)FeedReject.Duplicate]);
            Assert.Equal(EngineStateHash.ComputeShard(expected, map, k), EngineStateHash.ComputeShard(engine.Machine, map, k));
        }
    }
}
