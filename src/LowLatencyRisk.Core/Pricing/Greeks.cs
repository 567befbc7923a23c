namespace LowLatencyRisk.Core.Pricing;

/// <summary>Call or put.</summary>
public enum OptionRight : byte
{
    /// <summary>Right to buy.</summary>
    Call = 0,
    /// <summary>Right to sell.</summary>
    Put = 1,
}

/// <summary>How the underlying carries: the generalized Black-Scholes cost of carry b (Haug).</summary>
public enum PricingModel : byte
{
    /// <summary>Black-Scholes-Merton on a spot price with a continuous yield q: b = r − q. Rho moves b with r.</summary>
    Spot = 0,
    /// <summary>Black-76 on a futures or perpetual price: b = 0. Rho is −T·V.</summary>
    Forward = 1,
}

/// <summary>Price and sensitivities of one option, per unit of underlying.</summary>
/// <remarks>Theta and rho per year (Hull's convention); <see cref="ThetaPerDay"/> divides by 365 calendar days. Vega per 1.00 of volatility.</remarks>
public readonly record struct Greeks(double Price, double Delta, double Gamma, double Vega, double Theta, double Rho)
{
    /// <summary>Calendar days per year used by <see cref="ThetaPerDay"/>.</summary>
    public const double DaysPerYear = 365.0;

    /// <summary>Theta per calendar day.</summary>
    public double ThetaPerDay => Theta / DaysPerYear;
}

/// <summary>The inputs of one option valuation.</summary>
/// <param name="Right">Call or put.</param>
/// <param name="Model">Spot (carry r − q) or forward (carry 0).</param>
/// <param name="Underlying">Spot price S, or forward/futures price F.</param>
/// <param name="Strike">Strike K.</param>
/// <param name="Time">Years to expiry T; ≤ 0 means expired (settled payoff).</param>
/// <param name="Volatility">Implied volatility σ (annualised, 0.2 = 20 %).</param>
/// <param name="Rate">Continuously compounded rate r.</param>
/// <param name="Yield">Continuous dividend or foreign yield q (spot model only).</param>
public readonly record struct OptionInput(OptionRight Right, PricingModel Model, double Underlying, double Strike, double Time, double Volatility, double Rate, double Yield = 0)
{
    /// <summary>Cost of carry b.</summary>
    public double Carry => Model == PricingModel.Spot ? Rate - Yield : 0.0;
}
