using System.Text.RegularExpressions;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary>What the liquidator and `llr run` print: liquidations and a summary a second, units, and when the offered rate was not kept.</summary>
public sealed partial class OperatorOutputTests : IDisposable
{
    private readonly string _dir = Path.Combine(TempFiles.Directory, $"llr-out-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public OperatorOutputTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Breach_NamesCandidates_OnlyWhenTheEngineNamedAny()
    {
        // Before: margin calls printed "close first: instrument 0" with no candidate behind it.
        var call = new BreachRecord(7, 12, MarginState.Healthy, MarginState.MarginCall, 1_000, 1_200, 960, Candidates: 0, TopInstrument: 0);
        Assert.DoesNotContain("close first", LiquidatorCommand.Describe(call), StringComparison.Ordinal);
        var liquidation = call with { To = MarginState.Liquidation, Candidates = 2, TopInstrument = 31, Replaced = 1 };
        string line = LiquidatorCommand.Describe(liquidation);
        Assert.Contains("close first: instrument 31 (2 candidates)", line, StringComparison.Ordinal);
        Assert.Contains("equity 1,000.00  IM 1,200.00  MM 960.00", line, StringComparison.Ordinal);
        Assert.Contains("(folds 1 earlier change)", line, StringComparison.Ordinal);
        Assert.DoesNotContain("open orders", line, StringComparison.Ordinal); // none working: nothing said
        Assert.Contains("IM 1,200.00  MM 960.00  open orders +250.50  close first", LiquidatorCommand.Describe(liquidation with { OpenOrderMargin = 250.5 }), StringComparison.Ordinal);
    }

    [Fact]
    public void Shortfall_CountsShortIntervals_Episodes_AndTheLongest()
    {
        // Seconds 0–1 at 1,000/s (kept), 1–2 at 500 (short), 2–3 at 940 (short: below 950), 3–4 at 960 (kept),
        // 4–5 at 0 (short): two episodes, 3 s short, the first at 1 s, the longest 2 s.
        var s = new RateShortfall(1_000);
        long published = 0;
        int at = 0;
        foreach (long inSecond in (long[])[1_000, 500, 940, 960, 0])
        {
            published += inSecond;
            s.Observe(++at, published);
        }

        Assert.Equal(3, s.ShortSeconds, 9);
        Assert.Equal(2, s.Episodes);
        Assert.Equal(1, s.FirstShortAt);
        Assert.Equal(2, s.LongestSeconds, 9);
        Assert.Equal(0, s.LowestRate);
        Assert.True(s.Behind);

        // Negative control: nothing offered (saturation) is never short.
        var saturated = new RateShortfall(0);
        saturated.Observe(1, 10);
        saturated.Observe(2, 10);
        Assert.Equal(0, saturated.Episodes);
    }

    [Fact]
    public void Liquidator_ByDefault_PrintsLiquidationsAndASummaryASecond_VerbosePrintsEveryBreach()
    {
        string config = TestConfigs.SmallEngine(_dir);
        using var engine = PeerProcess.StartDotnet("llr", "engine", "--config", config);
        engine.WaitForLine("llr engine: live", TimeSpan.FromSeconds(60));
        // The breach ring has one reader position: the default reader takes the first stream's breaches,
        // the verbose one those of a second stream.
        using (var first = PeerProcess.StartDotnet("llr", "simulate", "--config", config, "--events", "150000", "--duration", "300", "--rate", "60000"))
        {
            Assert.Equal(0, first.WaitForExit(TimeSpan.FromSeconds(120)));
        }

        Thread.Sleep(300);
        using var quiet = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--duration", "2.5");
        Assert.Equal(0, quiet.WaitForExit(TimeSpan.FromSeconds(60)));
        using (var second = PeerProcess.StartDotnet("llr", "simulate", "--config", config, "--events", "150000", "--duration", "300", "--rate", "60000"))
        {
            Assert.Equal(0, second.WaitForExit(TimeSpan.FromSeconds(120)));
        }

        Thread.Sleep(300);
        using var verbose = PeerProcess.StartDotnet("llr", "liquidator", "--config", config, "--duration", "1.5", "--verbose");
        Assert.Equal(0, verbose.WaitForExit(TimeSpan.FromSeconds(60)));
        engine.Signal("TERM");
        Assert.Equal(0, engine.WaitForExit(TimeSpan.FromSeconds(30)));

        var shown = BreachLine().Matches(quiet.Output).Select(m => m.Groups[1].Value).ToList();
        var report = Report().Match(quiet.Output);
        Assert.True(report.Success, quiet.Output);
        long liquidations = long.Parse(report.Groups[3].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(long.Parse(report.Groups[2].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture) > 0, quiet.Output); // margin calls were read, and not printed
        Assert.All(shown, t => Assert.Equal("Liquidation", t));
        Assert.Equal(liquidations, shown.Count); // every liquidation printed
        Assert.True(Regex.Count(quiet.Output, @"llr liquidator: +[\d.]+ s  breaches [\d,]+ \([\d,]+/s\)") >= 1, quiet.Output);
        Assert.Matches(@"p50 [\d.]+ (ns|µs|ms|s), p99", quiet.Output);

        // --verbose prints every breach read, margin calls and returns to healthy too.
        var all = BreachLine().Matches(verbose.Output).Select(m => m.Groups[1].Value).ToList();
        var read = Report().Match(verbose.Output);
        Assert.True(read.Success, verbose.Output);
        Assert.Equal(long.Parse(read.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture), all.Count);
        Assert.Contains(all, t => t != "Liquidation");
    }

    [GeneratedRegex(@"llr liquidator: read ([\d,]+) breaches \(([\d,]+) margin calls, ([\d,]+) liquidations")]
    private static partial Regex Report();

    [GeneratedRegex(@"^breach \d+ account \d+(?: \(\w+\))? \w+ -> (\w+)", RegexOptions.Multiline)]
    private static partial Regex BreachLine();
}
