using System.CommandLine;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;
using static LowLatencyRisk.Host.CommandSupport;

namespace LowLatencyRisk.Host;

/// <summary><c>llr liquidator</c>: reads the breach ring, sends the engine's liquidation orders to the matching engine's ring, and reports.</summary>
internal static class LiquidatorCommand
{
    public static Command Create()
    {
        var config = ConfigOption();
        var duration = DurationOption("until SIGINT/SIGTERM");
        var quiet = new Option<bool>("--quiet") { Description = "Print neither liquidations nor the per-second summary: only the final report." };
        var verbose = new Option<bool>("--verbose") { Description = "Print every breach (margin calls and returns to healthy too), not only liquidations." };
        var wait = NonNegative(new Option<double>("--wait-for-rings") { Description = "Seconds to wait for the engine to create the rings.", DefaultValueFactory = _ => 30 });
        var command = new Command("liquidator", "Read margin calls and liquidation triggers from the configured breach ring, from where this reader left off, and send the engine's liquidation orders on the liquidation-order ring (each order id once, across restarts).")
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

            using var ring = AttachWhenReady(c.PathOf(c.Rings.Breach), c.BreachRingOptions(), parse.GetValue(wait), "liquidator");
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
            using var orders = c.Liquidation.Enabled ? OpenOrders(c) : null;
            using var ledger = c.Liquidation.Enabled ? OpenLedger(c) : null;
            if (c.Liquidation.Enabled && (orders is null || ledger is null))
            {
                return 3;
            }

            // What a predecessor published but did not live to record (see LiquidatorLedger).
            int reconciled = orders is null ? 0 : ledger!.Reconcile(orders);
            var liquidator = new Liquidator(consumer, quietly ? null : b =>
            {
                if (every || b.To == Core.Book.MarginState.Liquidation)
                {
                    Console.WriteLine(Describe(b));
                }
            }, orders?.CreateSingleProducer(), ledger, quietly ? null : o => Console.WriteLine(Describe(o)));
            Console.WriteLine(string.Create(Inv, $"llr liquidator: reading {ring.Location} from ring sequence {resumeAt:N0}"));
            if (orders is not null)
            {
                Console.WriteLine(string.Create(Inv, $"llr liquidator: sending liquidation orders on {orders.Location} (ledger {c.PathOf(c.Rings.LiquidatorState)}; {reconciled:N0} orders on the ring at start)"));
            }
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
            if (orders is not null)
            {
                Console.WriteLine(string.Create(Inv, $"llr liquidator: liquidation orders read {liquidator.OrdersRead:N0}: sent {liquidator.OrdersSent:N0}, already sent before {liquidator.OrdersAlreadySent:N0}, refused {liquidator.OrdersRefused:N0}; order ring full {liquidator.OrderRingFull:N0} times; mass cancels read {liquidator.MassCancelsRead:N0}, forwarded {liquidator.MassCancelsSent:N0}"));
            }

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

    /// <summary>The liquidation-order ring: attached when a previous liquidator left it (its unread orders and its history stay), else created.</summary>
    private static SharedRing? OpenOrders(LlrConfig c)
    {
        string path = c.PathOf(c.Rings.LiquidationOrders);
        var options = new RingOptions(LiquidationOrderDescriptor.SlotSize, c.Rings.LiquidationOrdersCapacity, ProducerMode.Single) { FileMode = c.FilePermissions };
        try
        {
            return File.Exists(path) ? SharedRing.AttachMapped(path, options, TimeSpan.FromSeconds(1)) : SharedRing.CreateMapped(path, options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or RingLayoutException or TimeoutException)
        {
            Console.Error.WriteLine($"llr liquidator: cannot open the liquidation-order ring {path}: {e.Message}");
            return null;
        }
    }

    private static LiquidatorLedger? OpenLedger(LlrConfig c)
    {
        string path = c.PathOf(c.Rings.LiquidatorState);
        try
        {
            return LiquidatorLedger.Open(path, LiquidatorLedger.DefaultAccounts, c.FilePermissions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException) // InvalidDataException (another file's shape) is not an IOException
        {
            Console.Error.WriteLine($"llr liquidator: cannot open its ledger {path}: {e.Message}");
            return null;
        }
    }

    /// <summary>One liquidation order as a line.</summary>
    internal static string Describe(in LiquidationOrderRecord o) => string.Create(Inv,
        $"{(o.Counterparty >= 0 ? "deleverage order" : "order")} {o.PlanId} account {o.Account} {(o.SignedQuantity < 0 ? "sell" : "buy")} {Math.Abs(o.SignedQuantity):G6} of instrument {o.Instrument} {(o.Counterparty >= 0 ? string.Create(Inv, $"to account {o.Counterparty} at the bankruptcy price {o.LimitPrice:N2}") : string.Create(Inv, $"at limit {o.LimitPrice:N2} (fee {o.Fee:N2})"))}{(o.Sent ? " sent" : " already sent, not resent")}{(o.Reannounced ? " (re-announced after an engine restart)" : "")}");

    /// <summary>One breach as a line: the transition, the numbers (the working orders' margin when there is any), and the positions to close first when the engine named any.</summary>
    internal static string Describe(in BreachRecord b) => string.Create(Inv,
        $"breach {b.Sequence} account {b.Account}{(b.Mode == Core.Book.MarginMode.Portfolio ? "" : $" ({b.Mode.ToString().ToLowerInvariant()})")} {b.From} -> {b.To}  equity {b.Equity:N2}  IM {b.InitialMargin:N2}  MM {b.MaintenanceMargin:N2}{(b.OpenOrderMargin > 0 ? string.Create(Inv, $"  open orders +{b.OpenOrderMargin:N2}") : "")}{(b.Candidates > 0 ? $"  close first: instrument {b.TopInstrument} ({b.Candidates} candidate{(b.Candidates == 1 ? "" : "s")})" : "")}{(b.Replaced > 0 ? $" (folds {b.Replaced} earlier change{(b.Replaced == 1 ? "" : "s")})" : "")}");
}
