using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Persistence;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>The state this issue added survives the state walk a snapshot is made of: a recalibrated underlying, funding payments still settling, the EWMA and its range.</summary>
public class CryptoStateRoundTripTests
{
    private const long Hour = 3_600_000_000_000;

    private static RiskBook NewBook(ScenarioGrid grid) => new(new RiskConfig
    {
        MaxUnderlyings = 1, MaxInstruments = 4, MaxAccounts = 8, MaxPositionsPerAccount = 4, MaxAssets = 1, IndexBand = 0.5,
        Grid = grid,
        DynamicRange = new DynamicRangeConfig { Enabled = true, SampleIntervalNanos = Hour },
    });

    private static void Define(RiskBook book)
    {
        book.DefineUnderlying(0);
        book.DefineInstrument(0, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 0.5, 0.001));
        book.DefineAsset(0, -1, 1.0, [new HaircutTier(1e15, 0)]);
    }

    [Fact]
    public void CalibrationFundingAndEwma_RoundTripThroughTheStateWalk() => RoundTrip(ScenarioGrid.CryptoPortfolio(), 0.16);

    /// <summary>The historical grid: its live filter's scale is carried in the calibration, and the tail's hints are not state (a restored book measures from none).</summary>
    [Fact]
    public void TheHistoricalGridsLiveScale_RoundTripsThroughTheStateWalk() =>
        RoundTrip(ScenarioGrid.Historical([[.. Enumerable.Range(0, 60).Select(j => (j - 30) / 300.0)]], 0.95, [0.02]), ScenarioGrid.HistoricalReferenceRange);

    private static void RoundTrip(ScenarioGrid grid, double gridRange)
    {
        var live = NewBook(grid);
        Define(live);
        long t = 1_767_225_600_000_000_000;
        double price = 30_000;
        for (int k = 0; k < 12; k++)
        {
            price *= k % 3 == 0 ? 0.97 : 1.01;
            live.UpdateIndex(0, price, t += Hour);
            live.Revalue();
        }

        for (int a = 0; a < 8; a++)
        {
            live.SetCollateral(a, 0, 50_000);
            live.ApplyFill(a, 0, a % 2 == 0 ? 1 : -1, live.MarkPrice(0));
        }

        Assert.Null(live.SetScenarioCalibration(0, live.ScenarioCalibration(0) with { VolUp = 0.4, ExtendedDampener = 200_000 }));
        live.Revalue();
        Assert.Equal(FundingResult.Applied, live.BeginFunding(0, 0.0003, t));
        Assert.False(live.ContinueFunding(3)); // three of eight settled, five waiting

        var measure = new StateMeasure();
        live.VisitState(measure);
        var bytes = new byte[measure.Length];
        live.VisitState(new StateCapture(bytes));
        var restored = NewBook(grid);
        Define(restored);
        restored.VisitState(new StateRestore(bytes));

        Assert.Equal(live.ScenarioCalibration(0), restored.ScenarioCalibration(0));
        Assert.Equal(live.EwmaDailyVolatility(0), restored.EwmaDailyVolatility(0));
        Assert.True(restored.IsFunding);
        Assert.True(restored.ContinueFunding(int.MaxValue));
        Assert.True(live.ContinueFunding(int.MaxValue));
        for (int a = 0; a < 8; a++)
        {
            Assert.Equal(live.SettledCash(a), restored.SettledCash(a));
            Assert.Equal(live.InitialMargin(a), restored.InitialMargin(a));
            RiskBookExactnessTests.AssertMatches(restored, a);
        }

        // The next tick moves both the same way (the EWMA and the range continue from the restored state).
        live.UpdateIndex(0, price * 0.95, t + Hour);
        restored.UpdateIndex(0, price * 0.95, t + Hour);
        Assert.Equal(live.ScenarioCalibration(0), restored.ScenarioCalibration(0));
        Assert.NotEqual(gridRange, restored.ScenarioCalibration(0).PriceScanRange);
    }
}
