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
/// level is not a plain sum applies it in <see cref="AccountInitial"/>; the SPAN-style spread charges,
/// credits and add-ons are <see cref="Components"/>, whose inputs the book keeps per aggregate.
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

    /// <summary>
    /// The requirement of one position on its own, without offsets: what standard (cross) and
    /// isolated accounts are charged per position (<see cref="MarginMode"/>). Portfolio accounts never ask.
    /// </summary>
    Requirement Position(in PositionTerms position);

    /// <summary>
    /// The portfolio requirement's parts beyond the scan risk (calendar spread charges, inter-commodity
    /// credits, size add-ons), or null for none: then a portfolio account's requirement is exactly
    /// <see cref="AccountInitial"/> of the sum of <see cref="UnderlyingRequirement"/>s, on a path that
    /// keeps no component state.
    /// </summary>
    PortfolioComponents? Components { get; }
}

/// <summary>How an account is margined.</summary>
public enum MarginMode : byte
{
    /// <summary>Scenario-based netting across the account's positions (<see cref="IMarginMethodology.UnderlyingRequirement"/>, summed by <see cref="IMarginMethodology.AccountInitial"/>).</summary>
    Portfolio = 0,
    /// <summary>Standard cross margin: Σ per-position requirements (<see cref="IMarginMethodology.Position"/>), no offsets, all collateral shared.</summary>
    Standard = 1,
    /// <summary>
    /// An isolated position: a sub-account bound to one instrument and a parent account, with its own
    /// collateral (moved to and from the parent by transfer), equity, margin (per-position, as standard)
    /// and ladder; its liquidation touches nothing else.
    /// </summary>
    Isolated = 2,
}

/// <summary>One position as the per-position rule sees it.</summary>
/// <param name="Kind">Instrument kind.</param>
/// <param name="Quantity">Signed contracts.</param>
/// <param name="Mark">Mark price per unit (futures: the forward; options: the model value).</param>
/// <param name="Multiplier">Contract multiplier.</param>
/// <param name="Index">The underlying's index.</param>
/// <param name="Strike">Strike (options).</param>
public readonly record struct PositionTerms(InstrumentKind Kind, double Quantity, double Mark, double Multiplier, double Index, double Strike);

/// <summary>An initial and a maintenance requirement.</summary>
public readonly record struct Requirement(double Initial, double Maintenance);

/// <summary>
/// SPAN-style portfolio margin: per underlying max(scan risk, short option minimum), summed over
/// underlyings; maintenance a fraction of initial (0.8 ⇔ IM = 1.25 × MM).
/// </summary>
/// <remarks>Standard and isolated accounts of the same book are charged by <see cref="StandardMargin"/> per position.</remarks>
public readonly struct ScanRiskMargin(double shortOptionMinimumFraction, double maintenanceFraction, StandardMargin standard, PortfolioComponents? components = null) : IMarginMethodology
{
    /// <summary>Portfolio parameters with the default standard-margin rule.</summary>
    public ScanRiskMargin(double shortOptionMinimumFraction, double maintenanceFraction)
        : this(shortOptionMinimumFraction, maintenanceFraction, new StandardMargin(StandardMarginConfig.Default))
    {
    }

    /// <summary>The methodology the configuration describes.</summary>
    public ScanRiskMargin(RiskConfig config)
        : this(
            config?.ShortOptionMinimumFraction ?? throw new ArgumentNullException(nameof(config)),
            config.MaintenanceFraction,
            new StandardMargin(config.StandardMargin),
            config.Components.IsEmpty ? null : new PortfolioComponents(config.Components, config.MaxUnderlyings))
    {
    }

    /// <inheritdoc/>
    public PortfolioComponents? Components => components;

    /// <inheritdoc/>
    public Requirement Position(in PositionTerms position) => standard.Of(position);

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

/// <summary>
/// Standard (non-portfolio) margin of one position, as crypto venues charge it: futures, perpetuals
/// and spot a fraction of notional that grows with the position's size (tiers); short options
/// max(a − OTM / index, b) × index + mark for initial and c × index + mark for maintenance, per unit;
/// long options their premium (the mark: equity here does not debit the premium paid, so the whole
/// value at risk is charged).
/// </summary>
/// <remarks>
/// The tiers are marginal bands, like income-tax brackets: the notional inside each band is charged
/// at that band's rate, so the requirement is continuous and never falls when a position grows.
/// That is the same number as the venues' "whole notional at the bracket's rate less a maintenance
/// amount" form (the amount being what keeps it continuous). Beyond the last band its rates apply.
/// Allocates nothing; a readonly struct so a methodology can hold it by value.
/// </remarks>
public readonly struct StandardMargin
{
    private readonly double[] _upTo;
    private readonly double[] _initial;
    private readonly double[] _maintenance;
    private readonly double _optionBase;
    private readonly double _optionFloor;
    private readonly double _optionMaintenance;

    /// <summary>The rule <paramref name="config"/> describes (validated).</summary>
    public StandardMargin(StandardMarginConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _upTo = [.. config.Tiers.Select(t => t.UpToNotional)];
        _initial = [.. config.Tiers.Select(t => t.Initial)];
        _maintenance = [.. config.Tiers.Select(t => t.Maintenance)];
        _optionBase = config.OptionInitialBase;
        _optionFloor = config.OptionInitialFloor;
        _optionMaintenance = config.OptionMaintenance;
    }

    /// <summary>The requirement of one position (0 for a flat one).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public Requirement Of(in PositionTerms p)
    {
        double contracts = Math.Abs(p.Quantity) * p.Multiplier;
        switch (p.Kind)
        {
            case InstrumentKind.Call:
            case InstrumentKind.Put:
                if (p.Quantity >= 0)
                {
                    double premium = contracts * p.Mark;
                    return new Requirement(premium, premium);
                }

                // Before the underlying's first index (0) there is no moneyness to credit: the
                // division would be 0 / 0, and a NaN margin would read as liquidation.
                double otm = p.Kind == InstrumentKind.Call ? Math.Max(p.Strike - p.Index, 0) : Math.Max(p.Index - p.Strike, 0);
                double initialRate = Math.Max(_optionBase - (p.Index > 0 ? otm / p.Index : 0), _optionFloor);
                return new Requirement(contracts * ((initialRate * p.Index) + p.Mark), contracts * ((_optionMaintenance * p.Index) + p.Mark));
            default:
                return Tiered(contracts * p.Mark);
        }
    }

    private Requirement Tiered(double notional) =>
        new(MarginalBands.Sum(notional, _upTo, _initial), MarginalBands.Sum(notional, _upTo, _maintenance));
}

/// <summary>
/// Marginal bands, like income-tax brackets: the amount inside each band is charged that band's
/// rate, so the total is continuous and never falls as the amount grows; the last band is open-ended
/// (its limit is not used). The standard futures tiers and the size add-on both charge this way.
/// </summary>
internal static class MarginalBands
{
    /// <summary>Σ over bands of (the part of <paramref name="amount"/> inside the band × its rate).</summary>
    public static double Sum(double amount, ReadOnlySpan<double> tops, ReadOnlySpan<double> rates)
    {
        double total = 0, floor = 0;
        int last = tops.Length - 1;
        for (int i = 0; i <= last; i++)
        {
            double top = i == last ? double.PositiveInfinity : tops[i];
            double inBand = Math.Min(amount, top) - floor;
            if (inBand <= 0)
            {
                break;
            }

            total += inBand * rates[i];
            floor = top;
        }

        return total;
    }
}

/// <summary>One band of the standard futures margin: notional up to <paramref name="UpToNotional"/> (cumulative, quote currency) is charged at these rates.</summary>
/// <param name="UpToNotional">Upper end of the band; the last band is open-ended (its limit is not used).</param>
/// <param name="Initial">Initial margin rate of the notional in the band.</param>
/// <param name="Maintenance">Maintenance margin rate of the notional in the band.</param>
public readonly record struct NotionalTier(double UpToNotional, double Initial, double Maintenance);

/// <summary>Parameters of <see cref="StandardMargin"/>.</summary>
public sealed record StandardMarginConfig
{
    /// <summary>Defaults in the range crypto venues publish: futures 1 %/0.5 % of notional up to 50,000, rising to 10 %/5 % beyond 5,000,000; short options a = 15 %, b = 10 %, c = 7.5 %.</summary>
    public static StandardMarginConfig Default { get; } = new();

    /// <summary>Futures, perpetual and spot bands, increasing limits and non-decreasing rates.</summary>
    public IReadOnlyList<NotionalTier> Tiers { get; init; } =
    [
        new(50_000, 0.01, 0.005),
        new(500_000, 0.02, 0.01),
        new(5_000_000, 0.05, 0.025),
        new(1e18, 0.10, 0.05), // open-ended
    ];

    /// <summary>Short option initial rate before the out-of-the-money reduction (a).</summary>
    public double OptionInitialBase { get; init; } = 0.15;

    /// <summary>Short option initial rate floor (b).</summary>
    public double OptionInitialFloor { get; init; } = 0.10;

    /// <summary>Short option maintenance rate (c).</summary>
    public double OptionMaintenance { get; init; } = 0.075;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (Tiers is not { Count: > 0 })
        {
            throw new ArgumentException("StandardMargin.Tiers needs at least one band.", nameof(Tiers));
        }

        double lastLimit = 0, lastInitial = 0, lastMaintenance = 0;
        foreach (var t in Tiers)
        {
            if (!(t.UpToNotional > lastLimit) || !(t.Initial is >= 0 and <= 1) || !(t.Maintenance >= 0 && t.Maintenance <= t.Initial)
                || t.Initial < lastInitial || t.Maintenance < lastMaintenance)
            {
                throw new ArgumentException(
                    "StandardMargin.Tiers: limits must increase, rates lie in [0, 1] with maintenance ≤ initial, and rates must not fall as the notional grows.", nameof(Tiers));
            }

            (lastLimit, lastInitial, lastMaintenance) = (t.UpToNotional, t.Initial, t.Maintenance);
        }

        if (!(OptionInitialFloor is >= 0 and <= 1) || !(OptionInitialBase >= OptionInitialFloor && OptionInitialBase <= 1)
            || !(OptionMaintenance >= 0 && OptionMaintenance <= OptionInitialFloor))
        {
            throw new ArgumentException("StandardMargin options: need 0 ≤ c (maintenance) ≤ b (floor) ≤ a (base) ≤ 1.", nameof(OptionInitialBase));
        }
    }
}
