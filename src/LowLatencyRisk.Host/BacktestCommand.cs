using System.CommandLine;
using System.Globalization;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;

namespace LowLatencyRisk.Host;

/// <summary><c>llr backtest PORTFOLIO.json --history CLOSES.csv | --synthetic</c>: did the margin cover history's moves?</summary>
internal static class BacktestCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("portfolio") { Description = "Portfolio file (JSON), as llr margin reads it; its margin.dynamicRange, when on, sets each date's scan range." };
        var history = new Option<string?>("--history") { Description = "Daily closes (CSV: date,NAME,NAME… then yyyy-MM-dd,close,…), one column per underlying of the portfolio." };
        var synthetic = new Option<bool>("--synthetic") { Description = "Generate a seeded GARCH(1,1)-t history instead (not market data; labelled so)." };
        var days = new Option<int>("--days") { Description = "Dates of the synthetic history.", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the synthetic history.", DefaultValueFactory = _ => 1 };
        var writeHistory = new Option<string?>("--write-history") { Description = "Also write the history used as CSV (reproduces a synthetic run with --history)." };
        var horizon = new Option<int>("--horizon") { Description = "Days each loss is measured over (the margin period of risk).", DefaultValueFactory = _ => 1 };
        var confidence = new Option<double>("--confidence") { Description = "Target coverage; the exceedance rate Kupiec tests against is 1 − this.", DefaultValueFactory = _ => 0.99 };
        var format = new Option<string>("--format") { Description = "table, json or both.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json", "both");
        var svg = new Option<string?>("--svg") { Description = "Also draw margin against realised loss per account (SVG), exceedances marked." };
        var allDays = new Option<bool>("--all-days") { Description = "JSON: every observation of every account (by default only the exceeded ones)." };
        var method = new Option<string>("--method") { Description = "The margin held: grid (the file's scenario grid) or fhs (expected shortfall 97.5 % of filtered historical simulation over the --window dates before each observation).", DefaultValueFactory = _ => "grid" };
        method.AcceptOnlyFromAmong("grid", "fhs");
        var window = new Option<int>("--window") { Description = "With --method fhs: the dates of history behind each day's margin.", DefaultValueFactory = _ => 250 };
        var command = new Command("backtest", "Replay a price history's moves through a portfolio's margin: exceedances, coverage and Kupiec's test per account and overall.")
        {
            file, history, synthetic, days, seed, writeHistory, horizon, confidence, format, svg, allDays, method, window,
        };
        command.SetAction(parse => parse.GetValue(method) != "fhs" && parse.GetResult(window) is { Implicit: false }
            ? Refuse("--window applies to --method fhs only (the grid's margin has no window)")
            : Execute(new Arguments(parse.GetValue(file)!, parse.GetValue(history), parse.GetValue(synthetic), parse.GetValue(days), parse.GetValue(seed),
            parse.GetValue(writeHistory), parse.GetValue(horizon), parse.GetValue(confidence), parse.GetValue(format)!, parse.GetValue(svg))
        {
            AllDays = parse.GetValue(allDays),
            Fhs = parse.GetValue(method) == "fhs" ? new FhsMargin(parse.GetValue(window)) : null,
        }, Console.Out, Console.Error));
        return command;
    }

    /// <summary>
    /// The portfolio and its history for <c>llr COMMAND</c>: either the closes of <paramref name="history"/>
    /// (CSV) or, with <paramref name="synthetic"/>, a generated history of <paramref name="days"/> from
    /// the portfolio's indices. False after printing why not (one of the two missing or both given, a
    /// day count out of range, a file that cannot be read); throws <see cref="ConfigException"/> for a
    /// malformed portfolio or CSV.
    /// </summary>
    internal static bool Load(string command, string verb, string portfolioPath, string? history, bool synthetic, int days, int seed, TextWriter stderr,
        out PortfolioFile portfolio, out PriceHistory prices)
    {
        portfolio = null!;
        prices = null!;
        if ((history is null) == !synthetic)
        {
            stderr.WriteLine($"llr {command}: {verb} either --history FILE (daily closes, CSV) or --synthetic (a generated history); no market data ships with the product");
            return false;
        }

        if (synthetic && days is < 2 or > PriceHistory.MaxDays)
        {
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"llr {command}: --days {days} is not in 2..{PriceHistory.MaxDays}"));
            return false;
        }

        if (PortfolioMargin.ReadFile(portfolioPath, out string json) is { } problem)
        {
            stderr.WriteLine($"llr {command}: {portfolioPath}: {problem}");
            return false;
        }

        portfolio = PortfolioMargin.ParsePortfolio(json, portfolioPath);
        if (history is not null)
        {
            if (PortfolioMargin.ReadFile(history, out string csv) is { } bad)
            {
                stderr.WriteLine($"llr {command}: {history}: {bad}");
                return false;
            }

            prices = PriceHistory.ParseCsv(csv, history);
            return true;
        }

        var underlyings = portfolio.Underlyings ?? [];
        if (underlyings.Length == 0 || underlyings.Any(u => u.Name is null || u.Index is not > 0))
        {
            // The portfolio's own validation names the field; a history cannot start without the indices.
            PortfolioMargin.Compute(json, portfolioPath);
        }

        prices = PriceHistory.Synthetic([.. underlyings.Select(u => u.Name!)], [.. underlyings.Select(u => u.Index!.Value)], new DateOnly(2001, 1, 1), days, seed, new GarchParameters());
        return true;
    }

    private static int Refuse(string why)
    {
        Console.Error.WriteLine($"llr backtest: {why}");
        return 2;
    }

    internal sealed record Arguments(string Portfolio, string? History, bool Synthetic, int Days, int Seed, string? WriteHistory, int Horizon, double Confidence, string Format, string? Svg)
    {
        /// <summary>JSON with every observation.</summary>
        public bool AllDays { get; init; }

        /// <summary>The FHS margin instead of the grid's (<c>--method fhs</c>).</summary>
        public FhsMargin? Fhs { get; init; }
    }

    /// <summary>The command's work, writers given (tests run it in-process): 0, or 2 for bad input.</summary>
    internal static int Execute(Arguments args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            if (!Load("backtest", "give", args.Portfolio, args.History, args.Synthetic, args.Days, args.Seed, stderr, out var portfolio, out var prices))
            {
                return 2;
            }

            if (args.WriteHistory is { } output)
            {
                File.WriteAllText(output, prices.ToCsv());
            }

            // Progress on the terminal (stderr, redrawn in place at most five times a second) for books
            // of many accounts; the time taken always, on stderr, so stdout stays the report.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long lastDrawn = 0;
            bool terminal = !Console.IsErrorRedirected && ReferenceEquals(stderr, Console.Error);
            void Progress(int done, int total)
            {
                if (terminal && (clock.ElapsedMilliseconds - lastDrawn >= 200 || done == total))
                {
                    lastDrawn = clock.ElapsedMilliseconds;
                    int width = 30, filled = total == 0 ? width : done * width / total;
                    stderr.Write(string.Create(CultureInfo.InvariantCulture, $"\r[{new string('#', filled)}{new string('.', width - filled)}] {done:N0}/{total:N0} accounts, {clock.Elapsed.TotalSeconds:F1} s"));
                    if (done == total)
                    {
                        stderr.WriteLine();
                    }
                }
            }

            var result = PortfolioBacktest.Run(portfolio, args.Portfolio, prices, args.Horizon, args.Confidence, Progress, args.Fhs);
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"llr backtest: {result.Accounts.Length:N0} accounts over {prices.Dates.Count:N0} dates ({result.Observations:N0} observations) in {clock.Elapsed.TotalSeconds:F2} s"));
            if (args.Format is "table" or "both")
            {
                stdout.Write(result.ToTable());
            }

            if (args.Format is "json" or "both")
            {
                stdout.WriteLine(result.ToJson(args.AllDays));
            }

            if (args.Svg is { } picture)
            {
                File.WriteAllText(picture, Operations.BacktestChart.Render(result));
            }

            return 0;
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"llr backtest: {e.Message}");
            return 2;
        }
    }
}
