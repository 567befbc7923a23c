using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;

namespace LowLatencyRisk.Engine.Tests;

/// <summary><c>llr margin</c> with <c>"settlement": "inverse"</c>: an inverse perpetual margined as the coins it carries; inverse where it cannot be refused by path.</summary>
public sealed class InverseContractFileTests
{
    private static string Portfolio(string settlement = "\"settlement\": \"inverse\"", string kind = "perpetual") => $$"""
        {
          "valuationTime": "2026-11-22T08:00:00Z",
          "scenarioGrid": { "preset": "cmeSpan16", "priceScanRange": 0.15, "volScanRange": 0.25 },
          "underlyings": [ { "name": "BTC", "index": 60000 } ],
          "instruments": [
            { "name": "BTC-PERPETUAL", "underlying": "BTC", "kind": "{{kind}}", "strike": 60000, "expiry": "2027-03-26T08:00:00Z", "multiplier": 10, "lotSize": 1, {{settlement}} }
          ],
          "accounts": [
            { "name": "long", "collateral": [ { "asset": "USD", "balance": 100000 } ], "positions": [ { "instrument": "BTC-PERPETUAL", "side": "buy", "quantity": 12000, "price": 48000 } ] }
          ]
        }
        """.Replace("\"strike\": 60000, \"expiry\": \"2027-03-26T08:00:00Z\", ", kind == "perpetual" ? "" : "\"strike\": 60000, \"expiry\": \"2027-03-26T08:00:00Z\", ", StringComparison.Ordinal);

    [Fact]
    public void AnInversePerpetual_IsMarginedAsTheCoinsItCarries()
    {
        // 12,000 contracts of $10 bought at 48,000 carry 12,000 × 10 / 48,000 = 2.5 coins. At 60,000:
        // IM = 2.5 × 60,000 × 15 % = 22,500; unrealized 2.5 × (60,000 − 48,000) = 30,000 (the coin P&L
        // 120,000 × (1/48,000 − 1/60,000) = 0.5 coins at 60,000), so equity 130,000.
        var r = PortfolioMargin.Compute(Portfolio(), "inverse");
        var a = r.Accounts[0];
        Assert.Equal(22_500, a.InitialMargin, 6);
        Assert.Equal(130_000, a.Equity, 6);

        // The same file read as linear: 12,000 contracts of multiplier 10 = 120,000 coins — the control.
        var linear = PortfolioMargin.Compute(Portfolio(settlement: "\"settlement\": \"linear\""), "linear");
        Assert.Equal(120_000.0 * 60_000 * 0.15, linear.Accounts[0].InitialMargin, 0);
    }

    [Theory]
    [InlineData("\"settlement\": \"inverse\"", "call", "instruments[0].settlement: linear or inverse, and inverse only for futures and perpetuals")]
    [InlineData("\"settlement\": \"coin\"", "perpetual", "settlement")]
    public void InverseWhereItCannotBe_IsRefusedByPath(string settlement, string kind, string expected)
    {
        var e = Assert.ThrowsAny<Exception>(() => PortfolioMargin.Compute(Portfolio(settlement, kind), "p"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
