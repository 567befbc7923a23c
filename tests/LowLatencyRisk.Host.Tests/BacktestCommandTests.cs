using System.Text.Json;
using System.Text.RegularExpressions;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary>
/// <c>llr backtest</c> as a user runs it: the example portfolio on a synthetic history (labelled
/// synthetic everywhere), the history written and read back to the same report, the picture's marks
/// equal to the counted exceedances, and bad input refused with exit 2 and a message naming it.
/// </summary>
public sealed partial class BacktestCommandTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Example => Path.Combine(AppContext.BaseDirectory, "examples", "portfolio.json");

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var parsed = Parse(args);
        int code = BacktestCommand.Execute(parsed, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static BacktestCommand.Arguments Parse(string[] args)
    {
        string? Value(string name) => Array.IndexOf(args, name) is int i and >= 0 ? args[i + 1] : null;
        return new BacktestCommand.Arguments(args[0], Value("--history"), args.Contains("--synthetic"), int.Parse(Value("--days") ?? "1000", System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(Value("--seed") ?? "1", System.Globalization.CultureInfo.InvariantCulture), Value("--write-history"),
            int.Parse(Value("--horizon") ?? "1", System.Globalization.CultureInfo.InvariantCulture), double.Parse(Value("--confidence") ?? "0.99", System.Globalization.CultureInfo.InvariantCulture),
            Value("--format") ?? "table", Value("--svg"));
    }

    [Fact]
    public void TheExample_OnASyntheticHistory_IsLabelledSynthetic_AndItsWrittenHistoryReproducesIt()
    {
        string csv = _files.NewPath("history") + ".csv";
        string svg = _files.NewPath("chart") + ".svg";
        var (code, output, error) = Run(Example, "--synthetic", "--days", "400", "--seed", "3", "--write-history", csv, "--svg", svg, "--format", "json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.True(root.GetProperty("synthetic").GetBoolean());
        Assert.Contains("not market data", root.GetProperty("history").GetString(), StringComparison.Ordinal);
        var accounts = root.GetProperty("accounts").EnumerateArray().ToArray();
        Assert.Equal(4, accounts.Length);
        Assert.All(accounts, a => Assert.Equal(399, a.GetProperty("observations").GetInt32()));
        long exceedances = accounts.Sum(a => (long)a.GetProperty("exceedances").GetInt32());
        Assert.Equal(exceedances, root.GetProperty("exceedances").GetInt64());
        // The JSON lists each account's exceeded days, not every observation (unless asked: --all-days).
        Assert.All(accounts, a => Assert.Equal(a.GetProperty("exceedances").GetInt32(), a.GetProperty("exceededDays").GetArrayLength()));
        Assert.All(accounts, a => Assert.False(a.TryGetProperty("days", out _)));
        Assert.True(exceedances > 0, "the isolated perpetual's 700 cannot cover a 3 %-a-day market");

        // The picture: one red mark per exceedance (every account is drawn), and the label.
        string picture = File.ReadAllText(svg);
        Assert.Equal(exceedances, RedMark().Count(picture));
        Assert.Contains("SYNTHETIC history, not market data", picture, StringComparison.Ordinal);

        // The written history, read back, gives the same numbers (not labelled synthetic: it is a file now).
        var (again, table, error2) = Run(Example, "--history", csv, "--format", "json");
        Assert.True(again == 0, error2);
        using var back = JsonDocument.Parse(table);
        Assert.False(back.RootElement.GetProperty("synthetic").GetBoolean());
        Assert.Equal(exceedances, back.RootElement.GetProperty("exceedances").GetInt64());
        Assert.Equal(root.GetProperty("kupiecLikelihoodRatio").GetDouble(), back.RootElement.GetProperty("kupiecLikelihoodRatio").GetDouble());

        var stdoutAll = new StringWriter();
        Assert.Equal(0, BacktestCommand.Execute(Parse([Example, "--synthetic", "--days", "400", "--seed", "3", "--format", "json"]) with { AllDays = true }, stdoutAll, new StringWriter()));
        using var all = JsonDocument.Parse(stdoutAll.ToString());
        Assert.All(all.RootElement.GetProperty("accounts").EnumerateArray(), a => Assert.Equal(399, a.GetProperty("days").GetArrayLength()));

        var (_, text, _) = Run(Example, "--synthetic", "--days", "400", "--seed", "3");
        Assert.Contains("[SYNTHETIC]", text, StringComparison.Ordinal);
        Assert.Contains("all accounts", text, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", text, StringComparison.Ordinal);
        Assert.DoesNotContain("∞", text, StringComparison.Ordinal);
    }

    /// <summary>The README's example figures (seed 7, 1,000 dates): the grid against FHS on the same synthetic history.</summary>
    [Fact]
    public void TheReadmesExample_GridAgainstFhs_OnTheSameHistory()
    {
        static JsonElement Account(JsonDocument d, string name) => d.RootElement.GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("account").GetString() == name);
        var (code, output, error) = Run(Example, "--synthetic", "--days", "1000", "--seed", "7", "--format", "json");
        Assert.True(code == 0, error);
        using var grid = JsonDocument.Parse(output);
        Assert.Equal(0.6647, Account(grid, "isolated-perp").GetProperty("coverage").GetDouble(), 4);
        Assert.Equal(0.9940, Account(grid, "short-straddle").GetProperty("coverage").GetDouble(), 4);

        var stdout = new StringWriter();
        Assert.Equal(0, BacktestCommand.Execute(Parse([Example, "--synthetic", "--days", "1000", "--seed", "7", "--format", "json"]) with { Fhs = new LowLatencyRisk.Engine.Margin.FhsMargin() }, stdout, new StringWriter()));
        using var fhs = JsonDocument.Parse(stdout.ToString());
        Assert.Equal(749, Account(fhs, "isolated-perp").GetProperty("observations").GetInt32());
        Assert.Equal(0.9893, Account(fhs, "isolated-perp").GetProperty("coverage").GetDouble(), 4);
        Assert.Equal(30, fhs.RootElement.GetProperty("exceedances").GetInt64());
        Assert.Equal(2996, fhs.RootElement.GetProperty("observations").GetInt64());
        Assert.Equal(0.99, fhs.RootElement.GetProperty("kupiecPValue").GetDouble(), 2);
    }

    [Fact]
    public void BadInput_ExitsTwo_WithAMessageNamingIt_AndPrintsNoResult()
    {
        string bad = _files.NewPath("bad") + ".csv";
        File.WriteAllText(bad, "date,BTC,ETH\n2024-01-01,60000,3000\n2024-01-02,oops,3010\n");
        string missing = _files.NewPath("missing") + ".csv";
        File.WriteAllText(missing, "date,BTC\n2024-01-01,60000\n2024-01-02,61000\n");
        (string[] Args, string Message)[] cases =
        [
            ([Example], "give either --history FILE"),
            ([Example, "--synthetic", "--history", bad], "give either --history FILE"),
            ([Example, "--history", bad], "line 3, field 2 (BTC): 'oops' is not a finite positive close"),
            ([Example, "--history", missing], "no column for underlying 'ETH'"),
            ([Example, "--history", _files.NewPath("nowhere")], "cannot read the file"),
            ([Example, "--synthetic", "--days", "1"], "--days 1 is not in 2..15000"),
            ([Example, "--synthetic", "--horizon", "0"], "horizon: 0 days is not in 1..250"),
            ([_files.NewPath("no-portfolio"), "--synthetic"], "cannot read the file"),
        ];
        foreach (var (args, message) in cases)
        {
            var (code, output, error) = Run(args);
            Assert.True(code == 2, $"{string.Join(' ', args)}: exit {code}; {error}");
            Assert.True(error.Contains(message, StringComparison.Ordinal), $"{string.Join(' ', args)}: '{message}' not in: {error}");
            Assert.Equal("", output);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AsAProcess_TheExitCodeIsWhatTheShellSees()
    {
        using var ok = PeerProcess.StartDotnet("llr", "backtest", Example, "--synthetic", "--days", "200");
        Assert.Equal(0, ok.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("all accounts", ok.Output, StringComparison.Ordinal);
        using var refused = PeerProcess.StartDotnet("llr", "backtest", Example);
        Assert.Equal(2, refused.WaitForExit(TimeSpan.FromSeconds(60)));
        using var window = PeerProcess.StartDotnet("llr", "backtest", Example, "--synthetic", "--window", "100");
        Assert.Equal(2, window.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("--window applies to --method fhs only", window.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void MarginMethodFhs_PrintsVarAndEsBesideTheGridMargin_AndNeedsAHistory()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, MarginCommand.ExecuteFhs(new MarginCommand.FhsArguments(Example, null, true, 300, 2, 1, 0.94, "both"), stdout, stderr));
        string output = stdout.ToString();
        Assert.Contains("[SYNTHETIC]", output, StringComparison.Ordinal);
        Assert.Contains("VaR 99.0 %", output, StringComparison.Ordinal);
        Assert.Contains("ES 97.5 %", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
        var accounts = json.RootElement.GetProperty("accounts").EnumerateArray().ToArray();
        Assert.Equal(4, accounts.Length);
        Assert.Equal(299, json.RootElement.GetProperty("scenarios").GetInt32());
        // The example's accounts all hold risk: each measure is a finite, positive loss (the numbers themselves are pinned by FilteredHistoricalSimulationTests).
        Assert.All(accounts, a => Assert.True(a.GetProperty("expectedShortfall").GetDouble() > 0 && a.GetProperty("valueAtRisk").GetDouble() > 0));
        Assert.DoesNotContain("NaN", output, StringComparison.Ordinal);

        stderr = new StringWriter();
        Assert.Equal(2, MarginCommand.ExecuteFhs(new MarginCommand.FhsArguments(Example, null, false, 300, 2, 1, 0.94, "table"), new StringWriter(), stderr));
        Assert.Contains("--method fhs needs either --history FILE", stderr.ToString(), StringComparison.Ordinal);
        using var refused = PeerProcess.StartDotnet("llr", "margin", Example, "--method", "fhs");
        Assert.Equal(2, refused.WaitForExit(TimeSpan.FromSeconds(60)));
    }

    [GeneratedRegex("fill=\"#d62728\"><title>")]
    private static partial Regex RedMark();
}
