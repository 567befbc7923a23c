using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// Coin collateral inside the scenarios (a venue's "equity side impact"): the fixture's BTC asset
/// (priced by the index, 30,000; haircut 10 % up to 100,000 of value) moves with the index in every
/// scenario of its underlying for an account holding positions there. CME grid: row 12 is the
/// index −15 % with vol up, row 10 +15 % with vol up, row 15 the −45 % extreme at weight 0.33.
/// </summary>
public class CollateralInScenariosTests
{
    private static int Put(BookFixture f) => f.Option(0, 1, 2, call: false);  // K 30,000, 37 days
    private static int Call(BookFixture f) => f.Option(0, 1, 2, call: true);

    [Fact]
    public void ACoinBackedShortPut_IsMarginedForTheCoinFallingWithThePut()
    {
        var f = new BookFixture(underlyings: 1, accounts: 2, coinInScenarios: true);
        var book = f.Book;
        int put = Put(f);
        Assert.True(book.SetCollateral(0, BookFixture.Usd, 54_000)); // the same value as 2 BTC after the haircut
        Assert.True(book.SetCollateral(1, BookFixture.Btc, 2));
        Assert.Equal(54_000, book.HaircutValue(BookFixture.Btc, 2), 9); // 60,000 at 10 %
        book.ApplyFill(0, put, -1, book.MarkPrice(put));
        book.ApplyFill(1, put, -1, book.MarkPrice(put));
        Assert.Equal(book.Equity(0), book.Equity(1), 6);

        // Row by row the coin adds 54,000 × (−move × weight): −15 % → +8,100 of loss, the −45 %
        // extreme at 0.33 → +8,019, +15 % → −8,100 (a gain).
        var usd = book.RiskArray(0, 0);
        var coin = book.RiskArray(1, 0);
        Assert.Equal(8_100, coin[12] - usd[12], 6);
        Assert.Equal(8_019, coin[15] - usd[15], 6);
        Assert.Equal(-8_100, coin[10] - usd[10], 6);
        double worst = 0;
        for (int j = 0; j < 16; j++)
        {
            worst = Math.Max(worst, coin[j]);
        }

        Assert.Equal(worst, book.InitialMargin(1), 9);
        Assert.True(book.InitialMargin(1) >= book.InitialMargin(0) + 8_019, $"coin {book.InitialMargin(1)} vs stablecoin {book.InitialMargin(0)}");
        RiskBookExactnessTests.AssertMatches(book, 0);
        RiskBookExactnessTests.AssertMatches(book, 1);

        // Negative control: the asset not in the scenarios margins both alike.
        var off = new BookFixture(underlyings: 1, accounts: 2);
        off.Book.SetCollateral(0, BookFixture.Usd, 54_000);
        off.Book.SetCollateral(1, BookFixture.Btc, 2);
        off.Book.ApplyFill(0, put, -1, off.Book.MarkPrice(put));
        off.Book.ApplyFill(1, put, -1, off.Book.MarkPrice(put));
        Assert.Equal(off.Book.InitialMargin(0), off.Book.InitialMargin(1), 9);
        Assert.Equal(book.InitialMargin(0), off.Book.InitialMargin(1), 9);
    }

    [Fact]
    public void ACoveredCall_IsCreditedForTheCoinRisingWithTheCall()
    {
        // 1 BTC (27,000 after the haircut) against 1 short call: at +15 % the call loses and the coin
        // gains 0.15 × 27,000 = 4,050, so the requirement falls by up to that.
        var f = new BookFixture(underlyings: 1, accounts: 2, coinInScenarios: true);
        var book = f.Book;
        int call = Call(f);
        book.SetCollateral(0, BookFixture.Usd, 27_000);
        book.SetCollateral(1, BookFixture.Btc, 1);
        book.ApplyFill(0, call, -1, book.MarkPrice(call));
        book.ApplyFill(1, call, -1, book.MarkPrice(call));
        var naked = book.RiskArray(0, 0);
        var covered = book.RiskArray(1, 0);
        Assert.Equal(-4_050, covered[10] - naked[10], 6);
        // The naked call's worst row is +15 % with vol up; covered, that row is a gain and the
        // worst moves to a fall, where the coin loses and the call gains: a smaller requirement.
        Assert.Equal(naked[10], book.InitialMargin(0), 9);
        Assert.True(covered[10] < 0, $"+15 % vol up covered: {covered[10]}");
        int worst = 0;
        for (int j = 1; j < 16; j++)
        {
            worst = covered[j] > covered[worst] ? j : worst;
        }

        Assert.True(book.Config.Grid.Scenarios[worst].PriceMove < 0, $"worst covered row {worst}");
        Assert.Equal(covered[worst], book.InitialMargin(1), 9);
        Assert.True(book.InitialMargin(1) < book.InitialMargin(0), $"covered {book.InitialMargin(1)} vs naked {book.InitialMargin(0)}");
        // Reported apart: the coin's impact on the scan risk is the difference (negative: a hedge).
        Assert.Equal(book.InitialMargin(1) - book.InitialMargin(0), book.ScenarioCollateralImpact(1, 0), 6);
        Assert.Equal(0, book.ScenarioCollateralImpact(0, 0));
        RiskBookExactnessTests.AssertMatches(book, 1);
    }

    [Fact]
    public void MovingTheCoinOut_IsCheckedAgainstTheRequirementWithoutIt()
    {
        // Parent (portfolio): short 1 call, 1 BTC (27,000) that covers it, and USD. Covered, its
        // requirement is the worst fall (3,258.73); without the coin it is the naked call's 3,835.55.
        // Moving the coin to its isolated account leaves equity = the USD. At 3,600 that is above
        // the covered requirement with the hysteresis (a check against today's requirement would let
        // it through) but below the naked one: refused. At 4,000 (above 3,835.55 × 1.02): applied.
        foreach (double usd in new[] { 3_600.0, 4_000.0 })
        {
            var f = new BookFixture(underlyings: 1, accounts: 2, coinInScenarios: true);
            var book = f.Book;
            int call = Call(f);
            book.SetCollateral(0, BookFixture.Btc, 1);
            book.SetCollateral(0, BookFixture.Usd, usd);
            book.ApplyFill(0, call, -1, book.MarkPrice(call));
            Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(1, MarginMode.Isolated, parent: 0, instrument: f.Perp(0)));
            Assert.Equal(MarginState.Healthy, book.State(0));
            Assert.True(usd > book.InitialMargin(0) * 1.02, $"covered IM {book.InitialMargin(0)}");
            var result = book.TransferCollateral(0, 1, BookFixture.Btc, 1);
            Assert.Equal(usd < 3_835.55 * 1.02 ? TransferResult.RejectedWouldBreach : TransferResult.Applied, result);
            if (result == TransferResult.Applied)
            {
                Assert.Equal(MarginState.Healthy, book.State(0));
                Assert.Equal(3_835.55, book.InitialMargin(0), 0.01); // the naked call's requirement
                RiskBookExactnessTests.AssertMatches(book, 0);
            }
        }
    }

    [Fact]
    public void TheCoinsTerm_FollowsPositionsCollateralAndTicks()
    {
        var f = new BookFixture(underlyings: 1, accounts: 1, coinInScenarios: true);
        var book = f.Book;
        int put = Put(f);
        book.SetCollateral(0, BookFixture.Btc, 3);
        Assert.Equal(0, book.InitialMargin(0)); // no position in the underlying: nothing to margin
        Assert.Equal(0, book.RiskArray(0, 0)[12]);

        book.ApplyFill(0, put, -1, book.MarkPrice(put)); // the first position brings the coin in
        RiskBookExactnessTests.AssertMatches(book, 0);
        double withThree = book.InitialMargin(0);

        book.SetCollateral(0, BookFixture.Btc, 1); // less coin: less falls with the put
        RiskBookExactnessTests.AssertMatches(book, 0);
        Assert.True(book.InitialMargin(0) < withThree);

        Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 28_500, BookFixture.Start + 1_000_000_000));
        book.Revalue(); // the coin's value moves with the index
        RiskBookExactnessTests.AssertMatches(book, 0);

        book.ApplyFill(0, put, 1, book.MarkPrice(put)); // flat: the term leaves with the last position
        Assert.Equal(0, book.InitialMargin(0));
        Assert.All(book.RiskArray(0, 0).ToArray(), v => Assert.Equal(0, v));
        RiskBookExactnessTests.AssertMatches(book, 0);
    }

    [Fact]
    public void OnTheCryptoPortfolioSet_TheCoinMovesInExtendedRowsAndNotInBasisRows()
    {
        var f = new BookFixture(underlyings: 1, accounts: 1, grid: ScenarioGrid.CryptoPortfolio(), coinInScenarios: true);
        var book = f.Book;
        int perp = f.Perp(0);
        book.SetCollateral(0, BookFixture.Btc, 1); // 27,000 after the haircut
        book.ApplyFill(0, perp, -1, 30_000);       // a short perpetual hedging the coin
        var array = book.RiskArray(0, 0);
        // −66 % at weight 0.24: the coin loses 27,000 × 0.66 × 0.24 = 4,276.8; the short gains
        // 30,000 × 0.66 × 0.24 = 4,752: net −475.2. Basis rows: the perpetual and the coin stay, 0.
        Assert.Equal(-475.2, array[27], 6);
        Assert.Equal(0, array[35], 9);
        Assert.Equal(0, array[36], 9);
        RiskBookExactnessTests.AssertMatches(book, 0);
    }

    [Fact]
    public void LongRandomSequence_WithCoinInTheScenarios_IncrementalEqualsFromScratch() =>
        RiskBookExactnessTests.RunLongRandomSequence(null, coinInScenarios: true);

    [Fact]
    public void HotPaths_WithCoinInTheScenarios_DoNotAllocate()
    {
        var f = new BookFixture(underlyings: 2, accounts: 32, coinInScenarios: true);
        var book = f.Book;
        for (int a = 0; a < 32; a++)
        {
            book.SetCollateral(a, BookFixture.Btc, 1 + (a % 3));
            for (int k = 0; k < 6; k++)
            {
                int i = f.Instruments[((a * 7) + (k * 3)) % f.Instruments.Count];
                book.ApplyFill(a, i, 1, book.MarkPrice(i));
            }
        }

        var state = new State(f);
        GcAssert.NoAllocation(state, static s => s.Fill(), warmUp: 500, iterations: 5_000);
        GcAssert.NoAllocation(state, static s => s.Tick(), warmUp: 20, iterations: 200);
        GcAssert.NoAllocation(state, static s => s.Collateral(), warmUp: 200, iterations: 2_000);
    }

    private sealed class State(BookFixture f)
    {
        private int _n;
        private long _t = BookFixture.Start;

        public void Fill()
        {
            int i = f.Instruments[_n++ % f.Instruments.Count];
            f.Book.ApplyFill(_n % 32, i, (_n & 1) == 0 ? 0.5 : -0.5, f.Book.MarkPrice(i));
            Drain();
        }

        public void Tick()
        {
            _t += 1_000_000_000;
            f.Book.UpdateIndex(0, 30_000 * (1 + (0.001 * ((_n++ % 7) - 3))), _t);
            f.Book.Revalue();
            Drain();
        }

        public void Collateral()
        {
            f.Book.SetCollateral(_n++ % 32, BookFixture.Btc, 1 + (_n % 5));
            Drain();
        }

        private void Drain()
        {
            while (f.Book.TryDequeueTransition(out _))
            {
            }
        }
    }
}
