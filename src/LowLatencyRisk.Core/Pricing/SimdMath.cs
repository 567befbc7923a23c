using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LowLatencyRisk.Core.Pricing;

/// <summary>
/// Exponential and natural logarithm of vectors of doubles, inlined into the pricing kernels.
/// </summary>
/// <remarks>
/// Why not <see cref="Vector512.Exp(Vector512{double})"/> and <see cref="Vector512.Log(Vector512{double})"/>:
/// in .NET 10 they are calls (the JIT does not inline the shared generic implementation), the
/// argument goes through memory and, because every vector register is caller-saved on x64, each
/// call spills the kernel's live vectors around it — the JIT listing of the Greeks kernel had five
/// such calls and over a hundred stack moves per eight options. These are inlined, branch-free on
/// the fast path, and accurate to about an ulp (the tests hold them within 2 ulps of
/// <see cref="Math.Exp(double)"/> and <see cref="Math.Log(double)"/> over the whole double range;
/// measured: exp 1, log 2). Where the hardware lacks the instructions they stay correct: the
/// 512-bit methods run as two 256-bit halves, the 256-bit ones in portable vector code.
///
/// exp: x = n·ln 2 + r, |r| ≤ ln 2 / 2 (n rounded with the 1.5·2^52 trick, ln 2 in two parts so n·ln2Hi
/// is exact), e^r = 1 + r + r²·q(r) with q of degree 9 interpolated at Chebyshev nodes
/// (tests/LowLatencyRisk.Core.Tests/Data/generate_simd_math.py, 80-digit mpmath: 1.6e-17 relative),
/// then scaled by 2^n (vscalefpd on AVX-512; two exact power-of-two factors on AVX2 so that
/// gradual underflow and overflow round once). x is clamped to [−746, 710] (beyond, the result is
/// 0 or ∞ anyway); NaN passes through.
///
/// log (AVX-512): x = 2^e·m with m ∈ [3/4, 3/2) from vgetexppd/vgetmantpd (subnormals, 0, ∞,
/// negatives and NaN come out right without a special path); m is centred on one of sixteen
/// points c_j (looked up with vpermt2pd; c = 1 exactly around 1, so log x near x = 1 keeps its
/// relative accuracy), r = m/c − 1 with one fused rounding, |r| ≤ 0.0325, and
/// log x = e·ln 2 − log(1/c) + r + r²·q(r), q of degree 7 (3.3e-17 relative).
/// log (AVX2): m ∈ [√2/2, √2) by integer arithmetic on the bits, s = (m − 1)/(m + 1),
/// log m = 2s + s·z·P(z), z = s², P of degree 6 (4.7e-18 relative); zero, negative, subnormal,
/// infinite and NaN lanes take a rarely taken fix-up branch.
/// </remarks>
public static class SimdMath
{
    private const double Shifter = 6755399441055744.0; // 1.5·2^52: adding it rounds to an integer held in the low mantissa bits
    private const double InvLn2 = 1.4426950408889634;
    private const double Ln2Hi = 0.6931471804855391; // ln 2 with the low 20 mantissa bits cleared: n·Ln2Hi is exact
    private const double Ln2Lo = 7.440617110012397e-11;
    private const double ExpLowest = -746.0; // e^x rounds to 0 below
    private const double ExpHighest = 710.0; // e^x overflows above
    private const double MinNormal = 2.2250738585072014E-308;

    // q(r) = (e^r − 1 − r)/r², lowest degree first.
    private const double E0 = 0.5000000000000001, E1 = 0.16666666666666669, E2 = 0.041666666666623824, E3 = 0.008333333333330039,
        E4 = 0.0013888888917367081, E5 = 0.00019841269863171557, E6 = 2.4801521057868204e-05, E7 = 2.7557268276905696e-06,
        E8 = 2.7620201591031547e-07, E9 = 2.5100472505694996e-08;

    // q(r) = (log(1 + r) − r)/r², lowest degree first.
    private const double L0 = -0.499999999999999, L1 = 0.3333333333333324, L2 = -0.2500000000295116, L3 = 0.20000000002682947,
        L4 = -0.16666652698744294, L5 = 0.14285701587293376, L6 = -0.12521150594685296, L7 = 0.11130339282710083;

    // P(z) = (2·atanh(√z)/√z − 2)/z, lowest degree first.
    private const double P0 = 0.666666666666667, P1 = 0.3999999999989889, P2 = 0.28571428626253836, P3 = 0.22222211089379496,
        P4 = 0.1818289243253687, P5 = 0.15331611722055008, P6 = 0.14617807153417325;

    // 1/c_j and −log(1/c_j) for the sixteen centres, as two-register halves for vpermt2pd.
    private static readonly Vector512<double> s_invCLow = Vector512.Create(1.292929292929293, 1.2190476190476192, 1.1531531531531531, 1.0940170940170941, 1.0406504065040652, 1.0, 0.9481481481481482, 0.9078014184397163);
    private static readonly Vector512<double> s_invCHigh = Vector512.Create(0.8707482993197279, 0.8366013071895425, 0.8050314465408805, 0.7757575757575758, 0.7485380116959064, 0.7231638418079096, 0.6994535519125683, 0.6772486772486772);
    private static readonly Vector512<double> s_logCLow = Vector512.Create(-0.2569104137850273, -0.19806991376209387, -0.142500062607283, -0.08985632912186114, -0.03984590854719978, 0.0, 0.05324451451881224, 0.09672962645855114);
    private static readonly Vector512<double> s_logCHigh = Vector512.Create(0.1384023228591192, 0.17840765747281825, 0.2168739383006143, 0.25391520998096345, 0.2896332925830427, 0.324119468654212, 0.3574558889218038, 0.38971675114002524);

    /// <summary>e^x per lane (the inlined method where <see cref="Avx512F.IsSupported"/>, implied by <see cref="Vector512.IsHardwareAccelerated"/>; elsewhere two halves of the portable 256-bit method).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Exp(Vector512<double> x)
    {
        if (!Avx512F.IsSupported)
        {
            return Vector512.Create(Exp(x.GetLower()), Exp(x.GetUpper())); // two halves of the portable 256-bit method (the kernels never take this path)
        }

        x = ClampExpArgument(x);
        Vector512<double> n = Vector512.FusedMultiplyAdd(x, Vector512.Create(InvLn2), Vector512.Create(Shifter)) - Vector512.Create(Shifter);
        Vector512<double> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        Vector512<double> q = Vector512.FusedMultiplyAdd(Vector512.Create(E9), r, Vector512.Create(E8));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(E7));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(E6));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(E5));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(E4));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(E3));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(E2));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(E1));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(E0));
        Vector512<double> expm1 = Vector512.FusedMultiplyAdd(r * r, q, r);
        return Avx512F.Scale(expm1 + Vector512<double>.One, n);
    }

    /// <summary>e^x per lane (portable; hardware-accelerated where <see cref="Vector256.IsHardwareAccelerated"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Exp(Vector256<double> x)
    {
        x = ClampExpArgument(x);
        Vector256<double> n = Vector256.FusedMultiplyAdd(x, Vector256.Create(InvLn2), Vector256.Create(Shifter)) - Vector256.Create(Shifter);
        Vector256<double> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        Vector256<double> q = Vector256.FusedMultiplyAdd(Vector256.Create(E9), r, Vector256.Create(E8));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(E7));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(E6));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(E5));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(E4));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(E3));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(E2));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(E1));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(E0));
        return ScaleByPowerOfTwo(Vector256.FusedMultiplyAdd(r * r, q, r) + Vector256<double>.One, n);
    }

    /// <summary>x clamped to [−746, 710]; NaN passes through (vmaxpd/vminpd return their second operand when either is NaN, so the constant goes first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> ClampExpArgument(Vector512<double> x) =>
        Avx512F.Min(Vector512.Create(ExpHighest), Avx512F.Max(Vector512.Create(ExpLowest), x));

    /// <summary>x clamped to [−746, 710]; NaN passes through.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> ClampExpArgument(Vector256<double> x) => Avx.IsSupported
        ? Avx.Min(Vector256.Create(ExpHighest), Avx.Max(Vector256.Create(ExpLowest), x)) // vmaxpd/vminpd: the constant first, so NaN passes through
        : Vector256.Min(Vector256.Create(ExpHighest), Vector256.Max(Vector256.Create(ExpLowest), x)); // IEEE 754:2019 min/max propagate NaN

    /// <summary>p·2^n for an integer-valued n ∈ [−1076, 1024] (AVX2 has no vscalefpd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> ScaleByPowerOfTwo(Vector256<double> p, Vector256<double> n)
    {
        // 2^n as two factors 2^n1·2^n2 (each in [−538, 512], a normal double), built from the
        // exponent bits: the first product is exact, the second rounds once (also into subnormals).
        Vector256<double> n1 = ((n * 0.5) + Vector256.Create(Shifter)) - Vector256.Create(Shifter);
        Vector256<double> n2 = n - n1;
        Vector256<double> biased = Vector256.Create(Shifter + 1023.0);
        Vector256<double> scale1 = Vector256.ShiftLeft((n1 + biased).AsUInt64(), 52).AsDouble();
        Vector256<double> scale2 = Vector256.ShiftLeft((n2 + biased).AsUInt64(), 52).AsDouble();
        return p * scale1 * scale2;
    }

    /// <summary>
    /// e^x of three vectors at once (512 bits): the same arithmetic as <see cref="Exp(Vector512{double})"/>,
    /// interleaved coefficient by coefficient. A kernel that needs several exponentials calls this once,
    /// so each polynomial constant is live for three instructions; separate call sites make the JIT hoist
    /// the constants into registers for the whole method and spill them (16 registers on AVX2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exp(Vector512<double> x1, Vector512<double> x2, Vector512<double> x3, out Vector512<double> e1, out Vector512<double> e2, out Vector512<double> e3)
    {
        if (!Avx512F.IsSupported)
        {
            e1 = Exp(x1);
            e2 = Exp(x2);
            e3 = Exp(x3);
            return;
        }

        x1 = ClampExpArgument(x1);
        x2 = ClampExpArgument(x2);
        x3 = ClampExpArgument(x3);
        Vector512<double> n1 = Vector512.FusedMultiplyAdd(x1, Vector512.Create(InvLn2), Vector512.Create(Shifter)) - Vector512.Create(Shifter);
        Vector512<double> n2 = Vector512.FusedMultiplyAdd(x2, Vector512.Create(InvLn2), Vector512.Create(Shifter)) - Vector512.Create(Shifter);
        Vector512<double> n3 = Vector512.FusedMultiplyAdd(x3, Vector512.Create(InvLn2), Vector512.Create(Shifter)) - Vector512.Create(Shifter);
        Vector512<double> r1 = Vector512.FusedMultiplyAdd(n1, Vector512.Create(-Ln2Lo), Vector512.FusedMultiplyAdd(n1, Vector512.Create(-Ln2Hi), x1));
        Vector512<double> r2 = Vector512.FusedMultiplyAdd(n2, Vector512.Create(-Ln2Lo), Vector512.FusedMultiplyAdd(n2, Vector512.Create(-Ln2Hi), x2));
        Vector512<double> r3 = Vector512.FusedMultiplyAdd(n3, Vector512.Create(-Ln2Lo), Vector512.FusedMultiplyAdd(n3, Vector512.Create(-Ln2Hi), x3));
        Vector512<double> q1 = Vector512.Create(E9), q2 = q1, q3 = q1;
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E8);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E7);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E6);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E5);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E4);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E3);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E2);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E1);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E0);
        e1 = Avx512F.Scale(Vector512.FusedMultiplyAdd(r1 * r1, q1, r1) + Vector512<double>.One, n1);
        e2 = Avx512F.Scale(Vector512.FusedMultiplyAdd(r2 * r2, q2, r2) + Vector512<double>.One, n2);
        e3 = Avx512F.Scale(Vector512.FusedMultiplyAdd(r3 * r3, q3, r3) + Vector512<double>.One, n3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HornerStep(ref Vector512<double> q1, ref Vector512<double> q2, ref Vector512<double> q3, Vector512<double> r1, Vector512<double> r2, Vector512<double> r3, double coefficient)
    {
        Vector512<double> c = Vector512.Create(coefficient);
        q1 = Vector512.FusedMultiplyAdd(q1, r1, c);
        q2 = Vector512.FusedMultiplyAdd(q2, r2, c);
        q3 = Vector512.FusedMultiplyAdd(q3, r3, c);
    }

    /// <summary>
    /// e^x of three vectors at once (256 bits): the same arithmetic as <see cref="Exp(Vector256{double})"/>,
    /// interleaved coefficient by coefficient. A kernel that needs several exponentials calls this once,
    /// so each polynomial constant is live for three instructions; separate call sites make the JIT hoist
    /// the constants into registers for the whole method and spill them (16 registers on AVX2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exp(Vector256<double> x1, Vector256<double> x2, Vector256<double> x3, out Vector256<double> e1, out Vector256<double> e2, out Vector256<double> e3)
    {
        x1 = ClampExpArgument(x1);
        x2 = ClampExpArgument(x2);
        x3 = ClampExpArgument(x3);
        Vector256<double> n1 = Vector256.FusedMultiplyAdd(x1, Vector256.Create(InvLn2), Vector256.Create(Shifter)) - Vector256.Create(Shifter);
        Vector256<double> n2 = Vector256.FusedMultiplyAdd(x2, Vector256.Create(InvLn2), Vector256.Create(Shifter)) - Vector256.Create(Shifter);
        Vector256<double> n3 = Vector256.FusedMultiplyAdd(x3, Vector256.Create(InvLn2), Vector256.Create(Shifter)) - Vector256.Create(Shifter);
        Vector256<double> r1 = Vector256.FusedMultiplyAdd(n1, Vector256.Create(-Ln2Lo), Vector256.FusedMultiplyAdd(n1, Vector256.Create(-Ln2Hi), x1));
        Vector256<double> r2 = Vector256.FusedMultiplyAdd(n2, Vector256.Create(-Ln2Lo), Vector256.FusedMultiplyAdd(n2, Vector256.Create(-Ln2Hi), x2));
        Vector256<double> r3 = Vector256.FusedMultiplyAdd(n3, Vector256.Create(-Ln2Lo), Vector256.FusedMultiplyAdd(n3, Vector256.Create(-Ln2Hi), x3));
        Vector256<double> q1 = Vector256.Create(E9), q2 = q1, q3 = q1;
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E8);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E7);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E6);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E5);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E4);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E3);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E2);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E1);
        HornerStep(ref q1, ref q2, ref q3, r1, r2, r3, E0);
        e1 = ScaleByPowerOfTwo(Vector256.FusedMultiplyAdd(r1 * r1, q1, r1) + Vector256<double>.One, n1);
        e2 = ScaleByPowerOfTwo(Vector256.FusedMultiplyAdd(r2 * r2, q2, r2) + Vector256<double>.One, n2);
        e3 = ScaleByPowerOfTwo(Vector256.FusedMultiplyAdd(r3 * r3, q3, r3) + Vector256<double>.One, n3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HornerStep(ref Vector256<double> q1, ref Vector256<double> q2, ref Vector256<double> q3, Vector256<double> r1, Vector256<double> r2, Vector256<double> r3, double coefficient)
    {
        Vector256<double> c = Vector256.Create(coefficient);
        q1 = Vector256.FusedMultiplyAdd(q1, r1, c);
        q2 = Vector256.FusedMultiplyAdd(q2, r2, c);
        q3 = Vector256.FusedMultiplyAdd(q3, r3, c);
    }

    /// <summary>Natural logarithm per lane (the inlined method where <see cref="Avx512DQ.IsSupported"/>, implied by <see cref="Vector512.IsHardwareAccelerated"/>; elsewhere two halves of the portable 256-bit method).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Log(Vector512<double> x)
    {
        if (!Avx512DQ.IsSupported)
        {
            return Vector512.Create(Log(x.GetLower()), Log(x.GetUpper())); // two halves of the portable 256-bit method (the kernels never take this path)
        }

        // m ∈ [3/4, 3/2) (control 0b10_11: that interval, NaN for a negative sign); getexp gives
        // floor(log2 x), which is one too low where m < 1.
        Vector512<double> m = Avx512F.GetMantissa(x, 0b1011);
        Vector512<double> e = Avx512F.GetExponent(x);
        e += Vector512.LessThan(m, Vector512<double>.One) & Vector512<double>.One;
        // Centre index j = ⌊m·64/3 − 16⌋ ∈ 0..15 (64/3 rounds down, so m < 3/2 stays below 16; the permute reads the low four bits).
        Vector512<long> j = Avx512DQ.ConvertToVector512Int64WithTruncation(Vector512.FusedMultiplyAdd(m, Vector512.Create(64.0 / 3.0), Vector512.Create(-16.0)));
        Vector512<double> invC = Avx512F.PermuteVar8x64x2(s_invCLow, j, s_invCHigh);
        Vector512<double> logC = Avx512F.PermuteVar8x64x2(s_logCLow, j, s_logCHigh);
        Vector512<double> r = Vector512.FusedMultiplyAdd(m, invC, Vector512.Create(-1.0));
        Vector512<double> q = Vector512.FusedMultiplyAdd(Vector512.Create(L7), r, Vector512.Create(L6));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(L5));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(L4));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(L3));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(L2));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(L1));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(L0));
        Vector512<double> small = Vector512.FusedMultiplyAdd(r * r, q, Vector512.FusedMultiplyAdd(e, Vector512.Create(Ln2Lo), r));
        return Vector512.FusedMultiplyAdd(e, Vector512.Create(Ln2Hi), logC) + small;
    }

    /// <summary>Natural logarithm per lane (portable; hardware-accelerated where <see cref="Vector256.IsHardwareAccelerated"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Log(Vector256<double> x)
    {
        bool ordinary = Vector256.GreaterThanOrEqualAll(x, Vector256.Create(MinNormal)) &&
            Vector256.LessThanAll(x, Vector256.Create(double.PositiveInfinity));
        Vector256<double> scaled = x;
        Vector256<double> adjust = Vector256<double>.Zero;
        if (!ordinary)
        {
            // Subnormals are scaled into the normal range first (and the exponent corrected); the
            // specials are replaced at the end.
            Vector256<double> subnormal = Vector256.LessThan(x, Vector256.Create(MinNormal)) &
                Vector256.GreaterThan(x, Vector256<double>.Zero);
            scaled = Vector256.ConditionalSelect(subnormal, x * 18014398509481984.0, x); // 2^54
            adjust = subnormal & Vector256.Create(54.0);
        }

        // x = 2^k·m with m ∈ [√2/2, √2): subtract the bits of √2/2, the top twelve bits are k (signed).
        Vector256<ulong> bits = scaled.AsUInt64();
        Vector256<ulong> offset = bits - Vector256.Create(0x3FE6A09E667F3BCDUL);
        Vector256<double> m = (bits - (offset & Vector256.Create(0xFFF0000000000000UL))).AsDouble();
        // k as a double: sign-extend the 12-bit field by the xor/bias trick inside the 1.5·2^52 shifter.
        Vector256<ulong> field = Vector256.ShiftRightLogical(offset, 52) ^ Vector256.Create(0x800UL);
        Vector256<double> k = (field | Vector256.Create(Shifter).AsUInt64()).AsDouble() - Vector256.Create(Shifter + 2048.0) - adjust;
        Vector256<double> f = m - Vector256<double>.One;
        Vector256<double> s = f / (m + Vector256<double>.One);
        Vector256<double> z = s * s;
        Vector256<double> p = Vector256.FusedMultiplyAdd(Vector256.Create(P6), z, Vector256.Create(P5));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(P0));
        Vector256<double> logM = Vector256.FusedMultiplyAdd(s * z, p, s + s);
        Vector256<double> result = Vector256.FusedMultiplyAdd(k, Vector256.Create(Ln2Hi), Vector256.FusedMultiplyAdd(k, Vector256.Create(Ln2Lo), logM));
        if (!ordinary)
        {
            result = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256<double>.Zero), Vector256.Create(double.NegativeInfinity), result);
            result = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256.Create(double.PositiveInfinity)), x, result);
            result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<double>.Zero) | ~Vector256.Equals(x, x), Vector256.Create(double.NaN), result);
        }

        return result;
    }
}
