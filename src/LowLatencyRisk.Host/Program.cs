using System.CommandLine;

namespace LowLatencyRisk.Host;

/// <summary>Entry point of <c>llr</c>.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("LowLatencyRisk: zero-allocation pre-trade and portfolio-margin risk core.");
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(ServiceCommands.Engine());
        root.Subcommands.Add(ServiceCommands.Simulate());
        root.Subcommands.Add(ServiceCommands.Liquidator());
        root.Subcommands.Add(ServiceCommands.Ingest());
        root.Subcommands.Add(StatsCommand.Create());
        root.Subcommands.Add(MarginCommand.Create());
        root.Subcommands.Add(ReplayCommand.Create());
        return root.Parse(args).Invoke();
    }
}
