using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using LowLatencyRisk.Core.Diagnostics;

namespace LowLatencyRisk.PerfTests;

/// <summary>Writes a run's results (markdown, JSON, and .hgrm per histogram) with the machine facts and command.</summary>
public static class ResultWriter
{
    /// <summary>The machine the numbers come from.</summary>
    public static string MachineFacts()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }

        return $"{cpu}; {Environment.ProcessorCount} logical CPUs; {RuntimeInformation.OSDescription}; .NET {Environment.Version}; {RuntimeInformation.ProcessArchitecture}";
    }

    /// <summary>Writes <c>results.md</c>, <c>results.json</c> and one <c>NAME.hgrm</c> per histogram into the output folder.</summary>
    public static string Write(Options options, string test, string command, IReadOnlyList<(string Name, string Value)> table,
        IReadOnlyList<(string Name, LatencyHistogram Histogram)> histograms)
    {
        string root = options.String("out", Path.Combine(FindRepoRoot(), "perf", "results"));
        string dir = Path.Combine(root, $"{DateTime.UtcNow:yyyy-MM-dd}-{test}");
        Directory.CreateDirectory(dir);
        string machine = MachineFacts();
        table = [.. table, ("GC collections in this process so far (gen0 / gen1 / gen2)", $"{GC.CollectionCount(0) - s_gen0} / {GC.CollectionCount(1) - s_gen1} / {GC.CollectionCount(2) - s_gen2}")];
        var md = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        md.Append(c, $"# {test}\n\n- machine: {machine}\n- command: `{command}`\n- date (UTC): {DateTime.UtcNow:yyyy-MM-dd HH:mm}\n\n| metric | value |\n|---|---|\n");
        foreach (var (name, value) in table)
        {
            md.Append(c, $"| {name} | {value} |\n");
        }

        foreach (var (name, h) in histograms)
        {
            md.Append(c, $"\n## {name} (ns)\n\n| p50 | p90 | p99 | p99.9 | p99.99 | max | count |\n|---|---|---|---|---|---|---|\n");
            md.Append(c, $"| {h.ValueAtPercentile(50)} | {h.ValueAtPercentile(90)} | {h.ValueAtPercentile(99)} | {h.ValueAtPercentile(99.9)} | {h.ValueAtPercentile(99.99)} | {h.Max} | {h.TotalCount} |\n");
            if (h.TotalCount > 0)
            {
                File.WriteAllText(Path.Combine(dir, name + ".hgrm"), h.ToHgrm()); // a histogram with no sample (a short run that saw none of that kind) has no percentile distribution to write
            }
        }

        if (histograms.Count > 0)
        {
            File.WriteAllText(Path.Combine(dir, "latency.svg"), SvgPlot.Render($"{test} — {machine.Split(';')[0]}", histograms));
            md.Append("\n![latency by percentile](latency.svg)\n");
        }

        File.WriteAllText(Path.Combine(dir, "results.md"), md.ToString());
        var json = new Dictionary<string, object>
        {
            ["test"] = test,
            ["command"] = command,
            ["machine"] = machine,
            ["utc"] = DateTime.UtcNow.ToString("O", c),
            ["metrics"] = table.ToDictionary(t => t.Name, t => t.Value),
            ["histograms"] = histograms.ToDictionary(h => h.Name, h => new Dictionary<string, long>
            {
                ["p50"] = h.Histogram.ValueAtPercentile(50),
                ["p90"] = h.Histogram.ValueAtPercentile(90),
                ["p99"] = h.Histogram.ValueAtPercentile(99),
                ["p99.9"] = h.Histogram.ValueAtPercentile(99.9),
                ["p99.99"] = h.Histogram.ValueAtPercentile(99.99),
                ["max"] = h.Histogram.Max,
                ["count"] = h.Histogram.TotalCount,
            }),
        };
        File.WriteAllText(Path.Combine(dir, "results.json"), JsonSerializer.Serialize(json, s_json));
        Console.WriteLine(md.ToString());
        Console.WriteLine($"written to {dir}");
        return dir;
    }

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };
    private static int s_gen0, s_gen1, s_gen2;

    /// <summary>Starts counting collections (called when a test starts).</summary>
    public static void MarkStart()
    {
        s_gen0 = GC.CollectionCount(0);
        s_gen1 = GC.CollectionCount(1);
        s_gen2 = GC.CollectionCount(2);
    }

    private static string FindRepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "LowLatencyRisk.sln")))
        {
            d = d.Parent;
        }

        return d?.FullName ?? Directory.GetCurrentDirectory();
    }
}
