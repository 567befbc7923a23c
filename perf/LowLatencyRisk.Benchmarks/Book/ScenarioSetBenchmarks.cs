using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// The book's fill, what-if and index tick (<see cref="BookPathBenchmarks"/>) on the standard
/// workload with the CME 16-scenario grid, with the crypto-venue portfolio set (37 rows: regular,
/// extended, basis) and with filtered historical simulation (500 dates of the engine's default
/// synthetic history, expected shortfall at 97.5 %; a quarter of the workload's accounts hold a
/// second underlying, margined on the joint sample), in one run so they are compared on the same
/// machine state.
/// </summary>
[MemoryDiagnoser]
public class ScenarioSetBenchmarks : BookPathBenchmarks
{
    /// <summary>The scenario set.</summary>
    [Params("cme-span-16", "crypto-portfolio-37", "historical-500")]
    public string Grid { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var scale = new WorkloadScale();
        var grid = Grid switch
        {
            "cme-span-16" => ScenarioGrid.CmeSpan16(0.15, 0.25),
            "crypto-portfolio-37" => ScenarioGrid.CryptoPortfolio(),
            _ => new LlrConfig { ScenarioGrid = new GridSection { Preset = GridPreset.Historical } }
                .ToGrid([.. Enumerable.Range(0, scale.Underlyings).Select(u => u.ToString(System.Globalization.CultureInfo.InvariantCulture))]),
        };
        Use(StandardWorkload.Build(scale, grid));
        // The warm pair: eight accounts holding two underlyings or more (a historical grid margins them on the joint sample).
        _warm = [.. Enumerable.Range(0, scale.Accounts).Where(a => Enumerable.Range(0, Book.PositionCount(a)).Select(k => Book.Instrument(Book.PositionInstrumentAt(a, k)).Underlying).Distinct().Count() > 1).Take(8)];
    }

    private int[] _warm = [];
    private int _w;
    private long _warmCalls;

    /// <summary>A fill as <see cref="BookPathBenchmarks.ApplyFill"/>, cycling over eight accounts of two underlyings or more: their lines stay in cache (the "warm" fill).</summary>
    [Benchmark]
    public FillResult ApplyFillWarm()
    {
        int a = _warm[_w = (_w + 1) & 7];
        int i = Book.PositionInstrumentAt(a, 0);
        var r = Book.ApplyFill(a, i, ((_warmCalls++ >> 3) & 1) == 0 ? 0.01 : -0.01, Book.MarkPrice(i));
        while (Book.TryDequeueTransition(out _))
        {
        }

        return r;
    }

    /// <summary>A what-if as <see cref="BookPathBenchmarks.WhatIf"/> on the same eight accounts.</summary>
    [Benchmark]
    public double WhatIfWarm()
    {
        int a = _warm[_w = (_w + 1) & 7];
        return Book.WhatIf(a, Book.PositionInstrumentAt(a, 0), -0.01).InitialMarginAfter;
    }
}
