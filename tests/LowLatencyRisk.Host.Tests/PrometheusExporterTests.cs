using System.Reflection;
using System.Text.RegularExpressions;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Operations;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary>`llr stats --prometheus`: every counter of the layout, typed right, in a format promtool accepts, served over HTTP.</summary>
public sealed partial class PrometheusExporterTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static long[] SampleSlots()
    {
        var s = new long[EngineCountersLayout.Count];
        s[EngineCountersLayout.Layout] = EngineCountersLayout.LayoutId;
        for (int i = 1; i < s.Length; i++)
        {
            s[i] = 1000 + i; // every slot distinct, so a metric read from the wrong slot shows
        }

        s[EngineCountersLayout.RiskOff] = 1;
        s[EngineCountersLayout.JournalFailed] = 0;
        return s;
    }

    /// <summary>The slots a layout constant names (not Layout itself, not Count).</summary>
    private static List<(string Name, int Slot)> LayoutSlots() =>
        [.. typeof(EngineCountersLayout).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int) && f.Name is not ("Layout" or "Count"))
            .Select(f => (f.Name, (int)f.GetRawConstantValue()!))];

    private static bool Covered(int slot) =>
        PrometheusExposition.Metrics.Any(m => m.Slot == slot)
        || PrometheusExposition.Families.Any(f => slot >= f.Spec.Slot && slot < f.Spec.Slot + f.Width)
        || slot == EngineCountersLayout.FeedLatencySumNanos; // the histogram's _sum

    [Fact]
    public void EverySlotOfTheCountersLayout_IsAMetric()
    {
        var missing = LayoutSlots().Where(x => !Covered(x.Slot)).Select(x => x.Name).ToList();
        Assert.True(missing.Count == 0, "not exported: " + string.Join(", ", missing));
        Assert.True(LayoutSlots().Count >= 30);

        // Negative control: slot 15 is a gap in the layout, and the check says it is not covered.
        Assert.False(Covered(15));
    }

    [Fact]
    public void Types_AreRight_CountersEndInTotal_GaugesDoNot()
    {
        string text = PrometheusExposition.Render(SampleSlots(), EngineLiveness.Live, 0.25, 4242);
        var types = TypeLine().Matches(text).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        foreach (var m in PrometheusExposition.Metrics)
        {
            Assert.Equal(m.Type.ToString().ToLowerInvariant(), types[m.Name]);
            Assert.Equal(m.Type == MetricType.Counter, m.Name.EndsWith("_total", StringComparison.Ordinal));
        }

        Assert.Equal("histogram", types["llr_feed_latency_seconds"]);
        Assert.Equal("gauge", types["llr_engine_up"]);

        // Values come from their own slots, scaled where the unit changes.
        Assert.Contains($"llr_events_total {1000 + EngineCountersLayout.Events}\n", text, StringComparison.Ordinal);
        Assert.Contains($"llr_rejects_total{{reason=\"invalid_value\"}} {1000 + EngineCountersLayout.Rejects + (int)FeedReject.InvalidValue}\n", text, StringComparison.Ordinal);
        Assert.Contains($"llr_engine_uptime_seconds 0.000001{EngineCountersLayout.UptimeNanos:D3}\n", text, StringComparison.Ordinal);
        Assert.Contains("llr_risk_off 1\n", text, StringComparison.Ordinal);
        Assert.Contains("llr_engine_up 1\n", text, StringComparison.Ordinal);
        Assert.Contains("llr_engine_liveness{state=\"dead\"} 0\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Histogram_IsCumulative_WithExactBounds_AndCountEqualsInf()
    {
        var s = SampleSlots();
        s.AsSpan(EngineCountersLayout.FeedLatency, EngineCounters.LatencyBuckets).Clear();
        s[EngineCountersLayout.FeedLatency + 0] = 2;  // 0 ns
        s[EngineCountersLayout.FeedLatency + 10] = 5; // [512, 1024) ns
        s[EngineCountersLayout.FeedLatency + 47] = 1; // beyond the last bound
        s[EngineCountersLayout.FeedLatencySumNanos] = 4_000_000_000;
        string text = PrometheusExposition.Render(s, EngineLiveness.Stale, 9, 1);
        Assert.Contains("llr_feed_latency_seconds_bucket{le=\"0\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("llr_feed_latency_seconds_bucket{le=\"0.000000511\"} 2\n", text, StringComparison.Ordinal);  // ≤ 511 ns: bucket 10 not yet
        Assert.Contains("llr_feed_latency_seconds_bucket{le=\"0.000001023\"} 7\n", text, StringComparison.Ordinal); // ≤ 1,023 ns: with bucket 10
        Assert.Contains("llr_feed_latency_seconds_bucket{le=\"+Inf\"} 8\n", text, StringComparison.Ordinal);
        Assert.Contains("llr_feed_latency_seconds_count 8\n", text, StringComparison.Ordinal);
        Assert.Contains("llr_feed_latency_seconds_sum 4\n", text, StringComparison.Ordinal);
        Assert.Contains("llr_engine_up 0\n", text, StringComparison.Ordinal);
        Assert.Contains("llr_engine_liveness{state=\"stale\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Exposition_PassesPromtool_AndABrokenOneDoesNot()
    {
        string promtool = Tools.Require("promtool", "prometheus");
        string text = PrometheusExposition.Render(SampleSlots(), EngineLiveness.Live, 0.1, 77);
        var (code, output) = Tools.Run(promtool, text, TimeSpan.FromSeconds(60), "check", "metrics");
        Assert.True(code == 0, output);

        // Negative control: a counter without _total and a sample of an undeclared type fail the check.
        var (bad, badOutput) = Tools.Run(promtool, "# HELP llr_things Things.\n# TYPE llr_things counter\nllr_things 1\n", TimeSpan.FromSeconds(60), "check", "metrics");
        Assert.True(bad != 0, badOutput);
    }

    [Fact]
    public async Task Scrape_OverHttp_ServesTheFile_LiveThenDead()
    {
        string promtool = Tools.Require("promtool", "prometheus");
        string path = _files.NewPath("counters");
        using var counters = SharedCounters.Create(path, EngineCountersLayout.Count);
        var slots = SampleSlots();
        counters.Publish(slots, MonotonicClock.Now());

        using var llr = PeerProcess.StartDotnet("llr", ["stats", "--counters", path, "--prometheus", "127.0.0.1:0", "--stale-after", "60", "--duration", "60"]);
        string line = llr.WaitForLine("llr stats: serving ", TimeSpan.FromSeconds(60));
        string url = line.Split(' ')[3];
        Assert.StartsWith("http://127.0.0.1:", url, StringComparison.Ordinal);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync(url);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("0.0.4", response.Content.Headers.ContentType.Parameters.Single(p => p.Name == "version").Value);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Contains($"llr_events_total {1000 + EngineCountersLayout.Events}\n", text, StringComparison.Ordinal);
        Assert.Contains("llr_engine_up 1\n", text, StringComparison.Ordinal);
        Assert.Contains($"llr_engine_pid {Environment.ProcessId}\n", text, StringComparison.Ordinal);
        var (code, output) = Tools.Run(promtool, text, TimeSpan.FromSeconds(60), "check", "metrics");
        Assert.True(code == 0, output);

        // Each scrape reads the file anew: a moved counter shows at the next one.
        slots[EngineCountersLayout.Events] = 99_999;
        counters.Publish(slots, MonotonicClock.Now());
        Assert.Contains("llr_events_total 99999\n", await http.GetStringAsync(url), StringComparison.Ordinal);

        llr.Signal("TERM");
        Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Exporter_StartedBeforeTheEngine_ServesDown_ThenAttachesWhenTheFileAppears()
    {
        // Before: the exporter exited 3 when the counters file was missing (a crash loop under a service manager).
        string promtool = Tools.Require("promtool", "prometheus");
        string path = _files.NewPath("counters-later");
        using var llr = PeerProcess.StartDotnet("llr", ["stats", "--counters", path, "--prometheus", "127.0.0.1:0", "--stale-after", "60", "--duration", "60"]);
        string url = llr.WaitForLine("llr stats: serving ", TimeSpan.FromSeconds(60)).Split(' ')[3];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        string down = await http.GetStringAsync(url);
        Assert.Contains("llr_engine_up 0\n", down, StringComparison.Ordinal);
        Assert.Contains("llr_counters_file_present 0\n", down, StringComparison.Ordinal);
        Assert.Contains("llr_engine_liveness{state=\"dead\"} 1\n", down, StringComparison.Ordinal);
        Assert.DoesNotContain("llr_events_total", down, StringComparison.Ordinal);
        var (code, output) = Tools.Run(promtool, down, TimeSpan.FromSeconds(60), "check", "metrics");
        Assert.True(code == 0, output);

        using var counters = SharedCounters.Create(path, EngineCountersLayout.Count);
        counters.Publish(SampleSlots(), MonotonicClock.Now());
        string up = await http.GetStringAsync(url);
        Assert.Contains("llr_engine_up 1\n", up, StringComparison.Ordinal);
        Assert.Contains("llr_counters_file_present 1\n", up, StringComparison.Ordinal);
        Assert.Contains($"llr_events_total {1000 + EngineCountersLayout.Events}\n", up, StringComparison.Ordinal);

        llr.Signal("TERM");
        Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task AFileThatIsNotACountersFile_IsAnError_NotAnAbsentEngine()
    {
        string path = _files.NewPath("not-counters");
        File.WriteAllBytes(path, new byte[4096]); // zeros: no magic
        using var llr = PeerProcess.StartDotnet("llr", ["stats", "--counters", path, "--prometheus", "127.0.0.1:0", "--duration", "60"]);
        string url = llr.WaitForLine("llr stats: serving ", TimeSpan.FromSeconds(60)).Split(' ')[3];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync(url);
        Assert.Equal(System.Net.HttpStatusCode.InternalServerError, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.Contains(path, body, StringComparison.Ordinal);
        Assert.DoesNotContain("llr_counters_file_present 0", body, StringComparison.Ordinal);
        llr.Signal("TERM");
        Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("9464")]
    [InlineData("127.0.0.1:99999")]
    [InlineData("example.com:9464")]
    [InlineData("127.0.0.1:-1")]
    public void BadListenAddresses_AreRefused_ExitTwo(string listen)
    {
        string path = _files.NewPath("counters");
        using var counters = SharedCounters.Create(path, EngineCountersLayout.Count);
        using var llr = PeerProcess.StartDotnet("llr", ["stats", "--counters", path, "--prometheus", listen]);
        Assert.Equal(2, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("--prometheus", llr.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void GrafanaDashboard_QueriesOnlyMetricsTheExporterServes()
    {
        string path = Path.Combine(NativePeers.RepoRoot, "ops", "grafana", "llr-dashboard.json");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        var exprs = doc.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!).ToList();
        Assert.True(exprs.Count >= 10);
        var served = TypeLine().Matches(PrometheusExposition.Render(SampleSlots(), EngineLiveness.Live, 0, 1)).Select(m => m.Groups[1].Value).ToHashSet();
        static string Family(string name) => Regex.Replace(name, "_(bucket|sum|count)$", "");
        var unknown = exprs.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).Where(n => !served.Contains(n) && !served.Contains(Family(n))).Distinct().ToList();
        Assert.True(unknown.Count == 0, "the dashboard queries metrics the exporter does not serve: " + string.Join(", ", unknown));

        // Negative control: a misspelt name is caught by the same check.
        Assert.DoesNotContain("llr_event_total", served);
    }

    [GeneratedRegex(@"\bllr_[a-z0-9_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}
