using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// The book's three hot paths on the full standard workload, shared by the benchmarks that compare
/// book configurations side by side (components, scenario sets): a warm fill, a what-if and an index
/// tick with the revaluation of every holder of underlying 0. A derived class builds the workload
/// in its set-up and hands it to <see cref="Use"/>. The names are <see cref="RiskBookBenchmarks"/>'s,
/// the standard workload's own figures, so results compare across the derived classes.
/// </summary>
public abstract class BookPathBenchmarks
{
    private RiskBook _book = null!;
    private int _n;
    private long _calls;
    private long _t;
    private int _option;

    /// <summary>The book benchmarked.</summary>
    protected RiskBook Book => _book;

    /// <summary>Positions in underlying 0 (the ones a tick on it revalues).</summary>
    protected int AffectedPositions { get; private set; }

    /// <summary>Benchmarks <paramref name="w"/>'s book from now on.</summary>
    protected void Use(StandardWorkload w)
    {
        ArgumentNullException.ThrowIfNull(w);
        _book = w.Book;
        _t = StandardWorkload.StartNanos;
        _option = w.Option(0, 3, 5, call: true);
        AffectedPositions = 0;
        for (int a = 0; a < w.Scale.Accounts; a++)
        {
            for (int k = 0; k < _book.PositionCount(a); k++)
            {
                AffectedPositions += _book.Instrument(_book.PositionInstrumentAt(a, k)).Underlying == 0 ? 1 : 0;
            }
        }

        while (_book.TryDequeueTransition(out _))
        {
        }
    }

    /// <summary>One fill on an existing position (alternating buy and sell of the same size: each sweep over the accounts buys, the next sells, so positions stay where the workload put them).</summary>
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

    /// <summary>Margin after a hypothetical sale of one call.</summary>
    [Benchmark]
    public double WhatIf()
    {
        _n = (_n + 7919) % 10_000;
        return _book.WhatIf(_n, _option, -1).InitialMarginAfter;
    }

    /// <summary>An index tick on underlying 0 and the revaluation of its instruments and every holder.</summary>
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
