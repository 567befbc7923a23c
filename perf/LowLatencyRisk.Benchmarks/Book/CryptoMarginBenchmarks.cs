using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// The paths #18 and #20 added beside the fill, on the full standard workload with the crypto-venue
/// set: an index tick that samples the EWMA and moves the scan range (against the same tick with
/// the dynamic range off), a funding step per payer, and a balance change of coin that moves in the
/// scenarios (against the same change with it out of the scenarios).
/// </summary>
[MemoryDiagnoser]
public class CryptoMarginBenchmarks
{
    private StandardWorkload _w = null!;
    private RiskBook _book = null!;
    private long _t;
    private int _n;
    private int _payers;

    /// <summary>Dynamic range and coin in the scenarios on or off (the same book otherwise).</summary>
    [Params(false, true)]
    public bool On { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _w = StandardWorkload.Build(new WorkloadScale(), ScenarioGrid.CryptoPortfolio(), c => c with
        {
            CollateralInScenarios = On,
            DynamicRange = new DynamicRangeConfig { Enabled = On, SampleIntervalNanos = 1_000_000_000 },
        });
        _book = _w.Book;
        _t = StandardWorkload.StartNanos;
        for (int a = 0; a < _w.Scale.Accounts; a++)
        {
            _payers += _book.PositionQuantity(a, _w.Perpetuals[0]) != 0 ? 1 : 0;
        }

        Console.WriteLine($"// holders of perpetual {_w.Perpetuals[0]}: {_payers}");
    }

    /// <summary>An index tick of underlying 0 a second after the last (each one a sample when on: the EWMA and the range move; no revaluation).</summary>
    [Benchmark]
    public MarkResult IndexTickSample()
    {
        _t += 1_000_000_000;
        return _book.UpdateIndex(0, StandardWorkload.InitialIndex(0) * (1 + ((_t / 1_000_000_000 % 7) * 0.001)), _t);
    }

    /// <summary>A funding event of perpetual 0 settled in full, per payer.</summary>
    [Benchmark]
    public bool FundingPerPayer()
    {
        _t += 1_000_000_000;
        _book.BeginFunding(_w.Perpetuals[0], 0.0001, _t);
        bool done = _book.ContinueFunding(int.MaxValue);
        while (_book.TryDequeueTransition(out _))
        {
        }

        return done;
    }

    /// <summary>A coin balance changed (an account × underlying recomputed when the coin is in the scenarios).</summary>
    [Benchmark]
    public bool CoinBalance()
    {
        _n = (_n + 7919) % 10_000;
        bool ok = _book.SetCollateral(_n, StandardWorkload.CoinAsset, 1 + (_n % 3));
        while (_book.TryDequeueTransition(out _))
        {
        }

        return ok;
    }
}
