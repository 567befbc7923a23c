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

    /// <summary>
    /// A portfolio account's requirement under the tail measure from <paramref name="requirementSum"/> (the sum of
    /// its aggregates' requirements): that sum while at most one underlying is held, else the joint form above.
    /// With <paramref name="overrideU"/> ≥ 0 that underlying's array is read as array + <paramref name="quantity"/> ×
    /// <paramref name="overrideRow"/>, with its short option units and provision replaced (what-if). Allocates nothing.
    /// </summary>
    private double JointRequirement(int account, double requirementSum, int overrideU, double quantity, ReadOnlySpan<double> overrideRow, double overrideShortUnits, double overrideProvision)
    {
        int baseAu = account * _underlyings;
        int held = 0;
        for (int u = 0; u < _underlyings; u++)
        {
            if (_au[baseAu + u].PositionCount > 0 || u == overrideU)
            {
                held++;
            }
        }

        if (held < 2)
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

        double tail = Math.Max(TailMeasure.ExpectedShortfall(joint, default, 0, _grid.Confidence), 0);
        return Math.Max(tail, minimum) + provision;
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
}
