namespace LowLatencyRisk.Core.Book;

/// <content>
/// Dynamic scan ranges: per underlying an EWMA of squared index log returns sampled on business
/// time, σ²ₜ = λσ²ₜ₋₁ + (1 − λ)r²ₜ, and from it the price scan range
/// clamp(k × σ_day × √MPOR × (1 + buffer), floor, ceiling), rising by at most the daily cap. A change
/// recalibrates the underlying like a vol tick (<see cref="SetScenarioCalibration"/>). Two of EMIR
/// Art. 28's anti-procyclicality options are switchable (<see cref="DynamicRangeConfig.ReleaseBufferInStress"/>,
/// <see cref="DynamicRangeConfig.StressedWeight"/>); the floor is the third. On a historical grid with
/// reference volatilities the same EWMA rescales its filtered moves instead (σ_EWMA ÷ σ_ref, the daily
/// cap and the stressed weight applying). O(1) per index tick, nothing allocated.
/// </content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    private readonly double[] _ewmaVariance;   // by underlying, per sample interval
    private readonly double[] _samplePrice;    // the index at the last sample; 0 before the first
    private readonly long[] _sampleNanos;      // the last sample's time
    private readonly double[] _dayStartRange;  // the range at the start of the current UTC day
    private readonly long[] _rangeDay;         // that day (Unix ns / 1 day)

    private const long NanosPerDay = 86_400_000_000_000;

    /// <summary>Largest scale of a historical grid's moves (as a calibration value: just under 10× the reference).</summary>
    private const double MaxHistoricalScale = 0.999;

    /// <summary>The EWMA volatility of an underlying's index per day (from its per-interval estimate); NaN before its first sample or when off.</summary>
    public double EwmaDailyVolatility(int underlying)
    {
        if (!_config.DynamicRange.Enabled || _samplePrice[underlying] == 0)
        {
            return double.NaN;
        }

        return Math.Sqrt(_ewmaVariance[underlying] * NanosPerDay / _config.DynamicRange.SampleIntervalNanos);
    }

    private void SampleIndex(int u, double price, long nanos)
    {
        var d = _config.DynamicRange;
        double intervalDays = (double)d.SampleIntervalNanos / NanosPerDay;
        if (_samplePrice[u] == 0) // the first sample seeds the estimate
        {
            double seed = d.SeedFor(u);
            _ewmaVariance[u] = seed * seed * intervalDays;
            _samplePrice[u] = price;
            _sampleNanos[u] = nanos;
            _rangeDay[u] = nanos / NanosPerDay;
            _dayStartRange[u] = _calibration[u].PriceScanRange;
            UpdateDynamicRange(u, nanos, seeding: true);
            return;
        }

        if (nanos - _sampleNanos[u] < d.SampleIntervalNanos)
        {
            return;
        }

        double r = Math.Log(price / _samplePrice[u]);
        double lambda = Math.Pow(d.LambdaPerDay, intervalDays);
        _ewmaVariance[u] = (lambda * _ewmaVariance[u]) + ((1 - lambda) * r * r);
        _samplePrice[u] = price;
        _sampleNanos[u] = nanos;
        UpdateDynamicRange(u, nanos);
    }

    private void UpdateDynamicRange(int u, long nanos, bool seeding = false)
    {
        var d = _config.DynamicRange;
        long day = nanos / NanosPerDay;
        double current = _calibration[u].PriceScanRange;
        if (day != _rangeDay[u])
        {
            _rangeDay[u] = day;
            _dayStartRange[u] = current;
        }

        double dailyVariance = _ewmaVariance[u] * NanosPerDay / d.SampleIntervalNanos;
        if (d.StressedWeight > 0)
        {
            dailyVariance = ((1 - d.StressedWeight) * dailyVariance) + (d.StressedWeight * d.StressedDailyVolatility * d.StressedDailyVolatility);
        }

        if (_grid.HistoricalMoves is not null && _grid.ReferenceVolatilities is null)
        {
            return; // historical moves without the volatility they were filtered to: nothing to rescale them by
        }

        if (_grid.ReferenceVolatilities is { } reference)
        {
            // A historical grid: the EWMA is the filter's σ_now, live — the moves scale by σ_EWMA ÷ σ_ref
            // (ScenarioGrid.RelativeMoveOf), rising by at most the daily cap; the scan-range formula, its
            // buffer, floor and ceiling are the grid's kind of margin, not this one's.
            double scaled = Risk.ScenarioGrid.HistoricalReferenceRange * Math.Sqrt(dailyVariance) / reference[u];
            double capped = Math.Min(seeding ? scaled : Math.Min(scaled, _dayStartRange[u] * (1 + d.MaxDailyIncrease)), MaxHistoricalScale);
            if (capped != current && capped > 0)
            {
                _ = SetScenarioCalibration(u, _calibration[u] with { PriceScanRange = capped });
            }

            return;
        }

        double unbuffered = d.Multiplier * Math.Sqrt(dailyVariance) * Math.Sqrt(d.MarginPeriodDays);
        // Released in stress, the buffer already held absorbs a rise; the first sample starts with the
        // buffer built (the grid's range before it is no buffer to release).
        double target = d.ReleaseBufferInStress && !seeding
            ? Math.Min(unbuffered * (1 + d.Buffer), Math.Max(unbuffered, current))
            : unbuffered * (1 + d.Buffer);
        double range = Math.Min(Math.Clamp(target, d.Floor, d.Ceiling), _dayStartRange[u] * (1 + d.MaxDailyIncrease));
        range = Math.Max(range, d.Floor);
        if (range != current)
        {
            // Refused only when the grid cannot take the range (its extreme rows would reach zero):
            // then the last one stays. The ceiling is there to keep that from happening.
            _ = SetScenarioCalibration(u, _calibration[u] with { PriceScanRange = range });
        }
    }

    private void VisitDynamicRange(Persistence.StateVisitor visitor)
    {
        visitor.Array(_ewmaVariance);
        visitor.Array(_samplePrice);
        visitor.Array(_sampleNanos);
        visitor.Array(_dayStartRange);
        visitor.Array(_rangeDay);
    }
}
