using System.Runtime.CompilerServices;

namespace LowLatencyRisk.Core.Book;

/// <content>Margin: the account's requirement from its aggregates, incrementally and exactly.</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    private void Remargin(int account)
    {
        double initial = 0;
        double unrealized = 0;
        int baseAu = account * _underlyings;
        for (int u = 0; u < _underlyings; u++)
        {
            int au = baseAu + u;
            unrealized += _au[au].Unrealized;
            initial += _au[au].Margin; // 0 where nothing is held
        }

        double maintenance = 0;
        if (_accounts[account].Mode != MarginMode.Portfolio)
        {
            foreach (double m in _auMaintenance.AsSpan(baseAu, _underlyings))
            {
                maintenance += m;
            }
        }

        _accounts[account].UnrealizedTotal = unrealized;
        _accounts[account].IncrementalUpdates = 0;
        SetMargin(account, initial, maintenance);
    }

    /// <summary>
    /// Re-margins an account after only its sums in one underlying changed (the tick path): the
    /// totals move by that underlying's difference instead of being summed over every underlying,
    /// which keeps a tick from touching the account's other underlyings' lines. Every
    /// <see cref="RebaseEvery"/> updates the totals are re-summed exactly, so rounding cannot drift.
    /// </summary>
    private void RemarginAfter(int account, int u, double oldUnrealized, double oldMargin)
    {
        ref AccountTotals t = ref _accounts[account];
        if (++t.IncrementalUpdates >= RebaseEvery)
        {
            Remargin(account);
            return;
        }

        ref AccountUnderlying s = ref _au[(account * _underlyings) + u];
        t.UnrealizedTotal += s.Unrealized - oldUnrealized;
        SetMargin(account, t.RequirementSum - oldMargin + s.Margin, t.MaintenanceSum); // per-position modes: the maintenance sum was moved by the recompute
    }

    /// <summary>Incremental margin updates between two exact re-sums of an account's totals.</summary>
    private const int RebaseEvery = 64;

    /// <summary>The methodology's requirement of one account × underlying aggregate at the underlying's current index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private double MarginOf(int u, double scan, double shortOptionUnits) => _method.UnderlyingRequirement(scan, shortOptionUnits, _blocks[u].Index);

    /// <summary>
    /// Sets the account's sums of its aggregates' requirements; initial and maintenance margin follow
    /// (portfolio: the methodology's account level; per-position modes: the sums themselves), then the ladder.
    /// </summary>
    private void SetMargin(int account, double requirementSum, double maintenanceSum)
    {
        ref AccountTotals t = ref _accounts[account];
        double equity = t.Collateral + t.Realized + t.UnrealizedTotal;
        double initial, maintenance;
        if (double.IsNaN(requirementSum) && _jointTail && t.Mode == MarginMode.Portfolio && HeldAfter(account, -1) < 2)
        {
            // The account has just left the joint sample: its aggregates not measured while it held two underlyings
            // or more are measured now, and the sum stored is a number again.
            requirementSum = MeasureStaleAlone(account);
        }

        if (t.Mode == MarginMode.Portfolio)
        {
            initial = _method.AccountInitial(
                _components is { HasInterCommodity: true } ? requirementSum - InterAdjustment(account, -1, 0, default, 0)
                : _jointTail ? JointRequirement(account, requirementSum, -1, 0, default, 0, 0, double.PositiveInfinity)
                : requirementSum);
            maintenance = _method.Maintenance(initial);
        }
        else
        {
            initial = requirementSum;
            maintenance = maintenanceSum;
        }

        t.RequirementSum = requirementSum;
        t.MaintenanceSum = maintenanceSum;
        t.InitialMargin = initial;
        t.Equity = equity;
        MarginState from = t.State;
        MarginState to = MarginLadder.NextState(from, equity, initial, maintenance, _config.Hysteresis);
        if (to != from)
        {
            t.State = to;
            Enqueue(new MarginTransition(account, from, to, equity, initial, maintenance));
        }
    }
}
