using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;

namespace LowLatencyRisk.Engine.Tests;

/// <summary><c>llr margin</c> with <c>margin.fundingProvision</c> and a perpetual's <c>fundingRate</c>: the provision reported and in IM; a rate where none belongs refused by path.</summary>
public sealed class FundingProvisionFileTests
{
    private static string Portfolio(bool provision, string rate = "\"fundingRate\": 0.0001", string futureRate = "") => $$"""
        {
          "valuationTime": "2026-11-22T08:00:00Z",
          "scenarioGrid": { "preset": "cmeSpan16", "priceScanRange": 0.15, "volScanRange": 0.25 },
          "margin": { "fundingProvision": {{(provision ? "true" : "false")}} },
          "underlyings": [ { "name": "BTC", "index": 60000 } ],
          "instruments": [
            { "name": "BTC-PERP", "underlying": "BTC", "kind": "perpetual", {{rate}} },
            { "name": "BTC-26MAR27", "underlying": "BTC", "kind": "future", "expiry": "2027-03-26T08:00:00Z" {{futureRate}} }
          ],
          "accounts": [
            { "name": "long", "collateral": [ { "asset": "USD", "balance": 100000 } ], "positions": [ { "instrument": "BTC-PERP", "side": "buy", "quantity": 2, "price": 60000 } ] },
            { "name": "short", "collateral": [ { "asset": "USD", "balance": 100000 } ], "positions": [ { "instrument": "BTC-PERP", "side": "sell", "quantity": 2, "price": 60000 } ] }
          ]
        }
        """;

    [Fact]
    public void TheProvision_IsTheLongsNextPayment_ReportedAndInInitialMargin()
    {
        var on = PortfolioMargin.Compute(Portfolio(provision: true), "on");
        var off = PortfolioMargin.Compute(Portfolio(provision: false), "off");
        // Long 2 at 60,000 at 1 bp: 2 × 60,000 × 0.0001 = 12; IM 2 × 60,000 × 15 % = 18,000 + 12.
        Assert.Equal(12, on.Accounts[0].FundingProvision!.Value, 9);
        Assert.Equal(18_012, on.Accounts[0].InitialMargin, 6);
        Assert.Equal(18_000, off.Accounts[0].InitialMargin, 6);
        Assert.Null(off.Accounts[0].FundingProvision);
        Assert.Equal(0, on.Accounts[1].FundingProvision!.Value); // the short receives
        Assert.Equal(off.Accounts[1].InitialMargin, on.Accounts[1].InitialMargin, 9);
        Assert.Contains("funding provision          12.00", on.ToTable(), StringComparison.Ordinal);
        Assert.Contains("\"fundingProvision\": 12", on.ToJson(), StringComparison.Ordinal);
        Assert.Equal(12, on.Accounts[0].Underlyings[0].FundingProvision, 9); // per underlying too
        Assert.Contains("    funding provision          12.00 (this underlying's paying perpetuals)", on.ToTable(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"fundingRate\": 0.7", "", "instruments[0].fundingRate: 0.7 is not a rate per interval within ±0.5")]
    [InlineData("\"fundingRate\": 0.0001", ", \"fundingRate\": 0.0001", "instruments[1].fundingRate: only perpetuals pay funding")]
    public void ARateWhereNoneBelongs_IsRefusedByPath(string rate, string futureRate, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => PortfolioMargin.Compute(Portfolio(true, rate, futureRate), "p"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
