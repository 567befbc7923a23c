using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>
/// Market-maker protection and kill switches in the engine, one process: a maker fill that trips a
/// protection sends a mass cancel on the downstream ring within its own handling, the liquidator
/// forwards it to the matching engine's ring, and the gate refuses the account's protected quotes
/// until the freeze ends; a kill switch turned on cancels the resting orders of its scope the same way.
/// Same book as <see cref="LiquidationOrderTests"/> (a perpetual: delta 1 per contract, no vega).
/// </summary>
public sealed partial class LiquidationOrderTests
{
    private static readonly MmpSettings Protection = new(IntervalNanos: 5_000_000_000, FrozenNanos: 100_000_000, QuantityLimit: 10, DeltaLimit: 100, VegaLimit: double.PositiveInfinity);

    private (Rig Rig, PreTradeGate Gate) ProtectedRig()
    {
        var book = NewBook(accounts: 4);
        var gate = new PreTradeGate(book, new GateConfig());
        var rig = NewRig(book, gate: gate);
        Publish(rig, FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, 1, 0, 1e6));
        Publish(rig, FeedMessageType.MmpConfig, p => FeedMessageDescriptor.WriteMmpConfig(p, 1, 0, MmpAction.Set, Protection));
        rig.Settle();
        return (rig, gate);
    }

    private void MakerFill(Rig rig, int account, double quantity, bool maker = true) =>
        Publish(rig, FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, account, 0, quantity, 30_000, 500 + _sequence, maker ? FillMessage.Maker : (byte)0));

    private static MassCancelMessage LastOnOrderRing(Rig rig)
    {
        var payload = rig.Orders.PublishedPayload(rig.Orders.ReadClaimSequence() - 1);
        Assert.False(payload.IsEmpty);
        Assert.Equal(MassCancelDescriptor.MessageType, payload[0]);
        return WireMessage.Read<MassCancelMessage>(payload);
    }

    [Fact]
    public void AMakerFillThatTripsTheProtection_SendsAMassCancelInItsOwnHandling_AndFreezesProtectedQuotes()
    {
        var (rig, gate) = ProtectedRig();
        MakerFill(rig, 1, 6);
        MakerFill(rig, 1, -4);              // gross 10: at the limit
        MakerFill(rig, 1, 50, maker: false); // a taker fill: not the protection's business
        rig.Engine.PollOnce();
        Assert.Equal(0, rig.Engine.Counters.MmpTrips);
        Assert.Equal(0, rig.Engine.Counters.MassCancelsPublished);

        MakerFill(rig, 1, 0.5);             // 10.5: trips on this fill
        long breachesBefore = rig.Breaches.ReadClaimSequence();
        Assert.Equal(1, rig.Engine.PollOnce());
        Assert.Equal(breachesBefore + 1, rig.Breaches.ReadClaimSequence()); // published before the poll returned
        Assert.Equal((1L, 1L), (rig.Engine.Counters.MmpTrips, rig.Engine.Counters.MassCancelsPublished));

        rig.Liquidator.Poll();               // forwarded to the matching engine's ring
        var cancel = LastOnOrderRing(rig);
        Assert.Equal((MassCancelReason.MarketMakerProtection, KillSwitchScope.Account, 1, 0), (cancel.Reason, cancel.Scope, cancel.Account, cancel.Underlying));
        long tripTime = T0 + (_sequence * 1_000_000);
        Assert.Equal(tripTime + 100_000_000, cancel.FrozenUntilNanos);
        Assert.Equal(1, rig.Liquidator.MassCancelsSent);
        rig.Matcher.DoWork();
        Assert.Equal(1, rig.Matcher.MassCancels);

        var quote = new OrderRequest(1, 0, OrderSide.Buy, 1, 30_000, OrderType.Limit, 77, MmpProtected: true);
        Assert.Equal(RejectReason.MmpFrozen, gate.Check(quote, tripTime + 1).Reason);
        Assert.True(gate.Check(quote with { MmpProtected = false, ClientOrderId = 78 }, tripTime + 1).Accepted);
        Assert.True(gate.Check(quote with { ClientOrderId = 79 }, tripTime + 100_000_000).Accepted);
    }

    [Fact]
    public void AKillSwitchTurnedOn_CancelsTheRestingOrdersOfItsScope()
    {
        var (rig, _) = ProtectedRig();
        Publish(rig, FeedMessageType.KillSwitch, p => FeedMessageDescriptor.WriteKillSwitch(p, KillSwitchScope.Account, 2, true));
        rig.Engine.PollOnce();
        rig.Liquidator.Poll();
        var cancel = LastOnOrderRing(rig);
        Assert.Equal((MassCancelReason.KillSwitch, KillSwitchScope.Account, 2, -1, 0L), (cancel.Reason, cancel.Scope, cancel.Account, cancel.Underlying, cancel.FrozenUntilNanos));

        Publish(rig, FeedMessageType.KillSwitch, p => FeedMessageDescriptor.WriteKillSwitch(p, KillSwitchScope.Underlying, 0, true));
        rig.Engine.PollOnce();
        rig.Liquidator.Poll();
        cancel = LastOnOrderRing(rig);
        Assert.Equal((KillSwitchScope.Underlying, -1, 0), (cancel.Scope, cancel.Account, cancel.Underlying));

        Publish(rig, FeedMessageType.KillSwitch, p => FeedMessageDescriptor.WriteKillSwitch(p, KillSwitchScope.Venue, 0, true));
        Publish(rig, FeedMessageType.KillSwitch, p => FeedMessageDescriptor.WriteKillSwitch(p, KillSwitchScope.Venue, 0, false)); // off: nothing to cancel
        Publish(rig, FeedMessageType.KillSwitch, p => FeedMessageDescriptor.WriteKillSwitch(p, KillSwitchScope.Account, 9, true)); // no such account: refused
        rig.Engine.PollOnce();
        rig.Liquidator.Poll();
        cancel = LastOnOrderRing(rig);
        Assert.Equal((KillSwitchScope.Venue, -1, -1), (cancel.Scope, cancel.Account, cancel.Underlying));
        Assert.Equal(3, rig.Engine.Counters.MassCancelsPublished);
        Assert.Equal(3, rig.Liquidator.MassCancelsSent);
        Assert.Equal(1, rig.Engine.Counters.Rejects[(int)FeedReject.UnknownId]);
    }

    [Fact]
    public void BadProtectionMessages_AreRefusedWithAReason_AndChangeNothing()
    {
        var (rig, gate) = ProtectedRig();
        Publish(rig, FeedMessageType.MmpConfig, p => FeedMessageDescriptor.WriteMmpConfig(p, 9, 0, MmpAction.Set, Protection));   // no such account
        Publish(rig, FeedMessageType.MmpConfig, p => FeedMessageDescriptor.WriteMmpConfig(p, 1, 5, MmpAction.Set, Protection));   // no such underlying
        Publish(rig, FeedMessageType.MmpConfig, p => FeedMessageDescriptor.WriteMmpConfig(p, 1, 0, MmpAction.Set, Protection with { QuantityLimit = double.NaN }));
        Publish(rig, FeedMessageType.MmpConfig, p => FeedMessageDescriptor.WriteMmpConfig(p, 1, 0, MmpAction.Set, Protection with { IntervalNanos = -1 }));
        Publish(rig, FeedMessageType.MmpConfig, p => FeedMessageDescriptor.WriteMmpConfig(p, 1, 0, (MmpAction)9, Protection));
        Publish(rig, FeedMessageType.MmpConfig, p => FeedMessageDescriptor.WriteMmpConfig(p, 2, 0, MmpAction.Reset, Protection)); // nothing to reset
        rig.Engine.PollOnce();
        var r = rig.Engine.Counters.Rejects;
        Assert.Equal((3L, 3L), (r[(int)FeedReject.UnknownId], r[(int)FeedReject.InvalidValue]));
        Assert.True(gate.Mmp.TryGetSettings(1, 0, out var kept, out bool on));
        Assert.Equal((Protection, true), (kept, on));
    }

    [Fact]
    public void AReplay_RebuildsTheProtection_ButSendsNoMassCancelAgain()
    {
        var payloads = new List<byte[]>();
        long n = 0;
        void Add(FeedMessageType type, Action<byte[]> body)
        {
            var p = new byte[FeedMessageDescriptor.PayloadSize];
            n++;
            FeedMessageDescriptor.WriteHeader(p, type, 1, n, T0 + (n * 1_000_000), 0);
            body(p);
            payloads.Add(p);
        }

        Add(FeedMessageType.Collateral, p => FeedMessageDescriptor.WriteCollateral(p, 1, 0, 1e6));
        Add(FeedMessageType.MmpConfig, p => FeedMessageDescriptor.WriteMmpConfig(p, 1, 0, MmpAction.Set, Protection with { FrozenNanos = 0 }));
        Add(FeedMessageType.Fill, p => FeedMessageDescriptor.WriteFill(p, 1, 0, 11, 30_000, 1, FillMessage.Maker));
        Add(FeedMessageType.KillSwitch, p => FeedMessageDescriptor.WriteKillSwitch(p, KillSwitchScope.Account, 2, true));

        using var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 64, ProducerMode.Single));
        var book = NewBook(accounts: 4);
        var gate = new PreTradeGate(book, new GateConfig());
        var engine = new RiskEngine(book, gate, null, breaches.CreateSingleProducer(), liquidation: Options);
        foreach (var p in payloads)
        {
            engine.Replay(p);
        }

        Assert.True(gate.Mmp.IsFrozen(1, 0, long.MaxValue - 1)); // tripped in the replay, frozen until reset
        Assert.Equal(1, engine.Counters.MmpTrips);
        Assert.Equal(0, breaches.ReadClaimSequence()); // published live before: not again

        // Negative control: the same messages live publish both cancels.
        using var live = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 64, ProducerMode.Single));
        var liveBook = NewBook(accounts: 4);
        var liveEngine = new RiskEngine(liveBook, new PreTradeGate(liveBook, new GateConfig()), null, live.CreateSingleProducer(), liquidation: Options);
        foreach (var p in payloads)
        {
            Assert.True(liveEngine.Process(p));
        }

        Assert.Equal(2, liveEngine.Counters.MassCancelsPublished);
    }

    [Fact]
    public void TheFillPath_WithProtectionOn_DoesNotAllocate()
    {
        // Each round: maker fills of ±3 until the protection trips (gross 12 > 10), the mass cancel
        // goes out and is forwarded, then a reset message.
        var (rig, _) = ProtectedRig();
        var state = (rig, seq: new long[] { 10_000 }, side: new double[] { 1 });
        GcAssert.NoAllocation(state, static s =>
        {
            var r = s.rig;
            SendMaker(r, s.seq, 3 * s.side[0]);
            s.side[0] = -s.side[0];
            r.Engine.PollOnce();
            r.Liquidator.Poll();
            r.Matcher.DoWork();
            if (r.Engine.Machine.Gate!.Mmp.IsFrozen(1, 0, T0 + s.seq[0]))
            {
                SendReset(r, s.seq);
                r.Engine.PollOnce();
            }
        }, warmUp: 400, iterations: 4_000);
        Assert.True(rig.Engine.Counters.MmpTrips >= 1_000, $"{rig.Engine.Counters.MmpTrips} trips");
        Assert.Equal(rig.Engine.Counters.MmpTrips, rig.Matcher.MassCancels);
    }

    private static void SendMaker(Rig r, long[] seq, double quantity)
    {
        Assert.True(r.Feed.TryClaim(1, out long s));
        var p = r.Feed.Payload(s);
        long n = ++seq[0];
        FeedMessageDescriptor.WriteHeader(p, FeedMessageType.Fill, 3, n, T0 + n, MonotonicClock.Now());
        FeedMessageDescriptor.WriteFill(p, 1, 0, quantity, 30_000, n, FillMessage.Maker);
        r.Feed.Publish(s);
    }

    private static void SendReset(Rig r, long[] seq)
    {
        Assert.True(r.Feed.TryClaim(1, out long s));
        var p = r.Feed.Payload(s);
        long n = ++seq[0];
        FeedMessageDescriptor.WriteHeader(p, FeedMessageType.MmpConfig, 3, n, T0 + n, MonotonicClock.Now());
        FeedMessageDescriptor.WriteMmpConfig(p, 1, 0, MmpAction.Reset, Protection);
        r.Feed.Publish(s);
    }
}
