using System.CommandLine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;

namespace LowLatencyRisk.Host;

/// <summary><c>llr margin PORTFOLIO.json</c>: the batch margin calculator (the engine's book, fed from a file).</summary>
internal static class MarginCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("portfolio") { Description = "Portfolio file (JSON): underlyings, instruments, assets, accounts with collateral and positions." };
        var format = new Option<string>("--format") { Description = "table, json or both.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json", "both");
        var command = new Command("margin", "Compute initial and maintenance margin, equity, per-scenario loss and Greeks of every account in a portfolio file.")
        {
            file, format,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            string json;
            try
            {
                json = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"llr margin: {path}: cannot read the file: {e.Message}");
                return 2;
            }

            PortfolioResult result;
            try
            {
                result = PortfolioMargin.Compute(json, path);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"llr margin: {e.Message}");
                return 2;
            }

            string f = parse.GetValue(format)!;
            if (f is "table" or "both")
            {
                Console.Write(result.ToTable());
            }

            if (f is "json" or "both")
            {
                Console.WriteLine(result.ToJson());
            }

            return 0;
        });
        return command;
    }
}
