using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LowLatencyRisk.Core.Risk;

/// <summary>
/// Expected shortfall of a risk array read as an equally likely sample of losses, on the fill path:
/// the same number as the sort-based <see cref="RiskMeasures.ExpectedShortfall"/> — (the k-th smallest
/// loss × (k − αn) + Σ of the n − k above it) ÷ ((1 − α)n), k = ⌈αn⌉ — from one pass that keeps only
/// the m = n − k + 1 largest, summed in the same order, so the two agree to the last bit.
/// </summary>
/// <remarks>
/// <para><b>Why a selection and not a sort.</b> With 500 scenarios at 97.5 % the tail is 13 rows.
/// The pass keeps them in a short descending buffer on the stack; a vector compares eight (AVX-512)
/// or four losses at a time with the buffer's smallest, and only a lane above it is inserted. After
/// the first few dozen rows almost every vector is rejected by one compare, so the pass costs about
/// one load (and one fused multiply-add for a what-if) per row. Nothing is allocated.</para>
/// <para>The what-if form reads array + quantity × row without writing the sum: each value is the
/// same fused multiply-add in the vector and the scalar code, so the buffer holds the same numbers
/// whichever path met them.</para>
/// </remarks>
public static class TailMeasure
{
    /// <summary>Most rows a tail may hold (the selection buffer lives on the stack).</summary>
    public const int MaxTailRows = 256;

    /// <summary>The rank k = ⌈αn⌉ (clamped to 1..n) of the value-at-risk row, as <see cref="RiskMeasures"/> counts it.</summary>
    public static int Rank(int n, double confidence) => Math.Clamp((int)Math.Ceiling((confidence * n) - 1e-9), 1, n);

    /// <summary>Rows the expected shortfall reads: the value-at-risk row and every one above it, n − k + 1.</summary>
    public static int TailRows(int n, double confidence) => n - Rank(n, confidence) + 1;

    /// <summary>
    /// Expected shortfall at <paramref name="confidence"/> of <paramref name="losses"/> + <paramref name="quantity"/> ×
    /// <paramref name="row"/> (<paramref name="row"/> is read only when <paramref name="quantity"/> is not 0).
    /// Not floored: the scan risk floors it at 0.
    /// </summary>
    public static double ExpectedShortfall(ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, double confidence)
    {
        int n = losses.Length;
        int k = Rank(n, confidence);
        int m = n - k + 1;
        if (m > MaxTailRows || (quantity != 0 && row.Length < n))
        {
            throw new ArgumentException($"The tail of {n} rows at {confidence} needs {m} rows (at most {MaxTailRows}), and a row as long as the array.", nameof(losses));
        }

        Span<double> top = stackalloc double[m];
        Largest(losses, row, quantity, top);
        double sum = (k - (confidence * n)) * top[m - 1];
        for (int i = m - 2; i >= 0; i--)
        {
            sum += top[i]; // ascending, as the sort-based form adds them
        }

        return sum / ((1 - confidence) * n);
    }

    /// <summary>
    /// The rows of the tail, heaviest first, into <paramref name="rows"/> (length ≥ <see cref="TailRows"/>), and
    /// the weight each carries in the expected shortfall: the value-at-risk row (the last) (k − αn) ÷ ((1 − α)n),
    /// every other 1 ÷ ((1 − α)n) — so Σ weight × loss over them is the expected shortfall, and a position's
    /// Σ weight × its own row there is its contribution (they add up to the account's). Ties go to the
    /// earlier row. Off the fill path (liquidation ranking): a plain O(n × m) selection.
    /// </summary>
    public static int TailScenarios(ReadOnlySpan<double> losses, double confidence, Span<int> rows, out double weight, out double boundaryWeight)
    {
        int n = losses.Length;
        int k = Rank(n, confidence);
        int m = n - k + 1;
        if (rows.Length < m)
        {
            throw new ArgumentException($"Need room for {m} rows.", nameof(rows));
        }

        int count = 0;
        for (int j = 0; j < n; j++)
        {
            double x = losses[j];
            int at = Math.Min(count, m);
            while (at > 0 && losses[rows[at - 1]] < x)
            {
                if (at < m)
                {
                    rows[at] = rows[at - 1];
                }

                at--;
            }

            if (at < m)
            {
                rows[at] = j;
                count = Math.Min(count + 1, m);
            }
        }

        double tail = (1 - confidence) * n;
        weight = 1 / tail;
        boundaryWeight = (k - (confidence * n)) / tail;
        return m;
    }

    /// <summary>The <c>top.Length</c> largest of losses + quantity × row, descending, into <paramref name="top"/>.</summary>
    private static void Largest(ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, Span<double> top)
    {
        int n = losses.Length;
        int m = top.Length;
        bool withRow = quantity != 0;
        ref double a = ref MemoryMarshal.GetReference(losses);
        ref double r = ref MemoryMarshal.GetReference(row);
        for (int j = 0; j < m; j++)
        {
            Insert(top, j, withRow ? Math.FusedMultiplyAdd(quantity, Unsafe.Add(ref r, j), Unsafe.Add(ref a, j)) : Unsafe.Add(ref a, j));
        }

        double threshold = top[m - 1];
        int i = m;
        if (Vector512.IsHardwareAccelerated)
        {
            var q = Vector512.Create(quantity);
            for (; i <= n - 8; i += 8)
            {
                var v = Vector512.LoadUnsafe(ref a, (nuint)i);
                if (withRow)
                {
                    v = Vector512.FusedMultiplyAdd(q, Vector512.LoadUnsafe(ref r, (nuint)i), v);
                }

                if (Vector512.GreaterThanAny(v, Vector512.Create(threshold)))
                {
                    threshold = InsertAbove(top, losses, row, quantity, i, 8, threshold);
                }
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            var q = Vector256.Create(quantity);
            for (; i <= n - 4; i += 4)
            {
                var v = Vector256.LoadUnsafe(ref a, (nuint)i);
                if (withRow)
                {
                    v = Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref r, (nuint)i), v);
                }

                if (Vector256.GreaterThanAny(v, Vector256.Create(threshold)))
                {
                    threshold = InsertAbove(top, losses, row, quantity, i, 4, threshold);
                }
            }
        }

        threshold = InsertAbove(top, losses, row, quantity, i, n - i, threshold);
    }

    /// <summary>Inserts every value of rows [from, from + count) above the threshold; returns the new threshold (the buffer's smallest).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // the rare path: kept out of the vector loop's body
    private static double InsertAbove(Span<double> top, ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, int from, int count, double threshold)
    {
        bool withRow = quantity != 0;
        int m = top.Length;
        for (int j = from; j < from + count; j++)
        {
            double x = withRow ? Math.FusedMultiplyAdd(quantity, row[j], losses[j]) : losses[j];
            if (x > threshold)
            {
                Insert(top, m - 1, x);
                threshold = top[m - 1];
            }
        }

        return threshold;
    }

    /// <summary>Inserts <paramref name="x"/> into the descending top[0..filled], dropping top[filled] (or filling it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Insert(Span<double> top, int filled, double x)
    {
        int at = filled;
        while (at > 0 && top[at - 1] < x)
        {
            top[at] = top[at - 1];
            at--;
        }

        top[at] = x;
    }
}
