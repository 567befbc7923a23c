using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Book;

/// <content>
/// Scenario calibration per underlying: every underlying starts with the grid's own numbers and a
/// venue sets each its own (BTC and ETH publish different scan ranges, vol shocks, dampeners and
/// basis moves) — at start or on the feed. The rows and the shock rule stay the grid's.
/// </content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>The calibration <paramref name="underlying"/>'s rows are computed with.</summary>
    public ScenarioParameters ScenarioCalibration(int underlying) => _calibration[underlying];

    /// <summary>
    /// Recalibrates an underlying's scenarios: applied like a vol tick — the underlying is marked
    /// for revaluation, whose instrument rows and holders then follow (in steps under the engine).
    /// Null when applied; otherwise the reason, and nothing changed. Allocates nothing.
    /// </summary>
    public string? SetScenarioCalibration(int underlying, in ScenarioParameters parameters)
    {
        if ((uint)underlying >= (uint)_underlyings)
        {
            return $"underlying {underlying} is not in 0..{_underlyings - 1}";
        }

        if (parameters.Problem() is { } problem)
        {
            return problem;
        }

        for (int j = 0; j < _scenarios; j++)
        {
            if (!(_grid.RelativeMoveOf(j, underlying, parameters) > -1))
            {
                return "priceScanRange would move a regular row's price to zero or below";
            }
        }

        ApplyCalibration(underlying, parameters);
        _blocks[underlying].Dirty = true;
        return null;
    }

    private void ApplyCalibration(int u, in ScenarioParameters parameters)
    {
        _calibration[u] = parameters;
        var calculator = _calculators[u];
        calculator.Recalibrate(parameters);
        for (int j = 0; j < _scenarios; j++)
        {
            _indexValueLoss[(u * _scenarios) + j] = calculator.IndexValueLoss(j);
        }
    }
}
