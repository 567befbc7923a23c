using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// Liquidation sizing, against hand computation. The fixture's perpetual: index 30,000, multiplier
/// 1, tick 0.5, lot 0.001, margined on CME's 16-scenario grid with a 15 % price scan range (the
/// extreme moves, 3 × range at 33 %, lose 0.99 × range: the worst is the full range). So for a
/// position of q perps: IM = |q| × 30,000 × 0.15 = 4,500 |q|, MM = 0.8 × IM = 3,600 |q|, and the
/// ladder leaves liquidation at MM × 1.02 (hysteresis 2 %) = 3,672 |q|.
/// </summary>
public sealed class LiquidationSizingTests
{
    private static readonly LiquidationPolicy Policy = new(TargetFraction: 0, PriceBand: 0.01, FeeRate: 0.005);

    private static (BookFixture F, int Perp) LongTwoPerps(double collateral, double quantity = 2)
    {
        var f = new BookFixture(underlyings: 1, accounts: 2);
        int perp = f.Perp(0);
        Assert.Equal(FillResult.Applied, f.Book.ApplyFill(0, perp, quantity, 30_000));
        Assert.True(f.Book.SetCollateral(0, BookFixture.Usd, collateral));
        Assert.Equal(4_500 * Math.Abs(quantity), f.Book.InitialMargin(0), 6);
        Assert.Equal(3_600 * Math.Abs(quantity), f.Book.MaintenanceMargin(0), 6);
        return (f, perp);
    }

    [Fact]
    public void BackToMaintenance_SellsTheSmallestWholeLotCount_AtTheBandLimit()
    {
        // Equity 6,000 (collateral, no P&L: bought at the mark) < MM 7,200: short of the target
        // MM × 1.02 = 7,344 by 1,344. Selling x at the limit 30,000 × 0.99 = 29,700 costs
        // 300 x (band) + 0.005 × 29,700 x = 148.5 x (fee); the target falls to 3,672 (2 − x).
        // gap(x) = 6,000 − 448.5 x − 7,344 + 3,672 x = −1,344 + 3,223.5 x ≥ 0 ⇔ x ≥ 0.41694:
        // 0.417 lots of 0.001 (gap +0.20; 0.416 gives −3.02).
        var (f, perp) = LongTwoPerps(6_000);
        Assert.True(f.Book.PlanLiquidation(0, Policy, out var order));
        Assert.Equal(perp, order.Instrument);
        Assert.Equal(-0.417, order.Quantity, 9);
        Assert.Equal(29_700, order.LimitPrice);
        Assert.Equal(0.005 * 0.417 * 29_700, order.Fee, 9); // 61.9245
        Assert.True(order.RestoresTarget);

        // Filled at the limit with the fee taken from collateral, the account leaves liquidation.
        Assert.Equal(FillResult.Applied, f.Book.ApplyFill(0, perp, order.Quantity, order.LimitPrice));
        Assert.True(f.Book.SetCollateral(0, BookFixture.Usd, 6_000 - order.Fee));
        Assert.True(f.Book.Equity(0) >= f.Book.MaintenanceMargin(0) * 1.02);
        Assert.Equal(0.20, f.Book.Equity(0) - (f.Book.MaintenanceMargin(0) * 1.02), 2);
        Assert.False(f.Book.PlanLiquidation(0, Policy, out _)); // at the target: nothing more to sell
    }

    [Fact]
    public void BackToInitialMargin_SellsMore()
    {
        // f = 1: target = max(3,672 (2 − x), 4,500 (2 − x)) = 9,000 − 4,500 x.
        // gap(x) = 6,000 − 448.5 x − 9,000 + 4,500 x = −3,000 + 4,051.5 x ≥ 0 ⇔ x ≥ 0.74047 → 0.741.
        var (f, _) = LongTwoPerps(6_000);
        Assert.True(f.Book.PlanLiquidation(0, Policy with { TargetFraction = 1 }, out var order));
        Assert.Equal(-0.741, order.Quantity, 9);

        // f = 0.5: target = max(3,672, 4,050) (2 − x) = 8,100 − 4,050 x; gap = −2,100 + 3,601.5 x → x ≥ 0.58309 → 0.584.
        Assert.True(f.Book.PlanLiquidation(0, Policy with { TargetFraction = 0.5 }, out order));
        Assert.Equal(-0.584, order.Quantity, 9);
    }

    [Fact]
    public void AShortIsBoughtBack_AtTheUpperLimit_AndTheDearerFeeNeedsOneLotMore()
    {
        // Short 2: the worst scenario is the up move, same 4,500 per unit. Buying x at
        // 30,000 × 1.01 = 30,300 costs 300 x + 0.005 × 30,300 x = 451.5 x:
        // gap = −1,344 + 3,220.5 x ≥ 0 ⇔ x ≥ 0.41733 → 0.418 (0.417 gives −1.05).
        var (f, perp) = LongTwoPerps(6_000, quantity: -2);
        Assert.True(f.Book.PlanLiquidation(0, Policy, out var order));
        Assert.Equal(perp, order.Instrument);
        Assert.Equal(0.418, order.Quantity, 9);
        Assert.Equal(30_300, order.LimitPrice);
    }

    [Fact]
    public void WhenClosingEverythingIsNotEnough_ClosesTheWholePosition_AndSaysSo()
    {
        // Equity 500: gap(2) = 500 − 448.5 × 2 − 0 = −397 < 0, better than gap(0) = 500 − 7,344.
        var (f, _) = LongTwoPerps(500);
        Assert.True(f.Book.PlanLiquidation(0, Policy, out var order));
        Assert.Equal(-2, order.Quantity, 9);
        Assert.False(order.RestoresTarget);
        Assert.Equal(0.005 * 2 * 29_700, order.Fee, 9);
    }

    [Fact]
    public void AnAccountAtItsTarget_OrWithoutPositions_GetsNoOrder_AndAHedgeIsNeverSold()
    {
        var (f, perp) = LongTwoPerps(7_344.01); // just above MM × 1.02
        Assert.False(f.Book.PlanLiquidation(0, Policy, out _));
        Assert.False(f.Book.PlanLiquidation(1, Policy, out _)); // no positions
        Assert.False(f.Book.PlanLiquidation(99, Policy, out _)); // no such account

        // Negative control for the threshold: a cent below it, an order.
        Assert.True(f.Book.SetCollateral(0, BookFixture.Usd, 7_343.99));
        Assert.True(f.Book.PlanLiquidation(0, Policy, out var order));
        Assert.Equal(-0.001, order.Quantity, 9);

        // Add a short future (a hedge: it gains in the perp's worst scenario). The plan still
        // sells the perp, never buys back the hedge.
        var g = new BookFixture(underlyings: 1, accounts: 1);
        int p = g.Perp(0), future = g.Future(0, 0);
        g.Book.ApplyFill(0, p, 3, 30_000);
        g.Book.ApplyFill(0, future, -1, g.Book.MarkPrice(future));
        g.Book.SetCollateral(0, BookFixture.Usd, 1_000);
        Assert.True(g.Book.PlanLiquidation(0, Policy, out order));
        Assert.Equal(p, order.Instrument);
        Assert.True(order.Quantity < 0);
        Assert.NotEqual(future, order.Instrument);
    }

    [Fact]
    public void Policy_RefusesValuesOutsideTheirRange_NamingEach()
    {
        Assert.Empty(LiquidationPolicy.Default.Problems());
        var problems = new LiquidationPolicy(1.5, 0.5, double.NaN).Problems("liquidation.");
        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("liquidation.targetFraction", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("liquidation.priceBand", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("liquidation.feeRate", StringComparison.Ordinal));
    }

    [Fact]
    public void Sizing_DoesNotAllocate()
    {
        var (f, _) = LongTwoPerps(6_000);
        GcAssert.NoAllocation(f.Book, static book =>
        {
            if (!book.PlanLiquidation(0, Policy, out var order) || order.Quantity > -0.4)
            {
                throw new InvalidOperationException("no plan");
            }
        });
    }
}
