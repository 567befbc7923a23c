using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace LowLatencyRisk.Core.Diagnostics;

/// <summary>
/// A log-linear histogram of non-negative integer values (nanoseconds, usually), in the manner of
/// HdrHistogram: values below 2048 are exact; above, each power-of-two range is split into 1024
/// equal sub-buckets, so any value is reported within 1/1024 (about 0.1 %, three significant
/// digits) of itself. Preallocated; <see cref="Record"/> is O(1) and allocation-free.
/// </summary>
/// <remarks>Not thread-safe: one recorder per thread, then <see cref="Add"/> to merge.</remarks>
public sealed class LatencyHistogram
{
    private const int SubBucketHalfBits = 10;
    private const int SubBucketHalf = 1 << SubBucketHalfBits;       // 1024
    private const int SubBucketCount = SubBucketHalf * 2;           // 2048: exact below this

    /// <summary>Largest value recorded as itself; larger values are clamped to it and counted in <see cref="ClampedCount"/>.</summary>
    public const long HighestTrackableValue = (1L << 40) - 1;

    private readonly long[] _counts;

    /// <summary>Creates an empty histogram.</summary>
    public LatencyHistogram()
    {
        _counts = new long[IndexOf(HighestTrackableValue) + 1];
        Min = long.MaxValue;
    }

    /// <summary>Values recorded.</summary>
    public long TotalCount { get; private set; }

    /// <summary>Values above <see cref="HighestTrackableValue"/> (recorded as that value).</summary>
    public long ClampedCount { get; private set; }

    /// <summary>Smallest value recorded (exact), or <see cref="long.MaxValue"/> when empty.</summary>
    public long Min { get; private set; }

    /// <summary>Largest value recorded (exact, unless clamped).</summary>
    public long Max { get; private set; }

    /// <summary>Arithmetic mean of the recorded values (exact sums of the clamped values).</summary>
    public double Mean => TotalCount == 0 ? 0 : _sum / TotalCount;

    private double _sum;

    /// <summary>Records one value; negative values count as 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long value)
    {
        if ((ulong)value > HighestTrackableValue)
        {
            if (value < 0)
            {
                value = 0;
            }
            else
            {
                value = HighestTrackableValue;
                ClampedCount++;
            }
        }

        _counts[IndexOf(value)]++;
        TotalCount++;
        _sum += value;
        if (value < Min)
        {
            Min = value;
        }

        if (value > Max)
        {
            Max = value;
        }
    }

    /// <summary>Adds every count of <paramref name="other"/> to this one (merge across threads).</summary>
    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        TotalCount += other.TotalCount;
        ClampedCount += other.ClampedCount;
        _sum += other._sum;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>Forgets every value.</summary>
    public void Reset()
    {
        Array.Clear(_counts);
        TotalCount = 0;
        ClampedCount = 0;
        _sum = 0;
        Min = long.MaxValue;
        Max = 0;
    }

    /// <summary>
    /// The value at <paramref name="percentile"/> (0..100): the highest value equivalent to the
    /// smallest recorded value with at least that share of values at or below it, capped at <see cref="Max"/>.
    /// </summary>
    public long ValueAtPercentile(double percentile)
    {
        if (TotalCount == 0)
        {
            return 0;
        }

        double p = Math.Clamp(percentile, 0, 100);
        long target = Math.Max(1, (long)Math.Ceiling(p / 100.0 * TotalCount));
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= target)
            {
                return Math.Min(HighestEquivalent(i), Max);
            }
        }

        return Max;
    }

    /// <summary>Index of the bucket holding <paramref name="value"/> (0 ≤ value ≤ <see cref="HighestTrackableValue"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int IndexOf(long value)
    {
        // Magnitude: how many low bits are dropped so the value fits 11 bits with its top bit set.
        int magnitude = Math.Max(0, 63 - BitOperations.LeadingZeroCount((ulong)value | (SubBucketCount - 1)) - SubBucketHalfBits);
        return (magnitude * SubBucketHalf) + (int)(value >> magnitude);
    }

    /// <summary>Smallest value that falls into bucket <paramref name="index"/>.</summary>
    internal static long LowestEquivalent(int index)
    {
        if (index < SubBucketCount)
        {
            return index;
        }

        int magnitude = (index / SubBucketHalf) - 1;
        return (long)(index - (magnitude * SubBucketHalf)) << magnitude;
    }

    /// <summary>Largest value that falls into bucket <paramref name="index"/>.</summary>
    internal static long HighestEquivalent(int index)
    {
        int magnitude = index < SubBucketCount ? 0 : (index / SubBucketHalf) - 1;
        return LowestEquivalent(index) + (1L << magnitude) - 1;
    }

    /// <summary>
    /// The percentile distribution in HdrHistogram's <c>.hgrm</c> text format (what its plotters
    /// read), values divided by <paramref name="outputScale"/> (1000 turns ns into µs).
    /// </summary>
    public string ToHgrm(double outputScale = 1000.0, int ticksPerHalfDistance = 5)
    {
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.Append(c, $"{"Value",12} {"Percentile",14} {"TotalCount",10} {"1/(1-Percentile)",14}\n\n");
        if (TotalCount > 0)
        {
            // HdrHistogram's percentile iteration: ticksPerHalfDistance steps each time the
            // remaining distance to 100 % halves.
            double percentileTo = 0;
            long seen = 0;
            int index = 0;
            while (true)
            {
                long target = Math.Max(1, (long)Math.Ceiling(percentileTo / 100.0 * TotalCount));
                while (seen < target && index < _counts.Length)
                {
                    seen += _counts[index++];
                }

                long value = Math.Min(HighestEquivalent(Math.Max(0, index - 1)), Max);
                double reported = (double)seen / TotalCount;
                if (reported >= 1.0)
                {
                    sb.Append(c, $"{value / outputScale,12:F3} {1.0,14:F12} {seen,10}\n");
                    break;
                }

                sb.Append(c, $"{value / outputScale,12:F3} {reported,14:F12} {seen,10} {1.0 / (1.0 - reported),14:F2}\n");
                double halfDistance = Math.Pow(2, Math.Floor(Math.Log2(100.0 / (100.0 - percentileTo))) + 1);
                percentileTo += 100.0 / (halfDistance * ticksPerHalfDistance);
                if (percentileTo > reported * 100.0 + 1e-12)
                {
                    continue;
                }

                percentileTo = reported * 100.0 + 1e-9;
            }
        }

        double variance = 0;
        if (TotalCount > 0)
        {
            double mean = Mean;
            for (int i = 0; i < _counts.Length; i++)
            {
                if (_counts[i] != 0)
                {
                    double d = ((LowestEquivalent(i) + HighestEquivalent(i)) / 2.0) - mean;
                    variance += d * d * _counts[i];
                }
            }

            variance /= TotalCount;
        }

        sb.Append(c, $"#[Mean    = {Mean / outputScale,12:F3}, StdDeviation   = {Math.Sqrt(variance) / outputScale,12:F3}]\n");
        sb.Append(c, $"#[Max     = {Max / outputScale,12:F3}, Total count    = {TotalCount,12}]\n");
        sb.Append(c, $"#[Buckets = {(_counts.Length / SubBucketHalf) - 1,12}, SubBuckets     = {SubBucketCount,12}]\n");
        return sb.ToString();
    }
}
