using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// Inverse (coin-settled) futures and perpetuals: quantities in contracts of a face value in dollars,
/// P&amp;L in coin, contracts × face × (1/entry − 1/exit). The book carries a position as the coins
/// it is worth at entry, E = contracts × face / average (the harmonic average of the fill prices),
/// valued like a linear position of E coins — every number below is derived by hand in the coin
/// formulas and must equal what the book says.
/// </summary>
public class InverseContractTests
{
    private const double Face = 100; // BTC inverse contracts of the fixture: $100 each

    private static (BookFixture F, RiskBook Book, int Perp) Fixture()
    {
        var f = new BookFixture(underlyings: 2, accounts: 10, inverse: true);
        var book = f.Book;
        for (int a = 0; a < 10; a++)
        {
            Assert.True(book.SetCollateral(a, BookFixture.Usd, 100_000));
        }

        return (f, book, f.Inverse(0, 0));
    }

    [Fact]
    public void OpenAddReduceFlipAndClose_BookTheCoinPnlOfTheContracts_AtTheHarmonicAverage()
    {
        var (_, book, perp) = Fixture();
        Assert.Equal(30_000, book.MarkPrice(perp)); // the perpetual tracks the BTC index

        // Buy 3,000 contracts at 30,000: 3,000 × 100 / 30,000 = 10 coins.
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, perp, 3_000, 30_000));
        Assert.Equal((3_000.0, 10.0, 30_000.0), (book.PositionQuantity(0, perp), book.PositionUnits(0, perp), book.PositionAveragePrice(0, perp)));

        // Buy 2,000 more at 40,000: + 2,000 × 100 / 40,000 = 5 coins, 15 in all; the average is the harmonic
        // mean, 5,000 / (3,000 / 30,000 + 2,000 / 40,000) = 5,000 / 0.15 = 33,333.33…
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, perp, 2_000, 40_000));
        Assert.Equal(5_000, book.PositionQuantity(0, perp), 9);
        Assert.Equal(15, book.PositionUnits(0, perp), 12);
        Assert.Equal(5_000.0 / 0.15, book.PositionAveragePrice(0, perp), 9);

        // Unrealized at the mark 30,000: coin P&L 5,000 × 100 × (1/33,333.33 − 1/30,000) = −1.6667 coins,
        // × 30,000 = −50,000 dollars (= 15 × (30,000 − 33,333.33)).
        Assert.Equal(-50_000, book.UnrealizedPnl(0, 0), 6);

        // Initial margin: the CME 16-scenario grid of the fixture scans ±15 %, so the worst loss of 15 coins
        // long is 15 × 30,000 × 0.15 = 67,500 (the extreme moves, 3 × 15 % at 33 %, lose 66,825).
        Assert.Equal(67_500, book.InitialMargin(0), 6);

        // Sell 1,000 at 36,000: reduces by the closed contracts' coins at the average, 1,000 × 100 / 33,333.33
        // = 3 coins, realizing 1,000 × 100 × (1/33,333.33 − 1/36,000) = 0.22222 coins × 36,000 = 8,000.
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, perp, -1_000, 36_000));
        Assert.Equal(4_000, book.PositionQuantity(0, perp), 9);
        Assert.Equal(12, book.PositionUnits(0, perp), 12);
        Assert.Equal(5_000.0 / 0.15, book.PositionAveragePrice(0, perp), 9);
        Assert.Equal(8_000, book.RealizedPnl(0), 6);

        // Flip: sell 6,000 at 30,000 — the 4,000 held close, 4,000 × 100 × (1/33,333.33 − 1/30,000) × 30,000
        // = −40,000 — and 2,000 open short at 30,000: −2,000 × 100 / 30,000 = −6.6667 coins.
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, perp, -6_000, 30_000));
        Assert.Equal(-2_000, book.PositionQuantity(0, perp), 9);
        Assert.Equal(-2_000.0 * Face / 30_000, book.PositionUnits(0, perp), 12);
        Assert.Equal(30_000, book.PositionAveragePrice(0, perp));
        Assert.Equal(-32_000, book.RealizedPnl(0), 6);

        // Close at 30,000: flat, nothing more realized, the position gone.
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, perp, 2_000, 30_000));
        Assert.Equal(0, book.PositionCount(0));
        Assert.Equal(-32_000, book.RealizedPnl(0), 6);
        Assert.Equal(68_000, book.Equity(0), 6);
        Assert.Equal(0, book.InitialMargin(0));
    }

    [Fact]
    public void AFillFarBelowTheMark_WhoseCoinsWouldBeUnbounded_IsRefusedAndChangesNothing()
    {
        // 1,000 contracts of $100 at a price of 1e-300 carry 1e305 coins (worth ∞ at the mark): refused as
        // invalid, like a linear fill beyond the notional limit; the book is as it was, every number finite.
        var (_, book, perp) = Fixture();
        Assert.Equal(FillResult.Applied, book.ApplyFill(7, perp, 1_000, 30_000));
        double equity = book.Equity(7), im = book.InitialMargin(7);
        Assert.Equal(FillResult.RejectedInvalid, book.ApplyFill(7, perp, 1_000, 1e-300));
        Assert.Equal(FillResult.RejectedInvalid, book.ApplyFill(8, perp, 1, double.Epsilon));
        Assert.Equal((1_000.0, equity, im), (book.PositionQuantity(7, perp), book.Equity(7), book.InitialMargin(7)));
        Assert.Equal(0, book.PositionCount(8));
        // A sale at such a price reduces at the average (the coins are the held ones): bounded, applied.
        Assert.Equal(FillResult.Applied, book.ApplyFill(7, perp, -500, 1e-6));
        Assert.True(double.IsFinite(book.Equity(7)) && double.IsFinite(book.InitialMargin(7)));
        RiskBookExactnessTests.AssertMatches(book, 7);
    }

    [Fact]
    public void AnInversePositionIsMarginedLikeTheCoinsItCarries_AndUnlikeALinearOneOfAsManyContracts()
    {
        // 3,000 inverse contracts at 30,000 carry 10 coins; a linear perpetual of multiplier 1 and 10 contracts
        // is the same risk: same IM, delta, risk array. (The negative control: 3,000 linear contracts of
        // multiplier 100 would be 300,000 coins.)
        var (f, book, perp) = Fixture();
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, perp, 3_000, 30_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(1, f.Perp(0), 10, 30_000));
        book.Revalue();
        Assert.Equal(book.InitialMargin(1), book.InitialMargin(0), 9);
        Assert.Equal(book.NetDelta(1, 0), book.NetDelta(0, 0), 12);
        Assert.Equal(10, book.NetDelta(0, 0), 12);
        Assert.Equal(book.RiskArray(1, 0).ToArray(), book.RiskArray(0, 0).ToArray());
        Assert.Equal(300_000 * 0.15 * 30_000, 10 * 30_000 * 0.15 * 30_000, 0); // what the linear reading would charge, for scale
        Assert.NotEqual(300_000 * 0.15 * 30_000, book.InitialMargin(0));

        // Per contract, the delta is the coins a contract carries at the mark: 100 / 30,000.
        Assert.Equal(Face / 30_000, book.InstrumentDelta(perp), 15);
        // The quote-currency notional the gate and fees count is contracts × face.
        Assert.Equal(300_000, book.ContractNotional(perp, 3_000, 30_000));
        Assert.Equal(300_000, book.ContractNotional(f.Perp(0), 10, 30_000));
    }

    [Fact]
    public void Funding_OnAnInversePerpetual_IsContractsTimesFaceTimesRate_NotTheCoinsValueAtTheMark()
    {
        // Long 1,000 contracts opened at 25,000 (4 coins) and short 1,000 opened at 30,000 (3.3333 coins);
        // at a rate of 0.01 % each pays or receives 1,000 × 100 × 0.0001 = 10 dollars (face / mark × rate coins
        // per contract, converted at the mark). The linear formula on the coins — units × mark × rate — would
        // charge the long 4 × 30,000 × 0.0001 = 12.
        var (_, book, perp) = Fixture();
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, perp, 1_000, 25_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(1, perp, -1_000, 30_000));
        book.Revalue();
        double long0 = book.Equity(0), short0 = book.Equity(1);
        Assert.Equal(FundingResult.Applied, book.BeginFunding(perp, 0.0001, BookFixture.Start + BookFixture.Day));
        Assert.True(book.ContinueFunding(int.MaxValue));
        Assert.Equal(-10, book.Equity(0) - long0, 9);
        Assert.Equal(10, book.Equity(1) - short0, 9);
    }

    [Fact]
    public void StandardMargin_ChargesTheCoinsNotionalAtTheMark_InItsTiers()
    {
        // 1,000 contracts at 30,000 carry 3.3333 coins, worth 100,000 at the mark: the default tiers charge
        // 50,000 × 1 % + 50,000 × 2 % = 1,500 initial and 50,000 × 0.5 % + 50,000 × 1 % = 750 maintenance.
        var (_, book, perp) = Fixture();
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(2, MarginMode.Standard));
        Assert.Equal(FillResult.Applied, book.ApplyFill(2, perp, 1_000, 30_000));
        book.Revalue();
        Assert.Equal(1_500, book.InitialMargin(2), 6);
        Assert.Equal(750, book.MaintenanceMargin(2), 6);
        // The what-if of 1,000 more at the mark: 6.6667 coins, 200,000: 500 + 3,000 = 3,500.
        Assert.Equal(3_500, book.WhatIf(2, perp, 1_000).InitialMarginAfter, 6);
    }

    [Fact]
    public void TheGate_CountsAnInverseOrdersNotionalAsContractsTimesFace()
    {
        var (_, book, perp) = Fixture();
        var gate = new PreTradeGate(book, new GateConfig());
        gate.SetInstrumentLimits(perp, maxOrderQuantity: 1e6, maxOrderNotional: 150_000);
        long now = BookFixture.Start + 1;
        // 1,000 contracts: 100,000 (not 1,000 × 30,000 × 100) — accepted; 2,000: 200,000 — refused, and says so.
        Assert.Equal(RejectReason.None, gate.Check(new OrderRequest(3, perp, OrderSide.Buy, 1_000, 30_000, OrderType.Limit, 1), now).Reason);
        var refused = gate.Check(new OrderRequest(3, perp, OrderSide.Buy, 2_000, 30_000, OrderType.Limit, 2), now);
        Assert.Equal(RejectReason.MaxOrderValue, refused.Reason);
        Assert.Equal(200_000, refused.Actual);
        Assert.Equal(100_000, gate.WorkingNotional(3));
    }

    [Fact]
    public void LiquidationSizing_SellsWholeContracts_WhoseCoinsRestoreTheTarget_AndChargesTheFeeOnTheirFace()
    {
        // 600 contracts bought at 30,000 carry 2 coins: IM 2 × 30,000 × 15 % = 9,000, MM 7,200; equity 6,000 is
        // short of MM × 1.02 = 7,344 by 1,344. Selling x contracts at the band limit 29,700 closes u = x × 100 / 30,000
        // coins at the average, realizing u × (29,700 − 30,000) = −300 u, with a fee of 0.5 % of the face, 0.5 x = 150 u;
        // the target falls by 3,672 u: gap = −1,344 + (3,672 − 300 − 150) u ≥ 0 ⇔ u ≥ 0.417132 ⇔ x ≥ 125.14: 126
        // contracts (125 leaves −1.50; 126 gives +9.24). A linear reading of the fee (0.5 % of x × 29,700 × 100) would
        // charge 18,711.
        var (_, book, perp) = Fixture();
        var policy = new LiquidationPolicy(TargetFraction: 0, PriceBand: 0.01, FeeRate: 0.005);
        Assert.Equal(FillResult.Applied, book.ApplyFill(5, perp, 600, 30_000));
        Assert.True(book.SetCollateral(5, BookFixture.Usd, 6_000));
        Assert.Equal(9_000, book.InitialMargin(5), 6);
        Assert.True(book.PlanLiquidation(5, policy, out var order));
        Assert.Equal((perp, -126.0, 29_700.0), (order.Instrument, order.Quantity, order.LimitPrice));
        Assert.Equal(63, order.Fee, 9);
        Assert.True(order.RestoresTarget);

        Assert.Equal(FillResult.Applied, book.ApplyFill(5, perp, order.Quantity, order.LimitPrice));
        Assert.True(book.SetCollateral(5, BookFixture.Usd, 6_000 - order.Fee));
        Assert.Equal(9.24, book.Equity(5) - (book.MaintenanceMargin(5) * 1.02), 2);
        Assert.Equal(474, book.PositionQuantity(5, perp), 9);
    }

    [Theory]
    [InlineData(InstrumentKind.Call)]
    [InlineData(InstrumentKind.Spot)]
    public void InverseSettlement_IsRefusedForOptionsAndSpot_AndAnUnknownSettlementForAnything(InstrumentKind kind)
    {
        var (_, book, _) = Fixture();
        var spec = new InstrumentSpec(kind, 0, kind == InstrumentKind.Call ? 30_000 : 0, BookFixture.Start + (30 * BookFixture.Day), 100, 0.5, 1) { Settlement = Settlement.Inverse };
        Assert.Equal(DefinitionResult.InvalidSettlement, book.TryDefineInstrument(100, spec));
        Assert.Equal(DefinitionResult.InvalidSettlement, book.TryDefineInstrument(100, spec with { Kind = InstrumentKind.Perpetual, Settlement = (Settlement)7 }));
        Assert.Equal(DefinitionResult.Defined, book.TryDefineInstrument(100, spec with { Kind = InstrumentKind.Perpetual }));
        Assert.True(book.Instrument(100).IsInverse);

        // Before its first revaluation it has no mark to turn contracts into coins at: a what-if at the mark
        // sees nothing (as a linear instrument's all-zero row does), and says so in finite numbers.
        Assert.Equal(0, book.MarkPrice(100));
        var r = book.WhatIf(0, 100, 1_000);
        Assert.Equal((book.InitialMargin(0), book.Equity(0)), (r.InitialMarginAfter, r.EquityAfter));
    }

    [Theory]
    [InlineData(MarginMode.Portfolio)]
    [InlineData(MarginMode.Standard)]
    public void WorkingInverseOrders_CountTheCoinsTheyWouldCarry_AsTheFromScratchRecomputationSays(MarginMode mode)
    {
        // Resting orders on the inverse perpetual and future beside a position: the open-order margin the book
        // keeps (side arrays in portfolio, per position otherwise) equals the verifier's, which values each
        // working contract at face / mark coins (a reduction: at the average) on its own.
        var (f, book, perp) = Fixture();
        int future = f.Inverse(0, 1);
        if (mode != MarginMode.Portfolio)
        {
            Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(6, mode));
        }

        Assert.Equal(FillResult.Applied, book.ApplyFill(6, perp, 2_000, 31_000));
        book.Revalue();
        Assert.True(book.AddWorkingOrder(6, perp, 1_500));
        Assert.True(book.AddWorkingOrder(6, perp, -2_500));
        Assert.True(book.AddWorkingOrder(6, future, -700));
        Assert.True(book.OpenOrderMargin(6) > 0);
        RiskBookExactnessTests.AssertMatches(book, 6);
        Assert.True(book.UpdateIndex(0, 31_500, BookFixture.Start + BookFixture.Day) == MarkResult.Accepted);
        book.Revalue(); // the arrays follow the new mark
        RiskBookExactnessTests.AssertMatches(book, 6);
        Assert.True(book.RemoveWorkingOrder(6, perp, -2_500));
        RiskBookExactnessTests.AssertMatches(book, 6);
    }

    [Fact]
    public void InverseFillAndWhatIf_DoNotAllocate()
    {
        var (f, book, perp) = Fixture();
        int future = f.Inverse(0, 1);
        Assert.Equal(FillResult.Applied, book.ApplyFill(4, perp, 500, 30_000));
        book.Revalue();
        long n = 0;
        GcAssert.NoAllocation(() =>
        {
            // Adds, reduces and flips by turns, and a what-if each time.
            double q = (n++ % 3) switch { 0 => 300, 1 => -200, _ => -150 };
            book.ApplyFill(4, future, q, 30_000 + (n % 7));
            book.WhatIf(4, perp, -q);
            while (book.TryDequeueTransition(out _))
            {
            }
        });
    }
}
