using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// Filtered historical simulation as the book's own methodology: a historical grid (one row per
/// date, each underlying its own move that date) margined by expected shortfall, per underlying and
/// — with two or more underlyings held — over the account's joint sample. Every number is derived in
/// the comments from the moves the test chooses.
/// </summary>
public class HistoricalGridTests
{
    /// <summary>
    /// 40 dates: BTC moves (j − 20) / 200, from −10 % to +9.5 % in steps of 0.5 %; ETH the opposite
    /// (<paramref name="anti"/>) or the same. At 90 %: αn = 36, k = 36, the tail is 4 rows, the
    /// boundary row's weight 36 − 36 = 0 — the expected shortfall is the mean of the 4 worst losses.
    /// </summary>
    internal static ScenarioGrid Ramp(bool anti)
    {
        var btc = Enumerable.Range(0, 40).Select(j => (j - 20) / 200.0).ToArray();
        return ScenarioGrid.Historical([btc, [.. btc.Select(m => anti ? -m : m)]], confidence: 0.90);
    }

    /// <summary>A seeded joint sample of <paramref name="n"/> dates for two underlyings: fat-tailed, correlated 0.6.</summary>
    internal static ScenarioGrid Sample(int n, int seed = 9)
    {
        var rng = new Random(seed);
        var moves = new[] { new double[n], new double[n] };
        for (int j = 0; j < n; j++)
        {
            double common = Normal(rng), scale = 0.03 * (rng.Next(10) == 0 ? 3 : 1); // one day in ten a stress day
            moves[0][j] = Math.Exp(scale * common) - 1;
            moves[1][j] = Math.Exp(scale * ((0.6 * common) + (0.8 * Normal(rng)))) - 1;
        }

        return ScenarioGrid.Historical(moves, 0.975);

        static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
    }

    [Fact]
    public void OneUnderlying_IsTheExpectedShortfallOfItsMoves()
    {
        var f = new BookFixture(underlyings: 2, accounts: 4, grid: Ramp(anti: true));
        var book = f.Book;
        Assert.True(book.SetCollateral(0, BookFixture.Usd, 100_000));
        // Long 1 BTC perpetual at the index 30,000: row j loses −30,000 × move_j. The 4 worst moves are
        // −10 %, −9.5 %, −9 %, −8.5 %: losses 3,000, 2,850, 2,700, 2,550, mean 2,775.
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(0), 1, 30_000));
        Assert.Equal(2_775, book.ScanRisk(0, 0), 9);
        Assert.Equal(2_775, book.InitialMargin(0), 9);
        Assert.Equal(2_775 * book.Config.MaintenanceFraction, book.MaintenanceMargin(0), 9);
        // VaR 99 % of 40 dates: k = ⌈39.6⌉ = 40, the worst loss, 3,000; ES at the grid's 90 %: the 2,775 above.
        Assert.Equal(new TailRisk(3_000, 2_775), new TailRisk(Math.Round(book.HistoricalRisk(0).ValueAtRisk, 9), Math.Round(book.HistoricalRisk(0).ExpectedShortfall, 9)));
        Assert.Equal(default, book.HistoricalRisk(1)); // no positions
        var parts = book.ScanRiskParts(0, 0);
        Assert.Equal((2_775.0, 0.0, 0.0), (Math.Round(parts.Regular, 9), parts.Extended, parts.Basis));
    }

    [Fact]
    public void TwoUnderlyings_AreMarginedOnTheJointSample_SoHistorysCorrelationIsTheOffset()
    {
        var f = new BookFixture(underlyings: 2, accounts: 4, grid: Ramp(anti: true));
        var book = f.Book;
        for (int a = 0; a < 4; a++)
        {
            Assert.True(book.SetCollateral(a, BookFixture.Usd, 100_000));
        }

        // Account 0: long 1 BTC (30,000) and long 15 ETH perpetuals (15 × 2,000 = 30,000). ETH moves opposite
        // to BTC on every date, so the joint loss is −30,000 m + 30,000 m = 0 on every row: ES 0. Alone, BTC
        // requires 2,775 (the test above) and ETH 2,625: its 4 worst rows are BTC's 4 best, +9.5 %, +9 %, +8.5 %,
        // +8 %, on which ETH falls as much — losses 2,850, 2,700, 2,550, 2,400.
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(0), 1, 30_000));
        var whatIf = book.WhatIf(0, f.Perp(1), 15);
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(1), 15, 2_000));
        Assert.Equal(2_775, book.ScanRisk(0, 0), 9);
        Assert.Equal(2_625, book.ScanRisk(0, 1), 9);
        Assert.Equal(0, book.InitialMargin(0), 9);
        Assert.Equal(book.InitialMargin(0), whatIf.InitialMarginAfter, 9); // the what-if saw the joint sample too

        // Account 1: long BTC, short 15 ETH: the legs add, −60,000 m: the 4 worst rows lose 6,000, 5,700, 5,400,
        // 5,100 — ES 5,550, the sum of the two alone (nothing offsets).
        Assert.Equal(FillResult.Applied, book.ApplyFill(1, f.Perp(0), 1, 30_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(1, f.Perp(1), -15, 2_000));
        Assert.Equal(5_550, book.InitialMargin(1), 9);

        // Negative control: the same positions on a history where ETH moves with BTC — account 0's legs
        // add (5,550), account 1's cancel (0). Only the dates' joint moves differ.
        var g = new BookFixture(underlyings: 2, accounts: 4, grid: Ramp(anti: false));
        for (int a = 0; a < 2; a++)
        {
            Assert.True(g.Book.SetCollateral(a, BookFixture.Usd, 100_000));
            Assert.Equal(FillResult.Applied, g.Book.ApplyFill(a, g.Perp(0), 1, 30_000));
            Assert.Equal(FillResult.Applied, g.Book.ApplyFill(a, g.Perp(1), a == 0 ? 15 : -15, 2_000));
        }

        Assert.Equal(5_550, g.Book.InitialMargin(0), 9);
        Assert.Equal(0, g.Book.InitialMargin(1), 9);
        RiskBookExactnessTests.AssertMatches(book, 0);
        RiskBookExactnessTests.AssertMatches(book, 1);
        RiskBookExactnessTests.AssertMatches(g.Book, 0);
    }

    [Fact]
    public void AnAccountLeavingTheJointSample_IsMarginedOnItsOneUnderlyingAgain_AlsoAfterARestore()
    {
        // While an account holds two underlyings its requirement is the joint sample's, and a fill does not take the
        // underlying's own expected shortfall (it would be a second tail on every fill): that aggregate is "not
        // measured" until the account holds one underlying again. On the anti-correlated ramp: long 1 BTC alone
        // requires 2,775 (the mean of its 4 worst dates, −10 %, −9.5 %, −9 %, −8.5 % of 30,000); with long 15 ETH
        // beside it the joint loss is 0 on every date (the test above). Buying 0.5 BTC more leaves a joint loss of
        // −45,000 m + 30,000 m = −15,000 m, half a BTC's: 1,387.5 — and BTC's own aggregate is now not measured.
        // The book goes through a snapshot into a second book, and both close ETH: 1.5 BTC alone, 1.5 × 2,775 =
        // 4,162.5, in the live book and the restored one. Were the aggregate taken as measured, the IM would not
        // be a number; were its last measure kept (1 BTC, before the account held ETH), it would be 2,775.
        var f = new BookFixture(underlyings: 2, accounts: 4, grid: Ramp(anti: true));
        var book = f.Book;
        Assert.True(book.SetCollateral(0, BookFixture.Usd, 100_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(0), 1, 30_000));
        Assert.Equal(2_775, book.InitialMargin(0), 9);
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(1), 15, 2_000));
        Assert.Equal(0, book.InitialMargin(0), 9);
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(0), 0.5, 30_000));
        Assert.Equal(1_387.5, book.InitialMargin(0), 9);

        var measure = new Persistence.StateMeasure();
        book.VisitState(measure);
        var bytes = new byte[measure.Length];
        book.VisitState(new Persistence.StateCapture(bytes));
        var restored = new BookFixture(underlyings: 2, accounts: 4, grid: Ramp(anti: true)).Book;
        restored.VisitState(new Persistence.StateRestore(bytes));
        Assert.Equal(book.InitialMargin(0), restored.InitialMargin(0));

        foreach (var b in new[] { book, restored })
        {
            Assert.Equal(FillResult.Applied, b.ApplyFill(0, f.Perp(1), -15, 2_000));
            Assert.Equal(4_162.5, b.InitialMargin(0), 9);
            Assert.Equal(4_162.5 * b.Methodology.Maintenance(1), b.MaintenanceMargin(0), 9);
            RiskBookExactnessTests.AssertMatches(b, 0);
        }
    }

    [Fact]
    public void MovingCoinOutOfAJointAccount_IsCheckedOnTheJointSample()
    {
        // The anti-correlated ramp, the BTC coin inside the scenarios (haircut 10 %: 1 BTC counts 27,000). Parent 0:
        // short 1 BTC perpetual (loss 30,000 m on a date BTC moves m), 1 BTC of coin (−27,000 m), short 15 ETH
        // perpetuals (ETH moves −m: loss −30,000 m), 3,000 USD. Joint loss −27,000 m: its 4 worst dates are BTC's
        // falls of 10 %, 9.5 %, 9 %, 8.5 %: ES 27,000 × 9.25 % = 2,497.5; equity 30,000: healthy. Moving the coin to
        // its isolated account leaves 30,000 m − 30,000 m = 0 on every date: IM 0 against equity 3,000 — applied.
        // Checked against the underlyings' own requirements instead (BTC short alone 2,625, ETH short alone 2,775:
        // 5,400 above 3,000), it was refused.
        var f = new BookFixture(underlyings: 2, accounts: 2, grid: Ramp(anti: true), coinInScenarios: true);
        var book = f.Book;
        Assert.True(book.SetCollateral(0, BookFixture.Usd, 3_000));
        Assert.True(book.SetCollateral(0, BookFixture.Btc, 1));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(0), -1, 30_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(1), -15, 2_000));
        Assert.Equal(2_497.5, book.InitialMargin(0), 9);
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(1, MarginMode.Isolated, parent: 0, instrument: f.Perp(0)));
        Assert.Equal(MarginState.Healthy, book.State(0));

        Assert.Equal(TransferResult.Applied, book.TransferCollateral(0, 1, BookFixture.Btc, 1));
        Assert.Equal(0, book.InitialMargin(0), 9);
        Assert.Equal(MarginState.Healthy, book.State(0));
        RiskBookExactnessTests.AssertMatches(book, 0);
    }

    [Fact]
    public void TheLiquidationRanking_IsByContributionToTheAccountsTail()
    {
        var f = new BookFixture(underlyings: 2, accounts: 2, grid: Ramp(anti: true));
        var book = f.Book;
        Assert.True(book.SetCollateral(0, BookFixture.Usd, 100_000));
        // Long 1 BTC (−30,000 m per row) and long 30 ETH (+60,000 m): joint −30,000 m + 60,000 m = 30,000 m,
        // whose worst rows are BTC's best moves +9.5 %, +9 %, +8.5 %, +8 %: ES (2,850 + 2,700 + 2,550 + 2,400) / 4
        // = 2,625. Contributions over those rows: ETH 60,000 × 8.75 % = 5,250; BTC −30,000 × 8.75 % = −2,625
        // (a hedge in the tail — though its own worst row alone would lose 3,000). They add up to the ES.
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(0), 1, 30_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(1), 30, 2_000));
        Assert.Equal(2_625, book.InitialMargin(0), 9);
        Span<LiquidationCandidate> ranked = stackalloc LiquidationCandidate[4];
        Assert.Equal(2, book.RankForLiquidation(0, ranked));
        Assert.Equal(f.Perp(1), ranked[0].Instrument);
        Assert.Equal(5_250, ranked[0].WorstScenarioLoss, 9);
        Assert.Equal(f.Perp(0), ranked[1].Instrument);
        Assert.Equal(-2_625, ranked[1].WorstScenarioLoss, 9);
    }

    [Fact]
    public void WithTheDynamicRangeOn_TheEnginesEwmaRescalesTheFilteredMoves_AsTheFilterWould()
    {
        // One underlying, the BTC ramp filtered to σ_ref = 2 % a day. The engine's EWMA starts at 4 %: the filter's
        // σ_now is twice the reference, so each filtered log return doubles — a move m becomes (1 + m)² − 1. The 4
        // worst, −10 %, −9.5 %, −9 %, −8.5 %, become −19 %, −18.0975 %, −17.19 %, −16.2775 %: a long perpetual at
        // 30,000 loses 5,700, 5,429.25, 5,157, 4,883.25 — ES (mean of 4) 5,292.375, against 2,775 as filtered.
        var btc = Enumerable.Range(0, 40).Select(j => (j - 20) / 200.0).ToArray();
        RiskBook Book(double[]? reference, double seed = 0.04)
        {
            var book = new RiskBook(new RiskConfig
            {
                MaxUnderlyings = 1, MaxInstruments = 1, MaxAccounts = 1, MaxPositionsPerAccount = 1, MaxAssets = 1,
                Grid = ScenarioGrid.Historical([btc], 0.90, reference),
                DynamicRange = new DynamicRangeConfig { Enabled = true, SeedDailyVolatility = seed },
                IndexBand = 0.5,
            });
            book.DefineUnderlying(0);
            book.DefineInstrument(0, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 0.5, 0.001));
            book.DefineAsset(0, -1, 1.0, [new HaircutTier(1e12, 0.0)]);
            Assert.True(book.SetCollateral(0, 0, 100_000));
            Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 30_000, BookFixture.Start)); // the first sample seeds the EWMA at 4 %
            book.Revalue();
            Assert.Equal(FillResult.Applied, book.ApplyFill(0, 0, 1, 30_000));
            return book;
        }

        var live = Book([0.02]);
        Assert.Equal(0.2, live.ScenarioCalibration(0).PriceScanRange, 15); // the reference range 0.1 × 4 % ÷ 2 %
        Assert.Equal(5_292.375, live.InitialMargin(0), 6);

        // A calm day (index unchanged): σ² = 0.94 × 0.04², σ = 3.87814 %; the scale falls with it (no cap on a fall),
        // and the moves are the ramp's log returns × 1.93907.
        Assert.Equal(MarkResult.Accepted, live.UpdateIndex(0, 30_000, BookFixture.Start + BookFixture.Day));
        live.Revalue();
        double sigma = 0.04 * Math.Sqrt(0.94);
        Assert.Equal(sigma, live.EwmaDailyVolatility(0), 12);
        Assert.Equal(0.1 * sigma / 0.02, live.ScenarioCalibration(0).PriceScanRange, 12);
        double s = sigma / 0.02;
        double expected = new[] { -0.10, -0.095, -0.09, -0.085 }.Average(m => -30_000 * (Math.Pow(1 + m, s) - 1));
        Assert.Equal(expected, live.InitialMargin(0), 6);
        RiskBookExactnessTests.AssertMatches(live, 0);

        // A crash day, −30 %: σ² = 0.94 × σ² + 0.06 × ln(0.7)² would scale the moves by 3.3; the daily cap holds the
        // rise to 1.5 × the day's start.
        Assert.Equal(MarkResult.Accepted, live.UpdateIndex(0, 21_000, BookFixture.Start + (2 * BookFixture.Day)));
        double crash = Math.Sqrt((0.94 * sigma * sigma) + (0.06 * Math.Log(0.7) * Math.Log(0.7)));
        Assert.True(0.1 * crash / 0.02 > 1.5 * 0.1 * s);
        Assert.Equal(1.5 * 0.1 * s, live.ScenarioCalibration(0).PriceScanRange, 12);

        // A seed of 40 % against 2 % would scale the log returns 20×: the scale stops just under 10× (0.999 as a calibration).
        Assert.Equal(0.999, Book([0.02], seed: 0.40).ScenarioCalibration(0).PriceScanRange);

        // Negative control: moves without a reference volatility are not rescaled (the EWMA runs, the moves stay).
        var fixedMoves = Book(null);
        Assert.Equal(ScenarioGrid.HistoricalReferenceRange, fixedMoves.ScenarioCalibration(0).PriceScanRange);
        Assert.Equal(2_775, fixedMoves.InitialMargin(0), 6);
    }

    [Fact]
    public void LongRandomSequence_With500HistoricalDates_EveryAccountEqualsFromScratchRecomputation()
    {
        // The standard exactness run (fills, index and vol ticks, funding, collateral; revaluations) on a
        // 500-date joint sample at 97.5 %: the verifier measures each account with the sort-based ES of the
        // risk arrays it rebuilds from positions.
        RiskBookExactnessTests.RunLongRandomSequence(Sample(500), carry: 0.05, fundingProvision: true, checkJoint: true);
    }

    /// <summary>The same with coin collateral inside the scenarios: each date moves the coin with its index, in the underlying's array and so in the joint sample.</summary>
    [Fact]
    public void LongRandomSequence_WithCoinCollateralInTheDates_EveryAccountEqualsFromScratchRecomputation() =>
        RiskBookExactnessTests.RunLongRandomSequence(Sample(500, seed: 12), coinInScenarios: true, checkJoint: true);

    [Fact]
    public void TheWhatIf_SaysWhatTheFillThenDoes_OnOneUnderlyingAndOnTheJointSample()
    {
        // 2,000 random fills at the mark on 500 dates: before each, the what-if's margin after; after it, the book's.
        // The what-if measures from where the tail was (a guess lowered by what the fill can move a row) and, for
        // an account of two underlyings, skips the underlying's own measure — the number must not differ.
        var f = new BookFixture(underlyings: 2, accounts: 20, grid: Sample(500));
        var book = f.Book;
        var rng = new Random(4);
        for (int a = 0; a < 20; a++)
        {
            Assert.True(book.SetCollateral(a, BookFixture.Usd, 10_000_000));
        }

        int joint = 0;
        for (int e = 0; e < 2_000; e++)
        {
            int a = rng.Next(20);
            int i = f.Instruments[rng.Next(f.Instruments.Count)];
            double q = (rng.Next(2) == 0 ? -1 : 1) * (1 + rng.Next(3)) * (book.Instrument(i).IsOption ? 0.5 : 0.1);
            double predicted = book.WhatIf(a, i, q).InitialMarginAfter;
            if (book.ApplyFill(a, i, q, book.MarkPrice(i)) != FillResult.Applied)
            {
                continue;
            }

            bool jointSample = Enumerable.Range(0, book.PositionCount(a)).Select(k => book.Instrument(book.PositionInstrumentAt(a, k)).Underlying).Distinct().Count() > 1;
            joint += jointSample ? 1 : 0;
            if (jointSample)
            {
                Assert.Equal(book.InitialMargin(a), predicted); // the same sums in the same order: to the bit
            }
            else
            {
                Assert.Equal(book.InitialMargin(a), predicted, (1e-9 * Math.Abs(book.InitialMargin(a))) + 1e-6);
            }
            while (book.TryDequeueTransition(out _))
            {
            }
        }

        Assert.True(joint > 500, $"only {joint} fills left an account of two underlyings");
    }

    [Fact]
    public void JointSamplesOfUpToSixUnderlyings_TheWhatIfIsTheFillToTheBit_AndEveryAccountEqualsFromScratch()
    {
        // The joint sample is read in the measure's own pass for up to four underlyings (the changed one and three
        // others, or two others and zeros) and summed first beyond; accounts here come to hold one to six. 3,000
        // random fills (half of them closing what is held, so accounts also leave underlyings) and index ticks with
        // revaluations; before each fill the what-if, after it the book: the same sums in the same order, so the same
        // number to the bit on the joint sample; every 500 events and at the end every account against the verifier.
        const int Underlyings = 6, Accounts = 24;
        var rng = new Random(21);
        var moves = new double[Underlyings][];
        for (int u = 0; u < Underlyings; u++)
        {
            moves[u] = new double[500];
        }

        for (int j = 0; j < 500; j++)
        {
            double common = (rng.NextDouble() - 0.5) * 0.08;
            for (int u = 0; u < Underlyings; u++)
            {
                moves[u][j] = (0.7 * common) + ((rng.NextDouble() - 0.5) * 0.04);
            }
        }

        var f = new BookFixture(underlyings: Underlyings, accounts: Accounts, grid: ScenarioGrid.Historical(moves, 0.975));
        var book = f.Book;
        for (int a = 0; a < Accounts; a++)
        {
            Assert.True(book.SetCollateral(a, BookFixture.Usd, 50_000_000));
        }

        var held = new int[Underlyings + 1];
        long now = BookFixture.Start;
        for (int e = 0; e < 3_000; e++)
        {
            if (e % 50 == 49)
            {
                int u = rng.Next(Underlyings);
                Assert.Equal(MarkResult.Accepted, book.UpdateIndex(u, book.IndexPrice(u) * (1 + ((rng.NextDouble() - 0.5) * 0.01)), now += 1_000_000_000));
                book.Revalue();
            }

            int account = rng.Next(Accounts);
            int instrument, count = book.PositionCount(account);
            double q;
            if (count > 0 && rng.Next(2) == 0)
            {
                instrument = book.PositionInstrumentAt(account, rng.Next(count));
                q = -book.PositionQuantity(account, instrument); // close it
            }
            else
            {
                instrument = f.Instruments[rng.Next(f.Instruments.Count)];
                q = (rng.Next(2) == 0 ? -1 : 1) * (1 + rng.Next(3)) * (book.Instrument(instrument).IsOption ? 0.5 : 0.1);
            }

            double predicted = book.WhatIf(account, instrument, q).InitialMarginAfter;
            Assert.Equal(FillResult.Applied, book.ApplyFill(account, instrument, q, book.MarkPrice(instrument)));
            int underlyingsHeld = Enumerable.Range(0, book.PositionCount(account)).Select(k => book.Instrument(book.PositionInstrumentAt(account, k)).Underlying).Distinct().Count();
            held[underlyingsHeld]++;
            int filled = book.Instrument(instrument).Underlying;
            bool stillHeld = Enumerable.Range(0, book.PositionCount(account)).Any(k => book.Instrument(book.PositionInstrumentAt(account, k)).Underlying == filled);
            if (underlyingsHeld >= 2 && stillHeld)
            {
                Assert.Equal(book.InitialMargin(account), predicted); // on the joint sample: to the bit
            }
            else
            {
                Assert.Equal(book.InitialMargin(account), predicted, (1e-9 * Math.Abs(book.InitialMargin(account))) + 1e-6);
            }

            Assert.True(double.IsFinite(book.InitialMargin(account)));
            while (book.TryDequeueTransition(out _))
            {
            }

            if (e % 500 == 499)
            {
                for (int a = 0; a < Accounts; a++)
                {
                    RiskBookExactnessTests.AssertMatches(book, a);
                }
            }
        }

        for (int a = 0; a < Accounts; a++)
        {
            RiskBookExactnessTests.AssertMatches(book, a);
        }

        for (int h = 2; h <= 5; h++)
        {
            Assert.True(held[h] > 50, $"only {held[h]} fills left an account holding {h} underlyings: [{string.Join(", ", held)}]");
        }
    }

    [Fact]
    public void WorkingOrders_OnTheDates_AreMarginedAsTheVerifierDoes()
    {
        // Resting orders on both underlyings of an account that holds both: their margin is per underlying, each the
        // worse side's expected shortfall as if filled over the filled one — the verifier's from positions and orders.
        var f = new BookFixture(underlyings: 2, accounts: 4, grid: Sample(500));
        var book = f.Book;
        Assert.True(book.SetCollateral(0, BookFixture.Usd, 1_000_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(0), 1, book.MarkPrice(f.Perp(0))));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(1), -10, book.MarkPrice(f.Perp(1))));
        Assert.True(book.AddWorkingOrder(0, f.Future(0, 0), 2));
        Assert.True(book.AddWorkingOrder(0, f.Option(1, 1, 2, call: true), -5));
        book.Revalue();
        Assert.True(book.OpenOrderMargin(0) > 0);
        RiskBookExactnessTests.AssertMatches(book, 0);
        Assert.True(book.RemoveWorkingOrder(0, f.Future(0, 0), 2));
        book.Revalue();
        RiskBookExactnessTests.AssertMatches(book, 0);
    }

    [Theory]
    [InlineData(2)] // the pair
    [InlineData(4)] // the changed underlying and three others in the pass
    [InlineData(6)] // others summed first
    public void FillTickWhatIfAndRanking_OnTheJointSample_DoNotAllocate(int held)
    {
        var f = new BookFixture(underlyings: held, accounts: 4, grid: held == 2 ? Sample(500) : ScenarioGrid.Historical([.. Enumerable.Range(0, held).Select(u => Sample(500, seed: 9 + u).HistoricalMoves![0])], 0.975));
        var book = f.Book;
        Assert.True(book.SetCollateral(0, BookFixture.Usd, 1_000_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(0), 1, 30_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Option(1, 1, 2, true), -3, book.MarkPrice(f.Option(1, 1, 2, true))));
        for (int u = 2; u < held; u++)
        {
            Assert.Equal(FillResult.Applied, book.ApplyFill(0, f.Perp(u), -1, book.MarkPrice(f.Perp(u))));
        }

        book.Revalue();
        long n = 0;
        long now = BookFixture.Start;
        var ranked = new LiquidationCandidate[4];
        GcAssert.NoAllocation(() =>
        {
            double q = (n++ % 2) == 0 ? 0.5 : -0.5;
            book.ApplyFill(0, f.Future(1, 0), q, book.MarkPrice(f.Future(1, 0)));
            book.WhatIf(0, f.Perp(0), q);
            book.RankForLiquidation(0, ranked); // the breach path's ranking by tail contribution
            if (n % 64 == 0)
            {
                now += 1_000_000_000;
                book.UpdateIndex(1, 2_000 + (n % 5), now);
                book.Revalue();
            }

            while (book.TryDequeueTransition(out _))
            {
            }
        });
    }

    [Fact]
    public void WhatTheGridCannotTake_IsRefusedWithItsReason()
    {
        double[] ok = [.. Enumerable.Range(0, 30).Select(j => (j - 15) / 100.0)];
        Assert.Contains("20 to", Assert.Throws<ArgumentException>(() => ScenarioGrid.Historical([ok[..10]])).Message);
        Assert.Contains("Underlying 1 has 29 moves", Assert.Throws<ArgumentException>(() => ScenarioGrid.Historical([ok, ok[..29]])).Message);
        Assert.Contains("not in (−1, 20]", Assert.Throws<ArgumentException>(() => ScenarioGrid.Historical([[.. ok[..29], -1.0]])).Message);
        Assert.Contains("not in (−1, 20]", Assert.Throws<ArgumentException>(() => ScenarioGrid.Historical([[.. ok[..29], double.NaN]])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ScenarioGrid.Historical([ok], 0.5));

        // A book of more underlyings than the history has columns; components beside the tail measure.
        var grid = ScenarioGrid.Historical([ok]);
        Assert.Contains("moves for 1 underlyings", Assert.Throws<ArgumentException>(() => new BookFixture(underlyings: 2, accounts: 2, grid: grid)).Message);
        var components = new PortfolioComponentsConfig { SizeAddOns = [new SizeAddOnConfig { Underlying = 0, BaseRate = 0.01 }] };
        Assert.Contains("expected shortfall", Assert.Throws<ArgumentException>(() => new BookFixture(underlyings: 1, accounts: 2, grid: grid, components: components)).Message);
    }
}
