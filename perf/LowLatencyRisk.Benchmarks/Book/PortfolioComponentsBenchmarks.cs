using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// The portfolio components' cost, each on its own and all together, side by side with none in one
/// run, on the full standard workload (4 underlyings, 820 instruments, 10,000 accounts × ~20
/// positions): a warm fill, a what-if and an index tick with the revaluation of every holder of
/// underlying 0 (divide by the positions printed at set-up for the cost per affected position).
/// Same access pattern as <see cref="RiskBookBenchmarks"/>.
/// </summary>
[MemoryDiagnoser]
public class PortfolioComponentsBenchmarks : BookPathBenchmarks
{
    /// <summary>Which components are on: none, intra (calendar spread charge), inter (credits), addOn (size), all.</summary>
    [Params("none", "intra", "inter", "addOn", "all")]
    public string Components { get; set; } = "none";

    /// <summary>The components of <paramref name="which"/> for the standard workload's expiries (options 7 + 30k days, futures 30 · 2^f days).</summary>
    public static PortfolioComponentsConfig For(string which, int underlyings)
    {
        const long Day = StandardWorkload.DayNanos;
        long start = StandardWorkload.StartNanos;
        var intra = Enumerable.Range(0, underlyings).Select(u => new IntraCommodityConfig
        {
            Underlying = u,
            TierEndsNanos = [start + (20 * Day), start + (50 * Day), start + (80 * Day)],
            Spreads = [new(0, 1, 0.002 * StandardWorkload.InitialIndex(u)), new(1, 2, 0.003 * StandardWorkload.InitialIndex(u)), new(0, 2, 0.004 * StandardWorkload.InitialIndex(u)), new(2, 3, 0.002 * StandardWorkload.InitialIndex(u))],
        }).ToArray();
        var inter = Enumerable.Range(0, underlyings / 2).Select(p => new InterCommoditySpreadConfig
        {
            Legs = [new SpreadLeg(2 * p, 1), new SpreadLeg((2 * p) + 1, -StandardWorkload.InitialIndex(2 * p) / StandardWorkload.InitialIndex((2 * p) + 1))],
            Credit = 0.5,
        }).ToArray();
        var addOns = Enumerable.Range(0, underlyings).Select(u => new SizeAddOnConfig
        {
            Underlying = u, BaseRate = 0.01, Bands = [new(100_000, 1), new(1_000_000, 2), new(5_000_000, 4), new(1e18, 6)],
            ShockThreshold = 2_000_000, ShockFullAt = 10_000_000, MaxShock = 0.1, VegaRate = 0.01,
        }).ToArray();
        return which switch
        {
            "none" => PortfolioComponentsConfig.None,
            "intra" => new() { IntraCommodity = intra },
            "inter" => new() { InterCommodity = inter },
            "addOn" => new() { SizeAddOns = addOns },
            "all" => new() { IntraCommodity = intra, InterCommodity = inter, SizeAddOns = addOns },
            _ => throw new ArgumentException(which, nameof(which)),
        };
    }

    [GlobalSetup]
    public void Setup()
    {
        var scale = new WorkloadScale();
        Use(StandardWorkload.Build(scale, configure: c => c with { Components = For(Components, scale.Underlyings) }));
        Console.WriteLine($"// components {Components}: positions in underlying 0: {AffectedPositions}");
    }
}
