using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// Each underlying its own calibration of the crypto-venue set (the published BTC and ETH numbers
/// differ), set at start or changed at run time like a vol tick. Fixture: BTC (underlying 0) at
/// 30,000, ETH (1) at 2,000, futures of 30 and 90 days, no carry.
/// </summary>
public class ScenarioCalibrationTests
{
    private static readonly ScenarioParameters Eth = new(PriceScanRange: 0.18, VolScanRange: 0, VolUp: 0.4, VolDown: 0.25, MinVolForShockUp: 0.5,
        ExtendedDampener: 200_000, BasisAnnualMove: 0.05, BasisMinimumMove: 0.005);

    [Fact]
    public void BtcAndEth_EachMarginedWithItsOwnNumbers()
    {
        var f = new BookFixture(underlyings: 2, accounts: 3, grid: ScenarioGrid.CryptoPortfolio());
        var book = f.Book;
        Assert.Null(book.SetScenarioCalibration(1, Eth));
        book.Revalue();
        for (int a = 0; a < 3; a++)
        {
            book.SetCollateral(a, BookFixture.Usd, 100_000);
        }

        // A long perpetual loses its own range: BTC 30,000 × 16 % = 4,800; ETH 2,000 × 18 % = 360.
        book.ApplyFill(0, f.Perp(0), 1, 30_000);
        book.ApplyFill(1, f.Perp(1), 1, 2_000);
        Assert.Equal(4_800, book.InitialMargin(0), 6);
        Assert.Equal(360, book.InitialMargin(1), 6);

        // An ETH calendar spread (+90 days, −30 days) pays ETH's basis: 2,000 × (0.05 × 90/365 −
        // the 0.5 % minimum of the 30-day one) = 2,000 × (0.0123288 − 0.005) = 14.6575; at BTC's
        // numbers it would be 2,000 × (0.0184932 − 0.01) = 16.9863.
        book.ApplyFill(2, f.Future(1, 1), 1, book.MarkPrice(f.Future(1, 1)));
        book.ApplyFill(2, f.Future(1, 0), -1, book.MarkPrice(f.Future(1, 0)));
        Assert.Equal(2_000 * ((0.05 * 90 / 365) - 0.005), book.InitialMargin(2), 9);
        for (int a = 0; a < 3; a++)
        {
            RiskBookExactnessTests.AssertMatches(book, a);
        }
    }

    [Fact]
    public void ARecalibration_AppliesLikeAVolTick_AndExtendedRowsKeepTheirMoves()
    {
        var f = new BookFixture(underlyings: 1, accounts: 1, grid: ScenarioGrid.CryptoPortfolio());
        var book = f.Book;
        book.SetCollateral(0, BookFixture.Usd, 100_000);
        book.ApplyFill(0, f.Perp(0), 1, 30_000);
        Assert.Equal(4_800, book.InitialMargin(0), 6);

        var narrower = book.ScenarioCalibration(0) with { PriceScanRange = 0.10 };
        Assert.Null(book.SetScenarioCalibration(0, narrower));
        Assert.True(book.IsDirty(0));
        Assert.Equal(4_800, book.InitialMargin(0), 6); // until the revaluation, the last valuation
        book.Revalue();
        // Regular rows now span ±10 %: 3,000. The extended −66 % row keeps its move: 30,000 × 0.66 ×
        // 0.24 = 4,752 weighted, dampened below 100,000 to 4,752² / 100,000 = 225.8. So 3,000.
        Assert.Equal(3_000, book.ScanRiskParts(0, 0).Regular, 6);
        Assert.Equal(4_752.0 * 4_752 / 100_000, book.ScanRiskParts(0, 0).Extended, 6);
        Assert.Equal(3_000, book.InitialMargin(0), 6);
        Assert.Equal(4_752, book.RiskArray(0, 0)[27], 6); // −66 % at 0.24
        Assert.Equal(4_752, book.RiskArray(0, 0)[28], 6); // −33 % at 0.48
        RiskBookExactnessTests.AssertMatches(book, 0);
    }

    [Fact]
    public void BadCalibrations_AreRefusedWithTheReason_AndChangeNothing()
    {
        var f = new BookFixture(underlyings: 1, accounts: 1, grid: ScenarioGrid.CryptoPortfolio());
        var book = f.Book;
        var before = book.ScenarioCalibration(0);
        Assert.Equal("priceScanRange must be in (0, 1)", book.SetScenarioCalibration(0, before with { PriceScanRange = 1.2 }));
        Assert.Equal("volDown must be in [0, 1)", book.SetScenarioCalibration(0, before with { VolDown = double.NaN }));
        Assert.Equal("extendedDampener must be in [0, 1e15]", book.SetScenarioCalibration(0, before with { ExtendedDampener = -1 }));
        Assert.Equal("underlying 5 is not in 0..0", book.SetScenarioCalibration(5, before));
        Assert.Equal(before, book.ScenarioCalibration(0));
        Assert.False(book.IsDirty(0));

        // On the CME grid the extreme rows move 3 × the range: a range of 0.4 would take them below zero.
        var cme = new BookFixture(underlyings: 1, accounts: 1);
        Assert.Equal("priceScanRange would move a regular row's price to zero or below", cme.Book.SetScenarioCalibration(0, cme.Book.ScenarioCalibration(0) with { PriceScanRange = 0.4 }));
    }

    [Fact]
    public void LongRandomSequence_WithRecalibrations_IncrementalEqualsFromScratch() =>
        RiskBookExactnessTests.RunLongRandomSequence(ScenarioGrid.CryptoPortfolio(), carry: 0.03, coinInScenarios: true, recalibrate: true);

    [Fact]
    public void Recalibration_DoesNotAllocate()
    {
        var f = new BookFixture(underlyings: 1, accounts: 16, grid: ScenarioGrid.CryptoPortfolio());
        for (int a = 0; a < 16; a++)
        {
            f.Book.SetCollateral(a, BookFixture.Usd, 1e6);
            int i = f.Instruments[(a * 3) % f.Instruments.Count];
            f.Book.ApplyFill(a, i, 1, f.Book.MarkPrice(i));
        }

        GcAssert.NoAllocation(f, static f =>
        {
            var p = f.Book.ScenarioCalibration(0);
            f.Book.SetScenarioCalibration(0, p with { PriceScanRange = p.PriceScanRange == 0.16 ? 0.18 : 0.16 });
            f.Book.Revalue();
            while (f.Book.TryDequeueTransition(out _))
            {
            }
        }, warmUp: 20, iterations: 200);
    }
}
