using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Benchmarks.Pricing;

/// <summary>
/// Price + delta + gamma + vega + theta + rho per option over struct-of-arrays (1,024 options of
/// the standard workload's shape: 10 expiries × strikes around the money), scalar reference vs
/// the vector kernel (Vector512 where AVX-512 is accelerated, else Vector256) in the same run; and 16-scenario risk arrays per instrument.
/// Min and median are shown beside the mean: on this shared host the same code runs in a fast and a
/// slow mode (about 1.6× apart) depending on what shares the physical core.
/// Run with <c>--envVars DOTNET_EnableAVX512:0</c> for the Vector256 kernels.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class GreeksBenchmarks
{
    private const int N = 1024;
    private double[] _omega = null!, _s = null!, _k = null!, _t = null!, _v = null!, _r = null!, _b = null!, _spot = null!, _mult = null!;
    private double[] _price = null!, _delta = null!, _gamma = null!, _vega = null!, _theta = null!, _rho = null!;
    private double[] _arrays = null!;
    private RiskArrayCalculator _cme = null!;
    private RiskArrayCalculator _portfolio = null!;
    private double[] _arrays37 = null!;
    private RiskArrayCalculator _historical = null!;
    private double[] _arrays500 = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _omega = new double[N]; _s = new double[N]; _k = new double[N]; _t = new double[N]; _v = new double[N]; _r = new double[N]; _b = new double[N]; _spot = new double[N]; _mult = new double[N];
        _price = new double[N]; _delta = new double[N]; _gamma = new double[N]; _vega = new double[N]; _theta = new double[N]; _rho = new double[N];
        for (int i = 0; i < N; i++)
        {
            _omega[i] = (i & 1) == 0 ? 1 : -1;
            _s[i] = 30_000;
            _k[i] = 30_000 * (0.7 + (0.6 * ((i / 2) % 10) / 9.0));
            _t[i] = (1 + ((i / 20) % 10)) * 0.08;
            _v[i] = 0.4 + (rng.NextDouble() * 0.4);
            _r[i] = 0.03;
            _b[i] = 0;
            _mult[i] = 1;
        }

        _arrays = new double[N * 16];
        _cme = new RiskArrayCalculator(ScenarioGrid.CmeSpan16(0.15, 0.25));
        _portfolio = new RiskArrayCalculator(ScenarioGrid.CryptoPortfolio());
        _arrays37 = new double[N * _portfolio.Count];
        // 500 dates of seeded moves, about 3 % a day: the rows are the dates, so the per-row cost is the 37-row one's.
        var moves = new Random(2);
        _historical = new RiskArrayCalculator(ScenarioGrid.Historical([[.. Enumerable.Range(0, 500).Select(_ => Math.Exp(0.03 * ((moves.NextDouble() * 2) - 1)) - 1)]]));
        _arrays500 = new double[N * _historical.Count];
    }

    private OptionBatchInputs Inputs => new(_omega, _s, _k, _t, _v, _r, _b, _spot);

    private OptionBatchOutputs Outputs => new(_price, _delta, _gamma, _vega, _theta, _rho);

    private RiskArrayInputs RiskInputs => new(_omega, _s, _k, _t, _v, _r, _b, _spot, _mult);

    /// <summary>Scalar reference, per option.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = N)]
    public double Greeks_Scalar()
    {
        GreeksKernel.ComputeScalar(Inputs, Outputs);
        return _price[N - 1];
    }

    /// <summary>The vector kernel at the widest width the machine accelerates (Vector512 on AVX-512, else Vector256), per option.</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public double Greeks_Vector()
    {
        GreeksKernel.Compute(Inputs, Outputs);
        return _price[N - 1];
    }

    /// <summary>CME 16-scenario risk array, scalar reference, per instrument.</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public double RiskArray16_Scalar()
    {
        _cme.ComputeScalar(RiskInputs, _arrays);
        return _arrays[^1];
    }

    /// <summary>CME 16-scenario risk array, vector kernel (widest accelerated width), per instrument.</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public double RiskArray16_Vector()
    {
        _cme.Compute(RiskInputs, _arrays);
        return _arrays[^1];
    }

    /// <summary>The crypto-venue portfolio set (27 regular + 8 extended + 2 basis rows, relative vol shocks), vector kernel, per instrument.</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public double RiskArray37CryptoPortfolio_Vector()
    {
        _portfolio.Compute(RiskInputs, _arrays37);
        return _arrays37[^1];
    }

    /// <summary>Normal CDF alone, scalar, per value.</summary>
    /// <summary>One instrument's 500-row historical risk array (the revaluation per instrument of a filtered-historical-simulation book).</summary>
    [Benchmark(OperationsPerInvoke = N)]
    public double RiskArray500Historical_Vector()
    {
        _historical.Compute(RiskInputs, _arrays500);
        return _arrays500[^1];
    }

    [Benchmark(OperationsPerInvoke = N)]
    public double NormalCdf_Scalar()
    {
        double sum = 0;
        for (int i = 0; i < N; i++)
        {
            sum += NormalDistribution.Cdf((_k[i] - _s[i]) / 10_000.0);
        }

        return sum;
    }
}
