using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>The small standard workload, twice (the engine's book and the simulator's shadow), with thin collateral so a stress episode breaches.</summary>
internal static class ThinWorkload
{
    /// <summary>Builds both copies with every account's equity at about 1.3 × its initial margin, transitions drained.</summary>
    public static (StandardWorkload Engine, StandardWorkload Shadow) Build(LowLatencyRisk.Core.Book.PortfolioComponentsConfig? components = null)
    {
        var w = components is null ? StandardWorkload.Build(WorkloadScale.Small) : StandardWorkload.Build(WorkloadScale.Small, configure: c => c with { Components = components });
        var shadow = StandardWorkload.Build(WorkloadScale.Small);
        w.SetCollateralToMargin(1.3);
        shadow.SetCollateralToMargin(1.3);
        return (w, shadow);
    }
}
