using System.Diagnostics;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;

namespace LowLatencyRisk.Fixtures.Simulation;

/// <summary>Options of the embedded default (<c>llr run</c>).</summary>
public sealed record EmbeddedVenueOptions
{
    /// <summary>How long the simulator publishes.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Workload scale.</summary>
    public WorkloadScale Scale { get; init; } = new();
    /// <summary>Simulator seed (the workload's own seed is <see cref="WorkloadScale.Seed"/>).</summary>
    public int Seed { get; init; } = 7;
    /// <summary>Folder for the ring files.</summary>
    public string RingDirectory { get; init; } = SharedRing.DefaultDirectory;
    /// <summary>Feed ring capacity (slots).</summary>
    public int FeedCapacity { get; init; } = 1 << 16;
    /// <summary>Pin the engine thread to CPU 1 and the simulator to CPU 0.</summary>
    public bool Pin { get; init; } = true;
    /// <summary>Offered load in events per second; 0 publishes as fast as the engine takes them (saturation).</summary>
    public double Rate { get; init; } = 2_000_000;
    /// <summary>Message mix of the simulator.</summary>
    public SimulatorMix Mix { get; init; } = SimulatorMix.Standard;
    /// <summary>Simulated messages run through a scratch engine before the run (0 = none).</summary>
    public int WarmupMessages { get; init; } = 200_000;
    /// <summary>
    /// Run the simulator and the liquidator as one duty cycle on one thread (default on machines
    /// with fewer than three CPUs): the engine keeps a core to itself, and the two ends, which
    /// would otherwise take turns on the other core through the OS scheduler (a yield or a
    /// timeslice between a breach and its reader), poll each other's work in one loop.
    /// </summary>
    public bool ShareSimulatorCore { get; init; } = Environment.ProcessorCount < 3;
    /// <summary>How the engine sizes liquidation orders (null: breaches only, nothing acts on them).</summary>
    public LiquidationOptions? Liquidation { get; init; } = LiquidationOptions.Default;
    /// <summary>Marks are applied to margins at most this often (coalescing); fills and breaches are never delayed by it.</summary>
    public TimeSpan RevalueInterval { get; init; } = TimeSpan.FromMilliseconds(10);
}

/// <summary>What <c>llr run</c> reports.</summary>
public sealed record EmbeddedVenueReport(
    long Events, double Seconds, double EventsPerSecond, long Fills, long Marks, long Batches, long Rejects,
    long Breaches, long MarginCalls, long Liquidations, long LatencyCount, long LatencyP50, long LatencyP99, long LatencyP999, long LatencyMax,
    long EngineAllocatedBytes, int EngineGcCount, long BreachSequenceGaps, long AbandonedSlots, int Instruments, int Accounts,
    long Revaluations, string RejectsByReason, double OfferedRate,
    long TradeLatencyCount, long TradeLatencyP50, long TradeLatencyP99, long TradeLatencyP999,
    long RevaluationLatencyCount, long RevaluationLatencyP50, long RevaluationLatencyP99, long RevaluationLatencyP999,
    long TradeToPublishP50, long TradeToPublishP99, long DeliveryP50, long DeliveryP99)
{
    /// <summary>Transitions back to healthy read by the liquidator.</summary>
    public long BackToHealthy { get; init; }

    /// <summary>When the achieved rate fell short of the offered one (null at saturation: nothing was offered).</summary>
    public RateShortfall? Shortfall { get; init; }

    /// <summary>What liquidation did: orders sized, sent, filled, ended.</summary>
    public LiquidationReport Liquidation { get; init; } = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>The liquidator's histograms (fill → breach, mark → breach), for harnesses that publish them.</summary>
    public (LatencyHistogram Trade, LatencyHistogram Revaluation, LatencyHistogram TradeToPublish, LatencyHistogram Delivery)? Histograms { get; init; }
}

/// <summary>Liquidation in a run: <paramref name="Sized"/> orders the engine sized, <paramref name="Sent"/> the liquidator put on the order ring
/// (<paramref name="AlreadySent"/> read again and not resent), <paramref name="Matched"/> the simulated matching engine filled,
/// <paramref name="Covered"/> the engine saw covered by fills, <paramref name="EndedUnfilled"/> timed out or outlived the account's liquidation,
/// <paramref name="Unplannable"/> accounts for which no reduction helped; cause → order sent latency in ns.</summary>
public sealed record LiquidationReport(long Sized, long Sent, long AlreadySent, long Matched, long Covered, long EndedUnfilled, long Unplannable,
    long LatencyCount, long LatencyP50, long LatencyP99)
{
    /// <summary>The default waterfall in the run.</summary>
    public WaterfallReport Waterfall { get; init; } = new(0, 0, 0, 0, 0, 0, 0, 0, 0);
}

/// <summary>
/// The default waterfall in a run: the insurance fund at the start and end, the fees it took in,
/// its payments into bankrupt accounts (count and amount), deleverage orders sized and traded by
/// the simulated matching engine with the quantity closed, and the deficits neither paid nor deleveraged.
/// </summary>
public sealed record WaterfallReport(double FundStart, double FundEnd, double Fees, long DeficitsPaid, double DeficitPaidAmount,
    long DeleverageOrders, long DeleverageTraded, double DeleveragedQuantity, long Uncovered);

/// <summary>
/// The embedded default: rings under /dev/shm, a simulated venue publishing the standard workload
/// into the feed ring, the engine consuming it, and a liquidator reading the breach ring — three
/// threads over shared memory, exactly as the separate processes would run.
/// </summary>
public static class EmbeddedVenue
{
    /// <summary>Runs it; <paramref name="progress"/> is called about once a second from the calling thread.</summary>
    public static EmbeddedVenueReport Run(EmbeddedVenueOptions options, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        string tag = $"{Environment.ProcessId}-{Stopwatch.GetTimestamp() & 0xFFFFFF}";
        string feedPath = Path.Combine(options.RingDirectory, $"llr-feed-{tag}");
        string breachPath = Path.Combine(options.RingDirectory, $"llr-breach-{tag}");
        string ordersPath = Path.Combine(options.RingDirectory, $"llr-liquidation-orders-{tag}");
        try
        {
            progress?.Invoke($"building the workload: {options.Scale.Underlyings} underlyings, {options.Scale.Accounts} accounts ...");
            var engineWorkload = StandardWorkload.Build(options.Scale);
            var shadow = StandardWorkload.Build(options.Scale);
            var gate = new PreTradeGate(engineWorkload.Book, new GateConfig());
            // Warm-up on a scratch book (as `llr engine` does), so the engine meets the first live
            // message with its hot methods at their final tier, not in the middle of the stress.
            progress?.Invoke("warming up the engine on a scratch book ...");
            EngineWarmup.Run(Engine.Configuration.LlrConfig.Parse("{}"), options.WarmupMessages);
            using var feedRing = SharedRing.CreateMapped(feedPath, new RingOptions(FeedMessageDescriptor.SlotSize, options.FeedCapacity, ProducerMode.Multi));
            using var breachRing = SharedRing.CreateMapped(breachPath, new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Single));
            using var ordersRing = SharedRing.CreateMapped(ordersPath, new RingOptions(LiquidationOrderDescriptor.SlotSize, 1 << 12, ProducerMode.Single));
            var engine = new RiskEngine(engineWorkload.Book, gate, feedRing.CreateConsumer(0, abandonTimeout: TimeSpan.FromSeconds(1)), breachRing.CreateSingleProducer(), options.RevalueInterval,
                options.Liquidation);
            using var ledger = LiquidatorLedger.InMemory(engineWorkload.Book.Config.MaxAccounts);
            var liquidator = new Liquidator(breachRing.CreateConsumer(0), orders: ordersRing.CreateSingleProducer(), ledger: ledger);
            // The simulated matching engine fills the liquidator's orders on the feed (producer 2; the simulator is 1).
            var matcher = new LiquidationMatcher(ordersRing.CreateConsumer(0), feedRing.CreateMultiProducer(), producerId: 2);
            var downstream = new CompositeAgent(liquidator, matcher);

            // The stress episode runs in the middle of the run: estimated from a quick calibration below.
            using var stop = new CancellationTokenSource();
            long engineAllocated = 0;
            int engineGc = 0;
            var engineThread = new Thread(() =>
            {
                if (options.Pin)
                {
                    CpuAffinity.TryPinCurrentThread(1);
                }

                // Warm-up happened in the workload build; measure the engine thread from here on.
                TypeWarmUp.InitializeEngineTypes();
                long before = GC.GetAllocatedBytesForCurrentThread();
                int gcBefore = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);
                var wait = new YieldingWait();
                engine.Run(ref wait, stop.Token);
                while (engine.PollOnce() > 0)
                {
                }

                engineAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
                engineGc = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2) - gcBefore;
            }) { IsBackground = true, Name = "llr-engine" };

            var liquidatorThread = new Thread(() =>
            {
                // On the simulator's CPU: the engine keeps CPU 1 to itself.
                if (options.Pin)
                {
                    CpuAffinity.TryPinCurrentThread(0);
                }

                // Yielding, not sleeping: a sleep would add up to a millisecond to every breach.
                AgentRunner.Run(downstream, new YieldingWait(), stop.Token);
                engineThread.Join(); // the engine's own drain may still publish
                while (breachRing.ReadConsumerSequence(0) < breachRing.ReadClaimSequence())
                {
                    liquidator.Poll(); // what the engine published before it stopped (orders sent now are not filled: the engine is gone)
                }
            }) { IsBackground = true, Name = "llr-liquidator" };

            var progressCounter = new VenueProgress();
            bool shared = options.ShareSimulatorCore;
            long duration = (long)(options.Duration.TotalSeconds * Stopwatch.Frequency);
            var simulatorThread = new Thread(() =>
            {
                if (options.Pin)
                {
                    CpuAffinity.TryPinCurrentThread(0);
                }

                var producer = feedRing.CreateMultiProducer();
                // Stress from 40 % to 60 % of the expected events (at saturation, assume 5 M events/s).
                long expected = (long)(options.Duration.TotalSeconds * (options.Rate > 0 ? options.Rate : 5_000_000));
                var sim = new VenueSimulator(shadow, options.Seed, 1, stressStart: expected * 4 / 10, stressLength: expected / 5) { Mix = options.Mix };
                VenueDriver.Run(producer, sim, options.Rate, Stopwatch.GetTimestamp() + duration, shared ? downstream : null, progressCounter);
            }) { IsBackground = true, Name = "llr-simulator" };

            int processGcBefore = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);
            var clock = Stopwatch.StartNew();
            engineThread.Start();
            if (!shared)
            {
                liquidatorThread.Start();
            }

            simulatorThread.Start();
            long lastEvents = 0;
            var shortfall = new RateShortfall(options.Rate);
            while (!simulatorThread.Join(1000))
            {
                long events = engine.Counters.Events;
                double at = clock.Elapsed.TotalSeconds;
                double offered = shortfall.Observe(at, progressCounter.Published);
                var live = engine.Counters;
                var b = live.BreachesByState;
                progress?.Invoke(FormattableString.Invariant(
                    $"{at,5:F1} s  events {events,12:N0}  ({(events - lastEvents) / 1e6,5:F2} M events/s)  lag {progressCounter.Published - events,8:N0} msgs  margin calls {b[1],6:N0}  liquidations {b[2],6:N0}  healthy again {b[0],6:N0}  liquidation orders {live.LiquidationOrdersPlanned,6:N0}  rss {Environment.WorkingSet >> 20,5:N0} MiB  gc {GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2) - processGcBefore}{(shortfall.Behind ? $"  BEHIND: {offered / 1e6:F2} of {options.Rate / 1e6:F2} M events/s offered" : "")}"));
                lastEvents = events;
            }

            if (shared)
            {
                liquidatorThread.Start(); // the simulator is done: the liquidator reads the rest on its own
            }

            // Let the engine drain what was published (the simulator's and the matcher's fills), then stop everything.
            var drainDeadline = Stopwatch.StartNew();
            while (engine.Counters.Events < progressCounter.Published + matcher.Filled && drainDeadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                Thread.Sleep(5);
            }

            double seconds = clock.Elapsed.TotalSeconds;
            stop.Cancel();
            engineThread.Join();
            liquidatorThread.Join();
            var c = engine.Counters;
            var h = liquidator.Latency;
            return new EmbeddedVenueReport(
                c.Events, seconds, c.Events / seconds, c.EventsByType[(int)FeedMessageType.Fill],
                c.EventsByType[(int)FeedMessageType.IndexPrice] + c.EventsByType[(int)FeedMessageType.OptionMark],
                c.Batches, c.TotalRejects, liquidator.Read, liquidator.ByState[1], liquidator.ByState[2],
                h.TotalCount, h.ValueAtPercentile(50), h.ValueAtPercentile(99), h.ValueAtPercentile(99.9), h.Max,
                engineAllocated, engineGc, liquidator.SequenceGaps, feedRing.ReadAbandonedCount(0),
                engineWorkload.InstrumentCount, options.Scale.Accounts, c.Revaluations,
                string.Join(", ", Enum.GetValues<FeedReject>().Where(x => c.Rejects[(int)x] > 0).Select(x => $"{x} {c.Rejects[(int)x]:N0}")),
                options.Rate,
                liquidator.TradeLatency.TotalCount, liquidator.TradeLatency.ValueAtPercentile(50), liquidator.TradeLatency.ValueAtPercentile(99), liquidator.TradeLatency.ValueAtPercentile(99.9),
                liquidator.RevaluationLatency.TotalCount, liquidator.RevaluationLatency.ValueAtPercentile(50), liquidator.RevaluationLatency.ValueAtPercentile(99), liquidator.RevaluationLatency.ValueAtPercentile(99.9),
                liquidator.TradeToPublish.ValueAtPercentile(50), liquidator.TradeToPublish.ValueAtPercentile(99), liquidator.Delivery.ValueAtPercentile(50), liquidator.Delivery.ValueAtPercentile(99))
            {
                Histograms = (liquidator.TradeLatency, liquidator.RevaluationLatency, liquidator.TradeToPublish, liquidator.Delivery),
                BackToHealthy = liquidator.ByState[0],
                Liquidation = new LiquidationReport(c.LiquidationOrdersPlanned, liquidator.OrdersSent, liquidator.OrdersAlreadySent, matcher.Filled, c.LiquidationOrdersFilled,
                    c.LiquidationOrdersEnded, c.LiquidationUnplannable, liquidator.OrderLatency.TotalCount, liquidator.OrderLatency.ValueAtPercentile(50), liquidator.OrderLatency.ValueAtPercentile(99))
                {
                    Waterfall = new WaterfallReport(options.Liquidation?.InsuranceFund ?? 0, c.InsuranceFund, c.LiquidationFees, c.DeficitsCovered, c.DeficitCoveredAmount,
                        c.DeleverageOrders, matcher.Deleveraged, c.DeleveragedQuantity, c.UncoveredDeficits),
                },
                Shortfall = options.Rate > 0 ? shortfall : null,
            };
        }
        finally
        {
            File.Delete(feedPath);
            File.Delete(breachPath);
            File.Delete(ordersPath);
        }
    }
}
