using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

public class RiskBookTests
{
    private readonly BookFixture _f = new(underlyings: 2, accounts: 32);

    private RiskBook Book => _f.Book;

    // ------------------------------------------------------------ position arithmetic

    [Fact]
    public void Fill_OpenAddReduceCloseFlip_AveragePriceAndRealizedPnl()
    {
        int perp = _f.Perp(0);
        Assert.Equal(FillResult.Applied, Book.ApplyFill(0, perp, 2, 100));
        Assert.Equal(2, Book.PositionQuantity(0, perp));
        Assert.Equal(100, Book.PositionAveragePrice(0, perp));

        Book.ApplyFill(0, perp, 2, 110); // add
        Assert.Equal(4, Book.PositionQuantity(0, perp));
        Assert.Equal(105, Book.PositionAveragePrice(0, perp));
        Assert.Equal(0, Book.RealizedPnl(0));

        Book.ApplyFill(0, perp, -1, 120); // reduce: realize 1 × (120 − 105)
        Assert.Equal(3, Book.PositionQuantity(0, perp));
        Assert.Equal(105, Book.PositionAveragePrice(0, perp));
        Assert.Equal(15, Book.RealizedPnl(0), 12);

        Book.ApplyFill(0, perp, -5, 100); // flip: close 3 at 100 (−15), open −2 at 100
        Assert.Equal(-2, Book.PositionQuantity(0, perp));
        Assert.Equal(100, Book.PositionAveragePrice(0, perp));
        Assert.Equal(0, Book.RealizedPnl(0), 12);

        Book.ApplyFill(0, perp, 2, 90); // close: short from 100 bought back at 90: +20
        Assert.Equal(0, Book.PositionQuantity(0, perp));
        Assert.Equal(0, Book.PositionCount(0));
        Assert.Equal(20, Book.RealizedPnl(0), 12);
        Assert.Equal(0, Book.InitialMargin(0));
        Assert.Equal(0, Book.NetDelta(0, 0));
    }

    [Fact]
    public void Fill_InvalidInput_IsRejectedAndChangesNothing()
    {
        Book.SetCollateral(1, BookFixture.Usd, 1000);
        double equity = Book.Equity(1);
        Assert.Equal(FillResult.RejectedUnknownId, Book.ApplyFill(-1, _f.Perp(0), 1, 100));
        Assert.Equal(FillResult.RejectedUnknownId, Book.ApplyFill(1, 10_000, 1, 100));
        Assert.Equal(FillResult.RejectedUnknownId, Book.ApplyFill(99_999, _f.Perp(0), 1, 100));
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(1, _f.Perp(0), double.NaN, 100));
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(1, _f.Perp(0), 1, double.PositiveInfinity));
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(1, _f.Perp(0), 1, -5));
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(1, _f.Perp(0), 0, 100));
        Assert.Equal(0, Book.PositionCount(1));
        Assert.Equal(equity, Book.Equity(1));
    }

    [Fact]
    public void Fill_ExtremeFiniteValues_BeyondTheConfiguredMaxima_AreRejectedAndChangeNothing()
    {
        // ±1e308 fills were accepted before: equity went to −∞, IM to +∞, then NaN.
        int perp = _f.Perp(0);
        Book.SetCollateral(2, BookFixture.Usd, 1000);
        Assert.Equal(FillResult.Applied, Book.ApplyFill(2, perp, 1, 100));
        double equity = Book.Equity(2), im = Book.InitialMargin(2);
        var config = Book.Config;
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(2, perp, 1e308, 100));
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(2, perp, -1e308, 100));
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(2, perp, 1, 1e308));
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(2, perp, 1, double.Epsilon * 0)); // price 0
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(2, perp, config.MaxQuantity * 2, 1));
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(2, perp, 1, config.MaxPrice * 2));
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(2, perp, config.MaxQuantity, config.MaxPrice)); // notional 1e18 > 1e13
        // Each fill within bounds, the position beyond them: the second is refused.
        Assert.Equal(FillResult.Applied, Book.ApplyFill(3, perp, config.MaxQuantity, 1e-6));
        Assert.Equal(FillResult.RejectedInvalid, Book.ApplyFill(3, perp, config.MaxQuantity, 1e-6));
        Assert.Equal(1, Book.PositionQuantity(2, perp));
        Assert.Equal(equity, Book.Equity(2));
        Assert.Equal(im, Book.InitialMargin(2));
        Assert.False(Book.SetCollateral(2, BookFixture.Usd, 1e308));
        Assert.False(Book.SetCollateral(2, BookFixture.Usd, -1e308));
        Assert.False(Book.SetCollateral(2, BookFixture.Usd, double.NaN));
        Assert.False(Book.SetCollateral(2, BookFixture.Usd, Book.Config.MaxCollateralUnits * 2));
        Assert.Equal(MarkResult.RejectedInvalid, Book.UpdateIndex(0, 1e308, long.MaxValue));
        Assert.Equal(equity, Book.Equity(2));
    }

    [Fact]
    public void Definition_HugeMultiplierOrStrike_IsRefused_BeforeItCanMakeAnInfiniteNumber()
    {
        // A multiplier of 1e300 passed the fill's notional bound at a tiny fill price, then made
        // unrealized P&L infinite at the mark; a strike of 1e308 made a put worth ~1e308 a contract.
        var book = new RiskBook(new RiskConfig { MaxUnderlyings = 1, MaxInstruments = 4, MaxAccounts = 1, MaxPositionsPerAccount = 4, MaxAssets = 1 });
        book.DefineUnderlying(0);
        const long Expiry = 1_800_000_000_000_000_000;
        Assert.Equal(DefinitionResult.InvalidSize, book.TryDefineInstrument(0, new InstrumentSpec(InstrumentKind.Future, 0, 0, Expiry, 1e300, 0.01, 1)));
        Assert.Equal(DefinitionResult.InvalidSize, book.TryDefineInstrument(0, new InstrumentSpec(InstrumentKind.Future, 0, 0, Expiry, book.Config.MaxMultiplier * 2, 0.01, 1)));
        Assert.Equal(DefinitionResult.InvalidOption, book.TryDefineInstrument(0, new InstrumentSpec(InstrumentKind.Put, 0, 1e308, Expiry, 1, 0.01, 1)));
        Assert.Equal(DefinitionResult.Defined, book.TryDefineInstrument(0, new InstrumentSpec(InstrumentKind.Put, 0, 100, Expiry, book.Config.MaxMultiplier, 0.01, 1))); // the bounds themselves pass
    }

    [Theory]
    [InlineData(double.NaN, 100, 80)]
    [InlineData(1000, double.NaN, 80)]
    [InlineData(1000, 100, double.NaN)]
    [InlineData(double.PositiveInfinity, double.PositiveInfinity, double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity, 100, 80)]
    [InlineData(1000, double.PositiveInfinity, 80)]
    [InlineData(double.NaN, double.NaN, double.NaN)]
    public void NextState_AnyNonFiniteNumber_NeverReadsAsHealthy(double equity, double initial, double maintenance)
    {
        // Before: NaN failed every "<" test and fell through to Healthy.
        foreach (var from in new[] { MarginState.Healthy, MarginState.MarginCall, MarginState.Liquidation })
        {
            Assert.Equal(MarginState.Liquidation, RiskBook.NextState(from, equity, initial, maintenance, 0.02));
        }
    }

    [Fact]
    public void NextState_NegativeControl_FiniteNumbersFollowTheLadder()
    {
        Assert.Equal(MarginState.Healthy, RiskBook.NextState(MarginState.Healthy, 1000, 100, 80, 0.02));
        Assert.Equal(MarginState.MarginCall, RiskBook.NextState(MarginState.Healthy, 90, 100, 80, 0.02));
        Assert.Equal(MarginState.Liquidation, RiskBook.NextState(MarginState.Healthy, 70, 100, 80, 0.02));
        Assert.Equal(MarginState.MarginCall, RiskBook.NextState(MarginState.MarginCall, 101, 100, 80, 0.02)); // inside the hysteresis band
    }

    [Fact]
    public void Theta_WithCarry_HoldsTheIndexFixed_HullGreeksChapter()
    {
        // Hull, Options, Futures and Other Derivatives, Greeks chapter: a call on a non-dividend
        // stock, S = 49, K = 50, r = 5 %, σ = 20 %, T = 20 weeks = 20/52 year. Hull's values:
        // delta 0.522, gamma 0.066, vega 12.1 (per unit of σ), theta −4.31 per year. The book
        // prices on the forward F = S·e^(bT) with carry b = r; its theta holds the index fixed, so
        // θ = θ_F − b·F·∂V/∂F (the previous code gave −3.03: θ with F held fixed).
        const long T0 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
        var book = new RiskBook(new RiskConfig { MaxUnderlyings = 1, MaxInstruments = 4, MaxAccounts = 1, MaxPositionsPerAccount = 4, MaxAssets = 1, Rate = 0.05, IndexBand = 10 });
        book.DefineUnderlying(0, carry: 0.05);
        book.UpdateIndex(0, 49, T0);
        long expiry = T0 + (long)(20.0 / 52 * RiskBook.NanosPerYear);
        book.DefineInstrument(0, new InstrumentSpec(InstrumentKind.Call, 0, 50, expiry, 1, 0.0001, 0.0001));
        book.DefineInstrument(1, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 0.01, 0.001));
        book.DefineInstrument(2, new InstrumentSpec(InstrumentKind.Future, 0, 0, expiry, 1, 0.01, 0.001));
        book.SetInitialVolatility(0, 0.20);
        book.DefineAsset(0, -1, 1, [new HaircutTier(1e18, 0)]);
        book.SetCollateral(0, 0, 1e6);
        book.Revalue();
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, 0, 1, 2.40));
        book.Revalue();
        Assert.Equal(0.522, book.NetDelta(0, 0), 3);
        Assert.Equal(0.066, book.NetGamma(0, 0), 3);
        Assert.Equal(12.1, book.NetVega(0, 0), 1);
        Assert.Equal(-4.31, book.NetTheta(0, 0), 2);
        double optionTheta = book.NetTheta(0, 0);

        // A perpetual has no time value; a future rolls down its basis: θ = −b·F = −0.05 × 49·e^(0.05·20/52).
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, 1, 1, 49));
        book.Revalue();
        Assert.Equal(optionTheta, book.NetTheta(0, 0), 12);
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, 2, 1, 50));
        book.Revalue();
        Assert.Equal(optionTheta - (0.05 * 49 * Math.Exp(0.05 * 20.0 / 52)), book.NetTheta(0, 0), 9);
        var r = RiskBookVerifier.Recompute(book, 0);
        Assert.Equal(r.NetTheta[0], book.NetTheta(0, 0), 9);
    }

    [Fact]
    public void Fill_BeyondPositionCapacity_IsRejected()
    {
        var f = new BookFixture(underlyings: 2, accounts: 2);
        int n = 0;
        foreach (int i in f.Instruments)
        {
            var r = f.Book.ApplyFill(0, i, 1, f.Book.MarkPrice(i) + 1);
            if (n < f.Book.Config.MaxPositionsPerAccount)
            {
                Assert.Equal(FillResult.Applied, r);
            }
            else
            {
                Assert.Equal(FillResult.RejectedPositionCapacity, r);
            }

            n++;
        }

        Assert.Equal(f.Book.Config.MaxPositionsPerAccount, f.Book.PositionCount(0));
    }

    // ------------------------------------------------------------ hedges net

    private double MarginOf(int account, params (int Instrument, double Quantity)[] legs)
    {
        foreach (var (i, q) in legs)
        {
            Assert.Equal(FillResult.Applied, Book.ApplyFill(account, i, q, Book.MarkPrice(i)));
        }

        return Book.InitialMargin(account);
    }

    private void AssertHedgeNets(params (int Instrument, double Quantity)[] legs)
    {
        double combined = MarginOf(0, legs);
        double separate = 0;
        for (int l = 0; l < legs.Length; l++)
        {
            separate += MarginOf(l + 1, legs[l]);
        }

        Assert.True(combined < separate, $"combined {combined} not below sum of legs {separate}");
    }

    [Fact]
    public void DeltaHedgedShortStraddle_NeedsLessThanItsLegs()
    {
        int call = _f.Option(0, 1, 2, call: true), put = _f.Option(0, 1, 2, call: false);
        Book.ApplyFill(31, call, -1, Book.MarkPrice(call));
        Book.ApplyFill(31, put, -1, Book.MarkPrice(put));
        double hedge = -Book.NetDelta(31, 0);
        AssertHedgeNets((call, -1), (put, -1), (_f.Perp(0), hedge));
    }

    [Fact]
    public void CoveredCall_NeedsLessThanItsLegs() => AssertHedgeNets((_f.Perp(0), 1), (_f.Option(0, 1, 3, call: true), -1));

    [Fact]
    public void CalendarSpread_NeedsLessThanItsLegs() => AssertHedgeNets((_f.Option(0, 0, 2, call: true), -1), (_f.Option(0, 2, 2, call: true), 1));

    [Fact]
    public void FuturesBasisTrade_NeedsLessThanItsLegs() => AssertHedgeNets((_f.Future(0, 0), 1), (_f.Future(0, 1), -1));

    [Fact]
    public void LongOption_NeverNeedsMoreThanItsPremium()
    {
        foreach (int i in _f.ByUnderlying[0].Skip(3))
        {
            var f = new BookFixture(underlyings: 1, accounts: 1);
            f.Book.ApplyFill(0, i, 1, f.Book.MarkPrice(i));
            Assert.True(f.Book.InitialMargin(0) <= f.Book.MarkPrice(i) * (1 + 1e-12), $"instrument {i}: IM {f.Book.InitialMargin(0)} > premium {f.Book.MarkPrice(i)}");
        }
    }

    [Fact]
    public void ShortOptionMinimum_AppliesToFarOutOfTheMoneyShorts()
    {
        var f = new BookFixture(underlyings: 1, accounts: 1, grid: ScenarioGrid.CmeSpan16(0.01, 0.01));
        int farPut = f.Option(0, 0, 0, call: false); // 7-day 80 % put: the 1 % scan barely moves it
        f.Book.ApplyFill(0, farPut, -2, f.Book.MarkPrice(farPut));
        double minimum = 2 * 30_000 * f.Book.Config.ShortOptionMinimumFraction;
        Assert.Equal(minimum, f.Book.ShortOptionMinimum(0, 0), 9);
        Assert.Equal(minimum, f.Book.InitialMargin(0), 9);
        Assert.True(f.Book.ScanRisk(0, 0) < minimum);
    }

    [Fact]
    public void LongFuture_InitialMarginIsTheScanRange_AndMaintenanceTheFraction()
    {
        int perp = _f.Perp(0);
        Book.ApplyFill(2, perp, 1, 30_000);
        Assert.Equal(30_000 * 0.15, Book.InitialMargin(2), 6);
        Assert.Equal(30_000 * 0.15 * 0.8, Book.MaintenanceMargin(2), 6);
        Assert.Equal(1, Book.NetDelta(2, 0), 12);
    }

    // ------------------------------------------------------------ what-if

    [Fact]
    public void WhatIf_PredictsTheMarginOfTheFill_AndChangesNothing()
    {
        int call = _f.Option(0, 1, 3, call: true);
        Book.ApplyFill(3, _f.Perp(0), 1, 30_000);
        double before = Book.InitialMargin(3);
        var w = Book.WhatIf(3, call, -1);
        Assert.Equal(before, w.InitialMarginBefore);
        Assert.Equal(before, Book.InitialMargin(3));
        Assert.Equal(0, Book.PositionQuantity(3, call));
        Book.ApplyFill(3, call, -1, Book.MarkPrice(call));
        Assert.Equal(Book.InitialMargin(3), w.InitialMarginAfter, 9);
        Assert.True(w.IsRiskReducing);
        Assert.False(Book.WhatIf(3, call, -5).IsRiskReducing);
    }

    // ------------------------------------------------------------ ladder and ranking

    [Theory]
    [InlineData(MarginState.Healthy, 100, 80, 64, MarginState.Healthy)]
    [InlineData(MarginState.Healthy, 79.9, 80, 64, MarginState.MarginCall)]
    [InlineData(MarginState.Healthy, 63, 80, 64, MarginState.Liquidation)]
    [InlineData(MarginState.MarginCall, 80.5, 80, 64, MarginState.MarginCall)]  // above IM but within hysteresis
    [InlineData(MarginState.MarginCall, 81.7, 80, 64, MarginState.Healthy)]
    [InlineData(MarginState.Liquidation, 64.5, 80, 64, MarginState.Liquidation)] // above MM but within hysteresis
    [InlineData(MarginState.Liquidation, 66, 80, 64, MarginState.MarginCall)]
    [InlineData(MarginState.Liquidation, 90, 80, 64, MarginState.Healthy)]
    public void NextState_LadderWithHysteresis(MarginState from, double equity, double im, double mm, MarginState expected) =>
        Assert.Equal(expected, RiskBook.NextState(from, equity, im, mm, 0.02));

    [Fact]
    public void PriceJitterAtABoundary_DoesNotFloodTransitions()
    {
        var f = new BookFixture(underlyings: 1, accounts: 1);
        var book = f.Book;
        book.SetCollateral(0, BookFixture.Usd, (30_000 * 0.15) + 10); // just above IM at 30,000
        book.ApplyFill(0, f.Perp(0), 1, 30_000);
        Assert.Equal(MarginState.Healthy, book.State(0));
        Assert.Equal(0, Drain(book));
        int transitions = 0;
        long t = BookFixture.Start;
        for (int i = 0; i < 200; i++)
        {
            // ±20 around 30,000: each −20 tick takes equity below IM, each +20 tick back above it.
            book.UpdateIndex(0, 30_000 + (i % 2 == 0 ? -20 : 20), t += 1_000_000);
            book.Revalue();
            transitions += Drain(book);
        }

        Assert.True(transitions == 1, $"transitions {transitions}, state {book.State(0)}, equity {book.Equity(0)}, im {book.InitialMargin(0)}, index {book.IndexPrice(0)}");
        Assert.Equal(MarginState.MarginCall, book.State(0));
    }

    private static int Drain(RiskBook book)
    {
        int n = 0;
        while (book.TryDequeueTransition(out _))
        {
            n++;
        }

        return n;
    }

    [Fact]
    public void Crash_TakesAccountThroughMarginCallToLiquidation_WithTransitions()
    {
        var f = new BookFixture(underlyings: 1, accounts: 1);
        var book = f.Book;
        book.ApplyFill(0, f.Perp(0), 2, 30_000);
        book.SetCollateral(0, BookFixture.Usd, book.InitialMargin(0) * 1.2);
        Drain(book);
        long t = BookFixture.Start;
        double price = 30_000;
        var seen = new List<MarginTransition>();
        while (book.State(0) != MarginState.Liquidation && price > 20_000)
        {
            price *= 0.99;
            Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, price, t += 1_000_000_000));
            book.Revalue();
            while (book.TryDequeueTransition(out var tr))
            {
                seen.Add(tr);
            }
        }

        Assert.Equal([MarginState.MarginCall, MarginState.Liquidation], seen.Select(s => s.To));
        Assert.True(seen[1].Equity < seen[1].MaintenanceMargin);
    }

    [Fact]
    public void RankForLiquidation_HeaviestWorstScenarioLossFirst()
    {
        int perp = _f.Perp(0), call = _f.Option(0, 1, 2, call: true), farCall = _f.Option(0, 1, 4, call: true);
        Book.ApplyFill(4, perp, -1, 30_000);      // short: loses on the up moves
        Book.ApplyFill(4, call, -3, Book.MarkPrice(call));
        Book.ApplyFill(4, farCall, 1, Book.MarkPrice(farCall)); // a hedge: gains in the worst scenario
        Span<LiquidationCandidate> ranked = stackalloc LiquidationCandidate[8];
        int n = Book.RankForLiquidation(4, ranked);
        Assert.Equal(3, n);
        Assert.True(ranked[0].WorstScenarioLoss >= ranked[1].WorstScenarioLoss && ranked[1].WorstScenarioLoss >= ranked[2].WorstScenarioLoss);
        Assert.Equal(farCall, ranked[2].Instrument);
        Assert.True(ranked[2].WorstScenarioLoss < 0);
        double sum = ranked[0].WorstScenarioLoss + ranked[1].WorstScenarioLoss + ranked[2].WorstScenarioLoss;
        Assert.Equal(Book.ScanRisk(4, 0), sum, 6);
        Span<LiquidationCandidate> top1 = stackalloc LiquidationCandidate[1];
        Assert.Equal(1, Book.RankForLiquidation(4, top1));
        Assert.Equal(ranked[0], top1[0]);
    }

    // ------------------------------------------------------------ mark validation

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(0.0)]
    [InlineData(-30_000.0)]
    public void UpdateIndex_InvalidPrice_IsRejectedAndStateUnchanged(double price)
    {
        Assert.Equal(MarkResult.RejectedInvalid, Book.UpdateIndex(0, price, BookFixture.Start + 1));
        Assert.Equal(30_000, Book.IndexPrice(0));
    }

    [Fact]
    public void UpdateIndex_UnknownUnderlying_OutOfOrder_AreRejected()
    {
        Assert.Equal(MarkResult.RejectedUnknownId, Book.UpdateIndex(7, 1, BookFixture.Start));
        Assert.Equal(MarkResult.RejectedUnknownId, Book.UpdateIndex(-1, 1, BookFixture.Start));
        Assert.Equal(MarkResult.RejectedOutOfOrder, Book.UpdateIndex(0, 30_001, BookFixture.Start - 1));
    }

    [Fact]
    public void UpdateIndex_JumpBeyondBand_IsHeldUntilConfirmed()
    {
        Assert.Equal(MarkResult.Held, Book.UpdateIndex(0, 40_000, BookFixture.Start + 1));
        Assert.Equal(30_000, Book.IndexPrice(0));
        Assert.Equal(MarkResult.Held, Book.UpdateIndex(0, 20_000, BookFixture.Start + 2)); // not a confirmation
        Assert.Equal(30_000, Book.IndexPrice(0));
        Assert.Equal(MarkResult.Accepted, Book.UpdateIndex(0, 20_500, BookFixture.Start + 3)); // confirms the held 20,000
        Assert.Equal(20_500, Book.IndexPrice(0));
    }

    [Fact]
    public void UpdateIndex_JumpWithRejectPolicy_IsRejected()
    {
        var f = new BookFixture(underlyings: 1, accounts: 1, jumps: JumpPolicy.Reject);
        Assert.Equal(MarkResult.RejectedJump, f.Book.UpdateIndex(0, 40_000, BookFixture.Start + 1));
        Assert.Equal(MarkResult.RejectedJump, f.Book.UpdateIndex(0, 40_000, BookFixture.Start + 2));
        Assert.Equal(30_000, f.Book.IndexPrice(0));
    }

    [Fact]
    public void IndexStaleness_FollowsTheLimit()
    {
        long limit = Book.Config.StaleAfterNanos;
        Assert.False(Book.IsIndexStale(0, BookFixture.Start + limit));
        Assert.True(Book.IsIndexStale(0, BookFixture.Start + limit + 1));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(0.0)]
    [InlineData(-0.3)]
    [InlineData(11.0)]
    public void UpdateVolatility_Invalid_IsRejected(double vol)
    {
        int option = _f.Option(0, 0, 2, call: true);
        Assert.Equal(MarkResult.RejectedInvalid, Book.UpdateVolatility(option, vol));
        Assert.Equal(0.6, Book.MarkVolatility(option));
    }

    [Fact]
    public void UpdateVolatility_OnANonOption_OrJump_IsHandled()
    {
        Assert.Equal(MarkResult.RejectedUnknownId, Book.UpdateVolatility(_f.Perp(0), 0.5));
        int option = _f.Option(0, 0, 2, call: true);
        Assert.Equal(MarkResult.Held, Book.UpdateVolatility(option, 1.5));
        Assert.Equal(MarkResult.Accepted, Book.UpdateVolatility(option, 1.6));
        Assert.Equal(1.6, Book.MarkVolatility(option));
    }

    // ------------------------------------------------------------ collateral

    [Fact]
    public void Collateral_TieredHaircuts_AndLinkedPrice()
    {
        // BTC at 30,000: 5 BTC = 150,000 gross → 100,000 at 90 % + 50,000 at 80 % = 130,000.
        Assert.True(Book.SetCollateral(5, BookFixture.Btc, 5));
        Assert.Equal(130_000, Book.CollateralValue(5), 6);
        Assert.Equal(130_000, Book.Equity(5), 6);
        Book.UpdateIndex(0, 32_000, BookFixture.Start + 1);
        Book.Revalue(); // 160,000 gross → 90,000 + 48,000
        Assert.Equal(138_000, Book.CollateralValue(5), 6);
        Assert.False(Book.SetCollateral(5, 7, 1));
        Assert.False(Book.SetCollateral(5, BookFixture.Usd, double.NaN));
        Assert.True(Book.SetCollateral(5, BookFixture.Usd, -1000)); // a debt counts in full
        Assert.Equal(137_000, Book.CollateralValue(5), 6);
    }

    [Fact]
    public void Config_Invalid_NamesTheField()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RiskBook(new RiskConfig { MaintenanceFraction = 1.5 }));
        Assert.Contains("MaintenanceFraction", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => new RiskBook(new RiskConfig { MaxAccounts = 0 }));
        Assert.Contains("MaxAccounts", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DefineInstrument_Invalid_Throws()
    {
        var f = new BookFixture(underlyings: 1, accounts: 1);
        Assert.Throws<ArgumentException>(() => f.Book.DefineInstrument(0, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 1, 1)));
        Assert.Throws<ArgumentException>(() => f.Book.DefineInstrument(60, new InstrumentSpec(InstrumentKind.Call, 0, -5, BookFixture.Start, 1, 1, 1)));
        Assert.Throws<ArgumentException>(() => f.Book.DefineInstrument(60, new InstrumentSpec(InstrumentKind.Perpetual, 3, 0, 0, 1, 1, 1)));
        Assert.Throws<ArgumentException>(() => f.Book.DefineInstrument(60, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 0, 1, 1)));
    }

    // ------------------------------------------------------------ zero allocation

    [Fact]
    public void HotPaths_DoNotAllocate()
    {
        var f = new BookFixture(underlyings: 2, accounts: 64);
        var book = f.Book;
        for (int a = 0; a < 64; a++)
        {
            book.SetCollateral(a, BookFixture.Usd, 1e6);
            for (int k = 0; k < 10; k++)
            {
                int i = f.Instruments[(a * 7 + k * 3) % f.Instruments.Count];
                book.ApplyFill(a, i, 1, book.MarkPrice(i));
            }
        }

        var state = new AllocationState(f);
        GcAssert.NoAllocation(state, static s => s.Fill(), warmUp: 500, iterations: 5_000);
        GcAssert.NoAllocation(state, static s => s.Tick(), warmUp: 50, iterations: 500);
        GcAssert.NoAllocation(state, static s => s.Vol(), warmUp: 50, iterations: 500);
        GcAssert.NoAllocation(state, static s => s.WhatIf(), warmUp: 500, iterations: 5_000);
    }

    private sealed class AllocationState(BookFixture f)
    {
        private int _n;
        private long _t = BookFixture.Start;

        public double Sink;

        public void Fill()
        {
            int i = f.Instruments[_n++ % f.Instruments.Count];
            f.Book.ApplyFill(_n % 64, i, (_n & 1) == 0 ? 0.5 : -0.5, f.Book.MarkPrice(i));
            while (f.Book.TryDequeueTransition(out _))
            {
            }
        }

        public void Tick()
        {
            f.Book.UpdateIndex(0, 30_000 + (_n++ % 7), _t += 1_000_000);
            f.Book.Revalue();
            while (f.Book.TryDequeueTransition(out _))
            {
            }
        }

        public void Vol()
        {
            f.Book.UpdateVolatility(f.Option(1, 1, 2, true), 0.6 + ((_n++ % 5) * 0.01));
            f.Book.Revalue();
        }

        public void WhatIf() => Sink += f.Book.WhatIf(_n++ % 64, f.Option(0, 1, 2, true), -1).InitialMarginAfter;
    }
}
