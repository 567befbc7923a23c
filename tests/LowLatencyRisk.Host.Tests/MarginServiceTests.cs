using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine.Margin;
using LowLatencyRisk.Operations;
using LowLatencyRisk.Testing;
using Microsoft.AspNetCore.Builder;
using Xunit.Abstractions;

namespace LowLatencyRisk.Host.Tests;

/// <summary>`llr serve`: the same numbers as `llr margin`, what-if as fills, hostile bodies refused with a reason, the pool's books reset.</summary>
public sealed class MarginServiceTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private WebApplication? _app;
    private MarginService.ServiceState? _state;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private string _url = "";

    private static string Examples(string name) => Path.Combine(AppContext.BaseDirectory, "examples", name);

    public async Task InitializeAsync()
    {
        _app = MarginService.Build(new IPEndPoint(IPAddress.Loopback, 0), new ServiceOptions(MaxBodyBytes: 256 * 1024, MaxConcurrent: 4), out _state);
        await _app.StartAsync();
        _url = MarginService.Address(_app);
    }

    public void Dispose()
    {
        _http.Dispose();
        _files.Dispose();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private async Task<(HttpStatusCode Status, string Body)> Post(string path, string body) => await Post(path, Encoding.UTF8.GetBytes(body));

    private async Task<(HttpStatusCode Status, string Body)> Post(string path, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync(_url + path, content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string LlrMarginJson(string path)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.True(MarginCommand.Execute(path, "json", stdout, stderr) == 0, stderr.ToString());
        return stdout.ToString();
    }

    [Theory]
    [InlineData("portfolio.json")]
    [InlineData("spreads.json")]
    [InlineData("generated")]
    public async Task Margin_AnswersExactlyWhatLlrMarginPrints(string example)
    {
        // Accounts of 16 instruments or more are margined in pooled books with capacities rounded up;
        // `llr margin` builds exact-size ones. Same text, so same numbers to the last bit.
        string path = example == "generated" ? WriteGenerated() : Examples(example);
        string expected = LlrMarginJson(path);
        for (int round = 0; round < 3; round++)
        {
            var (status, body) = await Post("/margin", File.ReadAllText(path));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(expected, body);
        }

        Assert.Equal(example == "generated", _state!.Pool!.Reused > 0); // the small examples' accounts are below the pooling threshold
    }

    private readonly TempFiles _files = new();

    private string WriteGenerated(int strikes = 4)
    {
        string path = _files.NewPath("generated.json");
        File.WriteAllText(path, LowLatencyRisk.Fixtures.PortfolioFiles.Generated(strikes));
        return path;
    }

    [Fact]
    public async Task MarginSvg_IsWhatLlrMarginSvgWrites()
    {
        string svg = _files.NewPath("heat.svg");
        Assert.Equal(0, MarginCommand.Execute(Examples("portfolio.json"), "table", new StringWriter(), new StringWriter(), svg));
        var (status, body) = await Post("/margin/svg", File.ReadAllText(Examples("portfolio.json")));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(File.ReadAllText(svg), body);
        Assert.StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pool_ResetsBooks_BetweenDifferentPortfolios()
    {
        // Interleave portfolios that share pool keys (same parameters, same rounded shape: 20 instruments
        // per account, pooled) with changed positions and collateral; every answer equals a fresh computation.
        string portfolio = LowLatencyRisk.Fixtures.PortfolioFiles.Generated(4);
        string other = Mutate(portfolio, n =>
        {
            n["accounts"]![0]!["positions"]![0]!["quantity"] = 3;
            n["accounts"]![1]!["positions"]!.AsArray().RemoveAt(5);
            n["accounts"]![1]!["collateral"]![0]!["balance"] = 1;
        });
        string expectedA = PortfolioMargin.Compute(portfolio).ToJson() + "\n", expectedB = PortfolioMargin.Compute(other).ToJson() + "\n";
        Assert.NotEqual(expectedA, expectedB);
        foreach (string body in (string[])[portfolio, other, portfolio, other, other, portfolio])
        {
            var (status, answer) = await Post("/margin", body);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(body == portfolio ? expectedA : expectedB, answer);
        }

        Assert.True(_state!.Pool!.Reused >= 20, "the books were reused");
    }

    [Fact]
    public async Task Pool_DoesNotShareABook_BetweenFilesThatListTheUnderlyingsInAnotherOrder()
    {
        // A size add-on on U0 only. The second file lists the same underlyings reversed, so U0 is the
        // file's fourth; each account uses all four. Before the key named the underlyings, both files
        // had the same key, and the book built for the first (add-on on its first underlying) served
        // the second with the add-on on U3.
        string first = Mutate(LowLatencyRisk.Fixtures.PortfolioFiles.Generated(4),
            n => n["margin"] = JsonNode.Parse("""{ "components": { "sizeAddOns": [ { "underlying": "U0", "baseRate": 0.05, "combine": "sum" } ] } }"""));
        string second = Mutate(first, n =>
        {
            var reversed = n["underlyings"]!.AsArray().Reverse().Select(u => u!.DeepClone()).ToArray();
            n["underlyings"] = new JsonArray(reversed);
        });
        foreach (string body in (string[])[first, second, first, second])
        {
            var (status, answer) = await Post("/margin", body);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(PortfolioMargin.Compute(body).ToJson() + "\n", answer);
        }

        // Negative control: the add-on is there, on U0 and nowhere else.
        using var doc = JsonDocument.Parse(PortfolioMargin.Compute(second).ToJson());
        var parts = doc.RootElement.GetProperty("accounts")[0].GetProperty("underlyings").EnumerateArray().ToList();
        Assert.True(parts.Single(u => u.GetProperty("underlying").GetString() == "U0").GetProperty("sizeAddOn").GetDouble() > 0);
        Assert.All(parts.Where(u => u.GetProperty("underlying").GetString() != "U0"), u => Assert.Equal(0, u.GetProperty("sizeAddOn").GetDouble()));
        Assert.True(_state!.Pool!.Keys >= 2, "the two files' books have keys of their own");
    }

    [Fact]
    public void AScratchBookNotReset_IsNotUsable_NegativeControl()
    {
        // What the reset prevents: a book handed out again as it was left still holds the last
        // request's definitions and positions; the book itself refuses to define them again.
        string portfolio = LowLatencyRisk.Fixtures.PortfolioFiles.Generated(4);
        var leaky = new LeakyBooks();
        var e = Assert.Throws<LowLatencyRisk.Engine.Configuration.ConfigException>(() =>
        {
            PortfolioMargin.Compute(portfolio, "a", leaky);
            PortfolioMargin.Compute(portfolio, "a", leaky);
        });
        Assert.Contains("already defined", e.Message, StringComparison.Ordinal);
        Assert.Equal(PortfolioMargin.Compute(portfolio).ToJson(), PortfolioMargin.Compute(portfolio, "a", new ScratchBookPool()).ToJson());
    }

    private sealed class LeakyBooks : IScratchBooks
    {
        private readonly Dictionary<string, RiskBook> _kept = [];

        public RiskBook Rent(string key, Func<RiskBook> create) => _kept.Remove(key, out var book) ? book : create();

        public void Return(string key, RiskBook book) => _kept[key] = book;
    }

    [Fact]
    public async Task WhatIf_IsTheMarginWithTheOrdersFilled_BeforeAndAfter()
    {
        string portfolio = File.ReadAllText(Examples("portfolio.json"));
        // Buy back the covered call's short call (risk-reducing) and sell 2 more puts in the straddle.
        string orders = """
            [ { "account": "covered-call", "instrument": "BTC-25DEC26-65000-C", "side": "buy", "quantity": 1, "price": 2200 },
              { "account": "short-straddle", "instrument": "BTC-25DEC26-60000-P", "side": "sell", "quantity": 2, "price": 3650 } ]
            """;
        var (status, body) = await Post("/whatif", $"{{ \"portfolio\": {portfolio}, \"orders\": {orders} }}");
        Assert.True(status == HttpStatusCode.OK, body);
        using var doc = JsonDocument.Parse(body);

        // "after" is `llr margin` of the portfolio with the orders appended as positions.
        string filled = Mutate(portfolio, n =>
        {
            n["accounts"]![0]!["positions"]!.AsArray().Add(JsonNode.Parse("""{ "instrument": "BTC-25DEC26-65000-C", "side": "buy", "quantity": 1, "price": 2200 }"""));
            n["accounts"]![1]!["positions"]!.AsArray().Add(JsonNode.Parse("""{ "instrument": "BTC-25DEC26-60000-P", "side": "sell", "quantity": 2, "price": 3650 }"""));
        });
        using var before = JsonDocument.Parse(PortfolioMargin.Compute(portfolio).ToJson());
        using var after = JsonDocument.Parse(PortfolioMargin.Compute(filled).ToJson());
        Assert.True(JsonElement.DeepEquals(before.RootElement, doc.RootElement.GetProperty("before")));
        Assert.True(JsonElement.DeepEquals(after.RootElement, doc.RootElement.GetProperty("after")));
        Assert.False(JsonElement.DeepEquals(before.RootElement, after.RootElement)); // negative control of the comparison

        var changes = doc.RootElement.GetProperty("accounts");
        for (int a = 0; a < 4; a++)
        {
            var c = changes[a];
            double im0 = before.RootElement.GetProperty("accounts")[a].GetProperty("initialMargin").GetDouble();
            double im1 = after.RootElement.GetProperty("accounts")[a].GetProperty("initialMargin").GetDouble();
            Assert.Equal(im0, c.GetProperty("initialMarginBefore").GetDouble());
            Assert.Equal(im1 - im0, c.GetProperty("initialMarginChange").GetDouble());
        }

        // Closing the short call leaves a long perpetual: its scan risk is the plain 15% move of 60,000
        // with the extreme move at 3 × 15% weighted 1/3 (0.45 × 60,000 / 3 = 9,000 = 0.15 × 60,000): 9,000.
        Assert.Equal(9_000, changes[0].GetProperty("initialMarginAfter").GetDouble(), 6);
        Assert.True(changes[1].GetProperty("initialMarginChange").GetDouble() > 0, "selling more puts raises margin");
        Assert.Equal(0, changes[2].GetProperty("initialMarginChange").GetDouble());
        Assert.Equal(1, changes[0].GetProperty("orders").GetInt32());
    }

    public static TheoryData<string, string, string> HostileBodies() => new()
    {
        { "/margin", "", "empty" },
        { "/margin", "null", "null" },
        { "/margin", "[]", "$" },
        { "/margin", "{", "not valid JSON" },
        { "/margin", "portfolio please", "not valid JSON" },
        { "/margin", new string('[', 5000) + new string(']', 5000), "depth" },
        { "/margin", "{ \"valuationTime\": \"2026-11-22T08:00:00Z\", \"underlyings\": [ { \"name\": \"BTC\", \"index\": NaN } ] }", "not valid JSON" },
        { "/margin", "{ \"valuationTime\": \"2026-11-22T08:00:00Z\", \"underlyings\": [ { \"name\": \"BTC\", \"index\": 1e400 } ], \"instruments\": [], \"accounts\": [] }", "underlyings[0].index" },
        { "/margin", "{ \"valuationTime\": \"2026-11-22T08:00:00Z\", \"underlyings\": [ { \"name\": \"BTC\", \"index\": \"60000\" } ] }", "underlyings[0].index" },
        { "/margin", "{ \"valuationTime\": \"2026-11-22T08:00:00Z\", \"surprise\": 1 }", "surprise" },
        { "/margin", "{ \"valuationTime\": \"2026-11-22T08:00:00Z\", \"valuationTime\": \"2026-11-23T08:00:00Z\" }", "valuationTime" },
        { "/margin", "{ \"valuationTime\": \"yesterday\", \"underlyings\": [], \"instruments\": [], \"accounts\": [] }", "valuationTime" },
        { "/margin", "PORTFOLIO:NEGATIVE", "positions[0].quantity" },
        { "/margin", "PORTFOLIO:UNKNOWN-INSTRUMENT", "unknown instrument" },
        { "/margin/svg", "{}", "valuationTime" },
        { "/whatif", "[1, 2]", "$" },
        { "/whatif", "{ \"portfolio\": 1, \"orders\": [] }", "portfolio" },
        { "/whatif", "WHATIF:UNKNOWN-ACCOUNT", "orders[0].account" },
        { "/whatif", "WHATIF:NAN-PRICE", "orders[0].price" },
        { "/whatif", "WHATIF:EXTRA", "$.orderz" },
    };

    private static string Hostile(string body)
    {
        string portfolio = File.ReadAllText(Examples("portfolio.json"));
        return body switch
        {
            "PORTFOLIO:NEGATIVE" => Mutate(portfolio, n => n["accounts"]![0]!["positions"]![0]!["quantity"] = -1),
            "PORTFOLIO:UNKNOWN-INSTRUMENT" => Mutate(portfolio, n => n["accounts"]![0]!["positions"]![0]!["instrument"] = "NOPE"),
            "WHATIF:UNKNOWN-ACCOUNT" => $"{{ \"portfolio\": {portfolio}, \"orders\": [ {{ \"account\": \"nobody\", \"instrument\": \"BTC-PERP\", \"side\": \"buy\", \"quantity\": 1, \"price\": 60000 }} ] }}",
            "WHATIF:NAN-PRICE" => $"{{ \"portfolio\": {portfolio}, \"orders\": [ {{ \"account\": \"covered-call\", \"instrument\": \"BTC-PERP\", \"side\": \"buy\", \"quantity\": 1, \"price\": \"NaN\" }} ] }}",
            "WHATIF:EXTRA" => $"{{ \"portfolio\": {portfolio}, \"orders\": [], \"orderz\": [] }}",
            _ => body,
        };
    }

    [Theory]
    [MemberData(nameof(HostileBodies))]
    public async Task HostileBodies_Get400WithTheProblem_AndTheServiceStillServes(string path, string body, string expected)
    {
        var (status, answer) = await Post(path, Hostile(body));
        Assert.True(status == HttpStatusCode.BadRequest, $"{status}: {answer}");
        using var doc = JsonDocument.Parse(answer);
        var problems = doc.RootElement.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToList();
        Assert.NotEmpty(problems);
        Assert.True(problems.Any(p => p.Contains(expected, StringComparison.Ordinal)), string.Join("\n", problems));
        Assert.DoesNotContain("   at ", answer, StringComparison.Ordinal);

        var (ok, _) = await Post("/margin", File.ReadAllText(Examples("portfolio.json")));
        Assert.Equal(HttpStatusCode.OK, ok);
    }

    [Fact]
    public async Task OversizedAndNonUtf8Bodies_Get400_WithoutBeingParsed()
    {
        var (status, answer) = await Post("/margin", new byte[(256 * 1024) + 1]);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("the limit is 262,144", answer, StringComparison.Ordinal);

        // Chunked (no length given): read up to the limit, then refused.
        using (var content = new StreamContent(new MemoryStream(new byte[300 * 1024])))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _url + "/margin") { Content = content };
            request.Headers.TransferEncodingChunked = true;
            using var response = await _http.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("over the limit", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        (status, answer) = await Post("/margin", [(byte)'{', 0xC3, 0x28, (byte)'}']);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not valid UTF-8", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BoundedLoad_AllAnswered_WithPercentilesReported()
    {
        // Loopback, 4 clients × 100 requests: bounded. Times are reported, never asserted.
        string body = LowLatencyRisk.Fixtures.PortfolioFiles.Generated(4);
        var times = new List<double>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            for (int i = 0; i < 100; i++)
            {
                long start = Stopwatch.GetTimestamp();
                var (status, _) = await Post("/margin", body);
                double us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                Assert.Equal(HttpStatusCode.OK, status);
                lock (times)
                {
                    times.Add(us);
                }
            }
        }));
        times.Sort();
        Assert.Equal(400, times.Count);
        output.WriteLine($"/margin generated portfolio (4 accounts x 20 positions), 4 clients x 100: p50 {times[200]:F0} us, p99 {times[396]:F0} us, max {times[^1]:F0} us; books built {_state!.Pool!.Built}, reused {_state.Pool.Reused}");
        Assert.True(_state.Pool.Reused >= 400, "after warm-up every account's book came from the pool");
    }

    [Fact]
    public async Task BeyondTheConcurrencyLimit_RequestsWait_ThenGet503_AndAreServedOnceThereIsRoom()
    {
        // A service with one computing slot and a 50 ms wait; the test takes the slot itself, so the
        // request cannot get it (deterministic: no race between requests).
        var app = MarginService.Build(new IPEndPoint(IPAddress.Loopback, 0), new ServiceOptions(MaxConcurrent: 1, QueueWait: TimeSpan.FromMilliseconds(50)), out var state);
        await app.StartAsync();
        try
        {
            string url = MarginService.Address(app);
            string body = File.ReadAllText(Examples("portfolio.json"));
            state.Slots.Wait();
            using (var busy = await _http.PostAsync(url + "/margin", new StringContent(body)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
                Assert.Contains("requests at once", await busy.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            state.Slots.Release();
            using var ok = await _http.PostAsync(url + "/margin", new StringContent(body));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Contains("\"busy\":1", await _http.GetStringAsync(url + "/status"), StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Status_CountsRequests_AndThePage_AndExample_AreServed()
    {
        await Post("/margin", "{");
        string status = await _http.GetStringAsync(_url + "/status");
        using var doc = JsonDocument.Parse(status);
        Assert.True(doc.RootElement.GetProperty("refused").GetInt64() >= 1);
        string page = await _http.GetStringAsync(_url + "/");
        Assert.Contains("<title>LowLatencyRisk · margin simulation</title>", page, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllText(Examples("portfolio.json")), await _http.GetStringAsync(_url + "/example"));
    }

    internal static string Mutate(string json, Action<JsonNode> change)
    {
        var node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })!;
        change(node);
        return node.ToJsonString();
    }
}
