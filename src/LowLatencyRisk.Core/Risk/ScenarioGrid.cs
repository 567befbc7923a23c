using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LowLatencyRisk.Core.Risk;

/// <summary>What a scenario row measures, and so how the scan risk counts it (rows are ordered by kind).</summary>
public enum ScenarioKind : byte
{
    /// <summary>A price move and a volatility shock; the scan risk is the worst of these (and of the extended ones).</summary>
    Regular = 0,
    /// <summary>An extreme move beyond the scan range (a crypto venue's extended table), weighted, then dampened (<see cref="ScenarioGrid.ExtendedDampener"/>).</summary>
    Extended = 1,
    /// <summary>The index stays and every dated instrument's forward moves up by its basis move (<see cref="ScenarioGrid.BasisMoveFor(double)"/>); the worst basis row is added to the scan risk.</summary>
    BasisUp = 2,
    /// <summary>As <see cref="BasisUp"/>, down.</summary>
    BasisDown = 3,
}

/// <summary>How a row's <see cref="Scenario.VolShift"/> moves an option's volatility.</summary>
public enum VolShockRule : byte
{
    /// <summary>σ + shift × VolScanRange × tenor scale (SPAN and the legacy crypto grid): an absolute shift, the same up and down.</summary>
    Absolute = 0,
    /// <summary>
    /// Relative and tenor-scaled, as crypto venues shock: up σ·(1 + up·(30/d)^p), floored at the minimum
    /// vol for a shock up; down σ·(1 − down·(30/d)^p); p one exponent below the switch tenor and another above.
    /// </summary>
    Relative = 1,
}

/// <summary>How the scan risk reads a risk array.</summary>
public enum ScanMeasure : byte
{
    /// <summary>The worst row (SPAN and the venue grids), with extended and basis rows in their three parts.</summary>
    WorstRow = 0,
    /// <summary>
    /// Expected shortfall of the rows as an equally likely sample of losses (filtered historical
    /// simulation, <see cref="ScenarioGrid.Historical"/>): the mean of the worst (1 − confidence) share,
    /// the boundary row counted in the fraction that falls in the tail (<see cref="TailMeasure"/>).
    /// </summary>
    ExpectedShortfall = 1,
}

/// <summary>One stress scenario: a price move, a volatility shift, and how much of its loss counts.</summary>
/// <param name="PriceMove">Relative move of every underlying and forward price, as a fraction of the scan range (1 = one full scan range up, −1 down). 0 for a basis row.</param>
/// <param name="VolShift">Volatility shift: +1 up, −1 down, 0 unchanged (a fraction of the shock of <see cref="ScenarioGrid.VolShock"/>).</param>
/// <param name="Weight">Share of the scenario's loss counted (1, or the cover fraction of an extreme move).</param>
/// <param name="Kind">What the row measures; rows are ordered regular, extended, basis.</param>
public readonly record struct Scenario(double PriceMove, double VolShift, double Weight = 1.0, ScenarioKind Kind = ScenarioKind.Regular);

/// <summary>
/// The three parts of a scan risk when a grid has extended or basis rows: the worst regular row, the
/// worst extended row after the dampener, and the worst basis row — each floored at 0. The scan risk
/// is max(<see cref="Regular"/>, <see cref="Extended"/>) + <see cref="Basis"/>.
/// </summary>
/// <param name="Regular">Worst regular (price × vol) row.</param>
/// <param name="Extended">Worst extended row, weighted and dampened.</param>
/// <param name="Basis">Worst basis row: added on top, as venues add their roll / basis charge.</param>
public readonly record struct ScanParts(double Regular, double Extended, double Basis)
{
    /// <summary>The scan risk these parts make.</summary>
    public double Total => Math.Max(Regular, Extended) + Basis;
}

/// <summary>
/// The calibrated numbers of a grid, which a venue sets per underlying and changes at run time
/// (<c>RiskBook.SetScenarioParameters</c>): the rows and the shock rule stay the grid's, these
/// scale them. Extended rows keep their absolute moves whatever the scan range.
/// </summary>
/// <param name="PriceScanRange">Price scan range, a fraction of the price in (0, 1): regular rows move by their fraction of it.</param>
/// <param name="VolScanRange">Absolute vol scan range (an absolute grid's shock), in [0, 5).</param>
/// <param name="VolUp">Relative shock up at the reference tenor (relative grids).</param>
/// <param name="VolDown">Relative shock down at the reference tenor (relative grids), below 1.</param>
/// <param name="MinVolForShockUp">Floor of the shocked-up volatility (relative grids).</param>
/// <param name="ExtendedDampener">Extended dampener D (0 = none).</param>
/// <param name="BasisAnnualMove">Annualised basis move of a dated forward.</param>
/// <param name="BasisMinimumMove">Smallest basis move of a dated instrument.</param>
public readonly record struct ScenarioParameters(double PriceScanRange, double VolScanRange, double VolUp, double VolDown, double MinVolForShockUp,
    double ExtendedDampener, double BasisAnnualMove, double BasisMinimumMove)
{
    /// <summary>The first field out of range with the reason, or null when every field is valid.</summary>
    public string? Problem()
    {
        if (!(PriceScanRange is > 0 and < 1)) { return "priceScanRange must be in (0, 1)"; }
        if (!(VolScanRange is >= 0 and < 5)) { return "volScanRange must be in [0, 5)"; }
        if (!(VolUp is >= 0 and <= 10)) { return "volUp must be in [0, 10]"; }
        if (!(VolDown is >= 0 and < 1)) { return "volDown must be in [0, 1)"; }
        if (!(MinVolForShockUp is >= 0 and <= 10)) { return "minVolForShockUp must be in [0, 10]"; }
        if (!(ExtendedDampener >= 0 && ExtendedDampener <= 1e15)) { return "extendedDampener must be in [0, 1e15]"; }
        if (!(BasisAnnualMove is >= 0 and < 1)) { return "basisAnnualMove must be in [0, 1)"; }
        return !(BasisMinimumMove is >= 0 and < 0.5) ? "basisMinimumMove must be in [0, 0.5)" : null;
    }
}

/// <summary>Parameters of <see cref="ScenarioGrid.CryptoPortfolio"/> (published BTC values by default).</summary>
public sealed record CryptoPortfolioParameters
{
    /// <summary>Price moves ±this fraction of the index (BTC 0.16, ETH 0.18).</summary>
    public double PriceRange { get; init; } = 0.16;

    /// <summary>Evenly spaced price points on each side of 0 (4 ⇒ 9 points).</summary>
    public int Buckets { get; init; } = 4;

    /// <summary>Relative vol shock up at 30 days (BTC 0.5, ETH 0.4).</summary>
    public double VolUp { get; init; } = 0.5;

    /// <summary>Relative vol shock down at 30 days (0.25).</summary>
    public double VolDown { get; init; } = 0.25;

    /// <summary>Floor of the shocked-up volatility (0.5).</summary>
    public double MinVolForShockUp { get; init; } = 0.5;

    /// <summary>Tenor exponent p below <see cref="TenorSwitchDays"/> (0.3).</summary>
    public double ShortTenorExponent { get; init; } = 0.3;

    /// <summary>Tenor exponent p from <see cref="TenorSwitchDays"/> on (0.13).</summary>
    public double LongTenorExponent { get; init; } = 0.13;

    /// <summary>Tenor, in days, at which the exponent switches and the shock equals VolUp / VolDown (30).</summary>
    public double TenorSwitchDays { get; init; } = 30;

    /// <summary>Extended price moves (fractions of the index; −0.66 … +5), each on the vol-up shock.</summary>
    public IReadOnlyList<double> ExtendedMoves { get; init; } = [-0.66, -0.33, 0.5, 1, 2, 3, 4, 5];

    /// <summary>
    /// Weight of each extended move (a public set: 24, 48, 32, 16, 8, 5.33, 4, 3.2 %). They are
    /// 0.16 / |move| rounded: a linear position loses at most its scan-range loss in the extended
    /// table, so the table charges options' convexity, not delta twice.
    /// </summary>
    public IReadOnlyList<double> ExtendedWeights { get; init; } = [0.24, 0.48, 0.32, 0.16, 0.08, 0.0533, 0.04, 0.032];

    /// <summary>Extended dampener D in quote currency (BTC 100,000; ETH 200,000): a weighted extended loss L counts L·min(1, L / D); 0 counts it in full.</summary>
    public double ExtendedDampener { get; init; } = 100_000;

    /// <summary>Annualised basis move (BTC 0.075, ETH 0.05): a dated forward moves ±max(this × T, <see cref="BasisMinimumMove"/>) with the index fixed; 0 = no basis rows.</summary>
    public double BasisAnnualMove { get; init; } = 0.075;

    /// <summary>Smallest basis move of a dated instrument (BTC 0.01, ETH 0.005); a perpetual (no expiry) moves 0.</summary>
    public double BasisMinimumMove { get; init; } = 0.01;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        static void Check(bool ok, string field, string why)
        {
            if (!ok)
            {
                throw new ArgumentException($"{field}: {why}", field);
            }
        }

        Check(PriceRange is > 0 and < 1, nameof(PriceRange), "must be in (0, 1)");
        Check(Buckets is >= 1 and <= 20, nameof(Buckets), "must be in 1..20");
        Check(VolUp is >= 0 and <= 10, nameof(VolUp), "must be in [0, 10]");
        Check(VolDown is >= 0 and < 1, nameof(VolDown), "must be in [0, 1) (a shock down of 100 % would leave no volatility)");
        Check(MinVolForShockUp is >= 0 and <= 10, nameof(MinVolForShockUp), "must be in [0, 10]");
        Check(ShortTenorExponent is >= 0 and <= 2, nameof(ShortTenorExponent), "must be in [0, 2]");
        Check(LongTenorExponent is >= 0 and <= 2, nameof(LongTenorExponent), "must be in [0, 2]");
        Check(TenorSwitchDays is >= 1 and <= 3650, nameof(TenorSwitchDays), "must be in [1, 3650] days");
        Check(ExtendedMoves is not null && ExtendedWeights is not null && ExtendedMoves.Count == ExtendedWeights.Count && ExtendedMoves.Count <= 32,
            nameof(ExtendedWeights), "needs one weight per extended move (at most 32)");
        foreach (double m in ExtendedMoves!)
        {
            Check(m > -1 && m <= 20 && m != 0, nameof(ExtendedMoves), $"{m} must be in (−1, 20] and not 0");
        }

        foreach (double w in ExtendedWeights!)
        {
            Check(w is >= 0 and <= 1, nameof(ExtendedWeights), $"{w} must be in [0, 1]");
        }

        Check(ExtendedDampener >= 0 && double.IsFinite(ExtendedDampener), nameof(ExtendedDampener), "must be a finite amount ≥ 0");
        Check(BasisAnnualMove is >= 0 and < 1, nameof(BasisAnnualMove), "must be in [0, 1)");
        Check(BasisMinimumMove is >= 0 and < 0.5, nameof(BasisMinimumMove), "must be in [0, 0.5)");
    }
}

/// <summary>
/// A scenario grid (SPAN style). Scenario prices are F·(1 + PriceMove·PriceScanRange), where the
/// price scan range is a fraction of the underlying price (0.15 = 15 %), so a long future of price
/// F and multiplier M loses exactly F·M·PriceScanRange in the worst regular scenario. Volatility
/// shifts are absolute (0.04 = four vol points), optionally scaled by tenor as
/// VolScanRange·(ReferenceDays/days-to-expiry)^TenorExponent. Options are revalued after
/// <see cref="LookAheadYears"/> of time decay.
/// </summary>
public sealed class ScenarioGrid
{
    /// <summary>Creates a grid.</summary>
    public ScenarioGrid(string name, IReadOnlyList<Scenario> scenarios, double priceScanRange, double volScanRange,
        double lookAheadYears = 0, double tenorReferenceDays = 0, double tenorExponent = 0)
    {
        ArgumentNullException.ThrowIfNull(scenarios);
        if (scenarios.Count == 0)
        {
            throw new ArgumentException("A grid needs at least one scenario.", nameof(scenarios));
        }

        if (!(priceScanRange > 0 && priceScanRange < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(priceScanRange), priceScanRange, "The price scan range is a fraction of the price in (0, 1).");
        }

        if (!(volScanRange >= 0 && volScanRange < 5))
        {
            throw new ArgumentOutOfRangeException(nameof(volScanRange), volScanRange, "The volatility scan range must be in [0, 5).");
        }

        int rank = 0;
        foreach (var s in scenarios)
        {
            if (!(s.PriceMove * priceScanRange > -1) || !double.IsFinite(s.PriceMove) || !double.IsFinite(s.VolShift) || !(s.Weight is >= 0 and <= 1)
                || s.Kind > ScenarioKind.BasisDown)
            {
                throw new ArgumentException($"Invalid scenario {s}: prices must stay positive, shifts finite, weights in [0, 1].", nameof(scenarios));
            }

            int r = s.Kind >= ScenarioKind.BasisUp ? 2 : (int)s.Kind;
            if (r < rank)
            {
                throw new ArgumentException($"Scenario {s} is out of order: rows go regular, then extended, then basis (the scan risk reads them as three ranges).", nameof(scenarios));
            }

            if (r == 2 && (s.PriceMove != 0 || s.VolShift != 0))
            {
                throw new ArgumentException($"Basis scenario {s}: the index and the volatility stay (price move and vol shift 0).", nameof(scenarios));
            }

            rank = r;
            switch (r)
            {
                case 0: RegularCount++; break;
                case 1: ExtendedCount++; break;
                default: BasisCount++; break;
            }
        }

        if (RegularCount == 0)
        {
            throw new ArgumentException("A grid needs at least one regular scenario.", nameof(scenarios));
        }

        Name = name;
        Scenarios = scenarios.ToArray();
        PriceScanRange = priceScanRange;
        VolScanRange = volScanRange;
        LookAheadYears = lookAheadYears;
        TenorReferenceDays = tenorReferenceDays;
        TenorExponent = tenorExponent;
    }

    /// <summary>Preset name.</summary>
    public string Name { get; }

    /// <summary>The scenarios, in risk-array order.</summary>
    public IReadOnlyList<Scenario> Scenarios { get; }

    /// <summary>Number of scenarios (length of every risk array).</summary>
    public int Count => Scenarios.Count;

    /// <summary>Price scan range as a fraction of price.</summary>
    public double PriceScanRange { get; }

    /// <summary>Volatility scan range in absolute volatility.</summary>
    public double VolScanRange { get; }

    /// <summary>Time decay applied to options in every scenario.</summary>
    public double LookAheadYears { get; }

    /// <summary>Tenor scaling reference in days (0 = no tenor scaling).</summary>
    public double TenorReferenceDays { get; }

    /// <summary>Tenor scaling exponent.</summary>
    public double TenorExponent { get; }

    /// <summary>
    /// The CME SPAN 16 scenarios: price unchanged, ±1/3, ±2/3, ±3/3 of the scan range, each with
    /// volatility up then down; then +extreme and −extreme (multiplier × scan range, volatility
    /// unchanged) counted at the cover fraction. Defaults 3× and 33 % (CME's own example; the
    /// textbook/NSE values are 2× and 35 %). Look-ahead one day.
    /// </summary>
    public static ScenarioGrid CmeSpan16(double priceScanRange, double volScanRange, double extremeMultiplier = 3.0, double coverFraction = 0.33)
    {
        var s = new List<Scenario>(16);
        foreach (double move in new[] { 0.0, 1.0 / 3, -1.0 / 3, 2.0 / 3, -2.0 / 3, 1.0, -1.0 })
        {
            s.Add(new Scenario(move, +1));
            s.Add(new Scenario(move, -1));
        }

        s.Add(new Scenario(extremeMultiplier, 0, coverFraction));
        s.Add(new Scenario(-extremeMultiplier, 0, coverFraction));
        return new ScenarioGrid("cme-span-16", s, priceScanRange, volScanRange, lookAheadYears: 1.0 / 365);
    }

    /// <summary>
    /// A crypto portfolio-margin grid: price moves in <paramref name="steps"/> equal steps across
    /// ±<paramref name="priceRange"/> (default ±16 % in 9 steps), each with volatility up, flat and
    /// down; volatility shifts scale with tenor as (30 / days)^0.30 (the Deribit legacy convention).
    /// </summary>
    public static ScenarioGrid Crypto(double priceRange = 0.16, int steps = 9, double volShift = 0.10)
    {
        if (steps < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps, "At least two price steps.");
        }

        var s = new List<Scenario>(steps * 3);
        for (int i = 0; i < steps; i++)
        {
            double move = -1.0 + (2.0 * i / (steps - 1));
            s.Add(new Scenario(move, +1));
            s.Add(new Scenario(move, 0));
            s.Add(new Scenario(move, -1));
        }

        return new ScenarioGrid(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"crypto-{steps}x3"), s, priceRange, volShift, lookAheadYears: 0, tenorReferenceDays: 30, tenorExponent: 0.30);
    }

    /// <summary>
    /// The crypto-venue portfolio-margin set: 2 × buckets + 1 price points across ±priceRange, each
    /// with volatility up, flat and down (relative, tenor-scaled shocks); then the extended table on
    /// the vol-up shock, weighted and dampened; then basis up and down. Look-ahead 0.
    /// 27 + 8 + 2 = 37 rows with the defaults.
    /// </summary>
    public static ScenarioGrid CryptoPortfolio(CryptoPortfolioParameters? parameters = null)
    {
        var p = parameters ?? new CryptoPortfolioParameters();
        p.Validate();
        var s = new List<Scenario>((((2 * p.Buckets) + 1) * 3) + p.ExtendedMoves.Count + 2);
        for (int i = -p.Buckets; i <= p.Buckets; i++)
        {
            double move = (double)i / p.Buckets;
            s.Add(new Scenario(move, +1));
            s.Add(new Scenario(move, 0));
            s.Add(new Scenario(move, -1));
        }

        for (int e = 0; e < p.ExtendedMoves.Count; e++)
        {
            s.Add(new Scenario(p.ExtendedMoves[e] / p.PriceRange, +1, p.ExtendedWeights[e], ScenarioKind.Extended));
        }

        bool basis = p.BasisAnnualMove > 0 || p.BasisMinimumMove > 0;
        if (basis)
        {
            s.Add(new Scenario(0, 0, 1, ScenarioKind.BasisUp));
            s.Add(new Scenario(0, 0, 1, ScenarioKind.BasisDown));
        }

        string name = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"crypto-portfolio-{s.Count}");
        return new ScenarioGrid(name, s, p.PriceRange, volScanRange: 0, lookAheadYears: 0, tenorReferenceDays: p.TenorSwitchDays, tenorExponent: p.ShortTenorExponent)
        {
            VolShock = VolShockRule.Relative,
            VolUp = p.VolUp,
            VolDown = p.VolDown,
            MinVolForShockUp = p.MinVolForShockUp,
            LongTenorExponent = p.LongTenorExponent,
            ExtendedDampener = p.ExtendedDampener,
            BasisAnnualMove = p.BasisAnnualMove,
            BasisMinimumMove = p.BasisMinimumMove,
            Parameters = p,
        };
    }

    /// <summary>
    /// A historical grid's <see cref="PriceScanRange"/>: the calibration value at which its moves are as filtered
    /// (scale 1). Other values scale the moves' log returns in proportion, from just above 0 to just under 10×.
    /// </summary>
    public const double HistoricalReferenceRange = 0.1;

    /// <summary>A historical grid's reference daily volatility per underlying (what its moves were filtered to), or null.</summary>
    public IReadOnlyList<double>? ReferenceVolatilities { get; private init; }

    /// <summary>Most rows of a <see cref="Historical"/> grid (every account × underlying keeps one risk array of this length).</summary>
    public const int MaxHistoricalScenarios = 4096;

    /// <summary>
    /// A filtered-historical-simulation grid: row j moves each underlying u's index and forwards by
    /// <paramref name="relativeMovesByUnderlying"/>[u][j] (a relative move, e^(r̃) − 1 of a filtered
    /// log return r̃), all underlyings on the same historical date; volatilities stay, no look-ahead,
    /// every row weight 1. The scan risk is the expected shortfall at <paramref name="confidence"/> of
    /// the rows (<see cref="ScanMeasure.ExpectedShortfall"/>), not the worst row.
    /// </summary>
    /// <remarks>
    /// The moves are the grid's, not a calibration: the per-underlying <see cref="ScenarioParameters"/>
    /// (scan ranges, vol shocks) do not apply to them. Throws <see cref="ArgumentException"/> when the
    /// underlyings' samples differ in length, a move is not finite or would take a price to zero or
    /// below (or above 21 times), the confidence is not in [0.9, 1), or the tail would need more than
    /// <see cref="TailMeasure.MaxTailRows"/> rows.
    /// </remarks>
    /// <param name="relativeMovesByUnderlying">Per underlying, each date's relative move.</param>
    /// <param name="confidence">Confidence of the expected shortfall.</param>
    /// <param name="referenceVolatilities">
    /// Each underlying's daily volatility σ_ref the moves were filtered to (the history's EWMA at its end): with
    /// <c>margin.dynamicRange</c> on, the engine's own EWMA σ rescales them as it moves
    /// (<see cref="RelativeMoveOf(int, int, in ScenarioParameters)"/>). Null: the moves stay as given.
    /// </param>
    public static ScenarioGrid Historical(IReadOnlyList<IReadOnlyList<double>> relativeMovesByUnderlying, double confidence = 0.975, IReadOnlyList<double>? referenceVolatilities = null)
    {
        ArgumentNullException.ThrowIfNull(relativeMovesByUnderlying);
        if (referenceVolatilities is not null && (referenceVolatilities.Count != relativeMovesByUnderlying.Count || referenceVolatilities.Any(v => !(v is > 0 and < 1))))
        {
            throw new ArgumentException("One reference daily volatility in (0, 1) per underlying.", nameof(referenceVolatilities));
        }

        if (relativeMovesByUnderlying.Count == 0 || relativeMovesByUnderlying.Any(m => m is null))
        {
            throw new ArgumentException("A historical grid needs each underlying's moves.", nameof(relativeMovesByUnderlying));
        }

        int n = relativeMovesByUnderlying[0].Count;
        if (n is < 20 or > MaxHistoricalScenarios)
        {
            throw new ArgumentException($"A historical grid needs 20 to {MaxHistoricalScenarios} scenarios; {n} given.", nameof(relativeMovesByUnderlying));
        }

        if (!(confidence is >= 0.9 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "The expected shortfall's confidence must be in [0.9, 1).");
        }

        if (TailMeasure.TailRows(n, confidence) > TailMeasure.MaxTailRows)
        {
            throw new ArgumentException($"{n} scenarios at {confidence} leave {TailMeasure.TailRows(n, confidence)} rows in the tail; at most {TailMeasure.MaxTailRows}.", nameof(confidence));
        }

        var moves = new double[relativeMovesByUnderlying.Count][];
        for (int u = 0; u < moves.Length; u++)
        {
            var m = relativeMovesByUnderlying[u];
            if (m.Count != n)
            {
                throw new ArgumentException($"Underlying {u} has {m.Count} moves where underlying 0 has {n}: the scenarios are dates shared by every underlying.", nameof(relativeMovesByUnderlying));
            }

            for (int j = 0; j < n; j++)
            {
                if (!(m[j] > -1 && m[j] <= 20))
                {
                    throw new ArgumentException($"Underlying {u}, scenario {j}: a move of {m[j]} is not in (−1, 20].", nameof(relativeMovesByUnderlying));
                }
            }

            moves[u] = [.. m];
        }

        var rows = new Scenario[n];
        Array.Fill(rows, new Scenario(0, 0)); // the moves are per underlying (HistoricalMoves); the price scan range below scales nothing
        string name = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"historical-{n}");
        return new ScenarioGrid(name, rows, priceScanRange: HistoricalReferenceRange, volScanRange: 0)
        {
            Measure = ScanMeasure.ExpectedShortfall,
            Confidence = confidence,
            HistoricalMoves = moves,
            ReferenceVolatilities = referenceVolatilities is null ? null : [.. referenceVolatilities],
        };
    }

    /// <summary>
    /// This grid for a book whose underlying l is this grid's <paramref name="underlyings"/>[l] (a per-account
    /// book of a portfolio file numbers only the underlyings it uses), with <paramref name="count"/> underlyings in
    /// all — those past the map move 0 (nothing is held there). A grid whose moves do not differ by underlying
    /// is returned as it is.
    /// </summary>
    public ScenarioGrid ForUnderlyings(IReadOnlyList<int> underlyings, int count)
    {
        ArgumentNullException.ThrowIfNull(underlyings);
        if (HistoricalMoves is not { } moves)
        {
            return this;
        }

        var local = new double[Math.Max(count, underlyings.Count)][];
        for (int l = 0; l < local.Length; l++)
        {
            local[l] = l < underlyings.Count ? moves[underlyings[l]] : new double[Count];
        }

        var volatilities = ReferenceVolatilities is { } v ? (double[]?)[.. Enumerable.Range(0, local.Length).Select(l => l < underlyings.Count ? v[underlyings[l]] : v[0])] : null;
        return Historical(local, Confidence, volatilities);
    }

    /// <summary>How <see cref="Scenario.VolShift"/> moves volatility.</summary>
    public VolShockRule VolShock { get; private init; }

    /// <summary>Relative shock up at the reference tenor (<see cref="VolShockRule.Relative"/>).</summary>
    public double VolUp { get; private init; }

    /// <summary>Relative shock down at the reference tenor (<see cref="VolShockRule.Relative"/>).</summary>
    public double VolDown { get; private init; }

    /// <summary>Floor of the shocked-up volatility (<see cref="VolShockRule.Relative"/>).</summary>
    public double MinVolForShockUp { get; private init; }

    /// <summary>Tenor exponent from the reference tenor on (<see cref="VolShockRule.Relative"/>; below it <see cref="TenorExponent"/>).</summary>
    public double LongTenorExponent { get; private init; }

    /// <summary>Extended dampener D: a weighted extended loss L counts L·min(1, L / D); 0 counts it in full.</summary>
    public double ExtendedDampener { get; private init; }

    /// <summary>Annualised basis move of a dated forward.</summary>
    public double BasisAnnualMove { get; private init; }

    /// <summary>Smallest basis move of a dated instrument.</summary>
    public double BasisMinimumMove { get; private init; }

    /// <summary>The parameters the grid was built from (<see cref="CryptoPortfolio"/>), else null.</summary>
    public CryptoPortfolioParameters? Parameters { get; private init; }

    /// <summary>Rows of kind <see cref="ScenarioKind.Regular"/> (the first rows).</summary>
    public int RegularCount { get; }

    /// <summary>Rows of kind <see cref="ScenarioKind.Extended"/> (after the regular ones).</summary>
    public int ExtendedCount { get; }

    /// <summary>Basis rows (the last ones).</summary>
    public int BasisCount { get; }

    /// <summary>True when the scan risk is the plain worst row (no extended or basis rows, not a tail measure).</summary>
    public bool IsPlain => ExtendedCount == 0 && BasisCount == 0 && Measure == ScanMeasure.WorstRow;

    /// <summary>How the scan risk reads a risk array (<see cref="ScanMeasure.WorstRow"/> but for <see cref="Historical"/> grids).</summary>
    public ScanMeasure Measure { get; private init; }

    /// <summary>Confidence of the expected shortfall (<see cref="ScanMeasure.ExpectedShortfall"/>), else 0.</summary>
    public double Confidence { get; private init; }

    /// <summary>
    /// A historical grid's relative price move of every row per underlying (<c>[underlying][row]</c>),
    /// else null: row j moves underlying u's index and forwards by <c>HistoricalMoves[u][j]</c> on the same
    /// date for every underlying, so the joint sample keeps history's co-movements.
    /// </summary>
    public IReadOnlyList<double[]>? HistoricalMoves { get; private init; }

    /// <summary>The grid's own calibration (what every underlying starts with).</summary>
    public ScenarioParameters Calibration => new(PriceScanRange, VolScanRange, VolUp, VolDown, MinVolForShockUp, ExtendedDampener, BasisAnnualMove, BasisMinimumMove);

    /// <summary>Scan risk of an account's risk array: the worst row floored at 0, or with extended and basis rows <see cref="ScanParts.Total"/>.</summary>
    public double ScanOf(ReadOnlySpan<double> array) => ScanOf(array, ExtendedDampener);

    /// <summary>As <see cref="ScanOf(ReadOnlySpan{double})"/> with an underlying's own dampener.</summary>
    public double ScanOf(ReadOnlySpan<double> array, double dampener) =>
        IsPlain ? WorstOf(array, default, 0, 0, array.Length)
        : Measure == ScanMeasure.ExpectedShortfall ? Math.Max(TailMeasure.ExpectedShortfall(array, default, 0, Confidence), 0)
        : PartsOf(array, default, 0, dampener).Total;

    /// <summary>Scan risk of <paramref name="array"/> + <paramref name="quantity"/> × <paramref name="row"/> (a what-if), without writing the sum anywhere.</summary>
    public double ScanOf(ReadOnlySpan<double> array, ReadOnlySpan<double> row, double quantity) => ScanOf(array, row, quantity, ExtendedDampener);

    /// <summary>As <see cref="ScanOf(ReadOnlySpan{double}, ReadOnlySpan{double}, double)"/> with an underlying's own dampener.</summary>
    public double ScanOf(ReadOnlySpan<double> array, ReadOnlySpan<double> row, double quantity, double dampener) =>
        IsPlain ? WorstOf(array, row, quantity, 0, array.Length)
        : Measure == ScanMeasure.ExpectedShortfall ? Math.Max(TailMeasure.ExpectedShortfall(array, row, quantity, Confidence), 0)
        : PartsOf(array, row, quantity, dampener).Total;

    /// <summary>The parts of the scan risk of an account's risk array.</summary>
    public ScanParts PartsOf(ReadOnlySpan<double> array) => PartsOf(array, default, 0, ExtendedDampener);

    /// <summary>The parts of the scan risk of an account's risk array, with an underlying's own dampener.</summary>
    public ScanParts PartsOf(ReadOnlySpan<double> array, double dampener) => PartsOf(array, default, 0, dampener);

    private ScanParts PartsOf(ReadOnlySpan<double> array, ReadOnlySpan<double> row, double quantity, double dampener)
    {
        if (Measure == ScanMeasure.ExpectedShortfall)
        {
            return new ScanParts(Math.Max(TailMeasure.ExpectedShortfall(array, row, quantity, Confidence), 0), 0, 0); // one part: the tail
        }

        int e = RegularCount + ExtendedCount;
        return new ScanParts(
            WorstOf(array, row, quantity, 0, RegularCount),
            Dampen(WorstOf(array, row, quantity, RegularCount, e), dampener),
            WorstOf(array, row, quantity, e, array.Length));
    }

    /// <summary>The dampened value of a weighted extended loss (monotone, so the dampened worst row is the worst dampened row).</summary>
    public double Dampen(double weightedLoss) => Dampen(weightedLoss, ExtendedDampener);

    /// <summary>L·min(1, L / D): the dampened value of a weighted extended loss L under dampener D (0 = none).</summary>
    public static double Dampen(double weightedLoss, double dampener) =>
        dampener > 0 && weightedLoss < dampener ? weightedLoss * weightedLoss / dampener : weightedLoss;

    /// <summary>max(0, max over rows [from, to) of array + quantity × row); <paramref name="row"/> is read only when <paramref name="quantity"/> is not 0.</summary>
    private static double WorstOf(ReadOnlySpan<double> array, ReadOnlySpan<double> row, double quantity, int from, int to)
    {
        int j = from;
        double worst = 0;
        bool withRow = quantity != 0;
        if (Vector256.IsHardwareAccelerated && to - from >= 4)
        {
            ref double a = ref MemoryMarshal.GetReference(array);
            ref double r = ref MemoryMarshal.GetReference(row);
            var q = Vector256.Create(quantity);
            var max = Vector256<double>.Zero;
            for (; j <= to - 4; j += 4)
            {
                var v = Vector256.LoadUnsafe(ref a, (nuint)j);
                if (withRow)
                {
                    v = Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref r, (nuint)j), v);
                }

                max = Vector256.Max(max, v);
            }

            worst = Math.Max(Math.Max(max.GetElement(0), max.GetElement(1)), Math.Max(max.GetElement(2), max.GetElement(3)));
        }

        for (; j < to; j++)
        {
            worst = Math.Max(worst, withRow ? Math.FusedMultiplyAdd(quantity, row[j], array[j]) : array[j]);
        }

        return worst;
    }

    /// <summary>
    /// The per-option unit that <see cref="VolShiftOf(in Scenario)"/> multiplies: absolute grids the tenor-scaled
    /// scan range (<see cref="VolScanRangeFor(double)"/>); relative grids σ·(reference / d)^p, d the days to
    /// expiry floored at one, p = <see cref="TenorExponent"/> below the reference tenor and
    /// <see cref="LongTenorExponent"/> from it on.
    /// </summary>
    public double VolShockUnit(double sigma, double years) => VolShockUnit(sigma, years, VolScanRange);

    /// <summary>As <see cref="VolShockUnit(double, double)"/> with an underlying's own absolute vol scan range.</summary>
    public double VolShockUnit(double sigma, double years, double volScanRange)
    {
        if (VolShock == VolShockRule.Absolute)
        {
            return VolScanRangeFor(years, volScanRange);
        }

        double days = Math.Max(years * 365.0, 1.0);
        return sigma * Math.Pow(TenorReferenceDays / days, days < TenorReferenceDays ? TenorExponent : LongTenorExponent);
    }

    /// <summary>The coefficient of <see cref="VolShockUnit(double, double)"/> for a row: its shift, times VolUp or VolDown on a relative grid.</summary>
    public double VolShiftOf(in Scenario scenario) => VolShiftOf(scenario, Calibration);

    /// <summary>As <see cref="VolShiftOf(in Scenario)"/> under <paramref name="p"/>.</summary>
    public double VolShiftOf(in Scenario scenario, in ScenarioParameters p) =>
        VolShock == VolShockRule.Absolute ? scenario.VolShift : scenario.VolShift * (scenario.VolShift > 0 ? p.VolUp : p.VolDown);

    /// <summary>The floor of a row's shocked volatility: <paramref name="minVolatility"/>, or on a relative grid's shock up the minimum vol for it.</summary>
    public double VolFloorOf(in Scenario scenario, double minVolatility) => VolFloorOf(scenario, minVolatility, MinVolForShockUp);

    /// <summary>As <see cref="VolFloorOf(in Scenario, double)"/> with an underlying's own minimum vol for a shock up.</summary>
    public double VolFloorOf(in Scenario scenario, double minVolatility, double minVolForShockUp) =>
        VolShock == VolShockRule.Relative && scenario.VolShift > 0 ? Math.Max(minVolForShockUp, minVolatility) : minVolatility;

    /// <summary>A dated instrument's relative basis move: max(annual × T, minimum) for T &gt; 0; 0 for a perpetual or spot (T = 0) or an expired one.</summary>
    /// <remarks>Capped at 50 % so a long tenor with a large annual move keeps the forward positive in the down row.</remarks>
    public double BasisMoveFor(double years) => BasisMoveFor(years, BasisAnnualMove, BasisMinimumMove);

    /// <summary>As <see cref="BasisMoveFor(double)"/> with an underlying's own annual and minimum moves.</summary>
    public static double BasisMoveFor(double years, double annualMove, double minimumMove) =>
        years > 0 ? Math.Min(Math.Max(annualMove * years, minimumMove), MaxBasisMove) : 0;

    /// <summary>
    /// The weighted loss per unit of value of something that moves with the index in row
    /// <paramref name="row"/> (coin collateral in the scenarios): −move × weight; 0 on a basis row
    /// (the index stays).
    /// </summary>
    public double IndexValueLoss(int row) => IndexValueLoss(row, Calibration);

    /// <summary>As <see cref="IndexValueLoss(int)"/> under <paramref name="p"/>.</summary>
    public double IndexValueLoss(int row, in ScenarioParameters p) => -RelativeMoveOf(row, p) * Scenarios[row].Weight;

    /// <summary>Cap of <see cref="BasisMoveFor(double)"/>.</summary>
    public const double MaxBasisMove = 0.5;

    /// <summary>The volatility scan range for an option with <paramref name="years"/> to expiry, after tenor scaling (capped at 3× for very short tenors).</summary>
    public double VolScanRangeFor(double years) => VolScanRangeFor(years, VolScanRange);

    private double VolScanRangeFor(double years, double volScanRange)
    {
        if (TenorReferenceDays <= 0)
        {
            return volScanRange;
        }

        double days = Math.Max(years * 365.0, 1.0);
        return volScanRange * Math.Min(Math.Pow(TenorReferenceDays / days, TenorExponent), 3.0);
    }

    /// <summary>
    /// Row <paramref name="row"/>'s relative price move of <paramref name="underlying"/> under <paramref name="p"/>:
    /// any other grid's <see cref="RelativeMoveOf(int, in ScenarioParameters)"/>; a historical grid's own move m of that
    /// underlying rescaled by s = <c>p.PriceScanRange</c> ÷ <see cref="HistoricalReferenceRange"/> as a log return,
    /// (1 + m)^s − 1 = e^(s r̃) − 1 — on a historical grid the calibration's "scan range" is the volatility scale of the
    /// moves: <see cref="HistoricalReferenceRange"/> (what every underlying starts with) keeps them as filtered; the
    /// engine's EWMA sets it to the reference range × σ_EWMA ÷ σ_ref (the filter's σ_now, live).
    /// </summary>
    public double RelativeMoveOf(int row, int underlying, in ScenarioParameters p) =>
        HistoricalMoves is not { } moves ? RelativeMoveOf(row, p)
        : p.PriceScanRange == HistoricalReferenceRange ? moves[underlying][row]
        : Math.Pow(1 + moves[underlying][row], p.PriceScanRange / HistoricalReferenceRange) - 1; // e^(r̃ s) − 1: the filtered log return scaled by s

    /// <summary>A row's relative price move under <paramref name="p"/>: a regular row its fraction of the scan range, an extended row its own absolute move (whatever the range), a basis row 0.</summary>
    public double RelativeMoveOf(int row, in ScenarioParameters p)
    {
        var s = Scenarios[row];
        return s.Kind switch
        {
            ScenarioKind.Regular => s.PriceMove * p.PriceScanRange,
            ScenarioKind.Extended => s.PriceMove * PriceScanRange,
            _ => 0,
        };
    }
}
