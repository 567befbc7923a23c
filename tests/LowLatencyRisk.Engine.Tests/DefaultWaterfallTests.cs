using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Persistence;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>
/// The default waterfall, end to end in one process (engine, liquidator, simulated matching engine):
/// a gap move makes an account bankrupt, the insurance fund pays, and what it cannot pay is
/// deleveraged against the opposite side in the documented order at the bankruptcy price. Same book
/// as <see cref="LiquidationOrderTests"/>: one perpetual at 30,000 (multiplier 1, tick 0.5, lot
/// 0.001), scan range 15 %, MM = 0.8 × IM; band 1 %, fee 0.5 %.
/// </summary>
public sealed partial class LiquidationOrderTests
{
    private static LiquidationOptions WithFund(double fund) => Options with { InsuranceFund = fund };

    private void Account(Rig rig, int account, double collateral, double quantity, double price)
    {
        Publish(rig, FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, account, 0, collateral));
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, account, 0, quantity, price, 100 + account));
    }

    /// <summary>The index gaps to <paramref name="index"/>: a jump beyond the mark band is held until a second mark confirms it.</summary>
    private void GapTo(Rig rig, double index)
    {
        Publish(rig, FeedMessageType.IndexPrice, p => FeedMessageDescriptor.WriteIndexPrice(p, 0, index));
        Publish(rig, FeedMessageType.IndexPrice, p => FeedMessageDescriptor.WriteIndexPrice(p, 0, index));
    }

    [Fact]
    public void AGapMove_MakesAnAccountBankrupt_AndTheInsuranceFundPaysItsDeficit()
    {
        var rig = NewRig(options: WithFund(5_000));
        Account(rig, 0, 8_000, 2, 30_000);
        rig.Settle();
        Assert.Equal(MarginState.MarginCall, rig.Book.State(0));

        // Index 25,000: equity 8,000 − 2 × 5,000 = −2,000: bankrupt. The fund pays 2,000 (5,000 →
        // 3,000); at equity 0 the account is still short of MM 0.8 × 2 × 3,750 = 6,000, so it is
        // liquidated as usual: nothing but the whole position can help, so sell 2 at 25,000 × 0.99 =
        // 24,750. The fill costs 2 × 250 (band) and the fee 0.005 × 2 × 24,750 = 247.5 (to the fund:
        // 3,247.5): equity −747.5, flat — bankrupt again, and the fund pays 747.5 (→ 2,500). Flat at
        // equity 0: healthy. The fund lost 2,500 = what the account lost beyond its collateral
        // (2 × (30,000 − 24,750) − 8,000); the fee went in and out.
        GapTo(rig, 25_000);
        rig.Settle();

        var order = Assert.Single(rig.Sent);
        Assert.Equal(-2, order.SignedQuantity, 9);
        Assert.Equal(24_750, order.LimitPrice);
        Assert.Equal(-1, order.Counterparty); // a liquidation order, not a deleverage one
        Assert.Equal(0, rig.Book.PositionQuantity(0, 0));
        Assert.Equal(0, rig.Book.Equity(0), 6);
        Assert.Equal(MarginState.Healthy, rig.Book.State(0));
        var c = rig.Engine.Counters;
        Assert.Equal(2_500, rig.Engine.Breaches.InsuranceFund, 6);
        Assert.Equal(2_500, c.InsuranceFund, 6);
        Assert.Equal(2, c.DeficitsCovered);
        Assert.Equal(2_747.5, c.DeficitCoveredAmount, 6);
        Assert.Equal(247.5, c.LiquidationFees, 6);
        Assert.Equal((0L, 0L), (c.DeleverageOrders, c.UncoveredDeficits));
    }

    [Fact]
    public void AFundTooSmall_DeleveragesTheOppositeSide_InRankOrder_AtTheBankruptcyPrice()
    {
        var rig = NewRig(NewBook(accounts: 4), WithFund(500));
        Account(rig, 0, 8_000, 2, 30_000);     // the account that goes bankrupt: long 2
        Account(rig, 1, 20_000, -1, 30_000);   // short 1 from 30,000
        Account(rig, 2, 6_000, -1, 28_000);    // short 1 from 28,000, little collateral
        Account(rig, 3, 100_000, -0.5, 31_000); // short 0.5 from 31,000, much collateral
        rig.Settle();

        // Index 25,000. Account 0: equity −2,000; the fund pays its 500, 1,500 is left. Ranking of
        // the shorts, score = (P&L ÷ entry notional) × (notional ÷ equity):
        //   account 2: P&L 3,000 ÷ 28,000 = 0.107143; equity 6,000 + 3,000 = 9,000, L = 25,000 ÷ 9,000
        //              = 2.777778 → 0.297619;
        //   account 1: 5,000 ÷ 30,000 = 0.166667; equity 25,000, L = 1 → 0.166667;
        //   account 3: 3,000 ÷ 15,500 = 0.193548; equity 103,000, L = 12,500 ÷ 103,000 = 0.121359 → 0.023489.
        // Bankruptcy price of the long 2: 25,000 + 1,500 ÷ 2 = 25,750. First order: sell 1 at 25,750
        // against account 2; its fills leave account 0 at −750 with 1 left, so the next: 25,000 + 750
        // ÷ 1 = 25,750 again, against account 1. Account 0 ends flat at equity 0; each counterparty
        // closed 1 at 25,750 instead of the mark, 750 each: the 1,500 the fund could not pay.
        GapTo(rig, 25_000);
        rig.Settle();

        Assert.Equal(2, rig.Sent.Count);
        Assert.Equal((2, -1.0, 25_750.0), (rig.Sent[0].Counterparty, rig.Sent[0].SignedQuantity, rig.Sent[0].LimitPrice));
        Assert.Equal((1, -1.0, 25_750.0), (rig.Sent[1].Counterparty, rig.Sent[1].SignedQuantity, rig.Sent[1].LimitPrice));
        Assert.All(rig.Sent, o => Assert.Equal(0, o.Fee));
        Assert.Equal(2, rig.Matcher.Deleveraged);
        Assert.Equal(0, rig.Book.PositionQuantity(0, 0));
        Assert.Equal(0, rig.Book.Equity(0), 6);
        Assert.Equal(MarginState.Healthy, rig.Book.State(0));
        Assert.Equal((0.0, 0.0, -0.5), (rig.Book.PositionQuantity(1, 0), rig.Book.PositionQuantity(2, 0), rig.Book.PositionQuantity(3, 0)));
        Assert.Equal(30_000 - 25_750, rig.Book.RealizedPnl(1), 6); // 4,250: 750 short of the 5,000 at the mark
        Assert.Equal(28_000 - 25_750, rig.Book.RealizedPnl(2), 6); // 2,250: 750 short of the 3,000
        var c = rig.Engine.Counters;
        Assert.Equal(0, rig.Engine.Breaches.InsuranceFund, 9);
        Assert.Equal((1L, 500.0), (c.DeficitsCovered, c.DeficitCoveredAmount));
        Assert.Equal((2L, 2.0), (c.DeleverageOrders, c.DeleveragedQuantity));
        Assert.Equal(0, c.LiquidationFees); // none on deleverage orders
    }

    [Fact]
    public void ADeleverageOrder_IsCoveredOnlyWhenBothLegsAreIn_InEitherOrder()
    {
        // As above without account 3; the matching engine is played by hand, one leg at a time.
        var rig = NewRig(NewBook(accounts: 4), WithFund(500));
        Account(rig, 0, 8_000, 2, 30_000);
        Account(rig, 1, 20_000, -1, 30_000);
        Account(rig, 2, 6_000, -1, 28_000);
        Poll(rig);
        GapTo(rig, 25_000);
        Poll(rig);
        var first = Assert.Single(rig.Sent);
        Assert.Equal(2, first.Counterparty);

        // The account's leg alone: still outstanding — until account 2's leg is applied it still
        // looks short 1, and a new order now would deleverage it twice.
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, -1, 25_750, 201));
        Poll(rig);
        Assert.True(rig.Engine.Breaches.TryGetLiquidationOrder(0, out long id, out _, out _));
        Assert.Equal(first.PlanId, id);
        Assert.Single(rig.Sent);

        // Its counterparty's leg: covered, and the next order goes to the next in rank.
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 2, 0, 1, 25_750, 202));
        Poll(rig);
        Assert.Equal(2, rig.Sent.Count);
        Assert.Equal((1, 25_750.0), (rig.Sent[1].Counterparty, rig.Sent[1].LimitPrice));

        // The other order: the counterparty's leg first, then the account's.
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 1, 0, 1, 25_750, 203));
        Poll(rig);
        Assert.True(rig.Engine.Breaches.TryGetLiquidationOrder(0, out id, out _, out _));
        Assert.Equal(rig.Sent[1].PlanId, id);
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, -1, 25_750, 204));
        Poll(rig);
        Assert.False(rig.Engine.Breaches.TryGetLiquidationOrder(0, out _, out _, out _));
        Assert.Equal(2, rig.Sent.Count);
        Assert.Equal(0, rig.Book.Equity(0), 6);
        Assert.Equal(MarginState.Healthy, rig.Book.State(0));
        Assert.Equal((2L, 2.0), (rig.Engine.Counters.LiquidationOrdersFilled, rig.Engine.Counters.DeleveragedQuantity));
    }

    [Theory]
    [InlineData(1e12)] // the fund pays every deficit (and takes the fees)
    [InlineData(0)]    // the fund is empty: every deficit is deleveraged against account 1
    public void TheWaterfall_PaysAndDeleverages_WithoutAllocating(double fund)
    {
        // Each round: account 0, flat with equity 1,000, buys 1 at 35,000 against a mark of 30,000:
        // equity −4,000, bankrupt. The fund pays (then the position is liquidated, and the band and
        // fee paid again) or, empty, the position is deleveraged against account 1's big short at
        // 34,000; either way account 0 ends flat at equity 0.
        var rig = NewRig(NewBook(accounts: 2), WithFund(fund));
        Account(rig, 1, 1e12, -1e8, 30_000); // enough for the rounds the warm-up may run (it waits for the JIT to go quiet, up to 10 s)
        rig.Settle();
        var state = (rig, seq: new long[] { 1_000 });
        GcAssert.NoAllocation(state, static s =>
        {
            var r = s.rig;
            r.Sent.Clear(); // the test's record of sent orders must not grow inside the measured window
            SendTo(r, s.seq, FeedMessageType.Collateral, 0, 0, 1_000 - r.Book.RealizedPnl(0) - r.Book.SettledCash(0));
            SendTo(r, s.seq, FeedMessageType.Fill, 0, 1, 35_000);
            for (int k = 0; k < 4; k++)
            {
                r.Engine.PollOnce();
                r.Liquidator.Poll();
                r.Matcher.DoWork();
            }
        }, warmUp: 200, iterations: 2_000);
        var c = rig.Engine.Counters;
        Assert.Equal(0, rig.Book.PositionQuantity(0, 0));
        Assert.True(Math.Abs(rig.Book.Equity(0)) < 1e-6,
            $"equity {rig.Book.Equity(0)} realized {rig.Book.RealizedPnl(0)} settled {rig.Book.SettledCash(0)} collateral {rig.Book.CollateralBalance(0, 0)} state {rig.Book.State(0)}; " +
            $"planned {c.LiquidationOrdersPlanned} deleverage {c.DeleverageOrders} covered {c.LiquidationOrdersFilled} ended {c.LiquidationOrdersEnded} uncovered {c.UncoveredDeficits} unplannable {c.LiquidationUnplannable} " +
            $"matched {rig.Matcher.Filled} deleveraged {rig.Matcher.Deleveraged} sent {rig.Liquidator.OrdersSent} refused {rig.Liquidator.OrdersRefused} rejects {string.Join(",", c.Rejects)}");
        if (fund > 0)
        {
            // Two payments a round (the deficit, then the band and fee of closing), at least 2,200 rounds.
            Assert.True(c.DeficitsCovered >= 2 * 2_200, $"{c.DeficitsCovered} deficits paid");
            Assert.Equal(2 * c.LiquidationOrdersFilled, c.DeficitsCovered);
            Assert.Equal(0, c.DeleverageOrders);
        }
        else
        {
            // One deleverage order of 1 a round, all against account 1.
            Assert.True(c.DeleverageOrders >= 2_200, $"{c.DeleverageOrders} deleverage orders");
            Assert.Equal(c.DeleverageOrders, c.DeleveragedQuantity, 9);
            Assert.Equal(-1e8 + c.DeleveragedQuantity, rig.Book.PositionQuantity(1, 0), 6);
            Assert.Equal(c.DeleverageOrders, c.LiquidationOrdersFilled); // each covered by both legs, none ended unfilled
            Assert.Equal(0, c.LiquidationOrdersEnded);
            Assert.Equal(c.DeleverageOrders, rig.Matcher.Deleveraged);
        }
    }

    private static void SendTo(Rig r, long[] seq, FeedMessageType type, int account, double quantity, double value)
    {
        Assert.True(r.Feed.TryClaim(1, out long s));
        var p = r.Feed.Payload(s);
        long n = ++seq[0];
        FeedMessageDescriptor.WriteHeader(p, type, 3, n, T0 + n, MonotonicClock.Now());
        if (type == FeedMessageType.Collateral)
        {
            FeedMessageDescriptor.WriteCollateral(p, account, 0, value);
        }
        else
        {
            FeedMessageDescriptor.WriteFill(p, account, 0, quantity, value, n);
        }

        r.Feed.Publish(s);
    }

    [Fact]
    public void TheRanking_PutsTheMostProfitableAndLeveragedFirst_AndLosersLast()
    {
        // The book's ranking alone, on the accounts above plus account 3 short from 24,000 (a loss).
        var book = NewBook(accounts: 5);
        (int Account, double Collateral, double Quantity, double Price)[] accounts =
            [(1, 20_000, -1, 30_000), (2, 6_000, -1, 28_000), (3, 100_000, -0.5, 31_000), (4, 10_000, -1, 24_000)];
        foreach (var (a, collateral, q, price) in accounts)
        {
            Assert.True(book.SetCollateral(a, 0, collateral));
            Assert.Equal(FillResult.Applied, book.ApplyFill(a, 0, q, price));
        }

        Assert.True(book.SetCollateral(0, 0, 1e6));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, 0, 3, 30_000));
        Assert.Equal(MarkResult.Held, book.UpdateIndex(0, 25_000, T0 + 1)); // a jump beyond the band waits for a second mark
        Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 25_000, T0 + 2));
        book.Revalue();
        var order = new List<int>();
        for (int k = 0; k < 4; k++)
        {
            Assert.True(book.FindDeleverageCounterparty(0, 3, 0, out var c));
            order.Add(c.Account);
            Assert.Equal(FillResult.Applied, book.ApplyFill(c.Account, 0, -c.Quantity, 25_000)); // closed: the next one comes up
        }

        // Account 4: short from 24,000 at 25,000: P&L −1,000 ÷ 24,000 = −0.041667; equity 9,000,
        // L = 2.777778 → −0.015: last, behind every profitable one.
        Assert.Equal([2, 1, 3, 4], order);
        Assert.False(book.FindDeleverageCounterparty(0, 3, 0, out _)); // nobody left on the other side
        Assert.False(book.FindDeleverageCounterparty(0, -1, 0, out _)); // the long side is account 0 alone, and it is excluded
        Assert.True(book.FindDeleverageCounterparty(0, -1, 1, out var longSide));     // negative control: not excluded, it is found
        Assert.Equal(0, longSide.Account);
    }

    [Fact]
    public void BankruptcyPrice_CoversTheDeficit_RoundedAgainstTheCounterparty()
    {
        var book = NewBook();
        // Long 2, deficit 1,001: 30,000 + 500.5 = 30,500.5 (on the 0.5 tick); deficit 1,000.6: 30,500.3 → up to 30,500.5.
        Assert.Equal(30_500.5, book.BankruptcyPrice(0, 2, 1_001));
        Assert.Equal(30_500.5, book.BankruptcyPrice(0, 2, 1_000.6));
        // Short 2: below the mark, rounded down: 30,000 − 500.3 = 29,499.7 → 29,499.5.
        Assert.Equal(29_499.5, book.BankruptcyPrice(0, -2, 1_000.6));
        // A short's deficit beyond any positive price: one tick (the rest is not covered).
        Assert.Equal(0.5, book.BankruptcyPrice(0, -1, 1e6));
        Assert.True(double.IsNaN(book.BankruptcyPrice(0, 0, 100)));
        Assert.True(double.IsNaN(book.BankruptcyPrice(3, 1, 100))); // not defined
    }

    [Fact]
    public void TheFundAndTheDeleverageOrders_SurviveAJournalReplay()
    {
        string dir = Path.Combine(TempFiles.Directory, $"llr-waterfall-journal-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        _directories.Add(dir);
        var rig = NewRig(NewBook(accounts: 4), WithFund(500));
        var journal = JournalWriter.Open(dir, FeedMessageDescriptor.PayloadSize, 1 << 20);
        rig.Engine.Journal = journal;
        Account(rig, 0, 8_000, 2, 30_000);
        Account(rig, 1, 20_000, -1, 30_000);
        Account(rig, 2, 6_000, -1, 28_000);
        Poll(rig);
        GapTo(rig, 25_000);
        Poll(rig); // the first deleverage order is out; the matching engine has not filled it
        var first = Assert.Single(rig.Sent);
        Assert.Equal(2, first.Counterparty);
        journal.Dispose(); // the crash

        var recovered = new RiskEngine(NewBook(accounts: 4), null, null, null, liquidation: WithFund(500));
        JournalReader.Scan(dir, FeedMessageDescriptor.PayloadSize, (_, payload) => recovered.Replay(payload));
        recovered.FinishReplay();
        Assert.Equal(0, recovered.Counters.RefusedRecords);
        Assert.Equal(0, recovered.Breaches.InsuranceFund, 9);          // the payment came back from its record
        Assert.Equal(-1_500, recovered.Book.Equity(0), 6);
        Assert.True(recovered.Breaches.TryGetLiquidationOrder(0, out long id, out var order, out _, out int counterparty));
        Assert.Equal((first.PlanId, 2, 25_750.0), (id, counterparty, order.LimitPrice));

        // Negative control: without the fund's record the replay would not know the payment.
        var forgetful = new RiskEngine(NewBook(accounts: 4), null, null, null, liquidation: WithFund(500));
        JournalReader.Scan(dir, FeedMessageDescriptor.PayloadSize, (_, payload) =>
        {
            if (payload[0] != EngineRecords.FundCovered)
            {
                forgetful.Replay(payload);
            }
        });
        forgetful.FinishReplay();
        Assert.Equal(500, forgetful.Breaches.InsuranceFund, 9);
        Assert.Equal(-2_000, forgetful.Book.Equity(0), 6);
    }

    [Fact]
    public void TheFund_IsEngineState_InTheSnapshot()
    {
        var rig = NewRig(options: WithFund(5_000));
        Account(rig, 0, 8_000, 2, 30_000);
        GapTo(rig, 25_000);
        rig.Settle();
        Assert.Equal(2_500, rig.Engine.Breaches.InsuranceFund, 6);

        var buffer = new byte[1 << 22];
        var capture = new StateCapture(buffer);
        rig.Engine.VisitState(capture);
        var restored = new RiskEngine(NewBook(), null, null, null, liquidation: WithFund(123));
        restored.VisitState(new StateRestore(buffer.AsMemory(0, capture.Position)));
        Assert.Equal(2_500, restored.Breaches.InsuranceFund, 6);
        Assert.Equal(2_500, restored.Counters.InsuranceFund, 6);
    }

    [Fact]
    public void HostileFundRecords_AreRefusedInTheReplay()
    {
        var engine = new RiskEngine(NewBook(), null, null, null, liquidation: WithFund(100));
        var record = new byte[FeedMessageDescriptor.PayloadSize];
        void Try(int account, double paid)
        {
            Array.Clear(record);
            record[0] = EngineRecords.FundCovered;
            record[1] = EngineRecords.Version;
            BitConverter.TryWriteBytes(record.AsSpan(4), account);
            BitConverter.TryWriteBytes(record.AsSpan(8), paid);
            engine.Replay(record);
        }

        Try(0, double.NaN);
        Try(0, -5);
        Try(0, 1_000);          // more than the fund holds
        Try(7, 10);             // no such account
        Try(0, double.PositiveInfinity);
        Assert.Equal(5, engine.Counters.RefusedRecords);
        Assert.Equal(100, engine.Breaches.InsuranceFund);
        record[0] = 0xE7;       // a record type this engine does not know
        engine.Replay(record);
        Assert.Equal(6, engine.Counters.RefusedRecords);
        Try(0, 40);             // a valid one is applied
        Assert.Equal(60, engine.Breaches.InsuranceFund);
        Assert.Equal(40, engine.Book.SettledCash(0));
        Assert.Equal(0, engine.Book.RealizedPnl(0)); // the feed's realized P&L is not touched
    }
}
