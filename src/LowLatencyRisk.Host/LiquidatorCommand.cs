using System.CommandLine;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;
using static LowLatencyRisk.Host.CommandSupport;

namespace LowLatencyRisk.Host;

/// <summary><c>llr liquidator</c>: reads the breach ring and reports what it read.</summary>
internal static class LiquidatorCommand
{
    public static Command Create()
    {
        var config = ConfigOption();
        var duration = DurationOption("until SIGINT/SIGTERM");
        var quiet = new Option<bool>("--quiet") { Description = "Print neither liquidations nor the per-second summary: only the final report." };
        var verbose = new Option<bool>("--verbose") { Description = "Print every breach (margin calls and returns to healthy too), not only liquidations." };
        var wait = NonNegative(new Option<double>("--wait-for-rings") { Description = "Seconds to wait for the engine to create the rings.", DefaultValueFactory = _ => 30 });
        var command = new Command("liquidator", "Read margin calls and liquidation triggers from the configured breach ring, from where this reader left off.")
        {
            config, duration, quiet, verbose, wait,
        };
        command.SetAction(parse =>
        {
            var c = LoadConfig("liquidator", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            using var ring = AttachWhenReady(c.PathOf(c.Rings.Breach), new RingOptions(BreachMessageDescriptor.SlotSize, c.Rings.BreachCapacity, ProducerMode.Single), parse.GetValue(wait), "liquidator");
            if (ring is null)
            {
                return 3;
            }

            if (c.Liquidator.Cpu >= 0)
            {
                CpuAffinity.TryPinCurrentThread(c.Liquidator.Cpu);
            }

            // By default: each liquidation (what an operator acts on) and one summary line a second;
            // --verbose: every breach; --quiet: the final report only.
            bool quietly = parse.GetValue(quiet), every = parse.GetValue(verbose) && !quietly;
            var consumer = ring.CreateConsumer(0);
            long resumeAt = consumer.Sequence;
            var liquidator = new Liquidator(consumer, quietly ? null : b =>
            {
                if (every || b.To == Core.Book.MarginState.Liquidation)
                {
                    Console.WriteLine(Describe(b));
                }
            });
            Console.WriteLine(string.Create(Inv, $"llr liquidator: reading {ring.Location} from ring sequence {resumeAt:N0}"));
            using var stop = StopSource(parse.GetValue(duration), out var signals);
            string? fault = null;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long lastRead = 0;
            using var summary = quietly ? null : new Timer(_ =>
            {
                // Plain reads of the agent thread's counters: a moment old at worst, never torn on x64.
                long read = liquidator.Read;
                Console.WriteLine(string.Create(Inv,
                    $"llr liquidator: {clock.Elapsed.TotalSeconds,6:F1} s  breaches {read:N0} ({read - lastRead:N0}/s): margin calls {liquidator.ByState[1]:N0}, liquidations {liquidator.ByState[2]:N0}, back to healthy {liquidator.ByState[0]:N0}; folded {liquidator.Coalesced:N0}; sequence gaps {liquidator.SequenceGaps:N0}"));
                lastRead = read;
            }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            using (signals)
            using (new IntegrityWatch(TimeSpan.FromSeconds(1), f => { fault = f; stop.Cancel(); }, ("breach ring", ring.CheckIntegrity)))
            {
                switch (c.Liquidator.Wait)
                {
                    case WaitKind.BusySpin:
                        AgentRunner.Run(liquidator, new BusySpinWait(), stop.Token);
                        break;
                    case WaitKind.Sleeping:
                        AgentRunner.Run(liquidator, new SleepingWait(), stop.Token);
                        break;
                    default:
                        AgentRunner.Run(liquidator, new YieldingWait(), stop.Token);
                        break;
                }

                if (fault is null)
                {
                    liquidator.Poll();
                }
            }

            var h = liquidator.Latency;
            Console.WriteLine(string.Create(Inv, $"llr liquidator: read {liquidator.Read:N0} breaches ({liquidator.ByState[1]:N0} margin calls, {liquidator.ByState[2]:N0} liquidations, {liquidator.ByState[0]:N0} back to healthy; {liquidator.Coalesced:N0} earlier changes folded in), ring sequence now {consumer.Sequence:N0}"));
            if (h.TotalCount > 0)
            {
                Console.WriteLine(string.Create(Inv, $"llr liquidator: feed publish -> breach read p50 {Operations.StatsViews.Nanos(h.ValueAtPercentile(50))}, p99 {Operations.StatsViews.Nanos(h.ValueAtPercentile(99))}, max {Operations.StatsViews.Nanos(h.Max)}"));
            }

            if (fault is not null)
            {
                Console.Error.WriteLine($"llr liquidator: stopped: {fault}.");
                return 4;
            }

            return 0;
        });
        return command;
    }

    /// <summary>One breach as a line: the transition, the numbers, and the positions to close first when the engine named any.</summary>
    internal static string Describe(in BreachRecord b) => string.Create(Inv,
        $"breach {b.Sequence} account {b.Account}{(b.Mode == Core.Book.MarginMode.Portfolio ? "" : $" ({b.Mode.ToString().ToLowerInvariant()})")} {b.From} -> {b.To}  equity {b.Equity:N2}  IM {b.InitialMargin:N2}  MM {b.MaintenanceMargin:N2}{(b.Candidates > 0 ? $"  close first: instrument {b.TopInstrument} ({b.Candidates} candidate{(b.Candidates == 1 ? "" : "s")})" : "")}{(b.Replaced > 0 ? $" (folds {b.Replaced} earlier change{(b.Replaced == 1 ? "" : "s")})" : "")}");
}
