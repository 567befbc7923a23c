using System.Globalization;
using System.Text.RegularExpressions;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

public partial class RunCommandTests
{
    [GeneratedRegex(@"events processed\s+([\d,]+) in ([\d.]+) s = ([\d.]+) M events/s")]
    private static partial Regex EventsLine();

    [GeneratedRegex(@"engine thread\s+([\d,]+) bytes allocated, (\d+) GC collections")]
    private static partial Regex EngineLine();

    [GeneratedRegex(@"breaches\s+([\d,]+) read by the liquidator: ([\d,]+) margin calls, ([\d,]+) liquidations, ([\d,]+) back to healthy; sequence gaps (\d+)")]
    private static partial Regex BreachLine();

    [GeneratedRegex(@"  (kept up: every second at 95% of the offered rate or more|FELL BEHIND the offered rate for [\d.]+ s in \d+ episode)")]
    private static partial Regex RateVerdict();

    [GeneratedRegex(@"p50\s+[\d,]+\s+p99")]
    private static partial Regex RawNanos();

    private static long Number(string s) => long.Parse(s.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);

    [Fact]
    public void Run_ShortMode_PrintsASaneReport()
    {
        using var llr = PeerProcess.StartDotnet("llr", "run", "--duration", "2", "--small", "--accounts", "300", "--no-pin", "--rate", "300000");
        Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(120)));
        string output = llr.Output;
        var events = EventsLine().Match(output);
        Assert.True(events.Success, output);
        long count = Number(events.Groups[1].Value);
        double rate = double.Parse(events.Groups[3].Value, CultureInfo.InvariantCulture);
        Assert.InRange(count, 100_000, 2_000_000);  // about 300,000 events/s offered for 2 s
        Assert.True(rate > 0.05, output);
        var engine = EngineLine().Match(output);
        Assert.True(engine.Success, output);
        Assert.Equal(0, Number(engine.Groups[1].Value)); // the engine thread allocated nothing
        Assert.Equal(0, Number(engine.Groups[2].Value));
        var breaches = BreachLine().Match(output);
        Assert.True(breaches.Success, output);
        Assert.Equal(0, Number(breaches.Groups[5].Value));
        Assert.Equal(Number(breaches.Groups[1].Value), Number(breaches.Groups[2].Value) + Number(breaches.Groups[3].Value) + Number(breaches.Groups[4].Value)); // every transition kind counted
        Assert.Contains("fill -> breach", output, StringComparison.Ordinal);
        Assert.Matches(RateVerdict(), output); // a rate was offered: the report says whether it was kept
        Assert.DoesNotMatch(RawNanos(), output); // latencies carry units, no nine-digit nanoseconds
    }

    [GeneratedRegex(@"shard (\d)\s+read ([\d,]+), applied ([\d,]+), refused ([\d,]+) of the other shards' accounts; ([\d,]+) breaches .*state 0x[0-9A-F]{16} = the reference engine's over its accounts")]
    private static partial Regex ShardLine();

    [GeneratedRegex(@"breaches out\s+([\d,]+) messages in the breach stream for ([\d,]+) put on the shards' breach rings")]
    private static partial Regex BreachesOutLine();

    [Fact]
    public void Run_WithTwoShards_OverALocalJetStream_EveryShardHoldsWhatOneEngineHolds()
    {
        using var llr = PeerProcess.StartDotnet("llr", "run", "--shards", "2", "--duration", "3", "--small", "--accounts", "400", "--rate", "8000");
        int code = llr.WaitForExit(TimeSpan.FromSeconds(150));
        string output = llr.Output;
        Assert.True(code == 0, $"exit {code}:\n{output}");
        var lines = ShardLine().Matches(output);
        Assert.True(lines.Count == 2, output);
        foreach (Match m in lines)
        {
            long read = Number(m.Groups[2].Value), applied = Number(m.Groups[3].Value), refused = Number(m.Groups[4].Value);
            Assert.True(read > 5_000 && applied + refused == read && refused > 0, output);
        }

        var breaches = BreachesOutLine().Match(output);
        Assert.True(breaches.Success, output);
        Assert.Equal(Number(breaches.Groups[2].Value), Number(breaches.Groups[1].Value));
        Assert.Contains("every shard holds what one engine holds over its accounts", output, StringComparison.Ordinal);
        Assert.True(output.Contains("engine thread       0 bytes allocated by the engines and liquidators while the bridges ran beside them", StringComparison.Ordinal), output);

        // The firm: summaries went out, and the limits that may be in force stayed within the firm's.
        // (Whether the aggregator's changes are confirmed before it stops depends on the machine's load
        // — in one CI run JetStream routed 576 messages in 4 s — so this run does not require it; the
        // in-process and process tests of the aggregator do.)
        var firm = FirmLine().Match(output);
        Assert.True(firm.Success, output);
        Assert.True(Number(firm.Groups[4].Value) <= Number(firm.Groups[1].Value) + 8, output);
        Assert.Matches(@"risk summaries      [1-9][\d,]* written by the shards", output);
        Assert.Matches(@"latency             read from the breach stream .*mark published → breach read p50 [\d.]+ ms", output);
    }

    [GeneratedRegex(@"firm limit          demo-firm \(8 accounts across 2 shards\): usage [\d,]+ of ([\d,]+); ([\d,]+) credit limit changes sent, ([\d,]+) seen in force; the limits in force at the shards' gates sum to ([\d,]+)")]
    private static partial Regex FirmLine();

    [Theory]
    [InlineData("--shards", "0")]
    [InlineData("--duration", "0")]
    [InlineData("--accounts", "0")]
    [InlineData("--rate", "-1")]
    public void Run_BadOptions_ExitWithAClearError(string option, string value)
    {
        using var llr = PeerProcess.StartDotnet("llr", "run", option, value);
        Assert.Equal(2, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains(option, llr.Output, StringComparison.Ordinal);
    }
}
