using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Persistence;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>
/// Liquidation that acts, in one process: the engine sizes an order, the liquidator sends it once,
/// the simulated matching engine fills it on the feed, and the ladder moves. The book: one
/// underlying at 30,000, a perpetual (multiplier 1, tick 0.5, lot 0.001) margined on CME's 16
/// scenarios with a 15 % price range (worst loss per unit = 0.15 × index), MM = 0.8 × IM, ladder
/// hysteresis 2 %; USD collateral without haircut.
/// </summary>
public sealed partial class LiquidationOrderTests : IDisposable
{
    private const long T0 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
    private static readonly LiquidationOptions Options = new(new LiquidationPolicy(TargetFraction: 0, PriceBand: 0.01, FeeRate: 0.005), OrderTimeoutNanos: 5_000_000_000);
    private readonly List<IDisposable> _owned = [];
    private readonly List<string> _directories = [];
    private long _sequence;

    public void Dispose()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }

        foreach (var dir in _directories)
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static RiskBook NewBook(int accounts = 2, bool fundingProvision = false)
    {
        var book = new RiskBook(new RiskConfig
        {
            MaxUnderlyings = 1, MaxInstruments = 4, MaxAccounts = accounts, MaxPositionsPerAccount = 4, MaxAssets = 1,
            Grid = ScenarioGrid.CmeSpan16(0.15, 0.25),
            FundingProvision = fundingProvision,
        });
        book.DefineUnderlying(0);
        book.DefineInstrument(0, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 0.5, 0.001));
        book.DefineAsset(0, -1, 1.0, [new HaircutTier(1e15, 0)]);
        Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 30_000, T0));
        book.Revalue();
        return book;
    }

    private sealed record Rig(RiskBook Book, RiskEngine Engine, MultiProducer Feed, Liquidator Liquidator, LiquidationMatcher Matcher,
        SharedRing Breaches, SharedRing Orders, LiquidatorLedger Ledger, List<LiquidationOrderRecord> Sent)
    {
        /// <summary>Runs engine, liquidator and matcher until nothing moves.</summary>
        public void Settle()
        {
            for (int quiet = 0; quiet < 3;)
            {
                int work = Engine.PollOnce() + Liquidator.Poll() + Matcher.DoWork();
                quiet = work == 0 ? quiet + 1 : 0;
            }
        }
    }

    private Rig NewRig(RiskBook? book = null, LiquidationOptions? options = null, Core.Gate.PreTradeGate? gate = null)
    {
        book ??= NewBook();
        var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
        var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1024, ProducerMode.Single));
        var orders = SharedRing.CreateInProcess(new RingOptions(LiquidationOrderDescriptor.SlotSize, 256, ProducerMode.Single));
        var ledger = LiquidatorLedger.InMemory(16);
        _owned.AddRange([feed, breaches, orders, ledger]);
        var sent = new List<LiquidationOrderRecord>();
        var engine = new RiskEngine(book, gate, feed.CreateConsumer(0), breaches.CreateSingleProducer(), liquidation: options ?? Options);
        var liquidator = new Liquidator(breaches.CreateConsumer(0), orders: orders.CreateSingleProducer(), ledger: ledger, onOrder: sent.Add);
        var matcher = new LiquidationMatcher(orders.CreateConsumer(0), feed.CreateMultiProducer(), producerId: 2);
        return new Rig(book, engine, feed.CreateMultiProducer(), liquidator, matcher, breaches, orders, ledger, sent);
    }

    private void Publish(Rig rig, FeedMessageType type, Action<Span<byte>> body)
    {
        Assert.True(rig.Feed.TryClaim(1, out long s));
        var p = rig.Feed.Payload(s);
        long n = ++_sequence;
        FeedMessageDescriptor.WriteHeader(p, type, 1, n, T0 + (n * 1_000_000), MonotonicClock.Now());
        body(p);
        rig.Feed.Publish(s);
    }

    /// <summary>Long 2 perps from 30,000 on <paramref name="collateral"/>, then the index to <paramref name="index"/>; engine and liquidator polled (the matcher not).</summary>
    private void IntoLiquidation(Rig rig, double collateral, double index)
    {
        Publish(rig, FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, 0, 0, collateral));
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, 2, 30_000, 1));
        Publish(rig, FeedMessageType.IndexPrice, p => FeedMessageDescriptor.WriteIndexPrice(p, 0, index));
        Poll(rig);
    }

    private static void Poll(Rig rig)
    {
        for (int i = 0; i < 4; i++)
        {
            rig.Engine.PollOnce();
            rig.Liquidator.Poll();
        }
    }

    [Fact]
    public void APriceDrop_LiquidationOrderOfTheHandComputedSize_FilledOnTheFeed_TakesTheAccountOutOfLiquidation()
    {
        var rig = NewRig();
        Publish(rig, FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, 0, 0, 8_000));
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, 2, 30_000, 1));
        rig.Settle();
        Assert.Equal(MarginState.MarginCall, rig.Book.State(0)); // equity 8,000 < IM 9,000, ≥ MM 7,200
        Assert.Empty(rig.Sent);

        // Index 29,500: equity 8,000 − 2 × 500 = 7,000; IM = 2 × 29,500 × 0.15 = 8,850, MM = 7,080:
        // liquidation. Sizing (band 1 %, fee 0.5 %, back to MM × 1.02): limit 29,500 × 0.99 = 29,205;
        // selling x costs 295 x (band) + 0.005 × 29,205 x = 146.025 x (fee); target 3,610.8 (2 − x).
        // gap = 7,000 − 441.025 x − 7,221.6 + 3,610.8 x = −221.6 + 3,169.775 x ≥ 0 ⇔ x ≥ 0.06991 → 0.070.
        Publish(rig, FeedMessageType.IndexPrice, p => FeedMessageDescriptor.WriteIndexPrice(p, 0, 29_500));
        rig.Settle();
        var order = Assert.Single(rig.Sent);
        Assert.True(order.Sent);
        Assert.Equal(0, order.Account);
        Assert.Equal(-0.070, order.SignedQuantity, 9);
        Assert.Equal(29_205, order.LimitPrice);
        Assert.Equal(0.005 * 0.070 * 29_205, order.Fee, 9);
        Assert.Equal(1, rig.Matcher.Filled);

        // Filled at 29,205: 1.93 left; equity 7,000 − 0.07 × 295 − the fee 0.005 × 0.07 × 29,205 =
        // 10.22175 (moved to the insurance fund) = 6,969.12825 ≥ MM × 1.02 = 0.8 × 1.93 × 4,425 × 1.02
        // = 6,968.84: out of liquidation, into margin call (< IM 8,540.25) — the sizing counted the fee.
        Assert.Equal(1.93, rig.Book.PositionQuantity(0, 0), 9);
        Assert.Equal(6_969.12825, rig.Book.Equity(0), 6);
        Assert.Equal(10.22175, rig.Engine.Breaches.InsuranceFund, 9);
        Assert.Equal(10.22175, rig.Engine.Counters.LiquidationFees, 9);
        Assert.Equal(MarginState.MarginCall, rig.Book.State(0));
        var c = rig.Engine.Counters;
        Assert.Equal((1, 1, 1, 0, 0), (c.LiquidationOrdersPlanned, c.LiquidationOrdersPublished, c.LiquidationOrdersFilled, c.LiquidationOrdersEnded, c.LiquidationUnplannable));
        Assert.False(rig.Engine.Breaches.TryGetLiquidationOrder(0, out _, out _, out _));
    }

    [Fact]
    public void APartFilledOrder_StaysOutstanding_NothingNewIsSized_UntilItIsCovered()
    {
        // Collateral 8,000, long 2 from 30,000 (margin call); index 27,500: equity 8,000 − 5,000 =
        // 3,000, IM 8,250, MM 6,600. Limit 27,500 × 0.99 = 27,225; per unit sold 275 (band) +
        // 136.125 (fee); target 1.02 × 0.8 × 4,125 (2 − x) = 6,732 − 3,366 x.
        // gap = 3,000 − 411.125 x − 6,732 + 3,366 x = −3,732 + 2,954.875 x ≥ 0 ⇔ x ≥ 1.262998 → 1.263
        // (gap +0.007; 1.262 gives −2.95).
        var rig = NewRig();
        Publish(rig, FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, 0, 0, 8_000));
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, 2, 30_000, 1));
        rig.Settle();
        Publish(rig, FeedMessageType.IndexPrice, p => FeedMessageDescriptor.WriteIndexPrice(p, 0, 27_500));
        Poll(rig); // sent; the matching engine is played by hand below

        var first = Assert.Single(rig.Sent);
        Assert.Equal(MarginState.Liquidation, rig.Book.State(0));
        Assert.Equal(-1.263, first.SignedQuantity, 9);
        Assert.Equal(27_225, first.LimitPrice);
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, -0.631, first.LimitPrice, 2, FillMessage.Liquidation)); // the order's fill
        rig.Engine.PollOnce();
        rig.Liquidator.Poll();
        Assert.True(rig.Engine.Breaches.TryGetLiquidationOrder(0, out long id, out _, out double remaining));
        Assert.Equal(first.PlanId, id);
        Assert.Equal(-0.632, remaining, 9); // still outstanding, and nothing new sized meanwhile
        Assert.Single(rig.Sent);
        Assert.Equal(MarginState.Liquidation, rig.Book.State(0));

        // A fill of another direction does not count against it.
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, 0.001, 27_500, 3));
        rig.Engine.PollOnce();
        Assert.True(rig.Engine.Breaches.TryGetLiquidationOrder(0, out _, out _, out remaining));
        Assert.Equal(-0.632, remaining, 9);

        // The rest fills: covered, and the account leaves liquidation (gap +0.007 by the sizing, less
        // the 0.001 bought back: 0.001 × 3,366 of target more, 0.001 × 411 of cost less — still ≥ 0? No:
        // −3.4 + 0.4; so the engine sizes one more lot). What the test pins: the covered order ends.
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, -0.632, first.LimitPrice, 4)); // the account's own trade: covers the rest, no fee
        rig.Engine.PollOnce();
        rig.Liquidator.Poll();
        Assert.False(rig.Engine.Breaches.TryGetLiquidationOrder(0, out _, out _, out _));
        Assert.Equal(1, rig.Engine.Counters.LiquidationOrdersFilled);
        // 2,652.675 before fees; the fee on the order's own fill of 0.631 at 27,225 (0.005 × 0.631 ×
        // 27,225 = 85.894875) went to the insurance fund; the account's own trade of 0.632 paid none.
        Assert.Equal(2_652.675 - 85.894875, rig.Book.Equity(0), 6);
        Assert.Equal(85.894875, rig.Engine.Breaches.InsuranceFund, 6);
        Assert.Equal(MarginState.MarginCall, rig.Book.State(0));
        Assert.Single(rig.Sent);
    }

    [Fact]
    public void AnOrderTooSmallToRestore_IsFollowedByTheNext_AfterItFills()
    {
        // A fill worse than the limit (the matching engine could not get the limit) leaves the
        // account short after the first order: the engine sizes a second one from the account as it
        // then stands, and the liquidator sends it (a new id).
        var rig = NewRig();
        IntoLiquidation(rig, 8_000, 29_500);

        var first = Assert.Single(rig.Sent);
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, first.SignedQuantity, 20_000, 2)); // filled 9,500 below the mark
        Poll(rig);
        Assert.Equal(2, rig.Sent.Count);
        Assert.True(rig.Sent[1].PlanId > first.PlanId);
        Assert.True(rig.Sent[1].SignedQuantity < 0);
        rig.Settle(); // the matcher fills the second at its limit
        Assert.NotEqual(MarginState.Liquidation, rig.Book.State(0));
        Assert.Equal(2, rig.Engine.Counters.LiquidationOrdersFilled);
    }

    [Fact]
    public void AnUnfilledOrder_TimesOutOnBusinessTime_AndIsResized()
    {
        var rig = NewRig();
        Publish(rig, FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, 0, 0, 8_000));
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, 2, 30_000, 1));
        rig.Settle();
        Publish(rig, FeedMessageType.IndexPrice, p => FeedMessageDescriptor.WriteIndexPrice(p, 0, 29_500));
        Poll(rig); // the matcher never runs: the order is not filled

        var first = Assert.Single(rig.Sent);
        // 4.9 s of business time later: not yet; at 5 s: ended and sized again (a new id).
        _sequence += 4_899;
        Publish(rig, FeedMessageType.Heartbeat, _ => { });
        Publish(rig, FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, 0, 0, 8_000)); // a ladder-moving message drains
        rig.Engine.PollOnce();
        rig.Liquidator.Poll();
        Assert.Single(rig.Sent);
        _sequence += 200;
        Publish(rig, FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, 0, 0, 8_000));
        rig.Engine.PollOnce();
        rig.Liquidator.Poll();
        Assert.Equal(2, rig.Sent.Count);
        Assert.True(rig.Sent[1].PlanId > first.PlanId);
        Assert.Equal(1, rig.Engine.Counters.LiquidationOrdersEnded);
    }

    [Fact]
    public void AnAccountNothingCanHelp_IsTriedAgainAfterTheTimeout_NotForgotten()
    {
        // Collateral 10,000; long 1 from 30,000 (healthy: IM 4,500), sold at 19,000: flat, realized
        // −11,000, equity −1,000 < MM 0: liquidation with nothing to close — bankrupt, with an empty
        // insurance fund and nothing left to deleverage (counted). Then it buys
        // 1 at 29,000 (mark 30,000: equity 0 < MM 3,600): still in liquidation, no transition — only
        // the retry can size it.
        var rig = NewRig();
        Publish(rig, FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, 0, 0, 10_000));
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, 1, 30_000, 1));
        Poll(rig);
        Assert.Equal(MarginState.Healthy, rig.Book.State(0));
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, -1, 19_000, 2));
        Poll(rig);
        Assert.Equal(MarginState.Liquidation, rig.Book.State(0));
        Assert.Equal(1, rig.Engine.Counters.UncoveredDeficits);
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, 1, 29_000, 3));
        Poll(rig);
        Assert.Equal(0, rig.Book.Equity(0), 9);
        Assert.Empty(rig.Sent); // negative control: before the timeout nothing is tried

        _sequence += 5_000; // 5 s of business time later, any message that drains
        Publish(rig, FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, 0, 0, 0));
        Poll(rig);
        var order = Assert.Single(rig.Sent);
        Assert.Equal(-1, order.SignedQuantity, 9); // closing all of it is not enough (equity 0 − costs < 0): closed in full
        Assert.Equal(29_700, order.LimitPrice);
        // Bankrupt both times with an empty fund: flat the first (nothing to do), and at the retry
        // nobody holds the other side to deleverage, so it is liquidated in the market, its loss uncovered.
        Assert.Equal((2L, 1L), (rig.Engine.Counters.UncoveredDeficits, rig.Engine.Counters.LiquidationOrdersPlanned));
    }

    [Fact]
    public void OrdersThatAreNotTheEnginesOwn_AreRefusedAndCounted_NeverForwarded()
    {
        using var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 64, ProducerMode.Single));
        using var orders = SharedRing.CreateInProcess(new RingOptions(LiquidationOrderDescriptor.SlotSize, 64, ProducerMode.Single));
        using var ledger = LiquidatorLedger.InMemory(16);
        var producer = breaches.CreateSingleProducer();
        void Put(Change change)
        {
            Assert.True(producer.TryClaim(1, out long s));
            var m = new LiquidationOrderMessage
            {
                Type = LiquidationOrderDescriptor.MessageType, Version = LiquidationOrderDescriptor.Version, Side = Core.Gate.OrderSide.Sell,
                Account = 1, PlanId = 1, Instrument = 0, Quantity = 1, LimitPrice = 100,
            };
            change(ref m);
            WireMessage.As<LiquidationOrderMessage>(producer.Payload(s)) = m;
            producer.Publish(s);
        }

        Put((ref LiquidationOrderMessage m) => m.Account = 16);                       // outside the ledger
        Put((ref LiquidationOrderMessage m) => m.Account = -1);
        Put((ref LiquidationOrderMessage m) => m.PlanId = 0);
        Put((ref LiquidationOrderMessage m) => m.Side = 0);
        Put((ref LiquidationOrderMessage m) => m.Quantity = double.NaN);
        Put((ref LiquidationOrderMessage m) => m.Quantity = -1);
        Put((ref LiquidationOrderMessage m) => m.Quantity = double.PositiveInfinity);
        Put((ref LiquidationOrderMessage m) => m.LimitPrice = 0);
        Put((ref LiquidationOrderMessage m) => m.LimitPrice = double.NaN);
        Put((ref LiquidationOrderMessage _) => { });                                  // the valid template: sent
        var liquidator = new Liquidator(breaches.CreateConsumer(0), orders: orders.CreateSingleProducer(), ledger: ledger);
        liquidator.Poll();
        Assert.Equal((10, 9, 1), (liquidator.OrdersRead, liquidator.OrdersRefused, liquidator.OrdersSent));
        Assert.Equal(1, orders.ReadClaimSequence());
        Assert.Equal(1, ledger.LastSent(1));
    }

    [Fact]
    public void AnOrderIsTimedFromItsFill_OnlyWhenItsCauseIsTheFillOfItsAccountsLastTradeBreach()
    {
        using var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 64, ProducerMode.Single));
        using var orders = SharedRing.CreateInProcess(new RingOptions(LiquidationOrderDescriptor.SlotSize, 64, ProducerMode.Single));
        using var ledger = LiquidatorLedger.InMemory(16);
        var producer = breaches.CreateSingleProducer();
        long sequence = 0;
        long fill = MonotonicClock.Now() - 1_000;
        void Breach(int account, BreachCause cause, long source)
        {
            Assert.True(producer.TryClaim(1, out long s));
            WireMessage.As<BreachMessage>(producer.Payload(s)) = new BreachMessage
            {
                Type = BreachMessageDescriptor.MessageType, Version = BreachMessageDescriptor.Version, Account = account, BreachSequence = ++sequence,
                FromState = MarginState.Healthy, ToState = MarginState.Liquidation, Cause = cause, SourcePublishTicks = source,
            };
            producer.Publish(s);
        }

        void Order(int account, long plan, long source)
        {
            Assert.True(producer.TryClaim(1, out long s));
            WireMessage.As<LiquidationOrderMessage>(producer.Payload(s)) = new LiquidationOrderMessage
            {
                Type = LiquidationOrderDescriptor.MessageType, Version = LiquidationOrderDescriptor.Version, Side = Core.Gate.OrderSide.Sell,
                Account = account, PlanId = plan, Instrument = 0, Quantity = 1, LimitPrice = 100, SourcePublishTicks = source,
            };
            producer.Publish(s);
        }

        Breach(1, BreachCause.Trade, fill);
        Order(1, 1, fill);                    // the fill's order: timed from the fill
        Breach(2, BreachCause.Revaluation, fill + 10);
        Order(2, 1, fill + 10);               // a mark's order: not a fill's
        Order(3, 1, fill);                    // another account with the same ticks: not its fill
        var liquidator = new Liquidator(breaches.CreateConsumer(0), orders: orders.CreateSingleProducer(), ledger: ledger);
        liquidator.Poll();
        Assert.Equal(3, liquidator.OrdersSent);
        Assert.Equal(3, liquidator.OrderLatency.TotalCount);
        Assert.Equal(1, liquidator.TradeOrderLatency.TotalCount);
        Assert.True(liquidator.TradeOrderLatency.Max >= 1_000 / 2, "timed from the fill's publish, not from the breach");
    }

    /// <summary>
    /// A crash with orders out, recovered from the journal alone: the orders come back from the
    /// engine's own journal records with their ids (order 1 filled, order 2 outstanding with its
    /// quantity), so the re-announcement is recognised as sent and nothing is sent twice. Negative
    /// control: with the records switched off the recovered engine re-decides on its own ladder and
    /// announces an order under an id the liquidator has already used for another one.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AJournalReplay_RestoresTheOrdersWithTheirIds_FromTheEnginesOwnRecords(bool records)
    {
        string dir = Path.Combine(TempFiles.Directory, $"llr-liq-journal-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        _directories.Add(dir);
        var rig = NewRig();
        if (!records)
        {
            rig.Engine.Breaches.Records = null;
        }

        var journal = JournalWriter.Open(dir, FeedMessageDescriptor.PayloadSize, 1 << 20);
        rig.Engine.Journal = journal;
        IntoLiquidation(rig, 8_000, 29_500);
        var first = Assert.Single(rig.Sent);
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, first.SignedQuantity, 20_000, 2)); // filled far below: not enough
        Poll(rig);
        Assert.Equal(2, rig.Sent.Count);
        var second = rig.Sent[1];
        Assert.True(rig.Engine.Breaches.TryGetLiquidationOrder(0, out long outstanding, out _, out double remaining));
        Assert.Equal(second.PlanId, outstanding);
        journal.Dispose(); // the crash: no snapshot, the journal is all that is left

        using var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1024, ProducerMode.Single));
        var recovered = new RiskEngine(NewBook(), null, null, breaches.CreateSingleProducer(), liquidation: Options);
        JournalReader.Scan(dir, FeedMessageDescriptor.PayloadSize, (_, payload) => recovered.Replay(payload));
        recovered.FinishReplay();
        var reread = new List<LiquidationOrderRecord>();
        var liquidator = new Liquidator(breaches.CreateConsumer(0), orders: rig.Orders.CreateSingleProducer(), ledger: rig.Ledger, onOrder: reread.Add);
        liquidator.Poll();
        Assert.True(recovered.Breaches.TryGetLiquidationOrder(0, out long id, out _, out double left));
        if (records)
        {
            Assert.Equal(second.PlanId, id);
            Assert.Equal(remaining, left, 12);
            var announced = Assert.Single(reread);
            Assert.True(announced.Reannounced);
            Assert.False(announced.Sent); // already sent before the crash
            Assert.Equal(0, recovered.Counters.RefusedRecords);
        }
        else
        {
            Assert.NotEqual(second.PlanId, id); // re-decided: an id already spent on another order
        }

        Assert.Equal(2, rig.Orders.ReadClaimSequence()); // either way the ledger holds the line at the ring
    }

    [Fact]
    public void AFeedMessageForgingAnEngineRecord_IsRefusedLive_AndAgainInTheReplay()
    {
        string dir = Path.Combine(TempFiles.Directory, $"llr-liq-forged-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        _directories.Add(dir);
        var rig = NewRig();
        var journal = JournalWriter.Open(dir, FeedMessageDescriptor.PayloadSize, 1 << 20);
        rig.Engine.Journal = journal;
        Assert.True(rig.Feed.TryClaim(1, out long s));
        var forged = rig.Feed.Payload(s);
        forged.Clear();
        forged[0] = EngineRecords.LiquidationPlanned;
        forged[1] = EngineRecords.Version;
        BitConverter.TryWriteBytes(forged[8..], 7L);   // plan id
        BitConverter.TryWriteBytes(forged[24..], -1.0); // quantity
        BitConverter.TryWriteBytes(forged[32..], 100.0); // limit
        rig.Feed.Publish(s);
        rig.Engine.PollOnce();
        Assert.Equal(1, rig.Engine.Counters.Rejects[(int)FeedReject.UnknownType]);
        journal.Dispose();

        var recovered = new RiskEngine(NewBook(), null, null, null, liquidation: Options);
        JournalReader.Scan(dir, FeedMessageDescriptor.PayloadSize, (_, payload) => recovered.Replay(payload));
        Assert.False(recovered.Breaches.TryGetLiquidationOrder(0, out _, out _, out _));
        Assert.Equal(1, recovered.Counters.Rejects[(int)FeedReject.UnknownType]); // journaled neutralized: refused again, not restored
    }

    [Fact]
    public void ARestartedLiquidator_ThatReadsTheSameOrdersAgain_SendsNone_OnlyWhenItReconcilesWithItsRing()
    {
        var rig = NewRig();
        IntoLiquidation(rig, 8_000, 29_500);

        var sent = Assert.Single(rig.Sent);
        long ordersOnRing = rig.Orders.ReadClaimSequence();
        Assert.Equal(1, ordersOnRing);

        // The breach ring's messages as a restarted liquidator would read them again (its consumer
        // had not recorded its position): copied onto a fresh ring.
        using var again = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1024, ProducerMode.Single));
        CopyRing(rig.Breaches, again);

        // The crash came after the publish and before the ledger's record: the successor's ledger
        // is empty. Reconciling with its order ring finds the order; nothing is sent twice.
        using var ledger = LiquidatorLedger.InMemory(16);
        Assert.Equal(1, ledger.Reconcile(rig.Orders));
        Assert.Equal(sent.PlanId, ledger.LastSent(0));
        var successor = new Liquidator(again.CreateConsumer(0), orders: rig.Orders.CreateSingleProducer(), ledger: ledger);
        successor.Poll();
        Assert.Equal((1, 0, 1), (successor.OrdersRead, successor.OrdersSent, successor.OrdersAlreadySent));
        Assert.Equal(ordersOnRing, rig.Orders.ReadClaimSequence());

        // Negative control: without the reconcile the same successor sends it again.
        using var again2 = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1024, ProducerMode.Single));
        CopyRing(rig.Breaches, again2);

        using var empty = LiquidatorLedger.InMemory(16);
        var forgetful = new Liquidator(again2.CreateConsumer(0), orders: rig.Orders.CreateSingleProducer(), ledger: empty);
        forgetful.Poll();
        Assert.Equal(1, forgetful.OrdersSent);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void TheLedgerFile_SurvivesItsProcess_AndRefusesAFileOfAnotherShape()
    {
        using var files = new TempFiles();
        string path = files.NewPath("llr-ledger");
        using (var ledger = LiquidatorLedger.Open(path, 64))
        {
            Assert.Equal(0, ledger.LastSent(5));
            ledger.Record(5, 42);
            ledger.Record(5, 41); // ids only rise
            Assert.Equal(-1, ledger.LastSent(64));
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using (var reopened = LiquidatorLedger.Open(path, 64))
        {
            Assert.Equal(42, reopened.LastSent(5));
        }

        var wrongSize = Assert.Throws<InvalidDataException>(() => LiquidatorLedger.Open(path, 128));
        Assert.Contains("not this configuration's ledger", wrongSize.Message, StringComparison.Ordinal);
        string garbage = files.NewPath("llr-not-a-ledger");
        File.WriteAllBytes(garbage, new byte[64 + (8 * 64)]);
        var notALedger = Assert.Throws<InvalidDataException>(() => LiquidatorLedger.Open(garbage, 64));
        Assert.Contains("not a liquidator ledger", notALedger.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AfterARestore_TheOutstandingOrderIsReannouncedWithItsId_AndTheLiquidatorDoesNotResendIt()
    {
        var rig = NewRig();
        IntoLiquidation(rig, 8_000, 29_500); // sent, never filled

        var sent = Assert.Single(rig.Sent);
        var buffer = new byte[1 << 20];
        var capture = new StateCapture(buffer);
        rig.Engine.VisitState(capture);

        // A new engine restored from that state, announcing its ladder to the same liquidator.
        var book = NewBook();
        using var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1024, ProducerMode.Single));
        var restored = new RiskEngine(book, null, null, breaches.CreateSingleProducer(), liquidation: Options);
        restored.VisitState(new StateRestore(buffer.AsMemory(0, capture.Position)));
        Assert.True(restored.Breaches.TryGetLiquidationOrder(0, out long id, out _, out _));
        Assert.Equal(sent.PlanId, id);
        Assert.Equal(1, restored.FinishReplay());
        var records = new List<LiquidationOrderRecord>();
        var reader = new Liquidator(breaches.CreateConsumer(0), orders: rig.Orders.CreateSingleProducer(), ledger: rig.Ledger, onOrder: records.Add);
        reader.Poll();
        var again = Assert.Single(records);
        Assert.True(again.Reannounced);
        Assert.Equal(sent.PlanId, again.PlanId);
        Assert.False(again.Sent);
        Assert.Equal(1, rig.Orders.ReadClaimSequence()); // still the one order
    }

    [Fact]
    public void SizingPublishingSendingAndFilling_DoNotAllocate()
    {
        // Each round: collateral drops (liquidation: an order sized, published, sent, filled on the
        // feed, covered), then collateral restored and the sold quantity bought back.
        var rig = NewRig();
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 0, 0, 2, 30_000, 1));
        rig.Settle();
        var state = (rig, seq: new long[] { 1_000 });
        GcAssert.NoAllocation(state, static s =>
        {
            var r = s.rig;
            r.Sent.Clear(); // the test's record of sent orders must not grow inside the measured window
            Send(r, s.seq, FeedMessageType.Collateral, 0, 6_000 - r.Book.RealizedPnl(0) - r.Book.SettledCash(0)); // the same equity each round, whatever the fees and bands took
            r.Engine.PollOnce();
            r.Liquidator.Poll();
            r.Matcher.DoWork();
            r.Engine.PollOnce();
            double sold = 2 - r.Book.PositionQuantity(0, 0);
            Send(r, s.seq, FeedMessageType.Collateral, 0, 1e9);
            Send(r, s.seq, FeedMessageType.Fill, sold, 30_000);
            r.Engine.PollOnce();
            r.Liquidator.Poll();
        }, warmUp: 200, iterations: 2_000);
        Assert.True(rig.Engine.Counters.LiquidationOrdersFilled >= 2_000, $"{rig.Engine.Counters.LiquidationOrdersFilled} orders filled");
        rig.Settle();
        // Every order the matcher filled was covered by its fill, or had ended just before (the
        // account's state can move between the send and the fill when a revaluation step lands there).
        var k = rig.Engine.Counters;
        Assert.True(k.LiquidationOrdersFilled <= rig.Matcher.Filled && rig.Matcher.Filled <= k.LiquidationOrdersFilled + k.LiquidationOrdersEnded,
            $"covered {k.LiquidationOrdersFilled}, ended {k.LiquidationOrdersEnded}, matched {rig.Matcher.Filled}");
        Assert.Equal(rig.Liquidator.OrdersSent, rig.Matcher.Filled);
    }

    private delegate void Change(ref LiquidationOrderMessage m);

    private static void CopyRing(SharedRing from, SharedRing to)
    {
        var copy = to.CreateSingleProducer();
        for (long s = 0; s < from.ReadClaimSequence(); s++)
        {
            Assert.True(copy.TryClaim(1, out long slot));
            from.PublishedPayload(s).CopyTo(copy.Payload(slot));
            copy.Publish(slot);
        }
    }

    private static void Send(Rig r, long[] seq, FeedMessageType type, double a, double b)
    {
        Assert.True(r.Feed.TryClaim(1, out long s));
        var p = r.Feed.Payload(s);
        long n = ++seq[0];
        FeedMessageDescriptor.WriteHeader(p, type, 3, n, T0 + n, MonotonicClock.Now());
        if (type == FeedMessageType.Collateral)
        {
            FeedMessageDescriptor.WriteCollateral(p, 0, 0, b);
        }
        else
        {
            FeedMessageDescriptor.WriteFill(p, 0, 0, a, b, n);
        }

        r.Feed.Publish(s);
    }
}
