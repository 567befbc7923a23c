using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LowLatencyRisk.Core.Pricing;

/// <summary>
/// The standard normal density and cumulative distribution, accurate to about 6e-15 relative
/// everywhere the result is a normal double (|x| ≤ 37.5; beyond, the lower tail is 0 and the upper 1).
/// </summary>
/// <remarks>
/// Method (Marsaglia's Taylor expansion of the Mills ratio, 2004): for z = |x|,
/// Φ(−z) = φ(z)·R(z), with R the Mills ratio. R and its slope term z0·R(z0) − 1 are tabulated at
/// z0 = k/2 (computed offline with mpmath at 50 digits: tests/LowLatencyRisk.Core.Tests/Data/generate_reference.py),
/// and R(z0 + h), |h| ≤ 1/4, is summed from the Taylor recurrence
/// a(n) = (a(n−2) + z0·a(n−1)) / n in a fixed six pairs of terms (unrolled, fused multiply-adds), branch-free. z² inside φ is split exactly with a fused multiply-add
/// (the rounding of z² alone would cost 6e-14 relative at z = 33). Abramowitz–Stegun 26.2.17
/// (7.5e-8 absolute) would be too coarse for deep out-of-the-money scenario differences.
/// The vector versions run the same arithmetic where any lane is in the tail; where every |x| is below
/// <see cref="CentralLimit"/> (nearly always) they sum R as one rational function of degrees 9/10
/// (8.4e-16 relative): twenty fused multiply-adds and a division, no table lookup — on AVX2 the table
/// is a lane-by-lane gather, on AVX-512 a permute per coefficient, both slower.
/// </remarks>
public static class NormalDistribution
{
    /// <summary>Beyond this |x| the lower tail is below the smallest normal double and is returned as 0.</summary>
    public const double TailCutoff = 37.5;

    /// <summary>1/√(2π).</summary>
    public const double InvSqrt2Pi = 0.3989422804014327;

    // R(k/2), k = 0..80.
    private static readonly double[] s_millsRatio = [1.2533141373155003, 0.8763644564536923, 0.6556795424187984, 0.5158156382179634, 0.4213692292880545, 0.35426511132979366, 0.3045902987101033, 0.26656776896822376, 0.23665238291356067, 0.21257058044203178, 0.19280810471531576, 0.1763229857571027, 0.16237766089686745, 0.1504369887362691, 0.14010418345305023, 0.13107935580449176, 0.1231319632579323, 0.11608206338598229, 0.10978728257830829, 0.10413358157959825, 0.09902859647173193, 0.09439676005522439, 0.09017567550106469, 0.08631338487354935, 0.08276628650136918, 0.07949752916111721, 0.0764757610162485, 0.07367414554294563, 0.07106958053885211, 0.06864207314371742, 0.06637423582325018, 0.06425087695430573, 0.0622586659950262, 0.060385857906312325, 0.058622064980015945, 0.05695806685236581, 0.05538565147010074, 0.05389748129704106, 0.05248698021967636, 0.05114823751858488, 0.04987592598183679, 0.04866523179411518, 0.047511794276278115, 0.046411653900902836, 0.0453612072899931, 0.044357168126722774, 0.0433965330955127, 0.042476552112902514, 0.041594702232575505, 0.04074866470697912, 0.039936304769535594, 0.039155653768833176, 0.03840489334210213, 0.037682341361842536, 0.03698643942838582, 0.036315741713808115, 0.035668904990075766, 0.03504467969748535, 0.034441901929091245, 0.033859486223485676, 0.03329641907249721, 0.03275175306250282, 0.032224601578436665, 0.03171413400849854, 0.031219571395243034, 0.030740182485356538, 0.030275280136159863, 0.029824218041842893, 0.02938638774675435, 0.028961215916828355, 0.02854816184350927, 0.028146715157403385, 0.027756393731398026, 0.02737674175519304, 0.027007327965128336, 0.02664774401489855, 0.026297602974252963, 0.02595653794411066, 0.025624200777700307, 0.025300260898379886, 0.02498440420572057];

    // (k/2)·R(k/2) − 1, k = 0..80, computed in high precision (the subtraction would cancel in double).
    private static readonly double[] s_millsSlope = [-1.0, -0.5618177717731538, -0.34432045758120156, -0.22627654267305497, -0.15726154142389107, -0.11433722167551583, -0.08622910386969011, -0.06701280861121685, -0.053390468345757315, -0.04343238801085694, -0.03595947642342118, -0.030223578335935124, -0.02573403461879523, -0.022159573214250952, -0.01927071582864831, -0.016904831466311773, -0.01494429393654163, -0.013302461219150533, -0.011914456795225379, -0.010730974993816613, -0.009714035282680786, -0.008834019420143953, -0.008067569488288495, -0.007396073954182387, -0.006804561983569873, -0.006280885486034846, -0.005815106788769461, -0.005399035170233996, -0.005025872456070501, -0.0046899394160973655, -0.004386462651247396, -0.00411140720826126, -0.0038613440795808676, -0.0036333445458466354, -0.003424895339728954, -0.0032338300835983522, -0.0030582735381867797, -0.0028965960047403743, -0.0027473758261490795, -0.0026093683875948264, -0.002481480363264327, -0.002362748220638823, -0.0022523201981596267, -0.0021494411305890892, -0.002053439620151781, -0.0019637171487375425, -0.0018797388032078066, -0.0018010253467909533, -0.00172714641818787, -0.0016577146790116419, -0.0015923807616101868, -0.001530828894754034, -0.0014727731053446804, -0.0014179539111727581, -0.0013661354335828633, -0.001317102870276778, -0.0012706602778786219, -0.001226628621667537, -0.001184844056353878, -0.0011451564071724776, -0.0011074278250835985, -0.0010715315936640339, -0.00103735106846336, -0.0010047787322960688, -0.000973715352222882, -0.0009440692259124832, -0.0009157555067245822, -0.0008886955982630298, -0.0008628166103520857, -0.0008380508694217283, -0.0008143354771755884, -0.000791611912179782, -0.000769825669671082, -0.0007489259354540115, -0.0007288652902515656, -0.0007095994413043625, -0.0006910869783873536, -0.000673289151739627, -0.0006561696696879835, -0.0006396945139945106, -0.0006238317711771541];

    /// <summary>Below this |x| the vector Φ sums the Mills ratio as one rational function (no table lookup).</summary>
    public const double CentralLimit = 7.75;

    // R(z) ≈ P(z)/Q(z) for 0 ≤ z < CentralLimit, degrees 9 and 10, interpolating R at the 20
    // Chebyshev nodes of the interval (generate_reference.py --rational, 50-digit mpmath): 8.4e-16
    // relative evaluated in double. Every coefficient is positive, so Horner's rule is stable for z ≥ 0.
    private const double P0 = 1.2533141373155, P1 = 1.8563575545978406, P2 = 1.3681911804654288, P3 = 0.6411499453351991,
        P4 = 0.20812094996145153, P5 = 0.048279666384548066, P6 = 0.007995723247175115, P7 = 0.0009137614700464574,
        P8 = 6.578739935475249e-05, P9 = 2.300413820765212e-06;

    private const double Q1 = 2.279043592946207, Q2 = 2.410072315329199, Q3 = 1.5609628571507688, Q4 = 0.687626397560281,
        Q5 = 0.21598500983772606, Q6 = 0.04918883182028273, Q7 = 0.008061510447556545, Q8 = 0.0009160618898155689,
        Q9 = 6.578739924080563e-05, Q10 = 2.300413821814828e-06;

    /// <summary>φ(x) = exp(−x²/2)/√(2π).</summary>
    public static double Pdf(double x)
    {
        double hi = x * x;
        double lo = Math.FusedMultiplyAdd(x, x, -hi);
        double e = Math.Exp(-0.5 * hi);
        return (e - (e * 0.5 * lo)) * InvSqrt2Pi;
    }

    /// <summary>Φ(x), the standard normal cumulative distribution.</summary>
    public static double Cdf(double x) => Cdf(x, out _);

    /// <summary>Φ(x), and φ(x) as a by-product.</summary>
    public static double Cdf(double x, out double pdf)
    {
        double z = Math.Min(Math.Abs(x), TailCutoff);
        pdf = Pdf(z);
        double lower = pdf * MillsRatio(z);
        if (Math.Abs(x) > TailCutoff)
        {
            lower = 0;
            pdf = 0;
        }

        return x < 0 ? lower : 1.0 - lower;
    }

    private static double MillsRatio(double z)
    {
        int j = (int)Math.Round(z * 2);
        double z0 = j * 0.5;
        double h = z - z0;
        double h2 = h * h;
        double a = s_millsRatio[j];
        double b = s_millsSlope[j];
        double sum = Math.FusedMultiplyAdd(h, b, a);
        double power = 1.0;
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 2, 1.0 / 3);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 4, 1.0 / 5);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 6, 1.0 / 7);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 8, 1.0 / 9);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 10, 1.0 / 11);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 12, 1.0 / 13);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TaylorPair(ref double a, ref double b, ref double power, ref double sum, double z0, double h, double h2, double r0, double r1)
    {
        a = Math.FusedMultiplyAdd(z0, b, a) * r0;
        b = Math.FusedMultiplyAdd(z0, a, b) * r1;
        power *= h2;
        sum = Math.FusedMultiplyAdd(power, Math.FusedMultiplyAdd(h, b, a), sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TaylorPair(ref Vector256<double> a, ref Vector256<double> b, ref Vector256<double> power, ref Vector256<double> sum,
        Vector256<double> z0, Vector256<double> h, Vector256<double> h2, double r0, double r1)
    {
        a = Vector256.FusedMultiplyAdd(z0, b, a) * r0;
        b = Vector256.FusedMultiplyAdd(z0, a, b) * r1;
        power *= h2;
        sum = Vector256.FusedMultiplyAdd(power, Vector256.FusedMultiplyAdd(h, b, a), sum);
    }

    /// <summary>R(z) = P(z)/Q(z) for 0 ≤ z &lt; <see cref="CentralLimit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> MillsRatioRational(Vector256<double> z)
    {
        // Estrin's scheme (pairs, then z², z⁴, z⁸): a dependency depth of four fused multiply-adds
        // instead of ten, which matters because the kernels are bound by their long chains.
        Vector256<double> z2 = z * z;
        Vector256<double> z4 = z2 * z2;
        Vector256<double> z8 = z4 * z4;
        Vector256<double> p01 = Vector256.FusedMultiplyAdd(Vector256.Create(P1), z, Vector256.Create(P0));
        Vector256<double> p23 = Vector256.FusedMultiplyAdd(Vector256.Create(P3), z, Vector256.Create(P2));
        Vector256<double> p45 = Vector256.FusedMultiplyAdd(Vector256.Create(P5), z, Vector256.Create(P4));
        Vector256<double> p67 = Vector256.FusedMultiplyAdd(Vector256.Create(P7), z, Vector256.Create(P6));
        Vector256<double> p89 = Vector256.FusedMultiplyAdd(Vector256.Create(P9), z, Vector256.Create(P8));
        Vector256<double> q01 = Vector256.FusedMultiplyAdd(Vector256.Create(Q1), z, Vector256<double>.One);
        Vector256<double> q23 = Vector256.FusedMultiplyAdd(Vector256.Create(Q3), z, Vector256.Create(Q2));
        Vector256<double> q45 = Vector256.FusedMultiplyAdd(Vector256.Create(Q5), z, Vector256.Create(Q4));
        Vector256<double> q67 = Vector256.FusedMultiplyAdd(Vector256.Create(Q7), z, Vector256.Create(Q6));
        Vector256<double> q89 = Vector256.FusedMultiplyAdd(Vector256.Create(Q9), z, Vector256.Create(Q8));
        Vector256<double> p = Vector256.FusedMultiplyAdd(
            Vector256.FusedMultiplyAdd(p67, z2, p45), z4, Vector256.FusedMultiplyAdd(p23, z2, p01));
        Vector256<double> q = Vector256.FusedMultiplyAdd(
            Vector256.FusedMultiplyAdd(q67, z2, q45), z4, Vector256.FusedMultiplyAdd(q23, z2, q01));
        p = Vector256.FusedMultiplyAdd(p89, z8, p);
        q = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.Create(Q10), z2, q89), z8, q);
        return p / q;
    }

    /// <summary>R(z) = P(z)/Q(z) for 0 ≤ z &lt; <see cref="CentralLimit"/> (the 512-bit twin).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> MillsRatioRational(Vector512<double> z)
    {
        // Estrin's scheme (pairs, then z², z⁴, z⁸): a dependency depth of four fused multiply-adds
        // instead of ten, which matters because the kernels are bound by their long chains.
        Vector512<double> z2 = z * z;
        Vector512<double> z4 = z2 * z2;
        Vector512<double> z8 = z4 * z4;
        Vector512<double> p01 = Vector512.FusedMultiplyAdd(Vector512.Create(P1), z, Vector512.Create(P0));
        Vector512<double> p23 = Vector512.FusedMultiplyAdd(Vector512.Create(P3), z, Vector512.Create(P2));
        Vector512<double> p45 = Vector512.FusedMultiplyAdd(Vector512.Create(P5), z, Vector512.Create(P4));
        Vector512<double> p67 = Vector512.FusedMultiplyAdd(Vector512.Create(P7), z, Vector512.Create(P6));
        Vector512<double> p89 = Vector512.FusedMultiplyAdd(Vector512.Create(P9), z, Vector512.Create(P8));
        Vector512<double> q01 = Vector512.FusedMultiplyAdd(Vector512.Create(Q1), z, Vector512<double>.One);
        Vector512<double> q23 = Vector512.FusedMultiplyAdd(Vector512.Create(Q3), z, Vector512.Create(Q2));
        Vector512<double> q45 = Vector512.FusedMultiplyAdd(Vector512.Create(Q5), z, Vector512.Create(Q4));
        Vector512<double> q67 = Vector512.FusedMultiplyAdd(Vector512.Create(Q7), z, Vector512.Create(Q6));
        Vector512<double> q89 = Vector512.FusedMultiplyAdd(Vector512.Create(Q9), z, Vector512.Create(Q8));
        Vector512<double> p = Vector512.FusedMultiplyAdd(
            Vector512.FusedMultiplyAdd(p67, z2, p45), z4, Vector512.FusedMultiplyAdd(p23, z2, p01));
        Vector512<double> q = Vector512.FusedMultiplyAdd(
            Vector512.FusedMultiplyAdd(q67, z2, q45), z4, Vector512.FusedMultiplyAdd(q23, z2, q01));
        p = Vector512.FusedMultiplyAdd(p89, z8, p);
        q = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(Vector512.Create(Q10), z2, q89), z8, q);
        return p / q;
    }

    /// <summary>
    /// Vector Φ(x) with φ(x), any x (NaN lanes give NaN). Where every |x| &lt; <see cref="CentralLimit"/>
    /// (nearly always) the Mills ratio is the rational function; otherwise the table and Taylor
    /// recurrence of the scalar <see cref="Cdf(double, out double)"/>, lane by lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Cdf(Vector256<double> x, out Vector256<double> pdf)
    {
        Vector256<double> absX = Vector256.Abs(x);
        // NaN lanes take z = 0 so the table index stays in range; they return NaN at the end.
        Vector256<double> isNumber = Vector256.Equals(x, x);
        Vector256<double> z = Vector256.Min(absX & isNumber, Vector256.Create(TailCutoff));
        Vector256<double> sum = Vector256.LessThanAll(z, Vector256.Create(CentralLimit)) ? MillsRatioRational(z) : MillsRatioTable(z);
        Vector256<double> hi = z * z;
        Vector256<double> lo = Vector256.FusedMultiplyAdd(z, z, -hi);
        Vector256<double> e = SimdMath.Exp(hi * -0.5);
        Vector256<double> density = (e - (e * 0.5 * lo)) * InvSqrt2Pi;
        Vector256<double> lower = density * sum;
        Vector256<double> beyond = Vector256.GreaterThan(absX, Vector256.Create(TailCutoff));
        lower = Vector256.AndNot(lower, beyond);
        pdf = Vector256.AndNot(density, beyond);
        Vector256<double> negative = Vector256.LessThan(x, Vector256<double>.Zero);
        Vector256<double> result = Vector256.ConditionalSelect(negative, lower, Vector256<double>.One - lower);
        pdf = Vector256.ConditionalSelect(isNumber, pdf, x);
        return Vector256.ConditionalSelect(isNumber, result, x);
    }

    /// <summary>R(z), 0 ≤ z ≤ <see cref="TailCutoff"/>, from the table and the Taylor recurrence (the scalar method, four lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> MillsRatioTable(Vector256<double> z)
    {
        // Round 2z to the nearest integer with the 2^52 trick: the integer lands in the low
        // mantissa bits (exact for 0 ≤ 2z ≤ 75), ties go to even, either neighbour keeps |h| ≤ 1/4.
        Vector256<double> magic = Vector256.Create(4503599627370496.0);
        Vector256<double> rounded = (z * 2.0) + magic;
        Vector256<long> index = rounded.AsInt64() - magic.AsInt64();
        Vector256<double> z0 = (rounded - magic) * 0.5;
        Vector256<double> h = z - z0;

        ref double ratio = ref MemoryMarshal.GetArrayDataReference(s_millsRatio);
        ref double slope = ref MemoryMarshal.GetArrayDataReference(s_millsSlope);
        // A four-lane gather of the tables; z was clamped, so every index is within 0..75.
        nint j0 = (nint)index.GetElement(0);
        nint j1 = (nint)index.GetElement(1);
        nint j2 = (nint)index.GetElement(2);
        nint j3 = (nint)index.GetElement(3);
        Vector256<double> a = Vector256.Create(Unsafe.Add(ref ratio, j0), Unsafe.Add(ref ratio, j1), Unsafe.Add(ref ratio, j2), Unsafe.Add(ref ratio, j3));
        Vector256<double> b = Vector256.Create(Unsafe.Add(ref slope, j0), Unsafe.Add(ref slope, j1), Unsafe.Add(ref slope, j2), Unsafe.Add(ref slope, j3));

        Vector256<double> h2 = h * h;
        Vector256<double> power = Vector256<double>.One;
        Vector256<double> sum = Vector256.FusedMultiplyAdd(h, b, a);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 2, 1.0 / 3);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 4, 1.0 / 5);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 6, 1.0 / 7);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 8, 1.0 / 9);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 10, 1.0 / 11);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 12, 1.0 / 13);
        return sum;
    }

    /// <summary>
    /// Φ(x1), φ(x1) and Φ(x2) given φ(x2) = φ(x1)·<paramref name="densityRatio"/> — d1 and d2 of one
    /// option, whose densities differ by F/K — for lanes the caller has checked are all finite with
    /// |x| &lt; <see cref="CentralLimit"/> (the kernels check d1 and d2 once per block and send other
    /// blocks to their general path): no NaN masks, no tail clamp, no table. The exponential comes
    /// from the caller (<paramref name="expHalfSquare"/> = e^(−hi/2), hi = x1·x1 as rounded; the
    /// rounding error of hi is put back here), so that a kernel computes all its exponentials in one
    /// interleaved <see cref="SimdMath"/> call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CdfCentralPair(Vector256<double> x1, Vector256<double> x2, Vector256<double> densityRatio, Vector256<double> expHalfSquare,
        out Vector256<double> cdf1, out Vector256<double> pdf1, out Vector256<double> cdf2)
    {
        Vector256<double> z1 = Vector256.Abs(x1);
        Vector256<double> hi = z1 * z1;
        Vector256<double> lo = Vector256.FusedMultiplyAdd(z1, z1, -hi);
        pdf1 = (expHalfSquare - (expHalfSquare * 0.5 * lo)) * InvSqrt2Pi;
        Vector256<double> lower1 = pdf1 * MillsRatioRational(z1);
        Vector256<double> lower2 = pdf1 * densityRatio * MillsRatioRational(Vector256.Abs(x2));
        cdf1 = Vector256.ConditionalSelect(Vector256.LessThan(x1, Vector256<double>.Zero), lower1, Vector256<double>.One - lower1);
        cdf2 = Vector256.ConditionalSelect(Vector256.LessThan(x2, Vector256<double>.Zero), lower2, Vector256<double>.One - lower2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TaylorPair(ref Vector512<double> a, ref Vector512<double> b, ref Vector512<double> power, ref Vector512<double> sum,
        Vector512<double> z0, Vector512<double> h, Vector512<double> h2, double r0, double r1)
    {
        a = Vector512.FusedMultiplyAdd(z0, b, a) * r0;
        b = Vector512.FusedMultiplyAdd(z0, a, b) * r1;
        power *= h2;
        sum = Vector512.FusedMultiplyAdd(power, Vector512.FusedMultiplyAdd(h, b, a), sum);
    }

    /// <summary>The 512-bit twin of the 256-bit Φ(x) (eight lanes; same arithmetic). ISimdVector is internal in .NET 10, so each width is written out; the tests hold both to the reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Cdf(Vector512<double> x, out Vector512<double> pdf)
    {
        Vector512<double> sum = MillsRatio(x, out Vector512<double> z, out Vector512<double> absX, out Vector512<double> isNumber);
        Vector512<double> hi = z * z;
        Vector512<double> lo = Vector512.FusedMultiplyAdd(z, z, -hi);
        Vector512<double> e = SimdMath.Exp(hi * -0.5);
        Vector512<double> density = (e - (e * 0.5 * lo)) * InvSqrt2Pi;
        return Finish(x, absX, isNumber, density, sum, out pdf);
    }

    /// <summary>
    /// Φ(x) when φ(x) is already known (<paramref name="density"/>): for d2 given φ(d1), since
    /// φ(d2) = φ(d1)·F/K — one exponential fewer per option. The caller keeps φ(d1) a normal
    /// double (|d1| well inside the tail cutoff).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Cdf(Vector512<double> x, Vector512<double> density)
    {
        Vector512<double> sum = MillsRatio(x, out _, out Vector512<double> absX, out Vector512<double> isNumber);
        return Finish(x, absX, isNumber, density, sum, out _);
    }

    /// <summary>The 512-bit twin of <see cref="CdfCentralPair(Vector256{double}, Vector256{double}, Vector256{double}, Vector256{double}, out Vector256{double}, out Vector256{double}, out Vector256{double})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CdfCentralPair(Vector512<double> x1, Vector512<double> x2, Vector512<double> densityRatio, Vector512<double> expHalfSquare,
        out Vector512<double> cdf1, out Vector512<double> pdf1, out Vector512<double> cdf2)
    {
        Vector512<double> z1 = Vector512.Abs(x1);
        Vector512<double> hi = z1 * z1;
        Vector512<double> lo = Vector512.FusedMultiplyAdd(z1, z1, -hi);
        pdf1 = (expHalfSquare - (expHalfSquare * 0.5 * lo)) * InvSqrt2Pi;
        Vector512<double> lower1 = pdf1 * MillsRatioRational(z1);
        Vector512<double> lower2 = pdf1 * densityRatio * MillsRatioRational(Vector512.Abs(x2));
        cdf1 = Vector512.ConditionalSelect(Vector512.LessThan(x1, Vector512<double>.Zero), lower1, Vector512<double>.One - lower1);
        cdf2 = Vector512.ConditionalSelect(Vector512.LessThan(x2, Vector512<double>.Zero), lower2, Vector512<double>.One - lower2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Finish(Vector512<double> x, Vector512<double> absX, Vector512<double> isNumber, Vector512<double> density, Vector512<double> sum, out Vector512<double> pdf)
    {
        Vector512<double> lower = density * sum;
        Vector512<double> beyond = Vector512.GreaterThan(absX, Vector512.Create(TailCutoff));
        lower = Vector512.AndNot(lower, beyond);
        pdf = Vector512.AndNot(density, beyond);
        Vector512<double> negative = Vector512.LessThan(x, Vector512<double>.Zero);
        Vector512<double> result = Vector512.ConditionalSelect(negative, lower, Vector512<double>.One - lower);
        pdf = Vector512.ConditionalSelect(isNumber, pdf, x);
        return Vector512.ConditionalSelect(isNumber, result, x);
    }

    /// <summary>R(|x|), the Mills ratio, with |x| clamped to the cutoff (NaN lanes as 0): rational where every lane is central, else table and recurrence.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> MillsRatio(Vector512<double> x, out Vector512<double> z, out Vector512<double> absX, out Vector512<double> isNumber)
    {
        absX = Vector512.Abs(x);
        // NaN lanes take z = 0 so the table index stays in range; they return NaN at the end.
        isNumber = Vector512.Equals(x, x);
        z = Vector512.Min(absX & isNumber, Vector512.Create(TailCutoff));
        if (Vector512.LessThanAll(z, Vector512.Create(CentralLimit)))
        {
            return MillsRatioRational(z);
        }

        // Round 2z to the nearest integer with the 2^52 trick: the integer lands in the low
        // mantissa bits (exact for 0 ≤ 2z ≤ 75), ties go to even, either neighbour keeps |h| ≤ 1/4.
        Vector512<double> magic = Vector512.Create(4503599627370496.0);
        Vector512<double> rounded = (z * 2.0) + magic;
        Vector512<long> index = rounded.AsInt64() - magic.AsInt64();
        Vector512<double> z0 = (rounded - magic) * 0.5;
        Vector512<double> h = z - z0;

        // An eight-lane gather of the tables (z was clamped, so every index is within 0..75) and the recurrence.
        ref double ratio = ref MemoryMarshal.GetArrayDataReference(s_millsRatio);
        ref double slope = ref MemoryMarshal.GetArrayDataReference(s_millsSlope);
        Vector512<double> a = Vector512.Create(
            Unsafe.Add(ref ratio, (nint)index.GetElement(0)), Unsafe.Add(ref ratio, (nint)index.GetElement(1)), Unsafe.Add(ref ratio, (nint)index.GetElement(2)), Unsafe.Add(ref ratio, (nint)index.GetElement(3)),
            Unsafe.Add(ref ratio, (nint)index.GetElement(4)), Unsafe.Add(ref ratio, (nint)index.GetElement(5)), Unsafe.Add(ref ratio, (nint)index.GetElement(6)), Unsafe.Add(ref ratio, (nint)index.GetElement(7)));
        Vector512<double> b = Vector512.Create(
            Unsafe.Add(ref slope, (nint)index.GetElement(0)), Unsafe.Add(ref slope, (nint)index.GetElement(1)), Unsafe.Add(ref slope, (nint)index.GetElement(2)), Unsafe.Add(ref slope, (nint)index.GetElement(3)),
            Unsafe.Add(ref slope, (nint)index.GetElement(4)), Unsafe.Add(ref slope, (nint)index.GetElement(5)), Unsafe.Add(ref slope, (nint)index.GetElement(6)), Unsafe.Add(ref slope, (nint)index.GetElement(7)));
        Vector512<double> h2 = h * h;
        Vector512<double> power = Vector512<double>.One;
        Vector512<double> sum = Vector512.FusedMultiplyAdd(h, b, a);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 2, 1.0 / 3);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 4, 1.0 / 5);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 6, 1.0 / 7);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 8, 1.0 / 9);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 10, 1.0 / 11);
        TaylorPair(ref a, ref b, ref power, ref sum, z0, h, h2, 1.0 / 12, 1.0 / 13);
        return sum;
    }
}
