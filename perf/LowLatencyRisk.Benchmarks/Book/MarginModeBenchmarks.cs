using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// A fill and a what-if per account margin mode on the full standard workload: portfolio (today's
/// scenario netting), standard (every account switched to per-position margin) and isolated (every
/// odd account made an isolated position of its even neighbour, holding one of the instruments it
/// held). Same access pattern as <see cref="BookPathBenchmarks.ApplyFill"/>: a stride through the
/// accounts, each sweep buying and the next selling, so positions stay where they were.
/// </summary>
[MemoryDiagnoser]
public class MarginModeBenchmarks
{
    private RiskBook _book = null!;
    private int[] _accounts = [];
    private int[] _instruments = [];
    private int _n;
    private long _calls;

    /// <summary>The mode every benchmarked account is in.</summary>
    [Params(MarginMode.Portfolio, MarginMode.Standard, MarginMode.Isolated)]
    public MarginMode Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var w = StandardWorkload.Build(new WorkloadScale());
        _book = w.Book;
        var accounts = new List<int>();
        var instruments = new List<int>();
        for (int a = 0; a < w.Scale.Accounts; a++)
        {
            int instrument = _book.PositionInstrumentAt(a, 0);
            switch (Mode)
            {
                case MarginMode.Portfolio:
                    break;
                case MarginMode.Standard:
                    Assert(_book.SetCollateral(a, StandardWorkload.UsdAsset, 1e9), "collateral");
                    Assert(_book.SetMarginMode(a, MarginMode.Standard) == ModeChangeResult.Changed, "switch to standard");
                    break;
                default:
                    if (a % 2 == 0)
                    {
                        continue;
                    }

                    while (_book.PositionCount(a) > 0)
                    {
                        int i = _book.PositionInstrumentAt(a, 0);
                        Assert(_book.ApplyFill(a, i, -_book.PositionQuantity(a, i), _book.MarkPrice(i)) == FillResult.Applied, "flatten");
                    }

                    Assert(_book.SetMarginMode(a, MarginMode.Isolated, parent: a - 1, instrument) == ModeChangeResult.Changed, "isolate");
                    Assert(_book.SetCollateral(a, StandardWorkload.UsdAsset, 1e7), "collateral");
                    Assert(_book.ApplyFill(a, instrument, 1, _book.MarkPrice(instrument)) == FillResult.Applied, "open");
                    break;
            }

            accounts.Add(a);
            instruments.Add(instrument);
        }

        while (_book.TryDequeueTransition(out _))
        {
        }

        _accounts = [.. accounts];
        _instruments = [.. instruments];
        Console.WriteLine($"// {Mode}: {_accounts.Length} accounts");
    }

    private static void Assert(bool ok, string what)
    {
        if (!ok)
        {
            throw new InvalidOperationException($"set-up failed: {what}");
        }
    }

    /// <summary>One fill on an existing position of an account in <see cref="Mode"/>.</summary>
    [Benchmark]
    public FillResult Fill()
    {
        _n = (_n + 7919) % _accounts.Length;
        int i = _instruments[_n];
        var r = _book.ApplyFill(_accounts[_n], i, ((_calls++ / _accounts.Length) & 1) == 0 ? 0.01 : -0.01, _book.MarkPrice(i));
        while (_book.TryDequeueTransition(out _))
        {
        }

        return r;
    }

    /// <summary>Margin after a hypothetical sale of one contract of the account's instrument.</summary>
    [Benchmark]
    public double WhatIf()
    {
        _n = (_n + 7919) % _accounts.Length;
        return _book.WhatIf(_accounts[_n], _instruments[_n], -1).InitialMarginAfter;
    }
}
