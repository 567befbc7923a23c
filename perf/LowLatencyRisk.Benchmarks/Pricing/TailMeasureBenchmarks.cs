using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Benchmarks.Pricing;

/// <summary>
/// The historical grid's tail on the fill path (<see cref="TailMeasure.ExpectedShortfall(System.ReadOnlySpan{double}, System.ReadOnlySpan{double}, double, double, double, out double)"/>),
/// 500 rows at 97.5 % (a tail of 13): without a guess (a revaluation: the threshold pass, then the collect), from the
/// last boundary as the book passes it after a small fill, the what-if form (array + q × row) from a guess, and the
/// sort-based definition it equals (<see cref="RiskMeasures.ExpectedShortfall"/>) as the reference; and the joint sample of
/// two arrays read as a pair, alone and with a fill written in the same pass.
/// </summary>
[MemoryDiagnoser]
public class TailMeasureBenchmarks
{
    private double[] _losses = null!;
    private double[] _row = null!;
    private double[] _scratch = null!;
    private double[] _other = null!;
    private double _boundary;
    private double _pairBoundary;
    private long _calls;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _losses = [.. Enumerable.Range(0, 500).Select(_ => (rng.NextDouble() - 0.45) * 1e5)];
        _row = [.. Enumerable.Range(0, 500).Select(_ => (rng.NextDouble() - 0.5) * 100)];
        _scratch = new double[500];
        _other = [.. Enumerable.Range(0, 500).Select(_ => (rng.NextDouble() - 0.45) * 1e5)];
        TailMeasure.ExpectedShortfall(_losses, default, 0, 0.975, double.NaN, out _boundary);
        TailMeasure.ExpectedShortfall(_losses, default, 0, _other, 0.975, double.NaN, out _pairBoundary);
    }

    /// <summary>The sort-based definition: copy and sort the 500 rows.</summary>
    [Benchmark(Baseline = true)]
    public double SortBased() => RiskMeasures.ExpectedShortfall(_losses, 0.975, _scratch);

    /// <summary>No guess: the threshold pass over lane maxima, then the collect and a sort of the few kept.</summary>
    [Benchmark]
    public double NoGuess() => TailMeasure.ExpectedShortfall(_losses, default, 0, 0.975);

    /// <summary>From the last boundary lowered by a small fill's slack: the collect alone.</summary>
    [Benchmark]
    public double FromGuess() => TailMeasure.ExpectedShortfall(_losses, default, 0, 0.975, _boundary - 1, out _);

    /// <summary>A what-if (losses + 0.01 × row) from the boundary lowered by 0.01 × max |row|.</summary>
    [Benchmark]
    public double WhatIfFromGuess() => TailMeasure.ExpectedShortfall(_losses, _row, 0.01, 0.975, _boundary - 0.5, out _);

    /// <summary>The joint sample of two arrays (an account holding two underlyings), measured without writing the sum, from its last boundary.</summary>
    [Benchmark]
    public double JointPairFromGuess() => TailMeasure.ExpectedShortfall(_losses, default, 0, _other, 0.975, _pairBoundary - 1, out _);

    /// <summary>A fill (± 0.01 × row, alternating, so the array stays where it is) written into one array and the pair measured in the same pass.</summary>
    [Benchmark]
    public double FillAndJointPair() => TailMeasure.ApplyAndMeasure(_losses, _row, (_calls++ & 1) == 0 ? 0.01 : -0.01, _other, 0.975, _pairBoundary - 1, out _);
}
