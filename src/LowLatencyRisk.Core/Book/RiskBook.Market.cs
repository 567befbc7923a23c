
namespace LowLatencyRisk.Core.Book;

/// <content>Marks: index and volatility updates with their validation (band, hold-for-confirmation or reject, ordering), and the book clock.</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>Validates and applies an index price. The underlying is revalued at the next <see cref="Revalue()"/>.</summary>
    public MarkResult UpdateIndex(int underlying, double price, long timestampNanos)
    {
        if ((uint)underlying >= (uint)_underlyings || !_blocks[underlying].Defined)
        {
            return MarkResult.RejectedUnknownId;
        }

        if (!(price > 0 && price <= _config.MaxPrice))
        {
            return MarkResult.RejectedInvalid;
        }

        var b = _blocks[underlying];
        if (b.HasIndex && timestampNanos < b.IndexNanos)
        {
            return MarkResult.RejectedOutOfOrder;
        }

        if (b.HasIndex && Math.Abs((price / b.Index) - 1) > _config.IndexBand)
        {
            if (_config.Jumps == JumpPolicy.Reject)
            {
                return MarkResult.RejectedJump;
            }

            if (!b.HasHeld || Math.Abs((price / b.HeldIndex) - 1) > _config.IndexBand)
            {
                b.HasHeld = true;
                b.HeldIndex = price;
                return MarkResult.Held;
            }
        }

        b.HasHeld = false;
        b.HasIndex = true;
        b.Index = price;
        b.IndexNanos = timestampNanos;
        b.Dirty = true;
        if (timestampNanos > NowNanos)
        {
            _nowNanos = timestampNanos;
        }

        if (_config.DynamicRange.Enabled)
        {
            SampleIndex(underlying, price, timestampNanos);
        }

        return MarkResult.Accepted;
    }

    /// <summary>Validates and applies an option's mark implied volatility.</summary>
    public MarkResult UpdateVolatility(int instrument, double volatility)
    {
        if (!IsInstrument(instrument) || !_isOption[instrument])
        {
            return MarkResult.RejectedUnknownId;
        }

        if (!double.IsFinite(volatility) || volatility <= 0 || volatility > _config.MaxVolatility)
        {
            return MarkResult.RejectedInvalid;
        }

        var block = _blocks[_specs[instrument].Underlying];
        var g = block.Options;
        int slot = _slot[instrument];
        double last = g.Volatility[slot];
        if (Math.Abs((volatility / last) - 1) > _config.VolBand)
        {
            if (_config.Jumps == JumpPolicy.Reject)
            {
                return MarkResult.RejectedJump;
            }

            if (!g.HasHeldVol[slot] || Math.Abs((volatility / g.HeldVol[slot]) - 1) > _config.VolBand)
            {
                g.HasHeldVol[slot] = true;
                g.HeldVol[slot] = volatility;
                return MarkResult.Held;
            }
        }

        g.HasHeldVol[slot] = false;
        g.Volatility[slot] = volatility;
        block.Dirty = true;
        return MarkResult.Accepted;
    }

    /// <summary>Sets an option's initial mark volatility without the jump band (definition time).</summary>
    public void SetInitialVolatility(int instrument, double volatility)
    {
        if (!IsInstrument(instrument) || !_isOption[instrument] || !(volatility > 0) || volatility > _config.MaxVolatility)
        {
            throw new ArgumentException($"Instrument {instrument}: not an option, or volatility {volatility} out of range.");
        }

        _blocks[_specs[instrument].Underlying].Options.Volatility[_slot[instrument]] = volatility;
        _blocks[_specs[instrument].Underlying].Dirty = true;
    }

    /// <summary>Moves the clock forward (time decay) without a price; every underlying becomes dirty.</summary>
    public void AdvanceClock(long nowNanos)
    {
        if (nowNanos > NowNanos)
        {
            _nowNanos = nowNanos;
            for (int u = 0; u < _underlyings; u++)
            {
                _blocks[u].Dirty = _blocks[u].Defined;
            }
        }
    }
}
