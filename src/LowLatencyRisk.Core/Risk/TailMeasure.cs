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
/// and only those few are put in order (by rank). A caller that knows where the tail was (the book,
/// after a fill) passes that as a guess and saves the first pass. Nothing is allocated.</para>
/// <para>The sample a pass reads is formed in the pass and never written: an array, array + quantity ×
/// row (a what-if), the sum of two or four arrays (an account's joint sample), or — the fill's form — an
/// array that the pass itself updates by quantity × row as it reads it. Each value is the same fused
/// multiply-add and the same additions in the vector and the scalar code, so the candidates hold the
/// same numbers whichever path met them, and the result is that of the sum formed first.</para>
/// </remarks>
public static class TailMeasure
{
    /// <summary>Most rows a tail may hold (the selection buffer lives on the stack, or in the caller's scratch).</summary>
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
    public static double ExpectedShortfall(ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, double confidence, double guess, out double boundary) =>
        ExpectedShortfall(losses, row, quantity, default, confidence, guess, out boundary);

    /// <summary>
    /// The expected shortfall of a sum of two samples, (<paramref name="losses"/> + <paramref name="quantity"/> ×
    /// <paramref name="row"/>) + <paramref name="plus"/> row by row (<paramref name="plus"/> empty: none), measured
    /// without writing the sum: the number the other forms give for that sum formed first (each value is the same
    /// fused multiply-add and the same addition in every pass), from the same passes reading both samples. The book's
    /// joint sample of an account holding two underlyings (the two risk arrays, one of them with a what-if's row).
    /// </summary>
    public static double ExpectedShortfall(ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, ReadOnlySpan<double> plus, double confidence, double guess, out double boundary)
    {
        Check(losses, confidence, out int m);
        return ExpectedShortfall(losses, row, quantity, plus, confidence, guess, out boundary, stackalloc double[ScratchLength(m)]);
    }

    /// <summary>
    /// As the public form, in <paramref name="scratch"/> (at least <see cref="ScratchLength(int, double)"/> values) instead
    /// of the stack: the book lends one, so nothing is zeroed per measure (a stack buffer is, and at 500 rows that was a
    /// tenth of the measure).
    /// </summary>
    internal static double ExpectedShortfall(ReadOnlySpan<double> losses, ReadOnlySpan<double> row, double quantity, ReadOnlySpan<double> plus, double confidence, double guess, out double boundary, Span<double> scratch)
    {
        int n = Check(losses, confidence, out int m);
        if ((quantity != 0 && row.Length < n) || (!plus.IsEmpty && plus.Length < n))
        {
            throw new ArgumentException($"A row and a second sample as long as the array ({n}).", nameof(losses));
        }

        ref double a = ref MemoryMarshal.GetReference(losses);
        if (plus.IsEmpty)
        {
            if (quantity == 0)
            {
                var own = new Own(ref a);
                return Measure(ref own, n, m, confidence, guess, out boundary, scratch);
            }

            var withRow = new WithRow(ref a, ref MemoryMarshal.GetReference(row), quantity);
            return Measure(ref withRow, n, m, confidence, guess, out boundary, scratch);
        }

        if (quantity == 0)
        {
            var pair = new Pair(ref a, ref MemoryMarshal.GetReference(plus));
            return Measure(ref pair, n, m, confidence, guess, out boundary, scratch);
        }

        var pairWithRow = new PairWithRow(ref a, ref MemoryMarshal.GetReference(row), quantity, ref MemoryMarshal.GetReference(plus));
        return Measure(ref pairWithRow, n, m, confidence, guess, out boundary, scratch);
    }

    /// <summary>
    /// A fill and its measure in one pass: <paramref name="losses"/> becomes <paramref name="losses"/> +
    /// <paramref name="quantity"/> × <paramref name="row"/> (each element the fused multiply-add
    /// <see cref="ExpectedShortfall(ReadOnlySpan{double}, ReadOnlySpan{double}, double, ReadOnlySpan{double}, double, double, out double)"/>
    /// forms), and the expected shortfall of the new <paramref name="losses"/> + <paramref name="plus"/> is returned —
    /// the same number as applying the fill first and measuring after, with one read of each array instead of two.
    /// The book's fill of an account holding two underlyings.
    /// </summary>
    public static double ApplyAndMeasure(Span<double> losses, ReadOnlySpan<double> row, double quantity, ReadOnlySpan<double> plus, double confidence, double guess, out double boundary)
    {
        Check(losses, confidence, out int m);
        return ApplyAndMeasure(losses, row, quantity, plus, confidence, guess, out boundary, stackalloc double[ScratchLength(m)]);
    }

    /// <summary>As the public form, in <paramref name="scratch"/> (see the internal <see cref="ExpectedShortfall(ReadOnlySpan{double}, ReadOnlySpan{double}, double, ReadOnlySpan{double}, double, double, out double, Span{double})"/>).</summary>
    internal static double ApplyAndMeasure(Span<double> losses, ReadOnlySpan<double> row, double quantity, ReadOnlySpan<double> plus, double confidence, double guess, out double boundary, Span<double> scratch)
    {
        int n = Check(losses, confidence, out int m);
        if (row.Length < n || (!plus.IsEmpty && plus.Length < n))
        {
            throw new ArgumentException($"A row and a second sample as long as the array ({n}).", nameof(losses));
        }

        ref double a = ref MemoryMarshal.GetReference(losses);
        ref double r = ref MemoryMarshal.GetReference(row);
        if (plus.IsEmpty)
        {
            var alone = new PairApplying(ref a, ref r, quantity, ref a, plus: false);
            var written = new Own(ref a);
            return MeasureApplying(ref alone, ref written, n, m, confidence, guess, out boundary, scratch);
        }

        ref double b = ref MemoryMarshal.GetReference(plus);
        var pair = new PairApplying(ref a, ref r, quantity, ref b, plus: true);
        var writtenPair = new Pair(ref a, ref b);
        return MeasureApplying(ref pair, ref writtenPair, n, m, confidence, guess, out boundary, scratch);
    }

    /// <summary>
    /// The expected shortfall of ((<paramref name="plus0"/> + <paramref name="plus1"/>) + <paramref name="plus2"/>) +
    /// (<paramref name="losses"/> + <paramref name="quantity"/> × <paramref name="row"/>) row by row — the joint sample
    /// of an account holding three or four underlyings (three others, or two and an array of zeros, and the one a
    /// fill or what-if changes) — measured without writing it. <paramref name="apply"/>: the fill is written into
    /// <paramref name="losses"/> in the same pass (as <see cref="ApplyAndMeasure(Span{double}, ReadOnlySpan{double}, double, ReadOnlySpan{double}, double, double, out double)"/>);
    /// otherwise <paramref name="losses"/> is only read. Every span as long as the sample.
    /// </summary>
    internal static double JointOfFour(Span<double> losses, ReadOnlySpan<double> row, double quantity, bool apply, ReadOnlySpan<double> plus0, ReadOnlySpan<double> plus1, ReadOnlySpan<double> plus2, double confidence, double guess, out double boundary, Span<double> scratch)
    {
        int n = Check(losses, confidence, out int m);
        if ((quantity != 0 && row.Length < n) || plus0.Length < n || plus1.Length < n || plus2.Length < n)
        {
            throw new ArgumentException($"A row and three other samples as long as the array ({n}).", nameof(losses));
        }

        ref double a = ref MemoryMarshal.GetReference(losses);
        ref double r = ref MemoryMarshal.GetReference(row);
        ref double b0 = ref MemoryMarshal.GetReference(plus0);
        ref double b1 = ref MemoryMarshal.GetReference(plus1);
        ref double b2 = ref MemoryMarshal.GetReference(plus2);
        if (apply && quantity != 0)
        {
            var applying = new FourApplying(ref a, ref r, quantity, ref b0, ref b1, ref b2);
            var written = new Four(ref a, ref b0, ref b1, ref b2);
            return MeasureApplying(ref applying, ref written, n, m, confidence, guess, out boundary, scratch);
        }

        if (quantity == 0)
        {
            var four = new Four(ref a, ref b0, ref b1, ref b2);
            return Measure(ref four, n, m, confidence, guess, out boundary, scratch);
        }

        var withRow = new FourWithRow(ref a, ref r, quantity, ref b0, ref b1, ref b2);
        return Measure(ref withRow, n, m, confidence, guess, out boundary, scratch);
    }

    /// <summary>
    /// A fill written by <paramref name="applying"/> as it is read, and the expected shortfall of the result: collected
    /// in that one pass from the guess; when the guess fails (or there is none) the pass still writes every row once,
    /// and <paramref name="written"/> — the same sample read after the writes — is measured without a guess.
    /// </summary>
    private static double MeasureApplying<TApplying, TWritten>(scoped ref TApplying applying, scoped ref TWritten written, int n, int m, double confidence, double guess, out double boundary, Span<double> scratch)
        where TApplying : struct, ISample, allows ref struct
        where TWritten : struct, ISample, allows ref struct
    {
        if (guess > double.NegativeInfinity)
        {
            Span<double> candidates = scratch[..CandidateCapacity(m)];
            int c = Collect(ref applying, n, m, guess, candidates, out int reached, giveUpWhenFull: true);
            if (reached >= m && c >= 0)
            {
                return FromCandidates(candidates[..c], n, m, confidence, out boundary, scratch[CandidateCapacity(m)..]);
            }
        }
        else
        {
            ApplyAll(ref applying, n);
        }

        return Measure(ref written, n, m, confidence, double.NaN, out boundary, scratch);
    }

    /// <summary>Reads every row of a writing sample once, so its writes are done.</summary>
    private static void ApplyAll<TSample>(scoped ref TSample sample, int n)
        where TSample : struct, ISample, allows ref struct
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<double>.Count; i += Vector512<double>.Count)
            {
                sample.V512((nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<double>.Count; i += Vector256<double>.Count)
            {
                sample.V256((nuint)i);
            }
        }

        for (; i < n; i++)
        {
            sample.At((nuint)i);
        }
    }

    /// <summary>Validates the sample and the confidence; returns n and the tail's row count m.</summary>
    private static int Check(ReadOnlySpan<double> losses, double confidence, out int m)
    {
        int n = losses.Length;
        if (n == 0 || !(confidence is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "A non-empty sample and a confidence in (0, 1).");
        }

        m = n - Rank(n, confidence) + 1;
        if (m > MaxTailRows)
        {
            throw new ArgumentException($"The tail of {n} rows at {confidence} needs {m} rows (at most {MaxTailRows}).", nameof(losses));
        }

        return n;
    }

    private static double Measure<TSample>(scoped ref TSample sample, int n, int m, double confidence, double guess, out double boundary, Span<double> scratch)
        where TSample : struct, ISample, allows ref struct
    {
        // A superset of the m largest (as values); the m largest are then put in order.
        Span<double> candidates = scratch[..CandidateCapacity(m)];
        int c = 0, reached = 0;
        if (guess > double.NegativeInfinity)
        {
            // A guess far below the tail (a large what-if lowers it by a lot) would fill the buffer again and
            // again: then it is dropped as soon as the buffer is full, and the threshold found instead.
            c = Collect(ref sample, n, m, guess, candidates, out reached, giveUpWhenFull: true);
        }

        if (reached < m || c < 0)
        {
            c = Collect(ref sample, n, m, Threshold(ref sample, n, m), candidates, out _, giveUpWhenFull: false);
        }

        return FromCandidates(candidates[..c], n, m, confidence, out boundary, scratch[CandidateCapacity(m)..]);
    }

    /// <summary>The expected shortfall from a superset of the m largest values: those m in ascending order, summed as the sort-based form adds them.</summary>
    private static double FromCandidates(Span<double> candidates, int n, int m, double confidence, out double boundary, Span<double> top)
    {
        int k = n - m + 1;
        if (candidates.Length < m)
        {
            // Fewer than m rows reach even the threshold every finite row reaches: the sample is mostly NaN (a
            // non-finite value the book never admits, but never a read of a previous measure's scratch): not a number.
            boundary = double.NaN;
            return double.NaN;
        }

        // top: the m largest ascending, and a slot the others are written to
        Largest(candidates, m, top);
        boundary = top[0];
        double sum = (k - (confidence * n)) * boundary;
        for (int i = 1; i < m; i++)
        {
            sum += top[i]; // ascending, as the sort-based form adds them
        }

        return sum / ((1 - confidence) * n);
    }

    /// <summary>
    /// The <paramref name="m"/> largest of <paramref name="candidates"/> into <paramref name="top"/>[0..m) in ascending
    /// order (<paramref name="top"/> has m + 1 slots). Up to 64 candidates — what a good guess or the threshold
    /// leaves — by rank: each candidate's rank (how many are larger, or equal and earlier: a strict order, so the
    /// ranks are a permutation) from vector compares against all of them, and the candidate written to its place,
    /// or to the spare slot when it is not among the m — no branch on the data, where a sort of 17 values spent
    /// most of its time in mispredicted branches. More: a sort.
    /// </summary>
    private static void Largest(Span<double> candidates, int m, Span<double> top)
    {
        int c = candidates.Length;
        ref double first = ref MemoryMarshal.GetReference(candidates);
        if (c <= 64 && Vector256.IsHardwareAccelerated)
        {
            // The buffer has room past c up to a whole number of vectors (CandidateCapacity); those lanes are masked off.
            ulong valid = c == 64 ? ulong.MaxValue : (1UL << c) - 1;
            ref double slot = ref MemoryMarshal.GetReference(top);
            for (int i = 0; i < c; i++)
            {
                double x = Unsafe.Add(ref first, i);
                ulong larger = 0, equal = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var bx = Vector512.Create(x);
                    for (int j = 0; j < c; j += Vector512<double>.Count)
                    {
                        var y = Vector512.LoadUnsafe(ref first, (nuint)j);
                        larger |= Vector512.GreaterThan(y, bx).ExtractMostSignificantBits() << j;
                        equal |= Vector512.Equals(y, bx).ExtractMostSignificantBits() << j;
                    }
                }
                else
                {
                    var bx = Vector256.Create(x);
                    for (int j = 0; j < c; j += Vector256<double>.Count)
                    {
                        var y = Vector256.LoadUnsafe(ref first, (nuint)j);
                        larger |= (ulong)Vector256.GreaterThan(y, bx).ExtractMostSignificantBits() << j;
                        equal |= (ulong)Vector256.Equals(y, bx).ExtractMostSignificantBits() << j;
                    }
                }

                int rank = BitOperations.PopCount((larger | (equal & ((1UL << i) - 1))) & valid);
                int at = m - 1 - rank; // rank 0 (the largest) last
                Unsafe.Add(ref slot, at >= 0 ? at : m) = x;
            }

            return;
        }

        candidates.Sort();
        candidates[(c - m)..].CopyTo(top);
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

    /// <summary>
    /// The candidate buffer's length: room for four times the tail (a full buffer is cut to its m largest and
    /// filling goes on), at least 56, and one vector more, so the rank ordering may read whole vectors up to 64
    /// slots.
    /// </summary>
    private static int CandidateCapacity(int m) => Math.Max(4 * m, 56) + Vector512<double>.Count;

    /// <summary>Scratch a measure of a tail of <paramref name="m"/> rows needs: the candidates, then the m largest and a spare slot.</summary>
    private static int ScratchLength(int m) => CandidateCapacity(m) + m + 1;

    /// <summary>Scratch a measure of <paramref name="n"/> rows at <paramref name="confidence"/> needs (the internal forms that take one).</summary>
    internal static int ScratchLength(int n, double confidence) => ScratchLength(TailRows(n, confidence));

    /// <summary>
    /// A threshold that at least m rows of the sample reach, as high as one vector pass finds cheaply: the rows
    /// are split among about 2m lanes (each lane the running maximum of its own rows) and the m-th largest of
    /// those maxima is taken — m distinct rows are at least that. −∞ (every row) without vectors or for short arrays.
    /// </summary>
    /// <remarks>
    /// With it, <see cref="Collect"/> keeps about m rows of a random sample (13 of 500 uniform losses at 97.5 %), which are then put in order.
    /// (Keeping a sorted buffer of m and inserting every row above its smallest took about 650 ns for 500 rows on
    /// the host of the session that wrote this: the insertions' branches, not the loads, were the cost.)
    /// </remarks>
    private static double Threshold<TSample>(scoped ref TSample sample, int n, int m)
        where TSample : struct, ISample, allows ref struct
    {
        if (Vector512.IsHardwareAccelerated && n >= 8 * Vector512<double>.Count)
        {
            const int Lanes = 8;
            int vectors = n / Lanes;
            int accumulators = Math.Min((2 * m + Lanes - 1) / Lanes, vectors);
            Span<double> maxima = stackalloc double[accumulators * Lanes];
            ref double mx = ref MemoryMarshal.GetReference(maxima);
            for (int k = 0; k < accumulators; k++)
            {
                sample.V512((nuint)(k * Lanes)).StoreUnsafe(ref mx, (nuint)(k * Lanes));
            }

            for (int v = accumulators, k = 0; v < vectors; v++, k = k + 1 == accumulators ? 0 : k + 1)
            {
                nuint at = (nuint)(k * Lanes);
                Vector512.Max(Vector512.LoadUnsafe(ref mx, at), sample.V512((nuint)(v * Lanes))).StoreUnsafe(ref mx, at);
            }

            return MthLargest(maxima, m);
        }

        if (Vector256.IsHardwareAccelerated && n >= 8 * Vector256<double>.Count)
        {
            const int Lanes = 4;
            int vectors = n / Lanes;
            int accumulators = Math.Min((2 * m + Lanes - 1) / Lanes, vectors);
            Span<double> maxima = stackalloc double[accumulators * Lanes];
            ref double mx = ref MemoryMarshal.GetReference(maxima);
            for (int k = 0; k < accumulators; k++)
            {
                sample.V256((nuint)(k * Lanes)).StoreUnsafe(ref mx, (nuint)(k * Lanes));
            }

            for (int v = accumulators, k = 0; v < vectors; v++, k = k + 1 == accumulators ? 0 : k + 1)
            {
                nuint at = (nuint)(k * Lanes);
                Vector256.Max(Vector256.LoadUnsafe(ref mx, at), sample.V256((nuint)(v * Lanes))).StoreUnsafe(ref mx, at);
            }

            return MthLargest(maxima, m);
        }

        return double.NegativeInfinity;
    }

    /// <summary>
    /// Appends to <paramref name="candidates"/> every row of the sample at or above <paramref name="threshold"/> (a
    /// full buffer cut to its m largest on the way, the threshold raised to the smallest of them); <paramref name="reached"/>
    /// counts them all. When at least m rows reach it, the buffer holds the m largest; returns its length — or −1
    /// when the buffer filled and <paramref name="giveUpWhenFull"/> (the threshold was a guess, and a poor one): a
    /// sample that reads only stops there, one that writes (<see cref="ISample.Writes"/>) goes on to the end, so every
    /// row is written once.
    /// </summary>
    /// <remarks>
    /// Eight rows (AVX-512) or four (AVX2) are compared at a time; a vector's hits — rare once the threshold is
    /// near the tail — are kept one by one. Packing them branch-free instead (<c>vcompresspd</c>, register form, and a
    /// whole-register store per vector; commit 94dd780) measured slower on the session's Intel host — two uops on the
    /// shuffle port per eight rows cost more than the mispredicted branches of the few vectors with hits
    /// (perf/results/2026-12-01-joint-tail-pass).
    /// </remarks>
    private static int Collect<TSample>(scoped ref TSample sample, int n, int m, double threshold, scoped Span<double> candidates, out int reached, bool giveUpWhenFull)
        where TSample : struct, ISample, allows ref struct
    {
        int room = candidates.Length - Vector512<double>.Count; // most values kept (the slots past it keep 64 readable for the ranks)
        int covered = 0; // rows [0, covered) are read by a vector loop
        int count = 0;
        bool full = false;
        reached = 0;
        ref double kept = ref MemoryMarshal.GetReference(candidates);
        if (Vector512.IsHardwareAccelerated && n >= Vector512<double>.Count)
        {
            const int Lanes = 8;
            int vectors = n / Lanes;
            var t = Vector512.Create(threshold);
            for (int v = 0; v < vectors; v++)
            {
                var x = sample.V512((nuint)(v * Lanes));
                ulong mask = Vector512.GreaterThanOrEqual(x, t).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    if (!Keep(candidates, ref count, room, m, ref threshold, x.GetElement(BitOperations.TrailingZeroCount(mask)), giveUpWhenFull, ref full) && !TSample.Writes)
                    {
                        return -1;
                    }

                    reached++;
                    mask &= mask - 1;
                }

                t = Vector512.Create(threshold); // raised when a full buffer was cut
            }

            covered = vectors * Lanes;
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<double>.Count)
        {
            const int Lanes = 4;
            int vectors = n / Lanes;
            for (int v = 0; v < vectors; v++)
            {
                var x = sample.V256((nuint)(v * Lanes));
                uint mask = Vector256.GreaterThanOrEqual(x, Vector256.Create(threshold)).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    if (!Keep(candidates, ref count, room, m, ref threshold, x.GetElement(BitOperations.TrailingZeroCount(mask)), giveUpWhenFull, ref full) && !TSample.Writes)
                    {
                        return -1;
                    }

                    reached++;
                    mask &= mask - 1;
                }
            }

            covered = vectors * Lanes;
        }

        for (int j = covered; j < n; j++)
        {
            double x = sample.At((nuint)j);
            if (x >= threshold)
            {
                if (!Keep(candidates, ref count, room, m, ref threshold, x, giveUpWhenFull, ref full) && !TSample.Writes)
                {
                    return -1;
                }

                reached++;
            }
        }

        return full ? -1 : count;
    }

    /// <summary>
    /// Keeps <paramref name="x"/> (one at a time: the AVX2 and scalar collects); a full buffer is cut to its m
    /// largest first — or, when <paramref name="giveUpWhenFull"/>, <paramref name="full"/> is set, the buffer
    /// restarts, and false is returned.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Keep(scoped Span<double> candidates, ref int count, int room, int m, ref double threshold, double x, bool giveUpWhenFull, ref bool full)
    {
        if (count == room)
        {
            if (giveUpWhenFull)
            {
                full = true;
                count = 0;
                return false;
            }

            count = Compact(candidates, count, m, ref threshold);
        }

        candidates[count++] = x;
        return true;
    }

    /// <summary>
    /// Cuts the first <paramref name="count"/> candidates to their m largest (moved to the front) and raises the
    /// threshold to the smallest of them: m rows reach it, so no row below it is among the m largest.
    /// </summary>
    private static int Compact(scoped Span<double> candidates, int count, int m, ref double threshold)
    {
        Span<double> full = candidates[..count];
        full.Sort();
        full[(count - m)..].CopyTo(candidates);
        threshold = Math.Max(threshold, candidates[0]);
        return m;
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

    /// <summary>
    /// A sample the passes read row by row: eight (AVX-512), four (AVX2) or one at a time, each value formed the same
    /// way at every width (the same fused multiply-add, the same addition), so a value is the same whichever pass
    /// met it. Structs, so each pass is compiled for its sample and the loads are inlined (as Disruptor-net's
    /// struct handlers are).
    /// </summary>
    private interface ISample
    {
        /// <summary>Whether reading a row writes it (a fill applied in the pass): such a sample is read once, to the end.</summary>
        static abstract bool Writes { get; }

        Vector512<double> V512(nuint i);

        Vector256<double> V256(nuint i);

        double At(nuint i);
    }

    /// <summary>The array as it is.</summary>
    private readonly ref struct Own(ref double a) : ISample
    {
        private readonly ref double _a = ref a;

        public static bool Writes => false;

        public Vector512<double> V512(nuint i) => Vector512.LoadUnsafe(ref _a, i);

        public Vector256<double> V256(nuint i) => Vector256.LoadUnsafe(ref _a, i);

        public double At(nuint i) => Unsafe.Add(ref _a, i);
    }

    /// <summary>array + q × row (a what-if), one fused multiply-add per value.</summary>
    private readonly ref struct WithRow(ref double a, ref double r, double q) : ISample
    {
        private readonly ref double _a = ref a;
        private readonly ref double _r = ref r;
        private readonly double _q = q;

        public static bool Writes => false;

        public Vector512<double> V512(nuint i) => Vector512.FusedMultiplyAdd(Vector512.Create(_q), Vector512.LoadUnsafe(ref _r, i), Vector512.LoadUnsafe(ref _a, i));

        public Vector256<double> V256(nuint i) => Vector256.FusedMultiplyAdd(Vector256.Create(_q), Vector256.LoadUnsafe(ref _r, i), Vector256.LoadUnsafe(ref _a, i));

        public double At(nuint i) => Math.FusedMultiplyAdd(_q, Unsafe.Add(ref _r, i), Unsafe.Add(ref _a, i));
    }

    /// <summary>a + b: two underlyings' arrays, the joint sample (addition of two values is commutative, so either order is the same sum).</summary>
    private readonly ref struct Pair(ref double a, ref double b) : ISample
    {
        private readonly ref double _a = ref a;
        private readonly ref double _b = ref b;

        public static bool Writes => false;

        public Vector512<double> V512(nuint i) => Vector512.LoadUnsafe(ref _a, i) + Vector512.LoadUnsafe(ref _b, i);

        public Vector256<double> V256(nuint i) => Vector256.LoadUnsafe(ref _a, i) + Vector256.LoadUnsafe(ref _b, i);

        public double At(nuint i) => Unsafe.Add(ref _a, i) + Unsafe.Add(ref _b, i);
    }

    /// <summary>(a + q × row) + b: the joint sample with a what-if on one of the two.</summary>
    private readonly ref struct PairWithRow(ref double a, ref double r, double q, ref double b) : ISample
    {
        private readonly ref double _a = ref a;
        private readonly ref double _r = ref r;
        private readonly ref double _b = ref b;
        private readonly double _q = q;

        public static bool Writes => false;

        public Vector512<double> V512(nuint i) => Vector512.FusedMultiplyAdd(Vector512.Create(_q), Vector512.LoadUnsafe(ref _r, i), Vector512.LoadUnsafe(ref _a, i)) + Vector512.LoadUnsafe(ref _b, i);

        public Vector256<double> V256(nuint i) => Vector256.FusedMultiplyAdd(Vector256.Create(_q), Vector256.LoadUnsafe(ref _r, i), Vector256.LoadUnsafe(ref _a, i)) + Vector256.LoadUnsafe(ref _b, i);

        public double At(nuint i) => Math.FusedMultiplyAdd(_q, Unsafe.Add(ref _r, i), Unsafe.Add(ref _a, i)) + Unsafe.Add(ref _b, i);
    }

    /// <summary>((b0 + b1) + b2) + a: the joint sample of three or four underlyings, the changed one last.</summary>
    private readonly ref struct Four(ref double a, ref double b0, ref double b1, ref double b2) : ISample
    {
        private readonly ref double _a = ref a;
        private readonly ref double _b0 = ref b0;
        private readonly ref double _b1 = ref b1;
        private readonly ref double _b2 = ref b2;

        public static bool Writes => false;

        public Vector512<double> V512(nuint i) => ((Vector512.LoadUnsafe(ref _b0, i) + Vector512.LoadUnsafe(ref _b1, i)) + Vector512.LoadUnsafe(ref _b2, i)) + Vector512.LoadUnsafe(ref _a, i);

        public Vector256<double> V256(nuint i) => ((Vector256.LoadUnsafe(ref _b0, i) + Vector256.LoadUnsafe(ref _b1, i)) + Vector256.LoadUnsafe(ref _b2, i)) + Vector256.LoadUnsafe(ref _a, i);

        public double At(nuint i) => ((Unsafe.Add(ref _b0, i) + Unsafe.Add(ref _b1, i)) + Unsafe.Add(ref _b2, i)) + Unsafe.Add(ref _a, i);
    }

    /// <summary>((b0 + b1) + b2) + (a + q × row): a what-if on the changed one.</summary>
    private readonly ref struct FourWithRow(ref double a, ref double r, double q, ref double b0, ref double b1, ref double b2) : ISample
    {
        private readonly ref double _a = ref a;
        private readonly ref double _r = ref r;
        private readonly ref double _b0 = ref b0;
        private readonly ref double _b1 = ref b1;
        private readonly ref double _b2 = ref b2;
        private readonly double _q = q;

        public static bool Writes => false;

        public Vector512<double> V512(nuint i) => ((Vector512.LoadUnsafe(ref _b0, i) + Vector512.LoadUnsafe(ref _b1, i)) + Vector512.LoadUnsafe(ref _b2, i))
            + Vector512.FusedMultiplyAdd(Vector512.Create(_q), Vector512.LoadUnsafe(ref _r, i), Vector512.LoadUnsafe(ref _a, i));

        public Vector256<double> V256(nuint i) => ((Vector256.LoadUnsafe(ref _b0, i) + Vector256.LoadUnsafe(ref _b1, i)) + Vector256.LoadUnsafe(ref _b2, i))
            + Vector256.FusedMultiplyAdd(Vector256.Create(_q), Vector256.LoadUnsafe(ref _r, i), Vector256.LoadUnsafe(ref _a, i));

        public double At(nuint i) => ((Unsafe.Add(ref _b0, i) + Unsafe.Add(ref _b1, i)) + Unsafe.Add(ref _b2, i)) + Math.FusedMultiplyAdd(_q, Unsafe.Add(ref _r, i), Unsafe.Add(ref _a, i));
    }

    /// <summary>a ← a + q × row, written as read; the value read is ((b0 + b1) + b2) + the new a (a fill on the changed one).</summary>
    private readonly ref struct FourApplying(ref double a, ref double r, double q, ref double b0, ref double b1, ref double b2) : ISample
    {
        private readonly ref double _a = ref a;
        private readonly ref double _r = ref r;
        private readonly ref double _b0 = ref b0;
        private readonly ref double _b1 = ref b1;
        private readonly ref double _b2 = ref b2;
        private readonly double _q = q;

        public static bool Writes => true;

        public Vector512<double> V512(nuint i)
        {
            var x = Vector512.FusedMultiplyAdd(Vector512.Create(_q), Vector512.LoadUnsafe(ref _r, i), Vector512.LoadUnsafe(ref _a, i));
            x.StoreUnsafe(ref _a, i);
            return ((Vector512.LoadUnsafe(ref _b0, i) + Vector512.LoadUnsafe(ref _b1, i)) + Vector512.LoadUnsafe(ref _b2, i)) + x;
        }

        public Vector256<double> V256(nuint i)
        {
            var x = Vector256.FusedMultiplyAdd(Vector256.Create(_q), Vector256.LoadUnsafe(ref _r, i), Vector256.LoadUnsafe(ref _a, i));
            x.StoreUnsafe(ref _a, i);
            return ((Vector256.LoadUnsafe(ref _b0, i) + Vector256.LoadUnsafe(ref _b1, i)) + Vector256.LoadUnsafe(ref _b2, i)) + x;
        }

        public double At(nuint i)
        {
            double x = Math.FusedMultiplyAdd(_q, Unsafe.Add(ref _r, i), Unsafe.Add(ref _a, i));
            Unsafe.Add(ref _a, i) = x;
            return ((Unsafe.Add(ref _b0, i) + Unsafe.Add(ref _b1, i)) + Unsafe.Add(ref _b2, i)) + x;
        }
    }

    /// <summary>a ← a + q × row, written as read; the value read is the new a, plus b when <c>plus</c> (the fill and its joint measure in one pass).</summary>
    private readonly ref struct PairApplying(ref double a, ref double r, double q, ref double b, bool plus) : ISample
    {
        private readonly ref double _a = ref a;
        private readonly ref double _r = ref r;
        private readonly ref double _b = ref b;
        private readonly double _q = q;
        private readonly bool _plus = plus;

        public static bool Writes => true;

        public Vector512<double> V512(nuint i)
        {
            var x = Vector512.FusedMultiplyAdd(Vector512.Create(_q), Vector512.LoadUnsafe(ref _r, i), Vector512.LoadUnsafe(ref _a, i));
            x.StoreUnsafe(ref _a, i);
            return _plus ? x + Vector512.LoadUnsafe(ref _b, i) : x;
        }

        public Vector256<double> V256(nuint i)
        {
            var x = Vector256.FusedMultiplyAdd(Vector256.Create(_q), Vector256.LoadUnsafe(ref _r, i), Vector256.LoadUnsafe(ref _a, i));
            x.StoreUnsafe(ref _a, i);
            return _plus ? x + Vector256.LoadUnsafe(ref _b, i) : x;
        }

        public double At(nuint i)
        {
            double x = Math.FusedMultiplyAdd(_q, Unsafe.Add(ref _r, i), Unsafe.Add(ref _a, i));
            Unsafe.Add(ref _a, i) = x;
            return _plus ? x + Unsafe.Add(ref _b, i) : x;
        }
    }
}
