using System.CommandLine;

namespace LowLatencyRisk.Host;

/// <summary><c>llr run</c>: the embedded default (simulated venue, engine, liquidator).</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var command = new Command("run", "Run the embedded default: simulated venue -> feed ring -> engine -> breach ring -> liquidator.");
        command.SetAction(_ =>
        {
            Console.WriteLine("llr run: the engine is not built yet.");
            Console.WriteLine("When it is, this command starts a deterministic simulated venue writing fills and prices into a");
            Console.WriteLine("shared-memory feed ring, the single-writer risk engine consuming it, and a liquidator reading");
            Console.WriteLine("margin breaches, then prints events/s, latency percentiles, breaches, allocations and GC count.");
            return 0;
        });
        return command;
    }
}
