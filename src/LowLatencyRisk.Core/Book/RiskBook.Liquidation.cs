using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Book;

/// <content>Liquidation ranking: which positions to close first.</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>
    /// Ranks the account's positions by their loss in the worst scenario of their own underlying,
    /// heaviest first, into <paramref name="destination"/>; returns how many were written.
    /// </summary>
    public int RankForLiquidation(int account, Span<LiquidationCandidate> destination)
    {
        int count = _accounts[account].PositionCount;
        int baseIndex = account * _positionsPerAccount;
        // Pass 1: every position's loss in its underlying's worst scenario. Positions are grouped
        // by underlying, so the worst scenario is found once per group; the instrument rows are
        // read in a loop without dependencies between iterations, so their cache misses overlap.
        Span<double> losses = _rankLosses.AsSpan(0, count);
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

        // Pass 2: the heaviest few, by insertion into the short destination.
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
                destination[at] = new LiquidationCandidate(p.Instrument, p.Quantity, loss);
                n = Math.Min(n + 1, destination.Length);
            }
        }

        return n;
    }

    private readonly double[] _rankLosses;

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
