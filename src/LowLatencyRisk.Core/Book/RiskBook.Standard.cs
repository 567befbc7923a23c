namespace LowLatencyRisk.Core.Book;

/// <summary>
/// The risk book with today's methodology, SPAN-style portfolio margin (<see cref="ScanRiskMargin"/>):
/// what the engine, the gate and <c>llr margin</c> use. Another methodology is another struct given
/// to <see cref="RiskBook{TMargin}"/>.
/// </summary>
public sealed class RiskBook : RiskBook<ScanRiskMargin>
{
    /// <summary>Creates an empty book with every table preallocated, margined as <paramref name="config"/> describes.</summary>
    public RiskBook(RiskConfig config)
        : base(config, new ScanRiskMargin(config))
    {
    }

    /// <summary>The ladder's rule (see <see cref="MarginLadder.NextState"/>).</summary>
    public static MarginState NextState(MarginState current, double equity, double initial, double maintenance, double hysteresis) =>
        MarginLadder.NextState(current, equity, initial, maintenance, hysteresis);
}
