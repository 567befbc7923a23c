using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Tests.Risk;

/// <summary>The crypto-venue portfolio-margin set: its rows, its relative vol shock and basis rows in the kernels.</summary>
[Trait("Category", "Math")]
public class CryptoPortfolioGridTests
{
    [Fact]
    public void Preset_HasTheVenueRowsInOrder()
    {
        var g = ScenarioGrid.CryptoPortfolio();
        // 2 × 4 + 1 = 9 price points × (up, flat, down) = 27, the 8-row extended table, basis up and down.
        Assert.Equal(37, g.Count);
        Assert.Equal((27, 8, 2), (g.RegularCount, g.ExtendedCount, g.BasisCount));
        for (int p = 0; p < 9; p++)
        {
            double move = -1 + (p * 0.25); // −16 %, −12 %, …, +16 % of the index
            for (int v = 0; v < 3; v++)
            {
                var s = g.Scenarios[(p * 3) + v];
                Assert.Equal(move, s.PriceMove, 15);
                Assert.Equal(1 - v, s.VolShift);
                Assert.Equal((1.0, ScenarioKind.Regular), (s.Weight, s.Kind));
            }
        }

        double[] moves = [-0.66, -0.33, 0.5, 1, 2, 3, 4, 5];
        double[] weights = [0.24, 0.48, 0.32, 0.16, 0.08, 0.0533, 0.04, 0.032];
        for (int e = 0; e < 8; e++)
        {
            var s = g.Scenarios[27 + e];
            Assert.Equal(moves[e], s.PriceMove * g.PriceScanRange, 12);
            Assert.Equal((1.0, weights[e], ScenarioKind.Extended), (s.VolShift, s.Weight, s.Kind)); // on the vol-up shock only
        }

        Assert.Equal(ScenarioKind.BasisUp, g.Scenarios[35].Kind);
        Assert.Equal(ScenarioKind.BasisDown, g.Scenarios[36].Kind);
        Assert.Equal(VolShockRule.Relative, g.VolShock);
        Assert.Equal("crypto-portfolio-37", g.Name);
    }

    [Theory]
    // 30 days: (30/30)^p = 1 whichever p, so the shocks are the parameters themselves:
    // up 0.6 × (1 + 0.5) = 0.9, down 0.6 × (1 − 0.25) = 0.45.
    [InlineData(0.6, 30, 0.9, 0.45)]
    // 7 days (< 30: p = 0.3): (30/7)^0.3 = e^(0.3 × ln 4.285714) = e^0.436588 = 1.547416;
    // up 0.6 × (1 + 0.5 × 1.547416) = 1.064225, down 0.6 × (1 − 0.25 × 1.547416) = 0.367888.
    [InlineData(0.6, 7, 1.064225, 0.367888)]
    // 90 days (≥ 30: p = 0.13): (30/90)^0.13 = e^(−0.13 × 1.098612) = 0.866910;
    // up 0.3 × (1 + 0.5 × 0.866910) = 0.430037, below the 0.5 floor for a shock up → 0.5;
    // down 0.3 × (1 − 0.25 × 0.866910) = 0.234982.
    [InlineData(0.3, 90, 0.5, 0.234982)]
    public void RelativeVolShock_MatchesTheVenueFormula(double sigma, double days, double up, double down)
    {
        var g = ScenarioGrid.CryptoPortfolio();
        double years = days / 365;
        double Shocked(Scenario s) => Math.Max(sigma + (g.VolShiftOf(s) * g.VolShockUnit(sigma, years)), g.VolFloorOf(s, RiskArrayCalculator.MinVolatility));
        Assert.Equal(up, Shocked(g.Scenarios[0]), 6);
        Assert.Equal(sigma, Shocked(g.Scenarios[1]), 15);
        Assert.Equal(down, Shocked(g.Scenarios[2]), 6);

        // The kernel revalues at those volatilities: one at-the-money call, F = K = 100,000, row
        // entries −16 % with vol up / flat / down against Black-76 at the hand-derived vols.
        var c = new RiskArrayCalculator(g);
        var x = new RiskArrayCalculatorTests.Instruments(1);
        x.Omega[0] = 1; x.Underlying[0] = 100_000; x.Strike[0] = 100_000; x.Time[0] = years; x.Volatility[0] = sigma; x.Multiplier[0] = 1;
        var row = new double[c.Count];
        c.Compute(x.Inputs, row);
        double value = BlackScholes.Compute(1, 100_000, 100_000, years, sigma, 0, 0, false).Price;
        double At(double vol) => value - BlackScholes.Compute(1, 84_000, 100_000, years, vol, 0, 0, false).Price;
        Assert.Equal(At(up), row[0], 1e-6 * 100_000);
        Assert.Equal(At(sigma), row[1], 1e-9 * 100_000);
        Assert.Equal(At(down), row[2], 1e-6 * 100_000);
        Assert.True(row[0] < row[2], "a long call loses less when volatility rises");
    }

    [Fact]
    public void BasisRows_MoveEachDatedForwardByItsOwnTenor_AndLeaveAPerpetual()
    {
        // Index 30,000, no carry. A basis move is max(0.075 × T, 0.01):
        //   90-day future: 0.075 × 90/365 = 0.018493 → 30,000 × 0.018493 = 554.79 per contract;
        //   30-day future: 0.075 × 30/365 = 0.006164 < 0.01 → the minimum, 30,000 × 0.01 = 300;
        //   perpetual (T = 0): 0.
        var g = ScenarioGrid.CryptoPortfolio();
        var c = new RiskArrayCalculator(g);
        var x = new RiskArrayCalculatorTests.Instruments(3);
        double[] years = [90 / 365.0, 30 / 365.0, 0];
        for (int i = 0; i < 3; i++)
        {
            x.Omega[i] = 0; x.Underlying[i] = 30_000; x.Time[i] = years[i]; x.Multiplier[i] = 1;
        }

        var rows = new double[3 * c.Count];
        c.Compute(x.Inputs, rows);
        double[] expected = [554.7945205479452, 300, 0];
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(-expected[i], rows[(i * c.Count) + 35], 9); // basis up: a long gains
            Assert.Equal(expected[i], rows[(i * c.Count) + 36], 9);  // basis down: a long loses
            Assert.Equal(30_000 * 0.16, rows[(i * c.Count) + 0], 9); // −16 % (vol up): every forward alike
            Assert.Equal(30_000 * 0.08, rows[(i * c.Count) + 6], 9); // −8 %
        }
    }

    [Fact]
    public void ScanRisk_IsTheWorseOfRegularAndDampenedExtended_PlusBasis()
    {
        var g = ScenarioGrid.CryptoPortfolio(); // dampener D = 100,000
        var array = new double[37];
        array[5] = 40_000;   // worst regular row
        array[30] = 50_000;  // weighted extended loss below D: counts 50,000² / 100,000 = 25,000
        array[36] = 1_000;   // basis down
        array[35] = -1_000;
        Assert.Equal(new ScanParts(40_000, 25_000, 1_000), g.PartsOf(array));
        Assert.Equal(41_000, g.ScanOf(array));
        array[31] = 150_000; // at or above D: in full
        Assert.Equal(151_000, g.ScanOf(array));
        // Negative control: the plain worst row of the same array would be 150,000 (no basis on top).
        Assert.Equal(150_000, array.Max());
        // Without a dampener the extended loss counts in full.
        var undamped = ScenarioGrid.CryptoPortfolio(new CryptoPortfolioParameters { ExtendedDampener = 0 });
        array[31] = 0;
        Assert.Equal(51_000, undamped.ScanOf(array));
    }

    /// <summary>The typical random set is in <see cref="RiskArrayCalculatorTests.Vector_EqualsScalarReference"/>; here a third of the vols near zero or above 200 % and a quarter of the tenors under two days.</summary>
    [Fact]
    public void Vector_EqualsScalarReference_NearExpiryAndExtremeVols()
    {
        var c = new RiskArrayCalculator(ScenarioGrid.CryptoPortfolio());
        const int N = 2_003;
        var x = RiskArrayCalculatorTests.Instruments.Random(N, 29);
        var rng = new Random(3);
        for (int i = 0; i < N; i++)
        {
            x.Volatility[i] = rng.Next(3) switch { 0 => 0.02 + (rng.NextDouble() * 0.05), 1 => 2 + (rng.NextDouble() * 3), _ => x.Volatility[i] };
            x.Time[i] = rng.Next(4) == 0 ? rng.NextDouble() * 2 / 365 : x.Time[i];
        }

        double worst = RiskArrayCalculatorTests.WorstVectorDifference(c, x);
        Assert.True(worst <= 1e-12, $"worst difference {worst:E3} of notional");
    }

    [Fact]
    public void Grid_RefusesRowsOutOfOrder_AndParameters_NameTheirField()
    {
        var e = Assert.Throws<ArgumentException>(() => new ScenarioGrid("x", [new Scenario(1, 0, 0.5, ScenarioKind.Extended), new Scenario(0, 1)], 0.1, 0.1));
        Assert.Contains("out of order", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => new ScenarioGrid("x", [new Scenario(0, 0), new Scenario(0.5, 0, 1, ScenarioKind.BasisUp)], 0.1, 0.1));
        Assert.Contains("index and the volatility stay", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => ScenarioGrid.CryptoPortfolio(new CryptoPortfolioParameters { VolDown = 1 }));
        Assert.Equal("VolDown", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => ScenarioGrid.CryptoPortfolio(new CryptoPortfolioParameters { ExtendedWeights = [0.1] }));
        Assert.Equal("ExtendedWeights", e.ParamName);
        // A long tenor with a large annual move: capped, so the down row keeps the forward positive.
        var g = ScenarioGrid.CryptoPortfolio(new CryptoPortfolioParameters { BasisAnnualMove = 0.9 });
        Assert.Equal(ScenarioGrid.MaxBasisMove, g.BasisMoveFor(5));
    }
}
