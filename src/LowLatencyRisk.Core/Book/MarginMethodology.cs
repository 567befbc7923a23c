namespace LowLatencyRisk.Core.Book;

/// <summary>
/// The margin methodology: the one place the margin formula lives. The book keeps the inputs —
/// per account × underlying the risk array (hence the scan risk), the short option exposure and the
/// index — and asks the methodology what they require; the from-scratch verifier recomputes the same
/// inputs independently and asks the same methodology.
/// </summary>
/// <remarks>
/// Implemented by a struct and given to the book as a generic argument
/// (<see cref="RiskBook{TMargin}"/>): the JIT compiles the book once per methodology, so each call
/// is a direct call it can inline (the Disruptor-net pattern for handlers and wait strategies), not
/// an interface dispatch on the fill path. The account's requirement is
/// <see cref="AccountInitial"/> of the sum of its <see cref="UnderlyingRequirement"/>s: the book
/// keeps that sum incrementally (a fill or a tick changes one term), so a methodology whose account
/// level is not a plain sum (offsets, add-ons) applies them in <see cref="AccountInitial"/>.
/// </remarks>
public interface IMarginMethodology
{
    /// <summary>
    /// The requirement of one account × underlying aggregate: its scan risk (the worst weighted
    /// scenario loss, floored at 0), its short option exposure (contracts × multiplier) and the
    /// underlying's index. 0 when nothing is held.
    /// </summary>
    double UnderlyingRequirement(double scanRisk, double shortOptionUnits, double index);

    /// <summary>The short-option minimum part alone (reported per underlying).</summary>
    double ShortOptionMinimum(double shortOptionUnits, double index);

    /// <summary>Initial margin of an account from the sum of its underlyings' requirements.</summary>
    double AccountInitial(double sumOfUnderlyingRequirements);

    /// <summary>Maintenance margin from initial margin.</summary>
    double Maintenance(double initial);
}

/// <summary>
/// SPAN-style portfolio margin: per underlying max(scan risk, short option minimum), summed over
/// underlyings; maintenance a fraction of initial (0.8 ⇔ IM = 1.25 × MM).
/// </summary>
public readonly struct ScanRiskMargin(double shortOptionMinimumFraction, double maintenanceFraction) : IMarginMethodology
{
    /// <summary>The methodology the configuration describes.</summary>
    public ScanRiskMargin(RiskConfig config)
        : this(config?.ShortOptionMinimumFraction ?? throw new ArgumentNullException(nameof(config)), config.MaintenanceFraction)
    {
    }

    /// <inheritdoc/>
    public double UnderlyingRequirement(double scanRisk, double shortOptionUnits, double index) =>
        Math.Max(scanRisk, ShortOptionMinimum(shortOptionUnits, index));

    /// <inheritdoc/>
    public double ShortOptionMinimum(double shortOptionUnits, double index) => shortOptionUnits * index * shortOptionMinimumFraction;

    /// <inheritdoc/>
    public double AccountInitial(double sumOfUnderlyingRequirements) => sumOfUnderlyingRequirements;

    /// <inheritdoc/>
    public double Maintenance(double initial) => initial * maintenanceFraction;
}
