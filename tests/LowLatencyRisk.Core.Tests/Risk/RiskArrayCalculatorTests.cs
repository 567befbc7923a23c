using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Risk;

[Trait("Category", "Math")]
public class RiskArrayCalculatorTests
{
    /// <summary>
    /// Vector vs scalar: the vector path forms ln(S'/K) as ln(S/K) + ln(1 + move) (computed once per
    /// scenario) where the reference takes the log of the shocked ratio, so they differ by a few ulps
    /// of d1; bounded relative to the contract's notional.
    /// </summary>
    private const double Tolerance = 1e-12;

    internal sealed class Instruments
    {
        public double[] Omega, Underlying, Strike, Time, Volatility, Rate, Carry, Spot, Multiplier;

        public Instruments(int n)
        {
            Omega = new double[n]; Underlying = new double[n]; Strike = new double[n]; Time = new double[n]; Volatility = new double[n];
            Rate = new double[n]; Carry = new double[n]; Spot = new double[n]; Multiplier = new double[n];
        }

        public static Instruments Random(int n, int seed)
        {
            var x = new Instruments(n);
            var rng = new Random(seed);
            for (int i = 0; i < n; i++)
            {
                int kind = rng.Next(5);
                x.Omega[i] = kind == 0 ? 0 : kind % 2 == 0 ? 1 : -1;
                x.Underlying[i] = 100 + rng.NextDouble() * 60_000;
                x.Strike[i] = x.Underlying[i] * Math.Exp((rng.NextDouble() - 0.5) * (rng.Next(8) == 0 ? 3 : 0.6));
                x.Time[i] = rng.Next(15) == 0 ? 0.5 / 365 : rng.NextDouble() * 1.5 + 1.0 / 365;
                x.Volatility[i] = 0.2 + rng.NextDouble() * 1.2;
                x.Rate[i] = rng.NextDouble() * 0.06;
                x.Spot[i] = rng.Next(2);
                x.Carry[i] = x.Spot[i] != 0 ? x.Rate[i] : 0;
                x.Multiplier[i] = rng.Next(2) == 0 ? 1 : 0.01;
            }

            return x;
        }

        public RiskArrayInputs Inputs => new(Omega, Underlying, Strike, Time, Volatility, Rate, Carry, Spot, Multiplier);
    }

    private static double[] Row(RiskArrayCalculator c, Instruments x, int i)
    {
        var arrays = new double[x.Omega.Length * c.Count];
        c.Compute(x.Inputs, arrays);
        return arrays.AsSpan(i * c.Count, c.Count).ToArray();
    }

    [Fact]
    public void LongFuture_WorstRegularScenario_LosesExactlyTheScanRange_McMillan()
    {
        // McMillan ch. 34: a long S&P future with a $10,000 scan range requires $10,000.
        // Here: F = 4000, multiplier 250, scan range 1 % of price = $10,000 per contract.
        var grid = ScenarioGrid.CmeSpan16(priceScanRange: 0.01, volScanRange: 0.04);
        var c = new RiskArrayCalculator(grid);
        var x = new Instruments(1);
        x.Omega[0] = 0; x.Underlying[0] = 4000; x.Multiplier[0] = 250;
        double[] row = Row(c, x, 0);
        Assert.Equal(16, row.Length);
        Assert.Equal(10_000, row.Max(), 9);
        Assert.Equal(10_000, row[13], 9);                 // scenario 14: down 3/3, vol down
        Assert.Equal(3 * 10_000 * 0.33, row[15], 9);      // −extreme at the 33 % cover fraction
        Assert.Equal(-10_000, row.Min(), 9);
        Assert.Equal(0, row[0]);
    }

    [Fact]
    public void CmeGrid_HasTheSixteenScenariosInOrder()
    {
        var g = ScenarioGrid.CmeSpan16(0.1, 0.05);
        double[] moves = [0, 0, 1.0 / 3, 1.0 / 3, -1.0 / 3, -1.0 / 3, 2.0 / 3, 2.0 / 3, -2.0 / 3, -2.0 / 3, 1, 1, -1, -1, 3, -3];
        double[] vols = [1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 0, 0];
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal(moves[j], g.Scenarios[j].PriceMove, 15);
            Assert.Equal(vols[j], g.Scenarios[j].VolShift);
            Assert.Equal(j >= 14 ? 0.33 : 1.0, g.Scenarios[j].Weight);
        }
    }

    [Theory]
    [InlineData("cme")]
    [InlineData("crypto")]
    [InlineData("crypto-portfolio")]
    public void Vector_EqualsScalarReference(string gridName)
    {
        var grid = gridName switch { "cme" => ScenarioGrid.CmeSpan16(0.15, 0.25), "crypto" => ScenarioGrid.Crypto(), _ => ScenarioGrid.CryptoPortfolio() };
        var c = new RiskArrayCalculator(grid);
        const int N = 4_003;
        var x = Instruments.Random(N, 17);
        double worst = WorstVectorDifference(c, x);
        Assert.True(worst <= Tolerance, $"worst difference {worst:E3} of notional");
    }

    /// <summary>The largest |vector − scalar| over every instrument and row, relative to the contract's notional; every vector value finite.</summary>
    internal static double WorstVectorDifference(RiskArrayCalculator c, Instruments x)
    {
        int n = x.Omega.Length;
        var vector = new double[n * c.Count];
        var scalar = new double[n * c.Count];
        c.Compute(x.Inputs, vector);
        c.ComputeScalar(x.Inputs, scalar);
        double worst = 0;
        for (int i = 0; i < n; i++)
        {
            double notional = Math.Max(x.Underlying[i], x.Strike[i]) * x.Multiplier[i];
            for (int j = 0; j < c.Count; j++)
            {
                double v = vector[(i * c.Count) + j], s = scalar[(i * c.Count) + j];
                Assert.True(double.IsFinite(v), $"[{i},{j}] = {v}");
                worst = Math.Max(worst, Math.Abs(v - s) / notional);
            }
        }

        return worst;
    }

    [Fact]
    public void LongOption_NeverLosesMoreThanItsValue()
    {
        var c = new RiskArrayCalculator(ScenarioGrid.CmeSpan16(0.2, 0.3));
        var x = Instruments.Random(2_000, 5);
        var arrays = new double[x.Omega.Length * c.Count];
        c.Compute(x.Inputs, arrays);
        for (int i = 0; i < x.Omega.Length; i++)
        {
            if (x.Omega[i] == 0)
            {
                continue;
            }

            double value = LowLatencyRisk.Core.Pricing.BlackScholes.Compute(x.Omega[i], x.Underlying[i], x.Strike[i], x.Time[i], x.Volatility[i], x.Rate[i], x.Carry[i], x.Spot[i] != 0).Price * x.Multiplier[i];
            for (int j = 0; j < c.Count; j++)
            {
                Assert.True(arrays[(i * c.Count) + j] <= value * (1 + 1e-12) + 1e-12, $"instrument {i} scenario {j}: loss {arrays[(i * c.Count) + j]} > value {value}");
            }
        }
    }

    [Fact]
    public void CallMinusPut_IsASyntheticForward_VolShiftsCancel()
    {
        // Black-76 with no look-ahead: C − P = e^(−rT)(F − K), so loss(C) − loss(P) = −e^(−rT)·F·move in every scenario.
        var grid = ScenarioGrid.Crypto();
        var c = new RiskArrayCalculator(grid);
        var x = new Instruments(2);
        for (int i = 0; i < 2; i++)
        {
            x.Omega[i] = i == 0 ? 1 : -1; x.Underlying[i] = 30_000; x.Strike[i] = 32_000; x.Time[i] = 0.25; x.Volatility[i] = 0.6;
            x.Rate[i] = 0.03; x.Carry[i] = 0; x.Spot[i] = 0; x.Multiplier[i] = 1;
        }

        var arrays = new double[2 * c.Count];
        c.Compute(x.Inputs, arrays);
        for (int j = 0; j < c.Count; j++)
        {
            double expected = -Math.Exp(-0.03 * 0.25) * 30_000 * grid.Scenarios[j].PriceMove * grid.PriceScanRange;
            Assert.Equal(expected, arrays[j] - arrays[c.Count + j], 6);
        }
    }

    [Fact]
    public void CryptoGrid_VolShiftScalesWithTenor()
    {
        var g = ScenarioGrid.Crypto(volShift: 0.1);
        Assert.Equal(0.1, g.VolScanRangeFor(30.0 / 365), 12);
        Assert.Equal(0.1 * Math.Pow(30.0 / 7, 0.3), g.VolScanRangeFor(7.0 / 365), 12);
        Assert.True(g.VolScanRangeFor(180.0 / 365) < 0.1);
        Assert.Equal(27, g.Count);
    }

    [Fact]
    public void Grid_RejectsBadParameters()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ScenarioGrid.CmeSpan16(0, 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ScenarioGrid.CmeSpan16(double.NaN, 0.1));
        Assert.Throws<ArgumentException>(() => ScenarioGrid.CmeSpan16(0.5, 0.1, extremeMultiplier: 3)); // −150 % price
    }

    [Fact]
    public void Compute_DoesNotAllocate()
    {
        var c = new RiskArrayCalculator(ScenarioGrid.CmeSpan16(0.15, 0.25));
        var x = Instruments.Random(16, 2);
        var arrays = new double[16 * c.Count];
        GcAssert.NoAllocation((c, x, arrays), static s => s.c.Compute(s.x.Inputs, s.arrays), warmUp: 200, iterations: 2_000);
    }
}
