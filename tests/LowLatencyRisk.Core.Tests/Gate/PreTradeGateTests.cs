using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Core.Tests.Book;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Gate;

public class PreTradeGateTests
{
    private const long T0 = BookFixture.Start + 1_000_000;
    private readonly BookFixture _f = new(underlyings: 2, accounts: 16);
    private readonly PreTradeGate _gate;
    private long _nextId = 1;

    public PreTradeGateTests()
    {
        for (int a = 0; a < 16; a++)
        {
            _f.Book.SetCollateral(a, BookFixture.Usd, 1_000_000);
        }

        _gate = new PreTradeGate(_f.Book, new GateConfig { MaxOrderQuantity = 100, MaxOrderNotional = 2_000_000, PriceBand = 0.10, PositionLimit = 50 });
    }

    private RiskBook Book => _f.Book;

    private int Perp => _f.Perp(0); // index 30,000, tick 0.5, lot 0.001

    private OrderRequest Buy(double qty, double price, int account = 0, int? instrument = null, bool reduceOnly = false) =>
        new(account, instrument ?? Perp, OrderSide.Buy, qty, price, OrderType.Limit, _nextId++, ReduceOnly: reduceOnly);

    private OrderRequest Sell(double qty, double price, int account = 0, int? instrument = null, bool reduceOnly = false) =>
        new(account, instrument ?? Perp, OrderSide.Sell, qty, price, OrderType.Limit, _nextId++, ReduceOnly: reduceOnly);

    private Decision Check(OrderRequest o, long now = T0) => _gate.Check(o, now);

    [Fact]
    public void PlainOrder_IsAccepted_AndBecomesWorking()
    {
        var d = Check(Buy(1, 30_000));
        Assert.True(d.Accepted, d.ToString());
        Assert.Equal(1, _gate.WorkingOrderCount);
        Assert.Equal((1.0, 0.0), _gate.WorkingQuantityOf(0, Perp));
        Assert.Equal(30_000, _gate.WorkingNotional(0), 9);
    }

    [Fact]
    public void UnknownIds_AndStatus()
    {
        Assert.Equal(RejectReason.UnknownInstrument, Check(Buy(1, 30_000, instrument: 9999)).Reason);
        Assert.Equal(RejectReason.UnknownInstrument, Check(Buy(1, 30_000, instrument: -1)).Reason);
        Assert.Equal(RejectReason.UnknownAccount, Check(Buy(1, 30_000, account: 16)).Reason);
        Assert.Equal(RejectReason.UnknownAccount, Check(Buy(1, 30_000, account: -3)).Reason);
        _gate.SetAccountEnabled(1, false);
        Assert.Equal(RejectReason.AccountDisabled, Check(Buy(1, 30_000, account: 1)).Reason);
        _gate.SetHalted(Perp, true);
        Assert.Equal(RejectReason.InstrumentHalted, Check(Buy(1, 30_000)).Reason);
    }

    [Fact]
    public void KillSwitches_VenueUnderlyingAccount_OnAndOff()
    {
        _gate.VenueKillSwitch = true;
        Assert.Equal(RejectReason.KillSwitch, Check(Buy(1, 30_000)).Reason);
        _gate.VenueKillSwitch = false;
        _gate.SetUnderlyingKillSwitch(0, true);
        Assert.Equal(RejectReason.KillSwitch, Check(Buy(1, 30_000)).Reason);
        Assert.True(Check(Buy(1, 2_000, instrument: _f.Perp(1))).Accepted);
        _gate.SetUnderlyingKillSwitch(0, false);
        _gate.SetAccountKillSwitch(0, true);
        Assert.Equal(RejectReason.KillSwitch, Check(Buy(1, 30_000)).Reason);
        Assert.True(Check(Buy(1, 30_000, account: 1)).Accepted);
        _gate.SetAccountKillSwitch(0, false);
        Assert.True(Check(Buy(1, 30_000)).Accepted);
    }

    [Fact]
    public void Throttle_TokenBucket_RefillsWithTheInjectedClock()
    {
        _gate.SetAccountLimits(2, throttleRate: 10, throttleBurst: 3);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(Check(Buy(0.001, 30_000, account: 2), T0).Accepted);
        }

        var d = Check(Buy(0.001, 30_000, account: 2), T0);
        Assert.Equal(RejectReason.Throttled, d.Reason);
        Assert.Equal(RejectReason.Throttled, Check(Buy(0.001, 30_000, account: 2), T0 + 50_000_000).Reason); // half a token
        Assert.True(Check(Buy(0.001, 30_000, account: 2), T0 + 100_000_000).Accepted);                    // one token after 100 ms
        Assert.True(Check(Buy(0.001, 30_000, account: 3), T0).Accepted); // other accounts unaffected
    }

    [Theory]
    [InlineData(double.NaN, 30_000.0)]
    [InlineData(-1.0, 30_000.0)]
    [InlineData(0.0, 30_000.0)]
    [InlineData(1.0, double.PositiveInfinity)]
    [InlineData(1.0, -30_000.0)]
    public void MalformedOrders_AreRejected(double qty, double price) =>
        Assert.Equal(RejectReason.InvalidOrder, Check(Buy(qty, price)).Reason);

    [Fact]
    public void BadSideOrClientId_IsMalformed()
    {
        Assert.Equal(RejectReason.InvalidOrder, Check(new OrderRequest(0, Perp, (OrderSide)7, 1, 30_000, OrderType.Limit, 5)).Reason);
        Assert.Equal(RejectReason.InvalidOrder, Check(new OrderRequest(0, Perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, -5)).Reason);
        Assert.Equal(RejectReason.InvalidOrder, Check(new OrderRequest(0, Perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, PreTradeGate.MaxClientOrderId + 1)).Reason);
    }

    [Fact]
    public void TickLotMinimum()
    {
        Assert.True(Check(Buy(1, 30_000.5)).Accepted);
        var tick = Check(Buy(1, 30_000.3));
        Assert.Equal((RejectReason.InvalidTick, 0.5, 30_000.3), (tick.Reason, tick.Limit, tick.Actual));
        Assert.Equal(RejectReason.InvalidLot, Check(Buy(0.0015, 30_000)).Reason);
        Assert.True(Check(Buy(0.002, 30_000)).Accepted);
        _gate.SetInstrumentLimits(Perp, minQuantity: 0.01);
        Assert.Equal(RejectReason.BelowMinimumQuantity, Check(Buy(0.009, 30_000)).Reason);
        Assert.True(Check(Buy(0.01, 30_000)).Accepted); // equal to the minimum passes
    }

    [Fact]
    public void MaxOrderQuantityAndValue_BoundaryPasses()
    {
        _gate.SetInstrumentLimits(Perp, maxOrderQuantity: 40, maxOrderNotional: 1_200_000);
        var q = Check(Buy(40.001, 30_000));
        Assert.Equal((RejectReason.MaxOrderQuantity, 40.0, 40.001), (q.Reason, q.Limit, q.Actual));
        Assert.True(Check(Buy(40, 30_000)).Accepted);                   // notional 1,200,000 = limit passes
        var v = Check(Buy(40, 30_000.5));
        Assert.Equal(RejectReason.MaxOrderValue, v.Reason);
        Assert.Equal(1_200_000, v.Limit);
    }

    [Fact]
    public void PriceBand_AroundTheMark_BoundaryPasses_MarketOrdersUseProtection()
    {
        Assert.True(Check(Buy(1, 33_000)).Accepted);   // +10 % exactly
        Assert.True(Check(Sell(1, 27_000)).Accepted);  // −10 % exactly
        var d = Check(Buy(1, 33_000.5));
        Assert.Equal((RejectReason.PriceOutsideBand, 33_000.0), (d.Reason, d.Limit));
        Assert.Equal(RejectReason.PriceOutsideBand, Check(Sell(1, 26_999.5)).Reason);
        var market = new OrderRequest(0, Perp, OrderSide.Buy, 1, 0, OrderType.Market, _nextId++);
        Assert.True(Check(market).Accepted);
        Assert.Equal(30_000 * 1.05, _gate.WorkingNotional(0) - (33_000 + 27_000), 6);
    }

    [Fact]
    public void DuplicateClientOrderId_WithinWindow_IsRejected_AfterWindow_Accepted()
    {
        var o = new OrderRequest(0, Perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, 777);
        Assert.True(Check(o).Accepted);
        Assert.Equal(RejectReason.DuplicateOrder, Check(o).Reason);                 // still working
        Assert.True(Check(o with { Account = 1 }).Accepted);                      // ids are per account
        Assert.True(_gate.OnOrderEnded(0, 777, T0 + 1));
        Assert.Equal(RejectReason.DuplicateOrder, Check(o, T0 + 1_000).Reason);   // ended, within the window
        Assert.True(Check(o, T0 + 61_000_000_000).Accepted);                      // after 60 s
    }

    [Fact]
    public void StaleMark_RejectsRiskIncreasing_ButNotRiskReducing()
    {
        Book.ApplyFill(4, Perp, 2, 30_000);
        long stale = BookFixture.Start + Book.Config.StaleAfterNanos + 1;
        Assert.Equal(RejectReason.MarkStale, Check(Buy(1, 30_000, account: 4), stale).Reason);
        Assert.True(Check(Sell(1, 30_000, account: 4), stale).Accepted);
    }

    [Fact]
    public void ReduceOnly_MustActuallyReduce()
    {
        Book.ApplyFill(5, Perp, 2, 30_000);
        Assert.Equal(RejectReason.ReduceOnlyWouldIncrease, Check(Buy(1, 30_000, account: 5, reduceOnly: true)).Reason);
        Assert.Equal(RejectReason.ReduceOnlyWouldIncrease, Check(Sell(3, 30_000, account: 5, reduceOnly: true)).Reason); // would flip
        Assert.True(Check(Sell(2, 30_000, account: 5, reduceOnly: true)).Accepted);
        Assert.Equal(RejectReason.ReduceOnlyWouldIncrease, Check(Sell(1, 30_000, account: 6, reduceOnly: true)).Reason); // flat
    }

    [Fact]
    public void PositionLimit_CountsWorkingOrders_AndReleasesOnFillAndCancel()
    {
        Book.ApplyFill(7, Perp, 20, 30_000);
        var first = Buy(20, 30_000, account: 7);
        Assert.True(Check(first).Accepted);                       // 20 + 20 = 40
        Assert.True(Check(Buy(10, 30_000, account: 7)).Accepted); // 50 = limit passes
        var d = Check(Buy(0.001, 30_000, account: 7));
        Assert.Equal((RejectReason.PositionLimit, 50.0), (d.Reason, d.Limit));
        Assert.True(Check(Sell(60, 30_000, account: 7)).Accepted);  // the other side: |20 − 60| = 40 within the limit
        Assert.Equal(RejectReason.PositionLimit, Check(Sell(11, 30_000, account: 7)).Reason); // |20 − 71| = 51
        Assert.True(_gate.OnOrderEnded(7, first.ClientOrderId, T0));
        Assert.True(Check(Buy(5, 30_000, account: 7)).Accepted);
        Assert.Equal((15.0, 60.0), _gate.WorkingQuantityOf(7, Perp));
    }

    [Fact]
    public void MaxOpenOrders_CountsWorkingOrders_ReleasedByCancelAndFullFillOnly()
    {
        _gate.SetAccountMaxOpenOrders(5, 2);
        var first = Buy(2, 30_000, account: 5);
        var second = Sell(1, 30_000, account: 5);
        Assert.True(Check(first).Accepted);
        Assert.True(Check(second).Accepted);
        Assert.Equal(2, _gate.OpenOrders(5));
        var d = Check(Buy(1, 30_000, account: 5));
        Assert.Equal((RejectReason.MaxOpenOrders, 2.0, 3.0), (d.Reason, d.Limit, d.Actual));

        // A risk-reducing order counts too: the limit is on orders, not on risk.
        Book.ApplyFill(5, Perp, 3, 30_000);
        Assert.Equal(RejectReason.MaxOpenOrders, Check(Sell(1, 30_000, account: 5, reduceOnly: true)).Reason);

        // A partial fill leaves the order working; the full fill ends it and frees a place; so does a cancel.
        Assert.True(_gate.OnOrderFilled(5, first.ClientOrderId, 1, T0));
        Assert.Equal(RejectReason.MaxOpenOrders, Check(Buy(1, 30_000, account: 5)).Reason);
        Assert.True(_gate.OnOrderFilled(5, first.ClientOrderId, 1, T0));
        Assert.Equal(1, _gate.OpenOrders(5));
        Assert.True(Check(Buy(1, 30_000, account: 5)).Accepted);
        Assert.True(_gate.OnOrderEnded(5, second.ClientOrderId, T0));
        Assert.True(Check(Buy(1, 30_000, account: 5)).Accepted);
        Assert.Equal(2, _gate.OpenOrders(5));

        // Negative control: another account, without the limit, is not held to it.
        for (int k = 0; k < 4; k++)
        {
            Assert.True(Check(Buy(1, 30_000, account: 4)).Accepted);
        }

        Assert.Equal(4, _gate.OpenOrders(4));
        Assert.Equal(8, _gate.DecisionCounts[(int)RejectReason.None]);           // 2 + 1 + 1 for account 5, 4 for account 4
        Assert.Equal(3, _gate.DecisionCounts[(int)RejectReason.MaxOpenOrders]);  // counted by reason
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1.5)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    public void MaxOpenOrders_MustBeAWholeNumberOfOrders(double limit)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _gate.SetAccountMaxOpenOrders(1, limit));
        Assert.Throws<ArgumentException>(() => new GateConfig { MaxOpenOrders = limit }.Validate());
        Assert.True(GateConfig.IsOrderCount(double.PositiveInfinity) && GateConfig.IsOrderCount(1) && GateConfig.IsOrderCount(250));
    }

    [Fact]
    public void DailyLoss_RealizedPlusUnrealizedSinceTheDayStarted_StopsRiskIncreasingOrders_UntilTheNextDay()
    {
        // The day starts at the first check; then account 6 buys 2 perps at 30,000 and the index falls
        // to 29,600: unrealized −2 × 400 = −800 against a baseline of 0, a loss of 800 over a limit of 500.
        Assert.True(Check(Buy(0.001, 30_000, account: 9)).Accepted); // starts the day
        long today = _gate.NextDayStart;
        Assert.Equal(0, today % GateConfig.NanosPerDay); // days start at 00:00 UTC by default
        Book.ApplyFill(6, Perp, 2, 30_000);
        Book.ApplyFill(7, Perp, 2, 30_000);
        _gate.SetAccountDailyLossLimit(6, 500);
        Book.UpdateIndex(0, 29_600, T0 + 1);
        Book.Revalue();
        Assert.Equal(800, _gate.DailyLoss(6), 6);
        var d = Check(Buy(1, 29_600, account: 6), T0 + 2);
        Assert.Equal((RejectReason.DailyLossLimit, 500.0), (d.Reason, d.Limit));
        Assert.Equal(800, d.Actual, 6);

        // Risk-reducing orders still pass; an account without the limit is not held to it (negative control).
        Assert.True(Check(Sell(1, 29_600, account: 6), T0 + 3).Accepted);
        Assert.True(Check(Buy(1, 29_600, account: 7), T0 + 4).Accepted);

        // Realized losses count the same: closing one perp at 29,600 realizes −400 and leaves −400 unrealized.
        Book.ApplyFill(6, Perp, -1, 29_600);
        Assert.Equal(800, _gate.DailyLoss(6), 6);

        // The next day starts at the next 00:00 UTC: the loss so far becomes the baseline, orders pass again.
        Book.UpdateIndex(0, 29_600, today - 2); // a fresh mark (not stale), the same price
        Book.Revalue();
        Assert.Equal(RejectReason.DailyLossLimit, Check(Buy(0.5, 29_600, account: 6), today - 1).Reason);
        Assert.True(Check(Buy(0.5, 29_600, account: 6), today).Accepted);
        Assert.Equal(0, _gate.DailyLoss(6), 6);
        Assert.Equal(today + GateConfig.NanosPerDay, _gate.NextDayStart);
        Assert.False(_gate.RollDay(today + 5)); // the same day does not start twice
    }

    [Fact]
    public void DayStart_FollowsTheConfiguredOffset()
    {
        var f = new BookFixture(underlyings: 1, accounts: 2);
        var gate = new PreTradeGate(f.Book, new GateConfig { DayStartOffsetNanos = 22L * 3_600_000_000_000 }); // 22:00 UTC
        long midnight = (T0 / GateConfig.NanosPerDay) * GateConfig.NanosPerDay;
        Assert.True(gate.RollDay(midnight + (23L * 3_600_000_000_000)));                 // 23:00: the day began at 22:00
        Assert.Equal(midnight + GateConfig.NanosPerDay + (22L * 3_600_000_000_000), gate.NextDayStart);
        Assert.Throws<ArgumentException>(() => new GateConfig { DayStartOffsetNanos = GateConfig.NanosPerDay }.Validate());

        // Garbage times start no day: the next start stays, and never wraps negative (which would start
        // a day, a pass over every account, at every later check). Before the guard, long.MaxValue
        // overflowed the next start to a negative number.
        long next = gate.NextDayStart;
        foreach (long garbage in (long[])[long.MaxValue, PreTradeGate.LatestDayTime + 1, -1, long.MinValue])
        {
            Assert.False(gate.RollDay(garbage));
            Assert.Equal(next, gate.NextDayStart);
        }

        Assert.True(gate.RollDay(PreTradeGate.LatestDayTime)); // the latest time still works, and its next start is positive
        Assert.True(gate.NextDayStart > PreTradeGate.LatestDayTime);
        Assert.Throws<ArgumentException>(() => new GateConfig { DailyLossLimit = 0 }.Validate());
    }

    [Fact]
    public void UnderlyingPositionLimit_AndCreditLimit()
    {
        _gate.SetAccountLimits(8, underlyingPositionLimit: 10);
        Book.ApplyFill(8, Perp, 6, 30_000);
        Assert.True(Check(Buy(4, 30_000, account: 8)).Accepted);   // 6 + 4 = 10 = limit
        var u = Check(Buy(1, 30_000, account: 8, instrument: _f.Future(0, 0)));
        Assert.Equal((RejectReason.UnderlyingPositionLimit, 10.0, 11.0), (u.Reason, u.Limit, u.Actual));
        Assert.True(Check(Buy(1, 2_000, account: 8, instrument: _f.Perp(1))).Accepted); // another underlying

        _gate.SetAccountLimits(12, creditLimit: 500_000);
        _gate.SetInstrumentLimits(_f.Perp(1), maxOrderQuantity: 1_000, positionLimit: 1_000);
        Book.ApplyFill(12, Perp, 6, 30_000);                                            // 180,000 of positions
        Assert.True(Check(Buy(5, 2_000, account: 12, instrument: _f.Perp(1))).Accepted); // + 10,000 working
        var over = Check(Buy(160, 2_000, account: 12, instrument: _f.Perp(1)));         // + 320,000 = 510,000
        Assert.Equal(RejectReason.CreditLimit, over.Reason);
        Assert.Equal(500_000, over.Limit);
        Assert.Equal(510_000, over.Actual, 3);
        Assert.True(Check(Buy(155, 2_000, account: 12, instrument: _f.Perp(1))).Accepted); // exactly 500,000 passes
    }

    [Fact]
    public void PositionLimitInOneUnderlying_BindsThereOnly_TheLowerLimitWins_AndReducingAlwaysPasses()
    {
        // Account 9: 8 contracts of a firm's position limit in underlying 0 (its share), none in underlying 1.
        _gate.SetAccountUnderlyingPositionLimit(9, 0, 8);
        Assert.Equal(8, _gate.UnderlyingPositionLimitOf(9, 0));
        Assert.Equal(double.PositiveInfinity, _gate.UnderlyingPositionLimitOf(9, 1));
        Book.ApplyFill(9, Perp, 5, 30_000);
        Assert.True(Check(Buy(2, 30_000, account: 9)).Accepted);                       // 5 held + 2 working = 7
        Assert.Equal(7, _gate.UnderlyingPositionUsage(9, 0));
        var over = Check(Buy(2, 30_000, account: 9, instrument: _f.Future(0, 0)));    // 5 + 2 + 2 = 9 > 8 (gross, any instrument of u 0)
        Assert.Equal((RejectReason.UnderlyingPositionLimit, 8.0, 9.0), (over.Reason, over.Limit, over.Actual));
        Assert.True(Check(Buy(1, 30_000, account: 9, instrument: _f.Future(0, 0))).Accepted); // exactly 8 passes
        Assert.True(Check(Buy(30, 2_000, account: 9, instrument: _f.Perp(1))).Accepted);      // underlying 1 has no limit of its own
        Assert.True(Check(Sell(3, 30_000, account: 9)).Accepted);                              // reducing passes at the limit

        // The account's limit for every underlying still applies; the lower of the two binds.
        _gate.SetAccountLimits(9, underlyingPositionLimit: 4);
        Assert.Equal(4, _gate.UnderlyingPositionLimitOf(9, 0));
        Assert.Equal(4, _gate.UnderlyingPositionLimitOf(9, 1));
        Assert.Equal(RejectReason.UnderlyingPositionLimit, Check(Buy(1, 2_000, account: 9, instrument: _f.Perp(1))).Reason); // 30 working > 4

        // Negative control: another account is untouched by account 9's limit.
        Book.ApplyFill(10, Perp, 5, 30_000);
        Assert.True(Check(Buy(20, 30_000, account: 10)).Accepted);

        Assert.Throws<ArgumentOutOfRangeException>(() => _gate.SetAccountUnderlyingPositionLimit(9, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _gate.SetAccountUnderlyingPositionLimit(9, 0, double.NaN));

        // An underlying past the last would alias the next account's first entry: refused, nothing changed.
        int underlyings = Book.Config.MaxUnderlyings;
        Assert.Throws<ArgumentOutOfRangeException>(() => _gate.SetAccountUnderlyingPositionLimit(9, underlyings, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => _gate.SetAccountUnderlyingPositionLimit(9, -1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => _gate.SetAccountUnderlyingPositionLimit(Book.Config.MaxAccounts, 0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => _gate.UnderlyingPositionLimitOf(9, underlyings));
        Assert.Equal(double.PositiveInfinity, _gate.UnderlyingPositionLimitOf(10, 0));
    }

    [Fact]
    public void Margin_InsufficientForRiskIncreasing_RiskReducingAlwaysPasses()
    {
        var f = new BookFixture(underlyings: 1, accounts: 2);
        var gate = new PreTradeGate(f.Book, new GateConfig { MaxOrderQuantity = 1_000, MaxOrderNotional = 1e12, PositionLimit = 1_000 });
        f.Book.SetCollateral(0, BookFixture.Usd, 4_600);          // IM of one perp = 4,500
        Assert.True(gate.Check(new OrderRequest(0, f.Perp(0), OrderSide.Buy, 1, 30_000, OrderType.Limit, 1), T0).Accepted);
        var d = gate.Check(new OrderRequest(0, f.Perp(0), OrderSide.Buy, 1.1, 30_000, OrderType.Limit, 2), T0);
        Assert.Equal(RejectReason.InsufficientMargin, d.Reason);
        Assert.Equal(4_600, d.Limit, 6);
        Assert.Equal((1 + 1.1) * 4_500, d.Actual, 6); // the working buy of 1 and this 1.1 as if both filled (margin on resting orders)

        // Underwater: a big long and little equity; selling (risk-reducing) is never blocked by margin.
        f.Book.ApplyFill(1, f.Perp(0), 10, 30_000);
        Assert.NotEqual(MarginState.Healthy, f.Book.State(1));
        Assert.True(gate.Check(new OrderRequest(1, f.Perp(0), OrderSide.Sell, 3, 30_000, OrderType.Limit, 3), T0).Accepted);
        var up = gate.Check(new OrderRequest(1, f.Perp(0), OrderSide.Buy, 0.001, 30_000, OrderType.Limit, 4), T0);
        Assert.Equal(RejectReason.AccountReduceOnly, up.Reason);
    }

    [Fact]
    public void VenueRiskOff_OnlyRiskReducingPasses()
    {
        Book.ApplyFill(9, Perp, 1, 30_000);
        _gate.VenueRiskOff = true;
        Assert.Equal(RejectReason.AccountReduceOnly, Check(Buy(1, 30_000, account: 9)).Reason);
        Assert.True(Check(Sell(1, 30_000, account: 9)).Accepted);
        _gate.VenueRiskOff = false;
        Assert.True(Check(Buy(1, 30_000, account: 9)).Accepted);
    }

    [Fact]
    public void FirstFailingCheckDecides()
    {
        _gate.SetAccountKillSwitch(10, true);
        // Kill switch comes before tick, band and quantity.
        Assert.Equal(RejectReason.KillSwitch, Check(Buy(5_000, 99_999.3, account: 10)).Reason);
        _gate.SetAccountKillSwitch(10, false);
        // Tick before maximum quantity and band.
        Assert.Equal(RejectReason.InvalidTick, Check(Buy(5_000, 99_999.3, account: 10)).Reason);
        // Quantity before band.
        Assert.Equal(RejectReason.MaxOrderQuantity, Check(Buy(5_000, 99_999.5, account: 10)).Reason);
        Assert.Equal(RejectReason.PriceOutsideBand, Check(Buy(1, 99_999.5, account: 10)).Reason);
        Assert.Equal(3, _gate.DecisionCounts.Sum() - _gate.DecisionCounts[0] - 1);
    }

    [Fact]
    public void PartialFills_ReleaseTheReservation()
    {
        var o = Buy(10, 30_000, account: 11);
        Assert.True(Check(o).Accepted);
        Assert.True(_gate.OnOrderFilled(11, o.ClientOrderId, 4, T0));
        Assert.Equal((6.0, 0.0), _gate.WorkingQuantityOf(11, Perp));
        Assert.Equal(6 * 30_000, _gate.WorkingNotional(11), 6);
        Assert.True(_gate.OnOrderFilled(11, o.ClientOrderId, 6, T0));
        Assert.Equal((0.0, 0.0), _gate.WorkingQuantityOf(11, Perp));
        Assert.Equal(0, _gate.WorkingOrderCount);
        Assert.False(_gate.OnOrderFilled(11, o.ClientOrderId, 1, T0));
        Assert.False(_gate.OnOrderEnded(11, 123456, T0));
    }

    [Fact]
    public void Check_DoesNotAllocate_OnAcceptAndEveryRejectPath()
    {
        var f = new BookFixture(underlyings: 2, accounts: 16);
        for (int a = 0; a < 16; a++)
        {
            f.Book.SetCollateral(a, BookFixture.Usd, a == 6 ? 5_000 : 1_000_000);
        }

        f.Book.ApplyFill(3, f.Perp(0), 1, 30_000);
        f.Book.ApplyFill(7, f.Perp(0), 40, 30_000);            // 40 perps: IM 180,000, MM 144,000
        f.Book.SetCollateral(7, BookFixture.Usd, 150_000);     // equity 150,000: margin call
        var gate = new PreTradeGate(f.Book, new GateConfig { MaxOrderQuantity = 100, MaxOrderNotional = 1_000_000, PriceBand = 0.1, PositionLimit = 1e9, ThrottleRate = 1e12, ThrottleBurst = 1e12, MaxTrackedOrders = 1 << 16 });
        gate.SetAccountKillSwitch(15, true);
        gate.SetAccountLimits(14, creditLimit: 1);
        gate.SetAccountEnabled(13, false);
        gate.SetAccountOtherShard(4);                           // a sharded venue: account 4 lives on another shard
        gate.SetAccountLimits(12, throttleRate: 1e-9, throttleBurst: 1);
        gate.SetAccountLimits(11, underlyingPositionLimit: 0.5);
        gate.SetInstrumentLimits(f.Future(0, 0), positionLimit: 0.5, minQuantity: 0.01);
        gate.SetHalted(f.Future(1, 1), true);
        gate.SetAccountMaxOpenOrders(9, 1);
        Assert.Equal(MmpChange.Applied, gate.Mmp.Configure(5, 0, new MmpSettings(1_000_000_000, 0, 1, 1, 1))); // frozen until reset once tripped
        Assert.Equal(MmpTrip.Quantity, gate.Mmp.OnMakerFill(5, 0, 2, 0, 0, T0, out _));
        gate.RollDay(T0);                                       // the day starts, then account 8 loses 1,000 on a fill above the mark
        f.Book.ApplyFill(8, f.Perp(0), 1, 31_000);
        gate.SetAccountDailyLossLimit(8, 100);
        Assert.True(gate.Check(new OrderRequest(9, f.Perp(0), OrderSide.Buy, 0.001, 30_000, OrderType.Limit, 5_000_000), T0).Accepted); // stays working
        Assert.Equal(ModeChangeResult.Changed, f.Book.SetMarginMode(10, MarginMode.Isolated, parent: 0, instrument: f.Future(1, 0)));
        var state = new GateState(gate, f);
        GcAssert.NoAllocation(state, static s => s.Run(), warmUp: 200, iterations: 2_000);
        var missing = Enum.GetValues<RejectReason>().Where(r => r != RejectReason.OrderCapacity && !state.SeenReasons[(int)r]).ToArray();
        Assert.True(missing.Length == 0, "paths not exercised: " + string.Join(", ", missing));
    }

    private sealed class GateState(PreTradeGate gate, BookFixture f)
    {
        private long _id = 1;
        private long _t = T0;

        public bool[] SeenReasons { get; } = new bool[32];

        public void Run()
        {
            int perp = f.Perp(0);
            int future = f.Future(0, 0);
            _t += 1_000;
            Record(new OrderRequest(0, perp, OrderSide.Buy, 0.001, 30_000, OrderType.Limit, _id++));          // accept
            Record(new OrderRequest(0, 9999, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++));            // unknown instrument
            Record(new OrderRequest(99, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++));           // unknown account
            Record(new OrderRequest(13, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++));           // disabled
            Record(new OrderRequest(4, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++));            // another shard's account
            Record(new OrderRequest(0, f.Future(1, 1), OrderSide.Buy, 1, 2_000, OrderType.Limit, _id++));  // halted
            Record(new OrderRequest(15, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++));           // kill switch
            Record(new OrderRequest(5, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++, MmpProtected: true)); // market-maker protection frozen
            Record(new OrderRequest(12, perp, OrderSide.Buy, 0.001, 30_000, OrderType.Limit, _id++));       // throttled (after its one token)
            Record(new OrderRequest(0, perp, OrderSide.Buy, double.NaN, 30_000, OrderType.Limit, _id++));   // malformed
            Record(new OrderRequest(0, perp, OrderSide.Buy, 1, 30_000.3, OrderType.Limit, _id++));          // tick
            Record(new OrderRequest(0, perp, OrderSide.Buy, 0.0005, 30_000, OrderType.Limit, _id++));       // lot
            Record(new OrderRequest(0, future, OrderSide.Buy, 0.005, 30_000, OrderType.Limit, _id++));      // below minimum
            Record(new OrderRequest(0, perp, OrderSide.Buy, 500, 30_000, OrderType.Limit, _id++));          // max qty
            Record(new OrderRequest(0, perp, OrderSide.Buy, 99, 30_000, OrderType.Limit, _id++));           // max value (99 × 30,000 > 1,000,000)
            Record(new OrderRequest(0, perp, OrderSide.Buy, 1, 40_000, OrderType.Limit, _id++));            // band
            Record(new OrderRequest(0, perp, OrderSide.Buy, 0.001, 30_000, OrderType.Limit, 1));            // duplicate of the first accept ever
            Record(new OrderRequest(8, perp, OrderSide.Buy, 0.001, 30_000, OrderType.Limit, _id++));        // daily loss (before the check below starts a later day)
            Record(new OrderRequest(1, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++), _t + (1L << 50)); // stale mark
            Record(new OrderRequest(0, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++, ReduceOnly: true)); // reduce-only
            Record(new OrderRequest(0, future, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++));          // position limit
            Record(new OrderRequest(11, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++));           // underlying position limit
            Record(new OrderRequest(14, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++));           // credit
            Record(new OrderRequest(7, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++));            // account in margin call
            Record(new OrderRequest(6, perp, OrderSide.Buy, 30, 30_000, OrderType.Limit, _id++));           // insufficient margin
            Record(new OrderRequest(10, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, _id++));           // isolated on another instrument
            Record(new OrderRequest(9, perp, OrderSide.Buy, 0.001, 30_000, OrderType.Limit, _id++));        // most open orders (one, working)
        }

        private void Record(in OrderRequest o, long? at = null)
        {
            var d = gate.Check(o, at ?? _t);
            SeenReasons[(int)d.Reason] = true;
            if (d.Accepted && o.ClientOrderId != 1)
            {
                gate.OnOrderEnded(o.Account, o.ClientOrderId, _t);
            }
        }
    }
}
