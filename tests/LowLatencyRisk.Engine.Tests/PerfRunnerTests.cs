using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>The perf runner's short suite runs in CI and writes well-formed result files (numbers are not asserted).</summary>
public sealed class PerfRunnerTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), $"llr-perf-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_out))
        {
            Directory.Delete(_out, recursive: true);
        }
    }

    [Fact]
    public void ShortSuite_WritesWellFormedResults()
    {
        using var runner = PeerProcess.StartDotnet("LowLatencyRisk.PerfTests", "suite", "--short", "true", "--out", _out, "--pin", "false");
        Assert.Equal(0, runner.WaitForExit(TimeSpan.FromMinutes(4)));
        Assert.True(File.Exists(Path.Combine(_out, "suite-short.md")), runner.Output);
        string[] dirs = Directory.GetDirectories(_out);
        Assert.True(dirs.Length >= 6, string.Join(", ", dirs));
        int hgrms = 0, svgs = 0;
        foreach (string dir in dirs)
        {
            string md = File.ReadAllText(Path.Combine(dir, "results.md"));
            Assert.Contains("- machine:", md, StringComparison.Ordinal);
            Assert.Contains("- command: `dotnet run", md, StringComparison.Ordinal);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "results.json")));
            Assert.True(json.RootElement.GetProperty("metrics").EnumerateObject().Any());
            foreach (string hgrm in Directory.GetFiles(dir, "*.hgrm"))
            {
                var rows = File.ReadAllLines(hgrm).Skip(1).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
                Assert.NotEmpty(rows);
                Assert.Equal(1.0, double.Parse(rows[^1][1], CultureInfo.InvariantCulture));
                hgrms++;
            }

            foreach (string svg in Directory.GetFiles(dir, "*.svg"))
            {
                var doc = XDocument.Parse(File.ReadAllText(svg));
                Assert.Equal("svg", doc.Root!.Name.LocalName);
                Assert.NotEmpty(doc.Root.Elements(XName.Get("polyline", "http://www.w3.org/2000/svg")));
                svgs++;
            }
        }

        Assert.True(hgrms >= 5 && svgs >= 4, $"{hgrms} hgrm, {svgs} svg");
    }
}
