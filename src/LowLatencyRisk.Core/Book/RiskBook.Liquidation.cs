using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Book;

/// <content>Liquidation: which positions to close first, and how much of one to close.</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>
    /// Ranks the account's positions by their loss in the worst scenario of their own underlying —
    /// under a historical grid's tail measure, by their contribution to the account's expected
    /// shortfall — heaviest first, into <paramref name="destination"/>; returns how many were written.
    /// </summary>
    public int RankForLiquidation(int account, Span<LiquidationCandidate> destination)
    {
        int count = _accounts[account].PositionCount;
        int baseIndex = account * _positionsPerAccount;
        // Pass 1: every position's loss in its underlying's worst scenario. Positions are grouped
        // by underlying, so the worst scenario is found once per group; the instrument rows are
        // read in a loop without dependencies between iterations, so their cache misses overlap.
        Span<double> losses = _rankLosses.AsSpan(0, count);
        if (_tailRows.Length > 0)
        {
            TailContributions(account, count, baseIndex, losses);
            return Heaviest(account, count, baseIndex, losses, destination);
        }

        int groupUnderlying = -1;
        int worst = 0;
        for (int k = 0; k < count; k++)
        {
            ref readonly Position p = ref _positions[baseIndex + k];
            if (p.Underlying != groupUnderlying)
            {
                groupUnderlying = p.Underlying;
                worst = WorstScenario(RiskArray(account, groupUnderlying));
            }

            losses[k] = p.Quantity * _rows[(p.Instrument * _scenarios) + worst];
        }

        return Heaviest(account, count, baseIndex, losses, destination);
    }

    /// <summary>
    /// The tail measure's pass 1: each position's contribution to the account's expected shortfall —
    /// Σ over the tail's rows of the ES weight × its own loss there (the rows of the account's joint
    /// sample, so contributions add up to the account's ES before the floor). A position that gains in
    /// the tail contributes a negative amount, and closing it would add risk, as with the worst row.
    /// </summary>
    private void TailContributions(int account, int count, int baseIndex, Span<double> losses)
    {
        int m = TailMeasure.TailScenarios(AccountSample(account), _grid.Confidence, _tailRows, out double weight, out double boundary);
        for (int k = 0; k < count; k++)
        {
            ref readonly Position p = ref _positions[baseIndex + k];
            int rowStart = p.Instrument * _scenarios;
            double sum = boundary * _rows[rowStart + _tailRows[m - 1]];
            for (int i = m - 2; i >= 0; i--)
            {
                sum += weight * _rows[rowStart + _tailRows[i]];
            }

            losses[k] = p.Quantity * sum;
        }
    }

    /// <summary>Pass 2: the heaviest few of <paramref name="losses"/>, by insertion into the short destination.</summary>
    private int Heaviest(int account, int count, int baseIndex, ReadOnlySpan<double> losses, Span<LiquidationCandidate> destination)
    {
        int n = 0;
        for (int k = 0; k < count; k++)
        {
            double loss = losses[k];
            int at = Math.Min(n, destination.Length);
            while (at > 0 && destination[at - 1].WorstScenarioLoss < loss)
            {
                if (at < destination.Length)
                {
                    destination[at] = destination[at - 1];
                }

                at--;
            }

            if (at < destination.Length)
            {
                ref readonly Position p = ref _positions[baseIndex + k];
                destination[at] = new LiquidationCandidate(p.Instrument, _face[p.Instrument] > 0 ? ContractsOf(p.Instrument, p.Quantity, p.Average) : p.Quantity, loss); // contracts
                n = Math.Min(n + 1, destination.Length);
            }
        }

        return n;
    }

    private readonly double[] _rankLosses;
    private readonly LiquidationCandidate[] _planCandidates = new LiquidationCandidate[MaxPlanCandidates];

    /// <summary>How many of the heaviest positions <see cref="PlanLiquidation"/> considers, heaviest first.</summary>
    public const int MaxPlanCandidates = 8;

    /// <summary>
    /// Sizes the next liquidation order of <paramref name="account"/>: one position, the heaviest
    /// contributor to its worst scenario that helps, reduced by the smallest whole number of lots
    /// after which equity covers the target (<see cref="LiquidationPolicy"/>), or closed in full
    /// when even that does not reach it (the next order follows once it has filled). Returns false
    /// when the account already covers the target or no position's reduction improves its gap.
    /// </summary>
    /// <remarks>
    /// The gap after closing x units at the order's limit price is
    /// g(x) = equity(x) − fee(x) − target(x), where equity(x) = equity − x·|mark − limit|·multiplier
    /// (the price band's cost), fee(x) = feeRate·x·limit·multiplier and
    /// target(x) = max(MM(x)·(1 + hysteresis), MM(x) + f·(IM(x) − MM(x))), IM(x) and MM(x) from the
    /// what-if of the reduction (every component and mode included). The ladder's hysteresis is in
    /// the target so a filled order lets the account leave liquidation instead of stopping a hair
    /// short of it. IM(x) is a maximum of functions linear in x (scenario losses) plus non-negative
    /// convex terms, so g is concave in x: where g(0) &lt; 0 ≤ g(full) there is one crossing, found by
    /// bisection over whole lots (about log₂(lots) what-ifs). No allocation.
    /// </remarks>
    public bool PlanLiquidation(int account, in LiquidationPolicy policy, out LiquidationOrder order)
    {
        order = default;
        if (!IsAccount(account))
        {
            return false;
        }

        double gapNow = LiquidationGap(account, -1, 0, 0, policy, out _);
        if (!(gapNow < 0))
        {
            return false; // covers the target already (or a number is not a number: nothing sensible to size)
        }

        int n = RankForLiquidation(account, _planCandidates);
        for (int k = 0; k < n; k++)
        {
            LiquidationCandidate c = _planCandidates[k];
            if (!(c.WorstScenarioLoss > 0))
            {
                break; // the rest gain in the worst scenario: closing them adds risk
            }

            int instrument = c.Instrument;
            double held = c.Quantity;
            double mark = _values[instrument].Mark;
            if (held == 0 || !(mark > 0) || !double.IsFinite(mark))
            {
                continue;
            }

            double limit = LimitPrice(instrument, mark, held > 0, policy.PriceBand);
            double full = Math.Abs(held);
            double side = held > 0 ? -1 : 1; // the order closes: sells a long, buys a short
            double gapFull = LiquidationGap(account, instrument, side * full, limit, policy, out double fee);
            if (!(gapFull > gapNow))
            {
                continue; // closing it does not help (a hedge of another scenario, or band and fee eat it)
            }

            double units = full;
            if (gapFull >= 0)
            {
                units = SmallestRestoring(account, instrument, side, full, limit, policy, out fee);
            }

            double check = units == full ? gapFull : LiquidationGap(account, instrument, side * units, limit, policy, out fee);
            order = new LiquidationOrder(instrument, side * units, limit, fee, check >= 0);
            return true;
        }

        return false;
    }

    /// <summary>The smallest whole number of lots (or the full position) whose close gives a gap ≥ 0, given it does at <paramref name="full"/>.</summary>
    private double SmallestRestoring(int account, int instrument, double side, double full, double limit, in LiquidationPolicy policy, out double fee)
    {
        double lot = _specs[instrument].LotSize;
        long lots = lot > 0 ? (long)Math.Floor((full / lot) + 1e-9) : 0;
        fee = 0;
        if (lots < 1 || LiquidationGap(account, instrument, side * Math.Min(lots * lot, full), limit, policy, out _) < 0)
        {
            return full; // no whole number of lots below the position restores it: close it all
        }

        long lo = 0, hi = lots; // gap(lo) < 0 (lo = 0: the account is short of the target), gap(hi) ≥ 0
        while (hi - lo > 1)
        {
            long mid = lo + ((hi - lo) / 2);
            if (LiquidationGap(account, instrument, side * mid * lot, limit, policy, out _) >= 0)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        return Math.Min(hi * lot, full);
    }

    /// <summary>
    /// Equity less fee less target after trading <paramref name="trade"/> of <paramref name="instrument"/>
    /// at <paramref name="price"/> (instrument −1: as the account stands).
    /// </summary>
    private double LiquidationGap(int account, int instrument, double trade, double price, in LiquidationPolicy policy, out double fee)
    {
        double initial, maintenance, equity;
        fee = 0;
        if (instrument < 0)
        {
            initial = InitialMargin(account);
            maintenance = MaintenanceMargin(account);
            equity = Equity(account);
        }
        else
        {
            WhatIfResult r = WhatIf(account, instrument, trade, price);
            initial = r.InitialMarginAfter;
            ref readonly AccountTotals t = ref _accounts[account];
            if (t.Mode == MarginMode.Portfolio)
            {
                maintenance = _method.Maintenance(initial);
            }
            else
            {
                double held = PositionUnits(account, instrument);
                maintenance = t.MaintenanceSum - PositionRequirement(instrument, held).Maintenance + PositionRequirement(instrument, held + UnitsOfTrade(account, instrument, trade, price)).Maintenance;
            }

            fee = policy.FeeRate * ContractNotional(instrument, trade, price);
            equity = r.EquityAfter - fee;
        }

        double target = Math.Max(maintenance * (1 + _config.Hysteresis), maintenance + (policy.TargetFraction * (initial - maintenance)));
        return equity - target;
    }

    /// <summary>The order's limit: the mark moved against the account by the band, on the instrument's tick (a sell rounds down, a buy up).</summary>
    private double LimitPrice(int instrument, double mark, bool sell, double band)
    {
        double raw = sell ? mark * (1 - band) : mark * (1 + band);
        double tick = _specs[instrument].TickSize;
        if (!(tick > 0))
        {
            return raw;
        }

        double ticks = raw / tick;
        double rounded = (sell ? Math.Floor(ticks + 1e-9) : Math.Ceiling(ticks - 1e-9)) * tick;
        return rounded > 0 ? rounded : tick;
    }

    private static int WorstScenario(ReadOnlySpan<double> array)
    {
        int worst = 0;
        for (int j = 1; j < array.Length; j++)
        {
            if (array[j] > array[worst])
            {
                worst = j;
            }
        }

        return worst;
    }
}
