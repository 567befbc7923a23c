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
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // A mistyped command, option or value: the message and usage, exit code 2 (bad input), nothing started.
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"llr: {error.Message}");
            }

            Console.Error.WriteLine("llr: see `llr --help` (or `llr COMMAND --help`).");
            return 2;
        }

        return parse.Invoke();
    }
}
