using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// Portfolio margin on the crypto-venue scenario set, through the book: the extended table, the
/// basis rows, exactness and allocation. The fixture's BTC index is 30,000, options are on 0.6 vol,
/// the clock is at the fixture's start, and the book discounts at its rate (3 %).
/// </summary>
public class CryptoPortfolioMarginTests
{
    private static double Put(double f, double k, double years, double vol, double rate) => BlackScholes.Compute(-1, f, k, years, vol, rate, 0, false).Price;

    [Fact]
    public void FarOutOfTheMoneyShortPut_TakesItsMarginFromTheExtendedTable()
    {
        var f = new BookFixture(underlyings: 1, accounts: 2, grid: ScenarioGrid.CryptoPortfolio());
        var book = f.Book;
        int put = f.Option(0, expiry: 1, strike: 0, call: false); // K = 0.8 × 30,000 = 24,000, 37 days
        Assert.Equal(24_000, book.Instrument(put).Strike);
        book.SetCollateral(0, BookFixture.Usd, 1e7);
        book.SetCollateral(1, BookFixture.Usd, 1e7);
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, put, -40, book.MarkPrice(put)));
        Assert.Equal(FillResult.Applied, book.ApplyFill(1, put, -1, book.MarkPrice(put)));

        // Hand derivation (at rate 0; the book's 3 % discounts every value by e^(−0.03 × 37/365), 0.3 %):
        //   value now V0 = Black-76 put F 30,000, K 24,000, T 37/365, σ 0.6 = 305.97.
        //   vol up at 37 days: 0.6 × (1 + 0.5 × (30/37)^0.13) = 0.6 × (1 + 0.5 × 0.973105) = 0.891931.
        //   regular worst, −16 % with vol up: V(25,200, σ 0.891931) = 2,218.24 → loss 1,912.26 a put.
        //   extended −66 % (weight 0.24): V(10,200) ≈ the intrinsic 13,800 → (13,801.5 − 306.0) × 0.24 = 3,238.95 a put;
        //     −33 % (weight 0.48): (4,905.3 − 306.0) × 0.48 = 2,207.67; the rises gain.
        //   basis: the option's forward moves ±max(0.075 × 37/365, 0.01) = ±1 %: the put gains 32.40 when it falls 1 %.
        // 40 puts: regular 76,490; extended 129,558 ≥ the dampener 100,000, so in full; basis 1,296.
        // IM = max(76,490, 129,558) + 1,296 = 130,854: the extended table sets it.
        double rate = book.Config.Rate, t = 37 / 365.0, up = 0.6 * (1 + (0.5 * Math.Pow(30 / 37.0, 0.13)));
        double v0 = Put(30_000, 24_000, t, 0.6, rate);
        double regular = 40 * (Put(25_200, 24_000, t, up, rate) - v0);
        double extended = 40 * 0.24 * (Put(10_200, 24_000, t, up, rate) - v0);
        double basis = 40 * (Put(29_700, 24_000, t, 0.6, rate) - v0);
        Assert.Equal(76_490, regular, 0.01 * 76_490);
        Assert.Equal(129_558, extended, 0.01 * 129_558);
        Assert.Equal(1_296, basis, 0.02 * 1_296);

        var parts = book.ScanRiskParts(0, 0);
        Assert.Equal(regular, parts.Regular, 1e-6 * regular);
        Assert.Equal(extended, parts.Extended, 1e-6 * extended);
        Assert.Equal(basis, parts.Basis, 1e-6 * 1_296);
        Assert.Equal(extended + basis, book.InitialMargin(0), 1e-6 * extended);
        Assert.Equal(0.8 * (extended + basis), book.MaintenanceMargin(0), 1e-6 * extended);

        // One put: its weighted extended loss 3,238.95 is below the dampener, so it counts
        // 3,238.95² / 100,000 = 104.91 and the regular 1,912.26 sets the margin.
        var one = book.ScanRiskParts(1, 0);
        Assert.Equal(extended / 40 * (extended / 40) / 100_000, one.Extended, 1e-6);
        Assert.Equal(regular / 40, one.Regular, 1e-6);
        Assert.Equal((regular + basis) / 40, book.InitialMargin(1), 1e-6);

        // Negative control: the same book without an extended table margins the 40 puts at the regular figure.
        var plain = new BookFixture(underlyings: 1, accounts: 1, grid: ScenarioGrid.CryptoPortfolio(new CryptoPortfolioParameters { ExtendedMoves = [], ExtendedWeights = [] }));
        plain.Book.SetCollateral(0, BookFixture.Usd, 1e7);
        plain.Book.ApplyFill(0, put, -40, plain.Book.MarkPrice(put));
        Assert.Equal(regular + basis, plain.Book.InitialMargin(0), 1e-6 * regular);
    }

    [Fact]
    public void FuturesCalendarSpread_IsMarginedByTheBasisCharge()
    {
        // Long 1 future of 90 days, short 1 of 30 days; no carry, so both forwards are 30,000 and
        // every regular and extended row moves them alike: the legs cancel, the plain crypto grid
        // charges 0. The basis rows move each by its own tenor: the 90-day one by
        // 0.075 × 90/365 = 1.8493 % (554.79), the 30-day one by the 1 % minimum (300), so
        // basis down loses 554.79 − 300 = 254.79: IM 254.79, MM 0.8 × 254.79 = 203.84.
        var f = new BookFixture(underlyings: 1, accounts: 2, grid: ScenarioGrid.CryptoPortfolio());
        var book = f.Book;
        int near = f.Future(0, 0), far = f.Future(0, 1);
        book.SetCollateral(0, BookFixture.Usd, 100_000);
        book.ApplyFill(0, far, 1, book.MarkPrice(far));
        book.ApplyFill(0, near, -1, book.MarkPrice(near));
        var parts = book.ScanRiskParts(0, 0);
        Assert.Equal(0, parts.Regular, 9);
        Assert.Equal(0, parts.Extended, 9);
        Assert.Equal(254.79452054794524, parts.Basis, 6);
        Assert.Equal(254.79452054794524, book.InitialMargin(0), 6);
        Assert.Equal(203.83561643835619, book.MaintenanceMargin(0), 6);

        // Perpetual against the 30-day future: the perpetual is the zero-tenor point (no move),
        // so the charge is the future's 1 % minimum, 300.
        int perp = f.Perp(0);
        book.SetCollateral(1, BookFixture.Usd, 100_000);
        book.ApplyFill(1, perp, 1, book.MarkPrice(perp));
        book.ApplyFill(1, near, -1, book.MarkPrice(near));
        Assert.Equal(300, book.InitialMargin(1), 6);

        // Negative control: the same spread on the legacy crypto grid margins at about zero.
        var legacy = new BookFixture(underlyings: 1, accounts: 1, grid: ScenarioGrid.Crypto());
        legacy.Book.SetCollateral(0, BookFixture.Usd, 100_000);
        legacy.Book.ApplyFill(0, far, 1, legacy.Book.MarkPrice(far));
        legacy.Book.ApplyFill(0, near, -1, legacy.Book.MarkPrice(near));
        Assert.True(legacy.Book.InitialMargin(0) < 1e-6, $"legacy grid: {legacy.Book.InitialMargin(0)}");
    }

    [Fact]
    public void LongRandomSequence_IncrementalEqualsFromScratch()
    {
        // 120,000 random fills, index ticks, vol ticks and collateral changes, then 20,000 fills
        // alone, on the 37-row set with carry (so forwards differ by tenor and the basis rows bite).
        RiskBookExactnessTests.RunLongRandomSequence(ScenarioGrid.CryptoPortfolio(), carry: 0.05);
    }

    [Fact]
    public void OpenOrderMargin_OnTheExtendedAndBasisRows_EqualsFromScratch()
    {
        var f = new BookFixture(underlyings: 1, accounts: 3, grid: ScenarioGrid.CryptoPortfolio());
        var book = f.Book;
        int put = f.Option(0, 1, 0, false), far = f.Future(0, 1), near = f.Future(0, 0);
        for (int a = 0; a < 3; a++)
        {
            book.SetCollateral(a, BookFixture.Usd, 1e6);
        }

        book.ApplyFill(0, far, 1, book.MarkPrice(far));
        Assert.True(book.AddWorkingOrder(0, near, -1));
        Assert.True(book.AddWorkingOrder(1, put, -40));
        book.ApplyFill(2, put, -10, book.MarkPrice(put));
        Assert.True(book.AddWorkingOrder(2, put, 10));
        Assert.True(book.AddWorkingOrder(2, put, -30));
        for (int a = 0; a < 3; a++)
        {
            RiskBookExactnessTests.AssertMatches(book, a);
        }

        Assert.True(book.OpenOrderMargin(1) > 129_000, $"resting 40 short puts carry the extended-table margin: {book.OpenOrderMargin(1)}");
    }

    [Fact]
    public void ScanningSpreadCredit_IsRefusedOnAGridWithExtendedOrBasisRows()
    {
        // The scanning form sums the legs' losses row by row; a dampened extended row or a basis
        // row (added on top of the worst) is not a scenario it may combine.
        var scanning = new PortfolioComponentsConfig
        {
            InterCommodity = [new() { Form = InterCommodityForm.Scanning, Legs = [new SpreadLeg(0, 1), new SpreadLeg(1, 1)], Credit = 0.5 }],
        };
        var e = Assert.Throws<ArgumentException>(() => new BookFixture(underlyings: 2, accounts: 1, grid: ScenarioGrid.CryptoPortfolio(), components: scanning));
        Assert.Contains("scanning-spread form", e.Message, StringComparison.Ordinal);
        _ = new BookFixture(underlyings: 2, accounts: 1, grid: ScenarioGrid.Crypto(), components: scanning); // a plain grid takes it
        var deltaRatio = scanning with { InterCommodity = [new() { Legs = [new SpreadLeg(0, 1), new SpreadLeg(1, -15)], Credit = 0.5 }] };
        _ = new BookFixture(underlyings: 2, accounts: 1, grid: ScenarioGrid.CryptoPortfolio(), components: deltaRatio);
    }

    [Fact]
    public void HotPaths_DoNotAllocate()
    {
        var f = new BookFixture(underlyings: 2, accounts: 32, grid: ScenarioGrid.CryptoPortfolio());
        var book = f.Book;
        for (int a = 0; a < 32; a++)
        {
            book.SetCollateral(a, BookFixture.Usd, 1e6);
            for (int k = 0; k < 8; k++)
            {
                int i = f.Instruments[((a * 7) + (k * 3)) % f.Instruments.Count];
                book.ApplyFill(a, i, 1, book.MarkPrice(i));
            }
        }

        var state = new State(f);
        GcAssert.NoAllocation(state, static s => s.Fill(), warmUp: 500, iterations: 5_000);
        GcAssert.NoAllocation(state, static s => s.Tick(), warmUp: 20, iterations: 200);
        GcAssert.NoAllocation(state, static s => s.WhatIf(), warmUp: 500, iterations: 5_000);
    }

    private sealed class State(BookFixture f)
    {
        private int _n;
        private long _t = BookFixture.Start;
        public double Sink;

        public void Fill()
        {
            int i = f.Instruments[_n++ % f.Instruments.Count];
            f.Book.ApplyFill(_n % 32, i, (_n & 1) == 0 ? 0.5 : -0.5, f.Book.MarkPrice(i));
            while (f.Book.TryDequeueTransition(out _))
            {
            }
        }

        public void Tick()
        {
            _t += 1_000_000_000;
            f.Book.UpdateIndex(0, 30_000 * (1 + (0.001 * ((_n++ % 7) - 3))), _t);
            f.Book.Revalue();
            while (f.Book.TryDequeueTransition(out _))
            {
            }
        }

        public void WhatIf()
        {
            int i = f.Instruments[_n++ % f.Instruments.Count];
            Sink += f.Book.WhatIf(_n % 32, i, 1).InitialMarginAfter;
        }
    }
}
