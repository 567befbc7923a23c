using System.Runtime.Intrinsics;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Book;

/// <content>
/// The historical grid's account level (filtered historical simulation, <see cref="ScenarioGrid.Historical"/>).
/// Every underlying's row j is the same historical date, so the account's loss on that date is the
/// sum of its underlyings' row j, and its requirement is the expected shortfall of that joint sample —
/// history's correlations are the offsets between underlyings; no SPAN credit is configured for them.
/// Per account × underlying the book keeps, as for any grid, the risk array and max(ES of that array,
/// short option minimum) + provision (what one underlying alone requires, and the account's requirement
/// when it holds one); with two or more underlyings held, a portfolio account's initial margin is
/// <b>max(ES(Σ_u array_u), Σ_u short option minimum_u) + Σ_u provision_u</b> — never above the sum of
/// the underlyings' own (expected shortfall is subadditive). The fill, tick, what-if and liquidation
/// paths all read it here; the from-scratch verifier recomputes it from positions.
/// </content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    private readonly bool _jointTail;      // a tail-measure grid and more than one underlying
    private readonly double[] _jointArray; // the account's joint sample while it is measured
    private readonly int[] _tailRows;      // liquidation ranking: the tail's rows
    private readonly double[] _tailScratch; // the tail measure's candidates, lent so that no stack buffer is zeroed per measure

    // Where each tail was at its last measure (the value-at-risk row's value): after a fill of q of an
    // instrument no row moved by more than |q| × the largest |loss| of the instrument's row, so the tail's
    // m rows all still reach the old boundary lowered by that — the next measure starts there instead of
    // finding a threshold (TailMeasure's guess). Hints only: a wrong one costs time, never a number.
    private readonly double[] _tailHint;   // by account × underlying
    private readonly double[] _jointHint;  // by account
    private readonly double[] _rowBound;   // by instrument: max |row|, set with the rows
    private readonly int[] _jointOthers;  // the underlyings of a joint sample other than the changed one, in order
    private readonly double[] _zeros;     // the fourth term of a joint sample of three underlyings
    private double _jointKnown;                           // the joint sample's expected shortfall a fill measured in its own pass ...
    private int _jointKnownAccount = -1;                  // ... for this account (−1: none), taken by the account's next margin

    /// <summary>
    /// An aggregate's scan risk under the tail measure, from its last boundary lowered by <paramref name="slack"/>
    /// (∞: no guess), of array + <paramref name="quantity"/> × <paramref name="row"/>; <paramref name="store"/>: the
    /// array is the aggregate's own, changed, so its boundary is kept for the next measure.
    /// </summary>
    private double TailScan(int au, ReadOnlySpan<double> array, ReadOnlySpan<double> row, double quantity, double slack, bool store)
    {
        double es = TailMeasure.ExpectedShortfall(array, row, quantity, default, _grid.Confidence, _tailHint[au] - slack, out double boundary, _tailScratch);
        if (store)
        {
            _tailHint[au] = boundary;
        }

        return Math.Max(es, 0);
    }

    /// <summary>
    /// The fill path under the tail measure, for a portfolio account: applies the fill to the aggregate's array
    /// and returns the aggregate's scan risk — or NaN when the account holds two underlyings or more after the
    /// fill: its requirement is then the joint sample's, and the aggregate's own expected shortfall (a second tail
    /// on every fill) is not taken. Its <c>Margin</c> is left NaN, "not measured", and measured when the account
    /// comes to hold one underlying again (<see cref="MeasureStaleAlone"/>, from <see cref="SetMargin"/>); NaN is kept in the snapshot like any
    /// value, so a restored book knows it too. The fill and the joint measure are one pass over the arrays
    /// (<see cref="JointTail"/>), the result kept for the account's margin a moment later.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)] // off the fill's inlined body
    private double TailAfterFill(int account, int au, int u, int instrument, double quantity, double newQuantity)
    {
        Span<double> array = _riskArrays.AsSpan(au * _scenarios, _scenarios);
        ReadOnlySpan<double> row = _rows.AsSpan(instrument * _scenarios, _scenarios);
        double slack = SlackOf(instrument, quantity);
        if (_jointTail && (newQuantity != 0 || _au[au].PositionCount > 1) && HeldAfter(account, u) >= 2)
        {
            _jointKnown = Math.Max(JointTail(account, u, quantity, row, apply: true, slack), 0);
            _jointKnownAccount = account;
            return double.NaN;
        }

        double own = TailMeasure.ApplyAndMeasure(array, row, quantity, default, _grid.Confidence, _tailHint[au] - slack, out double ownBoundary, _tailScratch);
        _tailHint[au] = ownBoundary;
        return Math.Max(own, 0);
    }

    /// <summary>
    /// A revaluation's scan of an aggregate whose array was just recomputed: its expected shortfall, or NaN (not
    /// measured, as after a fill) while its portfolio account holds two underlyings or more.
    /// </summary>
    private double TailAfterRecompute(int account, int au, ReadOnlySpan<double> array)
    {
        if (_jointTail && _accounts[account].Mode == MarginMode.Portfolio && _au[au].PositionCount > 0 && HeldAfter(account, au - (account * _underlyings)) >= 2)
        {
            return double.NaN;
        }

        return TailScan(au, array, default, 0, double.PositiveInfinity, store: true);
    }

    /// <summary>
    /// Measures the aggregates left "not measured" (NaN) while the account held two underlyings or more, now that it
    /// holds at most one, and returns the account's sum of requirements afresh.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private double MeasureStaleAlone(int account)
    {
        int baseAu = account * _underlyings;
        double sum = 0;
        for (int u = 0; u < _underlyings; u++)
        {
            int au = baseAu + u;
            if (double.IsNaN(_au[au].Margin))
            {
                double scan = TailScan(au, _riskArrays.AsSpan(au * _scenarios, _scenarios), default, 0, double.PositiveInfinity, store: true);
                _au[au].Margin = MarginOf(u, scan, _au[au].ShortOptionUnits) + ProvisionAt(au);
            }

            sum += _au[au].Margin;
        }

        return sum;
    }

    /// <summary>Underlyings the account holds, counting <paramref name="u"/> as held (a what-if's fill is in it).</summary>
    private int HeldAfter(int account, int u)
    {
        int baseAu = account * _underlyings, held = 0;
        for (int v = 0; v < _underlyings; v++)
        {
            held += _au[baseAu + v].PositionCount > 0 || v == u ? 1 : 0;
        }

        return held;
    }

    /// <summary>How far a fill of <paramref name="quantity"/> of <paramref name="instrument"/> can move any row of an array.</summary>
    private double SlackOf(int instrument, double quantity) => Math.Abs(quantity) * _rowBound[instrument] * (1 + 1e-12);

    /// <summary>
    /// A portfolio account's requirement under the tail measure from <paramref name="requirementSum"/> (the sum of
    /// its aggregates' requirements): that sum while at most one underlying is held, else the joint form above.
    /// With <paramref name="overrideU"/> ≥ 0 that underlying's array is read as array + <paramref name="quantity"/> × <paramref name="overrideRow"/>, with its
    /// short option units and provision replaced (what-if). <paramref name="slack"/>: how far any row of the joint
    /// sample moved since its last measure (∞ when not known). Allocates nothing.
    /// </summary>
    /// <remarks>
    /// The tail is <see cref="JointTail"/>'s (the others in order, then the changed underlying with the what-if's
    /// row fused in, as a fill leaves it), so a what-if and the fill it asks about give the same number to the
    /// bit — or the one the fill just measured in its own pass, for the account's own margin after it.
    /// </remarks>
    private double JointRequirement(int account, double requirementSum, int overrideU, double quantity, ReadOnlySpan<double> overrideRow, double overrideShortUnits, double overrideProvision, double slack)
    {
        int baseAu = account * _underlyings;
        int held = HeldAfter(account, overrideU);
        if (held < 2)
        {
            _jointKnownAccount = -1;
            return requirementSum; // one underlying: its own requirement (measured again on leaving the joint sample: SetMargin)
        }

        double minimum = 0, provision = 0;
        int last = -1;
        for (int u = 0; u < _underlyings; u++)
        {
            int au = baseAu + u;
            bool over = u == overrideU;
            if (!over && _au[au].PositionCount == 0)
            {
                continue;
            }

            last = u;
            minimum += _method.ShortOptionMinimum(over ? overrideShortUnits : _au[au].ShortOptionUnits, _blocks[u].Index);
            provision += over ? overrideProvision : ProvisionAt(au);
        }

        double tail;
        if (overrideU < 0 && _jointKnownAccount == account)
        {
            tail = _jointKnown; // measured by the fill in its own pass
        }
        else
        {
            tail = Math.Max(JointTail(account, overrideU < 0 ? last : overrideU, quantity, overrideRow, apply: false, slack), 0);
        }

        _jointKnownAccount = -1;
        return Math.Max(tail, minimum) + provision;
    }

    /// <summary>
    /// The expected shortfall of an account's joint sample (not floored): the held underlyings other than
    /// <paramref name="changed"/> added in order, then <paramref name="changed"/>'s array + <paramref name="quantity"/> ×
    /// <paramref name="row"/> (<paramref name="apply"/>: a fill, written into the array in the same pass; otherwise
    /// read only — a what-if, or with quantity 0 the account as it is, <paramref name="changed"/> then its last
    /// underlying held). So a fill and the what-if that asked about it form the same sums in the same order and give
    /// the same number to the bit; measures of the same positions after different events may differ in the last
    /// bits (the order of the sum), as the verifier's tolerance allows. Up to three others are read in the pass
    /// itself (two with an array of zeros as the third); more are summed first. The boundary is kept as the next
    /// guess when it is the account's own sample; <paramref name="slack"/> lowers the last one (∞: none).
    /// </summary>
    private double JointTail(int account, int changed, double quantity, ReadOnlySpan<double> row, bool apply, double slack)
    {
        int baseAu = account * _underlyings, others = 0;
        for (int v = 0; v < _underlyings; v++)
        {
            _jointOthers[others] = v;
            others += v != changed && _au[baseAu + v].PositionCount > 0 ? 1 : 0;
        }

        Span<double> array = _riskArrays.AsSpan((baseAu + changed) * _scenarios, _scenarios);
        double guess = _jointHint[account] - slack, es, boundary;
        if (others <= 3)
        {
            ReadOnlySpan<double> first = ArrayOf(baseAu + _jointOthers[0]);
            if (others == 1)
            {
                es = apply
                    ? TailMeasure.ApplyAndMeasure(array, row, quantity, first, _grid.Confidence, guess, out boundary, _tailScratch)
                    : TailMeasure.ExpectedShortfall(array, row, quantity, first, _grid.Confidence, guess, out boundary, _tailScratch);
            }
            else
            {
                ReadOnlySpan<double> third = others == 3 ? ArrayOf(baseAu + _jointOthers[2]) : _zeros;
                es = TailMeasure.JointOfFour(array, row, quantity, apply, first, ArrayOf(baseAu + _jointOthers[1]), third, _grid.Confidence, guess, out boundary, _tailScratch);
            }
        }
        else
        {
            Span<double> joint = _jointArray;
            for (int k = 0; k < others; k++)
            {
                AddTerm(joint, k == 0, ArrayOf(baseAu + _jointOthers[k]));
            }

            es = apply
                ? TailMeasure.ApplyAndMeasure(array, row, quantity, joint, _grid.Confidence, guess, out boundary, _tailScratch)
                : TailMeasure.ExpectedShortfall(array, row, quantity, joint, _grid.Confidence, guess, out boundary, _tailScratch);
        }

        if (apply || quantity == 0)
        {
            _jointHint[account] = boundary; // the account's own sample: where its tail is now
        }

        return es;
    }

    private ReadOnlySpan<double> ArrayOf(int au) => _riskArrays.AsSpan(au * _scenarios, _scenarios);

    /// <summary>joint ← array (<paramref name="start"/>) or joint + array: the others of a joint sample of five underlyings or more, summed in order.</summary>
    private static void AddTerm(Span<double> joint, bool start, ReadOnlySpan<double> array)
    {
        if (start)
        {
            array.CopyTo(joint);
            return;
        }

        int n = joint.Length, i = 0;
        ref double j = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(joint);
        ref double a = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(array);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<double>.Count; i += Vector512<double>.Count)
            {
                (Vector512.LoadUnsafe(ref j, (nuint)i) + Vector512.LoadUnsafe(ref a, (nuint)i)).StoreUnsafe(ref j, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            joint[i] += array[i];
        }
    }

    /// <summary>
    /// An account's historical value-at-risk at <paramref name="varConfidence"/> and expected shortfall at the grid's
    /// confidence, of the sample its margin reads (its underlyings' joint sample; one underlying's own array), not
    /// floored — what a risk officer compares with the requirement. (0, 0) without positions. Off the hot path (it
    /// sums the sample afresh); throws <see cref="InvalidOperationException"/> on a grid that is not historical.
    /// </summary>
    public TailRisk HistoricalRisk(int account, double varConfidence = 0.99)
    {
        if (_tailRows.Length == 0)
        {
            throw new InvalidOperationException($"The grid {_grid.Name} is not a historical grid: it has no sample of dates to take a VaR of.");
        }

        if (!(varConfidence is >= 0.5 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(varConfidence), varConfidence, "A VaR confidence is in [0.5, 1).");
        }

        if (!IsAccount(account) || _accounts[account].PositionCount == 0)
        {
            return default;
        }

        ReadOnlySpan<double> sample = AccountSample(account);
        TailMeasure.ExpectedShortfall(sample, default, 0, varConfidence, double.NaN, out double valueAtRisk);
        return new TailRisk(valueAtRisk, TailMeasure.ExpectedShortfall(sample, default, 0, _grid.Confidence));
    }

    /// <summary>
    /// The account's loss sample the liquidation ranking reads under the tail measure: the joint
    /// sample of every underlying held (one underlying's own array when it holds one).
    /// </summary>
    private ReadOnlySpan<double> AccountSample(int account)
    {
        int baseAu = account * _underlyings;
        int held = 0, last = 0;
        for (int u = 0; u < _underlyings; u++)
        {
            if (_au[baseAu + u].PositionCount > 0)
            {
                held++;
                last = u;
            }
        }

        if (held < 2)
        {
            return _riskArrays.AsSpan((baseAu + last) * _scenarios, _scenarios);
        }

        Span<double> joint = _jointArray;
        joint.Clear();
        for (int u = 0; u < _underlyings; u++)
        {
            if (_au[baseAu + u].PositionCount > 0)
            {
                MultiplyAdd(joint, 1, _riskArrays.AsSpan((baseAu + u) * _scenarios, _scenarios));
            }
        }

        return joint;
    }

    /// <summary>max |x| over a row (a fill's slack per unit of quantity).</summary>
    private static double LargestMagnitude(ReadOnlySpan<double> row)
    {
        double largest = 0;
        foreach (double x in row)
        {
            largest = Math.Max(largest, Math.Abs(x));
        }

        return largest;
    }
}
