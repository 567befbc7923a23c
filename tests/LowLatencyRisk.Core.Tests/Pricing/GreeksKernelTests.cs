using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Pricing;

[Trait("Category", "Math")]
public class GreeksKernelTests
{
    /// <summary>
    /// Relative tolerance of the Vector256 kernel against the scalar reference. Both run the same
    /// operations; they differ only by the ulp-level rounding of Vector256.Exp/Log vs Math.Exp/Log.
    /// That difference is amplified where a result is a small difference of large terms (a deep
    /// out-of-the-money price S·N(d1) − K·N(d2)), so the bound is relative to the larger of the
    /// result and the terms it is made of: |v − s| ≤ 1e-12 · max(|s|, scale), with scale = the
    /// magnitude of the option's own spot and strike terms (S·C·N(ωd1) for price, the Greek's own
    /// natural unit otherwise).
    /// </summary>
    public const double Tolerance = 1e-12;

    internal sealed class Batch
    {
        public Batch(int n, int seed, bool ordinary = false)
        {
            Omega = new double[n]; Underlying = new double[n]; Strike = new double[n]; Time = new double[n];
            Volatility = new double[n]; Rate = new double[n]; Carry = new double[n]; Spot = new double[n];
            Price = new double[n]; Delta = new double[n]; Gamma = new double[n]; Vega = new double[n]; Theta = new double[n]; Rho = new double[n];
            var rng = new Random(seed);
            for (int i = 0; i < n; i++)
            {
                Omega[i] = rng.Next(2) == 0 ? 1 : -1;
                Underlying[i] = Math.Exp(rng.NextDouble() * 11.5); // 1 .. 1e5
                double moneyness = rng.Next(10) == 0 ? (rng.NextDouble() - 0.5) * 6 : (rng.NextDouble() - 0.5) * 0.8;
                Strike[i] = Underlying[i] * Math.Exp(moneyness);
                Time[i] = rng.Next(20) switch
                {
                    0 => 0,                                // expired
                    1 => -rng.NextDouble(),                // past expiry
                    2 => 1e-9 * rng.NextDouble(),          // about to expire
                    3 => 10 + rng.NextDouble() * 20,       // very long
                    _ => rng.NextDouble() * 2,
                };
                Volatility[i] = rng.Next(20) switch
                {
                    0 => 0,
                    1 => 1e-9,
                    2 => 2 + rng.NextDouble() * 3,
                    _ => 0.05 + rng.NextDouble(),
                };
                Rate[i] = -0.02 + rng.NextDouble() * 0.2;
                Spot[i] = rng.Next(2);
                Carry[i] = Spot[i] != 0 ? Rate[i] - rng.NextDouble() * 0.1 : 0;
                if (ordinary)
                {
                    // A live book: unexpired, ordinary vols, strikes within four standard deviations of the money.
                    Time[i] = 0.02 + rng.NextDouble() * 3;
                    Volatility[i] = 0.15 + rng.NextDouble() * 0.9;
                    Strike[i] = Underlying[i] * Math.Exp((rng.NextDouble() - 0.5) * 8 * Volatility[i] * Math.Sqrt(Time[i]));
                }
            }
        }

        public double[] Omega, Underlying, Strike, Time, Volatility, Rate, Carry, Spot, Price, Delta, Gamma, Vega, Theta, Rho;

        public OptionBatchInputs Inputs => new(Omega, Underlying, Strike, Time, Volatility, Rate, Carry, Spot);

        public OptionBatchOutputs Outputs => new(Price, Delta, Gamma, Vega, Theta, Rho);
    }

    [Fact]
    public void Kernel_EqualsScalarReference_OnLargeRandomSampleWithExtremes()
    {
        const int N = 200_003; // not a multiple of 8: exercises the tails
        var vector = new Batch(N, 42);
        var scalar = new Batch(N, 42);
        GreeksKernel.Compute(vector.Inputs, vector.Outputs);
        GreeksKernel.ComputeScalar(scalar.Inputs, scalar.Outputs);

        double worst = 0;
        string where = "";
        for (int i = 0; i < N; i++)
        {
            var reference = BlackScholes.Compute(scalar.Omega[i], scalar.Underlying[i], scalar.Strike[i], scalar.Time[i], scalar.Volatility[i], scalar.Rate[i], scalar.Carry[i], scalar.Spot[i] != 0);
            Assert.Equal(reference.Price, scalar.Price[i]); // the SoA scalar path is the reference itself
            double s = scalar.Underlying[i];
            double k = scalar.Strike[i];
            double money = Math.Max(s, k);
            Check(i, "price", vector.Price[i], scalar.Price[i], money);
            Check(i, "delta", vector.Delta[i], scalar.Delta[i], 1);
            Check(i, "gamma", vector.Gamma[i], scalar.Gamma[i], Math.Abs(scalar.Gamma[i]) + (1e-6 / s));
            Check(i, "vega", vector.Vega[i], scalar.Vega[i], money * Math.Sqrt(Math.Max(scalar.Time[i], 1e-12)));
            Check(i, "theta", vector.Theta[i], scalar.Theta[i], money * (1 + Math.Abs(scalar.Rate[i]) + scalar.Volatility[i]) / Math.Sqrt(Math.Max(scalar.Time[i], 1e-12)) * 1e-3);
            Check(i, "rho", vector.Rho[i], scalar.Rho[i], money * Math.Max(scalar.Time[i], 0));
        }

        Assert.True(worst <= Tolerance, $"worst scaled difference {worst:E3} at {where}");

        void Check(int i, string what, double v, double s, double scale)
        {
            Assert.True(double.IsFinite(v), $"{what}[{i}] not finite: {v}");
            double diff = Math.Abs(v - s) / Math.Max(Math.Abs(s), scale);
            if (diff > worst)
            {
                worst = diff;
                where = $"{what}[{i}] vector {v:R} scalar {s:R} (S={vector.Underlying[i]}, K={vector.Strike[i]}, T={vector.Time[i]}, σ={vector.Volatility[i]})";
            }
        }
    }

    /// <summary>
    /// A live book (no extremes): every eight-option block takes the 512-bit kernel's central path
    /// (the sample is checked to qualify), which the extreme sample above rarely reaches because one
    /// extreme lane sends its whole block to the general path.
    /// </summary>
    [Fact]
    public void Kernel_EqualsScalarReference_OnOrdinaryBook_CentralPath()
    {
        const int N = 100_000;
        var vector = new Batch(N, 7, ordinary: true);
        var scalar = new Batch(N, 7, ordinary: true);
        for (int i = 0; i < N; i++)
        {
            double sst = scalar.Volatility[i] * Math.Sqrt(scalar.Time[i]);
            double d1 = (Math.Log(scalar.Underlying[i] / scalar.Strike[i]) + ((scalar.Carry[i] + (0.5 * scalar.Volatility[i] * scalar.Volatility[i])) * scalar.Time[i])) / sst;
            Assert.True(Math.Abs(d1) < NormalDistribution.CentralLimit - 0.01 && Math.Abs(d1 - sst) < NormalDistribution.CentralLimit - 0.01, $"option {i} is not central: d1 = {d1}");
        }

        GreeksKernel.Compute(vector.Inputs, vector.Outputs);
        GreeksKernel.ComputeScalar(scalar.Inputs, scalar.Outputs);
        double worst = 0;
        string where = "";
        for (int i = 0; i < N; i++)
        {
            // The scales of the extreme sample's test (each Greek's natural unit).
            double s = scalar.Underlying[i];
            double money = Math.Max(s, scalar.Strike[i]);
            Check(i, "price", vector.Price[i], scalar.Price[i], money);
            Check(i, "delta", vector.Delta[i], scalar.Delta[i], 1);
            Check(i, "gamma", vector.Gamma[i], scalar.Gamma[i], Math.Abs(scalar.Gamma[i]) + (1e-6 / s));
            Check(i, "vega", vector.Vega[i], scalar.Vega[i], money * Math.Sqrt(scalar.Time[i]));
            Check(i, "theta", vector.Theta[i], scalar.Theta[i], money * (1 + Math.Abs(scalar.Rate[i]) + scalar.Volatility[i]) / Math.Sqrt(scalar.Time[i]) * 1e-3);
            Check(i, "rho", vector.Rho[i], scalar.Rho[i], money * scalar.Time[i]);
        }

        Assert.True(worst <= Tolerance, $"worst scaled difference {worst:E3} at {where}");

        void Check(int i, string what, double v, double s, double scale)
        {
            double diff = Math.Abs(v - s) / Math.Max(Math.Abs(s), scale);
            if (diff > worst)
            {
                worst = diff;
                where = $"{what}[{i}] vector {v:R} scalar {s:R}";
            }
        }
    }

    [Fact]
    public void Kernel_TextbookCase_MatchesHull()
    {
        var b = new Batch(8, 1);
        for (int i = 0; i < 8; i++)
        {
            b.Omega[i] = 1; b.Underlying[i] = 49; b.Strike[i] = 50; b.Time[i] = 20.0 / 52; b.Volatility[i] = 0.2; b.Rate[i] = 0.05; b.Carry[i] = 0.05; b.Spot[i] = 1;
        }

        GreeksKernel.Compute(b.Inputs, b.Outputs);
        Assert.All(b.Delta, d => Assert.Equal(0.522, d, 3));
        Assert.All(b.Gamma, g => Assert.Equal(0.066, g, 3));
        Assert.All(b.Vega, v => Assert.Equal(12.1, v, 1));
        Assert.All(b.Theta, t => Assert.Equal(-4.31, t, 2));
        Assert.All(b.Rho, r => Assert.Equal(8.91, r, 2));
    }

    [Fact]
    public void Kernel_MismatchedLengths_Throws()
    {
        var b = new Batch(8, 1);
        Assert.Throws<ArgumentException>(() => GreeksKernel.Compute(
            new OptionBatchInputs(b.Omega, b.Underlying, b.Strike.AsSpan(1), b.Time, b.Volatility, b.Rate, b.Carry, b.Spot), b.Outputs));
    }

    [Fact]
    public void Kernel_DoesNotAllocate()
    {
        var b = new Batch(64, 3); // extreme sample: mostly the general path
        GcAssert.NoAllocation(b, static x => GreeksKernel.Compute(x.Inputs, x.Outputs), warmUp: 200, iterations: 2_000);
        var live = new Batch(64, 3, ordinary: true); // live book: the central path
        GcAssert.NoAllocation(live, static x => GreeksKernel.Compute(x.Inputs, x.Outputs), warmUp: 200, iterations: 2_000);
    }
}
