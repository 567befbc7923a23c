using System.Buffers.Binary;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests;

public sealed class RiskEngineTests : IDisposable
{
    private readonly List<SharedRing> _rings = [];

    public void Dispose()
    {
        foreach (var r in _rings)
        {
            r.Dispose();
        }
    }

    private sealed class Rig
    {
        public required StandardWorkload Workload;
        public required PreTradeGate Gate;
        public required RiskEngine Engine;
        public required MultiProducer Feed;
        public required Liquidator Liquidator;
        public required List<BreachRecord> Breaches;
        public required VenueSimulator Simulator;

        /// <summary>Publishes <paramref name="n"/> simulated events (waits for room, polling the engine).</summary>
        public void Simulate(int n)
        {
            for (int i = 0; i < n; i++)
            {
                long s;
                while (!Feed.TryClaim(1, out s))
                {
                    Engine.PollOnce();
                    Liquidator.Poll();
                }

                Simulator.Next(Feed.Payload(s), MonotonicClock.Now());
                Feed.Publish(s);
            }
        }

        /// <summary>Publishes one hand-made message.</summary>
        public void Publish(Action<Span<byte>> write)
        {
            Assert.True(Feed.TryClaim(1, out long s));
            write(Feed.Payload(s));
            Feed.Publish(s);
        }
    }

    private Rig NewRig(int breachCapacity = 1 << 14, long stressStart = 2_000, long stressLength = 4_000, bool collectBreaches = true)
    {
        var (w, shadow) = ThinWorkload.Build();

        var gate = new PreTradeGate(w.Book, new GateConfig());
        var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
        var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, breachCapacity, ProducerMode.Single));
        _rings.Add(feed);
        _rings.Add(breaches);
        var list = new List<BreachRecord>();
        return new Rig
        {
            Workload = w,
            Gate = gate,
            Engine = new RiskEngine(w.Book, gate, feed.CreateConsumer(0), breaches.CreateSingleProducer()),
            Feed = feed.CreateMultiProducer(),
            Liquidator = collectBreaches ? new Liquidator(breaches.CreateConsumer(0), list.Add) : new Liquidator(breaches.CreateConsumer(0)),
            Breaches = list,
            Simulator = new VenueSimulator(shadow, seed: 11, producerId: 1, stressStart, stressLength),
        };
    }

    private static (double Equity, double Im, int Positions)[] Snapshot(RiskBook book, int accounts) =>
        Enumerable.Range(0, accounts).Select(a => (book.Equity(a), book.InitialMargin(a), book.PositionCount(a))).ToArray();

    [Fact]
    public void EndToEnd_BreachesAreInOrder_StatesMatchTheBook_AndTheBookMatchesFromScratch()
    {
        var rig = NewRig();
        for (int batch = 0; batch < 60; batch++)
        {
            rig.Simulate(200);
            while (rig.Engine.PollOnce() > 0 || rig.Engine.HasPendingMarks)
            {
            }

            rig.Liquidator.Poll();
        }

        var book = rig.Workload.Book;
        Assert.True(rig.Breaches.Count > 20, $"only {rig.Breaches.Count} breaches; engine emitted {string.Join(",", rig.Engine.Counters.BreachesByState)}; events {rig.Engine.Counters.Events}; rejects {rig.Engine.Counters.TotalRejects}; revaluations {rig.Engine.Counters.Revaluations}; index0 {book.IndexPrice(0)}; states {string.Join(",", Enumerable.Range(0, 200).Select(a => (int)book.State(a)).GroupBy(x => x).Select(g => g.Key + ":" + g.Count()))}; IM/eq a0 {book.InitialMargin(0)}/{book.Equity(0)}");
        Assert.Contains(rig.Breaches, b => b.To == MarginState.Liquidation);
        Assert.Equal(0, rig.Liquidator.SequenceGaps);
        Assert.Equal(Enumerable.Range(1, rig.Breaches.Count).Select(i => (long)i), rig.Breaches.Select(b => b.Sequence));

        // Replaying the breaches gives every account's current state; each breach is consistent with the ladder.
        var state = new MarginState[200];
        foreach (var b in rig.Breaches)
        {
            Assert.Equal(state[b.Account], b.From);
            Assert.Equal(b.To, RiskBook.NextState(b.From, b.Equity, b.InitialMargin, b.MaintenanceMargin, book.Config.Hysteresis));
            state[b.Account] = b.To;
        }

        for (int a = 0; a < 200; a++)
        {
            Assert.Equal(book.State(a), state[a]);
            var r = RiskBookVerifier.Recompute(book, a);
            Assert.True(Math.Abs(r.Equity - book.Equity(a)) < 1e-6, $"account {a}: equity {book.Equity(a)} vs {r.Equity}; dirty {book.IsDirty(0)},{book.IsDirty(1)}; unrealized {book.UnrealizedPnl(a, 0)}/{r.Unrealized[0]}, {book.UnrealizedPnl(a, 1)}/{r.Unrealized[1]}; valued {book.ValuationNanos(0)},{book.ValuationNanos(1)} now {book.NowNanos}; pending {rig.Engine.HasPendingMarks}");
            Assert.Equal(r.InitialMargin, book.InitialMargin(a), 6);
            // Outside the hysteresis bands the state is what the from-scratch numbers say.
            if (r.Equity < r.MaintenanceMargin)
            {
                Assert.Equal(MarginState.Liquidation, state[a]);
            }
            else if (r.Equity >= r.InitialMargin * (1 + book.Config.Hysteresis))
            {
                Assert.Equal(MarginState.Healthy, state[a]);
            }
            else if (r.Equity < r.InitialMargin && r.Equity >= r.MaintenanceMargin * (1 + book.Config.Hysteresis))
            {
                Assert.Equal(MarginState.MarginCall, state[a]);
            }
        }

        Assert.Equal(rig.Simulator.Generated, rig.Engine.Counters.Events);
        Assert.Equal(0, rig.Engine.Counters.SequenceGaps);
    }

    [Fact]
    public void BadInput_IsRejectedByReason_AndChangesNothing()
    {
        var rig = NewRig();
        var book = rig.Workload.Book;
        rig.Engine.PollOnce();
        var before = Snapshot(book, 200);
        double index = book.IndexPrice(0);
        long seq = 0;
        void Header(Span<byte> p, FeedMessageType type) => FeedMessageDescriptor.WriteHeader(p, type, 5, ++seq, StandardWorkload.StartNanos + seq, 0);

        rig.Publish(p => { Header(p, FeedMessageType.IndexPrice); FeedMessageDescriptor.WriteIndexPrice(p, 99, 100); });           // unknown underlying
        rig.Publish(p => { Header(p, FeedMessageType.IndexPrice); FeedMessageDescriptor.WriteIndexPrice(p, 0, double.NaN); });      // NaN
        rig.Publish(p => { Header(p, FeedMessageType.IndexPrice); FeedMessageDescriptor.WriteIndexPrice(p, 0, -5); });              // negative
        rig.Publish(p => { Header(p, FeedMessageType.IndexPrice); FeedMessageDescriptor.WriteIndexPrice(p, 0, double.PositiveInfinity); });
        rig.Publish(p => { Header(p, FeedMessageType.OptionMark); FeedMessageDescriptor.WriteOptionMark(p, -1, 0.5, 0); });         // unknown option
        rig.Publish(p => { Header(p, FeedMessageType.OptionMark); FeedMessageDescriptor.WriteOptionMark(p, rig.Workload.Option(0, 0, 0, true), 0, 0); }); // zero vol
        rig.Publish(p => { Header(p, FeedMessageType.Fill); FeedMessageDescriptor.WriteFill(p, 5_000, 0, 1, 100, 1); });            // unknown account
        rig.Publish(p => { Header(p, FeedMessageType.Fill); FeedMessageDescriptor.WriteFill(p, 1, 9_999, 1, 100, 2); });            // unknown instrument
        rig.Publish(p => { Header(p, FeedMessageType.Fill); FeedMessageDescriptor.WriteFill(p, 1, 0, double.NaN, 100, 3); });       // NaN quantity
        rig.Publish(p => { Header(p, FeedMessageType.Fill); FeedMessageDescriptor.WriteFill(p, 1, 0, 1, -100, 4); });               // negative price
        rig.Publish(p => { Header(p, FeedMessageType.Collateral); FeedMessageDescriptor.WriteCollateral(p, 1, 7, 100); });          // unknown asset
        rig.Publish(p => { Header(p, FeedMessageType.Collateral); FeedMessageDescriptor.WriteCollateral(p, 1, 0, double.NaN); });   // NaN balance
        rig.Publish(p => { Header(p, FeedMessageType.OrderLifecycle); FeedMessageDescriptor.WriteOrderLifecycle(p, 1, OrderLifecycleEvent.Cancelled, 12345, 0); }); // unknown order
        rig.Publish(p => { Header(p, FeedMessageType.KillSwitch); FeedMessageDescriptor.WriteKillSwitch(p, (KillSwitchScope)9, 0, true); });         // unknown scope
        rig.Publish(p => { Header(p, (FeedMessageType)99); });                                                                      // unknown type
        rig.Publish(p => { Header(p, FeedMessageType.IndexPrice); WireMessage.As<FeedHeader>(p).Version = 7; FeedMessageDescriptor.WriteIndexPrice(p, 0, 1); }); // bad version
        rig.Publish(p => { FeedMessageDescriptor.WriteHeader(p, FeedMessageType.Heartbeat, 1, 1, 0, 0); p[2] = 0xBC; p[3] = 0x02; }); // bad producer (700: writers refuse it, so the bytes are set by hand)
        rig.Publish(p => { p.Fill(0xFF); });                                                                                        // garbage
        rig.Publish(p => { FeedMessageDescriptor.WriteHeader(p, FeedMessageType.IndexPrice, 5, 3, 0, 0); FeedMessageDescriptor.WriteIndexPrice(p, 0, 1); }); // duplicate sequence
        while (rig.Engine.PollOnce() > 0)
        {
        }

        var c = rig.Engine.Counters;
        Assert.Equal(19, c.Events);
        Assert.Equal(19, c.TotalRejects);
        Assert.Equal(1, c.Rejects[(int)FeedReject.UnknownType]);   // type 99
        Assert.Equal(2, c.Rejects[(int)FeedReject.BadVersion]);    // version 7, and the garbage (0xFF)
        Assert.Equal(6, c.Rejects[(int)FeedReject.UnknownId]);     // underlying, option, account, instrument, asset, kill-switch scope
        Assert.Equal(1, c.Rejects[(int)FeedReject.BadProducer]);
        Assert.Equal(1, c.Rejects[(int)FeedReject.Duplicate]);
        Assert.Equal(1, c.Rejects[(int)FeedReject.UnknownOrder]);
        Assert.Equal(7, c.Rejects[(int)FeedReject.InvalidValue]);  // NaN, −5, ∞, zero vol, NaN quantity, negative price, NaN balance
        Assert.Equal(index, book.IndexPrice(0));
        Assert.Equal(before, Snapshot(book, 200));
    }

    [Fact]
    public void MarginModeAndTransferMessages_IsolateAPosition_WhoseBreachNamesIt()
    {
        var rig = NewRig();
        var book = rig.Workload.Book;
        int perp = rig.Workload.Perpetuals[0];
        int future = rig.Workload.InstrumentsByUnderlying[0][1];
        const int Child = 199, Parent = 0;
        // The venue's isolated position is a sub-account of its own: start it flat (before the feed).
        while (book.PositionCount(Child) > 0)
        {
            int i = book.PositionInstrumentAt(Child, 0);
            Assert.Equal(FillResult.Applied, book.ApplyFill(Child, i, -book.PositionQuantity(Child, i), book.MarkPrice(i)));
        }

        Assert.True(book.SetCollateral(Child, StandardWorkload.UsdAsset, 0));
        while (book.TryDequeueTransition(out _))
        {
        }

        long seq = 0;
        void Header(Span<byte> p, FeedMessageType type) => FeedMessageDescriptor.WriteHeader(p, type, 5, ++seq, StandardWorkload.StartNanos + seq, 0);
        void Drain()
        {
            while (rig.Engine.PollOnce() > 0 || rig.Engine.HasPendingMarks)
            {
            }

            rig.Liquidator.Poll();
        }

        double amount = 0.05 * book.CollateralBalance(Parent, StandardWorkload.UsdAsset);
        rig.Publish(p => { Header(p, FeedMessageType.MarginMode); FeedMessageDescriptor.WriteMarginMode(p, Child, MarginMode.Isolated, Parent, perp); });
        rig.Publish(p => { Header(p, FeedMessageType.CollateralTransfer); FeedMessageDescriptor.WriteCollateralTransfer(p, Parent, Child, StandardWorkload.UsdAsset, amount); });
        Drain();
        Assert.Equal((MarginMode.Isolated, Parent, perp), (book.Mode(Child), book.IsolatedParent(Child), book.IsolatedInstrument(Child)));
        Assert.Equal(amount, book.CollateralBalance(Child, StandardWorkload.UsdAsset));

        // A long perpetual whose initial margin is about half the isolated collateral, then a 9 % fall.
        double q = 0.001;
        while (book.WhatIf(Child, perp, q * 2).InitialMarginAfter < 0.5 * amount)
        {
            q *= 2;
        }

        rig.Publish(p => { Header(p, FeedMessageType.Fill); FeedMessageDescriptor.WriteFill(p, Child, perp, q, book.MarkPrice(perp), 1); });
        rig.Publish(p => { Header(p, FeedMessageType.Fill); FeedMessageDescriptor.WriteFill(p, Child, future, 1, book.MarkPrice(future), 2); });    // another instrument
        rig.Publish(p => { Header(p, FeedMessageType.MarginMode); FeedMessageDescriptor.WriteMarginMode(p, Child, MarginMode.Standard); });       // not flat
        rig.Publish(p => { Header(p, FeedMessageType.CollateralTransfer); FeedMessageDescriptor.WriteCollateralTransfer(p, 5, Child, 0, 1); });   // not its parent
        rig.Publish(p => { Header(p, FeedMessageType.MarginMode); FeedMessageDescriptor.WriteMarginMode(p, 7, (MarginMode)9); });                 // no such mode
        Drain();
        Assert.Equal(q, book.PositionQuantity(Child, perp));
        Assert.Equal(MarginState.Healthy, book.State(Child));
        var c = rig.Engine.Counters;
        Assert.Equal(1, c.Rejects[(int)FeedReject.IsolatedInstrument]);
        Assert.Equal(1, c.Rejects[(int)FeedReject.ModeRefused]);
        Assert.Equal(1, c.Rejects[(int)FeedReject.TransferRefused]);
        Assert.Equal(1, c.Rejects[(int)FeedReject.UnknownId]);

        double index = book.IndexPrice(0) * 0.91;
        rig.Publish(p => { Header(p, FeedMessageType.IndexPrice); FeedMessageDescriptor.WriteIndexPrice(p, 0, index); });
        Drain();
        Assert.Equal(MarginState.Liquidation, book.State(Child));
        var breach = rig.Breaches.Last(b => b.Account == Child); // (an earlier one: flattened before the feed, its funding made it healthy)
        Assert.Equal((MarginState.Liquidation, MarginMode.Isolated, perp), (breach.To, breach.Mode, breach.TopInstrument));
        Assert.All(rig.Breaches.Where(b => b.Account != Child), b => Assert.Equal(MarginMode.Portfolio, b.Mode));
    }

    [Fact]
    public void ABreach_CarriesWhatTheAccountsWorkingOrdersWouldAdd_AndZeroForAccountsWithoutAny()
    {
        var rig = NewRig();
        var book = rig.Workload.Book;
        int perp = rig.Workload.Perpetuals[0];
        const int Trader = 199;
        // A portfolio account holding only a long perpetual whose IM is 35–70 % of its collateral.
        while (book.PositionCount(Trader) > 0)
        {
            int i = book.PositionInstrumentAt(Trader, 0);
            Assert.Equal(FillResult.Applied, book.ApplyFill(Trader, i, -book.PositionQuantity(Trader, i), book.MarkPrice(i)));
        }

        double collateral = book.CollateralBalance(Trader, StandardWorkload.UsdAsset);
        double q = book.Instrument(perp).LotSize;
        while (book.WhatIf(Trader, perp, q * 2).InitialMarginAfter < 0.7 * collateral)
        {
            q *= 2;
        }

        Assert.Equal(FillResult.Applied, book.ApplyFill(Trader, perp, q, book.MarkPrice(perp)));
        while (book.TryDequeueTransition(out _))
        {
        }

        // A resting buy of a quarter as much again: accepted by the gate, so it works, and the book's open-order margin
        // is what a from-scratch recomputation says (the worse side, filled + the buys, over filled alone).
        long now = StandardWorkload.StartNanos + 1;
        var order = new OrderRequest(Trader, perp, OrderSide.Buy, q / 4, 0, OrderType.Market, ClientOrderId: 1);
        Assert.Equal(RejectReason.None, rig.Gate.Check(order, now).Reason);
        double expected = RiskBookVerifier.Recompute(book, Trader).OpenOrderMargin;
        Assert.True(expected > 0.2 * book.InitialMargin(Trader), $"open-order margin {expected} against IM {book.InitialMargin(Trader)}");
        Assert.Equal(expected, book.OpenOrderMargin(Trader), 6);

        // The index falls 9 % at a time (within the jump band) until the account is in liquidation: with its IM at
        // least 35 % of its collateral and IM about 15 % of notional, five falls (to 62 %) are more than enough.
        long seq = 0;
        for (int fall = 0; fall < 8 && book.State(Trader) != MarginState.Liquidation; fall++)
        {
            double index = book.IndexPrice(0) * 0.91;
            rig.Publish(p =>
            {
                FeedMessageDescriptor.WriteHeader(p, FeedMessageType.IndexPrice, 5, ++seq, now + seq, 0);
                FeedMessageDescriptor.WriteIndexPrice(p, 0, index);
            });
            while (rig.Engine.PollOnce() > 0 || rig.Engine.HasPendingMarks)
            {
            }
        }

        rig.Liquidator.Poll();
        Assert.True(MarginState.Liquidation == book.State(Trader), $"{book.State(Trader)}: equity {book.Equity(Trader)} IM {book.InitialMargin(Trader)} MM {book.MaintenanceMargin(Trader)} index {book.IndexPrice(0)}");
        var breach = rig.Breaches.Last(b => b.Account == Trader);
        Assert.Equal(MarginState.Liquidation, breach.To);
        double atBreach = RiskBookVerifier.Recompute(book, Trader).OpenOrderMargin; // same valuation: nothing moved since
        Assert.True(atBreach > 0);
        Assert.Equal(atBreach, breach.OpenOrderMargin, 6);
        // The control: every other account that breached works no order, and says 0.
        var others = rig.Breaches.Where(b => b.Account != Trader).ToList();
        Assert.NotEmpty(others);
        Assert.All(others, b => Assert.Equal(0, b.OpenOrderMargin));
    }

    [Fact]
    public void InstrumentDefinitionsAndLimitChanges_AppliedWhenValid_RejectedByReasonOtherwise()
    {
        var rig = NewRig();
        var book = rig.Workload.Book;
        int free = Enumerable.Range(0, book.Config.MaxInstruments).First(i => !book.IsInstrument(i));
        var call = new InstrumentSpec(InstrumentKind.Call, 0, book.IndexPrice(0), StandardWorkload.StartNanos + (30L * 86_400_000_000_000), 1, 0.5, 0.01);
        long seq = 0;
        void Header(Span<byte> p, FeedMessageType type) => FeedMessageDescriptor.WriteHeader(p, type, 6, ++seq, StandardWorkload.StartNanos + seq, 0);

        rig.Publish(p => { Header(p, FeedMessageType.InstrumentDefinition); FeedMessageDescriptor.WriteInstrumentDefinition(p, free, call); });             // valid
        rig.Publish(p => { Header(p, FeedMessageType.InstrumentDefinition); FeedMessageDescriptor.WriteInstrumentDefinition(p, free, call with { Strike = 1 }); }); // id taken
        rig.Publish(p => { Header(p, FeedMessageType.InstrumentDefinition); FeedMessageDescriptor.WriteInstrumentDefinition(p, -3, call); });               // id out of range
        rig.Publish(p => { Header(p, FeedMessageType.InstrumentDefinition); FeedMessageDescriptor.WriteInstrumentDefinition(p, free + 1, call with { Multiplier = double.NaN }); });
        rig.Publish(p => { Header(p, FeedMessageType.InstrumentDefinition); FeedMessageDescriptor.WriteInstrumentDefinition(p, free + 1, call with { Underlying = 77 }); });
        rig.Publish(p => { Header(p, FeedMessageType.InstrumentDefinition); FeedMessageDescriptor.WriteInstrumentDefinition(p, free + 1, call with { Kind = (InstrumentKind)9 }); });
        rig.Publish(p => { Header(p, FeedMessageType.InstrumentDefinition); FeedMessageDescriptor.WriteInstrumentDefinition(p, free + 1, call with { Strike = -1 }); });
        var inverse = new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 100, 0.5, 1) { Settlement = Settlement.Inverse };
        rig.Publish(p => { Header(p, FeedMessageType.InstrumentDefinition); FeedMessageDescriptor.WriteInstrumentDefinition(p, free + 2, inverse); });          // valid: coin-settled, $100 a contract
        rig.Publish(p => { Header(p, FeedMessageType.InstrumentDefinition); FeedMessageDescriptor.WriteInstrumentDefinition(p, free + 3, call with { Settlement = Settlement.Inverse }); }); // inverse options: refused
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Instrument, LimitField.MaxOrderQuantityOrCredit, free, 3); }); // valid
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.PositionLimitOrEnabled, 4, 0); });         // valid: disable
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.MaxOrderQuantityOrCredit, 4, -1); });      // negative
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.MaxOrderQuantityOrCredit, 4, double.NaN); });
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Instrument, LimitField.Halted, free, 0.5); });               // not a switch value
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.MaxOrderQuantityOrCredit, 99_999, 5); });  // unknown account
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, (LimitScope)7, LimitField.MaxOrderQuantityOrCredit, 1, 5); });          // unknown scope
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.Halted, 1, 1); });                       // field of the other scope
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.MinQuantityOrThrottleRate, 1, double.PositiveInfinity); }); // infinite throttle rate
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.PriceBandOrThrottleBurst, 1, 0.5); });   // burst below one order
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Instrument, LimitField.PriceBandOrThrottleBurst, free, double.PositiveInfinity); }); // infinite band
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.MaxOpenOrders, 2, 1); });               // valid: one working order
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.MaxOpenOrders, 3, 1.5); });             // not a whole number of orders
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Instrument, LimitField.MaxOpenOrders, free, 5); });         // an account limit only
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.DailyLossLimit, 2, 25_000); });        // valid
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.DailyLossLimit, 3, 0); });             // not positive
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Instrument, LimitField.DailyLossLimit, free, 5); });       // an account limit only
        const LimitField Pos = LimitField.MaxOrderNotionalOrUnderlyingPosition;
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.AccountUnderlying, Pos, 5, 40, underlying: 1); });        // valid: account 5 in underlying 1
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.AccountUnderlying, Pos, 5, 40, underlying: 900); });      // unknown underlying
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.AccountUnderlying, Pos, 99_999, 40, underlying: 1); });   // unknown account
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.AccountUnderlying, Pos, 5, 0, underlying: 0); });         // not positive
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.AccountUnderlying, Pos, 5, double.NaN, underlying: 0); });
        rig.Publish(p => { Header(p, FeedMessageType.LimitChange); FeedMessageDescriptor.WriteLimitChange(p, LimitScope.AccountUnderlying, LimitField.MaxOrderQuantityOrCredit, 5, 40, underlying: 0); }); // only the position limit has this scope
        while (rig.Engine.PollOnce() > 0)
        {
        }

        var c = rig.Engine.Counters;
        Assert.Equal(32, c.Events);
        Assert.Equal(7, c.Rejects[(int)FeedReject.InvalidDefinition]);
        Assert.Equal(4, c.Rejects[(int)FeedReject.UnknownId]);
        Assert.Equal(14, c.Rejects[(int)FeedReject.InvalidValue]);
        Assert.Equal(25, c.TotalRejects);
        Assert.Equal(inverse, book.Instrument(free + 2)); // the settlement crossed the wire
        Assert.False(book.IsInstrument(free + 3));
        Assert.Equal(25_000, rig.Gate.DailyLossLimitOf(2));
        Assert.Equal(double.PositiveInfinity, rig.Gate.DailyLossLimitOf(3));
        Assert.Equal(40, rig.Gate.UnderlyingPositionLimitOf(5, 1));
        Assert.Equal(double.PositiveInfinity, rig.Gate.UnderlyingPositionLimitOf(5, 0)); // none of the refused ones changed anything

        // The business day started on the feed's clock: the next one begins at the next 00:00 UTC after it.
        long day = GateConfig.NanosPerDay;
        long next = (((StandardWorkload.StartNanos + 1) / day) + 1) * day;
        Assert.Equal(next, rig.Gate.NextDayStart);

        // A message stamped at the end of time moves no day (it would have wrapped the next start negative).
        rig.Publish(p => { FeedMessageDescriptor.WriteHeader(p, FeedMessageType.Heartbeat, 6, ++seq, long.MaxValue, 0); });
        while (rig.Engine.PollOnce() > 0)
        {
        }

        Assert.Equal(next, rig.Gate.NextDayStart);
        Assert.True(book.IsInstrument(free));
        Assert.Equal(call, book.Instrument(free));
        Assert.False(book.IsInstrument(free + 1));

        // The limits took effect in the gate: 4 lots of the new call breach its 3-lot limit; account 4 is disabled.
        var tooBig = new OrderRequest(1, free, OrderSide.Buy, 4, 10, OrderType.Limit, 1);
        Assert.Equal(RejectReason.MaxOrderQuantity, rig.Gate.Check(tooBig, StandardWorkload.StartNanos).Reason);
        var disabled = tooBig with { Account = 4, Quantity = 1, ClientOrderId = 2 };
        Assert.Equal(RejectReason.AccountDisabled, rig.Gate.Check(disabled, StandardWorkload.StartNanos).Reason);

        // Account 2 may have one working order from now on; 1.5 orders for account 3 changed nothing.
        Assert.Equal(1, rig.Gate.MaxOpenOrdersOf(2));
        Assert.Equal(double.PositiveInfinity, rig.Gate.MaxOpenOrdersOf(3));
    }

    [Fact]
    public void InstrumentDefinedOnTheFeed_TradedBeforeItsFirstRevaluation_BooksRealizedPnlWithItsMultiplier()
    {
        var rig = NewRig();
        var book = rig.Workload.Book;
        rig.Engine.PollOnce();
        int free = Enumerable.Range(0, book.Config.MaxInstruments).First(i => !book.IsInstrument(i));
        var future = new InstrumentSpec(InstrumentKind.Future, 0, 0, StandardWorkload.StartNanos + (90L * 86_400_000_000_000), 10, 0.5, 1);
        double before = book.RealizedPnl(3);
        long seq = 0;
        void Header(Span<byte> p, FeedMessageType type) => FeedMessageDescriptor.WriteHeader(p, type, 7, ++seq, StandardWorkload.StartNanos + seq, 0);
        // One batch: definition, buy at 100, sell at 110 — all before the underlying is revalued.
        rig.Publish(p => { Header(p, FeedMessageType.InstrumentDefinition); FeedMessageDescriptor.WriteInstrumentDefinition(p, free, future); });
        rig.Publish(p => { Header(p, FeedMessageType.Fill); FeedMessageDescriptor.WriteFill(p, 3, free, 1, 100, 1); });
        rig.Publish(p => { Header(p, FeedMessageType.Fill); FeedMessageDescriptor.WriteFill(p, 3, free, -1, 110, 2); });
        rig.Engine.PollOnce();
        Assert.Equal(0, rig.Engine.Counters.TotalRejects);
        Assert.Equal(before + (1 * (110 - 100) * 10), book.RealizedPnl(3), 9);
    }

    [Fact]
    public void ProducerSequences_DuplicatesDropped_GapsCountedAndApplied()
    {
        var rig = NewRig();
        var book = rig.Workload.Book;
        double index = book.IndexPrice(1);
        void Tick(long sequence, double price) => rig.Publish(p =>
        {
            FeedMessageDescriptor.WriteHeader(p, FeedMessageType.IndexPrice, 3, sequence, StandardWorkload.StartNanos + sequence, 0);
            FeedMessageDescriptor.WriteIndexPrice(p, 1, price);
        });
        Tick(1, index * 1.001);
        Tick(2, index * 1.002);
        Tick(2, index * 1.5);   // duplicate: dropped
        Tick(1, index * 1.5);   // older: dropped
        Tick(5, index * 1.003); // gap of two: counted, applied
        rig.Engine.PollOnce();
        Assert.Equal(2, rig.Engine.Counters.Rejects[(int)FeedReject.Duplicate]);
        Assert.Equal(1, rig.Engine.Counters.SequenceGaps);
        Assert.Equal(index * 1.003, book.IndexPrice(1), 9);
    }

    [Fact]
    public void OneCorruptSequence_IsRefused_AndDoesNotSilenceTheProducer()
    {
        // Before: sequence 2^40 was adopted as a gap and every later valid message of the producer
        // (1,000 of 1,000) was refused as a duplicate until the engine restarted.
        var rig = NewRig();
        var book = rig.Workload.Book;
        double index = book.IndexPrice(1);
        long accepted = 0;
        void Tick(uint epoch, long sequence, double price) => rig.Publish(p =>
        {
            FeedMessageDescriptor.WriteHeader(p, FeedMessageType.IndexPrice, 3, epoch, sequence, StandardWorkload.StartNanos + (++accepted), 0);
            FeedMessageDescriptor.WriteIndexPrice(p, 1, price);
        });
        Tick(0, 1, index);
        Tick(0, 1L << 40, index * 1.05); // corrupt: far beyond the window
        rig.Engine.PollOnce();
        Assert.Equal(1, rig.Engine.Counters.Rejects[(int)FeedReject.SequenceJump]);
        Assert.Equal(1, rig.Engine.LastProducerSequence(3));
        for (int k = 2; k <= 1_001; k++)
        {
            Tick(0, k, index * (1 + (k * 1e-6)));
            if (k % 256 == 0)
            {
                rig.Engine.PollOnce();
            }
        }

        rig.Engine.PollOnce();
        Assert.Equal(0, rig.Engine.Counters.Rejects[(int)FeedReject.Duplicate]);
        Assert.Equal(1_001, rig.Engine.LastProducerSequence(3));
        Assert.Equal(index * (1 + 1e-3 + 1e-6), book.IndexPrice(1), 9);

        // A jump inside the window is a gap: counted and applied (the producer lost messages).
        Tick(0, 1_001 + 1_000, index);
        rig.Engine.PollOnce();
        Assert.Equal(1, rig.Engine.Counters.SequenceGaps);
        Assert.Equal(2_001, rig.Engine.LastProducerSequence(3));
    }

    [Fact]
    public void RestartedProducer_NewEpochFromOne_IsAccepted_StaleEpochRefused()
    {
        var rig = NewRig();
        var book = rig.Workload.Book;
        double index = book.IndexPrice(0);
        long time = 0;
        void Tick(uint epoch, long sequence, double price) => rig.Publish(p =>
        {
            FeedMessageDescriptor.WriteHeader(p, FeedMessageType.IndexPrice, 4, epoch, sequence, StandardWorkload.StartNanos + (++time), 0);
            FeedMessageDescriptor.WriteIndexPrice(p, 0, price);
        });
        Tick(1_700_000_000, 1, index * 1.001);
        Tick(1_700_000_000, 2, index * 1.002);
        Tick(1_700_000_000, 1, index * 1.5);   // same session, repeated: duplicate
        Tick(1_700_000_100, 1, index * 1.003); // the producer restarted: new epoch, sequence 1
        Tick(1_700_000_100, 2, index * 1.004);
        Tick(1_700_000_000, 3, index * 1.5);   // the old session again: stale
        Tick(4_000_000_000, 3, index * 1.5);   // a corrupt epoch on an ordinary message (a new session starts at 1): refused, not adopted
        rig.Engine.PollOnce();
        var c = rig.Engine.Counters;
        Assert.Equal(1, c.Rejects[(int)FeedReject.Duplicate]);
        Assert.Equal(1, c.Rejects[(int)FeedReject.StaleEpoch]);
        Assert.Equal(1, c.Rejects[(int)FeedReject.SequenceJump]);
        Assert.Equal(2, c.ProducerRestarts); // 0 → 1,700,000,000 → 1,700,000,100
        Assert.Equal(1_700_000_100u, rig.Engine.ProducerEpoch(4));
        Assert.Equal(2, rig.Engine.LastProducerSequence(4));
        Assert.Equal(index * 1.004, book.IndexPrice(0), 9);
    }

    [Fact]
    public void BreachRingFull_GoesRiskOff_DropsNothing_AndRecovers()
    {
        var rig = NewRig(breachCapacity: 2, stressStart: 100, stressLength: 3_000);
        for (int batch = 0; batch < 40; batch++)
        {
            for (int i = 0; i < 100; i++)
            {
                Assert.True(rig.Feed.TryClaim(1, out long s) || Drain(rig, out s));
                rig.Simulator.Next(rig.Feed.Payload(s), MonotonicClock.Now());
                rig.Feed.Publish(s);
            }

            while (rig.Engine.PollOnce() > 0)
            {
            }
        }

        Assert.True(rig.Engine.IsRiskOff);
        Assert.True(rig.Gate.VenueRiskOff);
        Assert.True(rig.Engine.Counters.BreachRingFull >= 1);
        long changes = rig.Engine.Counters.StateChanges;
        Assert.True(changes > 2);
        for (int guard = 0; guard < 1_000_000 && (rig.Liquidator.Poll() > 0 || rig.Engine.IsRiskOff); guard++)
        {
            rig.Engine.PollOnce();
        }

        Assert.False(rig.Engine.IsRiskOff);
        Assert.False(rig.Gate.VenueRiskOff);
        Assert.Equal(0, rig.Liquidator.SequenceGaps);
        Assert.Equal(rig.Engine.Counters.BreachesPublished, rig.Breaches.Count);
        Assert.Equal(changes, rig.Liquidator.Read + rig.Liquidator.Coalesced);

        static bool Drain(Rig rig, out long s)
        {
            while (!rig.Feed.TryClaim(1, out s))
            {
                rig.Engine.PollOnce();
            }

            return true;
        }
    }

    [Fact]
    public void BreachReaderAway_UnderFlappingFarLargerThanAnyQueue_NothingLost_LastStatePerAccountIsTheBooks()
    {
        // 200 accounts flapped between rich and broke 150 times each while the liquidator reads
        // nothing: 29,900 state changes (measured) against a 64-slot breach ring (the queue before
        // this design held 2 × accounts + 1,024 and dropped the rest).
        var rig = NewRig(breachCapacity: 64, stressStart: long.MaxValue, stressLength: 0);
        var book = rig.Workload.Book;
        const int Accounts = 200, Flips = 150;
        long seq = 0;
        var random = new Random(5);
        for (int round = 0; round < Flips; round++)
        {
            for (int a = 0; a < Accounts; a++)
            {
                // Rich, broke, or (now and then) in between, so all three states are visited.
                double balance = (round + a) % 2 == 0 ? 1e9 : random.Next(4) == 0 ? book.InitialMargin(a) * 0.9 : -1e9;
                long s;
                while (!rig.Feed.TryClaim(1, out s))
                {
                    rig.Engine.PollOnce();
                }

                var p = rig.Feed.Payload(s);
                FeedMessageDescriptor.WriteHeader(p, FeedMessageType.Collateral, 9, ++seq, StandardWorkload.StartNanos + seq, 0);
                FeedMessageDescriptor.WriteCollateral(p, a, StandardWorkload.UsdAsset, balance);
                rig.Feed.Publish(s);
            }
        }

        while (rig.Engine.PollOnce() > 0)
        {
        }

        var c = rig.Engine.Counters;
        Assert.True(rig.Engine.IsRiskOff);
        Assert.True(c.StateChanges > 20_000, $"{c.StateChanges} state changes"); // far beyond the old queue's 1,424
        Assert.True(c.PendingBreaches <= Accounts);
        Assert.True(c.BreachesCoalesced > 0);

        // The liquidator comes back and reads everything.
        for (int guard = 0; guard < 1_000_000 && (rig.Liquidator.Poll() > 0 || rig.Engine.IsRiskOff); guard++)
        {
            rig.Engine.PollOnce();
        }

        Assert.False(rig.Engine.IsRiskOff);
        Assert.True(rig.Engine.RiskOffNanos > 0);
        Assert.Equal(0, rig.Liquidator.SequenceGaps);
        Assert.Equal(c.BreachesPublished, rig.Liquidator.Read);
        Assert.Equal(c.StateChanges, rig.Liquidator.Read + rig.Liquidator.Coalesced);
        Assert.Equal(c.StateChanges, c.BreachesPublished + c.BreachesCoalesced);
        var last = new MarginState[Accounts];
        var first = new bool[Accounts];
        foreach (var b in rig.Breaches)
        {
            Assert.Equal(last[b.Account], b.From); // a coalesced breach carries the first from-state
            last[b.Account] = b.To;
            first[b.Account] = true;
        }

        for (int a = 0; a < Accounts; a++)
        {
            Assert.True(first[a], $"account {a} never reported");
            Assert.Equal(book.State(a), last[a]);
        }

        Assert.Contains(rig.Breaches, b => b.Replaced > 0);
        Assert.Contains(rig.Breaches, b => b.To == MarginState.MarginCall);
        Assert.Contains(rig.Breaches, b => b.To == MarginState.Liquidation);
    }

    [Fact]
    public void HaltedEngine_KeepsTheVenueRiskOff_WhenTheBreachReaderCatchesUp()
    {
        // The engine is risk-off because the breach reader is away, then its journal fails: when
        // the reader catches up, the breach episode ends but the venue must stay risk-off (before
        // this check, draining the breach ring turned the gate's risk-off back off).
        var rig = NewRig(breachCapacity: 64, stressStart: long.MaxValue, stressLength: 0);
        string dir = Path.Combine(TempFiles.Directory, $"llr-halt-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            const int RecordsPerSegment = 100;
            rig.Engine.Journal = JournalWriter.Open(dir, FeedMessageDescriptor.PayloadSize, JournalWriter.HeaderLength + (RecordsPerSegment * (JournalWriter.RecordHeaderLength + FeedMessageDescriptor.PayloadSize)));
            Directory.CreateDirectory(Path.Combine(dir, "journal-000003.llrj")); // segment 3 cannot be created
            long seq = 0;
            for (int i = 0; i < 3 * RecordsPerSegment && rig.Engine.HaltReason is null; i++)
            {
                long s;
                while (!rig.Feed.TryClaim(1, out s))
                {
                    rig.Engine.PollOnce();
                }

                var p = rig.Feed.Payload(s);
                FeedMessageDescriptor.WriteHeader(p, FeedMessageType.Collateral, 9, ++seq, StandardWorkload.StartNanos + seq, 0);
                FeedMessageDescriptor.WriteCollateral(p, i % 200, StandardWorkload.UsdAsset, i % 400 < 200 ? -1e9 : 1e9);
                rig.Feed.Publish(s);
                rig.Engine.PollOnce();
            }

            Assert.NotNull(rig.Engine.HaltReason);
            Assert.True(rig.Engine.IsRiskOff, "the breach reader was away: breaches wait");
            for (int guard = 0; guard < 100_000 && (rig.Liquidator.Poll() > 0 || rig.Engine.IsRiskOff); guard++)
            {
                rig.Engine.PollOnce();
            }

            Assert.False(rig.Engine.IsRiskOff); // every waiting breach went out, even after the halt
            Assert.Equal(rig.Engine.Counters.StateChanges, rig.Liquidator.Read + rig.Liquidator.Coalesced);
            Assert.True(rig.Gate.VenueRiskOff, "a halted engine keeps the venue risk-off");
            rig.Engine.Journal.Dispose();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void EngineHotPath_DoesNotAllocate()
    {
        // The liquidator only reads: a test that collected the breaches into a growing list measured
        // the list's resizes (448 KiB once in a while), which the strict window rightly catches.
        var rig = NewRig(stressStart: 0, stressLength: 0, collectBreaches: false);
        var state = rig;
        GcAssert.NoAllocation(state, static r =>
        {
            for (int i = 0; i < 64; i++)
            {
                r.Feed.TryClaim(1, out long s);
                r.Simulator.Next(r.Feed.Payload(s), MonotonicClock.Now());
                r.Feed.Publish(s);
            }

            r.Engine.PollOnce();
            r.Liquidator.Poll();
        }, warmUp: 200, iterations: 2_000);
    }

    [Fact]
    public void BreachEmit_DoesNotAllocate_AndEveryBreachIsRead()
    {
        var w = StandardWorkload.Build(WorkloadScale.Small);
        using var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
        using var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1024, ProducerMode.Single));
        var engine = new RiskEngine(w.Book, null, feed.CreateConsumer(0), breaches.CreateSingleProducer());
        var withOrders = new long[1];
        var liquidator = new Liquidator(breaches.CreateConsumer(0), b => withOrders[0] += b.OpenOrderMargin > 0 ? 1 : 0);
        Assert.True(w.Book.InitialMargin(0) > 0);
        // Working orders rest, so each breach also computes the account's open-order margin.
        Assert.True(w.Book.AddWorkingOrder(0, w.Perpetuals[0], 2));
        Assert.True(w.Book.AddWorkingOrder(0, w.Perpetuals[1], -3));
        var state = (engine, liquidator, producer: feed.CreateMultiProducer(), seq: new long[1]);
        // Each collateral message flips account 0 between rich (healthy) and broke (liquidation):
        // one transition, one breach emitted and read, per message.
        GcAssert.NoAllocation(state, static s =>
        {
            long n = ++s.seq[0];
            s.producer.TryClaim(1, out long slot);
            var p = s.producer.Payload(slot);
            FeedMessageDescriptor.WriteHeader(p, FeedMessageType.Collateral, 1, n, StandardWorkload.StartNanos + n, MonotonicClock.Now());
            FeedMessageDescriptor.WriteCollateral(p, 0, StandardWorkload.UsdAsset, (n & 1) == 0 ? 1e9 : 0);
            s.producer.Publish(slot);
            s.engine.PollOnce();
            s.liquidator.Poll();
        }, warmUp: 200, iterations: 2_000);
        Assert.True(liquidator.Read >= 2_000, $"{liquidator.Read} breaches read");
        Assert.Equal(liquidator.Read, withOrders[0]); // every breach carried it (the path measured is the one with orders)
        Assert.Equal(engine.Counters.BreachesPublished, liquidator.Read);
        Assert.Equal(engine.Counters.StateChanges, liquidator.Read + liquidator.Coalesced);
        Assert.Equal(0, liquidator.SequenceGaps);
    }

    /// <summary>
    /// The size add-on recalibrated over the feed: applied and every holder re-margined (equal to the
    /// from-scratch verifier with the new parameters), a bad one refused and counted by reason with
    /// nothing changed, and the engine thread allocating nothing while it handles them.
    /// </summary>
    [Fact]
    public void SizeAddOnMessages_RecalibrateAndRemargin_RefuseBadOnes_AndDoNotAllocate()
    {
        var w = StandardWorkload.Build(WorkloadScale.Small, configure: c => c with
        {
            Components = new PortfolioComponentsConfig { SizeAddOns = [new SizeAddOnConfig { Underlying = 0, BaseRate = 0.01, Bands = [new(100_000, 1), new(1e18, 3)] }] },
        });
        using var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
        using var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 14, ProducerMode.Single));
        var engine = new RiskEngine(w.Book, null, feed.CreateConsumer(0), breaches.CreateSingleProducer());
        var liquidator = new Liquidator(breaches.CreateConsumer(0));
        var producer = feed.CreateMultiProducer();
        long sequence = 0;
        void Send(int underlying, double baseRate, double bandScale)
        {
            Assert.True(producer.TryClaim(1, out long slot));
            var p = producer.Payload(slot);
            FeedMessageDescriptor.WriteHeader(p, FeedMessageType.SizeAddOn, 1, ++sequence, StandardWorkload.StartNanos + sequence, MonotonicClock.Now());
            FeedMessageDescriptor.WriteSizeAddOn(p, underlying, baseRate, bandScale, 0, 0, 0, 0.02, AddOnCombine.Sum);
            producer.Publish(slot);
        }

        void Drain()
        {
            while (engine.PollOnce() > 0 || engine.HasPendingMarks)
            {
                liquidator.Poll();
            }
        }

        int holder = Enumerable.Range(0, w.Scale.Accounts).First(a => Enumerable.Range(0, w.Book.PositionCount(a)).Any(k => w.Book.Instrument(w.Book.PositionInstrumentAt(a, k)).Underlying == 0));
        double before = w.Book.MarginBreakdown(holder, 0).SizeAddOn;
        Send(0, 0.05, 2);
        Drain();
        Assert.Equal((0.05, 2.0, 0.0, 0.0, 0.0, 0.02, AddOnCombine.Sum), w.Book.Components!.AddOnParameters(0));
        Assert.NotEqual(before, w.Book.MarginBreakdown(holder, 0).SizeAddOn);
        for (int a = 0; a < w.Scale.Accounts; a++)
        {
            double expected = RiskBookVerifier.Recompute(w.Book, a).InitialMargin;
            Assert.True(Math.Abs(w.Book.InitialMargin(a) - expected) <= 1e-9 * Math.Max(1, Math.Abs(expected)), $"account {a}: {w.Book.InitialMargin(a)} vs {expected}");
        }

        Send(99, 0.05, 1);          // no such underlying
        Send(0, 0.05, 0);           // band scale 0
        Send(1, 0.05, 1);           // underlying 1 has no add-on configured
        Drain();
        Assert.Equal(1, engine.Counters.Rejects[(int)FeedReject.UnknownId]);
        Assert.Equal(2, engine.Counters.Rejects[(int)FeedReject.InvalidValue]);
        Assert.Equal((0.05, 2.0), (w.Book.Components.AddOnParameters(0).BaseRate, w.Book.Components.AddOnParameters(0).BandScale));

        var state = (engine, liquidator, producer, seq: new long[] { sequence });
        GcAssert.NoAllocation(state, static s =>
        {
            long n = ++s.seq[0];
            s.producer.TryClaim(1, out long slot);
            var p = s.producer.Payload(slot);
            FeedMessageDescriptor.WriteHeader(p, FeedMessageType.SizeAddOn, 1, n, StandardWorkload.StartNanos + n, MonotonicClock.Now());
            FeedMessageDescriptor.WriteSizeAddOn(p, 0, (n & 1) == 0 ? 0.01 : 0.02, 1, 0, 0, 0, 0.02, AddOnCombine.Sum);
            s.producer.Publish(slot);
            s.engine.PollOnce();
            s.liquidator.Poll();
        }, warmUp: 200, iterations: 2_000);
    }
}
