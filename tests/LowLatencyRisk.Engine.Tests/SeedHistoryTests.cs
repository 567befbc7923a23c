using System.Globalization;
using System.Text;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests;

/// <summary><c>margin.dynamicRange.seedHistory</c>: each underlying's EWMA seeded from a CSV of daily closes, by name; problems named by path.</summary>
public sealed class SeedHistoryTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>61 closes: BTC alternating ±1 %, ETH alternating ±2 % (constant squared returns: the EWMA stays at them).</summary>
    private string History(string header = "date,BTC,ETH")
    {
        var b = new StringBuilder(header + "\n");
        double btc = 100, eth = 10;
        for (int t = 0; t <= 60; t++)
        {
            b.Append(CultureInfo.InvariantCulture, $"{new DateOnly(2024, 1, 1).AddDays(t):yyyy-MM-dd},{btc:R},{eth:R}\n");
            btc = t % 2 == 0 ? btc * 1.01 : btc / 1.01;
            eth = t % 2 == 0 ? eth * 1.02 : eth / 1.02;
        }

        string path = _files.NewPath("closes") + ".csv";
        File.WriteAllText(path, b.ToString());
        return path;
    }

    private static LlrConfig Config(string path) => LlrConfig.Parse($$"""{ "margin": { "dynamicRange": { "enabled": true, "seedHistory": "{{path}}" } } }""");

    private static RiskConfig Shape => new() { MaxUnderlyings = 2, MaxInstruments = 4, MaxAccounts = 1, MaxPositionsPerAccount = 1, MaxAssets = 1 };

    [Fact]
    public void EachUnderlying_IsSeededWithItsHistorysEwma()
    {
        // Every squared daily return of BTC is (ln 1.01)²: the seed (their mean) and every EWMA step keep it,
        // σ = ln 1.01 = 0.00995033; ETH's ln 1.02 = 0.0198026.
        var applied = Config(History()).Apply(Shape, ["BTC", "ETH"]);
        Assert.Equal(2, applied.DynamicRange.SeedDailyVolatilities.Count);
        Assert.Equal(Math.Log(1.01), applied.DynamicRange.SeedDailyVolatilities[0], 12);
        Assert.Equal(Math.Log(1.02), applied.DynamicRange.SeedDailyVolatilities[1], 12);
        Assert.Equal(0.00995033, applied.DynamicRange.SeedFor(0), 8);

        // The book starts there: the first tick's σ is the history's, not the configured 3 %.
        var book = new RiskBook(applied);
        book.DefineUnderlying(0);
        book.UpdateIndex(0, 30_000, 1_767_225_600_000_000_000);
        Assert.Equal(Math.Log(1.01), book.EwmaDailyVolatility(0), 12);
    }

    [Fact]
    public void ASeedHistoryWithoutTheRangeOn_IsRefused_NotIgnored()
    {
        var e = Assert.Throws<ConfigException>(() => LlrConfig.Parse("""{ "margin": { "dynamicRange": { "seedHistory": "closes.csv" } } }"""));
        Assert.Contains("margin.dynamicRange.seedHistory: applies only with \"enabled\": true", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingColumn_AnUnreadableFile_AndABadLine_AreRefusedByPath()
    {
        var e = Assert.Throws<ConfigException>(() => Config(History("date,BTC,SOL")).Apply(Shape, ["BTC", "ETH"]));
        Assert.Contains("margin.dynamicRange.seedHistory", e.Message, StringComparison.Ordinal);
        Assert.Contains("no column for underlying 'ETH' (the header names BTC, SOL)", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<ConfigException>(() => Config(_files.NewPath("nowhere")).Apply(Shape, ["BTC", "ETH"]));
        Assert.Contains("cannot read the file", e.Message, StringComparison.Ordinal);

        string bad = _files.NewPath("bad") + ".csv";
        File.WriteAllText(bad, "date,BTC,ETH\n2024-01-01,1,x\n");
        e = Assert.Throws<ConfigException>(() => Config(bad).Apply(Shape, ["BTC", "ETH"]));
        Assert.Contains("line 2, field 3 (ETH): 'x' is not a finite positive close", e.Message, StringComparison.Ordinal);
    }
}
