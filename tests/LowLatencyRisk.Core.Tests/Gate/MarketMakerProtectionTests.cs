using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Core.Tests.Book;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Gate;

/// <summary>
/// Market-maker protection: a limit trips on the maker fill that takes its sum beyond it (not one
/// later, not at the limit itself), fills expire after the interval, the freeze lasts its period (or
/// until reset), and the gate refuses protected quotes meanwhile.
/// </summary>
public class MarketMakerProtectionTests
{
    private const long T0 = 1_767_225_600_000_000_000;
    private const long Second = 1_000_000_000;
    private static readonly MmpSettings Limits = new(IntervalNanos: 5 * Second, FrozenNanos: 100_000_000, QuantityLimit: 100, DeltaLimit: double.PositiveInfinity, VegaLimit: double.PositiveInfinity);

    private static MarketMakerProtection Protected(in MmpSettings settings, int window = 128)
    {
        var mmp = new MarketMakerProtection(accounts: 4, capacity: 8, windowFills: window);
        Assert.Equal(MmpChange.Applied, mmp.Configure(1, 0, settings));
        return mmp;
    }

    [Fact]
    public void TheQuantityLimit_TripsOnTheFillThatExceedsIt()
    {
        var mmp = Protected(Limits);
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, 60, 0, 0, T0, out _));
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, -40, 0, 0, T0 + 1, out _)); // gross 100: at the limit, not beyond
        Assert.Equal(100, mmp.Sums(1, 0).Quantity);
        Assert.Equal(MmpTrip.Quantity, mmp.OnMakerFill(1, 0, 0.5, 0, 0, T0 + 2, out long until)); // 100.5: this fill
        Assert.Equal(T0 + 2 + 100_000_000, until);
        Assert.True(mmp.IsFrozen(1, 0, T0 + 2));
        Assert.Equal((0.0, 0.0, 0.0), mmp.Sums(1, 0)); // the window starts again after the trip
        Assert.Equal(1, mmp.Trips);
    }

    [Fact]
    public void TheDeltaLimit_IsOnNetDelta_AndTripsOnTheFillThatExceedsIt()
    {
        // A call of delta 0.5 per contract: 100 bought (delta 50), 100 sold (net 0), 200 bought (100:
        // at the limit), 2 more (101): trips. Gross quantity has no limit here.
        var mmp = Protected(Limits with { QuantityLimit = double.PositiveInfinity, DeltaLimit = 100 });
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, 100, 50, 0, T0, out _));
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, -100, -50, 0, T0 + 1, out _));
        Assert.Equal(0, mmp.Sums(1, 0).Delta);
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, 200, 100, 0, T0 + 2, out _));
        Assert.Equal(MmpTrip.Delta, mmp.OnMakerFill(1, 0, 2, 1, 0, T0 + 3, out _));
    }

    [Fact]
    public void TheVegaLimit_TripsOnTheFillThatExceedsIt_EitherSign()
    {
        var mmp = Protected(Limits with { QuantityLimit = double.PositiveInfinity, VegaLimit = 1_000 });
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, -10, -5, -999, T0, out _));
        Assert.Equal(MmpTrip.Vega, mmp.OnMakerFill(1, 0, -1, -0.5, -2, T0 + 1, out _)); // |−1,001| > 1,000
    }

    [Fact]
    public void FillsOutsideTheInterval_Expire()
    {
        var mmp = Protected(Limits);
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, 60, 0, 0, T0, out _));
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, 60, 0, 0, T0 + (5 * Second), out _)); // the first left the interval exactly now
        Assert.Equal(60, mmp.Sums(1, 0).Quantity);

        // Negative control: one nanosecond inside the interval, the two count together.
        var control = Protected(Limits);
        Assert.Equal(MmpTrip.None, control.OnMakerFill(1, 0, 60, 0, 0, T0, out _));
        Assert.Equal(MmpTrip.Quantity, control.OnMakerFill(1, 0, 60, 0, 0, T0 + (5 * Second) - 1, out _));
    }

    [Fact]
    public void TheFreeze_LastsItsPeriod_AndFillsMeanwhileCountForNothing()
    {
        var mmp = Protected(Limits);
        Assert.Equal(MmpTrip.Quantity, mmp.OnMakerFill(1, 0, 101, 0, 0, T0, out long until));
        Assert.True(mmp.IsFrozen(1, 0, until - 1));
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, 500, 0, 0, until - 1, out _)); // frozen: not counted
        Assert.False(mmp.IsFrozen(1, 0, until));
        Assert.False(mmp.IsFrozen(1, 1, T0));  // another underlying
        Assert.False(mmp.IsFrozen(2, 0, T0));  // another account
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, 100, 0, 0, until, out _));
        Assert.Equal(100, mmp.Sums(1, 0).Quantity);
    }

    [Fact]
    public void AFrozenPeriodOfZero_LastsUntilReset()
    {
        var mmp = Protected(Limits with { FrozenNanos = 0 });
        Assert.Equal(MmpTrip.Quantity, mmp.OnMakerFill(1, 0, 101, 0, 0, T0, out long until));
        Assert.Equal(long.MaxValue, until);
        Assert.True(mmp.IsFrozen(1, 0, T0 + (86_400 * Second)));
        Assert.Equal(MmpChange.Applied, mmp.Reset(1, 0));
        Assert.False(mmp.IsFrozen(1, 0, T0 + (86_400 * Second)));
        Assert.Equal(MmpChange.RejectedUnknown, mmp.Reset(2, 0));
    }

    [Fact]
    public void MoreFillsInTheIntervalThanTheWindowHolds_Trips()
    {
        var mmp = Protected(Limits with { QuantityLimit = double.PositiveInfinity }, window: 4);
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, 1, 0, 0, T0 + k, out _));
        }

        Assert.Equal(MmpTrip.WindowFull, mmp.OnMakerFill(1, 0, 1, 0, 0, T0 + 4, out _));

        // Negative control: the same fills spread beyond the interval never fill the window.
        var spread = Protected(Limits with { QuantityLimit = double.PositiveInfinity }, window: 4);
        for (int k = 0; k < 40; k++)
        {
            Assert.Equal(MmpTrip.None, spread.OnMakerFill(1, 0, 1, 0, 0, T0 + (k * 2 * Second), out _));
        }
    }

    [Fact]
    public void Configuration_RefusesBadValues_AndIsBounded()
    {
        var mmp = new MarketMakerProtection(accounts: 4, capacity: 2, windowFills: 8);
        Assert.Equal(MmpChange.RejectedInvalid, mmp.Configure(1, 0, Limits with { IntervalNanos = 0 }));
        Assert.Equal(MmpChange.RejectedInvalid, mmp.Configure(1, 0, Limits with { FrozenNanos = -1 }));
        Assert.Equal(MmpChange.RejectedInvalid, mmp.Configure(1, 0, Limits with { QuantityLimit = double.NaN }));
        Assert.Equal(MmpChange.RejectedInvalid, mmp.Configure(1, 0, Limits with { DeltaLimit = 0 }));
        Assert.Equal(MmpChange.RejectedInvalid, mmp.Configure(1, 0, Limits with { VegaLimit = -5 }));
        Assert.Equal(MmpChange.RejectedInvalid, mmp.Configure(4, 0, Limits));
        Assert.Equal(MmpChange.RejectedInvalid, mmp.Configure(1, -1, Limits));
        Assert.Equal(0, mmp.Count);
        Assert.Equal(MmpChange.Applied, mmp.Configure(1, 0, Limits));
        Assert.Equal(MmpChange.Applied, mmp.Configure(1, 1, Limits));
        Assert.Equal(MmpChange.Applied, mmp.Configure(1, 0, Limits with { QuantityLimit = 5 })); // a change, not a new entry
        Assert.Equal(MmpChange.RejectedCapacity, mmp.Configure(2, 0, Limits));
        Assert.True(mmp.TryGetSettings(1, 0, out var s, out bool on));
        Assert.Equal((5.0, true), (s.QuantityLimit, on));
        Assert.Equal(MmpChange.Applied, mmp.Disable(1, 0));
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, 1_000, 0, 0, T0, out _)); // off: nothing counts
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(1, 0, double.NaN, 0, 0, T0, out _));
        Assert.Equal(MmpTrip.None, mmp.OnMakerFill(3, 0, 1_000, 0, 0, T0, out _)); // not protected
    }

    [Fact]
    public void MakerFills_DoNotAllocate()
    {
        var mmp = Protected(Limits with { QuantityLimit = 1_000 });
        long[] t = [T0];
        GcAssert.NoAllocation(() =>
        {
            t[0] += 10_000_000; // 100 fills a second: the window holds 500 of the interval's
            if (mmp.OnMakerFill(1, 0, 3, 1.5, 20, t[0], out _) != MmpTrip.None)
            {
                mmp.Reset(1, 0);
            }
        }, warmUp: 2_000, iterations: 20_000);
        Assert.True(mmp.Trips > 0);
    }

    [Fact]
    public void TheGate_RefusesProtectedQuotes_WhileFrozen_AndNothingElse()
    {
        var f = new BookFixture(underlyings: 2, accounts: 4);
        f.Book.SetCollateral(1, BookFixture.Usd, 1_000_000);
        var gate = new PreTradeGate(f.Book, new GateConfig());
        int perp = f.Perp(0);
        Assert.Equal(MmpChange.Applied, gate.Mmp.Configure(1, 0, Limits));
        long id = 1;
        OrderRequest Quote(bool isProtected) => new(1, perp, OrderSide.Buy, 1, 30_000, OrderType.Limit, id++, MmpProtected: isProtected);

        long now = BookFixture.Start + Second;
        Assert.True(gate.Check(Quote(true), now).Accepted);
        Assert.Equal(MmpTrip.Quantity, gate.Mmp.OnMakerFill(1, 0, 101, 0, 0, now, out long until));
        Assert.Equal(RejectReason.MmpFrozen, gate.Check(Quote(true), now + 1).Reason);
        Assert.True(gate.Check(Quote(false), now + 1).Accepted); // not a protected quote
        Assert.True(gate.Check(Quote(true), until).Accepted);    // the freeze is over
    }
}
