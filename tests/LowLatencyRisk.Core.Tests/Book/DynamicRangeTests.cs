using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// EWMA volatility per underlying and the dynamic price scan range it sets: k = 2.33, MPOR 2 days,
/// buffer 25 %, floor 5 %, ceiling 30 %, at most +50 % a day; λ = 0.94 a day; seed 2 % a day.
/// The range is clamp(2.33 × σ_day × √2 × 1.25, 0.05, 0.30), capped at 1.5 × the day's first range.
/// </summary>
public class DynamicRangeTests
{
    private const long Day = 86_400_000_000_000;
    private const long T0 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

    private static RiskBook Book(long interval = Day, Func<DynamicRangeConfig, DynamicRangeConfig>? with = null)
    {
        var range = new DynamicRangeConfig { Enabled = true, SampleIntervalNanos = interval, SeedDailyVolatility = 0.02 };
        var book = new RiskBook(new RiskConfig
        {
            MaxUnderlyings = 1, MaxInstruments = 4, MaxAccounts = 2, MaxPositionsPerAccount = 4, MaxAssets = 1, IndexBand = 0.5,
            Grid = ScenarioGrid.CmeSpan16(0.15, 0.25),
            DynamicRange = with is null ? range : with(range),
        });
        book.DefineUnderlying(0);
        book.DefineInstrument(0, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 0.01, 0.001));
        book.DefineAsset(0, -1, 1.0, [new HaircutTier(1e15, 0)]);
        return book;
    }

    [Fact]
    public void Ewma_FollowsTheHandComputedSequence_AndSetsTheRange()
    {
        var book = Book();
        // Day 0, the first index: the seed, σ = 0.02; range 2.33 × 0.02 × √2 × 1.25 = 0.0823779 (below
        // the grid's 0.15: a fall is not capped).
        Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, 100, T0));
        Assert.Equal(0.02, book.EwmaDailyVolatility(0), 12);
        Assert.Equal(0.0823779400082328, book.ScenarioCalibration(0).PriceScanRange, 12);

        // A tick within the interval takes no sample.
        book.UpdateIndex(0, 101, T0 + (Day / 2));
        Assert.Equal(0.02, book.EwmaDailyVolatility(0), 12);

        // Day 1 at 101: r = ln 1.01 = 0.00995033; σ² = 0.94 × 0.0004 + 0.06 × r² = 0.000381940545;
        // σ = 0.0195433; range 0.0804968.
        book.UpdateIndex(0, 101, T0 + Day);
        Assert.Equal(0.01954329923644548, book.EwmaDailyVolatility(0), 12);
        Assert.Equal(0.08049683660314239, book.ScenarioCalibration(0).PriceScanRange, 12);

        // Day 2 at 98.98: r = ln 0.98 = −0.0202027; σ² = 0.94 × 0.000381940545 + 0.06 × r² =
        // 0.000383513075; σ = 0.0195835; range 0.0806624.
        book.UpdateIndex(0, 98.98, T0 + (2 * Day));
        Assert.Equal(0.019583489865700052, book.EwmaDailyVolatility(0), 12);
        Assert.Equal(0.0806623776654237, book.ScenarioCalibration(0).PriceScanRange, 12);
    }

    [Fact]
    public void AnEightHourInterval_UsesTheDecayOfEightHours()
    {
        // λ for 8 h = 0.94^(1/3) = 0.979586; the seed per interval 0.0004 / 3; after +1 % over
        // 8 h: σ²_8h = 0.979586 × 0.000133333 + 0.020414 × 0.0000990066 = 0.000132632642;
        // per day × 3: σ_day = 0.0199474.
        var book = Book(interval: Day / 3);
        book.UpdateIndex(0, 100, T0);
        book.UpdateIndex(0, 101, T0 + (Day / 3));
        Assert.Equal(0.019947378913592315, book.EwmaDailyVolatility(0), 12);
    }

    [Fact]
    public void ACrashAndItsAftermath_TheRangeRisesAtMostTheCapADay_NeverLeavesFloorAndCeiling_AndRecovers()
    {
        var book = Book();
        double price = 100;
        book.UpdateIndex(0, price, T0);
        double last = book.ScenarioCalibration(0).PriceScanRange;
        var ranges = new List<double>();
        for (int day = 1; day <= 60; day++)
        {
            price *= day <= 10 ? 0.90 : 1.001; // ten days of −10 %, then calm
            for (int tick = 0; tick < 4; tick++)
            {
                Assert.Equal(MarkResult.Accepted, book.UpdateIndex(0, price, T0 + (day * Day) + (tick * Day / 4)));
                double range = book.ScenarioCalibration(0).PriceScanRange;
                Assert.InRange(range, 0.05, 0.30);
                Assert.True(range <= (last * 1.5) + 1e-15, $"day {day}: {range} after {last}");
            }

            last = book.ScenarioCalibration(0).PriceScanRange;
            ranges.Add(last);
        }

        // The crash took σ to about 6.5 % a day: the target passes the ceiling, reached through the cap
        // (0.0824 → 0.1236 → 0.1853 → 0.2780 → 0.30).
        Assert.Equal(0.30, ranges[9], 12);
        Assert.True(ranges[1] < 0.30 && ranges[1] <= ranges[0] * 1.5 + 1e-15, $"{ranges[0]}, {ranges[1]}");
        // Calm afterwards: σ² decays by 0.94 a day and the range with it (0.0642 after 50 calm days).
        Assert.True(ranges[^1] < 0.1 && ranges[^1] < ranges[20] && ranges[20] < ranges[12], $"{ranges[12]}, {ranges[20]}, {ranges[^1]}");
    }

    [Fact]
    public void AMarketThatDoesNotMove_BringsTheRangeToTheFloor_AndNoLower()
    {
        // No returns: σ² = 0.0004 × 0.94ⁿ; the target 2.33 × σ × √2 × 1.25 reaches 0.05 when
        // σ = 0.012139, i.e. after n = 2 ln(0.02 / 0.012139) / −ln 0.94 = 16.1 days; from then on the floor.
        var book = Book();
        for (int day = 0; day <= 40; day++)
        {
            book.UpdateIndex(0, 100, T0 + (day * Day));
            Assert.True(book.ScenarioCalibration(0).PriceScanRange >= 0.05);
            Assert.Equal(day >= 17, book.ScenarioCalibration(0).PriceScanRange == 0.05);
        }
    }

    [Fact]
    public void TheRange_MarginsThePosition_AndIndexTicksDoNotAllocate()
    {
        var book = Book();
        book.UpdateIndex(0, 30_000, T0);
        book.Revalue();
        book.SetCollateral(0, 0, 100_000);
        book.ApplyFill(0, 0, 1, 30_000);
        // Long 1 at 30,000 on the CME grid at the dynamic range 0.0823779: IM 30,000 × 0.0823779 = 2,471.34.
        Assert.Equal(30_000 * 0.0823779400082328, book.InitialMargin(0), 6);

        long t = T0;
        GcAssert.NoAllocation(book, b =>
        {
            t += Day;
            b.UpdateIndex(0, 30_000 * (1 + (0.01 * ((t / Day) % 3 - 1))), t);
            b.Revalue();
            while (b.TryDequeueTransition(out _))
            {
            }
        }, warmUp: 20, iterations: 200);
    }

    [Fact]
    public void WithTheBufferReleasedAndAStressedWeight_IndexTicksDoNotAllocate()
    {
        var book = Book(with: c => c with { ReleaseBufferInStress = true, StressedWeight = 0.25, StressedDailyVolatility = 0.06, SeedDailyVolatilities = [0.04] });
        book.UpdateIndex(0, 30_000, T0);
        book.Revalue();
        book.SetCollateral(0, 0, 100_000);
        book.ApplyFill(0, 0, 1, 30_000);
        long t = T0;
        double before = book.ScenarioCalibration(0).PriceScanRange;
        GcAssert.NoAllocation(book, b =>
        {
            t += Day;
            b.UpdateIndex(0, 30_000 * (1 + (0.05 * ((t / Day) % 3 - 1))), t); // ±5 %: the range moves
            b.Revalue();
            while (b.TryDequeueTransition(out _))
            {
            }
        }, warmUp: 20, iterations: 200);
        Assert.NotEqual(before, book.ScenarioCalibration(0).PriceScanRange); // the options' code ran, not a still range
    }

    /// <summary>The unbuffered range k σ √MPOR = 2.33 σ √2 for a daily variance.</summary>
    private static double Unbuffered(double variance) => 2.33 * Math.Sqrt(variance) * Math.Sqrt(2);

    [Fact]
    public void TheBufferReleasedInStress_AbsorbsARise_ThenFollowsTheUnbufferedRange_AndRebuildsBeforeFalling()
    {
        // Floor 0.01 and a cap of ×11 a day keep the floor and the cap out of the way; the rule under test:
        // range = min(1.25 U, max(U, range in force)), U = 2.33 σ √2.
        var released = Book(with: c => c with { ReleaseBufferInStress = true, Floor = 0.01, MaxDailyIncrease = 10 });
        var held = Book(with: c => c with { Floor = 0.01, MaxDailyIncrease = 10 }); // the negative control: buffer always held
        double price = 100;
        void Tick(int day, double move)
        {
            price *= move;
            Assert.Equal(MarkResult.Accepted, released.UpdateIndex(0, price, T0 + (day * Day)));
            Assert.Equal(MarkResult.Accepted, held.UpdateIndex(0, price, T0 + (day * Day)));
        }

        double Range(RiskBook b) => b.ScenarioCalibration(0).PriceScanRange;

        // Day 0: σ = 0.02, U₀ = 2.33 × 0.02 × √2 = 0.0659024; the grid's 0.15 is in force, so
        // min(1.25 U₀, max(U₀, 0.15)) = 1.25 U₀ = 0.0823779: calm, the buffer held.
        Tick(0, 1);
        Assert.Equal(0.0823779400082328, Range(released), 12);
        Assert.Equal(Range(held), Range(released), 15);

        // Day 1, +4 %: σ² = 0.94 × 0.0004 + 0.06 (ln 1.04)² = 0.000468296; U₁ = 0.0713068 is above U₀ but
        // below the 0.0823779 in force: the buffer absorbs it, the range stays. Held: 1.25 U₁ = 0.0891335.
        Tick(1, 1.04);
        double v1 = (0.94 * 0.0004) + (0.06 * Math.Log(1.04) * Math.Log(1.04));
        Assert.Equal(0.0823779400082328, Range(released), 12);
        Assert.Equal(1.25 * Unbuffered(v1), Range(held), 12);
        Assert.Equal(0.0891335, Range(held), 6);

        // Day 2, −15 %: σ² = 0.94 × 0.000468299 + 0.06 (ln 0.85)² = 0.00202494; U₂ = 0.148278 passes the
        // range in force: the buffer is used up and the range is U₂ itself. Held: 1.25 U₂ = 0.185348.
        Tick(2, 0.85);
        double v2 = (0.94 * v1) + (0.06 * Math.Log(0.85) * Math.Log(0.85));
        Assert.Equal(Unbuffered(v2), Range(released), 12);
        Assert.Equal(0.148278, Range(released), 6);
        Assert.Equal(1.25 * Unbuffered(v2), Range(held), 12);

        // Then no move: σ² falls by 0.94 a day, U by √0.94. The range stays at U₂ until 1.25 U falls below
        // it, after n days with 1.25 × 0.94^(n/2) < 1: n > 2 ln 1.25 / −ln 0.94 = 7.21, i.e. day 10; from
        // then on it follows 1.25 U down. Held falls from day 3.
        double v = v2;
        for (int day = 3; day <= 20; day++)
        {
            Tick(day, 1);
            v *= 0.94;
            double expected = day < 10 ? Unbuffered(v2) : 1.25 * Unbuffered(v);
            Assert.True(Math.Abs(expected - Range(released)) < 1e-12, $"day {day}: {Range(released)}, expected {expected}");
            Assert.Equal(1.25 * Unbuffered(v), Range(held), 12);
        }

    }

    [Fact]
    public void AWeightOnStressedObservations_KeepsTheRangeAboveItsShareOfTheStressedVolatility()
    {
        // w = 0.25 on a stressed 6 % a day: the variance used is 0.75 σ² + 0.25 × 0.0036.
        var weighted = Book(with: c => c with { StressedWeight = 0.25, StressedDailyVolatility = 0.06 });
        var plain = Book(); // the negative control
        // Day 0: 0.75 × 0.0004 + 0.0009 = 0.0012, σ = 0.0346410; range 2.33 × 0.0346410 × √2 × 1.25 = 0.142683
        // (the plain book: 0.0823779).
        weighted.UpdateIndex(0, 100, T0);
        plain.UpdateIndex(0, 100, T0);
        Assert.Equal(2.33 * Math.Sqrt(0.0012) * Math.Sqrt(2) * 1.25, weighted.ScenarioCalibration(0).PriceScanRange, 12);
        Assert.Equal(0.142683, weighted.ScenarioCalibration(0).PriceScanRange, 6);
        Assert.Equal(0.0823779400082328, plain.ScenarioCalibration(0).PriceScanRange, 12);
        Assert.Equal(0.02, weighted.EwmaDailyVolatility(0), 12); // the EWMA itself is not weighted

        // 200 days without a move: σ²_EWMA = 0.0004 × 0.94²⁰⁰ ≈ 1.6e-9, so the range tends to the stressed
        // share alone, 2.33 × √0.0009 × √2 × 1.25 = 0.123567 (0.1235669 + the EWMA's residue) — where the plain book sits on its floor 0.05.
        for (int day = 1; day <= 200; day++)
        {
            weighted.UpdateIndex(0, 100, T0 + (day * Day));
            plain.UpdateIndex(0, 100, T0 + (day * Day));
            Assert.True(weighted.ScenarioCalibration(0).PriceScanRange >= 0.1235668);
        }

        Assert.Equal(2.33 * Math.Sqrt(0.0009 + (0.75 * 0.0004 * Math.Pow(0.94, 200))) * Math.Sqrt(2) * 1.25, weighted.ScenarioCalibration(0).PriceScanRange, 12);
        Assert.Equal(0.123567, weighted.ScenarioCalibration(0).PriceScanRange, 6);
        Assert.Equal(0.05, plain.ScenarioCalibration(0).PriceScanRange, 15);
    }

    [Fact]
    public void ASeedOfItsOwn_StartsTheUnderlyingsEwmaThere()
    {
        // Seeded at 5 % (say from a history): 2.33 × 0.05 × √2 × 1.25 = 0.205945 (below the cap 0.15 × 1.5);
        // the control, the configured 2 %, gives 0.0823779.
        var own = Book(with: c => c with { SeedDailyVolatilities = [0.05] });
        var plain = Book();
        own.UpdateIndex(0, 100, T0);
        plain.UpdateIndex(0, 100, T0);
        Assert.Equal(0.05, own.EwmaDailyVolatility(0), 15);
        Assert.Equal(2.33 * 0.05 * Math.Sqrt(2) * 1.25, own.ScenarioCalibration(0).PriceScanRange, 12);
        Assert.Equal(0.0823779400082328, plain.ScenarioCalibration(0).PriceScanRange, 12);
        Assert.Equal("SeedDailyVolatilities", Assert.Throws<ArgumentException>(() => new DynamicRangeConfig { SeedDailyVolatilities = [0.02, 1.5] }.Validate()).ParamName);
    }

    [Fact]
    public void BadSettings_AreRefusedByField()
    {
        Assert.Equal("StressedWeight", Assert.Throws<ArgumentException>(() => new DynamicRangeConfig { StressedWeight = 0.1, StressedDailyVolatility = 0.05 }.Validate()).ParamName);
        Assert.Equal("StressedDailyVolatility", Assert.Throws<ArgumentException>(() => new DynamicRangeConfig { StressedWeight = 0.25 }.Validate()).ParamName);
        Assert.Equal("StressedDailyVolatility", Assert.Throws<ArgumentException>(() => new DynamicRangeConfig { StressedDailyVolatility = 0.05 }.Validate()).ParamName);
        new DynamicRangeConfig { StressedWeight = 0.25, StressedDailyVolatility = 0.05, ReleaseBufferInStress = true }.Validate();
        Assert.Equal("Floor", Assert.Throws<ArgumentException>(() => new DynamicRangeConfig { Floor = 0 }.Validate()).ParamName);
        Assert.Equal("Ceiling", Assert.Throws<ArgumentException>(() => new DynamicRangeConfig { Ceiling = 0.04 }.Validate()).ParamName);
        Assert.Equal("LambdaPerDay", Assert.Throws<ArgumentException>(() => new DynamicRangeConfig { LambdaPerDay = 1 }.Validate()).ParamName);
        Assert.Equal("SampleIntervalNanos", Assert.Throws<ArgumentException>(() => new DynamicRangeConfig { SampleIntervalNanos = 5 }.Validate()).ParamName);
    }
}
