namespace LowLatencyRisk.Core.Pricing;

/// <summary>
/// The scalar reference: generalized Black-Scholes (Haug, "The Complete Guide to Option Pricing
/// Formulas", 2nd ed., ch. 1), written to be read. The SIMD kernel is tested against it.
/// </summary>
/// <remarks>
/// With ω = +1 for a call and −1 for a put, carry b, discount D = e^(−rT), carry factor
/// C = e^((b−r)T), d1 = (ln(S/K) + (b + σ²/2)T)/(σ√T), d2 = d1 − σ√T:
/// <code>
/// V     = ω·(S·C·N(ω·d1) − K·D·N(ω·d2))
/// Delta = ω·C·N(ω·d1)
/// Gamma = C·φ(d1)/(S·σ√T)
/// Vega  = S·C·φ(d1)·√T
/// Theta = −S·C·φ(d1)·σ/(2√T) − ω·(b−r)·S·C·N(ω·d1) − ω·r·K·D·N(ω·d2)        (per year, −∂V/∂T)
/// Rho   = T·(S·Delta − V) for the spot model (b = r − q moves with r), −T·V for Black-76
/// </code>
/// Edge cases, identical in the kernel: T ≤ 0 returns the settled payoff (intrinsic value; delta ω
/// in the money, ω/2 at the money, 0 out; other Greeks 0). σ√T is floored at <see cref="MinTotalVolatility"/>,
/// which gives the zero-volatility limit (discounted forward intrinsic) without dividing by zero.
/// Inputs must be finite with S, K, σ &gt; 0: validation belongs to the caller, which rejects bad marks.
/// </remarks>
public static class BlackScholes
{
    /// <summary>Floor of σ√T.</summary>
    public const double MinTotalVolatility = 1e-12;

    /// <summary>Price and Greeks of one option.</summary>
    public static Greeks Compute(in OptionInput o) =>
        Compute(o.Right == OptionRight.Call ? 1.0 : -1.0, o.Underlying, o.Strike, o.Time, o.Volatility, o.Rate, o.Carry, o.Model == PricingModel.Spot);

    /// <summary>The reference formulas on raw inputs: ω = +1 call / −1 put, carry b, and whether b moves with r (spot model).</summary>
    public static Greeks Compute(double omega, double s, double k, double t, double volatility, double r, double b, bool spotModel)
    {
        if (t <= 0)
        {
            double intrinsic = omega * (s - k);
            double delta = intrinsic > 0 ? omega : intrinsic == 0 ? 0.5 * omega : 0.0;
            return new Greeks(Math.Max(intrinsic, 0.0), delta, 0, 0, 0, 0);
        }

        double sqrtT = Math.Sqrt(t);
        double sigmaSqrtT = Math.Max(volatility * sqrtT, MinTotalVolatility);
        double sigma = sigmaSqrtT / sqrtT;
        double d1 = (Math.Log(s / k) + ((b + (0.5 * sigma * sigma)) * t)) / sigmaSqrtT;
        double d2 = d1 - sigmaSqrtT;
        double discount = Math.Exp(-r * t);
        double carry = Math.Exp((b - r) * t);
        double nd1 = NormalDistribution.Cdf(omega * d1, out double pdf1);
        double nd2 = NormalDistribution.Cdf(omega * d2);

        double spotTerm = s * carry * nd1;
        double strikeTerm = k * discount * nd2;
        double price = omega * (spotTerm - strikeTerm);
        double deltaValue = omega * carry * nd1;
        double gamma = carry * pdf1 / (s * sigmaSqrtT);
        double vega = s * carry * pdf1 * sqrtT;
        double theta = (-s * carry * pdf1 * sigma / (2.0 * sqrtT)) - (omega * (b - r) * spotTerm) - (omega * r * strikeTerm);
        double rho = spotModel ? t * ((s * deltaValue) - price) : -t * price;
        return new Greeks(price, deltaValue, gamma, vega, theta, rho);
    }

    /// <summary>Price only.</summary>
    public static double Price(in OptionInput o) => Compute(o).Price;
}
