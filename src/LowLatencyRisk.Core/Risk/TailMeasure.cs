using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LowLatencyRisk.Core.Risk;

/// <summary>
/// Expected shortfall of a risk array read as an equally likely sample of losses, on the fill path:
/// the same number as the sort-based <see cref="RiskMeasures.ExpectedShortfall"/> — (the k-th smallest
/// loss × (k − αn) + Σ of the n − k above it) ÷ ((1 − α)n), k = ⌈αn⌉ — from vector passes that keep only
/// the rows that can be among the m = n − k + 1 largest, summed in the same order, so the two agree to the last bit.
/// </summary>
/// <remarks>
/// <para><b>Why a selection and not a sort.</b> With 500 scenarios at 97.5 % the tail is 13 rows.
/// A first vector pass finds a threshold that at least 13 rows reach (the 13th largest of about 26
/// lane maxima), a second keeps only the rows at or above it — eight rows compared at a time
/// (AVX-512; four with AVX2), one load (and one fused multiply-add for a what-if) per row and pass —
/// and only those few are sorted. A caller that knows where the tail was (the book, after a fill)
/// passes that as a guess and saves the first pass. Nothing is allocated.</para>
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
    public static double ExpectedShortfall(ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, double confidence) =>
        ExpectedShortfall(losses, row, quantity, confidence, double.NaN, out _);

    /// <summary>
    /// As <see cref="ExpectedShortfall(ReadOnlySpan{double}, ReadOnlySpan{double}, double, double)"/>, starting from a
    /// <paramref name="guess"/> at a value that at least m = <see cref="TailRows"/> rows reach (NaN or −∞: none), and
    /// giving back the value-at-risk row's value as <paramref name="boundary"/> — the guess for the next call after a
    /// small change. Any guess gives the same number: when fewer than m rows reach it, the threshold is found as
    /// without one. A good guess saves the first pass and most of the candidates (the book keeps the last boundary
    /// per risk array and lowers it by what a fill can move a row).
    /// </summary>
    public static double ExpectedShortfall(ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, double confidence, double guess, out double boundary)
    {
        int n = losses.Length;
        if (n == 0 || !(confidence is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "A non-empty sample and a confidence in (0, 1).");
        }

        int k = Rank(n, confidence);
        int m = n - k + 1;
        if (m > MaxTailRows || (quantity != 0 && row.Length < n))
        {
            throw new ArgumentException($"The tail of {n} rows at {confidence} needs {m} rows (at most {MaxTailRows}), and a row as long as the array.", nameof(losses));
        }

        // A superset of the m largest (as values), then sorted: the m largest are its last m, ascending.
        Span<double> candidates = stackalloc double[CandidateCapacity(m)];
        int c = 0, reached = 0;
        if (guess > double.NegativeInfinity)
        {
            // A guess far below the tail (a large what-if lowers it by a lot) would fill the buffer again and
            // again: then it is dropped as soon as the buffer is full, and the threshold found instead.
            c = Collect(losses, row, quantity, m, guess, candidates, out reached, giveUpWhenFull: true);
        }

        if (reached < m || c < 0)
        {
            c = Collect(losses, row, quantity, m, Threshold(losses, row, quantity, m), candidates, out _, giveUpWhenFull: false);
        }

        Span<double> sorted = candidates[..c];
        sorted.Sort();
        boundary = sorted[c - m];
        double sum = (k - (confidence * n)) * boundary;
        for (int i = c - m + 1; i < c; i++)
        {
            sum += sorted[i]; // ascending, as the sort-based form adds them
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
        if (n == 0 || !(confidence is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "A non-empty sample and a confidence in (0, 1).");
        }

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

    /// <summary>Room for candidates: four times the tail (a full buffer is compacted to its m largest and filling goes on).</summary>
    private static int CandidateCapacity(int m) => 4 * m;

    /// <summary>
    /// A threshold that at least m rows of losses + quantity × row reach, as high as one vector pass finds
    /// cheaply: the rows are split among about 2m lanes (each lane the running maximum of its own rows) and
    /// the m-th largest of those maxima is taken — m distinct rows are at least that. −∞ (every row) without
    /// vectors or for short arrays.
    /// </summary>
    /// <remarks>
    /// With it, <see cref="Collect"/> keeps about m rows of a random sample (13 of 500 uniform losses at 97.5 %), which are then sorted. (Keeping a
    /// sorted buffer of m and inserting every row above its smallest took about 650 ns for 500 rows on the
    /// session's host: the insertions' branches, not the loads, were the cost.)
    /// </remarks>
    private static double Threshold(ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, int m)
    {
        int n = losses.Length;
        bool withRow = quantity != 0;
        ref double a = ref MemoryMarshal.GetReference(losses);
        ref double r = ref MemoryMarshal.GetReference(row);
        if (Vector512.IsHardwareAccelerated && n >= 8 * Vector512<double>.Count)
        {
            const int Lanes = 8;
            int vectors = n / Lanes;
            int accumulators = Math.Min((2 * m + Lanes - 1) / Lanes, vectors);
            var q = Vector512.Create(quantity);
            Span<double> maxima = stackalloc double[accumulators * Lanes];
            ref double mx = ref MemoryMarshal.GetReference(maxima);
            for (int k = 0; k < accumulators; k++)
            {
                Load512(ref a, ref r, q, withRow, k * Lanes).StoreUnsafe(ref mx, (nuint)(k * Lanes));
            }

            for (int v = accumulators, k = 0; v < vectors; v++, k = k + 1 == accumulators ? 0 : k + 1)
            {
                nuint at = (nuint)(k * Lanes);
                Vector512.Max(Vector512.LoadUnsafe(ref mx, at), Load512(ref a, ref r, q, withRow, v * Lanes)).StoreUnsafe(ref mx, at);
            }

            return MthLargest(maxima, m);
        }

        if (Vector256.IsHardwareAccelerated && n >= 8 * Vector256<double>.Count)
        {
            const int Lanes = 4;
            int vectors = n / Lanes;
            int accumulators = Math.Min((2 * m + Lanes - 1) / Lanes, vectors);
            var q = Vector256.Create(quantity);
            Span<double> maxima = stackalloc double[accumulators * Lanes];
            ref double mx = ref MemoryMarshal.GetReference(maxima);
            for (int k = 0; k < accumulators; k++)
            {
                Load256(ref a, ref r, q, withRow, k * Lanes).StoreUnsafe(ref mx, (nuint)(k * Lanes));
            }

            for (int v = accumulators, k = 0; v < vectors; v++, k = k + 1 == accumulators ? 0 : k + 1)
            {
                nuint at = (nuint)(k * Lanes);
                Vector256.Max(Vector256.LoadUnsafe(ref mx, at), Load256(ref a, ref r, q, withRow, v * Lanes)).StoreUnsafe(ref mx, at);
            }

            return MthLargest(maxima, m);
        }

        return double.NegativeInfinity;
    }

    /// <summary>
    /// Appends to <paramref name="candidates"/> every row of losses + quantity × row at or above
    /// <paramref name="threshold"/> (a full buffer cut to its m largest on the way); <paramref name="reached"/> counts
    /// them all. When at least m rows reach it, the buffer holds the m largest; returns its length — or −1 as soon as
    /// the buffer is full when <paramref name="giveUpWhenFull"/> (the threshold was a guess, and a poor one).
    /// </summary>
    private static int Collect(ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, int m, double threshold, Span<double> candidates, out int reached, bool giveUpWhenFull)
    {
        int n = losses.Length;
        int covered = 0; // rows [0, covered) are read by a vector loop
        int count = 0;
        reached = 0;
        bool withRow = quantity != 0;
        ref double a = ref MemoryMarshal.GetReference(losses);
        ref double r = ref MemoryMarshal.GetReference(row);
        if (Vector512.IsHardwareAccelerated && n >= Vector512<double>.Count)
        {
            const int Lanes = 8;
            int vectors = n / Lanes;
            var q = Vector512.Create(quantity);
            var t = Vector512.Create(threshold);
            for (int v = 0; v < vectors; v++)
            {
                ulong mask = Vector512.GreaterThanOrEqual(Load512(ref a, ref r, q, withRow, v * Lanes), t).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    if (giveUpWhenFull && count == candidates.Length)
                    {
                        return -1;
                    }

                    count = Append(candidates, count, m, Value(losses, row, quantity, (v * Lanes) + BitOperations.TrailingZeroCount(mask)));
                    reached++;
                    mask &= mask - 1;
                }
            }

            covered = vectors * Lanes;
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<double>.Count)
        {
            const int Lanes = 4;
            int vectors = n / Lanes;
            var q = Vector256.Create(quantity);
            var t = Vector256.Create(threshold);
            for (int v = 0; v < vectors; v++)
            {
                uint mask = Vector256.GreaterThanOrEqual(Load256(ref a, ref r, q, withRow, v * Lanes), t).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    if (giveUpWhenFull && count == candidates.Length)
                    {
                        return -1;
                    }

                    count = Append(candidates, count, m, Value(losses, row, quantity, (v * Lanes) + BitOperations.TrailingZeroCount(mask)));
                    reached++;
                    mask &= mask - 1;
                }
            }

            covered = vectors * Lanes;
        }

        for (int j = covered; j < n; j++)
        {
            double x = Value(losses, row, quantity, j);
            if (x >= threshold)
            {
                if (giveUpWhenFull && count == candidates.Length)
                {
                    return -1;
                }

                count = Append(candidates, count, m, x);
                reached++;
            }
        }

        return count;
    }

    /// <summary>Appends <paramref name="x"/>; a full buffer is first cut to its m largest (sorted, moved to the front).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Append(Span<double> candidates, int count, int m, double x)
    {
        if (count == candidates.Length)
        {
            candidates.Sort();
            candidates[^m..].CopyTo(candidates);
            count = m;
        }

        candidates[count] = x;
        return count + 1;
    }

    /// <summary>
    /// The m-th largest of <paramref name="values"/> (−∞ when there are fewer than m: every row is then a candidate):
    /// the largest value that at least m values reach — each value's count of values at or above it by vector
    /// compares, so no branch depends on the data but the loop's.
    /// </summary>
    private static double MthLargest(ReadOnlySpan<double> values, int m)
    {
        int k = values.Length;
        if (k < m)
        {
            return double.NegativeInfinity;
        }

        double best = double.NegativeInfinity;
        ref double first = ref MemoryMarshal.GetReference(values);
        if (k <= 64 && k % Vector256<double>.Count == 0 && Vector256.IsHardwareAccelerated)
        {
            // Up to 64 values: each value's compares with all of them in one 64-bit mask, one popcount, and the
            // value kept or replaced by −∞ with bit masks — a branch on "reached by m" mispredicted about a third
            // of the time (250 ns for 32 values on the session's host).
            Span<long> kept = stackalloc long[k];
            long minusInfinity = BitConverter.DoubleToInt64Bits(double.NegativeInfinity);
            for (int i = 0; i < k; i++)
            {
                double x = Unsafe.Add(ref first, i);
                var bx = Vector256.Create(x);
                ulong bits = 0;
                for (int j = 0; j < k; j += Vector256<double>.Count)
                {
                    bits |= (ulong)Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref first, (nuint)j), bx).ExtractMostSignificantBits() << j;
                }

                long reached = (long)((ulong)(m - 1 - BitOperations.PopCount(bits)) >> 63); // 1 when at least m values reach x
                kept[i] = (BitConverter.DoubleToInt64Bits(x) & -reached) | (minusInfinity & (reached - 1));
            }

            var most = Vector256.Create(double.NegativeInfinity);
            ref double keptFirst = ref Unsafe.As<long, double>(ref MemoryMarshal.GetReference(kept));
            for (int j = 0; j < k; j += Vector256<double>.Count)
            {
                most = Vector256.Max(most, Vector256.LoadUnsafe(ref keptFirst, (nuint)j));
            }

            return Math.Max(Math.Max(most.GetElement(0), most.GetElement(1)), Math.Max(most.GetElement(2), most.GetElement(3)));
        }

        int whole = k - (k % Vector256<double>.Count);
        for (int i = 0; i < k; i++)
        {
            double x = Unsafe.Add(ref first, i);
            var bx = Vector256.Create(x);
            int reach = 0;
            for (int j = 0; j < whole; j += Vector256<double>.Count)
            {
                reach += BitOperations.PopCount(Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref first, (nuint)j), bx).ExtractMostSignificantBits());
            }

            for (int j = whole; j < k; j++)
            {
                reach += Unsafe.Add(ref first, j) >= x ? 1 : 0;
            }

            best = reach >= m ? Math.Max(best, x) : best;
        }

        return best;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Load512(ref double a, ref double r, Vector512<double> q, bool withRow, int i) =>
        withRow ? Vector512.FusedMultiplyAdd(q, Vector512.LoadUnsafe(ref r, (nuint)i), Vector512.LoadUnsafe(ref a, (nuint)i)) : Vector512.LoadUnsafe(ref a, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Load256(ref double a, ref double r, Vector256<double> q, bool withRow, int i) =>
        withRow ? Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref r, (nuint)i), Vector256.LoadUnsafe(ref a, (nuint)i)) : Vector256.LoadUnsafe(ref a, (nuint)i);

    /// <summary>Row j's value, the same fused multiply-add the vector passes form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Value(ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, int j) =>
        quantity != 0 ? Math.FusedMultiplyAdd(quantity, row[j], losses[j]) : losses[j];
}
