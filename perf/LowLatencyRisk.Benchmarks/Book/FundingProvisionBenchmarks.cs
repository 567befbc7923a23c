using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// The book's hot paths on the standard workload with the funding provision off and on (every
/// perpetual at 1 bp, so each perpetual position pays or receives): what the provision costs a fill,
/// a what-if and a tick with the revaluation of every holder. Off must cost what it did before it
/// existed (one predictable branch).
/// </summary>
[MemoryDiagnoser]
public class FundingProvisionBenchmarks : BookPathBenchmarks
{
    /// <summary>The provision off or on.</summary>
    [Params(false, true)]
    public bool Provision { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var w = StandardWorkload.Build(new WorkloadScale(), ScenarioGrid.CmeSpan16(0.15, 0.25), c => c with { FundingProvision = Provision });
        foreach (int perpetual in w.Perpetuals)
        {
            w.Book.SetFundingRate(perpetual, 0.0001);
        }

        w.Book.Revalue();
        Use(w);
    }
}
