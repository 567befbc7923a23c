namespace LowLatencyRisk.Fixtures.Simulation;

/// <summary>
/// When a run's achieved rate fell short of the offered one, and for how long: fed the count of
/// messages published at each progress tick, it calls an interval short when fewer than
/// <see cref="Tolerance"/> × offered × its length were published (the producer was held back by a
/// full feed ring: the engine had fallen behind). Episodes are runs of consecutive short intervals.
/// </summary>
public sealed class RateShortfall(double offeredPerSecond)
{
    /// <summary>Share of the offered rate below which an interval is short.</summary>
    public const double Tolerance = 0.95;

    private double _lastAt;
    private long _lastCount;
    private double _episodeStart = double.NaN;

    /// <summary>The offered rate (0: as fast as possible, never short).</summary>
    public double Offered { get; } = offeredPerSecond;

    /// <summary>Seconds in short intervals.</summary>
    public double ShortSeconds { get; private set; }

    /// <summary>Runs of consecutive short intervals.</summary>
    public int Episodes { get; private set; }

    /// <summary>Seconds from the start to the first short interval (NaN if none).</summary>
    public double FirstShortAt { get; private set; } = double.NaN;

    /// <summary>The longest episode, seconds.</summary>
    public double LongestSeconds { get; private set; }

    /// <summary>The lowest rate of an interval, messages per second (NaN before the first).</summary>
    public double LowestRate { get; private set; } = double.NaN;

    /// <summary>True if the last interval observed was short.</summary>
    public bool Behind { get; private set; }

    /// <summary>Records that <paramref name="published"/> messages were out by <paramref name="atSeconds"/>; the rate of the interval since the last call.</summary>
    public double Observe(double atSeconds, long published)
    {
        double length = atSeconds - _lastAt;
        if (!(length > 0))
        {
            return double.NaN;
        }

        double rate = (published - _lastCount) / length;
        LowestRate = double.IsNaN(LowestRate) ? rate : Math.Min(LowestRate, rate);
        Behind = Offered > 0 && rate < Tolerance * Offered;
        if (Behind)
        {
            ShortSeconds += length;
            if (double.IsNaN(_episodeStart))
            {
                _episodeStart = _lastAt;
                Episodes++;
                FirstShortAt = double.IsNaN(FirstShortAt) ? _lastAt : FirstShortAt;
            }

            LongestSeconds = Math.Max(LongestSeconds, atSeconds - _episodeStart);
        }
        else
        {
            _episodeStart = double.NaN;
        }

        (_lastAt, _lastCount) = (atSeconds, published);
        return rate;
    }
}
