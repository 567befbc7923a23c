using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>
/// The historical preset (<c>"scenarioGrid": { "preset": "historical" }</c>): the book margins with
/// filtered historical simulation itself. Its requirement must be the number <c>llr margin --method fhs</c>
/// computes independently — that path revalues each account's whole book at every date's index
/// (full revaluation, the sort-based ES), this one sums precomputed instrument rows and selects the
/// tail on the fill path.
/// </summary>
public sealed class HistoricalGridFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llr-historical-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>301 seeded synthetic closes of BTC and ETH (GARCH(1,1), Student-t, correlation 0.7): 300 one-day scenarios.</summary>
    private string WriteHistory()
    {
        var history = PriceHistory.Synthetic(["BTC", "ETH"], [30_000, 2_000], new DateOnly(2024, 1, 1), 301, 5, new GarchParameters());
        string path = Path.Combine(_dir, "history.csv");
        File.WriteAllText(path, history.ToCsv());
        return path;
    }

    private static string Portfolio(string grid, string margin = """{ "shortOptionMinimumFraction": 0 }""") => $$"""
        {
          "valuationTime": "2026-11-22T08:00:00Z",
          "scenarioGrid": {{grid}},
          "margin": {{margin}},
          "underlyings": [ { "name": "BTC", "index": 30000 }, { "name": "ETH", "index": 2000 } ],
          "instruments": [
            { "name": "BTC-PERP", "underlying": "BTC", "kind": "perpetual" },
            { "name": "ETH-PERP", "underlying": "ETH", "kind": "perpetual" },
            { "name": "ETH-C-2200", "underlying": "ETH", "kind": "call", "strike": 2200, "expiry": "2026-12-25T08:00:00Z", "volatility": 0.7 }
          ],
          "accounts": [
            { "name": "btc-long", "collateral": [ { "asset": "USD", "balance": 100000 } ],
              "positions": [ { "instrument": "BTC-PERP", "side": "buy", "quantity": 1, "price": 30000 } ] },
            { "name": "pair", "collateral": [ { "asset": "USD", "balance": 100000 } ],
              "positions": [ { "instrument": "BTC-PERP", "side": "buy", "quantity": 1, "price": 30000 },
                             { "instrument": "ETH-PERP", "side": "sell", "quantity": 12, "price": 2000 } ] },
            { "name": "eth-options", "collateral": [ { "asset": "USD", "balance": 100000 } ],
              "positions": [ { "instrument": "ETH-C-2200", "side": "sell", "quantity": 20, "price": 60 },
                             { "instrument": "ETH-PERP", "side": "buy", "quantity": 8, "price": 2000 },
                             { "instrument": "BTC-PERP", "side": "sell", "quantity": 0.3, "price": 30000 } ] }
          ]
        }
        """;

    [Fact]
    public void TheBooksRequirement_IsTheExpectedShortfallThatFullRevaluationComputes()
    {
        string path = WriteHistory().Replace("\\", "\\\\", StringComparison.Ordinal);
        var result = PortfolioMargin.Compute(Portfolio($$"""{ "preset": "historical", "historical": { "history": "{{path}}", "scenarios": 300, "lambda": 0.94, "confidence": 0.975 } }"""));
        Assert.Equal("historical-300", result.Grid);

        // The independent computation: every account's book revalued in full at each of the 300 dates.
        var fhs = FilteredHistoricalSimulation.Run(PortfolioMargin.ParsePortfolio(Portfolio("""{ "preset": "cmeSpan16" }""")), "t",
            PriceHistory.ParseCsv(File.ReadAllText(WriteHistory()), "history.csv"), horizonDays: 1, lambda: 0.94, varConfidence: 0.99, esConfidence: 0.975);
        Assert.Equal(300, fhs.Scenarios);
        foreach (var account in result.Accounts)
        {
            var independent = fhs.Accounts.Single(a => a.Account == account.Account);
            double es = independent.ExpectedShortfall;
            Assert.True(es > 100, $"{account.Account}: ES {es} — the comparison would be vacuous");
            Assert.Equal(es, account.InitialMargin, 1e-9 * es);
            var tail = Assert.NotNull(account.HistoricalRisk); // the book's own VaR 99 % and ES, printed beside the margin
            Assert.Equal(independent.ValueAtRisk, tail.ValueAtRisk, 1e-9 * independent.ValueAtRisk);
            Assert.Equal(es, tail.ExpectedShortfall, 1e-9 * es);
        }

        Assert.Contains("historical VaR 99%", result.ToTable(), StringComparison.Ordinal);

        // The pair is margined on the joint sample: less than its two underlyings alone (history's
        // correlation 0.7 offsets a long BTC against a short ETH).
        var pair = result.Accounts.Single(a => a.Account == "pair");
        Assert.True(pair.InitialMargin < pair.Underlyings.Sum(u => u.ScanRisk) - 1, $"pair: IM {pair.InitialMargin}, alone {pair.Underlyings.Sum(u => u.ScanRisk)}");
        Assert.Contains("expected shortfall of the dates", result.ToTable(), StringComparison.Ordinal);
        Assert.Contains("scenario loss: 300 values", result.ToTable(), StringComparison.Ordinal);
    }

    [Fact]
    public void WithTheDynamicRange_SeededFromTheSameHistory_TheMovesStayAsFiltered_AndALiveVolatilityRescalesThem()
    {
        // The EWMA seeded from the history the moves were filtered with starts at their σ_now: the requirement is
        // the plain preset's. Seeded at 1.5 × that instead, every filtered log return is × 1.5: more margin.
        string raw = WriteHistory();
        string path = raw.Replace("\\", "\\\\", StringComparison.Ordinal);
        string grid = $$"""{ "preset": "historical", "historical": { "history": "{{path}}", "scenarios": 300 } }""";
        var history = PriceHistory.ParseCsv(File.ReadAllText(raw), "h");
        double btc = FilteredHistoricalSimulation.EwmaDailyVolatility(history.Closes[0], 0.94), eth = FilteredHistoricalSimulation.EwmaDailyVolatility(history.Closes[1], 0.94);
        var plain = PortfolioMargin.Compute(Portfolio(grid));
        var seeded = PortfolioMargin.Compute(Portfolio(grid, $$"""{ "shortOptionMinimumFraction": 0, "dynamicRange": { "enabled": true, "seedHistory": "{{path}}" } }"""));
        var stressed = PortfolioMargin.Compute(Portfolio(grid, string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $$"""{ "shortOptionMinimumFraction": 0, "dynamicRange": { "enabled": true, "seedDailyVolatilities": [ {{1.5 * btc:R}}, {{1.5 * eth:R}} ] } }""")));
        for (int a = 0; a < plain.Accounts.Length; a++)
        {
            Assert.Equal(plain.Accounts[a].InitialMargin, seeded.Accounts[a].InitialMargin, 1e-9 * plain.Accounts[a].InitialMargin);
            Assert.True(stressed.Accounts[a].InitialMargin > 1.3 * plain.Accounts[a].InitialMargin, $"{plain.Accounts[a].Account}: {plain.Accounts[a].InitialMargin} → {stressed.Accounts[a].InitialMargin}");
        }
    }

    [Fact]
    public void AHistoryThatCannotServe_IsRefusedByPathWithTheReason()
    {
        string path = WriteHistory();
        string Refusal(string historical) =>
            Assert.Throws<ConfigException>(() => PortfolioMargin.Compute(Portfolio($$"""{ "preset": "historical", "historical": {{historical}} }"""))).Message;

        Assert.Contains("300 1-day scenarios; scenarios asks for 500", Refusal($$"""{ "history": "{{path}}" }"""), StringComparison.Ordinal);
        Assert.Contains("scenarioGrid.historical.confidence", Refusal($$"""{ "history": "{{path}}", "scenarios": 300, "confidence": 0.5 }"""), StringComparison.Ordinal);
        Assert.Contains("scenarioGrid.historical.history", Refusal($$"""{ "history": "{{Path.Combine(_dir, "missing.csv")}}", "scenarios": 300 }"""), StringComparison.Ordinal);

        // A close that is not a number: named by the file's line and field under the preset's path.
        string bad = Path.Combine(_dir, "bad.csv");
        var lines = File.ReadAllLines(path);
        lines[3] = lines[3][..(lines[3].IndexOf(',', StringComparison.Ordinal) + 1)] + "oops," + lines[3][(lines[3].LastIndexOf(',') + 1)..];
        File.WriteAllLines(bad, lines);
        string refused = Refusal($$"""{ "history": "{{bad}}", "scenarios": 200 }""");
        Assert.Contains("scenarioGrid.historical.history", refused, StringComparison.Ordinal);
        Assert.Contains("line 4, field 2 (BTC)", refused, StringComparison.Ordinal);

        // Calibrations and SPAN components beside the preset.
        Assert.Contains("scenarioGrid.calibrations: the historical preset's moves are the history's own",
            Assert.Throws<ConfigException>(() => PortfolioMargin.Compute(Portfolio($$"""{ "preset": "historical", "historical": { "history": "{{path}}", "scenarios": 300 }, "calibrations": [ { "underlying": "BTC", "priceScanRange": 0.2 } ] }"""))).Message,
            StringComparison.Ordinal);
        Assert.Contains("margin.components: are SPAN's additions to a worst-row scan",
            Assert.Throws<ConfigException>(() => PortfolioMargin.Compute(Portfolio($$"""{ "preset": "historical", "historical": { "history": "{{path}}", "scenarios": 300 } }""",
                """{ "components": { "sizeAddOns": [ { "underlying": "BTC", "baseRate": 0.01 } ] } }"""))).Message, StringComparison.Ordinal);

        string oneColumn = Path.Combine(_dir, "btc.csv");
        File.WriteAllLines(oneColumn, File.ReadAllLines(path).Select(l => l[..l.LastIndexOf(',')]));
        Assert.Contains("no column for underlying 'ETH'", Refusal($$"""{ "history": "{{oneColumn}}", "scenarios": 300 }"""), StringComparison.Ordinal);
    }

    [Fact]
    public void TheEngine_OnTheHistoricalPreset_StaysExactUnderTheSimulatedVenue_AndItsThreadAllocatesNothing()
    {
        // The generated book (ids "0", "1") on 250 synthetic dates; the venue simulator's fills, marks, collateral
        // and its stress phase through the engine, then every account against the from-scratch verifier.
        var config = LlrConfig.Parse("""
            {
              "workload": { "underlyings": 2, "futures": 2, "expiries": 3, "strikes": 5, "accounts": 300, "positionsPerAccount": 10, "collateralToMargin": 1.1 },
              "scenarioGrid": { "preset": "historical", "historical": { "scenarios": 250, "syntheticDays": 400 } }
            }
            """);
        var book = config.BuildWorkload();
        var shadow = config.BuildWorkload();
        Assert.Equal("historical-250", book.Book.Config.Grid.Name);
        using var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 4096, ProducerMode.Multi));
        using var breach = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Single));
        var engine = new RiskEngine(book.Book, new PreTradeGate(book.Book, config.ToGateConfig()), feed.CreateConsumer(0), breach.CreateSingleProducer(), liquidation: config.ToLiquidationOptions());
        var liquidator = new Liquidator(breach.CreateConsumer(0));
        var producer = feed.CreateMultiProducer();
        var sim = new VenueSimulator(shadow, seed: 3, producerId: 1, stressStart: 20_000, stressLength: 20_000);
        long engineBytes = 0;
        for (int sent = 0; sent < 60_000; sent += 256)
        {
            long first;
            while (!producer.TryClaim(256, out first))
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                engine.PollOnce();
                engineBytes += sent > 10_000 ? GC.GetAllocatedBytesForCurrentThread() - before : 0; // after warm-up
                liquidator.Poll();
            }

            long now = MonotonicClock.Now();
            for (int k = 0; k < 256; k++)
            {
                sim.Next(producer.Payload(first + k), now);
                producer.Publish(first + k);
            }
        }

        while (engine.PollOnce() > 0 || engine.HasPendingMarks)
        {
            liquidator.Poll();
        }

        Assert.Equal(0, engineBytes);
        Assert.True(liquidator.Read > 0, "the stress phase moved no account: the check would be thin");
        book.Book.Revalue();
        for (int a = 0; a < 300; a++)
        {
            var r = RiskBookVerifier.Recompute(book.Book, a);
            Assert.Equal(r.InitialMargin, book.Book.InitialMargin(a), (1e-9 * Math.Abs(r.InitialMargin)) + 1e-6);
            Assert.Equal(r.Equity, book.Book.Equity(a), (1e-9 * Math.Abs(r.Equity)) + 1e-6);
        }
    }

    [Fact]
    public void WithoutAHistory_ASeededSyntheticOneServes_TheSameOnEveryRun()
    {
        string grid = """{ "preset": "historical", "historical": { "scenarios": 250, "syntheticDays": 400, "syntheticSeed": 3 } }""";
        var first = PortfolioMargin.Compute(Portfolio(grid));
        var second = PortfolioMargin.Compute(Portfolio(grid));
        Assert.Equal("historical-250", first.Grid);
        Assert.Equal(first.Accounts.Select(a => a.InitialMargin), second.Accounts.Select(a => a.InitialMargin));
        Assert.All(first.Accounts, a => Assert.True(a.InitialMargin > 0 && double.IsFinite(a.InitialMargin)));
    }
}
