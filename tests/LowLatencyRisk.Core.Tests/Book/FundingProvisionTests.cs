using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Persistence;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// The funding provision in initial margin (<see cref="RiskConfig.FundingProvision"/>): each paying
/// perpetual position adds max(0, quantity × multiplier × mark × rate). The fixture's BTC perpetual:
/// multiplier 1, mark = index 30,000. Every figure is compared with the same book without the
/// provision (the negative control: the difference is the provision and nothing else).
/// </summary>
public class FundingProvisionTests
{
    private const long Hour = 3_600_000_000_000;

    /// <summary>Accounts: 0 long 10 perpetuals, 1 short 3, 2 long 10 in standard margin, 3 long 10 of the 30-day future.</summary>
    private static BookFixture Book(bool provision)
    {
        var f = new BookFixture(underlyings: 1, accounts: 4, fundingProvision: provision);
        var book = f.Book;
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(2, MarginMode.Standard));
        for (int a = 0; a < 4; a++)
        {
            book.SetCollateral(a, BookFixture.Usd, 1e6);
        }

        book.ApplyFill(0, f.Perp(0), 10, 30_000);
        book.ApplyFill(1, f.Perp(0), -3, 30_000);
        book.ApplyFill(2, f.Perp(0), 10, 30_000);
        book.ApplyFill(3, f.Future(0, 0), 10, book.MarkPrice(f.Future(0, 0)));
        return f;
    }

    [Fact]
    public void TheProvision_ChargesThePayersNextPayment_InInitialMargin()
    {
        var f = Book(provision: true);
        var g = Book(provision: false);
        RiskBook book = f.Book, control = g.Book;
        int perp = f.Perp(0);
        for (int a = 0; a < 4; a++)
        {
            Assert.Equal(control.InitialMargin(a), book.InitialMargin(a), 9); // no rate yet: nothing to provide for
        }

        // +1 bp per interval, set (a book file's rate): effective at the next revaluation, like a mark.
        Assert.True(book.SetFundingRate(perp, 0.0001));
        Assert.True(control.SetFundingRate(perp, 0.0001));
        Assert.Equal(0, book.FundingProvision(0));
        book.Revalue();
        control.Revalue();

        // The long of 10 would pay 10 × 30,000 × 0.0001 = 30 at the next funding time: IM + 30; MM is the
        // methodology's 80 % of the larger IM.
        Assert.Equal(30, book.FundingProvision(0), 9);
        Assert.Equal(control.InitialMargin(0) + 30, book.InitialMargin(0), 9);
        Assert.Equal(0.8 * book.InitialMargin(0), book.MaintenanceMargin(0), 9);
        // The short would receive: no provision.
        Assert.Equal(0, book.FundingProvision(1));
        Assert.Equal(control.InitialMargin(1), book.InitialMargin(1), 9);
        // Standard margin: IM + 30, maintenance its positions' own (unchanged).
        Assert.Equal(control.InitialMargin(2) + 30, book.InitialMargin(2), 9);
        Assert.Equal(control.MaintenanceMargin(2), book.MaintenanceMargin(2), 9);
        // A future pays no funding.
        Assert.Equal(control.InitialMargin(3), book.InitialMargin(3), 9);

        // A funding event at −2 bp: paid, and from then on the short is the payer: 3 × 30,000 × 0.0002 = 18.
        Assert.Equal(FundingResult.Applied, book.BeginFunding(perp, -0.0002, BookFixture.Start + (8 * Hour)));
        Assert.Equal(FundingResult.Applied, control.BeginFunding(perp, -0.0002, BookFixture.Start + (8 * Hour)));
        book.ContinueFunding(int.MaxValue);
        control.ContinueFunding(int.MaxValue);
        book.Revalue();
        control.Revalue();
        Assert.Equal(-0.0002, book.FundingRateOf(perp));
        Assert.Equal(0, book.FundingProvision(0));
        Assert.Equal(18, book.FundingProvision(1), 9);
        Assert.Equal(control.InitialMargin(1) + 18, book.InitialMargin(1), 9);

        // What-if of selling 2 more: the short of 5 would provide 5 × 30,000 × 0.0002 = 30.
        var whatIf = book.WhatIf(1, perp, -2);
        Assert.Equal(control.WhatIf(1, perp, -2).InitialMarginAfter + 30, whatIf.InitialMarginAfter, 9);
        book.ApplyFill(1, perp, -2, 30_000);
        control.ApplyFill(1, perp, -2, 30_000);
        Assert.Equal(whatIf.InitialMarginAfter, book.InitialMargin(1), 9);
        Assert.Equal(30, book.FundingProvision(1), 9);
        // Standard margin's what-if too: a long pays nothing at a negative rate, a short of 4 from it would (4 × 6 = 24).
        Assert.Equal(control.WhatIf(2, perp, -14).InitialMarginAfter + 24, book.WhatIf(2, perp, -14).InitialMarginAfter, 9);

        // Closing the position takes the provision with it.
        book.ApplyFill(1, perp, 5, 30_000);
        Assert.Equal(0, book.FundingProvision(1));
        Assert.Equal(0, book.InitialMargin(1), 12);
        for (int a = 0; a < 4; a++)
        {
            RiskBookExactnessTests.AssertMatches(book, a);
        }

        // A mode switch sees it: the standard account's requirement as portfolio includes the same provision.
        Assert.Equal(control.RequirementUnder(0, MarginMode.Standard).Initial, book.RequirementUnder(0, MarginMode.Standard).Initial, 9);
        Assert.True(book.SetFundingRate(perp, 0.0001));
        book.Revalue();
        control.SetFundingRate(perp, 0.0001);
        control.Revalue();
        Assert.Equal(control.RequirementUnder(2, MarginMode.Portfolio).Initial + 30, book.RequirementUnder(2, MarginMode.Portfolio).Initial, 9);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ATransferOut_IsCheckedAgainstTheRequirementWithTheProvision(bool provision)
    {
        // Parent: long 10 perpetuals at 30,000 on 100,000 (IM 45,000; with the provision at 1 bp, 45,030).
        // Moving 54,980 to its isolated child leaves equity 45,020: enough without the provision (the
        // control), 10 short with it — refused.
        var f = new BookFixture(underlyings: 1, accounts: 2, fundingProvision: provision);
        var book = f.Book;
        int perp = f.Perp(0);
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(1, MarginMode.Isolated, parent: 0, instrument: perp));
        book.SetCollateral(0, BookFixture.Usd, 100_000);
        book.ApplyFill(0, perp, 10, 30_000);
        book.SetFundingRate(perp, 0.0001);
        book.Revalue();
        Assert.Equal(provision ? 45_030 : 45_000, book.InitialMargin(0), 6);
        var result = book.TransferCollateral(0, 1, BookFixture.Usd, 54_980);
        Assert.Equal(provision ? TransferResult.RejectedWouldBreach : TransferResult.Applied, result);
    }

    [Fact]
    public void ARateIsRefused_ForANonPerpetual_AnUnknownId_OrAValueBeyondTheBound()
    {
        var f = Book(provision: true);
        Assert.False(f.Book.SetFundingRate(f.Future(0, 0), 0.0001));
        Assert.False(f.Book.SetFundingRate(9_999, 0.0001));
        Assert.False(f.Book.SetFundingRate(f.Perp(0), double.NaN));
        Assert.False(f.Book.SetFundingRate(f.Perp(0), 0.6));
        Assert.Equal(0, f.Book.FundingRateOf(f.Perp(0)));
    }

    [Fact]
    public void LongRandomSequence_WithTheProvision_EveryAccountEqualsFromScratchRecomputation() =>
        RiskBookExactnessTests.RunLongRandomSequence(null, fundingProvision: true);

    [Fact]
    public void TheRateAndTheProvision_RoundTripThroughTheStateWalk()
    {
        var live = Book(provision: true);
        live.Book.SetFundingRate(live.Perp(0), 0.0003);
        live.Book.Revalue();
        var measure = new StateMeasure();
        live.Book.VisitState(measure);
        var bytes = new byte[measure.Length];
        live.Book.VisitState(new StateCapture(bytes));
        var restored = new BookFixture(underlyings: 1, accounts: 4, fundingProvision: true);
        restored.Book.VisitState(new StateRestore(bytes));
        Assert.Equal(0.0003, restored.Book.FundingRateOf(restored.Perp(0)));
        for (int a = 0; a < 4; a++)
        {
            Assert.Equal(live.Book.FundingProvision(a), restored.Book.FundingProvision(a));
            Assert.Equal(live.Book.InitialMargin(a), restored.Book.InitialMargin(a));
        }

        Assert.Equal(90, restored.Book.FundingProvision(0), 9); // 10 × 30,000 × 0.0003
    }

    [Fact]
    public void FillTickAndFunding_WithTheProvision_DoNotAllocate()
    {
        var f = new BookFixture(underlyings: 1, accounts: 64, fundingProvision: true);
        var book = f.Book;
        int perp = f.Perp(0);
        for (int a = 0; a < 64; a++)
        {
            book.SetCollateral(a, BookFixture.Usd, 1e6);
            book.ApplyFill(a, perp, (a % 3) - 1 + 0.5, 30_000);
        }

        book.SetFundingRate(perp, 0.0001);
        book.Revalue();
        long t = BookFixture.Start;
        GcAssert.NoAllocation(book, b =>
        {
            t += Hour;
            b.ApplyFill((int)(t / Hour % 64), perp, 0.1, 30_000);
            b.WhatIf(3, perp, 1);
            b.UpdateIndex(0, 30_000 + (t / Hour % 7), t);
            b.BeginFunding(perp, (t / Hour % 2 == 0 ? 1 : -1) * 0.0001, t);
            while (!b.ContinueFunding(8))
            {
            }

            b.Revalue();
            while (b.TryDequeueTransition(out _))
            {
            }
        }, warmUp: 50, iterations: 1_000);
    }
}
