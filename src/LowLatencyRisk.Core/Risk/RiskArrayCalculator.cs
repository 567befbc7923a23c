using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LowLatencyRisk.Core.Pricing;

namespace LowLatencyRisk.Core.Risk;

/// <summary>Struct-of-arrays description of the instruments of one underlying, for risk arrays: the option inputs plus a multiplier.</summary>
/// <remarks>
/// Omega is 0 for a linear instrument (spot, future, perpetual), +1 for a call, −1 for a put.
/// Underlying is the instrument's own reference price: the spot for spot and spot options, the
/// instrument's forward for futures and options on them. Linear instruments ignore the option fields.
/// </remarks>
public readonly ref struct RiskArrayInputs
{
    /// <summary>Creates the view; all spans the same length.</summary>
    public RiskArrayInputs(ReadOnlySpan<double> omega, ReadOnlySpan<double> underlying, ReadOnlySpan<double> strike, ReadOnlySpan<double> time,
        ReadOnlySpan<double> volatility, ReadOnlySpan<double> rate, ReadOnlySpan<double> carry, ReadOnlySpan<double> spotModel, ReadOnlySpan<double> multiplier)
    {
        Options = new OptionBatchInputs(omega, underlying, strike, time, volatility, rate, carry, spotModel);
        Multiplier = multiplier;
    }

    /// <summary>The option inputs (omega 0 marks a linear instrument).</summary>
    public OptionBatchInputs Options { get; }

    /// <summary>Contract multiplier.</summary>
    public ReadOnlySpan<double> Multiplier { get; }

    /// <summary>Number of instruments.</summary>
    public int Length => Options.Length;
}

/// <summary>
/// Computes risk arrays: for every instrument, the loss of one long contract under every scenario
/// of a <see cref="ScenarioGrid"/> (losses positive, gains negative, extreme scenarios already
/// weighted by their cover fraction), laid out instrument-major: row i is
/// <c>arrays[i * Count .. (i + 1) * Count]</c>, so an account's array is the position-weighted sum of rows.
/// </summary>
/// <remarks>
/// The Vector256 path values four options at once and computes what a scenario shares once:
/// ln(1 + move) per scenario (at construction), ln(S/K), discount and carry factors per instrument,
/// so a scenario costs one division and two normal CDFs per option. The scalar reference revalues
/// each (instrument, scenario) with <see cref="BlackScholes"/> from scratch. No allocation.
/// </remarks>
public sealed class RiskArrayCalculator
{
    /// <summary>Volatility floor after a downward shift.</summary>
    public const double MinVolatility = 0.01;

    private readonly double[] _moveFactor;
    private readonly double[] _logMoveFactor;
    private readonly double[] _relativeMove;
    private readonly double[] _volShift;
    private readonly double[] _volFloor;
    private readonly double[] _basis;
    private readonly double[] _weight;
    private readonly bool _hasBasis;

    private readonly int _underlying;

    /// <summary>Creates a calculator for <paramref name="grid"/> (a historical grid: its first underlying's moves).</summary>
    public RiskArrayCalculator(ScenarioGrid grid)
        : this(grid, 0)
    {
    }

    /// <summary>Creates a calculator for <paramref name="grid"/>'s rows of <paramref name="underlying"/> (only a historical grid's moves differ by underlying).</summary>
    public RiskArrayCalculator(ScenarioGrid grid, int underlying)
    {
        ArgumentNullException.ThrowIfNull(grid);
        if (grid.HistoricalMoves is { } moves && (uint)underlying >= (uint)moves.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(underlying), underlying, $"The historical grid has moves for {moves.Count} underlyings.");
        }

        Grid = grid;
        _underlying = underlying;
        int n = grid.Count;
        _moveFactor = new double[n];
        _logMoveFactor = new double[n];
        _relativeMove = new double[n];
        _volShift = new double[n];
        _volFloor = new double[n];
        _basis = new double[n];
        _weight = new double[n];
        for (int j = 0; j < n; j++)
        {
            var s = grid.Scenarios[j];
            _basis[j] = s.Kind switch { ScenarioKind.BasisUp => 1, ScenarioKind.BasisDown => -1, _ => 0 };
            _weight[j] = s.Weight;
        }

        _hasBasis = grid.BasisCount > 0;
        Recalibrate(grid.Calibration);
    }

    /// <summary>The calibration the rows are computed with (the grid's until <see cref="Recalibrate"/>).</summary>
    public ScenarioParameters Calibration => _p;

    private ScenarioParameters _p;

    /// <summary>
    /// Computes the rows with <paramref name="parameters"/> from now on (an underlying's own scan
    /// range, vol shocks, basis moves); allocates nothing. Throws <see cref="ArgumentException"/>
    /// for a parameter out of range, and when a regular row would take a price to zero or below.
    /// </summary>
    public void Recalibrate(in ScenarioParameters parameters)
    {
        if (parameters.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(parameters));
        }

        for (int j = 0; j < _weight.Length; j++)
        {
            if (!(Grid.RelativeMoveOf(j, _underlying, parameters) > -1))
            {
                throw new ArgumentException($"Scenario {j} would move the price to zero or below with a scan range of {parameters.PriceScanRange}.", nameof(parameters));
            }
        }

        _p = parameters;
        for (int j = 0; j < _weight.Length; j++)
        {
            var s = Grid.Scenarios[j];
            _relativeMove[j] = Grid.RelativeMoveOf(j, _underlying, parameters);
            _moveFactor[j] = 1.0 + _relativeMove[j];
            _logMoveFactor[j] = Math.Log(_moveFactor[j]);
            _volShift[j] = Grid.VolShiftOf(s, parameters);
            _volFloor[j] = Grid.VolFloorOf(s, MinVolatility, parameters.MinVolForShockUp);
        }
    }

    /// <summary>Row <paramref name="j"/>'s weighted loss per unit of value moving with the index, under the current calibration.</summary>
    public double IndexValueLoss(int j) => -_relativeMove[j] * _weight[j];

    /// <summary>The grid.</summary>
    public ScenarioGrid Grid { get; }

    /// <summary>Scenarios per risk array.</summary>
    public int Count => _weight.Length;

    /// <summary>Computes the risk arrays of every instrument of <paramref name="inputs"/> into <paramref name="arrays"/> (length ≥ n × Count).</summary>
    public void Compute(in RiskArrayInputs inputs, Span<double> arrays)
    {
        int n = inputs.Length;
        Check(inputs, arrays, n);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                Compute8(inputs, arrays, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 4; i += 4)
            {
                Compute4(inputs, arrays, i);
            }
        }

        for (; i < n; i++)
        {
            ComputeOneScalar(inputs, arrays, i);
        }
    }

    /// <summary>The scalar reference: every scenario revalued from scratch with <see cref="BlackScholes"/>.</summary>
    public void ComputeScalar(in RiskArrayInputs inputs, Span<double> arrays)
    {
        int n = inputs.Length;
        Check(inputs, arrays, n);
        for (int i = 0; i < n; i++)
        {
            ComputeOneScalar(inputs, arrays, i);
        }
    }

    private void Check(in RiskArrayInputs inputs, Span<double> arrays, int n)
    {
        if (inputs.Options.Underlying.Length != n || inputs.Options.Strike.Length != n || inputs.Options.Time.Length != n || inputs.Options.Volatility.Length != n ||
            inputs.Options.Rate.Length != n || inputs.Options.Carry.Length != n || inputs.Options.SpotModel.Length != n || inputs.Multiplier.Length != n ||
            arrays.Length < n * Count)
        {
            throw new ArgumentException("Every input span must have the same length n and the output at least n × scenarios.");
        }
    }

    private void ComputeOneScalar(in RiskArrayInputs inputs, Span<double> arrays, int i)
    {
        Span<double> row = arrays.Slice(i * Count, Count);
        double omega = inputs.Options.Omega[i];
        double s = inputs.Options.Underlying[i];
        double multiplier = inputs.Multiplier[i];
        double basisMove = _hasBasis ? ScenarioGrid.BasisMoveFor(inputs.Options.Time[i], _p.BasisAnnualMove, _p.BasisMinimumMove) : 0;
        if (omega == 0)
        {
            for (int j = 0; j < row.Length; j++)
            {
                double move = _basis[j] == 0 ? _relativeMove[j] : _basis[j] * basisMove;
                row[j] = -s * move * multiplier * _weight[j];
            }

            return;
        }

        double k = inputs.Options.Strike[i];
        double t = inputs.Options.Time[i];
        double sigma = inputs.Options.Volatility[i];
        double r = inputs.Options.Rate[i];
        double b = inputs.Options.Carry[i];
        bool spot = inputs.Options.SpotModel[i] != 0;
        double value = BlackScholes.Compute(omega, s, k, t, sigma, r, b, spot).Price;
        double scenarioTime = t - Grid.LookAheadYears;
        double unit = Grid.VolShockUnit(sigma, t, _p.VolScanRange);
        for (int j = 0; j < row.Length; j++)
        {
            double shocked = Math.Max(sigma + (_volShift[j] * unit), _volFloor[j]);
            double factor = _basis[j] == 0 ? _moveFactor[j] : 1 + (_basis[j] * basisMove);
            double scenarioValue = BlackScholes.Compute(omega, s * factor, k, scenarioTime, shocked, r, b, spot).Price;
            row[j] = (value - scenarioValue) * multiplier * _weight[j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Load(ReadOnlySpan<double> span, int i) => Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(span), (nuint)i);

    private void Compute4(in RiskArrayInputs inputs, Span<double> arrays, int i)
    {
        Vector256<double> omega = Load(inputs.Options.Omega, i);
        Vector256<double> s = Load(inputs.Options.Underlying, i);
        Vector256<double> multiplier = Load(inputs.Multiplier, i);
        Vector256<double> linear = Vector256.Equals(omega, Vector256<double>.Zero);
        // Linear lanes get benign option inputs (K = S, T = 1, σ = 0.2) and are overwritten below.
        Vector256<double> k = Vector256.ConditionalSelect(linear, s, Load(inputs.Options.Strike, i));
        Vector256<double> tRaw = Load(inputs.Options.Time, i);
        Vector256<double> t = Vector256.ConditionalSelect(linear, Vector256<double>.One, tRaw);
        Vector256<double> sigma = Vector256.ConditionalSelect(linear, Vector256.Create(0.2), Load(inputs.Options.Volatility, i));
        Vector256<double> r = Load(inputs.Options.Rate, i);
        Vector256<double> b = Load(inputs.Options.Carry, i);

        Vector256<double> logMoneyness = SimdMath.Log(s / k);
        Vector256<double> value = Price(omega, s, k, logMoneyness, t, sigma, r, b);

        Vector256<double> scenarioTime = t - Vector256.Create(Grid.LookAheadYears);
        // Per lane: the unit the rows' vol shifts multiply (an absolute grid's tenor-scaled scan
        // range, a relative grid's σ·(30/d)^p) and the basis move of the instrument's forward.
        Vector256<double> unit = Grid.TenorReferenceDays > 0 || Grid.VolShock == VolShockRule.Relative
            ? Vector256.Create(Grid.VolShockUnit(sigma.GetElement(0), t.GetElement(0), _p.VolScanRange), Grid.VolShockUnit(sigma.GetElement(1), t.GetElement(1), _p.VolScanRange), Grid.VolShockUnit(sigma.GetElement(2), t.GetElement(2), _p.VolScanRange), Grid.VolShockUnit(sigma.GetElement(3), t.GetElement(3), _p.VolScanRange))
            : Vector256.Create(_p.VolScanRange);
        Vector256<double> basisMove = Vector256<double>.Zero, logBasisUp = Vector256<double>.Zero, logBasisDown = Vector256<double>.Zero;
        if (_hasBasis)
        {
            basisMove = Vector256.Create(ScenarioGrid.BasisMoveFor(tRaw.GetElement(0), _p.BasisAnnualMove, _p.BasisMinimumMove), ScenarioGrid.BasisMoveFor(tRaw.GetElement(1), _p.BasisAnnualMove, _p.BasisMinimumMove), ScenarioGrid.BasisMoveFor(tRaw.GetElement(2), _p.BasisAnnualMove, _p.BasisMinimumMove), ScenarioGrid.BasisMoveFor(tRaw.GetElement(3), _p.BasisAnnualMove, _p.BasisMinimumMove));
            logBasisUp = SimdMath.Log(Vector256<double>.One + basisMove);
            logBasisDown = SimdMath.Log(Vector256<double>.One - basisMove);
        }
        // Discount and carry over the scenario horizon are the same for every scenario.
        // Lanes that expire within the look-ahead are valued with a benign horizon and replaced by
        // the settled payoff at the scenario price below.
        Vector256<double> expired = Vector256.LessThanOrEqual(scenarioTime, Vector256<double>.Zero);
        Vector256<double> positiveTime = Vector256.ConditionalSelect(expired, Vector256<double>.One, scenarioTime);
        Vector256<double> discount = SimdMath.Exp(-r * positiveTime);
        Vector256<double> carryFactor = SimdMath.Exp((b - r) * positiveTime);
        Vector256<double> sqrtT = Vector256.Sqrt(positiveTime);
        Vector256<double> drift = logMoneyness + (b * positiveTime);

        int count = Count;
        ref double row0 = ref MemoryMarshal.GetReference(arrays);
        nint base0 = (nint)i * count;
        for (int j = 0; j < count; j++)
        {
            Vector256<double> factor, logFactor, move;
            if (_basis[j] == 0)
            {
                factor = Vector256.Create(_moveFactor[j]);
                logFactor = Vector256.Create(_logMoveFactor[j]);
                move = Vector256.Create(_relativeMove[j]);
            }
            else
            {
                move = _basis[j] > 0 ? basisMove : -basisMove;
                factor = Vector256<double>.One + move;
                logFactor = _basis[j] > 0 ? logBasisUp : logBasisDown;
            }

            Vector256<double> weight = Vector256.Create(_weight[j]);
            Vector256<double> shocked = Vector256.Max(sigma + (Vector256.Create(_volShift[j]) * unit), Vector256.Create(_volFloor[j]));
            Vector256<double> scenarioS = s * factor;
            Vector256<double> sigmaSqrtT = Vector256.Max(shocked * sqrtT, Vector256.Create(BlackScholes.MinTotalVolatility));
            // d1 = (ln(S'/K) + (b + σ²/2)T) / σ√T = (ln(S'/K) + bT) / σ√T + σ√T / 2: one division, with the
            // per-instrument part (drift) outside the loop; the total-volatility floor holds as before.
            Vector256<double> d1 = ((drift + logFactor) / sigmaSqrtT) + (sigmaSqrtT * 0.5);
            Vector256<double> d2 = d1 - sigmaSqrtT;
            Vector256<double> nd1 = NormalDistribution.Cdf(omega * d1, out _);
            Vector256<double> nd2 = NormalDistribution.Cdf(omega * d2, out _);
            Vector256<double> scenarioValue = omega * ((scenarioS * carryFactor * nd1) - (k * discount * nd2));
            scenarioValue = Vector256.ConditionalSelect(expired, Vector256.Max(omega * (scenarioS - k), Vector256<double>.Zero), scenarioValue);
            Vector256<double> loss = (value - scenarioValue) * multiplier * weight;
            Vector256<double> linearLoss = -s * move * multiplier * weight;
            loss = Vector256.ConditionalSelect(linear, linearLoss, loss);
            Unsafe.Add(ref row0, base0 + j) = loss.GetElement(0);
            Unsafe.Add(ref row0, base0 + count + j) = loss.GetElement(1);
            Unsafe.Add(ref row0, base0 + (2 * count) + j) = loss.GetElement(2);
            Unsafe.Add(ref row0, base0 + (3 * count) + j) = loss.GetElement(3);
        }
    }

    /// <summary>Current value of four options (same arithmetic as <see cref="BlackScholes.Compute(double, double, double, double, double, double, double, bool)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Price(Vector256<double> omega, Vector256<double> s, Vector256<double> k, Vector256<double> logMoneyness,
        Vector256<double> tRaw, Vector256<double> volatility, Vector256<double> r, Vector256<double> b)
    {
        Vector256<double> expired = Vector256.LessThanOrEqual(tRaw, Vector256<double>.Zero);
        Vector256<double> t = Vector256.ConditionalSelect(expired, Vector256<double>.One, tRaw);
        Vector256<double> sqrtT = Vector256.Sqrt(t);
        Vector256<double> sigmaSqrtT = Vector256.Max(volatility * sqrtT, Vector256.Create(BlackScholes.MinTotalVolatility));
        Vector256<double> sigma = sigmaSqrtT / sqrtT;
        Vector256<double> d1 = (logMoneyness + ((b + (sigma * 0.5 * sigma)) * t)) / sigmaSqrtT;
        Vector256<double> d2 = d1 - sigmaSqrtT;
        Vector256<double> discount = SimdMath.Exp(-r * t);
        Vector256<double> carry = SimdMath.Exp((b - r) * t);
        Vector256<double> nd1 = NormalDistribution.Cdf(omega * d1, out _);
        Vector256<double> nd2 = NormalDistribution.Cdf(omega * d2, out _);
        Vector256<double> price = omega * ((s * carry * nd1) - (k * discount * nd2));
        return Vector256.ConditionalSelect(expired, Vector256.Max(omega * (s - k), Vector256<double>.Zero), price);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Load512(ReadOnlySpan<double> span, int i) => Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(span), (nuint)i);

    // The 512-bit twin of Compute4 (eight instruments at a time on AVX-512 machines). ISimdVector is
    // internal in .NET 10, so each width is written out; the tests hold both to the scalar reference
    // (CI reruns the math tests with AVX-512 off to cover the 256-bit path).
    private void Compute8(in RiskArrayInputs inputs, Span<double> arrays, int i)
    {
        Vector512<double> omega = Load512(inputs.Options.Omega, i);
        Vector512<double> s = Load512(inputs.Options.Underlying, i);
        Vector512<double> multiplier = Load512(inputs.Multiplier, i);
        Vector512<double> linear = Vector512.Equals(omega, Vector512<double>.Zero);
        // Linear lanes get benign option inputs (K = S, T = 1, σ = 0.2) and are overwritten below.
        Vector512<double> k = Vector512.ConditionalSelect(linear, s, Load512(inputs.Options.Strike, i));
        Vector512<double> tRaw = Load512(inputs.Options.Time, i);
        Vector512<double> t = Vector512.ConditionalSelect(linear, Vector512<double>.One, tRaw);
        Vector512<double> sigma = Vector512.ConditionalSelect(linear, Vector512.Create(0.2), Load512(inputs.Options.Volatility, i));
        Vector512<double> r = Load512(inputs.Options.Rate, i);
        Vector512<double> b = Load512(inputs.Options.Carry, i);

        Vector512<double> moneyness = s / k;
        Vector512<double> logMoneyness = SimdMath.Log(moneyness);
        Vector512<double> value = Price512(omega, s, k, logMoneyness, t, sigma, r, b);

        Vector512<double> scenarioTime = t - Vector512.Create(Grid.LookAheadYears);
        // Per lane: the unit the rows' vol shifts multiply (an absolute grid's tenor-scaled scan
        // range, a relative grid's σ·(30/d)^p) and the basis move of the instrument's forward.
        Vector512<double> unit = Grid.TenorReferenceDays > 0 || Grid.VolShock == VolShockRule.Relative
            ? Vector512.Create(Grid.VolShockUnit(sigma.GetElement(0), t.GetElement(0), _p.VolScanRange), Grid.VolShockUnit(sigma.GetElement(1), t.GetElement(1), _p.VolScanRange), Grid.VolShockUnit(sigma.GetElement(2), t.GetElement(2), _p.VolScanRange), Grid.VolShockUnit(sigma.GetElement(3), t.GetElement(3), _p.VolScanRange), Grid.VolShockUnit(sigma.GetElement(4), t.GetElement(4), _p.VolScanRange), Grid.VolShockUnit(sigma.GetElement(5), t.GetElement(5), _p.VolScanRange), Grid.VolShockUnit(sigma.GetElement(6), t.GetElement(6), _p.VolScanRange), Grid.VolShockUnit(sigma.GetElement(7), t.GetElement(7), _p.VolScanRange))
            : Vector512.Create(_p.VolScanRange);
        Vector512<double> basisMove = Vector512<double>.Zero, logBasisUp = Vector512<double>.Zero, logBasisDown = Vector512<double>.Zero;
        if (_hasBasis)
        {
            basisMove = Vector512.Create(ScenarioGrid.BasisMoveFor(tRaw.GetElement(0), _p.BasisAnnualMove, _p.BasisMinimumMove), ScenarioGrid.BasisMoveFor(tRaw.GetElement(1), _p.BasisAnnualMove, _p.BasisMinimumMove), ScenarioGrid.BasisMoveFor(tRaw.GetElement(2), _p.BasisAnnualMove, _p.BasisMinimumMove), ScenarioGrid.BasisMoveFor(tRaw.GetElement(3), _p.BasisAnnualMove, _p.BasisMinimumMove), ScenarioGrid.BasisMoveFor(tRaw.GetElement(4), _p.BasisAnnualMove, _p.BasisMinimumMove), ScenarioGrid.BasisMoveFor(tRaw.GetElement(5), _p.BasisAnnualMove, _p.BasisMinimumMove), ScenarioGrid.BasisMoveFor(tRaw.GetElement(6), _p.BasisAnnualMove, _p.BasisMinimumMove), ScenarioGrid.BasisMoveFor(tRaw.GetElement(7), _p.BasisAnnualMove, _p.BasisMinimumMove));
            logBasisUp = SimdMath.Log(Vector512<double>.One + basisMove);
            logBasisDown = SimdMath.Log(Vector512<double>.One - basisMove);
        }
        // Discount and carry over the scenario horizon are the same for every scenario.
        // Lanes that expire within the look-ahead are valued with a benign horizon and replaced by
        // the settled payoff at the scenario price below.
        Vector512<double> expired = Vector512.LessThanOrEqual(scenarioTime, Vector512<double>.Zero);
        Vector512<double> positiveTime = Vector512.ConditionalSelect(expired, Vector512<double>.One, scenarioTime);
        Vector512<double> discount = SimdMath.Exp(-r * positiveTime);
        Vector512<double> carryFactor = SimdMath.Exp((b - r) * positiveTime);
        Vector512<double> sqrtT = Vector512.Sqrt(positiveTime);
        // φ(d2) = φ(d1)·F/K per scenario, F/K = moneyness · move · e^(bT): one exponential per
        // scenario instead of two while |d1| stays well inside the tail (checked per scenario).
        Vector512<double> growth = Vector512.EqualsAll(b, Vector512<double>.Zero) ? moneyness : moneyness * carryFactor / discount;
        Vector512<double> drift = logMoneyness + (b * positiveTime);

        int count = Count;
        ref double row0 = ref MemoryMarshal.GetReference(arrays);
        nint base0 = (nint)i * count;
        for (int j = 0; j < count; j++)
        {
            Vector512<double> factor, logFactor, move;
            if (_basis[j] == 0)
            {
                factor = Vector512.Create(_moveFactor[j]);
                logFactor = Vector512.Create(_logMoveFactor[j]);
                move = Vector512.Create(_relativeMove[j]);
            }
            else
            {
                move = _basis[j] > 0 ? basisMove : -basisMove;
                factor = Vector512<double>.One + move;
                logFactor = _basis[j] > 0 ? logBasisUp : logBasisDown;
            }

            Vector512<double> weight = Vector512.Create(_weight[j]);
            Vector512<double> shocked = Vector512.Max(sigma + (Vector512.Create(_volShift[j]) * unit), Vector512.Create(_volFloor[j]));
            Vector512<double> scenarioS = s * factor;
            Vector512<double> sigmaSqrtT = Vector512.Max(shocked * sqrtT, Vector512.Create(BlackScholes.MinTotalVolatility));
            // d1 = (ln(S'/K) + (b + σ²/2)T) / σ√T = (ln(S'/K) + bT) / σ√T + σ√T / 2: one division, with the
            // per-instrument part (drift) outside the loop; the total-volatility floor holds as before.
            Vector512<double> d1 = ((drift + logFactor) / sigmaSqrtT) + (sigmaSqrtT * 0.5);
            Vector512<double> d2 = d1 - sigmaSqrtT;
            Vector512<double> nd1 = NormalDistribution.Cdf(omega * d1, out Vector512<double> pdf1);
            Vector512<double> nd2 = Vector512.LessThanAll(Vector512.Abs(d1), Vector512.Create(30.0))
                ? NormalDistribution.Cdf(omega * d2, pdf1 * growth * factor)
                : NormalDistribution.Cdf(omega * d2, out _);
            Vector512<double> scenarioValue = omega * ((scenarioS * carryFactor * nd1) - (k * discount * nd2));
            scenarioValue = Vector512.ConditionalSelect(expired, Vector512.Max(omega * (scenarioS - k), Vector512<double>.Zero), scenarioValue);
            Vector512<double> loss = (value - scenarioValue) * multiplier * weight;
            Vector512<double> linearLoss = -s * move * multiplier * weight;
            loss = Vector512.ConditionalSelect(linear, linearLoss, loss);
            Unsafe.Add(ref row0, base0 + j) = loss.GetElement(0);
            Unsafe.Add(ref row0, base0 + count + j) = loss.GetElement(1);
            Unsafe.Add(ref row0, base0 + (2 * count) + j) = loss.GetElement(2);
            Unsafe.Add(ref row0, base0 + (3 * count) + j) = loss.GetElement(3);
            Unsafe.Add(ref row0, base0 + (4 * count) + j) = loss.GetElement(4);
            Unsafe.Add(ref row0, base0 + (5 * count) + j) = loss.GetElement(5);
            Unsafe.Add(ref row0, base0 + (6 * count) + j) = loss.GetElement(6);
            Unsafe.Add(ref row0, base0 + (7 * count) + j) = loss.GetElement(7);
        }
    }

    /// <summary>Current value of eight options (same arithmetic as <see cref="BlackScholes.Compute(double, double, double, double, double, double, double, bool)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Price512(Vector512<double> omega, Vector512<double> s, Vector512<double> k, Vector512<double> logMoneyness,
        Vector512<double> tRaw, Vector512<double> volatility, Vector512<double> r, Vector512<double> b)
    {
        Vector512<double> expired = Vector512.LessThanOrEqual(tRaw, Vector512<double>.Zero);
        Vector512<double> t = Vector512.ConditionalSelect(expired, Vector512<double>.One, tRaw);
        Vector512<double> sqrtT = Vector512.Sqrt(t);
        Vector512<double> sigmaSqrtT = Vector512.Max(volatility * sqrtT, Vector512.Create(BlackScholes.MinTotalVolatility));
        Vector512<double> sigma = sigmaSqrtT / sqrtT;
        Vector512<double> d1 = (logMoneyness + ((b + (sigma * 0.5 * sigma)) * t)) / sigmaSqrtT;
        Vector512<double> d2 = d1 - sigmaSqrtT;
        Vector512<double> discount = SimdMath.Exp(-r * t);
        Vector512<double> carry = SimdMath.Exp((b - r) * t);
        Vector512<double> nd1 = NormalDistribution.Cdf(omega * d1, out _);
        Vector512<double> nd2 = NormalDistribution.Cdf(omega * d2, out _);
        Vector512<double> price = omega * ((s * carry * nd1) - (k * discount * nd2));
        return Vector512.ConditionalSelect(expired, Vector512.Max(omega * (s - k), Vector512<double>.Zero), price);
    }
}
