using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Tests.Risk;

[Trait("Category", "Math")]
public class RiskMeasuresTests
{
    [Fact]
    public void VarAndEs_OnASmallSample_ByHand()
    {
        // Losses 1..10 in any order. 80 %: k = ⌈8⌉ = 8 → VaR 8; ES = (9 + 10 + (8 − 8) × 8) / 2 = 9.5.
        // 75 %: k = ⌈7.5⌉ = 8 → VaR 8; ES = (9 + 10 + (8 − 7.5) × 8) / 2.5 = 23 / 2.5 = 9.2.
        double[] losses = [7, 3, 10, 1, 9, 2, 8, 4, 6, 5];
        var scratch = new double[10];
        Assert.Equal(8, RiskMeasures.ValueAtRisk(losses, 0.80, scratch));
        Assert.Equal(9.5, RiskMeasures.ExpectedShortfall(losses, 0.80, scratch), 12);
        Assert.Equal(8, RiskMeasures.ValueAtRisk(losses, 0.75, scratch));
        Assert.Equal(9.2, RiskMeasures.ExpectedShortfall(losses, 0.75, scratch), 12);
        Assert.Equal([7.0, 3, 10, 1, 9, 2, 8, 4, 6, 5], losses); // the sample is left as it was
    }

    [Fact]
    public void OnANormalSample_TheyMatchTheClosedForms_WithinSamplingError()
    {
        // 400,000 standard normal losses (Box–Muller, seeded). Closed forms: VaR 99 % = 2.3263,
        // ES 97.5 % = φ(1.95996) / 0.025 = 2.3378. Standard error of the 99 % quantile:
        // √(0.99 × 0.01 / n) / φ(2.3263) = 0.000157 / 0.02665 = 0.0059; ES 97.5 % about 0.008;
        // bounds of 4 standard errors: 0.025 and 0.035.
        const int N = 400_000;
        var rng = new Random(20);
        var losses = new double[N];
        for (int i = 0; i < N; i += 2)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble(), r = Math.Sqrt(-2 * Math.Log(u1));
            losses[i] = r * Math.Cos(2 * Math.PI * u2);
            losses[i + 1] = r * Math.Sin(2 * Math.PI * u2);
        }

        var scratch = new double[N];
        Assert.Equal(2.3263, RiskMeasures.ValueAtRisk(losses, 0.99, scratch), 0.025);
        Assert.Equal(2.3378, RiskMeasures.ExpectedShortfall(losses, 0.975, scratch), 0.035);
        Assert.True(RiskMeasures.ExpectedShortfall(losses, 0.99, scratch) > RiskMeasures.ValueAtRisk(losses, 0.99, scratch));
    }

    [Theory]
    // n = 250 days at 99 %: LR = −2[(n − x) ln 0.99 + x ln 0.01] + 2[(n − x) ln(1 − x/n) + x ln(x/n)].
    // x = 0: −2 × 250 × ln 0.99 = 5.02517, p = 0.02498 (too few exceedances also rejects at 5 %);
    // x = 2 (2.5 expected): 0.10844, p = 0.7419; x = 4: 0.76914, p = 0.3805; x = 6: 3.55535,
    // p = 0.05935; x = 10: 12.95549, p = 0.000319 (Basel's red zone).
    [InlineData(0, 5.025167926750726, 0.02498150305344971)]
    [InlineData(2, 0.10843521623679919, 0.7419327009526282)]
    [InlineData(4, 0.7691383643858458, 0.380483738238954)]
    [InlineData(6, 3.5553547710617437, 0.059353618972289114)]
    [InlineData(10, 12.955491062356018, 0.0003189845082133835)]
    public void Kupiec_MatchesTheHandComputedStatistic(int exceedances, double lr, double p)
    {
        var (l, pv) = RiskMeasures.Kupiec(250, exceedances, 0.01);
        Assert.Equal(lr, l, 9);
        Assert.Equal(p, pv, 9);
    }

    [Fact]
    public void BadInput_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RiskMeasures.Kupiec(10, 11, 0.01));
        Assert.Throws<ArgumentOutOfRangeException>(() => RiskMeasures.Kupiec(10, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RiskMeasures.ValueAtRisk([1.0], 1.0, new double[1]));
        Assert.Throws<ArgumentException>(() => RiskMeasures.ExpectedShortfall([1.0, 2], 0.5, new double[1]));
    }
}
