using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LowLatencyRisk.Core.Pricing;

/// <summary>Struct-of-arrays inputs of a batch valuation; all spans the same length.</summary>
/// <remarks>Omega is +1 for a call and −1 for a put; SpotModel is 1 where carry moves with the rate (Black-Scholes-Merton), 0 for Black-76.</remarks>
public readonly ref struct OptionBatchInputs
{
    /// <summary>Creates the input view.</summary>
    public OptionBatchInputs(ReadOnlySpan<double> omega, ReadOnlySpan<double> underlying, ReadOnlySpan<double> strike, ReadOnlySpan<double> time,
        ReadOnlySpan<double> volatility, ReadOnlySpan<double> rate, ReadOnlySpan<double> carry, ReadOnlySpan<double> spotModel)
    {
        Omega = omega;
        Underlying = underlying;
        Strike = strike;
        Time = time;
        Volatility = volatility;
        Rate = rate;
        Carry = carry;
        SpotModel = spotModel;
    }

    /// <summary>+1 call, −1 put.</summary>
    public ReadOnlySpan<double> Omega { get; }
    /// <summary>S or F.</summary>
    public ReadOnlySpan<double> Underlying { get; }
    /// <summary>K.</summary>
    public ReadOnlySpan<double> Strike { get; }
    /// <summary>T in years.</summary>
    public ReadOnlySpan<double> Time { get; }
    /// <summary>σ.</summary>
    public ReadOnlySpan<double> Volatility { get; }
    /// <summary>r.</summary>
    public ReadOnlySpan<double> Rate { get; }
    /// <summary>b.</summary>
    public ReadOnlySpan<double> Carry { get; }
    /// <summary>1 spot model, 0 forward model.</summary>
    public ReadOnlySpan<double> SpotModel { get; }

    /// <summary>Number of options.</summary>
    public int Length => Omega.Length;
}

/// <summary>Struct-of-arrays outputs of a batch valuation.</summary>
public readonly ref struct OptionBatchOutputs
{
    /// <summary>Creates the output view.</summary>
    public OptionBatchOutputs(Span<double> price, Span<double> delta, Span<double> gamma, Span<double> vega, Span<double> theta, Span<double> rho)
    {
        Price = price;
        Delta = delta;
        Gamma = gamma;
        Vega = vega;
        Theta = theta;
        Rho = rho;
    }

    /// <summary>V.</summary>
    public Span<double> Price { get; }
    /// <summary>∂V/∂S.</summary>
    public Span<double> Delta { get; }
    /// <summary>∂²V/∂S².</summary>
    public Span<double> Gamma { get; }
    /// <summary>∂V/∂σ.</summary>
    public Span<double> Vega { get; }
    /// <summary>−∂V/∂T per year.</summary>
    public Span<double> Theta { get; }
    /// <summary>∂V/∂r.</summary>
    public Span<double> Rho { get; }
}

/// <summary>
/// Batch valuation of options over struct-of-arrays: a <see cref="Vector512{T}"/> kernel where
/// AVX-512 is accelerated, a <see cref="Vector256{T}"/> kernel where AVX2 is (each two independent
/// vectors per iteration, so the long dependency chains of exp, log and the normal CDF overlap),
/// otherwise the scalar reference <see cref="BlackScholes"/>.
/// </summary>
/// <remarks>
/// The kernels run the reference's formulas; they differ where the inlined
/// <see cref="SimdMath"/> exp and log round differently from <see cref="Math.Exp(double)"/> and
/// <see cref="Math.Log(double)"/> (about an ulp), where the vector normal CDF takes the Mills ratio
/// from its central rational function, and where φ(d2) is derived from φ(d1); the tests bound all of
/// it. No allocation.
/// </remarks>
public static class GreeksKernel
{
    /// <summary>True when <see cref="Compute"/> runs a vector path on this machine.</summary>
    public static bool IsVectorized => Vector256.IsHardwareAccelerated;

    /// <summary>The widest vector path <see cref="Compute"/> takes here: 512, 256 or 0 (scalar).</summary>
    public static int VectorBits => Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 0;

    /// <summary>Values every option of <paramref name="inputs"/> into <paramref name="outputs"/>.</summary>
    public static void Compute(in OptionBatchInputs inputs, in OptionBatchOutputs outputs)
    {
        int n = inputs.Length;
        CheckLengths(inputs, outputs, n);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
            {
                Compute8(inputs, outputs, i);
                Compute8(inputs, outputs, i + 8);
            }

            for (; i <= n - 8; i += 8)
            {
                Compute8(inputs, outputs, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                Compute4(inputs, outputs, i);
                Compute4(inputs, outputs, i + 4);
            }

            for (; i <= n - 4; i += 4)
            {
                Compute4(inputs, outputs, i);
            }
        }

        ComputeScalar(inputs, outputs, i, n);
    }

    /// <summary>The scalar reference over the same struct-of-arrays (for tests and benchmarks).</summary>
    public static void ComputeScalar(in OptionBatchInputs inputs, in OptionBatchOutputs outputs)
    {
        CheckLengths(inputs, outputs, inputs.Length);
        ComputeScalar(inputs, outputs, 0, inputs.Length);
    }

    private static void ComputeScalar(in OptionBatchInputs inputs, in OptionBatchOutputs outputs, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            var g = BlackScholes.Compute(inputs.Omega[i], inputs.Underlying[i], inputs.Strike[i], inputs.Time[i], inputs.Volatility[i], inputs.Rate[i], inputs.Carry[i], inputs.SpotModel[i] != 0);
            outputs.Price[i] = g.Price;
            outputs.Delta[i] = g.Delta;
            outputs.Gamma[i] = g.Gamma;
            outputs.Vega[i] = g.Vega;
            outputs.Theta[i] = g.Theta;
            outputs.Rho[i] = g.Rho;
        }
    }

    private static void CheckLengths(in OptionBatchInputs inputs, in OptionBatchOutputs outputs, int n)
    {
        if (inputs.Underlying.Length != n || inputs.Strike.Length != n || inputs.Time.Length != n || inputs.Volatility.Length != n ||
            inputs.Rate.Length != n || inputs.Carry.Length != n || inputs.SpotModel.Length != n ||
            outputs.Price.Length < n || outputs.Delta.Length < n || outputs.Gamma.Length < n || outputs.Vega.Length < n ||
            outputs.Theta.Length < n || outputs.Rho.Length < n)
        {
            ThrowLengthMismatch();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowLengthMismatch() => throw new ArgumentException("Every input span must have the same length and every output span at least that length.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Load(ReadOnlySpan<double> span, int i) => Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(span), (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<double> v, Span<double> span, int i) => v.StoreUnsafe(ref MemoryMarshal.GetReference(span), (nuint)i);

    // Four options on AVX2, the same split as Compute8: the common block runs the lean central
    // path, any other block goes whole to Compute4General.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Compute4(in OptionBatchInputs inputs, in OptionBatchOutputs outputs, int i)
    {
        Vector256<double> t = Load(inputs.Time, i);
        Vector256<double> s = Load(inputs.Underlying, i);
        Vector256<double> k = Load(inputs.Strike, i);
        Vector256<double> volatility = Load(inputs.Volatility, i);
        Vector256<double> b = Load(inputs.Carry, i);
        Vector256<double> sqrtT = Vector256.Sqrt(t);
        Vector256<double> sigmaSqrtT = volatility * sqrtT;
        Vector256<double> invSigmaSqrtT = Vector256<double>.One / sigmaSqrtT;
        Vector256<double> moneyness = s / k;
        Vector256<double> d1 = (SimdMath.Log(moneyness) + ((b + (volatility * 0.5 * volatility)) * t)) * invSigmaSqrtT;
        Vector256<double> d2 = d1 - sigmaSqrtT;
        if (!Vector256.GreaterThanOrEqualAll(sigmaSqrtT, Vector256.Create(BlackScholes.MinTotalVolatility)) ||
            !Vector256.LessThanAll(Vector256.MaxNative(Vector256.Abs(d1), Vector256.Abs(d2)), Vector256.Create(NormalDistribution.CentralLimit)))
        {
            Compute4General(inputs, outputs, i);
            return;
        }

        Vector256<double> omega = Load(inputs.Omega, i);
        Vector256<double> r = Load(inputs.Rate, i);
        // All three exponentials in one interleaved call: discount e^(−rT), growth e^(bT) (carry =
        // discount·growth, and F/K = moneyness·growth gives φ(d2) = φ(d1)·F/K without a fourth), and
        // e^(−d1²/2) for φ(d1) (|d1| is central, so φ(d1) is a normal double).
        SimdMath.Exp(-r * t, b * t, d1 * d1 * -0.5, out Vector256<double> discount, out Vector256<double> growth, out Vector256<double> halfSquare);
        Vector256<double> carry = discount * growth;
        NormalDistribution.CdfCentralPair(omega * d1, omega * d2, moneyness * growth, halfSquare,
            out Vector256<double> nd1, out Vector256<double> pdf1, out Vector256<double> nd2);

        Vector256<double> spotTerm = s * carry * nd1;
        Vector256<double> strikeTerm = k * discount * nd2;
        Vector256<double> price = omega * (spotTerm - strikeTerm);
        Vector256<double> delta = omega * carry * nd1;
        Vector256<double> carryDensity = carry * pdf1;
        Vector256<double> gamma = carryDensity * invSigmaSqrtT / s;
        Vector256<double> vega = s * carryDensity * sqrtT;
        Vector256<double> theta = (-s * carryDensity * (volatility * volatility) * invSigmaSqrtT * 0.5) - (omega * (b - r) * spotTerm) - (omega * r * strikeTerm);
        Vector256<double> rho = Vector256.ConditionalSelect(
            Vector256.Equals(Load(inputs.SpotModel, i), Vector256<double>.Zero), -t * price, t * ((s * delta) - price));

        Store(price, outputs.Price, i);
        Store(delta, outputs.Delta, i);
        Store(gamma, outputs.Gamma, i);
        Store(vega, outputs.Vega, i);
        Store(theta, outputs.Theta, i);
        Store(rho, outputs.Rho, i);
    }

    // Any four options (expired lanes, the normal's tails, NaN): the blocks Compute4 does not take.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Compute4General(in OptionBatchInputs inputs, in OptionBatchOutputs outputs, int i)
    {
        Vector256<double> omega = Load(inputs.Omega, i);
        Vector256<double> s = Load(inputs.Underlying, i);
        Vector256<double> k = Load(inputs.Strike, i);
        Vector256<double> tRaw = Load(inputs.Time, i);
        Vector256<double> volatility = Load(inputs.Volatility, i);
        Vector256<double> r = Load(inputs.Rate, i);
        Vector256<double> b = Load(inputs.Carry, i);
        Vector256<double> spot = Load(inputs.SpotModel, i);

        // Expired lanes are valued with a benign T and replaced by the settled payoff at the end.
        Vector256<double> expired = Vector256.LessThanOrEqual(tRaw, Vector256<double>.Zero);
        Vector256<double> t = Vector256.ConditionalSelect(expired, Vector256<double>.One, tRaw);

        Vector256<double> sqrtT = Vector256.Sqrt(t);
        Vector256<double> sigmaSqrtT = Vector256.Max(volatility * sqrtT, Vector256.Create(BlackScholes.MinTotalVolatility));
        Vector256<double> sigma = sigmaSqrtT / sqrtT;
        Vector256<double> d1 = (SimdMath.Log(s / k) + ((b + (sigma * 0.5 * sigma)) * t)) / sigmaSqrtT;
        Vector256<double> d2 = d1 - sigmaSqrtT;
        Vector256<double> discount = SimdMath.Exp(-r * t);
        Vector256<double> carry = SimdMath.Exp((b - r) * t);
        Vector256<double> nd1 = NormalDistribution.Cdf(omega * d1, out Vector256<double> pdf1);
        Vector256<double> nd2 = NormalDistribution.Cdf(omega * d2, out _);

        Vector256<double> spotTerm = s * carry * nd1;
        Vector256<double> strikeTerm = k * discount * nd2;
        Vector256<double> price = omega * (spotTerm - strikeTerm);
        Vector256<double> delta = omega * carry * nd1;
        Vector256<double> gamma = carry * pdf1 / (s * sigmaSqrtT);
        Vector256<double> vega = s * carry * pdf1 * sqrtT;
        Vector256<double> theta = (-s * carry * pdf1 * sigma / (sqrtT * 2.0)) - (omega * (b - r) * spotTerm) - (omega * r * strikeTerm);
        Vector256<double> rho = Vector256.ConditionalSelect(
            Vector256.Equals(spot, Vector256<double>.Zero), -t * price, t * ((s * delta) - price));

        // Settled payoff for expired lanes.
        Vector256<double> intrinsic = omega * (s - k);
        Vector256<double> settledDelta = Vector256.ConditionalSelect(
            Vector256.GreaterThan(intrinsic, Vector256<double>.Zero), omega,
            Vector256.ConditionalSelect(Vector256.Equals(intrinsic, Vector256<double>.Zero), omega * 0.5, Vector256<double>.Zero));
        price = Vector256.ConditionalSelect(expired, Vector256.Max(intrinsic, Vector256<double>.Zero), price);
        delta = Vector256.ConditionalSelect(expired, settledDelta, delta);
        gamma = Vector256.AndNot(gamma, expired);
        vega = Vector256.AndNot(vega, expired);
        theta = Vector256.AndNot(theta, expired);
        rho = Vector256.AndNot(rho, expired);

        Store(price, outputs.Price, i);
        Store(delta, outputs.Delta, i);
        Store(gamma, outputs.Gamma, i);
        Store(vega, outputs.Vega, i);
        Store(theta, outputs.Theta, i);
        Store(rho, outputs.Rho, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Load512(ReadOnlySpan<double> span, int i) => Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(span), (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(Vector512<double> v, Span<double> span, int i) => v.StoreUnsafe(ref MemoryMarshal.GetReference(span), (nuint)i);

    // Eight options on AVX-512 (Zen 5 executes it at full width). The common block — no lane
    // expired or below the σ√T floor, every |d1| and |d2| under NormalDistribution.CentralLimit —
    // runs straight through the lean central normal CDF; any other block is sent whole to
    // Compute8General before anything is stored, so the rare cases cost this path two compares and
    // keep their code (and its register pressure) out of it. σ√T is not floored here (the check
    // guarantees the floor does not apply), so one reciprocal of it serves d1, gamma and theta.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Compute8(in OptionBatchInputs inputs, in OptionBatchOutputs outputs, int i)
    {
        Vector512<double> t = Load512(inputs.Time, i);
        Vector512<double> s = Load512(inputs.Underlying, i);
        Vector512<double> k = Load512(inputs.Strike, i);
        Vector512<double> volatility = Load512(inputs.Volatility, i);
        Vector512<double> b = Load512(inputs.Carry, i);
        Vector512<double> sqrtT = Vector512.Sqrt(t);
        Vector512<double> sigmaSqrtT = volatility * sqrtT;
        // One reciprocal serves d1, gamma and theta (σ/√T = σ²/(σ√T)).
        Vector512<double> invSigmaSqrtT = Vector512<double>.One / sigmaSqrtT;
        Vector512<double> moneyness = s / k;
        Vector512<double> d1 = (SimdMath.Log(moneyness) + ((b + (volatility * 0.5 * volatility)) * t)) * invSigmaSqrtT;
        Vector512<double> d2 = d1 - sigmaSqrtT;
        // σ√T at or above the reference's floor (so T > 0 and the floor does not apply; a NaN fails
        // too) and both arguments central (NaN fails that as well); anything else takes the general path.
        if (!Vector512.GreaterThanOrEqualAll(sigmaSqrtT, Vector512.Create(BlackScholes.MinTotalVolatility)) ||
            !Vector512.LessThanAll(Vector512.MaxNative(Vector512.Abs(d1), Vector512.Abs(d2)), Vector512.Create(NormalDistribution.CentralLimit)))
        {
            Compute8General(inputs, outputs, i);
            return;
        }

        Vector512<double> omega = Load512(inputs.Omega, i);
        Vector512<double> r = Load512(inputs.Rate, i);
        // All three exponentials in one interleaved call: discount e^(−rT), growth e^(bT) (carry =
        // discount·growth, and F/K = moneyness·growth gives φ(d2) = φ(d1)·F/K without a fourth), and
        // e^(−d1²/2) for φ(d1) (|d1| is central, so φ(d1) is a normal double).
        SimdMath.Exp(-r * t, b * t, d1 * d1 * -0.5, out Vector512<double> discount, out Vector512<double> growth, out Vector512<double> halfSquare);
        Vector512<double> carry = discount * growth;
        NormalDistribution.CdfCentralPair(omega * d1, omega * d2, moneyness * growth, halfSquare,
            out Vector512<double> nd1, out Vector512<double> pdf1, out Vector512<double> nd2);

        Vector512<double> spotTerm = s * carry * nd1;
        Vector512<double> strikeTerm = k * discount * nd2;
        Vector512<double> price = omega * (spotTerm - strikeTerm);
        Vector512<double> delta = omega * carry * nd1;
        Vector512<double> carryDensity = carry * pdf1;
        Vector512<double> gamma = carryDensity * invSigmaSqrtT / s;
        Vector512<double> vega = s * carryDensity * sqrtT;
        Vector512<double> theta = (-s * carryDensity * (volatility * volatility) * invSigmaSqrtT * 0.5) - (omega * (b - r) * spotTerm) - (omega * r * strikeTerm);
        Vector512<double> rho = Vector512.ConditionalSelect(
            Vector512.Equals(Load512(inputs.SpotModel, i), Vector512<double>.Zero), -t * price, t * ((s * delta) - price));

        Store512(price, outputs.Price, i);
        Store512(delta, outputs.Delta, i);
        Store512(gamma, outputs.Gamma, i);
        Store512(vega, outputs.Vega, i);
        Store512(theta, outputs.Theta, i);
        Store512(rho, outputs.Rho, i);
    }

    // The 512-bit twin of Compute4 for any inputs (expired lanes, the normal's tails, NaN): the blocks
    // Compute8 does not take. ISimdVector is internal in .NET 10, so each width is written out; the
    // tests hold both to the scalar reference (CI reruns the math tests with AVX-512 off to cover the 256-bit path).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Compute8General(in OptionBatchInputs inputs, in OptionBatchOutputs outputs, int i)
    {
        Vector512<double> omega = Load512(inputs.Omega, i);
        Vector512<double> s = Load512(inputs.Underlying, i);
        Vector512<double> k = Load512(inputs.Strike, i);
        Vector512<double> tRaw = Load512(inputs.Time, i);
        Vector512<double> volatility = Load512(inputs.Volatility, i);
        Vector512<double> r = Load512(inputs.Rate, i);
        Vector512<double> b = Load512(inputs.Carry, i);
        Vector512<double> spot = Load512(inputs.SpotModel, i);

        // Expired lanes are valued with a benign T and replaced by the settled payoff at the end.
        Vector512<double> expired = Vector512.LessThanOrEqual(tRaw, Vector512<double>.Zero);
        Vector512<double> t = Vector512.ConditionalSelect(expired, Vector512<double>.One, tRaw);

        Vector512<double> sqrtT = Vector512.Sqrt(t);
        Vector512<double> invSqrtT = Vector512<double>.One / sqrtT;
        Vector512<double> sigmaSqrtT = Vector512.Max(volatility * sqrtT, Vector512.Create(BlackScholes.MinTotalVolatility));
        Vector512<double> sigma = sigmaSqrtT * invSqrtT; // one reciprocal serves sigma and theta
        Vector512<double> moneyness = s / k;
        Vector512<double> d1 = (SimdMath.Log(moneyness) + ((b + (sigma * 0.5 * sigma)) * t)) / sigmaSqrtT;
        Vector512<double> d2 = d1 - sigmaSqrtT;
        Vector512<double> discount = SimdMath.Exp(-r * t);
        // Black-76 books (carry b = 0 everywhere, as the risk book values) share one exponential.
        bool noCarry = Vector512.EqualsAll(b, Vector512<double>.Zero);
        Vector512<double> carry = noCarry ? discount : SimdMath.Exp((b - r) * t);
        Vector512<double> nd1 = NormalDistribution.Cdf(omega * d1, out Vector512<double> pdf1);
        // φ(d2) = φ(d1)·F/K (F/K = moneyness·e^(bT)): no second exponential while φ(d1) is a
        // normal double, i.e. |d1| well inside the tail; beyond, φ(d2) is computed outright.
        Vector512<double> nd2 = Vector512.LessThanAll(Vector512.Abs(d1), Vector512.Create(30.0))
            ? NormalDistribution.Cdf(omega * d2, pdf1 * (noCarry ? moneyness : moneyness * carry / discount))
            : NormalDistribution.Cdf(omega * d2, out _);

        Vector512<double> spotTerm = s * carry * nd1;
        Vector512<double> strikeTerm = k * discount * nd2;
        Vector512<double> price = omega * (spotTerm - strikeTerm);
        Vector512<double> delta = omega * carry * nd1;
        Vector512<double> gamma = carry * pdf1 / (s * sigmaSqrtT);
        Vector512<double> vega = s * carry * pdf1 * sqrtT;
        Vector512<double> theta = (-s * carry * pdf1 * sigma * invSqrtT * 0.5) - (omega * (b - r) * spotTerm) - (omega * r * strikeTerm);
        Vector512<double> rho = Vector512.ConditionalSelect(
            Vector512.Equals(spot, Vector512<double>.Zero), -t * price, t * ((s * delta) - price));

        // Settled payoff for expired lanes (skipped when none is: the usual case).
        if (expired != Vector512<double>.Zero)
        {
            Vector512<double> intrinsic = omega * (s - k);
            Vector512<double> settledDelta = Vector512.ConditionalSelect(
                Vector512.GreaterThan(intrinsic, Vector512<double>.Zero), omega,
                Vector512.ConditionalSelect(Vector512.Equals(intrinsic, Vector512<double>.Zero), omega * 0.5, Vector512<double>.Zero));
            price = Vector512.ConditionalSelect(expired, Vector512.Max(intrinsic, Vector512<double>.Zero), price);
            delta = Vector512.ConditionalSelect(expired, settledDelta, delta);
            gamma = Vector512.AndNot(gamma, expired);
            vega = Vector512.AndNot(vega, expired);
            theta = Vector512.AndNot(theta, expired);
            rho = Vector512.AndNot(rho, expired);
        }

        Store512(price, outputs.Price, i);
        Store512(delta, outputs.Delta, i);
        Store512(gamma, outputs.Gamma, i);
        Store512(vega, outputs.Vega, i);
        Store512(theta, outputs.Theta, i);
        Store512(rho, outputs.Rho, i);
    }
}
