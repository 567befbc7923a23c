using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LowLatencyRisk.Core.Book;

/// <summary>An account × underlying's inputs to the portfolio components, kept for every account whatever its mode (a switch to portfolio reads them).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ComponentTerms
{
    public double Scan;      // scan risk (worst scenario loss, ≥ 0)
    public double Intra;     // intra-commodity charge from the tier deltas
    public double AddOn;     // size add-on
    public double GrossVega; // Σ |quantity × vega per contract|; kept only where the add-on charges vega
}

/// <summary>One account's requirement in one underlying, part by part (portfolio margin).</summary>
/// <param name="ScanRisk">Worst scenario loss, floored at 0.</param>
/// <param name="IntraCommodityCharge">Calendar spread charge between expiry tiers.</param>
/// <param name="InterCommodityCredit">Credit from spreads with other underlyings.</param>
/// <param name="ShortOptionMinimum">Short option minimum (a floor of the scan part).</param>
/// <param name="SizeAddOn">Concentration and liquidity add-on.</param>
/// <param name="Requirement">The underlying's initial requirement: combine(max(scan + intra − credit, minimum), add-on).</param>
public readonly record struct UnderlyingMarginBreakdown(double ScanRisk, double IntraCommodityCharge, double InterCommodityCredit, double ShortOptionMinimum, double SizeAddOn, double Requirement);

/// <content>
/// Portfolio components (<see cref="PortfolioComponents"/>): the book keeps their inputs per account ×
/// underlying — net delta per expiry tier, gross vega, scan risk — on every fill and recompute, and
/// asks the methodology's components for the numbers. Without components none of this runs.
/// </content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    private readonly PortfolioComponents? _components;
    private readonly double[] _tierDeltas;        // (a * U + u) * MaxTiers + tier; empty without intra-commodity charges
    private readonly ComponentTerms[] _terms;     // a * U + u; empty without components
    private readonly byte[] _tier;                // instrument → expiry tier
    private readonly double[] _interDeltas = [], _interScans = [], _interRemaining = [], _interCredits = [];

    /// <summary>The portfolio components in force (null: none).</summary>
    public PortfolioComponents? Components => _components;

    /// <summary>
    /// An account's requirement in one underlying part by part, at the last valuation: the portfolio
    /// formula whatever the account's mode (a standard account's own requirement is per position).
    /// </summary>
    public UnderlyingMarginBreakdown MarginBreakdown(int account, int underlying)
    {
        int au = (account * _underlyings) + underlying;
        double scan = ScanOf(_riskArrays.AsSpan(au * _scenarios, _scenarios), underlying);
        double minimum = _method.ShortOptionMinimum(_au[au].ShortOptionUnits, _blocks[underlying].Index);
        if (_components is null)
        {
            double plain = _au[au].PositionCount == 0 ? 0 : _method.UnderlyingRequirement(scan, _au[au].ShortOptionUnits, _blocks[underlying].Index);
            return new UnderlyingMarginBreakdown(scan, 0, 0, minimum, 0, plain);
        }

        ref readonly ComponentTerms t = ref _terms[au];
        double credit = 0;
        if (_components.HasInterCommodity)
        {
            InterCreditsOf(account, -1, 0, 0, default);
            credit = _interCredits[underlying];
        }

        double requirement = _au[au].PositionCount == 0 ? 0 : _components.Requirement(underlying, t.Scan + t.Intra, credit, minimum, t.AddOn);
        return new UnderlyingMarginBreakdown(t.Scan, t.Intra, credit, minimum, t.AddOn, requirement);
    }

    /// <summary>
    /// Recalibrates the size add-on of <paramref name="underlying"/> (<see cref="PortfolioComponents.SetAddOn"/>);
    /// the underlying is marked for revaluation, which re-margins every holder with the new
    /// parameters, exactly as a volatility mark does. False (nothing changed) when the underlying is
    /// unknown, has no add-on, or a value is out of range.
    /// </summary>
    public bool SetSizeAddOn(int underlying, double baseRate, double bandScale, double shockThreshold, double shockFullAt, double maxShock, double vegaRate, AddOnCombine combine)
    {
        if (_components is null || !IsUnderlying(underlying)
            || !_components.SetAddOn(underlying, baseRate, bandScale, shockThreshold, shockFullAt, maxShock, vegaRate, combine))
        {
            return false;
        }

        _blocks[underlying].Dirty = true;
        return true;
    }

    /// <summary>
    /// The fill path's component update of one aggregate (any mode): the filled instrument's tier
    /// delta and the gross vega move by this fill, then the charge and add-on follow. Returns the
    /// aggregate's portfolio requirement before inter-commodity credits. Kept out of
    /// <see cref="ApplyFill"/> so the plain path's code is unchanged.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private double ComponentsAfterFill(int au, int u, int instrument, double quantity, double oldQuantity, double newQuantity, double scan)
    {
        PortfolioComponents c = _components!;
        ref readonly InstrumentValue v = ref _values[instrument];
        ref ComponentTerms t = ref _terms[au];
        t.Scan = scan;
        if (c.HasTiers(u))
        {
            Span<double> tiers = _tierDeltas.AsSpan(au * PortfolioComponents.MaxTiers, PortfolioComponents.MaxTiers);
            tiers[_tier[instrument]] += quantity * v.Delta;
            t.Intra = c.IntraCharge(u, tiers);
        }

        if (c.NeedsGrossVega(u))
        {
            t.GrossVega += (Math.Abs(newQuantity) - Math.Abs(oldQuantity)) * Math.Abs(v.Vega);
        }

        double index = _blocks[u].Index;
        t.AddOn = c.AddOn(u, _au[au].NetDelta, t.GrossVega, index);
        return c.Requirement(u, t.Scan + t.Intra, 0, _method.ShortOptionMinimum(_au[au].ShortOptionUnits, index), t.AddOn);
    }

    /// <summary>The recompute path's component inputs, exactly from the positions; returns the aggregate's portfolio requirement before credits.</summary>
    private double RecomputeComponents(int account, int u, int au, ReadOnlySpan<double> array)
    {
        PortfolioComponents c = _components!;
        ref ComponentTerms t = ref _terms[au];
        bool tiered = c.HasTiers(u);
        Span<double> tiers = tiered ? _tierDeltas.AsSpan(au * PortfolioComponents.MaxTiers, PortfolioComponents.MaxTiers) : default;
        tiers.Clear();
        double grossVega = 0;
        if (tiered || c.NeedsGrossVega(u))
        {
            // A second pass over the positions (they are in cache from the first); only what the
            // underlying's components use: with neither, nothing to walk.
            foreach (ref readonly Position p in _positions.AsSpan((account * _positionsPerAccount) + GroupStart(account, u), _au[au].PositionCount))
            {
                ref readonly InstrumentValue v = ref _values[p.Instrument];
                grossVega += Math.Abs(p.Quantity * v.Vega);
                if (tiered)
                {
                    tiers[_tier[p.Instrument]] += p.Quantity * v.Delta;
                }
            }
        }

        double index = _blocks[u].Index;
        t.Scan = ScanOf(array, u);
        t.Intra = tiered ? c.IntraCharge(u, tiers) : 0;
        t.GrossVega = grossVega;
        t.AddOn = c.AddOn(u, _au[au].NetDelta, grossVega, index);
        return c.Requirement(u, t.Scan + t.Intra, 0, _method.ShortOptionMinimum(_au[au].ShortOptionUnits, index), t.AddOn);
    }

    /// <summary>Clears an aggregate's component inputs when its last position closes.</summary>
    private void ClearComponents(int au)
    {
        _terms[au] = default;
        if (_tierDeltas.Length > 0)
        {
            _tierDeltas.AsSpan(au * PortfolioComponents.MaxTiers, PortfolioComponents.MaxTiers).Clear();
        }
    }

    /// <summary>The aggregate's portfolio requirement before credits, from its kept inputs (mode switches).</summary>
    private double PortfolioRequirementOf(int au, int u)
    {
        if (_components is null)
        {
            return MarginOf(u, ScanOf(_riskArrays.AsSpan(au * _scenarios, _scenarios), u), _au[au].ShortOptionUnits);
        }

        ref readonly ComponentTerms t = ref _terms[au];
        return _components.Requirement(u, t.Scan + t.Intra, 0, _method.ShortOptionMinimum(_au[au].ShortOptionUnits, _blocks[u].Index), t.AddOn);
    }

    /// <summary>
    /// The account's inter-commodity credits into <c>_interCredits</c> (per underlying), from its net
    /// deltas and scan risks; with <paramref name="overrideU"/> ≥ 0 that underlying's are replaced (what-if).
    /// </summary>
    private void InterCreditsOf(int account, int overrideU, double overrideDelta, double overrideScan, ReadOnlySpan<double> overrideArray)
    {
        int baseAu = account * _underlyings;
        for (int u = 0; u < _underlyings; u++)
        {
            bool held = _au[baseAu + u].PositionCount > 0;
            _interDeltas[u] = held ? _au[baseAu + u].NetDelta : 0;
            _interScans[u] = held ? _terms[baseAu + u].Scan : 0;
        }

        if (overrideU >= 0)
        {
            _interDeltas[overrideU] = overrideDelta;
            _interScans[overrideU] = overrideScan;
        }

        var arrays = new AccountRiskArrays(_riskArrays.AsSpan(baseAu * _scenarios, _underlyings * _scenarios), _scenarios, overrideU, overrideArray);
        _components!.InterCredits(_interDeltas, _interScans, arrays, _interRemaining, _interCredits);
    }

    /// <summary>
    /// How much the account's inter-commodity credits take off the sum of its aggregates'
    /// requirements: Σ over credited underlyings of (requirement without − requirement with the
    /// credit), the credit applied before the short option minimum and the add-on, as SPAN does.
    /// </summary>
    /// <remarks>With <paramref name="overrideU"/> ≥ 0, that underlying's inputs are <paramref name="overrideDelta"/> and <paramref name="overrideTerms"/> (what-if).</remarks>
    private double InterAdjustment(int account, int overrideU, double overrideDelta, in ComponentTerms overrideTerms, double overrideShortUnits, ReadOnlySpan<double> overrideArray = default)
    {
        PortfolioComponents c = _components!;
        InterCreditsOf(account, overrideU, overrideDelta, overrideTerms.Scan, overrideArray);
        double adjustment = 0;
        int baseAu = account * _underlyings;
        for (int u = 0; u < _underlyings; u++)
        {
            double credit = _interCredits[u];
            if (credit > 0)
            {
                bool over = u == overrideU;
                ref readonly ComponentTerms t = ref over ? ref overrideTerms : ref _terms[baseAu + u];
                double minimum = _method.ShortOptionMinimum(over ? overrideShortUnits : _au[baseAu + u].ShortOptionUnits, _blocks[u].Index);
                adjustment += c.Requirement(u, t.Scan + t.Intra, 0, minimum, t.AddOn) - c.Requirement(u, t.Scan + t.Intra, credit, minimum, t.AddOn);
            }
        }

        return adjustment;
    }

    /// <summary>The what-if of a portfolio account with components: the one aggregate's inputs after the fill, and the account's credits with them.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private double InitialAfterWithComponents(int account, int instrument, double quantity, int au, int u, double scanAfter, double shortAfter, double provisionAfter)
    {
        PortfolioComponents c = _components!;
        ref readonly InstrumentValue v = ref _values[instrument];
        ref readonly ComponentTerms now = ref _terms[au];
        double held = PositionUnits(account, instrument);
        double deltaAfter = _au[au].NetDelta + (quantity * v.Delta);
        var after = new ComponentTerms { Scan = scanAfter, GrossVega = now.GrossVega + ((Math.Abs(held + quantity) - Math.Abs(held)) * Math.Abs(v.Vega)) };
        if (c.HasTiers(u))
        {
            Span<double> tiers = stackalloc double[PortfolioComponents.MaxTiers];
            _tierDeltas.AsSpan(au * PortfolioComponents.MaxTiers, PortfolioComponents.MaxTiers).CopyTo(tiers);
            tiers[_tier[instrument]] += quantity * v.Delta;
            after.Intra = c.IntraCharge(u, tiers);
        }

        double index = _blocks[u].Index;
        after.AddOn = c.AddOn(u, deltaAfter, after.GrossVega, index);
        double requirementAfter = c.Requirement(u, after.Scan + after.Intra, 0, _method.ShortOptionMinimum(shortAfter, index), after.AddOn);
        double sum = _accounts[account].RequirementSum - _au[au].Margin + requirementAfter + provisionAfter;
        if (c.HasInterCommodity)
        {
            // The aggregate's risk array after the fill, for scanning spreads.
            Span<double> arrayAfter = _scratchArray;
            _riskArrays.AsSpan(au * _scenarios, _scenarios).CopyTo(arrayAfter);
            MultiplyAdd(arrayAfter, quantity, _rows.AsSpan(instrument * _scenarios, _scenarios));
            sum -= InterAdjustment(account, u, deltaAfter, after, shortAfter, arrayAfter);
        }

        return _method.AccountInitial(sum);
    }
}
