using System.Text.Json;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

public sealed class MarginCommandTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Example => Path.Combine(AppContext.BaseDirectory, "examples", "portfolio.json");

    private static readonly JsonSerializerOptions Camel = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private static long Nanos(string iso) => (DateTime.Parse(iso, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal) - DateTime.UnixEpoch).Ticks * 100;

    /// <summary><c>llr margin</c> of the example portfolio, as JSON.</summary>
    private static JsonDocument ExampleAsJson()
    {
        using var llr = PeerProcess.StartDotnet("llr", "margin", Example, "--format", "json");
        Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        string output = llr.Output;
        return JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
    }

    [Fact]
    public void Margin_ExamplePortfolio_MatchesTheLibraryCalls()
    {
        using var doc = ExampleAsJson();
        var accounts = doc.RootElement.GetProperty("accounts");
        Assert.Equal(4, accounts.GetArrayLength());

        // The covered call, built with the library's own calls (what an embedding venue would write).
        var book = new RiskBook(new RiskConfig { MaxUnderlyings = 1, MaxInstruments = 2, MaxAccounts = 1, MaxPositionsPerAccount = 2, MaxAssets = 1, IndexBand = 10, Grid = ScenarioGrid.CmeSpan16(0.15, 0.25) });
        book.DefineUnderlying(0);
        book.UpdateIndex(0, 60_000, Nanos("2026-11-22T08:00:00Z"));
        book.DefineInstrument(0, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 0.01, 0.001));
        book.DefineInstrument(1, new InstrumentSpec(InstrumentKind.Call, 0, 65_000, Nanos("2026-12-25T08:00:00Z"), 1, 0.01, 0.001));
        book.SetInitialVolatility(1, 0.55);
        book.DefineAsset(0, -1, 1, [new HaircutTier(1e18, 0)]);
        book.SetCollateral(0, 0, 20_000);
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, 0, 1, 59_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, 1, -1, 2_100));
        book.Revalue();

        var cc = accounts[0];
        Assert.Equal("covered-call", cc.GetProperty("account").GetString());
        Assert.Equal(book.Equity(0), cc.GetProperty("equity").GetDouble(), 9);
        Assert.Equal(book.InitialMargin(0), cc.GetProperty("initialMargin").GetDouble(), 9);
        Assert.Equal(book.MaintenanceMargin(0), cc.GetProperty("maintenanceMargin").GetDouble(), 9);
        var btc = cc.GetProperty("underlyings")[0];
        Assert.Equal(book.NetDelta(0, 0), btc.GetProperty("delta").GetDouble(), 12);
        Assert.Equal(book.NetVega(0, 0), btc.GetProperty("vega").GetDouble(), 9);
        var losses = btc.GetProperty("scenarioLoss").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(book.RiskArray(0, 0).ToArray(), losses);
        Assert.Equal(losses.Max(), btc.GetProperty("scanRisk").GetDouble());

        // Covered call: the long perpetual hedges the short call, so the scan is far below the naked call's worst loss plus the perp's.
        Assert.True(book.InitialMargin(0) < 0.15 * 60_000, $"IM {book.InitialMargin(0)}");
    }

    [Fact]
    public void Margin_StandardAndIsolatedAccounts_AreChargedPerPosition()
    {
        using var doc = ExampleAsJson();
        var accounts = doc.RootElement.GetProperty("accounts");
        var portfolio = accounts[0];
        var standard = accounts[2];
        var isolated = accounts[3];
        Assert.Equal(("portfolio", "standard", "isolated"), (portfolio.GetProperty("mode").GetString(), standard.GetProperty("mode").GetString(), isolated.GetProperty("mode").GetString()));
        Assert.False(portfolio.TryGetProperty("positions", out _));

        // Isolated long 1 BTC-PERP at index 60,000 (the perpetual's mark): notional 60,000 →
        // IM 50,000 × 1 % + 10,000 × 2 % = 700, MM 250 + 100 = 350; equity 5,000 + (60,000 − 59,000) = 6,000.
        Assert.Equal(700, isolated.GetProperty("initialMargin").GetDouble(), 6);
        Assert.Equal(350, isolated.GetProperty("maintenanceMargin").GetDouble(), 6);
        Assert.Equal(6_000, isolated.GetProperty("equity").GetDouble(), 6);
        Assert.Equal("Healthy", isolated.GetProperty("state").GetString());

        // The covered call per position: the perpetual 700 / 350 as above; the short 65,000 call is
        // 5,000 out of the money, 0.15 − 5,000 / 60,000 = 0.0667 < the 0.10 floor → 6,000 + mark for IM,
        // 0.075 × 60,000 + mark = 4,500 + mark for MM. No offset for the hedge: above the same positions'
        // portfolio margin (close to it here, because the example's 15 % scan range is wide).
        var legs = standard.GetProperty("positions");
        Assert.Equal(2, legs.GetArrayLength());
        double mark = legs[1].GetProperty("initialMargin").GetDouble() - 6_000;
        Assert.InRange(mark, 500, 5_000); // a 33-day 65,000 call at 55 % on 60,000: a few thousand
        Assert.Equal(4_500 + mark, legs[1].GetProperty("maintenanceMargin").GetDouble(), 6);
        Assert.Equal((700.0, -1.0), (legs[0].GetProperty("initialMargin").GetDouble(), legs[1].GetProperty("quantity").GetDouble()));
        Assert.Equal(6_700 + mark, standard.GetProperty("initialMargin").GetDouble(), 6);
        Assert.True(standard.GetProperty("initialMargin").GetDouble() > portfolio.GetProperty("initialMargin").GetDouble());
    }

    [Fact]
    public void Margin_TablePrintsEveryAccount()
    {
        using var llr = PeerProcess.StartDotnet("llr", "margin", Example);
        Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("covered-call", llr.Output, StringComparison.Ordinal);
        Assert.Contains("short-straddle", llr.Output, StringComparison.Ordinal);
        Assert.Contains("scenario loss:", llr.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ \"underlyings\": [ ", "$")]                                                           // bad JSON
    [InlineData("UNKNOWN", "accounts[0].positions[0].instrument: unknown instrument 'BTC-NOPE'")]
    [InlineData("NEGATIVE", "accounts[0].positions[0].quantity: -1 is not in (0, margin.maxQuantity = 1000000000]")]
    [InlineData("TYPO", "unknown field 'strik'")]
    [InlineData("MODE", "$.accounts[0].mode: 'cross' is not one of portfolio, standard, isolated")]
    [InlineData("ISOLATED-NONE", "accounts[0].mode: an isolated account is bound to exactly one instrument")]
    [InlineData("LEG", "margin.components.interCommodity[0].legs[1].underlying: unknown underlying 'ETH'")]
    [InlineData("CREDIT", "margin.components.interCommodity[0].credit: 1.5 is not a rate in [0, 1]")]
    [InlineData("ORDER", "accounts[0].orders[0].quantity: -1 is not in (0, margin.maxQuantity = 1000000000]")]
    [InlineData("TIERS", "margin.components.intraCommodity[0].tiers[0]: '2027-03' is not an ISO 8601 time with an offset")]
    public void Margin_BadPortfolio_ExitsWithAClearError(string content, string expected)
    {
        var valid = new
        {
            valuationTime = "2026-11-22T08:00:00Z",
            underlyings = new[] { new { name = "BTC", index = 60_000.0 } },
            instruments = new object[] { new { name = "BTC-PERP", underlying = "BTC", kind = "perpetual" } },
            accounts = new[] { new { name = "a", positions = new[] { new { instrument = "BTC-PERP", side = "buy", quantity = 1.0, price = 60_000.0 } } } },
        };
        string json = content switch
        {
            "UNKNOWN" => JsonSerializer.Serialize(valid, Camel).Replace("\"instrument\":\"BTC-PERP\"", "\"instrument\":\"BTC-NOPE\"", StringComparison.Ordinal),
            "NEGATIVE" => JsonSerializer.Serialize(valid, Camel).Replace("\"quantity\":1", "\"quantity\":-1", StringComparison.Ordinal),
            "TYPO" => JsonSerializer.Serialize(valid, Camel).Replace("\"kind\":\"perpetual\"", "\"kind\":\"perpetual\",\"strik\":5", StringComparison.Ordinal),
            "MODE" => JsonSerializer.Serialize(valid, Camel).Replace("{\"name\":\"a\",", "{\"name\":\"a\",\"mode\":\"cross\",", StringComparison.Ordinal),
            "ISOLATED-NONE" => JsonSerializer.Serialize(valid, Camel).Replace("{\"name\":\"a\",\"positions\":[{\"instrument\":\"BTC-PERP\",\"side\":\"buy\",\"quantity\":1,\"price\":60000}]", "{\"name\":\"a\",\"mode\":\"isolated\",\"positions\":[]", StringComparison.Ordinal),
            "LEG" => Components(valid, "\"interCommodity\":[{\"legs\":[{\"underlying\":\"BTC\",\"ratio\":1},{\"underlying\":\"ETH\",\"ratio\":-1}],\"credit\":0.5}]"),
            "CREDIT" => Components(valid, "\"interCommodity\":[{\"legs\":[{\"underlying\":\"BTC\",\"ratio\":1},{\"underlying\":\"BTC\",\"ratio\":-1}],\"credit\":1.5}]"),
            "ORDER" => JsonSerializer.Serialize(valid, Camel).Replace("\"positions\":[", "\"orders\":[{\"instrument\":\"BTC-PERP\",\"side\":\"sell\",\"quantity\":-1}],\"positions\":[", StringComparison.Ordinal),
            "TIERS" => Components(valid, "\"intraCommodity\":[{\"underlying\":\"BTC\",\"tiers\":[\"2027-03\"],\"spreads\":[]}]"),
            _ => content,
        };
        string path = _files.NewPath("portfolio");
        File.WriteAllText(path, json);
        using var llr = PeerProcess.StartDotnet("llr", "margin", path);
        Assert.Equal(2, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains(expected, llr.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", llr.Output, StringComparison.Ordinal);
    }

    private static string Components(object valid, string components) =>
        "{\"margin\":{\"components\":{" + components + "}}," + JsonSerializer.Serialize(valid, Camel)[1..];

    /// <summary>
    /// <c>llr margin</c> of examples/spreads.json: the components reproduce CME's published worked
    /// examples to the cent (the derivations are in the file's header and in PortfolioComponentsTests),
    /// and each part is reported per underlying.
    /// </summary>
    [Fact]
    public void Margin_SpreadsExample_ReproducesCmeWorkedExamples_PartByPart()
    {
        using var llr = PeerProcess.StartDotnet("llr", "margin", Path.Combine(AppContext.BaseDirectory, "examples", "spreads.json"), "--format", "json");
        Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        using var doc = JsonDocument.Parse(llr.Output[llr.Output.IndexOf('{', StringComparison.Ordinal)..]);
        var accounts = doc.RootElement.GetProperty("accounts").EnumerateArray().ToDictionary(a => a.GetProperty("account").GetString()!);
        double Im(string name) => accounts[name].GetProperty("initialMargin").GetDouble();
        JsonElement Part(string name, int u) => accounts[name].GetProperty("underlyings")[u];

        Assert.Equal(200, Im("m2-m3"), 6);
        Assert.Equal(300, Im("m2-m4"), 6);
        Assert.Equal(250, Im("m3-m4"), 6);
        Assert.Equal(250, Part("m2-m4", 0).GetProperty("scanRisk").GetDouble(), 6);
        Assert.Equal(50, Part("m2-m4", 0).GetProperty("intraCommodityCharge").GetDouble(), 6);
        Assert.Equal(300, Part("m2-m4", 0).GetProperty("requirement").GetDouble(), 6);

        Assert.Equal(2_700, Im("corn-soy"), 6);
        Assert.Equal(2_840, Im("bonds-notes"), 6); // the scanning spread
        Assert.Equal(0.55 * 3_500, Part("corn-soy", 0).GetProperty("interCommodityCredit").GetDouble(), 6);
        Assert.Equal(0.55 * 2_500, Part("corn-soy", 1).GetProperty("interCommodityCredit").GetDouble(), 6);

        // 6,000,000 notional: 1 % × (1,000,000 × 1 + 1,000,000 × 2 + 2,000,000 × 4 + 2,000,000 × 6) = 230,000; below the 20,000,000 shock threshold.
        Assert.Equal(230_000, Part("big-perp", 0).GetProperty("sizeAddOn").GetDouble(), 6);
        Assert.Equal(600_000 + 230_000, Im("big-perp"), 6);

        // Working orders, nothing filled: bids for 2 M2 (as if filled: scan 1,000) and an offer of 1 M3 (500) → the worse side.
        Assert.Equal(0, Im("resting"), 6);
        Assert.Equal(1_000, accounts["resting"].GetProperty("openOrderMargin").GetDouble(), 6);
        Assert.False(accounts["m2-m3"].TryGetProperty("openOrderMargin", out _), "no orders, no field");

        using var table = PeerProcess.StartDotnet("llr", "margin", Path.Combine(AppContext.BaseDirectory, "examples", "spreads.json"));
        Assert.Equal(0, table.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("requirement         300.00 = scan 250.00 + intra-commodity 50.00", table.Output, StringComparison.Ordinal);
        Assert.Contains("open-order margin       1,000.00", table.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>llr margin</c> of examples/historical.json: the historical preset as the margin methodology — the pair is
    /// margined on its joint sample (below its two underlyings alone), each account's IM is the ES of its sample
    /// (or the short-option minimum), and the table prints the VaR 99 % and ES beside it.
    /// </summary>
    [Fact]
    public void Margin_HistoricalExample_MarginsThePairOnItsJointSample()
    {
        using var llr = PeerProcess.StartDotnet("llr", "margin", Path.Combine(AppContext.BaseDirectory, "examples", "historical.json"), "--format", "json");
        Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        using var doc = JsonDocument.Parse(llr.Output[llr.Output.IndexOf('{', StringComparison.Ordinal)..]);
        Assert.Equal("historical-500", doc.RootElement.GetProperty("grid").GetString());
        var accounts = doc.RootElement.GetProperty("accounts").EnumerateArray().ToDictionary(a => a.GetProperty("account").GetString()!);
        var pair = accounts["pair"];
        double im = pair.GetProperty("initialMargin").GetDouble();
        double alone = pair.GetProperty("underlyings").EnumerateArray().Sum(u => u.GetProperty("scanRisk").GetDouble());
        Assert.True(im > 0 && im < alone, $"pair: IM {im}, its underlyings alone {alone}");
        Assert.Equal(im, pair.GetProperty("historicalRisk").GetProperty("expectedShortfall").GetDouble(), 6);
        var call = accounts["short-call"];
        double es = call.GetProperty("historicalRisk").GetProperty("expectedShortfall").GetDouble();
        double minimum = call.GetProperty("underlyings")[0].GetProperty("shortOptionMinimum").GetDouble();
        Assert.Equal(Math.Max(es, minimum), call.GetProperty("initialMargin").GetDouble(), 6);

        using var table = PeerProcess.StartDotnet("llr", "margin", Path.Combine(AppContext.BaseDirectory, "examples", "historical.json"));
        Assert.Equal(0, table.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("historical VaR 99%", table.Output, StringComparison.Ordinal);
        Assert.Contains("scenario loss: 500 values", table.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Margin_MissingFile_ExitsWithAClearError()
    {
        using var llr = PeerProcess.StartDotnet("llr", "margin", "/nonexistent/portfolio.json");
        Assert.Equal(2, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("cannot read the file", llr.Output, StringComparison.Ordinal);
    }
}
