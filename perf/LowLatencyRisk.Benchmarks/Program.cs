using BenchmarkDotNet.Running;

namespace LowLatencyRisk.Benchmarks;

/// <summary>BenchmarkDotNet entry point; pass BenchmarkDotNet arguments such as <c>--filter</c>.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks selected on the command line.</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
