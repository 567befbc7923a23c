using System.CommandLine;
using System.Globalization;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Fixtures.Simulation;

namespace LowLatencyRisk.Host;

/// <summary><c>llr run</c>: the embedded default (simulated venue, engine, liquidator over shared-memory rings).</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var duration = new Option<double>("--duration") { Description = "Seconds the simulated venue publishes.", DefaultValueFactory = _ => 10 };
        var accounts = new Option<int>("--accounts") { Description = "Accounts (the standard workload has 10,000).", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<int>("--seed") { Description = "Simulator seed.", DefaultValueFactory = _ => 7 };
        var small = new Option<bool>("--small") { Description = "Small instrument set (2 underlyings, 66 instruments) instead of the standard 4 × 205." };
        var noPin = new Option<bool>("--no-pin") { Description = "Do not pin the engine and simulator threads to CPUs." };
        var rate = new Option<double?>("--rate") { Description = "Offered load in events/s; 0 = as fast as the engine takes them. Default 2,000,000 (20,000 with --shards, over JetStream)." };
        var shards = new Option<int>("--shards") { Description = "Run N account shards over a local JetStream server (nats-server, started here), each shard's state checked against one engine's; 1 = the single engine.", DefaultValueFactory = _ => 1 };
        var mix = new Option<string>("--mix") { Description = "Message mix: standard, fills (fills and collateral only) or prices (index and vol marks only).", DefaultValueFactory = _ => "standard" };
        mix.AcceptOnlyFromAmong("standard", "fills", "prices");
        var fund = new Option<double>("--insurance-fund") { Description = "The insurance fund's starting balance (settlement currency); a small one shows auto-deleveraging.", DefaultValueFactory = _ => LiquidationOptions.Default.InsuranceFund };
        var command = new Command("run", "Run the embedded default: simulated venue -> feed ring -> engine -> breach ring -> liquidator, with live progress and a final report.")
        {
            duration, accounts, seed, small, noPin, rate, mix, fund, shards,
        };
        command.SetAction(parse =>
        {
            double seconds = parse.GetValue(duration);
            int n = parse.GetValue(accounts);
            if (!(seconds > 0) || seconds > 86_400)
            {
                Console.Error.WriteLine($"llr run: --duration must be in (0, 86400] seconds; was {seconds}.");
                return 2;
            }

            if (n is < 1 or > 1_000_000)
            {
                Console.Error.WriteLine($"llr run: --accounts must be in 1..1000000; was {n}.");
                return 2;
            }

            var scale = parse.GetValue(small) ? WorkloadScale.Small with { Accounts = n } : new WorkloadScale { Accounts = n };
            int shardCount = parse.GetValue(shards);
            if (shardCount is < 1 or > 16)
            {
                Console.Error.WriteLine($"llr run: --shards must be in 1..16; was {shardCount}.");
                return 2;
            }

            double offered = parse.GetValue(rate) ?? (shardCount > 1 ? 20_000 : 2_000_000);
            if (!(offered >= 0) || double.IsInfinity(offered) || (shardCount > 1 && offered == 0))
            {
                Console.Error.WriteLine($"llr run: --rate must be 0 or a positive number of events/s (positive with --shards); was {offered}.");
                return 2;
            }

            if (shardCount > 1)
            {
                return ShardedRun.Run(shardCount, seconds, offered, scale, parse.GetValue(seed), Console.WriteLine);
            }

            double insurance = parse.GetValue(fund);
            if (!(insurance is >= 0 and <= 1e15))
            {
                Console.Error.WriteLine($"llr run: --insurance-fund must be in [0, 1e15]; was {insurance}.");
                return 2;
            }

            var options = new EmbeddedVenueOptions { Liquidation = LiquidationOptions.Default with { InsuranceFund = insurance }, Duration = TimeSpan.FromSeconds(seconds), Scale = scale, Seed = parse.GetValue(seed), Pin = !parse.GetValue(noPin), Rate = offered,
                Mix = parse.GetValue(mix) switch { "fills" => Fixtures.Simulation.SimulatorMix.FillsOnly, "prices" => Fixtures.Simulation.SimulatorMix.PricesOnly, _ => Fixtures.Simulation.SimulatorMix.Standard } };
            Console.WriteLine($"llr run: simulated venue -> feed ring -> engine -> breach ring -> liquidator, rings in {options.RingDirectory}, {seconds:F0} s");
            var r = EmbeddedVenue.Run(options, Console.WriteLine);
            Print(r);
            return r.Events > 0 && r.BreachSequenceGaps == 0 ? 0 : 1;
        });
        return command;
    }

    private static void Print(EmbeddedVenueReport r)
    {
        var c = CultureInfo.InvariantCulture;
        static string T(long ns) => Operations.StatsViews.Nanos(ns);
        Console.WriteLine();
        Console.WriteLine("== report");
        Console.WriteLine(string.Create(c, $"workload            {r.Instruments} instruments, {r.Accounts:N0} accounts"));
        Console.WriteLine(string.Create(c, $"events processed    {r.Events:N0} in {r.Seconds:F2} s = {r.EventsPerSecond / 1e6:F2} M events/s ({r.Batches:N0} batches, {(double)r.Events / Math.Max(1, r.Batches):F0} events per batch)"));
        Console.WriteLine(string.Create(c, $"  offered {(r.OfferedRate > 0 ? (r.OfferedRate / 1e6).ToString("F2", c) + " M events/s" : "as fast as possible")}; fills {r.Fills:N0}, marks {r.Marks:N0}, revaluations {r.Revaluations:N0}"));
        if (r.Shortfall is { } s)
        {
            Console.WriteLine(s.Episodes == 0
                ? string.Create(c, $"  kept up: every second at {RateShortfall.Tolerance * 100:F0}% of the offered rate or more (lowest {s.LowestRate / 1e6:F2} M events/s)")
                : string.Create(c, $"  FELL BEHIND the offered rate for {s.ShortSeconds:F1} s in {s.Episodes} episode(s), first at {s.FirstShortAt:F1} s, longest {s.LongestSeconds:F1} s, lowest {s.LowestRate / 1e6:F2} M events/s (below {RateShortfall.Tolerance * 100:F0}% of offered; the feed ring held the producer back)"));
        }

        Console.WriteLine(string.Create(c, $"  rejected {r.Rejects:N0}{(r.Rejects > 0 ? " (" + r.RejectsByReason + ")" : "")}"));
        Console.WriteLine(string.Create(c, $"breaches            {r.Breaches:N0} read by the liquidator: {r.MarginCalls:N0} margin calls, {r.Liquidations:N0} liquidations, {r.BackToHealthy:N0} back to healthy; sequence gaps {r.BreachSequenceGaps}"));
        var l = r.Liquidation;
        Console.WriteLine(string.Create(c, $"liquidation orders  {l.Sized:N0} sized by the engine, {l.Sent:N0} sent by the liquidator ({l.AlreadySent:N0} read again, not resent), {l.Matched:N0} filled by the simulated matching engine, {l.Covered:N0} seen covered by the engine, {l.EndedUnfilled:N0} ended unfilled, {l.Unplannable:N0} times no reduction could help"));
        var w = l.Waterfall;
        Console.WriteLine(string.Create(c, $"default waterfall   insurance fund {w.FundStart:N2} → {w.FundEnd:N2} (fees in {w.Fees:N2}; {w.DeficitsPaid:N0} deficits paid, {w.DeficitPaidAmount:N2}); {w.DeleverageOrders:N0} deleverage orders sized, {w.DeleverageTraded:N0} traded by the simulated matching engine, {w.DeleveragedQuantity:N3} contracts deleveraged; {w.Uncovered:N0} times a deficit was neither paid nor deleveraged"));
        if (l.LatencyCount > 0)
        {
            Console.WriteLine(string.Create(c, $"cause → order sent  p50 {T(l.LatencyP50)}, p99 {T(l.LatencyP99)} ({l.LatencyCount:N0} orders)"));
        }
        Console.WriteLine("latency, feed publish -> breach read by the liquidator:");
        Console.WriteLine(string.Create(c, $"  fill -> breach      p50 {T(r.TradeLatencyP50),10}  p99 {T(r.TradeLatencyP99),10}  p99.9 {T(r.TradeLatencyP999),10}  ({r.TradeLatencyCount:N0} breaches)"));
        Console.WriteLine(string.Create(c, $"  mark -> breach      p50 {T(r.RevaluationLatencyP50),10}  p99 {T(r.RevaluationLatencyP99),10}  p99.9 {T(r.RevaluationLatencyP999),10}  ({r.RevaluationLatencyCount:N0} breaches; marks coalesce up to 10 ms, then every holder is revalued)"));
        Console.WriteLine(string.Create(c, $"  all                 p50 {T(r.LatencyP50),10}  p99 {T(r.LatencyP99),10}  p99.9 {T(r.LatencyP999),10}  max {T(r.LatencyMax)}"));
        Console.WriteLine(string.Create(c, $"  of which: fill -> breach published by the engine  p50 {T(r.TradeToPublishP50),10}  p99 {T(r.TradeToPublishP99),10}"));
        Console.WriteLine(string.Create(c, $"            breach published -> read (delivery)     p50 {T(r.DeliveryP50),10}  p99 {T(r.DeliveryP99),10}"));
        Console.WriteLine(string.Create(c, $"engine thread       {r.EngineAllocatedBytes:N0} bytes allocated, {r.EngineGcCount} GC collections during the run; abandoned feed slots {r.AbandonedSlots}"));
    }
}
