using System.Globalization;
using System.Text;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>
/// <c>llr margin --method fhs</c>: VaR and ES of filtered historical simulation on histories whose
/// answer is derived by hand — constant volatility (the filter changes nothing) and a regime change
/// (the calm present scales the stormy past down), with the unfiltered simulation as the negative
/// control.
/// </summary>
public sealed class FilteredHistoricalSimulationTests
{
    /// <summary>One long BTC perpetual at 100 (loss = 100 (1 − e^r̃) for a filtered move r̃), on the CME grid at ±10 % (IM 10).</summary>
    private static PortfolioFile Portfolio() => PortfolioMargin.ParsePortfolio("""
        {
          "valuationTime": "2026-11-22T08:00:00Z",
          "scenarioGrid": { "preset": "cmeSpan16", "priceScanRange": 0.10, "volScanRange": 0.25 },
          "underlyings": [ { "name": "BTC", "index": 100 } ],
          "instruments": [ { "name": "BTC-PERP", "underlying": "BTC", "kind": "perpetual" } ],
          "accounts": [ { "name": "long", "collateral": [ { "asset": "USD", "balance": 1000 } ], "positions": [ { "instrument": "BTC-PERP", "side": "buy", "quantity": 1, "price": 100 } ] } ]
        }
        """);

    /// <summary>101 closes from 100: return t is up (× g) on even t and down (÷ g) on odd t, g = 1 + step(t).</summary>
    private static PriceHistory Alternating(Func<int, double> step)
    {
        var b = new StringBuilder("date,BTC\n");
        double close = 100;
        for (int t = 0; t <= 100; t++)
        {
            b.Append(CultureInfo.InvariantCulture, $"{new DateOnly(2024, 1, 1).AddDays(t):yyyy-MM-dd},{close:R}\n");
            double g = 1 + step(t);
            close = t % 2 == 0 ? close * g : close / g;
        }

        return PriceHistory.ParseCsv(b.ToString(), "h.csv");
    }

    [Fact]
    public void AtConstantVolatility_TheFilterChangesNothing_AndVarAndEsAreTheDownMove()
    {
        // Every daily return is ±ln 1.01: the EWMA seeded with their mean square stays there, σ_t = σ_now,
        // each ratio is 1. 100 scenarios, 50 of them −ln 1.01: a loss of 100 (1 − 1/1.01) = 0.990099.
        // VaR 99 % is the 99th smallest loss and ES 97.5 % the mean of the worst 2.5: both that loss.
        var history = Alternating(_ => 0.01);
        var raw = FilteredHistoricalSimulation.FilteredReturns(history.Closes[0], 1, 0.94, filter: false);
        var filtered = FilteredHistoricalSimulation.FilteredReturns(history.Closes[0], 1, 0.94);
        for (int t = 0; t < raw.Length; t++)
        {
            Assert.Equal(raw[t], filtered[t], 12);
        }

        var result = FilteredHistoricalSimulation.Run(Portfolio(), "t", history);
        var a = Assert.Single(result.Accounts);
        Assert.Equal(100, result.Scenarios);
        Assert.Equal(100 * (1 - (1 / 1.01)), a.ValueAtRisk, 9);
        Assert.Equal(0.990099, a.ValueAtRisk, 6);
        Assert.Equal(a.ValueAtRisk, a.ExpectedShortfall, 9);
        Assert.Equal(10, a.GridInitialMargin, 9);
    }

    [Fact]
    public void AfterAStormyPastAndACalmPresent_ThePastIsScaledDown_WhereTheUnfilteredSimulationIsNot()
    {
        // 60 returns of ±ln 1.02, then 40 of ±ln 1.01; λ = 0.94. The seed is the mean of the first 30
        // squares, (ln 1.02)², and σ_t stays ln 1.02 through the first regime; after the last return
        // σ²_now = 0.94⁴⁰ (ln 1.02)² + (1 − 0.94⁴⁰)(ln 1.01)² = 0.0000330 + 0.0000907, σ_now = 0.011121.
        // A stormy down move filters to −ln 1.02 × σ_now / ln 1.02 = −σ_now: a loss of 100 (1 − e^−σ_now)
        // = 1.1060. Calm moves filter to at most ln 1.01 (their σ_t decays towards σ_now from above).
        // The unfiltered worst: 100 (1 − 1/1.02) = 1.9608.
        var history = Alternating(t => t < 60 ? 0.02 : 0.01);
        double stormy = Math.Log(1.02), calm = Math.Log(1.01);
        double decay = Math.Pow(0.94, 40);
        double now = Math.Sqrt((decay * stormy * stormy) + ((1 - decay) * calm * calm));
        Assert.Equal(0.011121, now, 6);

        var result = FilteredHistoricalSimulation.Run(Portfolio(), "t", history);
        var fhs = Assert.Single(result.Accounts);
        Assert.Equal(100 * (1 - Math.Exp(-now)), fhs.ValueAtRisk, 9);
        Assert.Equal(1.10595, fhs.ValueAtRisk, 4);
        Assert.Equal(fhs.ValueAtRisk, fhs.ExpectedShortfall, 9); // 30 stormy down moves: the worst 2.5 % are all of them
        Assert.True(fhs.WorstScenarioDate < new DateOnly(2024, 1, 1).AddDays(60));

        var unfiltered = Assert.Single(FilteredHistoricalSimulation.Run(Portfolio(), "t", history, filter: false).Accounts);
        Assert.Equal(100 * (1 - (1 / 1.02)), unfiltered.ValueAtRisk, 9);
        Assert.True(fhs.ValueAtRisk < 0.6 * unfiltered.ValueAtRisk);
    }

    [Fact]
    public void ABacktestOfTheFhsMargin_HoldsEachDaysEsOfTheWindowBefore_AndCountsTheCrashItMissed()
    {
        // 60 dates of ±1 % (the window is 40), then a −5 % day: observations start at date 40.
        var b = new StringBuilder("date,BTC\n");
        double close = 100;
        for (int t = 0; t <= 61; t++)
        {
            b.Append(CultureInfo.InvariantCulture, $"{new DateOnly(2024, 1, 1).AddDays(t):yyyy-MM-dd},{close:R}\n");
            close = t == 60 ? close * 0.95 : t % 2 == 0 ? close * 1.01 : close / 1.01;
        }

        var history = PriceHistory.ParseCsv(b.ToString(), "h.csv");
        var result = PortfolioBacktest.Run(Portfolio(), "t", history, fhs: new FhsMargin(Window: 40));
        var days = Assert.Single(result.Accounts).Days;
        Assert.Equal(new DateOnly(2024, 1, 1).AddDays(40), result.From);
        Assert.Equal(21, days.Length); // observations 40 .. 60

        // Each day's margin is the FHS ES of the 40 dates before it — the measure pinned above, computed on
        // the window alone: the same number.
        for (int o = 0; o < days.Length; o++)
        {
            string[] lines = b.ToString().Split('\n');
            var window = PriceHistory.ParseCsv(string.Join('\n', lines.Take(1).Concat(lines.Skip(1 + o).Take(41))), "w.csv");
            var alone = Assert.Single(FilteredHistoricalSimulation.Run(Portfolio(), "t", window).Accounts);
            Assert.Equal(alone.ExpectedShortfall, days[o].Margin, 9);
        }

        // The window is calm (constant volatility: ES = 0.990099); the −5 % day loses 100 × 0.05 = 5 and is
        // exceeded; the grid's 10 on the same day is not (the control).
        Assert.Equal(0.990099, days[^1].Margin, 6);
        Assert.Equal(5, days[^1].Loss, 9);
        Assert.True(days[^1].Exceeded);
        var grid = Assert.Single(PortfolioBacktest.Run(Portfolio(), "t", history).Accounts);
        Assert.False(grid.Days[^1].Exceeded);
        Assert.Contains("FHS expected shortfall 97.5 % over the 40 dates before each", result.ToTable(), StringComparison.Ordinal);
    }

    [Fact]
    public void TooShortAHistory_AndBadParameters_AreRefusedByName()
    {
        var e = Assert.Throws<ConfigException>(() => FilteredHistoricalSimulation.Run(Portfolio(), "t", PriceHistory.ParseCsv("date,BTC\n2024-01-01,1\n2024-01-02,2\n", "s.csv")));
        Assert.Contains("s.csv: 2 dates give 1 1-day scenarios; at least 20 are needed", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ConfigException>(() => FilteredHistoricalSimulation.Run(Portfolio(), "t", Alternating(_ => 0.01), lambda: 1));
        Assert.Contains("lambda: 1 is not in (0, 1)", e.Message, StringComparison.Ordinal);
    }
}
