using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Risk;

/// <summary>
/// The fill path's expected shortfall (<see cref="TailMeasure"/>) against the sort-based definition
/// (<see cref="RiskMeasures.ExpectedShortfall"/>): the same number to the last bit, whatever the
/// sample, its size, the confidence, ties, and whether a what-if row is added. CI reruns this with
/// AVX-512 and AVX2 off, so the vector and scalar passes are each held to it.
/// </summary>
[Trait("Category", "Math")]
public class TailMeasureTests
{
    [Fact]
    public void ByHand_TheBoundaryRowCountsItsFractionOfTheTail()
    {
        // Losses 1..50 shuffled, 97.5 %: αn = 48.75, k = ⌈48.75⌉ = 49, the tail is (1 − 0.975) × 50 = 1.25 rows:
        // ES = (0.25 × 49 + 50) / 1.25 = 62.25 / 1.25 = 49.8.
        var losses = Enumerable.Range(1, 50).Select(i => (double)i).ToArray();
        new Random(3).Shuffle(losses);
        Assert.Equal(2, TailMeasure.TailRows(50, 0.975));
        Assert.Equal(49.8, TailMeasure.ExpectedShortfall(losses, default, 0, 0.975), 12);

        // 90 % of 20 losses 1..20: k = 18, tail 2 rows, the boundary's weight 18 − 18 = 0: ES = (19 + 20) / 2 = 19.5.
        var twenty = Enumerable.Range(1, 20).Select(i => (double)i).Reverse().ToArray();
        Assert.Equal(19.5, TailMeasure.ExpectedShortfall(twenty, default, 0, 0.90), 12);
    }

    [Theory]
    [InlineData(20, 0.90)]
    [InlineData(37, 0.95)]
    [InlineData(250, 0.975)]
    [InlineData(500, 0.975)]
    [InlineData(503, 0.99)]
    [InlineData(1000, 0.975)]
    [InlineData(4096, 0.99)]
    public void EqualsTheSortBasedDefinition_ToTheBit(int n, double confidence)
    {
        var rng = new Random(n);
        var scratch = new double[n];
        for (int trial = 0; trial < 200; trial++)
        {
            var losses = Sample(rng, n, trial);
            Assert.Equal(RiskMeasures.ExpectedShortfall(losses, confidence, scratch), TailMeasure.ExpectedShortfall(losses, default, 0, confidence));

            // A what-if: losses + q × row, each value the fused multiply-add both passes form.
            var row = Sample(rng, n, trial + 1);
            double q = (rng.NextDouble() - 0.5) * 10;
            var sum = losses.Select((x, j) => Math.FusedMultiplyAdd(q, row[j], x)).ToArray();
            Assert.Equal(RiskMeasures.ExpectedShortfall(sum, confidence, scratch), TailMeasure.ExpectedShortfall(losses, row, q, confidence));
        }
    }

    [Fact]
    public void AnyGuess_GivesTheSameNumber_AndTheBoundaryIsTheValueAtRiskRow()
    {
        // The book passes where the tail was (lowered by what a fill can move a row); a guess only saves work.
        // Too high (fewer than m rows reach it: the threshold is found as without one), exact, too low (hundreds
        // of candidates: the buffer is cut on the way), none — the sort-based number every time.
        var rng = new Random(17);
        foreach (int n in new[] { 20, 500, 1000 })
        {
            var scratch = new double[n];
            for (int trial = 0; trial < 40; trial++)
            {
                var losses = Sample(rng, n, trial);
                double expected = RiskMeasures.ExpectedShortfall(losses, 0.975, scratch);
                double var = scratch[TailMeasure.Rank(n, 0.975) - 1]; // the sorted sample's value-at-risk row
                double exact = TailMeasure.ExpectedShortfall(losses, default, 0, 0.975, double.NaN, out double boundary);
                Assert.Equal(expected, exact);
                Assert.Equal(var, boundary);
                foreach (double guess in new[] { boundary, boundary - 1, boundary + 1e-9, double.PositiveInfinity, double.NegativeInfinity, -1e300, scratch[n / 2] })
                {
                    Assert.Equal(expected, TailMeasure.ExpectedShortfall(losses, default, 0, 0.975, guess, out double again));
                    Assert.Equal(boundary, again);
                }
            }
        }
    }

    [Theory]
    [InlineData(20, 0.90)]
    [InlineData(500, 0.975)]
    [InlineData(503, 0.99)]
    [InlineData(1000, 0.975)]
    public void ThePairForms_AndTheFillInItsOwnPass_EqualTheSumFormedFirst_ToTheBit(int n, double confidence)
    {
        // The joint sample of two underlyings is measured without writing it: (a + q × row) + b row by row. It must
        // be the number of that sum formed first and measured, whatever the guess — and a fill applied in the pass
        // (ApplyAndMeasure) must leave a = a + q × row, each element written once, even when its guess is so low that
        // the candidate buffer fills and the measure starts over (the pass still runs to the end, then a second
        // reads the written array): applied twice, the array would hold a + 2q × row and this test fails.
        var rng = new Random(n + 1);
        var scratch = new double[n];
        for (int trial = 0; trial < 60; trial++)
        {
            var a = Sample(rng, n, trial);
            var b = Sample(rng, n, trial + 1);
            var row = Sample(rng, n, trial + 2);
            double q = (rng.NextDouble() - 0.5) * 4;
            var applied = a.Select((x, j) => Math.FusedMultiplyAdd(q, row[j], x)).ToArray();
            var pair = a.Select((x, j) => x + b[j]).ToArray();
            var pairWithRow = applied.Select((x, j) => x + b[j]).ToArray();
            double expectedPair = RiskMeasures.ExpectedShortfall(pair, confidence, scratch);
            double expectedWithRow = RiskMeasures.ExpectedShortfall(pairWithRow, confidence, scratch);
            double boundary = scratch[TailMeasure.Rank(n, confidence) - 1];
            foreach (double guess in new[] { double.NaN, boundary, boundary - 1e-3, -1e300, double.PositiveInfinity })
            {
                Assert.Equal(expectedPair, TailMeasure.ExpectedShortfall(a, default, 0, b, confidence, guess, out _));
                Assert.Equal(expectedWithRow, TailMeasure.ExpectedShortfall(a, row, q, b, confidence, guess, out double at));
                Assert.Equal(boundary, at);

                var written = (double[])a.Clone();
                Assert.Equal(expectedWithRow, TailMeasure.ApplyAndMeasure(written, row, q, b, confidence, guess, out double after));
                Assert.Equal(boundary, after);
                Assert.Equal(applied, written);

                var alone = (double[])a.Clone();
                Assert.Equal(RiskMeasures.ExpectedShortfall(applied, confidence, scratch), TailMeasure.ApplyAndMeasure(alone, row, q, default, confidence, guess, out _));
                Assert.Equal(applied, alone);
            }
        }
    }

    [Theory]
    [InlineData(20, 0.90)]
    [InlineData(500, 0.975)]
    [InlineData(1003, 0.99)]
    public void TheJointOfFour_EqualsItsSumFormedFirst_ToTheBit(int n, double confidence)
    {
        // ((b0 + b1) + b2) + (a + q × row): the joint sample of three or four underlyings, the changed one last —
        // read, read with a what-if's row, or with the fill written in the pass; b2 all zeros for three.
        var rng = new Random(n + 7);
        var scratch = new double[TailMeasure.ScratchLength(n, confidence)];
        var sortScratch = new double[n];
        for (int trial = 0; trial < 40; trial++)
        {
            var a = Sample(rng, n, trial);
            var b0 = Sample(rng, n, trial + 1);
            var b1 = Sample(rng, n, trial + 2);
            var b2 = trial % 3 == 0 ? new double[n] : Sample(rng, n, trial + 3);
            var row = Sample(rng, n, trial + 4);
            double q = (rng.NextDouble() - 0.5) * 4;
            var applied = a.Select((x, j) => Math.FusedMultiplyAdd(q, row[j], x)).ToArray();
            var plain = a.Select((x, j) => ((b0[j] + b1[j]) + b2[j]) + x).ToArray();
            var changed = applied.Select((x, j) => ((b0[j] + b1[j]) + b2[j]) + x).ToArray();
            double expectedPlain = RiskMeasures.ExpectedShortfall(plain, confidence, sortScratch);
            double expected = RiskMeasures.ExpectedShortfall(changed, confidence, sortScratch);
            double boundary = sortScratch[TailMeasure.Rank(n, confidence) - 1];
            foreach (double guess in new[] { double.NaN, boundary, boundary - 1e-3, -1e300, double.PositiveInfinity })
            {
                Assert.Equal(expectedPlain, TailMeasure.JointOfFour(a, default, 0, apply: false, b0, b1, b2, confidence, guess, out _, scratch));
                Assert.Equal(expected, TailMeasure.JointOfFour(a, row, q, apply: false, b0, b1, b2, confidence, guess, out double at, scratch));
                Assert.Equal(boundary, at);
                var written = (double[])a.Clone();
                Assert.Equal(expected, TailMeasure.JointOfFour(written, row, q, apply: true, b0, b1, b2, confidence, guess, out double after, scratch));
                Assert.Equal(boundary, after);
                Assert.Equal(applied, written); // written once, whatever the guess
            }
        }
    }

    [Fact]
    public void ASampleOfNaNs_IsNotANumber_NeverThePreviousMeasure()
    {
        // The book admits no non-finite value into a risk array, but the measure must not make one up: with fewer
        // than m rows that any threshold can reach, the ranks have nothing to order. Measured in the same scratch right
        // after a real sample (what the book does), the answer is NaN — not the previous measure's tail left in the
        // scratch (without the guard this returns the first sample's ES), and no exception on the fill path.
        var scratch = new double[TailMeasure.ScratchLength(500, 0.975)];
        var real = Sample(new Random(3), 500, 0);
        double first = TailMeasure.ExpectedShortfall(real, default, 0, default, 0.975, double.NaN, out _, scratch);
        Assert.True(double.IsFinite(first));
        var nans = Enumerable.Repeat(double.NaN, 500).ToArray();
        Assert.True(double.IsNaN(TailMeasure.ExpectedShortfall(nans, default, 0, default, 0.975, double.NaN, out double boundary, scratch)));
        Assert.True(double.IsNaN(boundary));
        Assert.True(double.IsNaN(TailMeasure.ExpectedShortfall(nans, default, 0, 0.975)));
    }

    [Fact]
    public void APairOrARowShorterThanTheSample_IsRefused()
    {
        double[] losses = [.. Enumerable.Range(0, 40).Select(i => (double)i)];
        Assert.Throws<ArgumentException>(() => TailMeasure.ExpectedShortfall(losses, default, 0, new double[39], 0.975, double.NaN, out _));
        Assert.Throws<ArgumentException>(() => TailMeasure.ApplyAndMeasure(losses, new double[39], 1, default, 0.975, double.NaN, out _));
        Assert.Throws<ArgumentException>(() => TailMeasure.ApplyAndMeasure(losses, new double[40], 1, new double[10], 0.975, double.NaN, out _));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (double)i), losses); // nothing written before the refusal
    }

    [Fact]
    public void TheTailsRowsAndWeights_AddUpToTheExpectedShortfall()
    {
        var rng = new Random(11);
        var rows = new int[TailMeasure.MaxTailRows];
        foreach (int n in new[] { 40, 500, 999 })
        {
            var losses = Sample(rng, n, 1);
            int m = TailMeasure.TailScenarios(losses, 0.975, rows, out double weight, out double boundary);
            Assert.Equal(TailMeasure.TailRows(n, 0.975), m);
            var sorted = losses.Order().ToArray();
            for (int i = 0; i < m; i++)
            {
                Assert.Equal(sorted[n - 1 - i], losses[rows[i]]); // heaviest first
            }

            double es = boundary * losses[rows[m - 1]];
            for (int i = m - 2; i >= 0; i--)
            {
                es += weight * losses[rows[i]];
            }

            Assert.Equal(RiskMeasures.ExpectedShortfall(losses, 0.975, new double[n]), es, 1e-9 * Math.Abs(es));
        }
    }

    [Fact]
    public void AConfidenceOutsideTheUnitInterval_OrAnEmptySample_IsRefused()
    {
        double[] losses = [.. Enumerable.Range(0, 40).Select(i => (double)i)];
        foreach (double confidence in new[] { 0.0, 1.0, -0.5, 1.5, double.NaN })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => TailMeasure.ExpectedShortfall(losses, default, 0, confidence));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => TailMeasure.ExpectedShortfall([], default, 0, 0.975));
    }

    [Fact]
    public void TheWhatIfForm_DoesNotAllocate()
    {
        var rng = new Random(5);
        var losses = Sample(rng, 500, 0);
        var row = Sample(rng, 500, 1);
        double sink = 0;
        TailMeasure.ExpectedShortfall(losses, default, 0, 0.975, double.NaN, out double boundary);
        var other = Sample(rng, 500, 2);
        GcAssert.NoAllocation(() => sink += TailMeasure.ExpectedShortfall(losses, row, 0.3, 0.975) + TailMeasure.ExpectedShortfall(losses, default, 0, 0.975)
            + TailMeasure.ExpectedShortfall(losses, row, 0.001, 0.975, boundary - 1, out _)
            + TailMeasure.ExpectedShortfall(losses, row, 0.001, other, 0.975, double.NaN, out _)
            + TailMeasure.ApplyAndMeasure(losses, row, 0, other, 0.975, boundary, out _));
        Assert.True(double.IsFinite(sink));
    }

    /// <summary>Losses of mixed sign: smooth (trial even), or whole numbers with many ties (odd), or one spike.</summary>
    private static double[] Sample(Random rng, int n, int trial)
    {
        var x = new double[n];
        for (int j = 0; j < n; j++)
        {
            x[j] = (trial % 2) switch
            {
                0 => (rng.NextDouble() - 0.45) * 1e6,
                _ => rng.Next(-5, 6),
            };
        }

        if (trial % 7 == 3)
        {
            x[rng.Next(n)] = 1e9; // one spike
        }

        return x;
    }
}
