using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary>
/// The page of `llr serve` in a real browser (Debian's Chromium, headless) against a running `llr serve`,
/// and `llr margin --svg`: the numbers drawn are the numbers the API returned.
/// </summary>
public sealed partial class ServicePageTests : IDisposable
{
    private readonly TempFiles _files = new();

    // Chromium's profile and screenshots live on disk, not in the shared-memory folder of TempFiles.
    private readonly string _browserDir = Directory.CreateTempSubdirectory("llr-page-").FullName;

    public void Dispose()
    {
        _files.Dispose();
        try
        {
            Directory.Delete(_browserDir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a browser helper still exiting: the temporary folder is left for the OS to clean
        }
    }

    private string BrowserPath(string name) => Path.Combine(_browserDir, name);

    private static string Example => Path.Combine(AppContext.BaseDirectory, "examples", "portfolio.json");

    private (int Code, string Output) Chromium(string url, params string[] extra)
    {
        string chromium = Tools.Require("chromium", "chromium");
        string profile = Directory.CreateDirectory(BrowserPath("profile-" + Guid.NewGuid().ToString("N"))).FullName;
        return Tools.Run(chromium, "", TimeSpan.FromSeconds(120),
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}",
            "--window-size=1400,1500", "--virtual-time-budget=15000", .. extra, url,
        ]);
    }

    [Fact]
    public async Task Page_InHeadlessChromium_ShowsTheNumbersTheApiReturned_AndTheHeatMap()
    {
        using var llr = PeerProcess.StartDotnet("llr", ["serve", "--listen", "127.0.0.1:0", "--duration", "300"]);
        string line = llr.WaitForLine("llr serve: serving ", TimeSpan.FromSeconds(60));
        string root = line.Split(' ')[3];
        Assert.StartsWith("http://127.0.0.1:", root, StringComparison.Ordinal);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var content = new StringContent(File.ReadAllText(Example));
        using var response = await http.PostAsync(root + "margin", content);
        using var api = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        // The DOM after the page loaded the example, posted it and drew the answer.
        var (code, dom) = Chromium(root + "#example", "--dump-dom");
        Assert.True(code == 0, dom);
        Assert.Contains("data-state=\"computed\"", dom, StringComparison.Ordinal);
        var en = CultureInfo.InvariantCulture; // "N2": 1,234.56, as the page's en-US toLocaleString
        foreach (var account in api.RootElement.GetProperty("accounts").EnumerateArray())
        {
            string name = account.GetProperty("account").GetString()!;
            var row = Regex.Match(dom, $"<tr data-account=\"{Regex.Escape(name)}\">(.*?)</tr>");
            Assert.True(row.Success, $"no row for {name}");
            foreach (string field in (string[])["equity", "initialMargin", "maintenanceMargin", "excess"])
            {
                string shown = Regex.Match(row.Groups[1].Value, $"<td data-field=\"{field}\">([^<]*)</td>").Groups[1].Value;
                Assert.Equal(account.GetProperty(field).GetDouble().ToString("N2", en), shown);
            }

            Assert.Contains($">{account.GetProperty("state").GetString()}</td>", row.Groups[1].Value, StringComparison.Ordinal);
        }

        Assert.Equal(5, HeatMapGroup().Count(dom)); // covered call, straddle × 2 underlyings, covered call std, isolated perp

        // The screenshot: heat-map cells in red and the worst cells outlined in black.
        string shot = BrowserPath("page.png");
        (code, string log) = Chromium(root + "#example", $"--screenshot={shot}");
        Assert.True(code == 0 && File.Exists(shot), log);
        var png = Png.Read(File.ReadAllBytes(shot));
        Assert.Equal((1400, 1500), (png.Width, png.Height));
        int red = png.Count((r, g, b) => r == 255 && g < 200 && g == b);
        int black = png.Count((r, g, b) => r == 0 && g == 0 && b == 0);
        Assert.True(red > 2_000, $"{red} heat-map red pixels");

        // Negative control: the page before anything is computed has no heat map (a little black in its
        // text and controls, far less than the outlines of the worst cells add).
        string blank = BrowserPath("blank.png");
        (code, log) = Chromium(root, $"--screenshot={blank}");
        Assert.True(code == 0 && File.Exists(blank), log);
        var empty = Png.Read(File.ReadAllBytes(blank));
        Assert.Equal(0, empty.Count((r, g, b) => r == 255 && g < 200 && g == b));
        int blackBefore = empty.Count((r, g, b) => r == 0 && g == 0 && b == 0);
        Assert.True(black > blackBefore + 500, $"{black} black pixels with the heat maps, {blackBefore} without");

        llr.Signal("TERM");
        Assert.Equal(0, llr.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void MarginSvg_DrawsEveryScenarioLoss_MarksTheWorst_AndEscapesNames()
    {
        // An account named like markup: the picture must still be well-formed XML that shows the name.
        string portfolio = MarginServiceTests.Mutate(File.ReadAllText(Example), n => n["accounts"]![0]!["name"] = "<b>&\"cc\"</b>");
        string input = _files.NewPath("portfolio.json");
        File.WriteAllText(input, portfolio);
        string svg = _files.NewPath("heat.svg");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.True(MarginCommand.Execute(input, "json", stdout, stderr, svg) == 0, stderr.ToString());
        using var api = JsonDocument.Parse(stdout.ToString());

        var doc = XDocument.Parse(File.ReadAllText(svg));
        XNamespace ns = "http://www.w3.org/2000/svg";
        var maps = doc.Descendants(ns + "g").Where(g => (string?)g.Attribute("class") == "heatmap").ToList();
        Assert.Equal(5, maps.Count);
        Assert.Equal("<b>&\"cc\"</b>", (string?)maps[0].Attribute("data-account"));

        int checkedMaps = 0;
        foreach (var account in api.RootElement.GetProperty("accounts").EnumerateArray())
        {
            foreach (var u in account.GetProperty("underlyings").EnumerateArray())
            {
                var losses = u.GetProperty("scenarioLoss").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                if (losses.All(x => x == 0))
                {
                    continue;
                }

                var map = maps.Single(m => (string?)m.Attribute("data-account") == account.GetProperty("account").GetString() && (string?)m.Attribute("data-underlying") == u.GetProperty("underlying").GetString());
                var cells = map.Elements(ns + "rect").ToDictionary(r => int.Parse((string)r.Attribute("data-scenario")!, CultureInfo.InvariantCulture) - 1,
                    r => (Loss: double.Parse((string)r.Attribute("data-loss")!, CultureInfo.InvariantCulture), Worst: ((string)r.Attribute("class")!).Contains("worst", StringComparison.Ordinal)));
                Assert.Equal(losses.Length, cells.Count); // the CME grid has one scenario per price move × vol cell
                int worst = Array.IndexOf(losses, losses.Max());
                foreach (var (index, cell) in cells)
                {
                    Assert.Equal(losses[index], cell.Loss);
                    Assert.Equal(index == worst, cell.Worst);
                }

                Assert.Equal(u.GetProperty("scanRisk").GetDouble(), losses[worst]);
                checkedMaps++;
            }
        }

        Assert.Equal(5, checkedMaps);
    }

    [GeneratedRegex("<g class=\"heatmap\"")]
    private static partial Regex HeatMapGroup();
}
