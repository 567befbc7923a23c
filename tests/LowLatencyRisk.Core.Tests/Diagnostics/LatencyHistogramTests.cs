using System.Globalization;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Diagnostics;

public class LatencyHistogramTests
{
    private const double RelativeError = 1.0 / 1024;

    private static long ExactPercentile(long[] sorted, double p)
    {
        long rank = Math.Max(1, (long)Math.Ceiling(p / 100.0 * sorted.Length));
        return sorted[rank - 1];
    }

    private static void AssertPercentilesClose(LatencyHistogram h, long[] values)
    {
        var sorted = values.Order().ToArray();
        foreach (double p in new[] { 0.0, 1, 10, 50, 90, 99, 99.9, 99.99, 100 })
        {
            long exact = ExactPercentile(sorted, p);
            long reported = h.ValueAtPercentile(p);
            Assert.True(reported >= exact && reported <= exact + Math.Max(0, (long)(exact * RelativeError)),
                $"p{p}: exact {exact}, reported {reported}");
        }
    }

    [Fact]
    public void Percentiles_OnRandomLogNormalSamples_WithinStatedRelativeError()
    {
        var rng = new Random(1);
        var values = new long[200_000];
        var h = new LatencyHistogram();
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (long)Math.Exp(4 + (rng.NextDouble() * 14)); // 55 ns .. 66 ms
            h.Record(values[i]);
        }

        AssertPercentilesClose(h, values);
        Assert.Equal(values.Min(), h.Min);
        Assert.Equal(values.Max(), h.Max);
        Assert.Equal(values.Average(), h.Mean, 6);
    }

    [Fact]
    public void Percentiles_OnAdversarialSamples_WithinStatedRelativeError()
    {
        // All values at bucket edges, one huge outlier, many identical values, powers of two.
        var values = new List<long>();
        for (int m = 0; m < 39; m++)
        {
            values.Add(1L << m);
            values.Add((1L << m) - 1);
            values.Add((1L << m) + 1);
        }

        values.AddRange(Enumerable.Repeat(2047L, 5000));
        values.Add(LatencyHistogram.HighestTrackableValue);
        var h = new LatencyHistogram();
        foreach (long v in values)
        {
            h.Record(v);
        }

        AssertPercentilesClose(h, values.ToArray());
    }

    [Fact]
    public void SmallValues_AreExact()
    {
        var h = new LatencyHistogram();
        for (int v = 0; v < 2048; v++)
        {
            h.Record(v);
        }

        Assert.Equal(1023, h.ValueAtPercentile(50));
        Assert.Equal(2047, h.ValueAtPercentile(100));
    }

    [Fact]
    public void Merge_EqualsRecordingAllValuesInOne()
    {
        var rng = new Random(2);
        var a = new LatencyHistogram();
        var b = new LatencyHistogram();
        var all = new LatencyHistogram();
        for (int i = 0; i < 50_000; i++)
        {
            long v = rng.NextInt64(1, 10_000_000);
            (i % 3 == 0 ? a : b).Record(v);
            all.Record(v);
        }

        a.Add(b);
        Assert.Equal(all.TotalCount, a.TotalCount);
        Assert.Equal(all.ToHgrm(), a.ToHgrm());
        foreach (double p in new[] { 50.0, 99, 99.99 })
        {
            Assert.Equal(all.ValueAtPercentile(p), a.ValueAtPercentile(p));
        }
    }

    [Fact]
    public void Hgrm_IsWellFormed_AndParses()
    {
        var h = new LatencyHistogram();
        var rng = new Random(3);
        for (int i = 0; i < 10_000; i++)
        {
            h.Record(rng.NextInt64(100, 100_000));
        }

        string[] lines = h.ToHgrm().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("       Value     Percentile TotalCount 1/(1-Percentile)", lines[0], StringComparison.Ordinal);
        double lastPercentile = -1;
        long lastCount = 0;
        int rows = 0;
        foreach (string line in lines.Skip(1).TakeWhile(l => !l.StartsWith('#')))
        {
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.InRange(parts.Length, 3, 4);
            double percentile = double.Parse(parts[1], CultureInfo.InvariantCulture);
            long count = long.Parse(parts[2], CultureInfo.InvariantCulture);
            Assert.True(percentile >= lastPercentile && count >= lastCount);
            lastPercentile = percentile;
            lastCount = count;
            rows++;
        }

        Assert.Equal(1.0, lastPercentile);
        Assert.Equal(10_000, lastCount);
        Assert.True(rows > 20);
        Assert.Contains(lines, l => l.StartsWith("#[Max     =", StringComparison.Ordinal));
    }

    [Fact]
    public void Record_DoesNotAllocate()
    {
        var h = new LatencyHistogram();
        GcAssert.NoAllocation(h, static x => x.Record(x.TotalCount * 7919 % 5_000_000));
    }
}
