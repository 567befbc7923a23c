using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Core.Tests.Book;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Gate;

/// <summary>
/// Margin on resting orders: the gate charges the worst side of an account's working orders as if
/// it all filled, so orders that each pass alone cannot together breach when they fill.
/// </summary>
/// <remarks>
/// Numbers: the fixture's perpetual on underlying 0 at index 30,000 with the default 15 % price scan
/// range loses 4,500 per contract in the worst scenario (the extreme move, 3 × 15 % × 0.33 = 14.85 %,
/// loses less), so n long contracts need n × 4,500 of initial margin. With 50,000 of equity, 11 fit
/// (49,500) and a 12th does not (54,000).
/// </remarks>
public sealed class RestingOrderMarginTests
{
    private const long T0 = BookFixture.Start + 1_000_000;
    private readonly BookFixture _f = new(underlyings: 2, accounts: 8);
    private long _nextId = 1;

    private PreTradeGate NewGate(bool marginOnOrders = true)
    {
        for (int a = 0; a < 8; a++)
        {
            Assert.True(_f.Book.SetCollateral(a, BookFixture.Usd, 50_000));
        }

        return new PreTradeGate(_f.Book, new GateConfig { MaxOrderQuantity = 100, MaxOrderNotional = 1e8, PriceBand = 0.10, PositionLimit = 1_000, MarginOnWorkingOrders = marginOnOrders });
    }

    private RiskBook Book => _f.Book;

    private int Perp => _f.Perp(0);

    private OrderRequest Order(int account, OrderSide side, double quantity, int? instrument = null, double price = 30_000) =>
        new(account, instrument ?? Perp, side, quantity, price, OrderType.Limit, _nextId++);

    [Fact]
    public void TheOrderThatMakesTheWorkingOnesBreach_IsRefused_AndCancellingFreesIt()
    {
        var gate = NewGate();
        var orders = new List<OrderRequest>();
        for (int n = 1; n <= 11; n++)
        {
            var o = Order(0, OrderSide.Buy, 1);
            Assert.True(gate.Check(o, T0).Accepted, $"order {n}");
            orders.Add(o);
        }

        Assert.Equal(0, Book.InitialMargin(0));                    // nothing filled: the ladder sees nothing
        Assert.Equal(11 * 4_500, Book.OpenOrderMargin(0), 6);     // the 11 buys as if they all filled
        Assert.Equal(11 * 4_500, Book.InitialMarginWithOrders(0), 6);

        // The 12th passes alone (4,500 ≤ 50,000) but not with the other 11 (54,000 > 50,000).
        var twelfth = gate.Check(Order(0, OrderSide.Buy, 1), T0);
        Assert.Equal(RejectReason.InsufficientMargin, twelfth.Reason);
        Assert.Equal(12 * 4_500, twelfth.Actual, 6);
        Assert.Equal(50_000, twelfth.Limit, 6);

        // Cancelling one frees its margin: the 12th now fits.
        Assert.True(gate.OnOrderEnded(0, orders[0].ClientOrderId, T0));
        Assert.Equal(10 * 4_500, Book.OpenOrderMargin(0), 6);
        Assert.True(gate.Check(Order(0, OrderSide.Buy, 1), T0).Accepted);

        // Negative control: without margin on working orders each order is checked alone and all 12 pass.
        var plain = new RestingOrderMarginTests();
        var gate2 = plain.NewGate(marginOnOrders: false);
        for (int n = 1; n <= 12; n++)
        {
            Assert.True(gate2.Check(plain.Order(0, OrderSide.Buy, 1), T0).Accepted, $"order {n} without margin on orders");
        }
    }

    [Fact]
    public void PartialFills_MoveExposureFromOrdersToPositions_Exactly()
    {
        var gate = NewGate();
        var orders = Enumerable.Range(0, 4).Select(_ => Order(1, OrderSide.Buy, 2)).ToArray();
        foreach (var o in orders)
        {
            Assert.True(gate.Check(o, T0).Accepted);
        }

        Assert.Equal(8 * 4_500, Book.OpenOrderMargin(1), 6);

        // The matching engine fills 1 of the first order: the gate releases it, the book takes the fill.
        Assert.True(gate.OnOrderFilled(1, orders[0].ClientOrderId, 1, T0));
        Assert.Equal(FillResult.Applied, Book.ApplyFill(1, Perp, 1, 30_000));
        Assert.Equal(4_500, Book.InitialMargin(1), 6);
        Assert.Equal(7 * 4_500, Book.OpenOrderMargin(1), 6);
        Assert.Equal(8 * 4_500, Book.InitialMarginWithOrders(1), 6); // the total did not move

        // The rest of it and a whole second order.
        Assert.True(gate.OnOrderFilled(1, orders[0].ClientOrderId, 1, T0));
        Assert.Equal(FillResult.Applied, Book.ApplyFill(1, Perp, 1, 30_000));
        Assert.True(gate.OnOrderFilled(1, orders[1].ClientOrderId, 2, T0));
        Assert.Equal(FillResult.Applied, Book.ApplyFill(1, Perp, 2, 30_000));
        Assert.Equal(4 * 4_500, Book.InitialMargin(1), 6);
        Assert.Equal(4 * 4_500, Book.OpenOrderMargin(1), 6);
        Assert.Equal((4.0, 0.0), Book.WorkingQuantity(1, Perp));
        Assert.Equal(gate.WorkingQuantityOf(1, Perp), Book.WorkingQuantity(1, Perp)); // the gate's reservation and the book's agree
        RiskBookExactnessTests.AssertMatches(Book, 1);
    }

    [Fact]
    public void RiskReducingOrders_AreNeverRefusedForMargin_AndTheTwoSidesDoNotAdd()
    {
        var gate = NewGate();
        // Long 11 (IM 49,500 against equity 50,000): no more buys, but every sell that reduces passes.
        Assert.Equal(FillResult.Applied, Book.ApplyFill(2, Perp, 11, 30_000));
        Assert.Equal(RejectReason.InsufficientMargin, gate.Check(Order(2, OrderSide.Buy, 1), T0).Reason);
        for (int n = 0; n < 11; n++)
        {
            Assert.True(gate.Check(Order(2, OrderSide.Sell, 1), T0).Accepted, $"reducing sell {n}");
        }

        // The sells as if all filled leave the account flat: no open-order margin.
        Assert.Equal(0, Book.OpenOrderMargin(2), 6);

        // A bid and an offer rest together: charged the worse side, not both (they cannot both fill
        // without the position passing through flat). 5 bid, 5 offered, flat → 5 × 4,500, not 10 × 4,500.
        Assert.True(gate.Check(Order(3, OrderSide.Buy, 5), T0).Accepted);
        Assert.True(gate.Check(Order(3, OrderSide.Sell, 5), T0).Accepted);
        Assert.Equal(5 * 4_500, Book.OpenOrderMargin(3), 6);
        RiskBookExactnessTests.AssertMatches(Book, 2);
        RiskBookExactnessTests.AssertMatches(Book, 3);
    }

    [Fact]
    public void RandomOrdersFillsCancelsAndTicks_OpenOrderMarginEqualsFromScratch()
    {
        var gate = NewGate();
        var rng = new Random(77);
        var live = new List<(int Account, long Id, int Instrument, double Remaining, OrderSide Side)>();
        double[] index = [30_000, 2_000];
        long now = T0;
        int accepted = 0;
        for (int e = 0; e < 20_000; e++)
        {
            int kind = rng.Next(100);
            if (kind < 45)
            {
                int account = rng.Next(8);
                int instrument = _f.Instruments[rng.Next(_f.Instruments.Count)];
                var side = rng.Next(2) == 0 ? OrderSide.Buy : OrderSide.Sell;
                double quantity = Math.Round(0.1 * (1 + rng.Next(5)), 3);
                double mark = Book.MarkPrice(instrument);
                double tick = Book.Instrument(instrument).TickSize;
                var o = new OrderRequest(account, instrument, side, quantity, Math.Max(tick, Math.Round(mark / tick) * tick), OrderType.Limit, _nextId++);
                if (gate.Check(o, now).Accepted)
                {
                    accepted++;
                    live.Add((account, o.ClientOrderId, instrument, quantity, side));
                }
            }
            else if (kind < 65 && live.Count > 0)
            {
                int k = rng.Next(live.Count);
                var o = live[k];
                double fill = Math.Min(o.Remaining, 0.1 * (1 + rng.Next(3)));
                Assert.True(gate.OnOrderFilled(o.Account, o.Id, fill, now));
                Book.ApplyFill(o.Account, o.Instrument, o.Side == OrderSide.Buy ? fill : -fill, Book.MarkPrice(o.Instrument));
                live[k] = o with { Remaining = o.Remaining - fill };
                if (live[k].Remaining <= 1e-9)
                {
                    live.RemoveAt(k);
                }
            }
            else if (kind < 80 && live.Count > 0)
            {
                int k = rng.Next(live.Count);
                Assert.True(gate.OnOrderEnded(live[k].Account, live[k].Id, now));
                live.RemoveAt(k);
            }
            else
            {
                int u = rng.Next(2);
                index[u] *= 1 + ((rng.NextDouble() - 0.5) * 0.004);
                now += 1_000_000_000;
                Assert.Equal(MarkResult.Accepted, Book.UpdateIndex(u, index[u], now));
                if (rng.Next(4) == 0)
                {
                    Book.Revalue();
                }
            }

            while (Book.TryDequeueTransition(out _))
            {
            }

            if (e % 1_000 == 999)
            {
                Book.Revalue(); // the verifier values at the last revaluation's market: bring it to now
                for (int a = 0; a < 8; a++)
                {
                    RiskBookExactnessTests.AssertMatches(Book, a);
                }
            }
        }

        Assert.True(accepted > 2_000 && live.Count > 20, $"accepted {accepted}, still working {live.Count}");
        Assert.True(Enumerable.Range(0, 8).Any(a => Book.OpenOrderMargin(a) > 0), "open-order margin was in force");
    }

    [Fact]
    public void AcceptCancelFillAndTick_WithOrdersResting_DoNotAllocate()
    {
        var gate = NewGate();
        for (int n = 0; n < 5; n++)
        {
            Assert.True(gate.Check(Order(4, OrderSide.Buy, 1), T0).Accepted);
            Assert.True(gate.Check(Order(4, OrderSide.Sell, 1, _f.Option(0, 1, 2, call: true), price: Math.Round(Book.MarkPrice(_f.Option(0, 1, 2, call: true)), 1)), T0).Accepted);
        }

        var state = (gate, book: Book, f: _f, next: new long[] { 1_000_000 }, t: new long[] { T0 });
        GcAssert.NoAllocation(state, static s =>
        {
            long id = s.next[0]++;
            var o = new OrderRequest(4, s.f.Perp(0), OrderSide.Buy, 0.5, 30_000, OrderType.Limit, id);
            s.gate.Check(o, s.t[0]);                              // accepted: the order joins the buy side
            s.gate.OnOrderFilled(4, id, 0.25, s.t[0]);            // part filled
            s.book.ApplyFill(4, s.f.Perp(0), 0.25, 30_000);
            s.gate.OnOrderEnded(4, id, s.t[0]);                   // the rest cancelled
            s.book.ApplyFill(4, s.f.Perp(0), -0.25, 30_000);
            s.t[0] += 1_000_000;
            s.book.UpdateIndex(0, (id & 1) == 0 ? 30_010 : 29_990, s.t[0]);
            s.book.Revalue();                                     // the next read rebuilds the side arrays
            s.book.OpenOrderMargin(4);
            while (s.book.TryDequeueTransition(out _))
            {
            }
        });
        Assert.True(Book.OpenOrderMargin(4) > 0);
    }
}
