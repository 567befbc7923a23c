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
        var svg = new Option<string?>("--svg") { Description = "Also write the scenario losses of every account and underlying as a heat map (SVG) to this file." };
        var command = new Command("margin", "Compute initial and maintenance margin, equity, per-scenario loss and Greeks of every account in a portfolio file.")
        {
            file, format, svg,
        };
        command.SetAction(parse => Execute(parse.GetValue(file)!, parse.GetValue(format)!, Console.Out, Console.Error, parse.GetValue(svg)));
        return command;
    }

    /// <summary>The command's work, writers given (tests run it in-process): the exit code, 0 or 2.</summary>
    internal static int Execute(string path, string format, TextWriter stdout, TextWriter stderr, string? svg = null)
    {
        if (PortfolioMargin.ReadFile(path, out string json) is { } problem)
        {
            stderr.WriteLine($"llr margin: {path}: {problem}");
            return 2;
        }

        PortfolioResult result;
        try
        {
            result = PortfolioMargin.Compute(json, path);
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"llr margin: {e.Message}");
            return 2;
        }

        if (format is "table" or "both")
        {
            stdout.Write(result.ToTable());
        }

        if (format is "json" or "both")
        {
            stdout.WriteLine(result.ToJson());
        }

        if (svg is not null)
        {
            File.WriteAllText(svg, Operations.ScenarioHeatMap.Render(result));
        }

        return 0;
    }
}
