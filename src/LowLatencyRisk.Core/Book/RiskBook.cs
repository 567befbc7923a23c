using System.Runtime.Intrinsics;
using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Book;

/// <summary>
/// The risk state the engine thread owns: instruments, market, accounts, positions, collateral,
/// netted Greeks, risk arrays and margin, all preallocated from <see cref="RiskConfig"/>; the margin
/// formula is the methodology <typeparamref name="TMargin"/> (<see cref="RiskBook"/> is the book with
/// today's SPAN-style <see cref="ScanRiskMargin"/>).
/// </summary>
/// <typeparam name="TMargin">The margin methodology, a struct: its calls are direct and inlinable.</typeparam>
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
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>Nanoseconds per (365-day) year.</summary>
    public const double NanosPerYear = 365.0 * 86_400 * 1e9;

    private readonly RiskConfig _config;
    private readonly RiskArrayCalculator[] _calculators; // by underlying: each with the underlying's calibration
    private readonly ScenarioParameters[] _calibration;  // by underlying (state: the feed recalibrates)
    private readonly ScenarioGrid _grid;
    // The plain 16-row grid (CME SPAN) takes the register paths of the fill, recompute and what-if.
    private readonly bool _registers16;
    private readonly int _scenarios;
    private readonly int _underlyings;
    private readonly int _positionsPerAccount;
    private readonly int _assets;

    private readonly UnderlyingBlock[] _blocks;
    private readonly double[] _settled; // by account: cash the book itself moved (Settle), counted as collateral without haircut
    private readonly InstrumentSpec[] _specs;
    private readonly bool[] _defined;
    private readonly int[] _slot;
    private readonly bool[] _isOption;
    private readonly double[] _face; // by instrument: an inverse contract's face value in the quote currency (0: linear)

    // Per-account state is array-of-structs on purpose (unlike the instrument tables, which are
    // struct-of-arrays for the kernels): a tick visits holder accounts one after another, and
    // keeping each account's positions, its per-underlying sums and its totals contiguous turns
    // what were ~20 scattered cache lines per account into a few sequential ones.
    private readonly Position[] _positions;            // account-major, _positionsPerAccount slots each
    private readonly AccountUnderlying[] _au;          // index a * U + u
    private readonly double[] _riskArrays;             // (a * U + u) * S + j
    private readonly AccountTotals[] _accounts;

    private readonly double[] _scratchArray;

    // Per-instrument values per contract (multiplier and the forward-to-index chain rule applied),
    // refreshed by each revaluation: what fills, what-ifs and holder revaluations read.
    private readonly InstrumentValue[] _values;
    private readonly double[] _rows; // instrument * S + j: loss of one long contract per scenario

    private readonly TMargin _method;

    /// <summary>Creates an empty book with every table preallocated, margined by <paramref name="methodology"/>.</summary>
    public RiskBook(RiskConfig config, TMargin methodology)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _config = config;
        _method = methodology;
        _scenarios = config.Grid.Count;
        _grid = config.Grid;
        _registers16 = _scenarios == 16 && config.Grid.IsPlain && System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated;
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
        _face = new double[config.MaxInstruments];

        _positions = new Position[accounts * _positionsPerAccount];
        _au = new AccountUnderlying[accounts * _underlyings];
        _riskArrays = new double[accounts * _underlyings * _scenarios];
        _accounts = new AccountTotals[accounts];
        _sliceHolders = new int[accounts];
        _lastFundingNanos = new long[config.MaxInstruments];
        _fundingRate = new double[config.MaxInstruments];
        _provisionOn = config.FundingProvision;
        _auProvision = _provisionOn ? new double[accounts * _underlyings] : [];
        _ewmaVariance = new double[_underlyings];
        _samplePrice = new double[_underlyings];
        _sampleNanos = new long[_underlyings];
        _dayStartRange = new double[_underlyings];
        _rangeDay = new long[_underlyings];
        _fundingAccounts = new int[accounts];
        _fundingAmounts = new double[accounts];
        _rankLosses = new double[_positionsPerAccount];

        _balances = new double[accounts * _assets];
        _settled = new double[accounts];
        _assetDefined = new bool[_assets];
        _assetUnderlying = new int[_assets];
        _assetFixedPrice = new double[_assets];
        _assetTiers = new HaircutTier[_assets][];
        _assetInScenarios = new bool[_assets];
        _indexValueLoss = new double[_underlyings * _scenarios];
        _calibration = new ScenarioParameters[_underlyings];
        _calculators = new RiskArrayCalculator[_underlyings];
        if (config.Grid.HistoricalMoves is { } history && history.Count < _underlyings)
        {
            throw new ArgumentException($"The historical grid {config.Grid.Name} has moves for {history.Count} underlyings; the book has {_underlyings}.", nameof(config));
        }

        for (int u = 0; u < _underlyings; u++)
        {
            _calculators[u] = new RiskArrayCalculator(config.Grid, u);
            ApplyCalibration(u, config.Grid.Calibration);
        }

        foreach (var c in config.ScenarioCalibrations)
        {
            if (SetScenarioCalibration(c.Underlying, c.Parameters) is { } problem)
            {
                throw new ArgumentException($"Calibration of underlying {c.Underlying}: {problem}.", nameof(config));
            }

            _blocks[c.Underlying].Dirty = false; // nothing to revalue yet: the underlying has no instruments
        }

        _assetHolders = new HolderSet[_assets];
        for (int x = 0; x < _assets; x++)
        {
            _assetHolders[x] = new HolderSet(accounts);
            _assetTiers[x] = [];
        }

        _auMaintenance = new double[accounts * _underlyings];
        _links = new IsolationLink[accounts];
        for (int a = 0; a < accounts; a++)
        {
            _links[a] = new IsolationLink { Parent = -1, Instrument = -1 };
            _accounts[a].Mode = config.DefaultMarginMode;
        }

        _transitions = new MarginTransition[accounts];
        _transitionOrder = new WaitingAccounts(accounts);
        _scratchArray = new double[_scenarios];
        _values = new InstrumentValue[config.MaxInstruments];
        _rows = new double[config.MaxInstruments * _scenarios];

        _components = methodology.Components;
        if (_components is not null && _components.Underlyings != _underlyings)
        {
            throw new ArgumentException($"The methodology's components were built for {_components.Underlyings} underlyings; the book has {_underlyings}.", nameof(methodology));
        }

        if (_components is not null && !config.Grid.IsPlain && _components.Config.InterCommodity.Any(s => s.Form == InterCommodityForm.Scanning))
        {
            // The scanning-spread form sums the legs' losses row by row; a row of the extended
            // table (dampened) or a basis row (added on top) is not a scenario it can combine.
            throw new ArgumentException($"The scanning-spread form of an inter-commodity credit needs a grid of regular rows only; {config.Grid.Name} has extended or basis rows (use the delta-ratio form).", nameof(config));
        }

        if (_components is not null && config.Grid.Measure == ScanMeasure.ExpectedShortfall)
        {
            // The tail measure nets the underlyings through history's joint moves; SPAN's spread
            // charges and credits on top would count the same offsets again.
            throw new ArgumentException($"Portfolio components (spread charges, credits, add-ons) are SPAN's additions to a worst-row scan; the historical grid {config.Grid.Name} margins by expected shortfall and takes none.", nameof(config));
        }

        _jointTail = config.Grid.Measure == ScanMeasure.ExpectedShortfall && _underlyings > 1;
        _jointArray = _jointTail ? new double[_scenarios] : [];
        _zeros = _jointTail ? new double[_scenarios] : [];
        _jointOthers = _jointTail ? new int[_underlyings + 1] : [];
        bool tail = config.Grid.Measure == ScanMeasure.ExpectedShortfall;
        _tailRows = tail ? new int[TailMeasure.TailRows(_scenarios, config.Grid.Confidence)] : [];
        _tailScratch = tail ? new double[TailMeasure.ScratchLength(_scenarios, config.Grid.Confidence)] : [];
        _tailHint = tail ? new double[accounts * _underlyings] : [];
        _tailHint.AsSpan().Fill(double.NaN);
        _jointHint = tail ? new double[accounts] : [];
        _jointHint.AsSpan().Fill(double.NaN);
        _rowBound = tail ? new double[config.MaxInstruments] : [];
        _terms = _components is null ? [] : new ComponentTerms[accounts * _underlyings];
        _tierDeltas = _components is { HasIntraCommodity: true } ? new double[accounts * _underlyings * PortfolioComponents.MaxTiers] : [];
        _tier = new byte[config.MaxInstruments];
        _working = new WorkingSlot[accounts * _positionsPerAccount];
        _workingCount = new int[accounts];
        _auWorking = new int[accounts * _underlyings];
        _orderArrays = new double[accounts * _underlyings * 2 * _scenarios];
        _orderShortUnits = new double[accounts * _underlyings];
        _orderBuiltAt = new long[accounts * _underlyings];
        _orderBuiltAt.AsSpan().Fill(-1);
        if (_components is { HasInterCommodity: true })
        {
            (_interDeltas, _interScans, _interRemaining, _interCredits) = (new double[_underlyings], new double[_underlyings], new double[_underlyings], new double[_underlyings]);
        }
    }

    /// <summary>The configuration.</summary>
    public RiskConfig Config => _config;

    /// <summary>The margin methodology (the formula's one home; the verifier applies it too).</summary>
    public TMargin Methodology => _method;

    /// <summary>Scenarios per risk array.</summary>
    public int Scenarios => _scenarios;

    /// <summary>The book's clock: the latest accepted index timestamp (Unix ns), or what <see cref="AdvanceClock"/> set.</summary>
    public long NowNanos => _nowNanos;

    private long _nowNanos;
    private long _transitionsCoalesced;

    /// <summary>
    /// Walks every piece of mutable state (instruments defined at run time, market, positions,
    /// sums, risk arrays, collateral, ladder, queued transitions, a sliced revaluation or funding in progress)
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
        visitor.Array(_face);
        foreach (var block in _blocks)
        {
            block.VisitState(visitor);
        }

        visitor.Array(_positions);
        visitor.Array(_au);
        visitor.Array(_riskArrays);
        visitor.Array(_accounts);
        visitor.Array(_settled);
        visitor.Array(_auMaintenance);
        visitor.Array(_terms);
        visitor.Array(_tierDeltas);
        visitor.Array(_tier);
        _components?.VisitState(visitor);
        visitor.Array(_working);
        visitor.Array(_workingCount);
        visitor.Array(_auWorking);
        visitor.Array(_orderArrays);
        visitor.Array(_orderShortUnits);
        visitor.Array(_orderBuiltAt);
        visitor.Array(_links);
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
        VisitFunding(visitor);
        VisitDynamicRange(visitor);
        visitor.Array(_calibration);
        if (visitor is Persistence.StateRestore)
        {
            for (int u = 0; u < _underlyings; u++)
            {
                ApplyCalibration(u, _calibration[u]); // the calculators follow the restored calibration
            }
        }
    }

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

    /// <summary>Per-contract delta with respect to the index (multiplier included; an inverse contract's coins at the mark, face / mark per coin of delta).</summary>
    public double InstrumentDelta(int instrument)
    {
        ref readonly InstrumentValue v = ref _values[instrument];
        double face = _face[instrument];
        return face > 0 ? (v.Mark > 0 ? v.Delta * face / v.Mark : 0) : v.Delta;
    }

    /// <summary>Per-contract vega (per 1.00 of volatility, multiplier included); 0 for futures and perpetuals.</summary>
    public double InstrumentVega(int instrument) => _values[instrument].Vega;

    /// <summary>Contracts held by <paramref name="account"/> in <paramref name="instrument"/>, signed (0 if none).</summary>
    public double PositionQuantity(int account, int instrument)
    {
        int k = FindPosition(account, instrument);
        if (k < 0)
        {
            return 0;
        }

        ref readonly Position p = ref _positions[(account * _positionsPerAccount) + k];
        return _face[instrument] > 0 ? ContractsOf(instrument, p.Quantity, p.Average) : p.Quantity;
    }

    /// <summary>
    /// What the book values of the position: its contracts for a linear instrument; for an inverse
    /// one the coins it is worth at entry, contracts × face / average entry price (the average being
    /// the harmonic mean of the fill prices, as inverse venues compute it). An inverse position of
    /// E coins at average A is, in the quote currency, a linear position of E at A when its coin
    /// P&amp;L is converted at the mark: contracts × face × (1/A − 1/F) × F = E × (F − A). So margin,
    /// risk arrays, Greeks and P&amp;L treat it as E units of a per-coin instrument.
    /// </summary>
    public double PositionUnits(int account, int instrument)
    {
        int k = FindPosition(account, instrument);
        return k < 0 ? 0 : _positions[(account * _positionsPerAccount) + k].Quantity;
    }

    /// <summary>
    /// The quote-currency notional of <paramref name="contracts"/> of <paramref name="instrument"/> at
    /// <paramref name="price"/>: |contracts| × price × multiplier, or for an inverse contract
    /// |contracts| × its face value (what the order limits, working notional and fees count).
    /// </summary>
    public double ContractNotional(int instrument, double contracts, double price)
    {
        double face = _face[instrument];
        return face > 0 ? Math.Abs(contracts) * face : Math.Abs(contracts) * price * _specs[instrument].Multiplier;
    }

    /// <summary>An inverse position's contracts from its coins and average: E × A / face, on the lot grid when within 1e-9 of it (rounding of the division).</summary>
    private double ContractsOf(int instrument, double units, double average)
    {
        double contracts = units * average / _face[instrument];
        double lot = _specs[instrument].LotSize;
        double onGrid = Math.Round(contracts / lot) * lot;
        return Math.Abs(contracts - onGrid) <= 1e-9 * Math.Max(1, Math.Abs(contracts)) ? onGrid : contracts;
    }

    /// <summary>
    /// The coins a trade of <paramref name="contracts"/> of inverse <paramref name="instrument"/> at
    /// <paramref name="price"/> adds to a position of <paramref name="units"/> coins at average
    /// <paramref name="average"/>: opening or adding, contracts × face / price; reducing, the
    /// closed contracts' share of the coins, contracts × face / average (so the average stays and the
    /// realized P&amp;L is E_closed × (price − average), the coin P&amp;L converted at the trade price);
    /// closing, exactly all of them; flipping, all of them and the new side's contracts × face / price.
    /// </summary>
    private double UnitsChange(int instrument, double units, double average, double contracts, double price)
    {
        if (!(price > 0) || !double.IsFinite(price))
        {
            return 0; // no price to buy coins at (a what-if or a working order before the first mark): like a linear row before it, nothing
        }

        double face = _face[instrument];
        double held = units == 0 ? 0 : ContractsOf(instrument, units, average);
        if (held == 0 || Math.Sign(held) == Math.Sign(contracts))
        {
            return contracts * face / price;
        }

        double after = held + contracts;
        if (Math.Abs(contracts) <= Math.Abs(held))
        {
            return Math.Abs(after) <= 1e-9 * Math.Abs(held) ? -units : contracts * face / average;
        }

        return -units + (after * face / price);
    }

    /// <summary>The units a trade of <paramref name="contracts"/> at <paramref name="price"/> moves the account's position by (the contracts themselves for a linear instrument).</summary>
    private double UnitsOfTrade(int account, int instrument, double contracts, double price)
    {
        if (_face[instrument] == 0)
        {
            return contracts;
        }

        int k = FindPosition(account, instrument);
        if (k < 0)
        {
            return UnitsChange(instrument, 0, 0, contracts, price);
        }

        ref readonly Position p = ref _positions[(account * _positionsPerAccount) + k];
        return UnitsChange(instrument, p.Quantity, p.Average, contracts, price);
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

    /// <summary>Haircut collateral value of an account (its <see cref="SettledCash"/> included, without haircut).</summary>
    public double CollateralValue(int account) => _accounts[account].Collateral;

    /// <summary>Collateral balance of an account in an asset.</summary>
    public double CollateralBalance(int account, int asset) => _balances[(account * _assets) + asset];

    /// <summary>Equity = haircut collateral + realized + unrealized P&amp;L.</summary>
    public double Equity(int account) => _accounts[account].Equity;

    /// <summary>Initial margin under the account's mode: portfolio Σ over underlyings of max(scan risk, short option minimum); standard and isolated Σ of the positions' requirements.</summary>
    public double InitialMargin(int account) => _accounts[account].InitialMargin;

    /// <summary>Maintenance margin: portfolio initial × <see cref="RiskConfig.MaintenanceFraction"/>; standard and isolated Σ of the positions' maintenance requirements.</summary>
    public double MaintenanceMargin(int account)
    {
        ref readonly AccountTotals t = ref _accounts[account];
        return t.Mode == MarginMode.Portfolio ? _method.Maintenance(t.InitialMargin) : t.MaintenanceSum;
    }

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

    /// <summary>Scan risk (worst weighted scenario loss, floored at 0; with extended and basis rows <see cref="ScanParts.Total"/>) of an account in an underlying.</summary>
    public double ScanRisk(int account, int underlying) => ScanOf(RiskArray(account, underlying), underlying);

    /// <summary>The parts of an account's scan risk in an underlying: worst regular row, dampened extended row, basis row.</summary>
    public ScanParts ScanRiskParts(int account, int underlying) => _grid.PartsOf(RiskArray(account, underlying), _calibration[underlying].ExtendedDampener);

    /// <summary>Short option minimum of an account in an underlying.</summary>
    public double ShortOptionMinimum(int account, int underlying) =>
        _method.ShortOptionMinimum(_au[(account * _underlyings) + underlying].ShortOptionUnits, _blocks[underlying].Index);

    /// <summary>The account's risk array in an underlying.</summary>
    public ReadOnlySpan<double> RiskArray(int account, int underlying) =>
        _riskArrays.AsSpan(((account * _underlyings) + underlying) * _scenarios, _scenarios);
}
