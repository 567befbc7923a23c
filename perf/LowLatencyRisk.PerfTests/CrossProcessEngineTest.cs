using System.Diagnostics;
using System.Globalization;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// <c>fill-breach-xproc</c>: fill → breach and fill → liquidation order across processes. The
/// engine is the real <c>llr engine</c> process (pinned to CPU 1, busy-spin, warmed up, sizing
/// liquidation orders); this process is the venue and the liquidator, one duty cycle on CPU 0 (the
/// machine has two): it publishes the standard workload into the feed ring at the offered rate,
/// reads the breach ring and sends each liquidation order on to an order ring (as <c>llr
/// liquidator</c> does, with an in-memory ledger), timing each breach and each order from the
/// publish of the fill that caused it. Nothing fills the orders (the matching engine is not
/// played), so an account's next order waits for its order timeout.
/// </summary>
public static class CrossProcessEngineTest
{
    /// <summary>Runs the test.</summary>
    public static int Run(Options options)
    {
        double seconds = options.Long("duration", 10);
        double rate = options.Long("rate", 2_000_000);
        long step = options.Long("step", RiskEngine.SliceAccounts);
        string dir = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"llr-xproc-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string configPath = Path.Combine(dir, "llr.json");
        File.WriteAllText(configPath, $$"""
            { "rings": { "directory": "{{dir}}" },
              "engine": { "cpu": 1, "wait": "busySpin", "warmupMessages": 200000, "revaluationStepHolders": {{step}} } }
            """);
        var config = LlrConfig.Load(configPath);
        var engineOutput = new List<string>();
        using var engine = Child.StartLlrEngine(configPath, engineOutput);
        try
        {
            using var feed = SharedRing.AttachMapped(config.PathOf(config.Rings.Feed), new RingOptions(FeedMessageDescriptor.SlotSize, config.Rings.FeedCapacity, ProducerMode.Multi));
            using var breach = SharedRing.AttachMapped(config.PathOf(config.Rings.Breach), config.BreachRingOptions());
            bool pinned = CpuAffinity.TryPinCurrentThread(0);
            using var orders = SharedRing.CreateInProcess(new RingOptions(LiquidationOrderDescriptor.SlotSize, 1 << 18, ProducerMode.Single));
            var workload = config.BuildWorkload();
            using var ledger = LiquidatorLedger.InMemory(workload.Book.Config.MaxAccounts);
            var liquidator = new Liquidator(breach.CreateConsumer(0), orders: orders.CreateSingleProducer(), ledger: ledger);
            long expected = (long)(seconds * rate);
            var simulator = new VenueSimulator(workload, seed: 7, producerId: 1, stressStart: expected * 4 / 10, stressLength: expected / 5);
            var progress = new VenueProgress();
            var clock = Stopwatch.StartNew();
            VenueDriver.Run(feed.CreateMultiProducer(), simulator, rate, Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency), liquidator, progress);
            double elapsed = clock.Elapsed.TotalSeconds;
            // Read the rest: until the engine has consumed everything and no breach came for 200 ms.
            var quiet = Stopwatch.StartNew();
            while (quiet.ElapsedMilliseconds < 200 || feed.ReadConsumerSequence(0) < feed.ReadClaimSequence())
            {
                if (liquidator.Poll() > 0)
                {
                    quiet.Restart();
                }
            }

            Child.StopLlrEngine(engine, engineOutput);
            var c = CultureInfo.InvariantCulture;
            string engineThread = engineOutput.LastOrDefault(l => l.Contains("engine thread", StringComparison.Ordinal)) ?? "?";
            var table = new List<(string, string)>
            {
                ("setup", $"`llr engine` process (CPU 1, busy-spin) ← feed ring ← this process: simulator + liquidator as one duty cycle (CPU 0, pinned {pinned}); standard workload; {rate.ToString("N0", c)} events/s offered; {seconds} s; revaluation step {step} holders"),
                ("events published / breaches read / sequence gaps", $"{progress.Published:N0} in {elapsed:F2} s / {liquidator.Read:N0} / {liquidator.SequenceGaps}"),
                ("fill → breach p50 / p99 / p99.9 (ns)", $"{liquidator.TradeLatency.ValueAtPercentile(50)} / {liquidator.TradeLatency.ValueAtPercentile(99)} / {liquidator.TradeLatency.ValueAtPercentile(99.9)}"),
                ("mark → breach p50 / p99 (ns)", $"{liquidator.RevaluationLatency.ValueAtPercentile(50)} / {liquidator.RevaluationLatency.ValueAtPercentile(99)}"),
                ("fill → breach published by the engine p50 / p99 (ns)", $"{liquidator.TradeToPublish.ValueAtPercentile(50)} / {liquidator.TradeToPublish.ValueAtPercentile(99)}"),
                ("breach published → read p50 / p99 (ns)", $"{liquidator.Delivery.ValueAtPercentile(50)} / {liquidator.Delivery.ValueAtPercentile(99)}"),
                ("fill → liquidation order published p50 / p99 / p99.9 (ns)", $"{liquidator.TradeOrderLatency.ValueAtPercentile(50)} / {liquidator.TradeOrderLatency.ValueAtPercentile(99)} / {liquidator.TradeOrderLatency.ValueAtPercentile(99.9)} ({liquidator.TradeOrderLatency.TotalCount:N0} orders)"),
                ("any cause → liquidation order published p50 / p99 (ns)", $"{liquidator.OrderLatency.ValueAtPercentile(50)} / {liquidator.OrderLatency.ValueAtPercentile(99)} ({liquidator.OrderLatency.TotalCount:N0} orders)"),
                ("orders read / sent / refused / order ring full", $"{liquidator.OrdersRead:N0} / {liquidator.OrdersSent:N0} / {liquidator.OrdersRefused:N0} / {liquidator.OrderRingFull:N0}"),
                ("engine process", engineThread.Replace("llr engine: ", "", StringComparison.Ordinal)),
            };
            foreach (var (name, value) in table)
            {
                Console.WriteLine($"| {name} | {value} |");
            }

            ResultWriter.Write(options, "fill-breach-xproc", $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- fill-breach-xproc --duration {seconds} --rate {rate}", table,
                [("fill-to-breach", liquidator.TradeLatency), ("mark-to-breach", liquidator.RevaluationLatency), ("fill-to-breach-publish", liquidator.TradeToPublish), ("breach-delivery", liquidator.Delivery),
                 ("fill-to-liquidation-order", liquidator.TradeOrderLatency)]);
            return liquidator.Read > 0 && liquidator.SequenceGaps == 0 ? 0 : 1;
        }
        finally
        {
            if (!engine.HasExited)
            {
                engine.Kill();
            }

            Directory.Delete(dir, recursive: true);
        }
    }
}
