using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Engine.Margin;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Operations;

namespace LowLatencyRisk.Benchmarks.Operations;

/// <summary>
/// What one <c>POST /margin</c> of the example portfolio (4 accounts, 2 underlyings) costs the service,
/// part by part: the shape check and parse, the margining with scratch books built for each account
/// or rented from <see cref="ScratchBookPool"/>, and the JSON answer. Not a hot path (a person's
/// request); measured to show what the pool saves.
/// </summary>
[MemoryDiagnoser]
public class MarginServiceBenchmarks
{
    private string _json = "";
    private PortfolioFile _file = null!;
    private PortfolioResult _result = null!;
    private readonly ScratchBookPool _pool = new();

    /// <summary>example: the example portfolio (4 accounts, 2–3 positions each); medium: 4 accounts of 20 positions on 4 underlyings; large: 4 accounts of 204.</summary>
    [Params("example", "medium", "large")]
    public string Portfolio { get; set; } = "example";

    [GlobalSetup]
    public void Setup()
    {
        _json = Portfolio == "large" ? PortfolioFiles.Generated(50) : Portfolio == "medium" ? PortfolioFiles.Generated(4) : File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "portfolio.json"));
        _file = PortfolioMargin.ParsePortfolio(_json);
        _result = PortfolioMargin.ComputeParsed(_file, "bench", null);
    }

    /// <summary>Shape check (every field and type) and deserialization.</summary>
    [Benchmark]
    public PortfolioFile Parse() => PortfolioMargin.ParsePortfolio(_json);

    /// <summary>Validation and margining, each account in a new scratch book.</summary>
    [Benchmark(Baseline = true)]
    public PortfolioResult ComputeNewBooks() => PortfolioMargin.ComputeParsed(_file, "bench", null);

    /// <summary>The same with books rented from the pool (reset on return).</summary>
    [Benchmark]
    public PortfolioResult ComputePooledBooks() => PortfolioMargin.ComputeParsed(_file, "bench", _pool);

    /// <summary>The answer's JSON.</summary>
    [Benchmark]
    public string ToJson() => _result.ToJson();
}
