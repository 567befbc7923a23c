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

    // Where each tail was at its last measure (the value-at-risk row's value): after a fill of q of an
    // instrument no row moved by more than |q| × the largest |loss| of the instrument's row, so the tail's
    // m rows all still reach the old boundary lowered by that — the next measure starts there instead of
    // finding a threshold (TailMeasure's guess). Hints only: a wrong one costs time, never a number.
    private readonly double[] _tailHint;   // by account × underlying
    private readonly double[] _jointHint;  // by account
    private readonly double[] _rowBound;   // by instrument: max |row|, set with the rows
    private double _jointSlack = double.PositiveInfinity; // what the joint sample moved since its last measure, when a fill knows it

    /// <summary>
    /// An aggregate's scan risk under the tail measure, from its last boundary lowered by <paramref name="slack"/>
    /// (∞: no guess), of array + <paramref name="quantity"/> × <paramref name="row"/>; <paramref name="store"/>: the
    /// array is the aggregate's own, changed, so its boundary is kept for the next measure.
    /// </summary>
    private double TailScan(int au, ReadOnlySpan<double> array, ReadOnlySpan<double> row, double quantity, double slack, bool store)
    {
        double es = TailMeasure.ExpectedShortfall(array, row, quantity, _grid.Confidence, _tailHint[au] - slack, out double boundary);
        if (store)
        {
            _tailHint[au] = boundary;
        }

        return Math.Max(es, 0);
    }

    /// <summary>The fill path's scan under the tail measure: the aggregate's and, for the account's next joint measure, the slack this fill leaves.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)] // off the fill's inlined body
    private double TailAfterFill(int au, ReadOnlySpan<double> array, int instrument, double quantity)
    {
        double slack = SlackOf(instrument, quantity);
        _jointSlack = slack;
        return TailScan(au, array, default, 0, slack, store: true);
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
    /// With <paramref name="overrideU"/> ≥ 0 that underlying's array is read as array + <paramref name="quantity"/> ×
    /// <paramref name="overrideRow"/>, with its short option units and provision replaced (what-if). <paramref name="slack"/>:
    /// how far any row of the joint sample moved since its last measure (∞ when not known). Allocates nothing.
    /// </summary>
    private double JointRequirement(int account, double requirementSum, int overrideU, double quantity, ReadOnlySpan<double> overrideRow, double overrideShortUnits, double overrideProvision, double slack)
    {
        int baseAu = account * _underlyings;
        if (HeldAfter(account, overrideU) < 2)
        {
            return requirementSum;
        }

        Span<double> joint = _jointArray;
        joint.Clear();
        double minimum = 0, provision = 0;
        for (int u = 0; u < _underlyings; u++)
        {
            int au = baseAu + u;
            bool over = u == overrideU;
            if (!over && _au[au].PositionCount == 0)
            {
                continue;
            }

            MultiplyAdd(joint, 1, _riskArrays.AsSpan(au * _scenarios, _scenarios));
            if (over && quantity != 0)
            {
                MultiplyAdd(joint, quantity, overrideRow);
            }

            minimum += _method.ShortOptionMinimum(over ? overrideShortUnits : _au[au].ShortOptionUnits, _blocks[u].Index);
            provision += over ? overrideProvision : ProvisionAt(au);
        }

        double tail = Math.Max(TailMeasure.ExpectedShortfall(joint, default, 0, _grid.Confidence, _jointHint[account] - slack, out double boundary), 0);
        if (overrideU < 0)
        {
            _jointHint[account] = boundary; // the account's own sample: where its tail is now
        }

        return Math.Max(tail, minimum) + provision;
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
