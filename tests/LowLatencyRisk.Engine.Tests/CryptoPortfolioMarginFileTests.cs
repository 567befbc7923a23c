using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests;

/// <summary><c>llr margin</c> of examples/crypto-portfolio.json: the crypto-venue set's parts per account, as its header derives them.</summary>
public sealed class CryptoPortfolioMarginFileTests
{
    private static string Example => Path.Combine(NativePeers.RepoRoot, "src", "LowLatencyRisk.Host", "examples", "crypto-portfolio.json");

    [Fact]
    public void Example_MarginsEachAccountByThePartTheHeaderSays()
    {
        Assert.Null(PortfolioMargin.ReadFile(Example, out string json));
        var result = PortfolioMargin.Compute(json, Example);
        Assert.Equal("crypto-portfolio-37", result.Grid);
        Assert.Equal(8, result.Scenarios.Count(s => s.Kind == ScenarioKind.Extended));
        Assert.True(result.Scenarios.All(s => s.RelativeVol));
        Assert.Equal(0.5, result.Scenarios[0].VolShift); // +50 % at 30 days
        var a = result.Accounts.ToDictionary(x => x.Account);
        ScanParts Parts(string name) => a[name].Underlyings[0].ScanParts!.Value;

        // 40 far OTM short puts: the extended table (≈ 129,500, in full) over the regular 76,490.
        var puts = Parts("far-otm-short-puts");
        Assert.Equal(76_490, puts.Regular, 0.01 * 76_490);
        Assert.Equal(129_558, puts.Extended, 0.01 * 129_558);
        Assert.Equal(1_296, puts.Basis, 0.02 * 1_296);
        Assert.Equal(puts.Extended + puts.Basis, a["far-otm-short-puts"].InitialMargin, 6);

        // One put: the dampened extended part (3,239² / 100,000 ≈ 105) is below the regular 1,912.
        var one = Parts("one-short-put");
        Assert.Equal(puts.Extended / 40 * (puts.Extended / 40) / 100_000, one.Extended, 6);
        Assert.Equal(one.Regular + one.Basis, a["one-short-put"].InitialMargin, 6);

        Assert.Equal(254.79452054794524, a["calendar-spread"].InitialMargin, 6);
        Assert.Equal(0, Parts("calendar-spread").Regular, 9);
        Assert.Equal(254.79452054794524, Parts("calendar-spread").Basis, 6);
        Assert.Equal(300, a["perp-vs-future"].InitialMargin, 6);
        Assert.Equal(0.8 * 300, a["perp-vs-future"].MaintenanceMargin, 6);

        // The same put on 2 BTC that move in the scenarios: the coin's haircut value 54,000 loses
        // 0.16 × 54,000 = 8,640 in the put's worst regular row (−16 %, vol up); a basis row leaves it.
        var coin = Parts("coin-backed-short-put");
        Assert.Equal(one.Regular + 8_640, coin.Regular, 6);
        Assert.Equal(one.Basis, coin.Basis, 9);
        Assert.Equal(coin.Regular + coin.Basis, a["coin-backed-short-put"].InitialMargin, 6);
        Assert.True(a["coin-backed-short-put"].InitialMargin > 5 * a["one-short-put"].InitialMargin);
        Assert.Equal(8_640, a["coin-backed-short-put"].Underlyings[0].CollateralImpact, 6); // reported apart
        Assert.Equal(0, a["one-short-put"].Underlyings[0].CollateralImpact);

        string text = result.ToTable();
        Assert.Contains("collateral in the scenarios      +8,640.00 of the scan risk", text, StringComparison.Ordinal);
        Assert.Contains("scan         254.79 = max(regular 0.00, extended 0.00 after the dampener) + basis 254.79", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSameFile_OnTheCmeGrid_MarginsTheCalendarSpreadAtZero()
    {
        // Negative control: the basis part is what margins the spread.
        Assert.Null(PortfolioMargin.ReadFile(Example, out string json));
        var cme = PortfolioMargin.Compute(json.Replace("\"preset\": \"cryptoPortfolio\"", "\"preset\": \"cmeSpan16\"", StringComparison.Ordinal), Example);
        var a = cme.Accounts.ToDictionary(x => x.Account);
        Assert.Equal(0, a["calendar-spread"].InitialMargin, 9);
        Assert.Null(a["calendar-spread"].Underlyings[0].ScanParts);
    }

    [Fact]
    public void CoinInTheScenarios_IsOnlyForAnAssetPricedByAnIndex_AndOffWhenTheFileSaysSo()
    {
        Assert.Null(PortfolioMargin.ReadFile(Example, out string json));
        var e = Assert.Throws<ConfigException>(() => PortfolioMargin.Compute(json.Replace("{ \"name\": \"USD\", \"price\": 1 }", "{ \"name\": \"USD\", \"price\": 1, \"inScenarios\": true }", StringComparison.Ordinal), Example));
        Assert.Contains("assets[0].inScenarios: only an asset priced by an underlying's index moves in its scenarios", e.Message, StringComparison.Ordinal);

        // Negative control: "inScenarios": false margins the coin-backed put like the stablecoin-backed one.
        var off = PortfolioMargin.Compute(json.Replace("\"inScenarios\": true", "\"inScenarios\": false", StringComparison.Ordinal), Example);
        var a = off.Accounts.ToDictionary(x => x.Account);
        Assert.Equal(a["one-short-put"].InitialMargin, a["coin-backed-short-put"].InitialMargin, 9);
    }

    [Fact]
    public void ACalibrationOfTheFile_AppliesToItsUnderlyingOnly()
    {
        // BTC with ETH's basis numbers: the calendar spread pays 30,000 × (0.05 × 90/365 − 0.005) = 219.86
        // instead of 254.79; the grid's other numbers stay (the perpetual against the 30-day future:
        // 30,000 × 0.005 = 150 instead of 300).
        Assert.Null(PortfolioMargin.ReadFile(Example, out string json));
        var calibrated = json.Replace("\"scenarioGrid\": { \"preset\": \"cryptoPortfolio\" }",
            "\"scenarioGrid\": { \"preset\": \"cryptoPortfolio\", \"calibrations\": [ { \"underlying\": \"BTC\", \"basisAnnualMove\": 0.05, \"basisMinimumMove\": 0.005 } ] }", StringComparison.Ordinal);
        Assert.NotEqual(json, calibrated);
        var a = PortfolioMargin.Compute(calibrated, Example).Accounts.ToDictionary(x => x.Account);
        Assert.Equal(30_000 * ((0.05 * 90 / 365) - 0.005), a["calendar-spread"].InitialMargin, 6);
        Assert.Equal(150, a["perp-vs-future"].InitialMargin, 6);

        var bad = json.Replace("\"scenarioGrid\": { \"preset\": \"cryptoPortfolio\" }",
            "\"scenarioGrid\": { \"preset\": \"cryptoPortfolio\", \"calibrations\": [ { \"underlying\": \"ETH\" }, { \"underlying\": \"BTC\", \"volDown\": 2 } ] }", StringComparison.Ordinal);
        var e = Assert.Throws<ConfigException>(() => PortfolioMargin.Compute(bad, Example));
        Assert.Contains("scenarioGrid.calibrations[0].underlying: unknown underlying 'ETH'", e.Message, StringComparison.Ordinal);
        Assert.Contains("scenarioGrid.calibrations[1]: volDown must be in [0, 1)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EngineConfiguration_CalibratesTheGeneratedBooksUnderlyingsById()
    {
        var config = LlrConfig.Parse("""{ "scenarioGrid": { "preset": "cryptoPortfolio", "calibrations": [ { "underlying": "1", "priceScanRange": 0.18, "volUp": 0.4, "extendedDampener": 200000 } ] } }""");
        var risk = config.Apply(new Core.Book.RiskConfig { MaxUnderlyings = 2 });
        var c = Assert.Single(risk.ScenarioCalibrations);
        Assert.Equal((1, 0.18, 0.4, 200_000.0, 0.075), (c.Underlying, c.Parameters.PriceScanRange, c.Parameters.VolUp, c.Parameters.ExtendedDampener, c.Parameters.BasisAnnualMove));
        var book = new Core.Book.RiskBook(risk);
        Assert.Equal(0.18, book.ScenarioCalibration(1).PriceScanRange);
        Assert.Equal(0.16, book.ScenarioCalibration(0).PriceScanRange);

        var twice = LlrConfig.Parse("""{ "scenarioGrid": { "calibrations": [ { "underlying": "0" }, { "underlying": "0" }, { "underlying": "7" } ] } }""");
        var e = Assert.Throws<ConfigException>(() => twice.Apply(new Core.Book.RiskConfig { MaxUnderlyings = 2 }));
        Assert.Contains("scenarioGrid.calibrations[1].underlying: '0' is calibrated twice", e.Message, StringComparison.Ordinal);
        Assert.Contains("scenarioGrid.calibrations[2].underlying: unknown underlying '7'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "scenarioGrid": { "preset": "cryptoPortfolio", "cryptoPortfolio": { "volDown": 1.2 } } }""", "scenarioGrid.cryptoPortfolio.volDown: must be in [0, 1)")]
    [InlineData("""{ "scenarioGrid": { "cryptoPortfolio": { "extendedWeights": [0.1] } } }""", "scenarioGrid.cryptoPortfolio.extendedWeights: needs one weight per extended move")]
    [InlineData("""{ "scenarioGrid": { "cryptoPortfolio": { "extendedDampener": -1 } } }""", "scenarioGrid.cryptoPortfolio.extendedDampener: must be a finite amount ≥ 0")]
    [InlineData("""{ "margin": { "dynamicRange": { "enabled": true, "floor": 0 } } }""", "margin.dynamicRange.floor: must be in (0, 1)")]
    [InlineData("""{ "margin": { "dynamicRange": { "lambdaPerDay": 1.5 } } }""", "margin.dynamicRange.lambdaPerDay: must be in (0, 1)")]
    public void InvalidParameters_NameTheirPath(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => LlrConfig.Parse(json, "test.json"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DynamicRange_FromTheConfiguration_ReachesTheBook_AndAReplayOfTheSameIndexTicksGivesTheSameRange()
    {
        var config = LlrConfig.Parse("""{ "margin": { "dynamicRange": { "enabled": true, "seedDailyVolatility": 0.02, "maxDailyIncrease": 0.25 } } }""");
        var risk = config.Apply(new Core.Book.RiskConfig { MaxUnderlyings = 1, MaxInstruments = 2, MaxAccounts = 1, MaxPositionsPerAccount = 2, MaxAssets = 1, IndexBand = 0.5 });
        Assert.True(risk.DynamicRange.Enabled);
        Assert.Equal(0.25, risk.DynamicRange.MaxDailyIncrease);
        double Run()
        {
            var book = new Core.Book.RiskBook(risk);
            book.DefineUnderlying(0);
            double price = 100;
            for (int day = 0; day < 30; day++)
            {
                price *= day % 5 == 0 ? 0.93 : 1.01;
                book.UpdateIndex(0, price, 1_767_225_600_000_000_000 + (day * 86_400_000_000_000L));
            }

            return book.ScenarioCalibration(0).PriceScanRange;
        }

        double first = Run();
        Assert.Equal(first, Run()); // business time only: the same ticks, the same range, bit for bit
        Assert.NotEqual(0.15, first);
    }

    [Fact]
    public void EthParameters_FromTheConfiguration_BuildTheGrid()
    {
        var config = LlrConfig.Parse("""{ "scenarioGrid": { "preset": "cryptoPortfolio", "cryptoPortfolio": { "priceRange": 0.18, "volUp": 0.4, "extendedDampener": 200000, "basisAnnualMove": 0.05, "basisMinimumMove": 0.005 } } }""");
        var grid = config.ToGrid();
        Assert.Equal((37, 0.18, 0.4, 200_000.0), (grid.Count, grid.PriceScanRange, grid.VolUp, grid.ExtendedDampener));
        Assert.Equal(0.005, grid.BasisMoveFor(30 / 365.0), 12); // 0.05 × 30/365 = 0.0041 < the minimum
    }
}
