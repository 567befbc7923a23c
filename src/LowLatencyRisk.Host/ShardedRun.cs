using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Distributed;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Ipc;
using NATS.Client.JetStream;

namespace LowLatencyRisk.Host;

/// <summary>
/// <c>llr run --shards N</c>: the topology of several machines, on this one, for a newcomer. A local
/// JetStream server (started here); the simulated venue writes the producers' ring; the router
/// publishes it to the feed stream by shard; per shard a bridge (durable consumer) writes the stream
/// into the shard's ring, its engine applies its own accounts' messages, its liquidator reads its
/// breach ring and a second consumer publishes the ring to the breach stream. Beside them a
/// reference engine — one, unsharded, fed from the same stream by its own consumer — against which
/// every shard's state is checked at the end, account set by account set.
/// </summary>
internal static class ShardedRun
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(int shards, double seconds, double rate, WorkloadScale scale, int seed, Action<string> print)
    {
        using var server = StartServer(print);
        if (server is null)
        {
            return 5;
        }

        var config = new JetStreamSection { Url = server.Url };
        var map = new ShardMap(1, shards, ShardRule.Modulo);
        print(string.Create(Inv, $"llr run: {shards} shards (accounts by id modulo {shards}) over JetStream at {server.Url} (a local nats-server, store {server.Store}); building the books ..."));
        try
        {
            return Execute(config, map, seconds, rate, scale, seed, print).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is InvalidOperationException or NATS.Client.Core.NatsException or TimeoutException)
        {
            print($"llr run: a JetStream leg failed: {e.Message}");
            return 4;
        }
    }

    private static LocalJetStreamServer? StartServer(Action<string> print)
    {
        try
        {
            return LocalJetStreamServer.Start();
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            print($"llr run: cannot start a local JetStream server: {e.Message}");
            return null;
        }
    }

    /// <summary>An engine with its rings: a shard (or, with the single-shard map, the reference).</summary>
    private sealed class Node : IDisposable
    {
        public Node(StandardWorkload w, ShardMap map, int index, int breachConsumers, LlrConfig firms, bool summaries)
        {
            Feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1 << 14, ProducerMode.Multi));
            Breach = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Single, breachConsumers));
            var gate = new PreTradeGate(w.Book, new GateConfig());
            FirmLimits.ApplyStartingShares(firms, w.Book, gate);
            Engine = new RiskEngine(w.Book, gate, Feed.CreateConsumer(0), Breach.CreateSingleProducer(), TimeSpan.FromMilliseconds(10));
            Engine.Machine.AssignShard(map, index);
            Liquidator = new Liquidator(Breach.CreateConsumer(0));
            if (summaries)
            {
                var section = firms.Summaries;
                SummaryRing = SharedRing.CreateInProcess(firms.SummaryRingOptions());
                Summaries = new RiskSummaryPublisher(w.Book, gate, Engine.Machine, SummaryRing.CreateSingleProducer(), index,
                    TimeSpan.FromMilliseconds(section.IntervalMilliseconds), TimeSpan.FromSeconds(section.HeartbeatSeconds), section.Step, section.ChangeFraction, section.AccountsOf(firms.Firms), firms.Firms.PositionUnderlyings());
            }
        }

        public SharedRing? SummaryRing { get; }

        public RiskSummaryPublisher? Summaries { get; }

        public SummaryBridge? SummaryBridge { get; set; }

        public SharedRing Feed { get; }

        public SharedRing Breach { get; }

        public RiskEngine Engine { get; }

        public Liquidator Liquidator { get; }

        public FeedBridge? Bridge { get; set; }

        public BreachBridge? Breaches { get; set; }

        public void Dispose()
        {
            Feed.Dispose();
            Breach.Dispose();
            SummaryRing?.Dispose();
        }
    }

    private static async Task<int> Execute(JetStreamSection config, ShardMap map, double seconds, double rate, WorkloadScale scale, int seed, Action<string> print)
    {
        await using var nats = await JetStreamTopology.ConnectAsync(config, "llr-run", CancellationToken.None).ConfigureAwait(false);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None).ConfigureAwait(false);

        using var producers = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1 << 14, ProducerMode.Multi));
        var router = new FeedRouter(js, config, map, producers, producers.CreateConsumer(0));
        var firms = DemoFirm(scale, map);
        var nodes = Enumerable.Range(0, map.Count).Select(k => new Node(StandardWorkload.Build(scale), map, k, breachConsumers: 2, firms, summaries: true)).ToList();
        var reference = new Node(StandardWorkload.Build(scale), ShardMap.Single, 0, breachConsumers: 1, firms, summaries: false); // its breaches stay local
        var aggregator = new FirmLimitAggregator(js, config, map, firms.Firms, firms.Aggregator);
        try
        {
            for (int k = 0; k < map.Count; k++)
            {
                nodes[k].Bridge = new FeedBridge(js, config, nodes[k].Feed.CreateMultiProducer(), FeedBridge.DurableName(k));
                nodes[k].Breaches = new BreachBridge(js, config, k, nodes[k].Breach, nodes[k].Breach.CreateConsumer(1));
                nodes[k].SummaryBridge = new SummaryBridge(js, config, k, nodes[k].SummaryRing!, nodes[k].SummaryRing!.CreateConsumer(0));
            }

            reference.Bridge = new FeedBridge(js, config, reference.Feed.CreateMultiProducer(), "llr-reference");
            using var stop = new CancellationTokenSource();
            var everyone = nodes.Append(reference).ToList();
            var legs = new List<Task> { Task.Run(() => router.RunAsync(stop.Token)) };
            legs.AddRange(everyone.Select(n => Task.Run(() => n.Bridge!.RunAsync(stop.Token))));
            legs.AddRange(nodes.Select(n => Task.Run(() => n.Breaches!.RunAsync(stop.Token))));
            legs.AddRange(nodes.Select(n => Task.Run(() => n.SummaryBridge!.RunAsync(stop.Token))));
            var fillToBreach = new LatencyHistogram();
            var markToBreach = new LatencyHistogram();
            var breachesRead = new StrongBox<long>();
            legs.Add(Task.Run(() => ReadBreachesAsync(js, config, fillToBreach, markToBreach, breachesRead, stop.Token)));
            using var stopAggregator = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            var aggregating = Task.Run(() => aggregator.RunAsync(stopAggregator.Token));
            legs.Add(aggregating);

            // The engines and liquidators share one thread, each a duty cycle (yielding): this is a
            // demonstration of the topology on one machine, not of its speed. First the warm-up `llr
            // engine` runs (a scratch engine through breaches and liquidations): the static storage of
            // the generic types the engines' paths use is allocated here, not on the engine thread the
            // first time a rare path runs (the likely cause of 49,200 bytes seen once in about ten CI runs;
            // TypeWarmUp covers the non-generic types only).
            EngineWarmup.Run(LlrConfig.Parse("{}"), 50_000);
            long allocated = 0;
            var engineThread = new Thread(() =>
            {
                TypeWarmUp.InitializeEngineTypes();
                long before = GC.GetAllocatedBytesForCurrentThread();
                var wait = new YieldingWait();
                int idle = 0;
                while (!stop.IsCancellationRequested)
                {
                    int work = 0;
                    long now = Stopwatch.GetTimestamp();
                    foreach (var n in everyone)
                    {
                        work += n.Engine.DoWork() + n.Liquidator.Poll() + (n.Summaries?.Poll(now) ?? 0);
                    }

                    if (work == 0)
                    {
                        wait.Idle(idle++);
                    }
                    else
                    {
                        idle = 0;
                    }
                }

                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }) { IsBackground = true, Name = "llr-engines" };
            engineThread.Start();

            var progress = new VenueProgress();
            var simulator = new VenueSimulator(StandardWorkload.Build(scale), seed, 1, stressStart: (long)(seconds * rate * 0.4), stressLength: (long)(seconds * rate * 0.2));
            var clock = Stopwatch.StartNew();
            var simulate = new Thread(() => VenueDriver.Run(producers.CreateMultiProducer(), simulator, rate, Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency), null, progress, stop: stop.Token))
            { IsBackground = true, Name = "llr-simulator" };
            simulate.Start();
            while (!simulate.Join(1_000))
            {
                Fail(legs);
                print(string.Create(Inv, $"{clock.Elapsed.TotalSeconds,5:F1} s  published {progress.Published,10:N0}  routed {router.Published,10:N0}  {string.Join("  ", nodes.Select((n, k) => $"shard {k}: applied {n.Engine.Counters.Events - n.Engine.Counters.Rejects[(int)FeedReject.OtherShard],9:N0} breaches {n.Engine.Counters.BreachesPublished,6:N0}"))}  reference {reference.Engine.Counters.Events,10:N0}"));
            }

            // Drain: the aggregator stops (its last limit changes are in the feed stream), every engine
            // has every published message and limit change, every breach is in the stream.
            await stopAggregator.CancelAsync().ConfigureAwait(false);
            await aggregating.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            legs.Remove(aggregating);
            long expected = progress.Published + aggregator.ChangesPublished;
            var drain = Stopwatch.StartNew();
            while (drain.Elapsed < TimeSpan.FromSeconds(60) && (everyone.Any(n => n.Engine.Counters.Events < expected || n.Engine.HasPendingMarks)
                || nodes.Any(n => n.Breaches!.Released < n.Breach.ReadClaimSequence())))
            {
                Fail(legs);
                await Task.Delay(20).ConfigureAwait(false);
            }

            // The downstream reader reads the breach stream to its end (bounded: it is a measurement).
            long onRings = nodes.Sum(n => n.Breach.ReadClaimSequence());
            while (drain.Elapsed < TimeSpan.FromSeconds(70) && Interlocked.Read(ref breachesRead.Value) < onRings)
            {
                Fail(legs);
                await Task.Delay(20).ConfigureAwait(false);
            }

            double elapsed = clock.Elapsed.TotalSeconds;
            await stop.CancelAsync().ConfigureAwait(false);
            engineThread.Join();
            await Task.WhenAll(legs.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
            var breachStream = await js.GetStreamAsync(config.BreachStream).ConfigureAwait(false);
            int code = Report(map, nodes, reference, router, progress.Published, aggregator, (long)breachStream.Info.State.Messages, elapsed, print);
            print(string.Create(Inv, $"latency             read from the breach stream as a downstream liquidator would (loopback): fill published → breach read {Percentiles(fillToBreach)}; mark published → breach read {Percentiles(markToBreach)}"));
            print(string.Create(Inv, $"engine thread       {allocated:N0} bytes allocated by the engines and liquidators while the bridges ran beside them"));
            return code;
        }
        finally
        {
            nodes.ForEach(n => n.Dispose());
            reference.Dispose();
        }
    }

    private static string Percentiles(LatencyHistogram h) => h.TotalCount == 0 ? "none"
        : string.Create(Inv, $"p50 {h.ValueAtPercentile(50) / 1e6:F1} ms, p99 {h.ValueAtPercentile(99) / 1e6:F1} ms, max {h.Max / 1e6:F1} ms ({h.TotalCount:N0} breaches)");

    /// <summary>
    /// A downstream reader of the breach stream (as a liquidator on another machine would be): the time
    /// from the publish of each breach's cause (a fill, or the mark whose revaluation moved the account)
    /// on the producers' ring to the breach read here — the router, JetStream, a shard's bridge, ring and
    /// engine, its breach ring, the breach bridge and JetStream again. One machine: one monotonic clock.
    /// </summary>
    private static async Task ReadBreachesAsync(NatsJSContext js, JetStreamSection config, LatencyHistogram fills, LatencyHistogram marks, StrongBox<long> read, CancellationToken stop)
    {
        var consumer = await js.CreateOrUpdateConsumerAsync(config.BreachStream, new NATS.Client.JetStream.Models.ConsumerConfig("llr-run-breach-reader")
        {
            AckPolicy = NATS.Client.JetStream.Models.ConsumerConfigAckPolicy.None,
            InactiveThreshold = TimeSpan.FromMinutes(1),
        }, stop).ConfigureAwait(false);
        try
        {
            var pulls = new NatsJSConsumeOpts { MaxMsgs = 256, Expires = TimeSpan.FromSeconds(5), IdleHeartbeat = TimeSpan.FromSeconds(1) };
            await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: pulls, cancellationToken: stop).ConfigureAwait(false))
            {
                Interlocked.Increment(ref read.Value);
                if (msg.Data is { Length: >= BreachMessageDescriptor.SlotSize - 8 } data && data[0] == BreachMessageDescriptor.MessageType)
                {
                    ref readonly var b = ref WireMessage.Read<BreachMessage>(data);
                    long now = MonotonicClock.Now();
                    if (b.SourcePublishTicks > 0 && now > b.SourcePublishTicks && b.Cause != BreachCause.Recovery)
                    {
                        (b.Cause == BreachCause.Trade ? fills : marks).Record(MonotonicClock.ToNanos(now - b.SourcePublishTicks));
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static void Fail(List<Task> legs)
    {
        var failed = legs.FirstOrDefault(t => t.IsFaulted);
        if (failed is not null)
        {
            throw new InvalidOperationException($"a JetStream leg failed: {failed.Exception!.InnerException!.Message}", failed.Exception);
        }
    }

    /// <summary>
    /// The firm of the demonstration: the first four accounts of each shard, limited together to
    /// 1.5 × their gross notional at the start (the simulator's fills do not pass a gate, so the firm
    /// shows the summaries and the aggregator at work rather than refusals).
    /// </summary>
    private static LlrConfig DemoFirm(WorkloadScale scale, ShardMap map)
    {
        var book = StandardWorkload.Build(scale).Book;
        int[] accounts = [.. Enumerable.Range(0, 4 * map.Count).Where(book.IsAccount)];
        double usage = accounts.Sum(a => book.GrossNotional(a, -1, out _));
        return new LlrConfig
        {
            Firms = [new FirmSection { Name = "demo-firm", Accounts = accounts, CreditLimit = Math.Max(1_000_000, Math.Round(1.5 * usage)) }],
            Summaries = new SummariesSection { Enabled = true, FirmsOnly = true }, // what the aggregator reads: every account's would double the stream traffic of this one machine
        };
    }

    private static int Report(ShardMap map, List<Node> nodes, Node reference, FeedRouter router, long published, FirmLimitAggregator aggregator, long breachStreamMessages, double seconds, Action<string> print)
    {
        print("");
        print("== report (loopback, one machine: the topology, not its speed)");
        print(string.Create(Inv, $"feed                {published:N0} messages published by the simulated venue, {router.Published:N0} routed to JetStream in {seconds:F1} s ({router.Broadcast:N0} to every shard, the rest to their account's shard)"));
        bool ok = router.Published == published;
        long ringMessages = 0;
        for (int k = 0; k < nodes.Count; k++)
        {
            var n = nodes[k];
            var c = n.Engine.Counters;
            ulong mine = EngineStateHash.ComputeShard(n.Engine.Machine, map, k);
            ulong theirs = EngineStateHash.ComputeShard(reference.Engine.Machine, map, k);
            bool equal = mine == theirs;
            ok &= equal && c.Events == published + aggregator.ChangesPublished; // the aggregator's limit changes are feed messages too
            ringMessages += n.Breach.ReadClaimSequence();
            print(string.Create(Inv, $"shard {k}             read {c.Events:N0}{(c.Events == published + aggregator.ChangesPublished ? "" : $" — NOT the {published + aggregator.ChangesPublished:N0} published (simulator and aggregator)")}, applied {c.Events - c.Rejects[(int)FeedReject.OtherShard]:N0}, refused {c.Rejects[(int)FeedReject.OtherShard]:N0} of the other shards' accounts; {c.BreachesPublished:N0} breaches ({n.Liquidator.ByState[1]:N0} margin calls, {n.Liquidator.ByState[2]:N0} liquidations); state 0x{mine:X16} {(equal ? "= the reference engine's over its accounts" : $"DIFFERS from the reference engine's 0x{theirs:X16}")}"));
        }

        var firm = aggregator.Firms()[0];
        var staleness = aggregator.Staleness;
        print(string.Create(Inv, $"risk summaries      {nodes.Sum(n => n.Summaries!.Published):N0} written by the shards ({nodes.Sum(n => n.Summaries!.Deferred):N0} times a sweep waited for room), {nodes.Sum(n => n.SummaryBridge!.Published):N0} published to the summary stream, {aggregator.SummariesRead:N0} read by the aggregator before it stopped; staleness when read p50 {staleness.ValueAtPercentile(50) / 1e6:F1} ms, p99 {staleness.ValueAtPercentile(99) / 1e6:F1} ms"));
        // The safety property, read from the shards' own gates (not the aggregator's view, which may lag):
        // the credit limits in force for the firm's accounts sum to at most the firm's limit.
        var firmAccounts = aggregator.FirmAccounts(firm.Name);
        double inForce = firmAccounts.Sum(a => nodes[map.ShardOf(a)].Engine.Machine.Gate!.CreditLimitOf(a));
        print(string.Create(Inv, $"firm limit          {firm.Name} ({firm.Accounts} accounts across {map.Count} shards): usage {firm.Usage:N0} of {firm.Limit:N0}; {aggregator.ChangesPublished:N0} credit limit changes sent, {aggregator.ChangesConfirmed:N0} seen in force; the limits in force at the shards' gates sum to {inForce:N0}"));
        bool firmOk = aggregator.Malformed == 0 && inForce <= firm.Limit + (firm.Accounts * FirmLimitAggregator.MinimumLimit);
        ok &= firmOk;
        print(string.Create(Inv, $"reference engine    one unsharded engine fed from the same stream by its own consumer: {reference.Engine.Counters.Events:N0} messages, {reference.Engine.Counters.BreachesPublished:N0} breaches"));
        bool breachesOk = breachStreamMessages == ringMessages;
        ok &= breachesOk;
        print(string.Create(Inv, $"breaches out        {breachStreamMessages:N0} messages in the breach stream for {ringMessages:N0} put on the shards' breach rings{(breachesOk ? "" : " — MISSING")}"));
        print(ok ? "result              every shard holds what one engine holds over its accounts; nothing lost on the way" : "result              FAILED (see above)");
        return ok ? 0 : 1;
    }
}
