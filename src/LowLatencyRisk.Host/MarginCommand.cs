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
        var method = new Option<string>("--method") { Description = "grid (the scenario grid's margin) or fhs (value-at-risk and expected shortfall under filtered historical simulation, beside the grid's IM).", DefaultValueFactory = _ => "grid" };
        method.AcceptOnlyFromAmong("grid", "fhs");
        var history = new Option<string?>("--history") { Description = "With --method fhs: daily closes (CSV, as llr backtest reads them)." };
        var synthetic = new Option<bool>("--synthetic") { Description = "With --method fhs: a seeded GARCH(1,1)-t history instead (not market data; labelled so)." };
        var days = new Option<int>("--days") { Description = "Dates of the synthetic history.", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the synthetic history.", DefaultValueFactory = _ => 1 };
        var horizon = new Option<int>("--horizon") { Description = "With --method fhs: days each scenario's move spans.", DefaultValueFactory = _ => 1 };
        var lambda = new Option<double>("--lambda") { Description = "With --method fhs: the EWMA's decay per day for the filter.", DefaultValueFactory = _ => 0.94 };
        var command = new Command("margin", "Compute initial and maintenance margin, equity, per-scenario loss and Greeks of every account in a portfolio file; with --method fhs, VaR and ES under filtered historical simulation.")
        {
            file, format, svg, method, history, synthetic, days, seed, horizon, lambda,
        };
        command.SetAction(parse => parse.GetValue(method) == "fhs"
            ? ExecuteFhs(new FhsArguments(parse.GetValue(file)!, parse.GetValue(history), parse.GetValue(synthetic), parse.GetValue(days), parse.GetValue(seed),
                parse.GetValue(horizon), parse.GetValue(lambda), parse.GetValue(format)!), Console.Out, Console.Error)
            : Execute(parse.GetValue(file)!, parse.GetValue(format)!, Console.Out, Console.Error, parse.GetValue(svg)));
        return command;
    }

    internal sealed record FhsArguments(string Portfolio, string? History, bool Synthetic, int Days, int Seed, int Horizon, double Lambda, string Format);

    /// <summary><c>--method fhs</c>: 0, or 2 for bad input.</summary>
    internal static int ExecuteFhs(FhsArguments args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            if (!BacktestCommand.Load("margin", "--method fhs needs", args.Portfolio, args.History, args.Synthetic, args.Days, args.Seed, stderr, out var portfolio, out var prices))
            {
                return 2;
            }

            var result = FilteredHistoricalSimulation.Run(portfolio, args.Portfolio, prices, args.Horizon, args.Lambda);
            if (args.Format is "table" or "both")
            {
                stdout.Write(result.ToTable());
            }

            if (args.Format is "json" or "both")
            {
                stdout.WriteLine(result.ToJson());
            }

            return 0;
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"llr margin: {e.Message}");
            return 2;
        }
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
