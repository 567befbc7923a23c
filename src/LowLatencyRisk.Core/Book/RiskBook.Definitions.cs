using LowLatencyRisk.Core.Pricing;

namespace LowLatencyRisk.Core.Book;

/// <content>Instrument and underlying definitions (admin and start-up; a definition on the feed goes through TryDefineInstrument, which never throws).</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>Defines underlying <paramref name="underlying"/> with a futures carry (basis) rate.</summary>
    public void DefineUnderlying(int underlying, double carry = 0)
    {
        if ((uint)underlying >= (uint)_underlyings)
        {
            throw new ArgumentOutOfRangeException(nameof(underlying), underlying, $"Underlying ids are 0..{_underlyings - 1}.");
        }

        if (!double.IsFinite(carry))
        {
            throw new ArgumentOutOfRangeException(nameof(carry), carry, "Carry must be finite.");
        }

        _blocks[underlying].Defined = true;
        _blocks[underlying].Carry = carry;
    }

    /// <summary>Defines instrument <paramref name="id"/>. Throws with the reason if the definition is invalid or the id taken.</summary>
    public void DefineInstrument(int id, in InstrumentSpec spec)
    {
        var check = CheckInstrument(id, spec);
        if (check != DefinitionResult.Defined)
        {
            throw new ArgumentException($"Instrument {id}: {Describe(check)}.", nameof(spec));
        }

        Define(id, spec);
    }

    /// <summary>
    /// Defines instrument <paramref name="id"/> if the definition is valid (the engine's path for
    /// definitions arriving on the feed): never throws, changes nothing unless it returns
    /// <see cref="DefinitionResult.Defined"/>.
    /// </summary>
    public DefinitionResult TryDefineInstrument(int id, in InstrumentSpec spec)
    {
        var check = CheckInstrument(id, spec);
        if (check == DefinitionResult.Defined)
        {
            Define(id, spec);
        }

        return check;
    }

    /// <summary>Why a definition was refused, in words.</summary>
    public string Describe(DefinitionResult result) => result switch
    {
        DefinitionResult.Defined => "defined",
        DefinitionResult.IdOutOfRange => $"instrument ids are 0..{_specs.Length - 1}",
        DefinitionResult.AlreadyDefined => "the id is already defined",
        DefinitionResult.UnknownUnderlying => "its underlying is not defined",
        DefinitionResult.InvalidSize => "multiplier, tick size and lot size must be positive and finite",
        DefinitionResult.InvalidOption => "an option needs a positive strike and an expiry",
        DefinitionResult.MissingExpiry => "a future needs an expiry",
        DefinitionResult.InvalidSettlement => "settlement is linear or inverse, and inverse only for futures and perpetuals",
        _ => "unknown instrument kind",
    };

    private DefinitionResult CheckInstrument(int id, in InstrumentSpec spec)
    {
        if ((uint)id >= (uint)_specs.Length)
        {
            return DefinitionResult.IdOutOfRange;
        }

        if (_defined[id])
        {
            return DefinitionResult.AlreadyDefined;
        }

        if (spec.Kind > InstrumentKind.Put)
        {
            return DefinitionResult.UnknownKind;
        }

        if ((uint)spec.Underlying >= (uint)_underlyings || !_blocks[spec.Underlying].Defined)
        {
            return DefinitionResult.UnknownUnderlying;
        }

        if (!(spec.Multiplier > 0 && spec.Multiplier <= _config.MaxMultiplier) || !(spec.TickSize > 0) || !double.IsFinite(spec.TickSize)
            || !(spec.LotSize > 0) || !double.IsFinite(spec.LotSize))
        {
            return DefinitionResult.InvalidSize;
        }

        if (spec.IsOption && (!(spec.Strike > 0 && spec.Strike <= _config.MaxPrice) || spec.ExpiryNanos <= 0))
        {
            return DefinitionResult.InvalidOption;
        }

        if (spec.Settlement > Settlement.Inverse || (spec.IsInverse && spec.Kind is not (InstrumentKind.Future or InstrumentKind.Perpetual)))
        {
            return DefinitionResult.InvalidSettlement;
        }

        return spec.Kind == InstrumentKind.Future && spec.ExpiryNanos <= 0 ? DefinitionResult.MissingExpiry : DefinitionResult.Defined;
    }

    private void Define(int id, in InstrumentSpec spec)
    {
        var block = _blocks[spec.Underlying];
        var group = spec.IsOption ? block.Options : block.Linear;
        int slot = group.Count++;
        group.Ids[slot] = id;
        group.Kind[slot] = (byte)spec.Kind;
        group.Expiry[slot] = spec.ExpiryNanos;
        group.Omega[slot] = spec.Kind switch { InstrumentKind.Call => 1, InstrumentKind.Put => -1, _ => 0 };
        group.Strike[slot] = spec.IsOption ? spec.Strike : 1;
        group.Rate[slot] = _config.Rate;
        group.CarryB[slot] = 0; // Black-76 on the instrument's forward
        group.SpotModel[slot] = 0;
        // An inverse contract is valued per coin of its exposure (the position carries coins: PositionUnits).
        double valuation = spec.IsInverse ? 1 : spec.Multiplier;
        group.Multiplier[slot] = valuation;
        group.Volatility[slot] = 0.5;
        group.Time[slot] = 1;
        group.Forward[slot] = 1;
        _specs[id] = spec;
        _slot[id] = slot;
        _isOption[id] = spec.IsOption;
        _tier[id] = (byte)(_components?.TierOf(spec.Underlying, spec.ExpiryNanos) ?? 0);
        _defined[id] = true;
        // Until the underlying's next revaluation a fill on it books realized P&L with this
        // multiplier (marks and Greeks arrive with the revaluation, which re-bases the holders).
        _values[id] = new InstrumentValue { Multiplier = valuation };
        _face[id] = spec.IsInverse ? spec.Multiplier : 0;
        block.Dirty = true;
    }
}
