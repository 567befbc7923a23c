using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>Perpetual funding in the book: who pays what, in steps, refused events, exactness and allocation. The fixture's BTC perpetual: multiplier 1, mark = index 30,000.</summary>
public class FundingTests
{
    private const long Hour = 3_600_000_000_000;

    [Fact]
    public void ALongPaysAndAShortReceives_QuantityTimesMarkTimesRate()
    {
        var f = new BookFixture(underlyings: 1, accounts: 3);
        var book = f.Book;
        int perp = f.Perp(0);
        for (int a = 0; a < 3; a++)
        {
            book.SetCollateral(a, BookFixture.Usd, 100_000);
        }

        book.ApplyFill(0, perp, 2, 30_000);
        book.ApplyFill(1, perp, -3, 30_000);
        book.ApplyFill(2, f.Future(0, 0), 5, book.MarkPrice(f.Future(0, 0))); // a future holder pays no funding
        double equity0 = book.Equity(0), equity1 = book.Equity(1), equity2 = book.Equity(2);

        // Rate +0.0001 (1 bp) per interval: 30,000 × 0.0001 = 3 per contract; the long of 2 pays 6,
        // the short of 3 receives 9.
        Assert.Equal(FundingResult.Applied, book.BeginFunding(perp, 0.0001, BookFixture.Start + (8 * Hour)));
        Assert.True(book.IsFunding);
        Assert.Equal(equity0, book.Equity(0)); // fixed, not settled yet
        Assert.True(book.ContinueFunding(int.MaxValue));
        Assert.Equal(-6, book.SettledCash(0), 9);
        Assert.Equal(9, book.SettledCash(1), 9);
        Assert.Equal(0, book.SettledCash(2));
        Assert.Equal(equity0 - 6, book.Equity(0), 9);
        Assert.Equal(equity1 + 9, book.Equity(1), 9);
        Assert.Equal(equity2, book.Equity(2));
        Assert.Equal((6.0, 9.0, 2L), (book.FundingPaid, book.FundingReceived, book.FundingPayments));

        // A negative rate (−0.0002: 6 a contract) turns it round: the long receives 12, the short pays 18.
        Assert.Equal(FundingResult.Applied, book.BeginFunding(perp, -0.0002, BookFixture.Start + (16 * Hour)));
        book.ContinueFunding(int.MaxValue);
        Assert.Equal(-6 + 12, book.SettledCash(0), 9);
        Assert.Equal(9 - 18, book.SettledCash(1), 9);
        Assert.Equal(BookFixture.Start + (16 * Hour), book.LastFundingNanos(perp));
        RiskBookExactnessTests.AssertMatches(book, 0);
        RiskBookExactnessTests.AssertMatches(book, 1);
    }

    [Fact]
    public void PaymentsAreFixedAtTheFundingTime_AFillBetweenStepsChangesNothing()
    {
        var f = new BookFixture(underlyings: 1, accounts: 40);
        var book = f.Book;
        int perp = f.Perp(0);
        for (int a = 0; a < 40; a++)
        {
            book.SetCollateral(a, BookFixture.Usd, 100_000);
            book.ApplyFill(a, perp, a % 2 == 0 ? 1 : -1, 30_000);
        }

        Assert.Equal(FundingResult.Applied, book.BeginFunding(perp, 0.001, BookFixture.Start + Hour)); // 30 a contract
        Assert.False(book.ContinueFunding(4));
        Assert.False(book.ContinueFunding(4));
        int settled = Enumerable.Range(0, 40).Count(a => book.SettledCash(a) != 0);
        Assert.Equal(8, settled);
        int late = Enumerable.Range(0, 40).First(a => book.SettledCash(a) == 0);
        book.ApplyFill(late, perp, -book.PositionQuantity(late, perp), 30_000); // closes before its step comes
        while (!book.ContinueFunding(4))
        {
        }

        for (int a = 0; a < 40; a++)
        {
            Assert.Equal(a % 2 == 0 ? -30 : 30, book.SettledCash(a), 9);
        }

        Assert.Equal(40, book.FundingPayments);
    }

    [Fact]
    public void RefusedEvents_ChangeNothing()
    {
        var f = new BookFixture(underlyings: 1, accounts: 2);
        var book = f.Book;
        int perp = f.Perp(0);
        book.SetCollateral(0, BookFixture.Usd, 100_000);
        book.ApplyFill(0, perp, 1, 30_000);
        Assert.Equal(FundingResult.Applied, book.BeginFunding(perp, 0.0001, BookFixture.Start + Hour));
        book.ContinueFunding(int.MaxValue);
        double settled = book.SettledCash(0);

        Assert.Equal(FundingResult.NotAfterLast, book.BeginFunding(perp, 0.0001, BookFixture.Start + Hour)); // the same event again
        Assert.Equal(FundingResult.NotAfterLast, book.BeginFunding(perp, 0.0001, BookFixture.Start));        // a late one
        Assert.Equal(FundingResult.UnknownInstrument, book.BeginFunding(999, 0.0001, BookFixture.Start + (2 * Hour)));
        Assert.Equal(FundingResult.NotPerpetual, book.BeginFunding(f.Future(0, 0), 0.0001, BookFixture.Start + (2 * Hour)));
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, 0.51, -0.51 })
        {
            Assert.Equal(FundingResult.InvalidRate, book.BeginFunding(perp, bad, BookFixture.Start + (2 * Hour)));
        }

        Assert.False(book.IsFunding);
        Assert.Equal(settled, book.SettledCash(0));
        Assert.Equal(BookFixture.Start + Hour, book.LastFundingNanos(perp));
        Assert.Equal(FundingResult.Applied, book.BeginFunding(perp, 0.5, BookFixture.Start + (2 * Hour))); // the bound itself is accepted
    }

    [Fact]
    public void AFundingAccrual_TipsAnAccountIntoMarginCall()
    {
        // Long 10 perps at 30,000 on the CME grid: IM = 10 × 30,000 × 15 % = 45,000, MM = 36,000.
        // Collateral 45,100: healthy by 100. Funding at 0.05 % pays 10 × 30,000 × 0.0005 = 150:
        // equity 44,950 < IM → margin call.
        var f = new BookFixture(underlyings: 1, accounts: 1);
        var book = f.Book;
        int perp = f.Perp(0);
        book.SetCollateral(0, BookFixture.Usd, 45_100);
        book.ApplyFill(0, perp, 10, 30_000);
        Assert.Equal(45_000, book.InitialMargin(0), 6);
        Assert.Equal(MarginState.Healthy, book.State(0));
        while (book.TryDequeueTransition(out _))
        {
        }

        book.BeginFunding(perp, 0.0005, BookFixture.Start + (8 * Hour));
        book.ContinueFunding(int.MaxValue);
        Assert.Equal(44_950, book.Equity(0), 6);
        Assert.Equal(MarginState.MarginCall, book.State(0));
        Assert.True(book.TryDequeueTransition(out var t));
        Assert.Equal((0, MarginState.Healthy, MarginState.MarginCall), (t.Account, t.From, t.To));
    }

    [Fact]
    public void FundingStep_DoesNotAllocate()
    {
        var f = new BookFixture(underlyings: 1, accounts: 64);
        var book = f.Book;
        int perp = f.Perp(0);
        for (int a = 0; a < 64; a++)
        {
            book.SetCollateral(a, BookFixture.Usd, 1e6);
            book.ApplyFill(a, perp, a % 3 - 1, 30_000);
        }

        var state = new State(book, perp);
        GcAssert.NoAllocation(state, static s => s.Fund(), warmUp: 50, iterations: 1_000);
    }

    private sealed class State(RiskBook book, int perp)
    {
        private long _t = BookFixture.Start;

        public void Fund()
        {
            _t += Hour;
            book.BeginFunding(perp, 0.0001, _t);
            while (!book.ContinueFunding(8))
            {
            }

            while (book.TryDequeueTransition(out _))
            {
            }
        }
    }
}
