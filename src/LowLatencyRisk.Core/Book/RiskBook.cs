using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Book;

/// <summary>
/// The risk state the engine thread owns: instruments, market, accounts, positions, collateral,
/// netted Greeks, risk arrays and margin, all preallocated from <see cref="RiskConfig"/>.
/// </summary>
/// <remarks>
/// <para>Single writer: every method is called from one thread (the engine's); nothing locks.
/// The update paths (<see cref="ApplyFill"/>, <see cref="UpdateIndex"/>, <see cref="UpdateVolatility"/>,
/// <see cref="SetCollateral"/>, <see cref="Revalue()"/>, <see cref="WhatIf"/>) allocate nothing.</para>
/// <para><b>How a fill propagates</b> (O(scenarios)): the position's quantity, average price and
/// realized P&amp;L change; the account-underlying aggregates take dq × the instrument's cached
/// per-contract delta, gamma, vega, theta and risk-array row (one fused multiply-add per
/// scenario, four Vector256 operations for 16 scenarios); unrealized P&amp;L, short-option
/// exposure, scan risk, initial and maintenance margin and the margin state are updated.</para>
/// <para><b>How a price or volatility tick propagates</b>: the mark is validated and stored and the
/// underlying is marked dirty. <see cref="Revalue()"/> (called by the engine at the end of each
/// batch, and by any fill or what-if on that underlying first) then (1) revalues the underlying's
/// instruments with the Vector256 Greeks and risk-array kernels, and (2) recomputes, exactly and
/// from the positions, the aggregates of only the accounts that hold that underlying (a holder
/// set), re-margining each. This exact revaluation of holders costs, per affected position, the
/// sums of five Greeks, the unrealized P&amp;L and one row of the risk array; it also re-bases the
/// incremental fill sums, so floating-point drift cannot accumulate across ticks.</para>
/// </remarks>
public sealed class RiskBook
{
    /// <summary>Nanoseconds per (365-day) year.</summary>
    public const double NanosPerYear = 365.0 * 86_400 * 1e9;

    private readonly RiskConfig _config;
    private readonly RiskArrayCalculator _calculator;
    private readonly int _scenarios;
    private readonly int _underlyings;
    private readonly int _positionsPerAccount;
    private readonly int _assets;

    private readonly UnderlyingBlock[] _blocks;
    private readonly InstrumentSpec[] _specs;
    private readonly bool[] _defined;
    private readonly int[] _slot;
    private readonly bool[] _isOption;

    // Per-account state is array-of-structs on purpose (unlike the instrument tables, which are
    // struct-of-arrays for the kernels): a tick visits holder accounts one after another, and
    // keeping each account's positions, its per-underlying sums and its totals contiguous turns
    // what were ~20 scattered cache lines per account into a few sequential ones.
    private readonly Position[] _positions;            // account-major, _positionsPerAccount slots each
    private readonly AccountUnderlying[] _au;          // index a * U + u
    private readonly double[] _riskArrays;             // (a * U + u) * S + j
    private readonly AccountTotals[] _accounts;

    // Collateral.
    private readonly double[] _balances; // a * A + asset
    private readonly bool[] _assetDefined;
    private readonly int[] _assetUnderlying;
    private readonly double[] _assetFixedPrice;
    private readonly HaircutTier[][] _assetTiers;
    private readonly HolderSet[] _assetHolders;

    // Margin transitions since the last drain: at most one per account (coalesced), in the order
    // the accounts first changed, so the queue cannot overflow whoever forgets to drain it.
    private readonly MarginTransition[] _transitions; // by account
    private readonly WaitingAccounts _transitionOrder;

    private readonly double[] _scratchArray;

    // Per-instrument values per contract (multiplier and the forward-to-index chain rule applied),
    // refreshed by each revaluation: what fills, what-ifs and holder revaluations read.
    private readonly InstrumentValue[] _values;
    private readonly double[] _rows; // instrument * S + j: loss of one long contract per scenario

    /// <summary>Creates an empty book with every table preallocated.</summary>
    public RiskBook(RiskConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        _calculator = new RiskArrayCalculator(config.Grid);
        _scenarios = config.Grid.Count;
        _underlyings = config.MaxUnderlyings;
        _positionsPerAccount = config.MaxPositionsPerAccount;
        _assets = config.MaxAssets;
        int accounts = config.MaxAccounts;

        _blocks = new UnderlyingBlock[_underlyings];
        for (int u = 0; u < _underlyings; u++)
        {
            _blocks[u] = new UnderlyingBlock(config.MaxInstruments, _scenarios, accounts);
        }

        _specs = new InstrumentSpec[config.MaxInstruments];
        _defined = new bool[config.MaxInstruments];
        _slot = new int[config.MaxInstruments];
        _isOption = new bool[config.MaxInstruments];

        _positions = new Position[accounts * _positionsPerAccount];
        _au = new AccountUnderlying[accounts * _underlyings];
        _riskArrays = new double[accounts * _underlyings * _scenarios];
        _accounts = new AccountTotals[accounts];
        _sliceHolders = new int[accounts];
        _rankLosses = new double[_positionsPerAccount];

        _balances = new double[accounts * _assets];
        _assetDefined = new bool[_assets];
        _assetUnderlying = new int[_assets];
        _assetFixedPrice = new double[_assets];
        _assetTiers = new HaircutTier[_assets][];
        _assetHolders = new HolderSet[_assets];
        for (int x = 0; x < _assets; x++)
        {
            _assetHolders[x] = new HolderSet(accounts);
            _assetTiers[x] = [];
        }

        _transitions = new MarginTransition[accounts];
        _transitionOrder = new WaitingAccounts(accounts);
        _scratchArray = new double[_scenarios];
        _values = new InstrumentValue[config.MaxInstruments];
        _rows = new double[config.MaxInstruments * _scenarios];
    }

    /// <summary>The configuration.</summary>
    public RiskConfig Config => _config;

    /// <summary>Scenarios per risk array.</summary>
    public int Scenarios => _scenarios;

    /// <summary>The book's clock: the latest accepted index timestamp (Unix ns), or what <see cref="AdvanceClock"/> set.</summary>
    public long NowNanos => _nowNanos;

    /// <summary>Margin transitions folded into an earlier one of the same account that was still waiting to be drained.</summary>
    public long TransitionsCoalesced => _transitionsCoalesced;

    private long _nowNanos;
    private long _transitionsCoalesced;

    /// <summary>
    /// Walks every piece of mutable state (instruments defined at run time, market, positions,
    /// sums, risk arrays, collateral, ladder, queued transitions, a sliced revaluation in progress)
    /// for a snapshot or a restore. Asset definitions and the configuration are set-up, not state:
    /// a restore needs a book built with the same configuration (the fingerprint checks the shapes).
    /// </summary>
    public void VisitState(Persistence.StateVisitor visitor)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        visitor.Value(ref _nowNanos);
        visitor.Value(ref _transitionsCoalesced);
        visitor.Array(_specs);
        visitor.Array(_defined);
        visitor.Array(_slot);
        visitor.Array(_isOption);
        foreach (var block in _blocks)
        {
            block.VisitState(visitor);
        }

        visitor.Array(_positions);
        visitor.Array(_au);
        visitor.Array(_riskArrays);
        visitor.Array(_accounts);
        visitor.Array(_balances);
        foreach (var holders in _assetHolders)
        {
            holders?.VisitState(visitor);
        }

        visitor.Array(_transitions);
        _transitionOrder.VisitState(visitor);
        visitor.Array(_values);
        visitor.Array(_rows);
        visitor.Value(ref _slicedUnderlying);
        visitor.Value(ref _sliceNext);
        visitor.Value(ref _sliceCount);
        visitor.Array(_sliceHolders);
    }

    // ---------------------------------------------------------------- definitions (admin, start-up)

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
        group.Multiplier[slot] = spec.Multiplier;
        group.Volatility[slot] = 0.5;
        group.Time[slot] = 1;
        group.Forward[slot] = 1;
        _specs[id] = spec;
        _slot[id] = slot;
        _isOption[id] = spec.IsOption;
        _defined[id] = true;
        // Until the underlying's next revaluation a fill on it books realized P&L with this
        // multiplier (marks and Greeks arrive with the revaluation, which re-bases the holders).
        _values[id] = new InstrumentValue { Multiplier = spec.Multiplier };
        block.Dirty = true;
    }

    /// <summary>Defines collateral asset <paramref name="asset"/>: priced by an underlying's index, or at a fixed price when <paramref name="linkedUnderlying"/> is −1, with tiered haircuts.</summary>
    public void DefineAsset(int asset, int linkedUnderlying, double fixedPrice, ReadOnlySpan<HaircutTier> tiers)
    {
        if ((uint)asset >= (uint)_assets)
        {
            throw new ArgumentOutOfRangeException(nameof(asset), asset, $"Asset ids are 0..{_assets - 1}.");
        }

        if (linkedUnderlying != -1 && ((uint)linkedUnderlying >= (uint)_underlyings || !_blocks[linkedUnderlying].Defined))
        {
            throw new ArgumentException($"Asset {asset}: underlying {linkedUnderlying} is not defined.", nameof(linkedUnderlying));
        }

        if (linkedUnderlying == -1 && !(fixedPrice > 0 && double.IsFinite(fixedPrice)))
        {
            throw new ArgumentException($"Asset {asset}: a fixed price must be positive.", nameof(fixedPrice));
        }

        double last = 0;
        foreach (var t in tiers)
        {
            if (!(t.UpToValue > last) || t.Haircut is < 0 or > 1 || double.IsNaN(t.Haircut))
            {
                throw new ArgumentException($"Asset {asset}: tiers must have increasing limits and haircuts in [0, 1].", nameof(tiers));
            }

            last = t.UpToValue;
        }

        _assetDefined[asset] = true;
        _assetUnderlying[asset] = linkedUnderlying;
        _assetFixedPrice[asset] = fixedPrice;
        _assetTiers[asset] = tiers.ToArray();
    }

    // ---------------------------------------------------------------- queries

    /// <summary>True if <paramref name="instrument"/> is a defined instrument id.</summary>
    public bool IsInstrument(int instrument) => (uint)instrument < (uint)_defined.Length && _defined[instrument];

    /// <summary>True if <paramref name="account"/> is within capacity.</summary>
    public bool IsAccount(int account) => (uint)account < (uint)_accounts.Length;

    /// <summary>True if <paramref name="underlying"/> is defined.</summary>
    public bool IsUnderlying(int underlying) => (uint)underlying < (uint)_underlyings && _blocks[underlying].Defined;

    /// <summary>Definition of a defined instrument.</summary>
    public ref readonly InstrumentSpec Instrument(int instrument) => ref _specs[instrument];

    /// <summary>The book clock at the underlying's last revaluation: times to expiry are measured from it.</summary>
    public long ValuationNanos(int underlying) => _blocks[underlying].ValuedAtNanos;

    /// <summary>Futures carry (basis) rate of an underlying.</summary>
    public double UnderlyingCarry(int underlying) => _blocks[underlying].Carry;

    /// <summary>Current index of an underlying (0 before the first mark).</summary>
    public double IndexPrice(int underlying) => _blocks[underlying].Index;

    /// <summary>True when the underlying has no accepted index or its last one is older than the staleness limit at <paramref name="nowNanos"/>.</summary>
    public bool IsIndexStale(int underlying, long nowNanos)
    {
        var b = _blocks[underlying];
        return !b.HasIndex || nowNanos - b.IndexNanos > _config.StaleAfterNanos;
    }

    /// <summary>Mark price of one contract unit of an instrument (futures: forward; options: model value at the mark volatility).</summary>
    public double MarkPrice(int instrument)
    {
        return _values[instrument].Mark;
    }

    /// <summary>Mark implied volatility of an option.</summary>
    public double MarkVolatility(int instrument)
    {
        var (group, slot) = Locate(instrument);
        return group.Volatility[slot];
    }

    /// <summary>Risk-array row of one long contract (losses positive).</summary>
    public ReadOnlySpan<double> InstrumentRiskArray(int instrument)
    {
        return _rows.AsSpan(instrument * _scenarios, _scenarios);
    }

    /// <summary>Per-contract delta with respect to the index (multiplier included).</summary>
    public double InstrumentDelta(int instrument)
    {
        return _values[instrument].Delta;
    }

    /// <summary>Quantity held by <paramref name="account"/> in <paramref name="instrument"/> (0 if none).</summary>
    public double PositionQuantity(int account, int instrument)
    {
        int k = FindPosition(account, instrument);
        return k < 0 ? 0 : _positions[(account * _positionsPerAccount) + k].Quantity;
    }

    /// <summary>Average open price of the position (0 if none).</summary>
    public double PositionAveragePrice(int account, int instrument)
    {
        int k = FindPosition(account, instrument);
        return k < 0 ? 0 : _positions[(account * _positionsPerAccount) + k].Average;
    }

    /// <summary>Number of open positions of an account.</summary>
    public int PositionCount(int account) => _accounts[account].PositionCount;

    /// <summary>The instrument of position slot <paramref name="index"/> (0..PositionCount−1).</summary>
    public int PositionInstrumentAt(int account, int index) => _positions[(account * _positionsPerAccount) + index].Instrument;

    /// <summary>
    /// Gross exposure of an account: Σ |quantity| × mark × multiplier over all positions, and
    /// Σ |quantity| over the positions in <paramref name="underlying"/> (contracts).
    /// </summary>
    public double GrossNotional(int account, int underlying, out double grossContractsInUnderlying)
    {
        double notional = 0;
        double contracts = 0;
        ReadOnlySpan<Position> positions = _positions.AsSpan(account * _positionsPerAccount, _accounts[account].PositionCount);
        foreach (ref readonly Position p in positions)
        {
            ref readonly InstrumentValue v = ref _values[p.Instrument];
            double q = Math.Abs(p.Quantity);
            notional += q * v.Mark * v.Multiplier;
            if (p.Underlying == underlying)
            {
                contracts += q;
            }
        }

        grossContractsInUnderlying = contracts;
        return notional;
    }

    /// <summary>Realized P&amp;L of an account.</summary>
    public double RealizedPnl(int account) => _accounts[account].Realized;

    /// <summary>Haircut collateral value of an account.</summary>
    public double CollateralValue(int account) => _accounts[account].Collateral;

    /// <summary>Collateral balance of an account in an asset.</summary>
    public double CollateralBalance(int account, int asset) => _balances[(account * _assets) + asset];

    /// <summary>Equity = haircut collateral + realized + unrealized P&amp;L.</summary>
    public double Equity(int account) => _accounts[account].Equity;

    /// <summary>Initial margin: Σ over underlyings of max(scan risk, short option minimum).</summary>
    public double InitialMargin(int account) => _accounts[account].InitialMargin;

    /// <summary>Maintenance margin = initial × <see cref="RiskConfig.MaintenanceFraction"/>.</summary>
    public double MaintenanceMargin(int account) => _accounts[account].InitialMargin * _config.MaintenanceFraction;

    /// <summary>Margin state.</summary>
    public MarginState State(int account) => _accounts[account].State;

    /// <summary>Net delta of an account in an underlying (underlying units).</summary>
    public double NetDelta(int account, int underlying) => _au[(account * _underlyings) + underlying].NetDelta;

    /// <summary>Net gamma.</summary>
    public double NetGamma(int account, int underlying) => _au[(account * _underlyings) + underlying].NetGamma;

    /// <summary>Net vega (per 1.00 of volatility).</summary>
    public double NetVega(int account, int underlying) => _au[(account * _underlyings) + underlying].NetVega;

    /// <summary>Net theta (per year).</summary>
    public double NetTheta(int account, int underlying) => _au[(account * _underlyings) + underlying].NetTheta;

    /// <summary>Unrealized P&amp;L of an account in an underlying.</summary>
    public double UnrealizedPnl(int account, int underlying) => _au[(account * _underlyings) + underlying].Unrealized;

    /// <summary>Scan risk (worst weighted scenario loss, floored at 0) of an account in an underlying.</summary>
    public double ScanRisk(int account, int underlying) => ScanOf(RiskArray(account, underlying));

    /// <summary>Short option minimum of an account in an underlying.</summary>
    public double ShortOptionMinimum(int account, int underlying) =>
        _au[(account * _underlyings) + underlying].ShortOptionUnits * _blocks[underlying].Index * _config.ShortOptionMinimumFraction;

    /// <summary>The account's risk array in an underlying.</summary>
    public ReadOnlySpan<double> RiskArray(int account, int underlying) =>
        _riskArrays.AsSpan(((account * _underlyings) + underlying) * _scenarios, _scenarios);

    // ---------------------------------------------------------------- market updates

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

    /// <summary>True when a mark arrived for <paramref name="underlying"/> since its last revaluation.</summary>
    public bool IsDirty(int underlying) => (uint)underlying < (uint)_underlyings && _blocks[underlying].Dirty;

    /// <summary>
    /// Revalues one underlying if dirty and re-margins its holders; false when it was clean. Lets
    /// a caller bound the pause of one call to a single underlying's revaluation.
    /// </summary>
    public bool Revalue(int underlying)
    {
        if (_slicedUnderlying == underlying)
        {
            ContinueRevalue(int.MaxValue);
        }

        if (!IsDirty(underlying))
        {
            return false;
        }

        RevalueUnderlying(underlying);
        return true;
    }

    /// <summary>Revalues every dirty underlying and re-margins its holders (see the class remarks).</summary>
    public void Revalue()
    {
        ContinueRevalue(int.MaxValue);
        for (int u = 0; u < _underlyings; u++)
        {
            if (_blocks[u].Dirty)
            {
                RevalueUnderlying(u);
            }
        }
    }

    // ---------------------------------------------------------------- collateral

    /// <summary>Sets an account's balance of a collateral asset; false for unknown ids or a non-finite balance.</summary>
    public bool SetCollateral(int account, int asset, double balance)
    {
        if (!IsAccount(account) || (uint)asset >= (uint)_assets || !_assetDefined[asset])
        {
            return false;
        }

        // Units bounded always, value while the asset has a price: with prices bounded too, every
        // later valuation of the balance stays finite.
        double price = AssetPrice(asset);
        if (!(Math.Abs(balance) <= _config.MaxCollateralUnits) || (price > 0 && !(Math.Abs(balance) * price <= _config.MaxCollateralValue)))
        {
            return false;
        }

        _balances[(account * _assets) + asset] = balance;
        if (balance != 0)
        {
            _assetHolders[asset].Add(account);
        }
        else
        {
            _assetHolders[asset].Remove(account);
        }

        _accounts[account].Collateral = ComputeCollateralValue(account);
        Remargin(account);
        return true;
    }

    /// <summary>Haircut value of <paramref name="balance"/> units of an asset at its current price (tiers applied to the gross value).</summary>
    public double HaircutValue(int asset, double balance)
    {
        double price = AssetPrice(asset);
        double gross = balance * price;
        if (gross <= 0)
        {
            return gross; // a debt counts in full
        }

        var tiers = _assetTiers[asset];
        if (tiers.Length == 0)
        {
            return gross;
        }

        double value = 0;
        double from = 0;
        for (int t = 0; t < tiers.Length && from < gross; t++)
        {
            double to = Math.Min(gross, tiers[t].UpToValue);
            value += (to - from) * (1 - tiers[t].Haircut);
            from = to;
        }

        if (from < gross)
        {
            value += (gross - from) * (1 - tiers[^1].Haircut);
        }

        return value;
    }

    // ---------------------------------------------------------------- fills

    /// <summary>
    /// Applies a fill of signed quantity <paramref name="quantity"/> (buy positive) at
    /// <paramref name="price"/>: position, average price, realized P&amp;L, netted Greeks, risk
    /// array, margin and state. Invalid input changes nothing.
    /// </summary>
    public FillResult ApplyFill(int account, int instrument, double quantity, double price)
    {
        if (!IsAccount(account) || !IsInstrument(instrument))
        {
            return FillResult.RejectedUnknownId;
        }

        // Bounded inputs keep every derived number finite (no NaN or ∞ can enter the state): the
        // comparisons are written so that NaN fails them.
        if (!(Math.Abs(quantity) <= _config.MaxQuantity) || quantity == 0 || !(price > 0 && price <= _config.MaxPrice)
            || !(Math.Abs(quantity) * price * _specs[instrument].Multiplier <= _config.MaxNotional))
        {
            return FillResult.RejectedInvalid;
        }

        int u = _specs[instrument].Underlying;
        int baseIndex = account * _positionsPerAccount;
        int k = FindPosition(account, instrument);
        if (k < 0 && _accounts[account].PositionCount == _positionsPerAccount)
        {
            return FillResult.RejectedPositionCapacity;
        }

        if (k >= 0 && !(Math.Abs(_positions[baseIndex + k].Quantity + quantity) <= _config.MaxQuantity))
        {
            return FillResult.RejectedInvalid;
        }

        // The fill uses the instrument's values as of the last revaluation: marks that arrived
        // since are applied, exactly and for every holder, by the next Revalue() (the engine's end
        // of batch). Revaluing here would cost a whole underlying per fill.
        ref readonly InstrumentValue value = ref _values[instrument];
        double multiplier = value.Multiplier;
        double mark = value.Mark;
        double oldQuantity = 0, oldAverage = 0;
        if (k < 0)
        {
            // Insert at the end of this underlying's group (positions stay grouped by underlying).
            int auNew = (account * _underlyings) + u;
            k = GroupStart(account, u) + _au[auNew].PositionCount;
            int count = _accounts[account].PositionCount++;
            _positions.AsSpan(baseIndex + k, count - k).CopyTo(_positions.AsSpan(baseIndex + k + 1, count - k));
            _positions[baseIndex + k] = new Position { Instrument = instrument, Underlying = u };
            if (_au[auNew].PositionCount++ == 0)
            {
                _blocks[u].Holders.Add(account);
            }
        }
        else
        {
            oldQuantity = _positions[baseIndex + k].Quantity;
            oldAverage = _positions[baseIndex + k].Average;
        }

        double newQuantity = oldQuantity + quantity;
        double newAverage;
        if (oldQuantity == 0 || Math.Sign(oldQuantity) == Math.Sign(quantity))
        {
            newAverage = ((oldQuantity * oldAverage) + (quantity * price)) / newQuantity;
        }
        else
        {
            double closed = Math.Min(Math.Abs(quantity), Math.Abs(oldQuantity)) * Math.Sign(oldQuantity);
            _accounts[account].Realized += closed * (price - oldAverage) * multiplier;
            newAverage = Math.Abs(quantity) > Math.Abs(oldQuantity) ? price : newQuantity == 0 ? 0 : oldAverage;
        }

        int au = (account * _underlyings) + u;
        _au[au].NetDelta += quantity * value.Delta;
        _au[au].NetGamma += quantity * value.Gamma;
        _au[au].NetVega += quantity * value.Vega;
        _au[au].NetTheta += quantity * value.Theta;
        _au[au].Unrealized += ((newQuantity * (mark - newAverage)) - (oldQuantity * (mark - oldAverage))) * multiplier;
        if (_isOption[instrument])
        {
            _au[au].ShortOptionUnits += (Math.Max(-newQuantity, 0) - Math.Max(-oldQuantity, 0)) * multiplier;
        }

        Span<double> accountArray = _riskArrays.AsSpan(au * _scenarios, _scenarios);
        MultiplyAdd(accountArray, quantity, _rows.AsSpan(instrument * _scenarios, _scenarios));
        _au[au].Margin = MarginOf(u, ScanOf(accountArray), _au[au].ShortOptionUnits);

        if (newQuantity == 0)
        {
            RemovePosition(account, k, u);
        }
        else
        {
            _positions[baseIndex + k].Quantity = newQuantity;
            _positions[baseIndex + k].Average = newAverage;
        }

        Remargin(account);
        return FillResult.Applied;
    }

    // ---------------------------------------------------------------- what-if and liquidation

    /// <summary>
    /// Initial margin and equity of <paramref name="account"/> as if <paramref name="quantity"/> of
    /// <paramref name="instrument"/> were filled at <paramref name="price"/> (NaN = at the mark),
    /// without changing anything, at the valuation of the last <see cref="Revalue()"/>.
    /// </summary>
    public WhatIfResult WhatIf(int account, int instrument, double quantity, double price = double.NaN)
    {
        int u = _specs[instrument].Underlying;
        ref readonly InstrumentValue value = ref _values[instrument];
        int au = (account * _underlyings) + u;
        double scanAfter;
        if (_scenarios == 16 && Vector256.IsHardwareAccelerated)
        {
            // The 16-scenario grid in registers: four fused multiply-adds and a max, no copy.
            ref double account16 = ref _riskArrays[au * 16];
            ref double row16 = ref _rows[instrument * 16];
            var q = Vector256.Create(quantity);
            var w0 = Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref row16), Vector256.LoadUnsafe(ref account16));
            var w1 = Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref row16, 4), Vector256.LoadUnsafe(ref account16, 4));
            var w2 = Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref row16, 8), Vector256.LoadUnsafe(ref account16, 8));
            var w3 = Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref row16, 12), Vector256.LoadUnsafe(ref account16, 12));
            var worst = Vector256.Max(Vector256.Max(w0, w1), Vector256.Max(w2, w3));
            scanAfter = Math.Max(0, Math.Max(Math.Max(worst.GetElement(0), worst.GetElement(1)), Math.Max(worst.GetElement(2), worst.GetElement(3))));
        }
        else
        {
            Span<double> scratch = _scratchArray;
            _riskArrays.AsSpan(au * _scenarios, _scenarios).CopyTo(scratch);
            MultiplyAdd(scratch, quantity, _rows.AsSpan(instrument * _scenarios, _scenarios));
            scanAfter = ScanOf(scratch);
        }

        double shortAfter = _au[au].ShortOptionUnits;
        double multiplier = value.Multiplier;
        if (_isOption[instrument])
        {
            double held = PositionQuantity(account, instrument);
            shortAfter += (Math.Max(-(held + quantity), 0) - Math.Max(-held, 0)) * multiplier;
        }

        double index = _blocks[u].Index;
        double before = _au[au].Margin;
        double after = Math.Max(scanAfter, shortAfter * index * _config.ShortOptionMinimumFraction);
        double initialAfter = _accounts[account].InitialMargin - before + after;
        double fillPrice = double.IsNaN(price) ? value.Mark : price;
        double equityAfter = _accounts[account].Equity + (quantity * (value.Mark - fillPrice) * multiplier);
        return new WhatIfResult(_accounts[account].InitialMargin, initialAfter, _accounts[account].Equity, equityAfter);
    }

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

    /// <summary>Takes the pending margin transition of the account that changed first; false when none.</summary>
    public bool TryDequeueTransition(out MarginTransition transition)
    {
        if (!_transitionOrder.TryPeek(out int account))
        {
            transition = default;
            return false;
        }

        transition = _transitions[account];
        _transitionOrder.Dequeue();
        return true;
    }

    // ---------------------------------------------------------------- internals

    private (UnderlyingBlock.Group Group, int Slot) Locate(int instrument)
    {
        var block = _blocks[_specs[instrument].Underlying];
        return (_isOption[instrument] ? block.Options : block.Linear, _slot[instrument]);
    }

    /// <summary>
    /// An account's positions are kept grouped by underlying, in underlying order, so a tick on
    /// one underlying walks exactly that group, with no unpredictable skip branch per position.
    /// Group u starts after the groups of the underlyings below it.
    /// </summary>
    private int GroupStart(int account, int u)
    {
        int start = 0;
        int baseAu = account * _underlyings;
        for (int v = 0; v < u; v++)
        {
            start += _au[baseAu + v].PositionCount;
        }

        return start;
    }

    private int FindPosition(int account, int instrument)
    {
        int u = _specs[instrument].Underlying;
        int start = GroupStart(account, u);
        int end = start + _au[(account * _underlyings) + u].PositionCount;
        int baseIndex = account * _positionsPerAccount;
        for (int k = start; k < end; k++)
        {
            if (_positions[baseIndex + k].Instrument == instrument)
            {
                return k;
            }
        }

        return -1;
    }

    private void RemovePosition(int account, int k, int u)
    {
        int baseIndex = account * _positionsPerAccount;
        int count = --_accounts[account].PositionCount;
        _positions.AsSpan(baseIndex + k + 1, count - k).CopyTo(_positions.AsSpan(baseIndex + k, count - k));
        int au = (account * _underlyings) + u;
        if (--_au[au].PositionCount == 0)
        {
            _blocks[u].Holders.Remove(account);
            // Nothing held: clear the sums exactly rather than keep rounding residue.
            _au[au].NetDelta = _au[au].NetGamma = _au[au].NetVega = _au[au].NetTheta = _au[au].Unrealized = _au[au].ShortOptionUnits = _au[au].Margin = 0;
            _riskArrays.AsSpan(au * _scenarios, _scenarios).Clear();
        }
    }

    private double AssetPrice(int asset) => _assetUnderlying[asset] < 0 ? _assetFixedPrice[asset] : _blocks[_assetUnderlying[asset]].Index;

    private double ComputeCollateralValue(int account)
    {
        double value = 0;
        int baseIndex = account * _assets;
        for (int x = 0; x < _assets; x++)
        {
            double balance = _balances[baseIndex + x];
            if (balance != 0)
            {
                value += HaircutValue(x, balance);
            }
        }

        return value;
    }

    private void RevalueUnderlying(int u)
    {
        // A sliced revaluation of this underlying that is still running is finished first.
        if (_slicedUnderlying == u)
        {
            ContinueRevalue(int.MaxValue);
        }

        if (BeginRevalueCore(u))
        {
            RevalueHolders(u, block: _blocks[u].Holders.Members);
            RevalueCollateralOf(u);
        }
    }

    /// <summary>
    /// Starts a revaluation of <paramref name="underlying"/> in slices: its instruments are revalued
    /// now; its holders are re-margined by <see cref="ContinueRevalue"/> a slice at a time, so a
    /// caller (the engine) can apply fills between slices. False when the underlying is clean or a
    /// sliced revaluation is already running.
    /// </summary>
    /// <remarks>
    /// Holders are taken from a snapshot of the holder set made now. An account that becomes a
    /// holder meanwhile held nothing before, so its fill applied the new values to zero sums; an
    /// account that stops holding is recomputed to zero: every holder ends exact. Until its slice
    /// comes, a holder's margin reflects the previous valuation.
    /// </remarks>
    public bool BeginRevalue(int underlying)
    {
        if (_slicedUnderlying >= 0 || !IsDirty(underlying) || !BeginRevalueCore(underlying))
        {
            return false;
        }

        ReadOnlySpan<int> holders = _blocks[underlying].Holders.Members;
        holders.CopyTo(_sliceHolders);
        _sliceCount = holders.Length;
        _sliceNext = 0;
        _slicedUnderlying = underlying;
        return true;
    }

    /// <summary>True while a sliced revaluation runs.</summary>
    public bool IsRevaluing => _slicedUnderlying >= 0;

    /// <summary>Re-margins up to <paramref name="maxAccounts"/> more holders of the running sliced revaluation; true when it has finished.</summary>
    public bool ContinueRevalue(int maxAccounts)
    {
        int u = _slicedUnderlying;
        if (u < 0)
        {
            return true;
        }

        int end = (int)Math.Min((long)_sliceNext + maxAccounts, _sliceCount);
        RevalueHolders(u, _sliceHolders.AsSpan(_sliceNext, end - _sliceNext));
        _sliceNext = end;
        if (end < _sliceCount)
        {
            return false;
        }

        _slicedUnderlying = -1;
        RevalueCollateralOf(u);
        return true;
    }

    private int _slicedUnderlying = -1;
    private int _sliceNext;
    private int _sliceCount;
    private readonly int[] _sliceHolders;

    /// <summary>Instrument revaluation; false when the underlying has no index yet (nothing to value).</summary>
    private bool BeginRevalueCore(int u)
    {
        var block = _blocks[u];
        block.Dirty = false;
        block.ValuedAtNanos = NowNanos;
        if (!block.HasIndex)
        {
            return false;
        }

        RevalueGroup(block, block.Options, isOption: true);
        RevalueGroup(block, block.Linear, isOption: false);
        return true;
    }

    private void RevalueHolders(int u, ReadOnlySpan<int> block)
    {
        foreach (int account in block)
        {
            ref AccountUnderlying s = ref _au[(account * _underlyings) + u];
            double oldUnrealized = s.Unrealized;
            double oldMargin = s.Margin;
            RecomputeAccountUnderlying(account, u);
            RemarginAfter(account, u, oldUnrealized, oldMargin);
        }
    }

    private void RevalueCollateralOf(int u)
    {
        for (int x = 0; x < _assets; x++)
        {
            if (_assetDefined[x] && _assetUnderlying[x] == u)
            {
                foreach (int account in _assetHolders[x].Members)
                {
                    _accounts[account].Collateral = ComputeCollateralValue(account);
                    Remargin(account);
                }
            }
        }
    }

    private void RevalueGroup(UnderlyingBlock block, UnderlyingBlock.Group g, bool isOption)
    {
        double index = block.Index;
        double carry = block.Carry;
        long now = NowNanos;
        for (int k = 0; k < g.Count; k++)
        {
            double t = g.Expiry[k] == 0 ? 0 : (g.Expiry[k] - now) / NanosPerYear;
            double forwardPerIndex = g.Kind[k] == (byte)InstrumentKind.Future ? Math.Exp(carry * Math.Max(t, 0)) : isOption ? Math.Exp(carry * Math.Max(t, 0)) : 1.0;
            g.ForwardPerIndex[k] = forwardPerIndex;
            g.Forward[k] = index * forwardPerIndex;
            g.Time[k] = isOption ? t : Math.Max(t, 0);
            if (!isOption)
            {
                g.Price[k] = g.Forward[k];
                g.Delta[k] = 1; // ∂F/∂F; the chain-rule factor is ForwardPerIndex
                g.Gamma[k] = 0;
                g.Vega[k] = 0;
                // Theta holds the index fixed: a future rolls down its basis (−b·F); spot and
                // perpetual positions have no time value.
                g.Theta[k] = g.Kind[k] == (byte)InstrumentKind.Future && t > 0 ? -carry * g.Forward[k] : 0;
                g.Rho[k] = 0;
            }
        }

        if (g.Count == 0)
        {
            return;
        }

        if (isOption)
        {
            GreeksKernel.Compute(g.GreekInputs, g.GreekOutputs);
            // The kernel prices on the forward (Black-76), so its theta holds F fixed; with the
            // index held fixed F = S·e^(bT) also moves in time: θ = θ_F − b·F·∂V/∂F.
            if (carry != 0)
            {
                for (int k = 0; k < g.Count; k++)
                {
                    if (g.Time[k] > 0)
                    {
                        g.Theta[k] -= carry * g.Forward[k] * g.Delta[k];
                    }
                }
            }
        }

        _calculator.Compute(g.RiskInputs, g.Rows.AsSpan(0, g.Count * _scenarios));
        for (int k = 0; k < g.Count; k++)
        {
            int id = g.Ids[k];
            double m = g.Multiplier[k];
            double f = g.ForwardPerIndex[k];
            ref InstrumentValue v = ref _values[id];
            v.Mark = g.Price[k];
            v.Multiplier = m;
            v.Delta = g.Delta[k] * f * m;
            v.Gamma = g.Gamma[k] * f * f * m;
            v.Vega = g.Vega[k] * m;
            v.Theta = g.Theta[k] * m;
            g.Row(k).CopyTo(_rows.AsSpan(id * _scenarios, _scenarios));
        }
    }

    /// <summary>Exact recomputation of one account's aggregates in one underlying from its positions.</summary>
    private void RecomputeAccountUnderlying(int account, int u)
    {
        int au = (account * _underlyings) + u;
        double delta = 0, gamma = 0, vega = 0, theta = 0, unrealized = 0, shortUnits = 0;
        Span<double> array = _riskArrays.AsSpan(au * _scenarios, _scenarios);
        if (_scenarios == 16 && Vector256.IsHardwareAccelerated)
        {
            RecomputeAccountUnderlying16(account, u, au, array);
            return;
        }

        array.Clear();
        ReadOnlySpan<Position> positions = _positions.AsSpan((account * _positionsPerAccount) + GroupStart(account, u), _au[au].PositionCount);
        foreach (ref readonly Position p in positions)
        {
            int instrument = p.Instrument;
            double q = p.Quantity;
            ref readonly InstrumentValue v = ref _values[instrument];
            delta += q * v.Delta;
            gamma += q * v.Gamma;
            vega += q * v.Vega;
            theta += q * v.Theta;
            unrealized += q * (v.Mark - p.Average) * v.Multiplier;
            if (q < 0 && _isOption[instrument])
            {
                shortUnits -= q * v.Multiplier;
            }

            MultiplyAdd(array, q, _rows.AsSpan(instrument * _scenarios, _scenarios));
        }

        ref AccountUnderlying s = ref _au[au];
        s.NetDelta = delta;
        s.NetGamma = gamma;
        s.NetVega = vega;
        s.NetTheta = theta;
        s.Unrealized = unrealized;
        s.ShortOptionUnits = shortUnits;
        s.Margin = MarginOf(u, ScanOf(array), shortUnits);
    }

    /// <summary>
    /// The 16-scenario case (the CME grid) of <see cref="RecomputeAccountUnderlying"/>: the
    /// account's risk array lives in four registers across the positions instead of going through
    /// memory once per position. Same sums, same order. Kept as its own loop on purpose: folding it
    /// into the general one behind a per-position branch measured 660 µs instead of 560 µs per
    /// tick on the standard workload (the JIT spills the accumulators).
    /// </summary>
    private void RecomputeAccountUnderlying16(int account, int u, int au, Span<double> array)
    {
        double delta = 0, gamma = 0, vega = 0, theta = 0, unrealized = 0, shortUnits = 0;
        Vector256<double> r0 = Vector256<double>.Zero, r1 = r0, r2 = r0, r3 = r0;
        ReadOnlySpan<Position> positions = _positions.AsSpan((account * _positionsPerAccount) + GroupStart(account, u), _au[au].PositionCount);
        ref double rows = ref MemoryMarshal.GetArrayDataReference(_rows);
        foreach (ref readonly Position p in positions)
        {
            int instrument = p.Instrument;
            double q = p.Quantity;
            ref readonly InstrumentValue v = ref _values[instrument];
            delta += q * v.Delta;
            gamma += q * v.Gamma;
            vega += q * v.Vega;
            theta += q * v.Theta;
            unrealized += q * (v.Mark - p.Average) * v.Multiplier;
            if (q < 0 && _isOption[instrument])
            {
                shortUnits -= q * v.Multiplier;
            }

            // _rows has MaxInstruments × 16 entries and instrument is a defined id: in range.
            nuint row = (nuint)instrument * 16;
            var qv = Vector256.Create(q);
            r0 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref rows, row), r0);
            r1 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref rows, row + 4), r1);
            r2 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref rows, row + 8), r2);
            r3 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref rows, row + 12), r3);
        }

        ref double target = ref MemoryMarshal.GetReference(array);
        r0.StoreUnsafe(ref target, 0);
        r1.StoreUnsafe(ref target, 4);
        r2.StoreUnsafe(ref target, 8);
        r3.StoreUnsafe(ref target, 12);
        var worst = Vector256.Max(Vector256.Max(r0, r1), Vector256.Max(r2, r3));
        double scan = Math.Max(Math.Max(worst.GetElement(0), worst.GetElement(1)), Math.Max(worst.GetElement(2), worst.GetElement(3)));
        ref AccountUnderlying s = ref _au[au];
        s.NetDelta = delta;
        s.NetGamma = gamma;
        s.NetVega = vega;
        s.NetTheta = theta;
        s.Unrealized = unrealized;
        s.ShortOptionUnits = shortUnits;
        s.Margin = MarginOf(u, Math.Max(scan, 0), shortUnits);
    }

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

        _accounts[account].UnrealizedTotal = unrealized;
        _accounts[account].IncrementalUpdates = 0;
        SetMargin(account, initial);
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
        SetMargin(account, t.InitialMargin - oldMargin + s.Margin);
    }

    /// <summary>Incremental margin updates between two exact re-sums of an account's totals.</summary>
    private const int RebaseEvery = 64;

    /// <summary>Initial margin contribution of one underlying: max(scan risk, short option minimum at the current index).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private double MarginOf(int u, double scan, double shortOptionUnits) =>
        Math.Max(scan, shortOptionUnits * _blocks[u].Index * _config.ShortOptionMinimumFraction);

    private void SetMargin(int account, double initial)
    {
        double equity = _accounts[account].Collateral + _accounts[account].Realized + _accounts[account].UnrealizedTotal;
        _accounts[account].InitialMargin = initial;
        _accounts[account].Equity = equity;
        MarginState from = _accounts[account].State;
        MarginState to = NextState(from, equity, initial, initial * _config.MaintenanceFraction, _config.Hysteresis);
        if (to != from)
        {
            _accounts[account].State = to;
            Enqueue(new MarginTransition(account, from, to, equity, initial, initial * _config.MaintenanceFraction));
        }
    }

    /// <summary>
    /// The ladder with hysteresis: worse states are entered at the threshold, better ones only once
    /// equity clears it by the hysteresis fraction. Every comparison is written so that a NaN (or an
    /// infinite margin) fails it: a number that is not a number never reads as healthy.
    /// </summary>
    public static MarginState NextState(MarginState current, double equity, double initial, double maintenance, double hysteresis)
    {
        if (!(equity >= maintenance) || !double.IsFinite(equity) || !double.IsFinite(initial))
        {
            return MarginState.Liquidation;
        }

        if (!(equity >= initial))
        {
            if (current == MarginState.Liquidation && !(equity >= maintenance * (1 + hysteresis)))
            {
                return MarginState.Liquidation;
            }

            return MarginState.MarginCall;
        }

        // equity ≥ initial
        if (current != MarginState.Healthy && !(equity >= initial * (1 + hysteresis)))
        {
            return current == MarginState.Liquidation && !(equity >= maintenance * (1 + hysteresis)) ? MarginState.Liquidation : MarginState.MarginCall;
        }

        return MarginState.Healthy;
    }

    private void Enqueue(in MarginTransition transition)
    {
        int a = transition.Account;
        if (_transitionOrder.TryEnqueue(a))
        {
            _transitions[a] = transition;
            return;
        }

        // The account already waits: one transition from its first from-state to the latest state.
        _transitionsCoalesced++;
        _transitions[a] = transition with { From = _transitions[a].From, Replaced = _transitions[a].Replaced + 1 };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd(Span<double> target, double quantity, ReadOnlySpan<double> row)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref double t = ref MemoryMarshal.GetReference(target);
            ref double r = ref MemoryMarshal.GetReference(row);
            var q = Vector256.Create(quantity);
            for (; i <= target.Length - 4; i += 4)
            {
                Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref r, (nuint)i), Vector256.LoadUnsafe(ref t, (nuint)i)).StoreUnsafe(ref t, (nuint)i);
            }
        }

        for (; i < target.Length; i++)
        {
            target[i] = Math.FusedMultiplyAdd(quantity, row[i], target[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double ScanOf(ReadOnlySpan<double> array)
    {
        double worst = 0;
        foreach (double v in array)
        {
            worst = Math.Max(worst, v);
        }

        return worst;
    }
}

/// <summary>Margin before and after a hypothetical fill.</summary>
public readonly record struct WhatIfResult(double InitialMarginBefore, double InitialMarginAfter, double EquityBefore, double EquityAfter)
{
    /// <summary>True when the fill does not increase initial margin (risk-reducing or neutral).</summary>
    public bool IsRiskReducing => InitialMarginAfter <= InitialMarginBefore;

    /// <summary>True when equity after the fill covers initial margin after it.</summary>
    public bool IsCovered => EquityAfter >= InitialMarginAfter;
}

/// <summary>One open position.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Position
{
    public int Instrument;
    public int Underlying;
    public double Quantity;
    public double Average;
}

/// <summary>An account's sums in one underlying; 64 bytes, one cache line.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct AccountUnderlying
{
    public double NetDelta;
    public double NetGamma;
    public double NetVega;
    public double NetTheta;
    public double Unrealized;
    public double ShortOptionUnits;
    public double Margin; // max(scan risk, short option minimum) as last computed; 0 when nothing is held
    public int PositionCount;
}

/// <summary>An account's totals.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct AccountTotals
{
    public double Realized;
    public double Collateral;
    public double InitialMargin;
    public double Equity;
    public double UnrealizedTotal;
    public int PositionCount;
    public int IncrementalUpdates;
    public MarginState State;
}

/// <summary>Per-contract values of one instrument (multiplier applied; Greeks with respect to the index).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct InstrumentValue
{
    public double Mark;       // per unit
    public double Multiplier;
    public double Delta;      // per contract
    public double Gamma;
    public double Vega;
    public double Theta;
}
