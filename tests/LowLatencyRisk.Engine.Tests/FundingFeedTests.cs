using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Persistence;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>
/// Perpetual funding on the feed (<see cref="FundingRateMessage"/>), end to end in one process:
/// settled in steps by the engine, refused by reason, replayed from the journal. Same book as
/// <see cref="LiquidationOrderTests"/>: one perpetual at 30,000 (multiplier 1), CME grid at 15 %.
/// </summary>
public sealed partial class LiquidationOrderTests
{
    private const long EightHours = 8 * 3_600_000_000_000L;

    private void Funding(Rig rig, int instrument, double rate, long interval, long time) =>
        Publish(rig, FeedMessageType.FundingRate, p => FeedMessageDescriptor.WriteFundingRate(p, instrument, rate, interval, time));

    [Fact]
    public void AFundingMessage_LongPaysShortReceives_AndTheAccrualTipsTheLongIntoMarginCall()
    {
        var rig = NewRig(NewBook(accounts: 3));
        // Long 10 at 30,000: IM 10 × 30,000 × 15 % = 45,000 on 45,100 of collateral (healthy by 100);
        // short 4 on 100,000.
        Account(rig, 0, 45_100, 10, 30_000);
        Account(rig, 1, 100_000, -4, 30_000);
        rig.Settle();
        Assert.Equal(MarginState.Healthy, rig.Book.State(0));
        long breaches = rig.Engine.Counters.BreachesPublished;

        // Rate 0.05 %: 30,000 × 0.0005 = 15 a contract. The long pays 150 (equity 44,950 < IM:
        // margin call), the short receives 60.
        Funding(rig, 0, 0.0005, EightHours, T0 + EightHours);
        rig.Settle();
        Assert.Equal(-150, rig.Book.SettledCash(0), 9);
        Assert.Equal(60, rig.Book.SettledCash(1), 9);
        Assert.Equal(44_950, rig.Book.Equity(0), 6);
        Assert.Equal(MarginState.MarginCall, rig.Book.State(0));
        Assert.Equal(breaches + 1, rig.Engine.Counters.BreachesPublished);
        var c = rig.Engine.Counters;
        Assert.Equal((1L, 2L, 150.0), (c.FundingEvents, c.FundingPayments, c.FundingPaid));

        // The same event again, a bad interval, a future's id, an unknown id, a NaN rate: refused by
        // reason, nothing paid twice.
        Funding(rig, 0, 0.0005, EightHours, T0 + EightHours);
        Funding(rig, 0, 0.0005, 0, T0 + (2 * EightHours));
        Funding(rig, 0, 0.0005, FeedStateMachine.MaxFundingIntervalNanos + 1, T0 + (2 * EightHours));
        Funding(rig, 3, 0.0005, EightHours, T0 + EightHours);
        Funding(rig, 0, double.NaN, EightHours, T0 + (2 * EightHours));
        // A funding time far in the future (here the last representable one): accepted, it would make
        // every real event of the perpetual "not after the last" — refused instead, and a real one after it passes.
        Funding(rig, 0, 0.0001, EightHours, long.MaxValue);
        Funding(rig, 0, 0.0001, EightHours, -1);
        rig.Settle();
        Assert.Equal(1, c.Rejects[(int)FeedReject.OutOfOrder]);
        Assert.Equal(1, c.Rejects[(int)FeedReject.UnknownId]);
        Assert.Equal(5, c.Rejects[(int)FeedReject.InvalidValue]);
        Assert.Equal(T0 + EightHours, rig.Book.LastFundingNanos(0));
        Assert.Equal(-150, rig.Book.SettledCash(0), 9);
        Assert.Equal((1L, 2L), (c.FundingEvents, c.FundingPayments));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WithTheFundingProvision_TheNextPaymentTipsTheLongIntoMarginCall(bool provision)
    {
        var rig = NewRig(NewBook(accounts: 3, fundingProvision: provision));
        // Long 10 at 30,000: IM 45,000 on 45,100 of collateral (healthy by 100).
        Account(rig, 0, 45_100, 10, 30_000);
        rig.Settle();
        Assert.Equal(MarginState.Healthy, rig.Book.State(0));

        // 2 bp: the long pays 10 × 30,000 × 0.0002 = 60 (equity 45,040, still above 45,000). With the
        // provision the next interval's 60 at the same rate joins IM: 45,060 > 45,040 — margin call;
        // without it (the control) the account stays healthy.
        Funding(rig, 0, 0.0002, EightHours, T0 + EightHours);
        rig.Settle();
        Assert.Equal(45_040, rig.Book.Equity(0), 6);
        Assert.Equal(provision ? 45_060 : 45_000, rig.Book.InitialMargin(0), 6);
        Assert.Equal(provision ? 60 : 0, rig.Book.FundingProvision(0), 9);
        Assert.Equal(provision ? MarginState.MarginCall : MarginState.Healthy, rig.Book.State(0));
    }

    [Fact]
    public void FundingPayments_SurviveAJournalReplay()
    {
        string dir = Path.Combine(TempFiles.Directory, $"llr-funding-journal-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        _directories.Add(dir);
        var rig = NewRig(NewBook(accounts: 3));
        var journal = JournalWriter.Open(dir, FeedMessageDescriptor.PayloadSize, 1 << 20);
        rig.Engine.Journal = journal;
        Account(rig, 0, 45_100, 10, 30_000);
        Account(rig, 1, 100_000, -4, 30_000);
        Funding(rig, 0, 0.0005, EightHours, T0 + EightHours);
        // 3 a contract back to the long: +30, the short −12. Its funding time is 16 h after the
        // messages' business time, so it is sent as a 16-hour interval (a time more than one interval
        // ahead is refused).
        Funding(rig, 0, -0.0001, 2 * EightHours, T0 + (2 * EightHours));
        rig.Settle();
        journal.Dispose();

        var recovered = new RiskEngine(NewBook(accounts: 3), null, null, null, liquidation: Options);
        JournalReader.Scan(dir, FeedMessageDescriptor.PayloadSize, (_, payload) => recovered.Replay(payload));
        recovered.FinishReplay();
        Assert.Equal(-150 + 30, recovered.Book.SettledCash(0), 9);
        Assert.Equal(60 - 12, recovered.Book.SettledCash(1), 9);
        Assert.Equal(rig.Book.Equity(0), recovered.Book.Equity(0), 9);
        Assert.Equal(MarginState.MarginCall, recovered.Book.State(0));
        Assert.Equal(T0 + (2 * EightHours), recovered.Book.LastFundingNanos(0));
        Assert.Equal(2, recovered.Counters.FundingEvents);

        // A replayed copy of the last event is refused: the funding time did not advance.
        Assert.Equal(FundingResult.NotAfterLast, recovered.Book.BeginFunding(0, -0.0001, T0 + (2 * EightHours)));
    }
}

/// <summary>An underlying's scenario calibration on the feed (<see cref="ScenarioCalibrationMessage"/>, type 19).</summary>
public sealed partial class LiquidationOrderTests
{
    private void Calibrate(Rig rig, int underlying, in Core.Risk.ScenarioParameters p)
    {
        var copy = p;
        Publish(rig, FeedMessageType.ScenarioCalibration, m => FeedMessageDescriptor.WriteScenarioCalibration(m, underlying, copy));
    }

    [Fact]
    public void AScenarioCalibration_ReMarginsHoldersLikeAVolTick_RefusedByReason_AndReplayed()
    {
        string dir = Path.Combine(TempFiles.Directory, $"llr-calibration-journal-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        _directories.Add(dir);
        var rig = NewRig(NewBook(accounts: 2));
        var journal = JournalWriter.Open(dir, FeedMessageDescriptor.PayloadSize, 1 << 20);
        rig.Engine.Journal = journal;
        // Long 2 at 30,000 on the CME grid at 15 %: IM 2 × 30,000 × 0.15 = 9,000 on 10,000 (healthy).
        Account(rig, 0, 10_000, 2, 30_000);
        rig.Settle();
        Assert.Equal(9_000, rig.Book.InitialMargin(0), 6);
        Assert.Equal(MarginState.Healthy, rig.Book.State(0));

        // The scan range to 20 %: IM 12,000 > equity 10,000 ≥ MM 9,600 → margin call, at the revaluation that follows.
        var wider = rig.Book.ScenarioCalibration(0) with { PriceScanRange = 0.20 };
        Calibrate(rig, 0, wider);
        rig.Settle();
        Assert.Equal(12_000, rig.Book.InitialMargin(0), 6);
        Assert.Equal(MarginState.MarginCall, rig.Book.State(0));

        // Refused: an unknown underlying, a range out of bounds, a range whose extreme rows (3 ×) would
        // take the price below zero; nothing changes.
        Calibrate(rig, 3, wider);
        Calibrate(rig, 0, wider with { PriceScanRange = 1.5 });
        Calibrate(rig, 0, wider with { PriceScanRange = 0.4 });
        rig.Settle();
        var c = rig.Engine.Counters;
        Assert.Equal(1, c.Rejects[(int)FeedReject.UnknownId]);
        Assert.Equal(2, c.Rejects[(int)FeedReject.InvalidValue]);
        Assert.Equal(4, c.EventsByType[(int)FeedMessageType.ScenarioCalibration]); // four seen, one applied
        Assert.Equal(0.20, rig.Book.ScenarioCalibration(0).PriceScanRange);
        journal.Dispose();

        var recovered = new RiskEngine(NewBook(accounts: 2), null, null, null, liquidation: Options);
        JournalReader.Scan(dir, FeedMessageDescriptor.PayloadSize, (_, payload) => recovered.Replay(payload));
        recovered.FinishReplay();
        Assert.Equal(wider, recovered.Book.ScenarioCalibration(0));
        Assert.Equal(12_000, recovered.Book.InitialMargin(0), 6);
        Assert.Equal(MarginState.MarginCall, recovered.Book.State(0));
    }
}
