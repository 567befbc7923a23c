using System.Globalization;
using System.Runtime.Intrinsics;
using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Pricing;

[Trait("Category", "Math")]
public class NormalDistributionTests
{
    /// <summary>Relative tolerance against the 50-digit reference; the method's error is about 6e-15.</summary>
    private const double Tolerance = 1e-14;

    private static readonly (double X, double Phi)[] s_reference = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Data", "ncdf_reference.csv"))
        .Skip(1)
        .Select(l => l.Split(','))
        .Select(p => (double.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture)))
        .ToArray();

    private static double Relative(double actual, double expected) =>
        expected == 0 ? Math.Abs(actual) : Math.Abs(actual - expected) / Math.Abs(expected);

    [Fact]
    public void Reference_HasDenseCoverage()
    {
        Assert.True(s_reference.Length > 4000);
        Assert.True(s_reference.Count(r => Math.Abs(r.X) < 8) > 4000);
    }

    [Fact]
    public void Cdf_Scalar_MatchesHighPrecisionReference()
    {
        double worst = 0;
        double worstX = 0;
        foreach (var (x, phi) in s_reference)
        {
            if (phi < double.Epsilon * 1e16)
            {
                continue; // below ~5e-308: the reference itself is subnormal
            }

            double rel = Relative(NormalDistribution.Cdf(x), phi);
            if (rel > worst)
            {
                worst = rel;
                worstX = x;
            }
        }

        Assert.True(worst <= Tolerance, $"worst relative error {worst:E3} at x = {worstX}");
    }

    [Fact]
    public void Cdf_Vector_MatchesHighPrecisionReference()
    {
        double worst = 0;
        double worstX = 0;
        var xs = s_reference.Select(r => r.X).ToArray();
        for (int i = 0; i + 4 <= xs.Length; i += 4)
        {
            var v = NormalDistribution.Cdf(Vector256.Create(xs, i), out _);
            for (int lane = 0; lane < 4; lane++)
            {
                var (x, phi) = s_reference[i + lane];
                if (phi < double.Epsilon * 1e16)
                {
                    continue;
                }

                double rel = Relative(v.GetElement(lane), phi);
                if (rel > worst)
                {
                    worst = rel;
                    worstX = x;
                }
            }
        }

        Assert.True(worst <= Tolerance, $"worst relative error {worst:E3} at x = {worstX}");
    }

    /// <summary>
    /// The 512-bit Φ everywhere (rational where a block is central, table and recurrence where it is
    /// not), and the central d1/d2 pair of both widths (Φ(x1), φ(x1), Φ(x2) from φ(x1)·ratio).
    /// </summary>
    [Fact]
    public void Cdf_Vector512_AndCentralPairs_MatchHighPrecisionReference()
    {
        double worst = 0;
        string where = "";
        var xs = s_reference.Select(r => r.X).ToArray();
        int pairs = 0;
        for (int i = 0; i + 16 <= xs.Length; i += 8)
        {
            if (System.Runtime.Intrinsics.X86.Avx512DQ.IsSupported)
            {
                var general = NormalDistribution.Cdf(Vector512.Create(xs, i), out _);
                for (int lane = 0; lane < 8; lane++)
                {
                    Compare("512 general", i + lane, general.GetElement(lane));
                }
            }

            // Pairs: x1 = this block, x2 = the next one, ratio φ(x2)/φ(x1) from the scalar density.
            var x1 = xs.AsSpan(i, 8).ToArray();
            var x2 = xs.AsSpan(i + 8, 8).ToArray();
            if (x1.Concat(x2).Any(x => Math.Abs(x) >= NormalDistribution.CentralLimit))
            {
                continue;
            }

            pairs++;
            var ratio = Enumerable.Range(0, 8).Select(l => NormalDistribution.Pdf(x2[l]) / NormalDistribution.Pdf(x1[l])).ToArray();
            if (System.Runtime.Intrinsics.X86.Avx512DQ.IsSupported)
            {
                var v1 = Vector512.Create(x1);
                NormalDistribution.CdfCentralPair(v1, Vector512.Create(x2), Vector512.Create(ratio), SimdMath.Exp(v1 * v1 * -0.5), out var c1, out var pdf, out var c2);
                for (int lane = 0; lane < 8; lane++)
                {
                    Compare("512 pair Φ(x1)", i + lane, c1.GetElement(lane));
                    Compare("512 pair Φ(x2)", i + 8 + lane, c2.GetElement(lane));
                    Assert.True(Relative(pdf.GetElement(lane), NormalDistribution.Pdf(x1[lane])) < 1e-15);
                }
            }

            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            {
                for (int half = 0; half < 8; half += 4)
                {
                    var v1 = Vector256.Create(x1, half);
                    NormalDistribution.CdfCentralPair(v1, Vector256.Create(x2, half), Vector256.Create(ratio, half), SimdMath.Exp(v1 * v1 * -0.5), out var c1, out var pdf, out var c2);
                    for (int lane = 0; lane < 4; lane++)
                    {
                        Compare("256 pair Φ(x1)", i + half + lane, c1.GetElement(lane));
                        Compare("256 pair Φ(x2)", i + 8 + half + lane, c2.GetElement(lane));
                        Assert.True(Relative(pdf.GetElement(lane), NormalDistribution.Pdf(x1[half + lane])) < 1e-15);
                    }
                }
            }
        }

        Assert.True(pairs > 400, $"only {pairs} central pairs");
        Assert.True(worst <= Tolerance, $"worst relative error {worst:E3} at {where}");

        void Compare(string what, int index, double actual)
        {
            var (x, phi) = s_reference[index];
            if (phi < double.Epsilon * 1e16)
            {
                return;
            }

            double rel = Relative(actual, phi);
            if (rel > worst)
            {
                worst = rel;
                where = $"{what} x = {x}";
            }
        }
    }

    [Fact]
    public void Pdf_FromCdf_EqualsDensity()
    {
        foreach (double x in new[] { -7.3, -1.0, 0.0, 0.25, 2.5, 12.0 })
        {
            NormalDistribution.Cdf(x, out double pdf);
            double expected = Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
            Assert.True(Relative(pdf, expected) < 1e-13, $"x={x}: {pdf} vs {expected}");
        }
    }

    [Fact]
    public void Cdf_Tails_AreZeroAndOne_BeyondCutoff_AndMonotone()
    {
        Assert.Equal(0.0, NormalDistribution.Cdf(-40));
        Assert.Equal(1.0, NormalDistribution.Cdf(40));
        Assert.Equal(0.5, NormalDistribution.Cdf(0), 15);
        double previous = 0;
        for (double x = -37; x <= 9; x += 0.001)
        {
            double c = NormalDistribution.Cdf(x);
            Assert.True(c >= previous, $"not monotone at {x}");
            previous = c;
        }
    }

    [Fact]
    public void Cdf_Symmetry_PhiOfMinusXPlusPhiOfX_IsOne()
    {
        var rng = new Random(11);
        for (int i = 0; i < 10_000; i++)
        {
            double x = (rng.NextDouble() - 0.5) * 16;
            Assert.True(Math.Abs(NormalDistribution.Cdf(x) + NormalDistribution.Cdf(-x) - 1) < 2e-16 * 4);
        }
    }

    [Fact]
    public void Cdf_DoesNotAllocate()
    {
        var sink = new double[1];
        GcAssert.NoAllocation(sink, static s =>
        {
            s[0] += NormalDistribution.Cdf(0.3 + s[0] * 1e-30);
            s[0] += NormalDistribution.Cdf(Vector256.Create(-1.0, 0.5, 3.0, -9.0), out _).GetElement(1);
        });
    }
}

[Trait("Category", "Math")]
public class NormalDistributionNaNTests
{
    [Fact]
    public void Cdf_NaN_ReturnsNaN_InEveryLane_AndNeverReadsOutsideTheTable()
    {
        Assert.True(double.IsNaN(NormalDistribution.Cdf(double.NaN)));
        var v = NormalDistribution.Cdf(Vector256.Create(double.NaN, 1.0, double.PositiveInfinity, double.NegativeInfinity), out var pdf);
        Assert.True(double.IsNaN(v.GetElement(0)) && double.IsNaN(pdf.GetElement(0)));
        Assert.Equal(NormalDistribution.Cdf(1.0), v.GetElement(1), 15);
        Assert.Equal(1.0, v.GetElement(2));
        Assert.Equal(0.0, v.GetElement(3));
    }
}
