using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// The book's fill, what-if and index tick on the standard workload with the CME 16-scenario grid
/// and with the crypto-venue portfolio set (37 rows: regular, extended, basis), in one run so the
/// two are compared on the same machine state.
/// </summary>
[MemoryDiagnoser]
public class ScenarioSetBenchmarks
{
    private StandardWorkload _w = null!;
    private RiskBook _book = null!;
    private int _n;
    private long _calls;
    private long _t;
    private int _option;

    /// <summary>The scenario set.</summary>
    [Params("cme-span-16", "crypto-portfolio-37")]
    public string Grid { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var grid = Grid == "cme-span-16" ? ScenarioGrid.CmeSpan16(0.15, 0.25) : ScenarioGrid.CryptoPortfolio();
        _w = StandardWorkload.Build(new WorkloadScale(), grid);
        _book = _w.Book;
        _t = StandardWorkload.StartNanos;
        _option = _w.Option(0, 3, 5, call: true);
    }

    /// <summary>One fill on an existing position (alternating buy and sell of the same size).</summary>
    [Benchmark]
    public FillResult ApplyFill()
    {
        _n = (_n + 7919) % 10_000;
        int i = _book.PositionInstrumentAt(_n, 0);
        var r = _book.ApplyFill(_n, i, ((_calls++ / 10_000) & 1) == 0 ? 0.01 : -0.01, _book.MarkPrice(i));
        while (_book.TryDequeueTransition(out _))
        {
        }

        return r;
    }

    /// <summary>Margin after a hypothetical fill.</summary>
    [Benchmark]
    public double WhatIf()
    {
        _n = (_n + 7919) % 10_000;
        return _book.WhatIf(_n, _option, -1).InitialMarginAfter;
    }

    /// <summary>An index tick on underlying 0 and the revaluation of its 205 instruments and every holder.</summary>
    [Benchmark]
    public int IndexTickAndRevalue()
    {
        _book.UpdateIndex(0, StandardWorkload.InitialIndex(0) * (1 + ((_t / 1_000_000 % 11) * 0.0005)), _t += 1_000_000);
        _book.Revalue();
        int transitions = 0;
        while (_book.TryDequeueTransition(out _))
        {
            transitions++;
        }

        return transitions;
    }
}
