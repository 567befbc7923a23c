using System.Globalization;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Fixtures.Simulation;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// The engine on the standard workload through the shared-memory rings (what <c>llr run</c> runs):
/// <c>engine-throughput</c> publishes as fast as the engine takes events; <c>fill-breach</c> offers a
/// fixed rate and publishes the fill → breach and mark → breach latency histograms.
/// </summary>
public static class EngineTests
{
    /// <summary>Runs one of the two tests.</summary>
    public static int Run(Options options, bool saturate)
    {
        double seconds = options.Long("duration", 10);
        long accounts = options.Long("accounts", 10_000);
        double rate = saturate ? 0 : options.Long("rate", 2_000_000);
        bool pin = options.Bool("pin", true);
        var scale = options.Bool("small", false) ? WorkloadScale.Small with { Accounts = (int)accounts } : new WorkloadScale { Accounts = (int)accounts };
        string mixName = options.String("mix", "standard");
        var mix = mixName switch
        {
            "fills" => Fixtures.Simulation.SimulatorMix.FillsOnly,
            "prices" => Fixtures.Simulation.SimulatorMix.PricesOnly,
            _ => Fixtures.Simulation.SimulatorMix.Standard,
        };
        var r = EmbeddedVenue.Run(new EmbeddedVenueOptions { Duration = TimeSpan.FromSeconds(seconds), Scale = scale, Rate = rate, Pin = pin, Mix = mix }, Console.WriteLine);
        var c = CultureInfo.InvariantCulture;
        var table = new List<(string, string)>
        {
            ("setup", $"{r.Instruments} instruments, {r.Accounts} accounts; mix {mixName}; simulator → mapped feed ring → engine → mapped breach ring → liquidator; {(rate > 0 ? rate.ToString("N0", c) + " events/s offered" : "saturation")}; {seconds} s; pinned {pin}"),
            ("events/s", r.EventsPerSecond.ToString("N0", c)),
            ("events, fills, marks, rejects", $"{r.Events:N0}, {r.Fills:N0}, {r.Marks:N0}, {r.Rejects:N0}"),
            ("breaches: margin calls / liquidations / sequence gaps", $"{r.MarginCalls:N0} / {r.Liquidations:N0} / {r.BreachSequenceGaps}"),
            ("fill → breach p50 / p99 / p99.9 (ns)", $"{r.TradeLatencyP50} / {r.TradeLatencyP99} / {r.TradeLatencyP999}"),
            ("mark → breach p50 / p99 / p99.9 (ns)", $"{r.RevaluationLatencyP50} / {r.RevaluationLatencyP99} / {r.RevaluationLatencyP999}"),
            ("fill → breach published by the engine p50 / p99 (ns)", $"{r.TradeToPublishP50} / {r.TradeToPublishP99}"),
            ("breach published → read by the liquidator p50 / p99 (ns)", $"{r.DeliveryP50} / {r.DeliveryP99}"),
            ("engine thread: bytes allocated / GC collections", $"{r.EngineAllocatedBytes} / {r.EngineGcCount}"),
        };
        string name = (saturate ? "engine-throughput" : "fill-breach") + (mixName == "standard" ? "" : "-" + mixName);
        string command = $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- {(saturate ? "engine-throughput" : "fill-breach")} --duration {seconds}{(saturate ? "" : $" --rate {rate}")}{(mixName == "standard" ? "" : " --mix " + mixName)}";
        var histograms = r.Histograms is { } h ? new List<(string, Core.Diagnostics.LatencyHistogram)> { ("fill-to-breach", h.Trade), ("mark-to-breach", h.Revaluation), ("fill-to-breach-publish", h.TradeToPublish), ("breach-delivery", h.Delivery) } : [];
        ResultWriter.Write(options, name, command, table, histograms);
        return r.Events > 0 && r.BreachSequenceGaps == 0 ? 0 : 1;
    }
}
