namespace LowLatencyRisk.PerfTests;

/// <summary>Latency and throughput harness entry point.</summary>
public static class Program
{
    /// <summary>Runs the named perf test.</summary>
    public static int Main(string[] args)
    {
        Console.WriteLine("usage: PerfTests <test> [options]");
        return args.Length == 0 ? 0 : 2;
    }
}
