using System.CommandLine;

namespace LowLatencyRisk.Host;

/// <summary>Entry point of <c>llr</c>.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("LowLatencyRisk: zero-allocation pre-trade and portfolio-margin risk core.");
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(EngineCommand.Create());
        root.Subcommands.Add(SimulateCommand.Create());
        root.Subcommands.Add(LiquidatorCommand.Create());
        root.Subcommands.Add(IngestCommand.Create());
        root.Subcommands.Add(StatsCommand.Create());
        root.Subcommands.Add(MarginCommand.Create());
        root.Subcommands.Add(BacktestCommand.Create());
        root.Subcommands.Add(ReplayCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(BridgeCommand.Create());
        root.Subcommands.Add(StandbyCommand.Create());
        root.Subcommands.Add(AggregateCommand.Create());
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

        // No command lets an exception out as a stack trace: a file or folder it cannot use (missing,
        // no permission, not a file) is bad input (exit 2, one line naming it); anything else is a
        // defect, reported on one line with exit 70 (EX_SOFTWARE) — LLR_TRACE=1 adds the stack.
        string name = parse.CommandResult.Command.Name;
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Unwrap(e) is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"llr {name}: {Unwrap(e).Message}");
            return 2;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("LLR_TRACE") != "1")
        {
            var inner = Unwrap(e);
            Console.Error.WriteLine($"llr {name}: internal error, please report it: {inner.GetType().Name}: {inner.Message} (LLR_TRACE=1 prints where)");
            return 70;
        }
    }

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerExceptions.Count: 1 } a ? Unwrap(a.InnerExceptions[0]) : e;
}
