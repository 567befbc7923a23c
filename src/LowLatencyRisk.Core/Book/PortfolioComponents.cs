using System.Runtime.CompilerServices;

namespace LowLatencyRisk.Core.Book;

/// <summary>
/// The parts of a portfolio account's requirement beyond the scan risk, as SPAN and the venues
/// charge them, each switchable and parameterised per underlying (per product):
/// <list type="bullet">
/// <item><b>Intra-commodity (calendar) spread charge</b> — SPAN's tier method: the underlying's
/// expiries fall into tiers; per tier the account's net delta; spreads are formed between tiers of
/// opposite delta in the configured priority order, each spread (one unit of delta against one) charged
/// its rate. The scan risk moves every expiry of an underlying by the same percentage, so it sees a
/// calendar spread as almost riskless; this charge is what the spread really risks (basis between
/// expiries).</item>
/// <item><b>Inter-commodity spread credits</b> — configured groups of underlyings with signed delta
/// ratios and a credit rate: delta-matched spreads are formed in priority order, and each leg's
/// requirement is reduced by rate × the spread's share of that leg's scan risk (its scan risk per
/// unit of net delta × the delta the spread uses) — SPAN's inter-commodity credit on the weighted
/// futures price risk.</item>
/// <item><b>Size add-on</b> (concentration, liquidity) — grows faster than linearly with the account's
/// |net delta| notional in the underlying: a band table of multipliers on a base rate, a delta shock
/// above a threshold, and a rate on gross vega; combined with the scan part by sum or max.</item>
/// </list>
/// Per underlying, in SPAN's order: requirement = combine(max(scan + intra − credit, short option
/// minimum), add-on). The book keeps the inputs incrementally (tier deltas, gross vega, scan risk);
/// every formula is here, and the from-scratch verifier applies the same functions to inputs it
/// recomputes itself.
/// </summary>
/// <remarks>
/// Set up from the configuration; afterwards only the size add-on's scalars change (<see cref="SetAddOn"/>,
/// in place, on the engine thread). Every method but the constructor allocates nothing. Every parameter
/// is bounded (<see cref="PortfolioComponentsConfig.Problems"/>) so that a bounded book's margin stays finite.
/// </remarks>
public sealed class PortfolioComponents
{
    /// <summary>Largest notional a size add-on threshold may name (the book's notionals are bounded far below).</summary>
    public const double MaxNotional = 1e18;

    /// <summary>Largest calendar spread charge per unit of delta.</summary>
    public const double MaxCharge = 1e12;

    /// <summary>Largest size add-on band multiplier.</summary>
    public const double MaxMultiplier = 1e6;

    /// <summary>Largest charge per unit of gross vega: bounded so the add-on of a bounded book stays finite.</summary>
    public const double MaxVegaRate = 1e6;

    /// <summary>Most expiry tiers of one underlying (the book keeps this many deltas per account × underlying).</summary>
    public const int MaxTiers = 8;

    private readonly long[]?[] _tierEnds;           // per underlying: the last expiry (Unix ns) of each tier but the open-ended last; null = no intra charge
    private readonly TierSpread[]?[] _tierSpreads;  // per underlying, priority order
    private readonly bool[] _hasAddOn;
    private readonly double[]?[] _bandTops;
    private readonly double[]?[] _bandMultipliers;

    // The add-on's scalars per underlying: state, not set-up — a SizeAddOn feed message recalibrates
    // them (in place: nothing is allocated on the engine thread), and snapshots carry them.
    private readonly double[] _baseRate, _bandScale, _shockThreshold, _shockFullAt, _maxShock, _vegaRate;
    private readonly bool[] _combineMax;
    private readonly InterSpread[] _inter;

    private readonly struct InterSpread(int[] underlyings, double[] ratios, double credit, bool scanning)
    {
        public readonly int[] Underlyings = underlyings;
        public readonly double[] Ratios = ratios;
        public readonly double Credit = credit;
        public readonly bool Scanning = scanning;
    }

    /// <summary>The components <paramref name="config"/> describes for a book of <paramref name="underlyings"/> underlyings (validated).</summary>
    public PortfolioComponents(PortfolioComponentsConfig config, int underlyings)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate(underlyings);
        Config = config;
        Underlyings = underlyings;
        _tierEnds = new long[]?[underlyings];
        _tierSpreads = new TierSpread[]?[underlyings];
        _hasAddOn = new bool[underlyings];
        (_baseRate, _bandScale, _shockThreshold, _shockFullAt, _maxShock, _vegaRate) =
            (new double[underlyings], new double[underlyings], new double[underlyings], new double[underlyings], new double[underlyings], new double[underlyings]);
        _combineMax = new bool[underlyings];
        _bandTops = new double[]?[underlyings];
        _bandMultipliers = new double[]?[underlyings];
        foreach (var intra in config.IntraCommodity)
        {
            _tierEnds[intra.Underlying] = [.. intra.TierEndsNanos];
            _tierSpreads[intra.Underlying] = [.. intra.Spreads];
        }

        foreach (var a in config.SizeAddOns)
        {
            int u = a.Underlying;
            _hasAddOn[u] = true;
            (_baseRate[u], _bandScale[u], _shockThreshold[u], _shockFullAt[u], _maxShock[u], _vegaRate[u], _combineMax[u]) =
                (a.BaseRate, 1, a.ShockThreshold, a.ShockFullAt, a.MaxShock, a.VegaRate, a.Combine == AddOnCombine.Max);
            _bandTops[a.Underlying] = [.. a.Bands.Select(b => b.UpToNotional)];
            _bandMultipliers[a.Underlying] = [.. a.Bands.Select(b => b.Multiplier)];
        }

        _inter = [.. config.InterCommodity.Select(s => new InterSpread([.. s.Legs.Select(l => l.Underlying)], [.. s.Legs.Select(l => l.Ratio)], s.Credit, s.Form == InterCommodityForm.Scanning))];
        HasIntraCommodity = config.IntraCommodity.Count > 0;
        HasInterCommodity = _inter.Length > 0;
    }

    /// <summary>The configuration.</summary>
    public PortfolioComponentsConfig Config { get; }

    /// <summary>Underlyings of the book these were built for.</summary>
    public int Underlyings { get; }

    /// <summary>True when some underlying has expiry tiers (the book keeps tier deltas).</summary>
    public bool HasIntraCommodity { get; }

    /// <summary>True when inter-commodity spreads are configured (the account level is not a plain sum).</summary>
    public bool HasInterCommodity { get; }

    /// <summary>
    /// The expiry tier of an instrument of underlying <paramref name="u"/> expiring at
    /// <paramref name="expiryNanos"/>: the first tier whose end is at or after it, the last tier
    /// when it expires after every end. Perpetuals and spot (no expiry, 0) are in tier 0, the front.
    /// </summary>
    public int TierOf(int u, long expiryNanos)
    {
        long[]? ends = _tierEnds[u];
        if (ends is null || expiryNanos == 0)
        {
            return 0;
        }

        int t = 0;
        while (t < ends.Length && expiryNanos > ends[t])
        {
            t++;
        }

        return t;
    }

    /// <summary>True when underlying <paramref name="u"/> has an intra-commodity charge.</summary>
    public bool HasTiers(int u) => _tierEnds[u] is not null;

    /// <summary>True when the add-on of underlying <paramref name="u"/> charges gross vega (the book then keeps it).</summary>
    public bool NeedsGrossVega(int u) => _vegaRate[u] > 0;

    /// <summary>True when underlying <paramref name="u"/> has a size add-on (configured at start; <see cref="SetAddOn"/> recalibrates it).</summary>
    public bool HasAddOn(int u) => _hasAddOn[u];

    /// <summary>
    /// Recalibrates the size add-on of underlying <paramref name="u"/> (a venue's daily recalibration
    /// from volume and book depth, on the feed): the scalars, and <paramref name="bandScale"/> × the
    /// configured band limits. Refused (false, nothing changed) when <paramref name="u"/> has no
    /// add-on or a value is out of range (the same bounds as the configuration's). Allocates nothing;
    /// the book re-margins the underlying's holders.
    /// </summary>
    public bool SetAddOn(int u, double baseRate, double bandScale, double shockThreshold, double shockFullAt, double maxShock, double vegaRate, AddOnCombine combine)
    {
        if ((uint)u >= (uint)Underlyings || !_hasAddOn[u] || !(baseRate is >= 0 and <= 1) || !(bandScale is >= 1e-6 and <= 1e6)
            || !(shockThreshold is >= 0 and <= MaxNotional) || !(shockFullAt >= shockThreshold && shockFullAt <= MaxNotional)
            || !(maxShock is >= 0 and <= 1) || !(vegaRate is >= 0 and <= MaxVegaRate) || combine is not (AddOnCombine.Sum or AddOnCombine.Max))
        {
            return false;
        }

        (_baseRate[u], _bandScale[u], _shockThreshold[u], _shockFullAt[u], _maxShock[u], _vegaRate[u], _combineMax[u]) =
            (baseRate, bandScale, shockThreshold, shockFullAt, maxShock, vegaRate, combine == AddOnCombine.Max);
        return true;
    }

    /// <summary>The add-on scalars of underlying <paramref name="u"/> in force (bandScale multiplies the configured band limits).</summary>
    public (double BaseRate, double BandScale, double ShockThreshold, double ShockFullAt, double MaxShock, double VegaRate, AddOnCombine Combine) AddOnParameters(int u) =>
        (_baseRate[u], _bandScale[u], _shockThreshold[u], _shockFullAt[u], _maxShock[u], _vegaRate[u], _combineMax[u] ? AddOnCombine.Max : AddOnCombine.Sum);

    /// <summary>Walks the recalibratable parameters for a snapshot or a restore.</summary>
    public void VisitState(Persistence.StateVisitor visitor)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        visitor.Array(_baseRate);
        visitor.Array(_bandScale);
        visitor.Array(_shockThreshold);
        visitor.Array(_shockFullAt);
        visitor.Array(_maxShock);
        visitor.Array(_vegaRate);
        visitor.Array(_combineMax);
    }

    /// <summary>
    /// The intra-commodity charge of one account in underlying <paramref name="u"/> from its net
    /// delta per tier: spreads formed in priority order between tiers of opposite delta, each
    /// min(|front|, |back|) units charged the spread's rate and taken out of both tiers.
    /// </summary>
    public double IntraCharge(int u, ReadOnlySpan<double> tierDeltas)
    {
        TierSpread[]? spreads = _tierSpreads[u];
        if (spreads is null)
        {
            return 0;
        }

        Span<double> d = stackalloc double[MaxTiers];
        tierDeltas[..Math.Min(tierDeltas.Length, MaxTiers)].CopyTo(d);
        double charge = 0;
        foreach (TierSpread s in spreads)
        {
            double a = d[s.FrontTier], b = d[s.BackTier];
            if ((a > 0 && b < 0) || (a < 0 && b > 0))
            {
                double n = Math.Min(Math.Abs(a), Math.Abs(b));
                charge += n * s.Charge;
                d[s.FrontTier] = a - (Math.Sign(a) * n);
                d[s.BackTier] = b - (Math.Sign(b) * n);
            }
        }

        return charge;
    }

    /// <summary>
    /// The size add-on of one account in underlying <paramref name="u"/>: with N = |net delta| × index,
    /// base rate × Σ over bands of (the notional inside the band × its multiplier), plus the delta
    /// shock on the notional above the threshold, plus the vega rate × gross vega. 0 when not configured.
    /// </summary>
    public double AddOn(int u, double netDelta, double grossVega, double index)
    {
        if (!_hasAddOn[u])
        {
            return 0;
        }

        double notional = Math.Abs(netDelta) * index;
        double baseRate = _baseRate[u];
        double banded = baseRate > 0 ? baseRate * _bandScale[u] * MarginalBands.Sum(notional / _bandScale[u], _bandTops[u], _bandMultipliers[u]) : 0;
        return banded + DeltaShock(notional, _shockThreshold[u], _shockFullAt[u], _maxShock[u]) + (_vegaRate[u] * grossVega);
    }

    /// <summary>
    /// The delta shock: 0 up to the threshold; above it the shock rate rises linearly to its maximum
    /// at <paramref name="fullAt"/> (at once when that equals the threshold) and applies to the
    /// notional above the threshold, so the charge is continuous in the notional.
    /// </summary>
    private static double DeltaShock(double notional, double threshold, double fullAt, double maxShock)
    {
        double above = notional - threshold;
        if (maxShock == 0 || !(above > 0))
        {
            return 0;
        }

        double span = fullAt - threshold;
        double rate = span > 0 ? maxShock * Math.Min(1, above / span) : maxShock;
        return rate * above;
    }

    /// <summary>
    /// The requirement of one account × underlying: max(scan + intra − credit, short option
    /// minimum) combined with the add-on by the underlying's rule (sum by default, or max).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Requirement(int u, double scanPlusIntra, double credit, double shortOptionMinimum, double addOn)
    {
        double risk = Math.Max(scanPlusIntra - credit, shortOptionMinimum);
        return _combineMax[u] ? Math.Max(risk, addOn) : risk + addOn;
    }

    /// <summary>
    /// Inter-commodity credits of one account: for each configured spread in priority order, the
    /// number of spreads n its net deltas support in either orientation (every leg's remaining delta
    /// on the ratio's side, or every leg on the opposite side), taken out of the remaining deltas; each
    /// leg is credited rate × n × |ratio| × its scan risk per unit of net delta. Writes the credit per
    /// underlying into <paramref name="credits"/> (cleared first); a leg's credit never exceeds its scan risk.
    /// </summary>
    /// <param name="netDeltas">Per underlying, the account's net delta.</param>
    /// <param name="scanRisks">Per underlying, the account's scan risk.</param>
    /// <param name="arrays">The account's risk arrays (read by scanning spreads only).</param>
    /// <param name="remaining">Scratch of the same length (the deltas not yet spread).</param>
    /// <param name="credits">Per underlying, the credit (output).</param>
    /// <remarks>
    /// A <see cref="InterCommodityForm.Scanning"/> spread is SPAN's scanning-spread form instead: its
    /// legs are scanned together, each scenario's loss being the legs' losses less the credit rate ×
    /// their gains in that same scenario; the credit is the legs' separate scan risks less that
    /// combined scan risk, shared among the legs in proportion to their scan risks. It uses no delta.
    /// </remarks>
    public void InterCredits(ReadOnlySpan<double> netDeltas, ReadOnlySpan<double> scanRisks, in AccountRiskArrays arrays, Span<double> remaining, Span<double> credits)
    {
        credits.Clear();
        netDeltas.CopyTo(remaining);
        foreach (InterSpread s in _inter)
        {
            if (s.Scanning)
            {
                ScanningCredit(s, scanRisks, arrays, credits);
                continue;
            }

            double orientation = 1;
            double n = Supported(s, remaining, 1);
            if (!(n > 0))
            {
                orientation = -1;
                n = Supported(s, remaining, -1);
                if (!(n > 0))
                {
                    continue;
                }
            }

            for (int l = 0; l < s.Underlyings.Length; l++)
            {
                int u = s.Underlyings[l];
                double used = n * Math.Abs(s.Ratios[l]);
                double perDelta = scanRisks[u] / Math.Abs(netDeltas[u]);
                credits[u] += Math.Min(s.Credit * used * perDelta, scanRisks[u] - credits[u]);
                remaining[u] -= orientation * n * s.Ratios[l];
            }
        }
    }

    private static void ScanningCredit(in InterSpread s, ReadOnlySpan<double> scanRisks, in AccountRiskArrays arrays, Span<double> credits)
    {
        double separate = 0;
        foreach (int u in s.Underlyings)
        {
            separate += scanRisks[u];
        }

        if (!(separate > 0))
        {
            return;
        }

        double combined = 0;
        for (int j = 0; j < arrays.Scenarios; j++)
        {
            double loss = 0, gain = 0;
            foreach (int u in s.Underlyings)
            {
                double v = arrays.Of(u)[j];
                loss += Math.Max(v, 0);
                gain += Math.Max(-v, 0);
            }

            combined = Math.Max(combined, loss - (s.Credit * gain));
        }

        double credit = separate - combined; // ≥ 0: each scenario's loss is at most the sum of the legs' worst
        foreach (int u in s.Underlyings)
        {
            credits[u] += Math.Min(credit * scanRisks[u] / separate, scanRisks[u] - credits[u]);
        }
    }

    /// <summary>
    /// A leg's delta at or below this is flat: a rounding residue of a hedged book (1e-13 one way
    /// or the other) must not form a spread whose credit, scan risk per unit of delta × delta used,
    /// would be the leg's whole scan risk.
    /// </summary>
    public const double DeltaDust = 1e-9;

    /// <summary>Spreads the remaining deltas support with every leg on the side of <paramref name="orientation"/> × its ratio; 0 when some leg is not.</summary>
    private static double Supported(in InterSpread s, ReadOnlySpan<double> remaining, double orientation)
    {
        double n = double.PositiveInfinity;
        for (int l = 0; l < s.Underlyings.Length; l++)
        {
            double d = remaining[s.Underlyings[l]];
            double k = d / (orientation * s.Ratios[l]);
            if (!(k > 0) || Math.Abs(d) <= DeltaDust)
            {
                return 0;
            }

            n = Math.Min(n, k);
        }

        return n;
    }
}

/// <summary>One calendar spread between two expiry tiers, charged <paramref name="Charge"/> per unit of delta spread (quote currency).</summary>
/// <param name="FrontTier">One tier (0 = the front).</param>
/// <param name="BackTier">The other tier.</param>
/// <param name="Charge">Charge per unit of delta (one unit long in one tier against one short in the other).</param>
public readonly record struct TierSpread(int FrontTier, int BackTier, double Charge);

/// <summary>The intra-commodity spread charge of one underlying.</summary>
public sealed record IntraCommodityConfig
{
    /// <summary>The underlying.</summary>
    public int Underlying { get; init; }

    /// <summary>The last expiry (Unix ns) of each tier, increasing; one more, open-ended, tier follows the last end. Perpetuals and spot are in tier 0.</summary>
    public IReadOnlyList<long> TierEndsNanos { get; init; } = [];

    /// <summary>Spreads in priority order.</summary>
    public IReadOnlyList<TierSpread> Spreads { get; init; } = [];
}

/// <summary>One leg of an inter-commodity spread: its underlying and its signed delta per spread.</summary>
/// <param name="Underlying">The underlying.</param>
/// <param name="Ratio">Delta per spread, signed: legs of one sign are held against legs of the other (corn +2, soybeans −1).</param>
public readonly record struct SpreadLeg(int Underlying, double Ratio);

/// <summary>How an inter-commodity spread is credited.</summary>
public enum InterCommodityForm : byte
{
    /// <summary>Delta-matched spreads by the legs' ratios, credit = rate × the legs' scan risk the spreads use (SPAN's inter-commodity credit).</summary>
    Delta = 0,
    /// <summary>The legs scanned together, the rate of one leg's gains credited against the others' losses in the same scenario (SPAN's scanning spread).</summary>
    Scanning = 1,
}

/// <summary>One account's risk arrays, per underlying (one of them possibly replaced: a what-if).</summary>
public readonly ref struct AccountRiskArrays
{
    private readonly ReadOnlySpan<double> _block;
    private readonly ReadOnlySpan<double> _override;
    private readonly int _overrideU;

    /// <summary>The arrays in <paramref name="block"/> (underlying u at u × <paramref name="scenarios"/>), with underlying <paramref name="overrideU"/>'s (−1: none) replaced by <paramref name="overrideArray"/>.</summary>
    public AccountRiskArrays(ReadOnlySpan<double> block, int scenarios, int overrideU = -1, ReadOnlySpan<double> overrideArray = default)
    {
        _block = block;
        Scenarios = scenarios;
        _overrideU = overrideU;
        _override = overrideArray;
    }

    /// <summary>Scenarios per array.</summary>
    public int Scenarios { get; }

    /// <summary>The array of underlying <paramref name="u"/>.</summary>
    public ReadOnlySpan<double> Of(int u) => u == _overrideU ? _override : _block.Slice(u * Scenarios, Scenarios);
}

/// <summary>An inter-commodity spread (two or more legs) and its credit rate.</summary>
public sealed record InterCommoditySpreadConfig
{
    /// <summary>Delta-matched (default) or scanning.</summary>
    public InterCommodityForm Form { get; init; }

    /// <summary>The legs.</summary>
    public IReadOnlyList<SpreadLeg> Legs { get; init; } = [];

    /// <summary>Credit rate in [0, 1]: the fraction of the legs' spread scan risk taken off.</summary>
    public double Credit { get; init; }
}

/// <summary>How the size add-on combines with the scan part of an underlying's requirement.</summary>
public enum AddOnCombine : byte
{
    /// <summary>Added to it.</summary>
    Sum = 0,
    /// <summary>The larger of the two.</summary>
    Max = 1,
}

/// <summary>One band of the size add-on: |net delta| notional up to <paramref name="UpToNotional"/> is charged at the base rate × <paramref name="Multiplier"/>.</summary>
/// <param name="UpToNotional">Upper end of the band; the last band is open-ended.</param>
/// <param name="Multiplier">Multiplier of the base rate inside the band.</param>
public readonly record struct AddOnBand(double UpToNotional, double Multiplier);

/// <summary>The size (concentration and liquidity) add-on of one underlying.</summary>
public sealed record SizeAddOnConfig
{
    /// <summary>The underlying.</summary>
    public int Underlying { get; init; }

    /// <summary>Base rate of the |net delta| notional (0 = no band part).</summary>
    public double BaseRate { get; init; }

    /// <summary>Bands, increasing limits and non-decreasing multipliers.</summary>
    public IReadOnlyList<AddOnBand> Bands { get; init; } = [new(1e18, 1)];

    /// <summary>|Net delta| notional above which the delta shock applies (0 with <see cref="MaxShock"/> 0 = none).</summary>
    public double ShockThreshold { get; init; }

    /// <summary>Notional at which the shock rate reaches <see cref="MaxShock"/> (≥ the threshold; equal = at once).</summary>
    public double ShockFullAt { get; init; }

    /// <summary>Maximum delta shock rate, in [0, 1].</summary>
    public double MaxShock { get; init; }

    /// <summary>Charge per unit of gross vega (Σ |position vega|).</summary>
    public double VegaRate { get; init; }

    /// <summary>Sum (default) or max with the scan part.</summary>
    public AddOnCombine Combine { get; init; }
}

/// <summary>Parameters of <see cref="PortfolioComponents"/>; all empty = none (the plain SPAN sum).</summary>
public sealed record PortfolioComponentsConfig
{
    /// <summary>No components.</summary>
    public static PortfolioComponentsConfig None { get; } = new();

    /// <summary>Intra-commodity charges, at most one per underlying.</summary>
    public IReadOnlyList<IntraCommodityConfig> IntraCommodity { get; init; } = [];

    /// <summary>Inter-commodity spreads in priority order.</summary>
    public IReadOnlyList<InterCommoditySpreadConfig> InterCommodity { get; init; } = [];

    /// <summary>Size add-ons, at most one per underlying.</summary>
    public IReadOnlyList<SizeAddOnConfig> SizeAddOns { get; init; } = [];

    /// <summary>True when nothing is configured.</summary>
    public bool IsEmpty => IntraCommodity.Count == 0 && InterCommodity.Count == 0 && SizeAddOns.Count == 0;

    /// <summary>Every problem, each naming its field; empty when valid.</summary>
    public IReadOnlyList<string> Problems(int underlyings)
    {
        var problems = new List<string>();
        bool Bad(double x) => !double.IsFinite(x) || x < 0;
        var seen = new HashSet<int>();
        for (int i = 0; i < IntraCommodity.Count; i++)
        {
            var c = IntraCommodity[i];
            string at = $"intraCommodity[{i}]";
            if ((uint)c.Underlying >= (uint)underlyings || !seen.Add(c.Underlying))
            {
                problems.Add($"{at}.underlying: {c.Underlying} is not an underlying of the book, or has a second entry");
            }

            int tiers = c.TierEndsNanos.Count + 1;
            if (tiers > PortfolioComponents.MaxTiers || c.TierEndsNanos.Zip(c.TierEndsNanos.Skip(1)).Any(p => p.Second <= p.First) || c.TierEndsNanos.Any(e => e <= 0))
            {
                problems.Add($"{at}.tiers: need increasing expiries, at most {PortfolioComponents.MaxTiers - 1} (the last tier is open-ended)");
            }

            for (int k = 0; k < c.Spreads.Count; k++)
            {
                var s = c.Spreads[k];
                if ((uint)s.FrontTier >= (uint)tiers || (uint)s.BackTier >= (uint)tiers || s.FrontTier == s.BackTier || Bad(s.Charge) || s.Charge > PortfolioComponents.MaxCharge)
                {
                    problems.Add($"{at}.spreads[{k}]: tiers must be two different tiers in 0..{tiers - 1} and the charge an amount in [0, {PortfolioComponents.MaxCharge:G}] per unit of delta");
                }
            }
        }

        for (int i = 0; i < InterCommodity.Count; i++)
        {
            var s = InterCommodity[i];
            string at = $"interCommodity[{i}]";
            if (s.Legs.Count < 2 || s.Legs.Select(l => l.Underlying).Distinct().Count() != s.Legs.Count
                || s.Legs.Any(l => (uint)l.Underlying >= (uint)underlyings || !(Math.Abs(l.Ratio) is >= 1e-9 and <= 1e9)))
            {
                problems.Add($"{at}.legs: need two or more legs on different underlyings of the book, each with a ratio of magnitude in [1e-9, 1e9]");
            }

            if (!Enum.IsDefined(s.Form))
            {
                problems.Add($"{at}.form: must be delta or scanning");
            }

            if (!(s.Credit is >= 0 and <= 1))
            {
                problems.Add($"{at}.credit: {s.Credit} is not a rate in [0, 1]");
            }
        }

        seen.Clear();
        for (int i = 0; i < SizeAddOns.Count; i++)
        {
            var a = SizeAddOns[i];
            string at = $"sizeAddOns[{i}]";
            if ((uint)a.Underlying >= (uint)underlyings || !seen.Add(a.Underlying))
            {
                problems.Add($"{at}.underlying: {a.Underlying} is not an underlying of the book, or has a second entry");
            }

            if (Bad(a.BaseRate) || a.BaseRate > 1 || Bad(a.VegaRate) || a.VegaRate > PortfolioComponents.MaxVegaRate)
            {
                problems.Add($"{at}: baseRate must lie in [0, 1] and vegaRate in [0, {PortfolioComponents.MaxVegaRate:G}]");
            }

            if (a.Bands.Count == 0 || a.Bands.Zip(a.Bands.Skip(1)).Any(p => !(p.Second.UpToNotional > p.First.UpToNotional) || p.Second.Multiplier < p.First.Multiplier)
                || a.Bands.Any(b => !(b.UpToNotional > 0) || Bad(b.Multiplier) || b.Multiplier > PortfolioComponents.MaxMultiplier))
            {
                problems.Add($"{at}.bands: need at least one band, limits increasing and multipliers in [0, {PortfolioComponents.MaxMultiplier:G}], not falling");
            }

            if (Bad(a.ShockThreshold) || !(a.ShockFullAt >= a.ShockThreshold) || !(a.ShockFullAt <= PortfolioComponents.MaxNotional) || !(a.MaxShock is >= 0 and <= 1))
            {
                problems.Add($"{at}: need 0 ≤ shockThreshold ≤ shockFullAt ≤ {PortfolioComponents.MaxNotional:G} and maxShock in [0, 1]");
            }

            if (!Enum.IsDefined(a.Combine))
            {
                problems.Add($"{at}.combine: must be sum or max");
            }
        }

        return problems;
    }

    /// <summary>Throws <see cref="ArgumentException"/> with every problem.</summary>
    public void Validate(int underlyings)
    {
        var problems = Problems(underlyings);
        if (problems.Count > 0)
        {
            throw new ArgumentException("Portfolio margin components: " + string.Join("; ", problems), nameof(underlyings));
        }
    }
}
