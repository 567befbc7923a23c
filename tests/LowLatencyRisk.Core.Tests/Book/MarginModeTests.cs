using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// Account margin modes: portfolio, standard cross margin and isolated positions, each on every path
/// (fill, tick, what-if, gate, ladder), with hand-computed numbers.
/// </summary>
public sealed class MarginModeTests
{
    private static readonly long Now = 1_795_000_000L * 1_000_000_000;
    private static readonly long Days30 = 30L * 86_400 * 1_000_000_000;

    private const int Perp = 0, Future = 1, Put = 2, Call = 3;

    /// <summary>
    /// One underlying at 50,000, no carry (so the future's forward is the index): a perpetual, a
    /// 30-day future, a 30-day 45,000 put and a 30-day 52,000 call at 50 % volatility; one
    /// collateral asset worth 1 without haircut; the default standard rule (futures bands 1 %/0.5 % to
    /// 50,000, 2 %/1 % to 500,000, 5 %/2.5 % to 5,000,000, then 10 %/5 %; options a 15 %, b 10 %, c 7.5 %).
    /// </summary>
    private static RiskBook NewBook(double hysteresis = 0)
    {
        var book = new RiskBook(new RiskConfig
        {
            MaxUnderlyings = 1, MaxInstruments = 8, MaxAccounts = 6, MaxPositionsPerAccount = 8, MaxAssets = 1, IndexBand = 10, Hysteresis = hysteresis,
        });
        book.DefineUnderlying(0);
        book.UpdateIndex(0, 50_000, Now);
        book.DefineInstrument(Perp, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 0.5, 0.001));
        book.DefineInstrument(Future, new InstrumentSpec(InstrumentKind.Future, 0, 0, Now + Days30, 1, 0.5, 0.001));
        book.DefineInstrument(Put, new InstrumentSpec(InstrumentKind.Put, 0, 45_000, Now + Days30, 1, 0.1, 0.01));
        book.DefineInstrument(Call, new InstrumentSpec(InstrumentKind.Call, 0, 52_000, Now + Days30, 1, 0.1, 0.01));
        book.SetInitialVolatility(Put, 0.5);
        book.SetInitialVolatility(Call, 0.5);
        book.DefineAsset(0, -1, 1, [new HaircutTier(1e15, 0)]);
        book.Revalue();
        return book;
    }

    /// <summary>The Black-76 value the book marks an option at (the pricing itself is pinned by the Hull and Haug tests).</summary>
    private static double Black76(OptionRight right, double forward, double strike) =>
        BlackScholes.Compute(new OptionInput(right, PricingModel.Forward, forward, strike, 30.0 / 365, 0.5, 0.03)).Price;

    [Fact]
    public void StandardMargin_AShortPutAndALongFuture_AreChargedPerPosition_OnFillTickAndWhatIf()
    {
        var book = NewBook();
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(0, MarginMode.Standard));
        Assert.Equal(MarginMode.Standard, book.Mode(0));
        Assert.True(book.SetCollateral(0, 0, 100_000));

        double put = book.MarkPrice(Put);
        Assert.Equal(Black76(OptionRight.Put, 50_000, 45_000), put, 6);
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, Put, -2, put));
        // Short put, per unit: OTM = 50,000 − 45,000 = 5,000, 5,000 / 50,000 = 0.10;
        // IM rate max(0.15 − 0.10, 0.10) = 0.10 → 0.10 × 50,000 + mark = 5,000 + mark; MM 0.075 × 50,000 + mark = 3,750 + mark.
        Assert.Equal(2 * (5_000 + put), book.InitialMargin(0), 6);
        Assert.Equal(2 * (3_750 + put), book.MaintenanceMargin(0), 6);

        Assert.Equal(FillResult.Applied, book.ApplyFill(0, Future, 10, 50_000));
        // Long 10 futures at 50,000: notional 500,000 in bands: 50,000 × 1 % + 450,000 × 2 % = 500 + 9,000 = 9,500 IM;
        // 50,000 × 0.5 % + 450,000 × 1 % = 250 + 4,500 = 4,750 MM. No offset against the put.
        Assert.Equal((2 * (5_000 + put)) + 9_500, book.InitialMargin(0), 6);
        Assert.Equal((2 * (3_750 + put)) + 4_750, book.MaintenanceMargin(0), 6);

        // A long call is charged its premium, initial and maintenance alike.
        double call = book.MarkPrice(Call);
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, Call, 1, call));
        Assert.Equal((2 * (5_000 + put)) + 9_500 + call, book.InitialMargin(0), 6);
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, Call, -1, call));

        // Tick: index 48,000. Put OTM 3,000 / 48,000 = 0.0625; max(0.15 − 0.0625, 0.10) = 0.10 → 4,800 + mark.
        // Future notional 480,000: 500 + 430,000 × 2 % = 9,100 IM; 250 + 430,000 × 1 % = 4,550 MM.
        Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 48_000, Now + 1_000_000_000));
        book.Revalue();
        double put2 = book.MarkPrice(Put);
        Assert.True(put2 > put, "the put gained value as the index fell");
        Assert.Equal((2 * (4_800 + put2)) + 9_100, book.InitialMargin(0), 6);
        Assert.Equal((2 * ((0.075 * 48_000) + put2)) + 4_550, book.MaintenanceMargin(0), 6);

        // What-if: 5 more futures → 15 at 48,000 = 720,000: 500 + 450,000 × 2 % + 220,000 × 5 % = 500 + 9,000 + 11,000 = 20,500.
        var whatIf = book.WhatIf(0, Future, 5);
        Assert.Equal(book.InitialMargin(0), whatIf.InitialMarginBefore);
        Assert.Equal(book.InitialMargin(0) - 9_100 + 20_500, whatIf.InitialMarginAfter, 6);

        // Near the money a short call pays more: OTM 52,000 − 48,000 = 4,000, 0.15 − 4,000 / 48,000 = 0.0667 → floor 0.10;
        // at index 50,000 it would be 0.15 − 0.04 = 0.11 (the a − OTM term binds above the floor).
        var standard = new StandardMargin(StandardMarginConfig.Default);
        var shortCall = standard.Of(new PositionTerms(InstrumentKind.Call, -1, 1_000, 1, 50_000, 52_000));
        Assert.Equal((0.11 * 50_000) + 1_000, shortCall.Initial, 9);
        Assert.Equal((0.075 * 50_000) + 1_000, shortCall.Maintenance, 9);
    }

    [Fact]
    public void StandardTiers_AreMarginalBands_ContinuousAndNeverFallingAsThePositionGrows()
    {
        var standard = new StandardMargin(StandardMarginConfig.Default);
        double previous = 0;
        for (double notional = 0; notional <= 8_000_000; notional += 10_000)
        {
            var r = standard.Of(new PositionTerms(InstrumentKind.Perpetual, notional / 1_000, 1_000, 1, 1_000, 0));
            Assert.True(r.Initial >= previous, $"IM fell at notional {notional}");
            Assert.True(r.Initial - previous <= (10_000 * 0.10) + 1e-6, $"IM jumped at notional {notional}"); // at most the top rate × step
            Assert.True(r.Maintenance <= r.Initial);
            previous = r.Initial;
        }

        // 6,000,000: 500 + 450,000 × 2 % + 4,500,000 × 5 % + 1,000,000 × 10 % = 500 + 9,000 + 225,000 + 100,000 = 334,500.
        Assert.Equal(334_500, standard.Of(new PositionTerms(InstrumentKind.Future, -6_000, 1_000, 1, 1_000, 0)).Initial, 6);
        Assert.Equal(0, standard.Of(new PositionTerms(InstrumentKind.Future, 0, 1_000, 1, 1_000, 0)).Initial);
        Assert.Throws<ArgumentException>(() => new StandardMargin(new StandardMarginConfig { Tiers = [new(100, 0.05, 0.01), new(50, 0.1, 0.05)] }));
        Assert.Throws<ArgumentException>(() => new StandardMargin(new StandardMarginConfig { Tiers = [new(100, 0.05, 0.01), new(500, 0.01, 0.005)] }));
        Assert.Throws<ArgumentException>(() => new StandardMargin(new StandardMarginConfig { OptionMaintenance = 0.2 }));
        Assert.Throws<ArgumentException>(() => new StandardMargin(new StandardMarginConfig { Tiers = [] }));

        // A short option before its underlying's first index: finite (its mark), never NaN.
        var early = standard.Of(new PositionTerms(InstrumentKind.Put, -2, 100, 1, 0, 45_000));
        Assert.Equal((200.0, 200.0), (early.Initial, early.Maintenance));
    }

    [Fact]
    public void AnIsolatedPerpetual_IsLiquidated_WhileItsParentStaysHealthy()
    {
        var book = NewBook();
        Assert.True(book.SetCollateral(0, 0, 100_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, Call, 1, book.MarkPrice(Call)));
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(1, MarginMode.Isolated, parent: 0, instrument: Perp));
        Assert.Equal((0, Perp), (book.IsolatedParent(1), book.IsolatedInstrument(1)));
        Assert.Equal(TransferResult.Applied, book.TransferCollateral(0, 1, 0, 12_000));
        Assert.Equal((88_000.0, 12_000.0), (book.CollateralBalance(0, 0), book.CollateralBalance(1, 0)));

        Assert.Equal(FillResult.Applied, book.ApplyFill(1, Perp, 10, 50_000));
        // Isolated = standard rule on its one position: 500,000 notional → IM 9,500, MM 4,750, against its own 12,000.
        Assert.Equal(9_500, book.InitialMargin(1), 6);
        Assert.Equal(4_750, book.MaintenanceMargin(1), 6);
        Assert.Equal(MarginState.Healthy, book.State(1));
        Assert.Equal(FillResult.RejectedIsolatedInstrument, book.ApplyFill(1, Future, 1, 50_000));
        var gate = new PreTradeGate(book, new GateConfig());
        var decision = gate.Check(new OrderRequest(1, Future, OrderSide.Buy, 1, 50_000, OrderType.Limit, 1), Now + 1);
        Assert.Equal(RejectReason.IsolatedInstrument, decision.Reason);
        Assert.Equal(Perp, decision.Limit);
        while (book.TryDequeueTransition(out _))
        {
        }

        // −2 %: the perpetual loses 10 × 1,000 = 10,000; equity 2,000 < MM at 490,000 notional (250 + 440,000 × 1 % = 4,650).
        Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 49_000, Now + 1_000_000_000));
        book.Revalue();
        Assert.Equal(2_000, book.Equity(1), 6);
        Assert.Equal(4_650, book.MaintenanceMargin(1), 6);
        Assert.Equal(MarginState.Liquidation, book.State(1));
        Assert.True(book.TryDequeueTransition(out var breach));
        Assert.Equal((1, MarginState.Healthy, MarginState.Liquidation), (breach.Account, breach.From, breach.To));
        Assert.False(book.TryDequeueTransition(out _), "the parent had no transition");
        Assert.Equal(MarginState.Healthy, book.State(0));
        Span<LiquidationCandidate> candidates = stackalloc LiquidationCandidate[3];
        Assert.Equal(1, book.RankForLiquidation(1, candidates));
        Assert.Equal((Perp, 10.0), (candidates[0].Instrument, candidates[0].Quantity));

        // The isolated position cannot pay out while failing; the parent can rescue it.
        Assert.Equal(TransferResult.RejectedWouldBreach, book.TransferCollateral(1, 0, 0, 1_000));
        Assert.Equal(TransferResult.Applied, book.TransferCollateral(0, 1, 0, 20_000));
        Assert.Equal(22_000, book.Equity(1), 6);
        Assert.Equal(MarginState.Healthy, book.State(1)); // 22,000 ≥ IM 500 + 440,000 × 2 % = 9,300
    }

    [Fact]
    public void AModeSwitch_ThatWouldBreach_IsRefused_AndChangesNothing()
    {
        var book = NewBook();
        Assert.True(book.SetCollateral(2, 0, 5_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(2, Future, 10, 50_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(2, Perp, -10, 50_000));
        // No carry: the future moves with the index exactly like the perpetual, so the hedge's scan risk is 0.
        Assert.Equal(0, book.InitialMargin(2), 6);
        var standard = book.RequirementUnder(2, MarginMode.Standard);
        Assert.Equal(2 * 9_500, standard.Initial, 6); // each leg 9,500 on its own (bands above), no offset
        Assert.Equal(2 * 4_750, standard.Maintenance, 6);

        Assert.Equal(ModeChangeResult.RejectedWouldBreach, book.SetMarginMode(2, MarginMode.Standard));
        Assert.Equal(MarginMode.Portfolio, book.Mode(2));
        Assert.Equal(0, book.InitialMargin(2), 6);
        Assert.Equal(MarginState.Healthy, book.State(2));

        Assert.True(book.SetCollateral(2, 0, 25_000));
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(2, MarginMode.Standard));
        Assert.Equal(19_000, book.InitialMargin(2), 6);
        Assert.Equal(9_500, book.MaintenanceMargin(2), 6);
        Assert.Equal(ModeChangeResult.Unchanged, book.SetMarginMode(2, MarginMode.Standard));
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(2, MarginMode.Portfolio));
        Assert.Equal(0, book.InitialMargin(2), 6);
        Assert.Equal(0, book.MaintenanceMargin(2), 6);
    }

    [Fact]
    public void ModeAndTransferRules_RefuseWhatTheyMust()
    {
        var book = NewBook();
        Assert.True(book.SetCollateral(0, 0, 10_000));
        Assert.Equal(ModeChangeResult.RejectedUnknownId, book.SetMarginMode(99, MarginMode.Standard));
        Assert.Equal(ModeChangeResult.RejectedUnknownId, book.SetMarginMode(0, (MarginMode)7));
        Assert.Equal(ModeChangeResult.RejectedUnknownId, book.SetMarginMode(1, MarginMode.Isolated, parent: 0, instrument: 99));
        Assert.Equal(ModeChangeResult.RejectedUnknownId, book.SetMarginMode(1, MarginMode.Isolated, parent: 99, instrument: Perp));
        Assert.Equal(ModeChangeResult.RejectedInvalidParent, book.SetMarginMode(1, MarginMode.Isolated, parent: 1, instrument: Perp));

        Assert.Equal(FillResult.Applied, book.ApplyFill(0, Perp, 0.1, 50_000));
        Assert.Equal(ModeChangeResult.RejectedNotFlat, book.SetMarginMode(0, MarginMode.Isolated, parent: 2, instrument: Perp));
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(1, MarginMode.Isolated, parent: 0, instrument: Perp));
        Assert.Equal(ModeChangeResult.Unchanged, book.SetMarginMode(1, MarginMode.Isolated, parent: 0, instrument: Perp));
        Assert.Equal(ModeChangeResult.RejectedInvalidParent, book.SetMarginMode(3, MarginMode.Isolated, parent: 1, instrument: Perp)); // parent isolated
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, Perp, -0.1, 50_000));
        Assert.Equal(ModeChangeResult.RejectedInvalidParent, book.SetMarginMode(0, MarginMode.Isolated, parent: 2, instrument: Perp)); // parents one

        Assert.Equal(TransferResult.RejectedNotLinked, book.TransferCollateral(0, 2, 0, 1));
        Assert.Equal(TransferResult.RejectedUnknownId, book.TransferCollateral(0, 1, 5, 1));
        Assert.Equal(TransferResult.RejectedUnknownId, book.TransferCollateral(0, 99, 0, 1));
        foreach (double bad in new[] { 0, -1, double.NaN, double.PositiveInfinity, 10_000.5 })
        {
            Assert.Equal(TransferResult.RejectedInvalid, book.TransferCollateral(0, 1, 0, bad));
        }

        Assert.Equal(10_000, book.CollateralBalance(0, 0));
        Assert.Equal(TransferResult.Applied, book.TransferCollateral(0, 1, 0, 10_000));
        Assert.Equal(TransferResult.Applied, book.TransferCollateral(1, 0, 0, 4_000)); // back to the parent

        // An isolated account goes back to cross margin only when flat; then its former parent may itself be isolated.
        Assert.Equal(FillResult.Applied, book.ApplyFill(1, Perp, 0.1, 50_000));
        Assert.Equal(ModeChangeResult.RejectedNotFlat, book.SetMarginMode(1, MarginMode.Standard));
        Assert.Equal(FillResult.Applied, book.ApplyFill(1, Perp, -0.1, 50_000));
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(1, MarginMode.Standard));
        Assert.Equal((-1, -1), (book.IsolatedParent(1), book.IsolatedInstrument(1)));
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(0, MarginMode.Isolated, parent: 2, instrument: Future));
        Assert.Equal(TransferResult.RejectedNotLinked, book.TransferCollateral(0, 1, 0, 1));
    }

    [Fact]
    public void MixedModes_100kRandomEvents_IncrementalEqualsFromScratch()
    {
        // Accounts: 3k portfolio, 3k + 1 standard, 3k + 2 isolated under 3k on one instrument. Fills,
        // index and vol ticks, collateral, transfers and mode switches in random order; the engine's
        // end-of-batch revaluation every 500 events.
        var f = new BookFixture(underlyings: 2, accounts: 300);
        var book = f.Book;
        var rng = new Random(4242);
        double[] index = [30_000, 2_000];
        long now = BookFixture.Start;
        int[] bound = new int[300];
        for (int a = 0; a < 300; a++)
        {
            Assert.True(book.SetCollateral(a, BookFixture.Usd, 50_000 + rng.Next(200_000)));
            if (a % 3 == 1)
            {
                Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(a, MarginMode.Standard));
            }
            else if (a % 3 == 2)
            {
                bound[a] = f.Instruments[rng.Next(f.Instruments.Count)];
                Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(a, MarginMode.Isolated, a - 2, bound[a]));
            }
        }

        int applied = 0, switches = 0, transfers = 0;
        for (int e = 0; e < 100_000; e++)
        {
            int kind = rng.Next(100);
            int account = rng.Next(300);
            if (kind < 30)
            {
                int instrument = account % 3 == 2 ? bound[account] : f.Instruments[rng.Next(f.Instruments.Count)];
                double quantity = (rng.Next(2) == 0 ? -1 : 1) * (1 + rng.Next(5)) * (book.Instrument(instrument).IsOption ? 0.5 : 0.1);
                double price = book.MarkPrice(instrument) * (1 + ((rng.NextDouble() - 0.5) * 0.02));
                applied += book.ApplyFill(account, instrument, quantity, Math.Max(price, 0.01)) == FillResult.Applied ? 1 : 0;
            }
            else if (kind < 60)
            {
                int u = rng.Next(2);
                index[u] *= 1 + ((rng.NextDouble() - 0.5) * 0.01);
                now += 1_000_000_000;
                Assert.Equal(MarkResult.Accepted, book.UpdateIndex(u, index[u], now));
            }
            else if (kind < 90)
            {
                int option = f.ByUnderlying[rng.Next(2)][3 + rng.Next(30)];
                double vol = Math.Clamp(book.MarkVolatility(option) * (1 + ((rng.NextDouble() - 0.5) * 0.1)), 0.2, 2.0);
                Assert.Equal(MarkResult.Accepted, book.UpdateVolatility(option, vol));
            }
            else if (kind < 94)
            {
                Assert.True(book.SetCollateral(account, rng.Next(2), rng.Next(2) == 0 ? 0 : rng.NextDouble() * 20));
            }
            else if (kind < 97)
            {
                int child = (3 * rng.Next(100)) + 2;
                bool toChild = rng.Next(2) == 0;
                transfers += book.TransferCollateral(toChild ? child - 2 : child, toChild ? child : child - 2, BookFixture.Usd, rng.NextDouble() * 5_000) == TransferResult.Applied ? 1 : 0;
            }
            else if (account % 3 != 2)
            {
                var mode = book.Mode(account) == MarginMode.Portfolio ? MarginMode.Standard : MarginMode.Portfolio;
                switches += book.SetMarginMode(account, mode) == ModeChangeResult.Changed ? 1 : 0;
            }

            if (e % 500 == 0)
            {
                book.Revalue();
            }

            while (book.TryDequeueTransition(out _))
            {
            }
        }

        book.Revalue();
        Assert.True(applied > 20_000, $"only {applied} fills applied");
        Assert.True(switches > 100 && transfers > 500, $"switches {switches}, transfers {transfers}");
        int standardAccounts = 0;
        for (int a = 0; a < 300; a++)
        {
            standardAccounts += book.Mode(a) == MarginMode.Standard ? 1 : 0;
            RiskBookExactnessTests.AssertMatches(book, a);
        }

        Assert.InRange(standardAccounts, 20, 180); // both cross modes are still represented

        // Then fills, transfers and switches alone, with no revaluation to re-base them: the pure
        // incremental paths, still exact.
        for (int e = 0; e < 20_000; e++)
        {
            int account = rng.Next(300);
            int instrument = account % 3 == 2 ? bound[account] : f.Instruments[rng.Next(f.Instruments.Count)];
            book.ApplyFill(account, instrument, (rng.Next(2) == 0 ? -1 : 1) * 0.5, book.MarkPrice(instrument));
            if (e % 50 == 0 && account % 3 != 2)
            {
                book.SetMarginMode(account, book.Mode(account) == MarginMode.Portfolio ? MarginMode.Standard : MarginMode.Portfolio);
            }
        }

        for (int a = 0; a < 300; a++)
        {
            RiskBookExactnessTests.AssertMatches(book, a);
        }
    }

    [Fact]
    public void StandardAndIsolated_FillTickWhatIfSwitchAndTransfer_DoNotAllocate()
    {
        var book = NewBook();
        Assert.True(book.SetCollateral(0, 0, 1_000_000));
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(0, MarginMode.Standard));
        Assert.Equal(ModeChangeResult.Changed, book.SetMarginMode(1, MarginMode.Isolated, 0, Perp));
        Assert.Equal(TransferResult.Applied, book.TransferCollateral(0, 1, 0, 500_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, Put, -1, book.MarkPrice(Put)));
        Assert.True(book.SetCollateral(2, 0, 1_000_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(2, Future, 1, 50_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(2, Call, -1, book.MarkPrice(Call)));
        var state = (book, flip: new int[1]);
        GcAssert.NoAllocation(state, static s =>
        {
            int f = s.flip[0]++ & 1;
            s.book.ApplyFill(0, Future, f == 0 ? 0.5 : -0.5, 50_000);
            s.book.ApplyFill(1, Perp, f == 0 ? 0.5 : -0.5, 50_000);
            s.book.UpdateIndex(0, f == 0 ? 50_010 : 49_990, Now + (s.flip[0] * 1_000_000L));
            s.book.Revalue();
            s.book.WhatIf(0, Put, -1);
            s.book.WhatIf(1, Perp, 1);
            s.book.SetMarginMode(2, f == 0 ? MarginMode.Standard : MarginMode.Portfolio); // the feed's mode switch
            s.book.TransferCollateral(0, 1, 0, f == 0 ? 10 : -10);                          // and transfer (every other one refused)
        });
        Assert.Equal(MarginMode.Standard, book.Mode(0));
        Assert.True(book.CollateralBalance(1, 0) > 500_000, "transfers were applied, not only refused");
    }
}
