using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// The book's fill, what-if and index tick (<see cref="BookPathBenchmarks"/>) on the standard
/// workload with the CME 16-scenario grid and with the crypto-venue portfolio set (37 rows: regular,
/// extended, basis), in one run so the two are compared on the same machine state.
/// </summary>
[MemoryDiagnoser]
public class ScenarioSetBenchmarks : BookPathBenchmarks
{
    /// <summary>The scenario set.</summary>
    [Params("cme-span-16", "crypto-portfolio-37")]
    public string Grid { get; set; } = "";

    [GlobalSetup]
    public void Setup() =>
        Use(StandardWorkload.Build(new WorkloadScale(), Grid == "cme-span-16" ? ScenarioGrid.CmeSpan16(0.15, 0.25) : ScenarioGrid.CryptoPortfolio()));
}
