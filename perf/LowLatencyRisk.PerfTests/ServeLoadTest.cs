using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// <c>serve-load</c>: <c>POST /margin</c> of the example portfolio against a real <c>llr serve</c> on
/// loopback, a bounded load (--clients concurrent clients × --requests each), with the scratch-book pool
/// on and off in interleaved rounds; the start-up of <c>llr serve</c> (process start → listening) and of
/// <c>llr stats --once</c> (process start → exit).
/// </summary>
public static class ServeLoadTest
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(Options options)
    {
        int clients = (int)options.Long("clients", 4), requests = (int)options.Long("requests", 2_000), rounds = (int)options.Long("rounds", 3);
        string portfolio = options.String("portfolio", "medium");
        string body = portfolio switch
        {
            "example" => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", "portfolio.json")),
            "large" => Fixtures.PortfolioFiles.Generated(50),
            _ => Fixtures.PortfolioFiles.Generated(4),
        };
        var histograms = new Dictionary<bool, LatencyHistogram> { [true] = new(), [false] = new() };
        var startups = new List<double>();
        var table = new List<(string, string)>();
        for (int round = 0; round < rounds; round++)
        {
            foreach (bool pool in round % 2 == 0 ? (bool[])[true, false] : [false, true])
            {
                var round1 = new LatencyHistogram();
                var (server, url, startup) = StartServe(pool);
                startups.Add(startup);
                try
                {
                    Load(url, body, 1, 500, null); // warm-up: JIT, connection, pool filled
                    var clock = Stopwatch.StartNew();
                    Load(url, body, clients, requests, round1);
                    double seconds = clock.Elapsed.TotalSeconds;
                    histograms[pool].Add(round1);
                    string books = Stop(server);
                    string line = string.Create(Inv, $"round {round + 1}, pool {(pool ? "on " : "off")}: p50 {round1.ValueAtPercentile(50) / 1e3:F0} µs, p99 {round1.ValueAtPercentile(99) / 1e3:F0} µs, {clients * requests / seconds:F0} requests/s; serve ready after {startup:F0} ms; {books}");
                    Console.WriteLine(line);
                    table.Add(($"round {round + 1}, pool {(pool ? "on" : "off")}", line[(line.IndexOf(':', StringComparison.Ordinal) + 2)..]));
                }
                finally
                {
                    if (!server.HasExited)
                    {
                        server.Kill();
                    }

                    server.Dispose();
                }
            }
        }

        var stats = StatsOnce((int)options.Long("stats-runs", 10));
        startups.Sort();
        stats.Sort();
        table.Add(("llr serve start-up (process start → listening), median of " + startups.Count, string.Create(Inv, $"{startups[startups.Count / 2]:F0} ms (min {startups[0]:F0}, max {startups[^1]:F0})")));
        table.Add(("llr stats --once (process start → exit), median of " + stats.Count, string.Create(Inv, $"{stats[stats.Count / 2]:F0} ms (min {stats[0]:F0}, max {stats[^1]:F0})")));
        table.Add(("load", $"{clients} clients × {requests} requests per round, after 500 warm-up requests; portfolio {portfolio} ({Describe(portfolio)})"));
        ResultWriter.Write(options, $"serve-load-{portfolio}", $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- serve-load --portfolio {portfolio} --clients {clients} --requests {requests} --rounds {rounds}", table,
            [("margin-pool-on", histograms[true]), ("margin-pool-off", histograms[false])]);
        return 0;
    }

    private static string Describe(string portfolio) => portfolio switch
    {
        "example" => "examples/portfolio.json: 4 accounts of 1–3 positions, 2 underlyings; below the pooling threshold",
        "large" => "4 accounts × 204 positions on 4 underlyings, pooled",
        _ => "4 accounts × 20 positions on 4 underlyings, pooled",
    };

    private static (Process Server, string Url, double StartupMs) StartServe(bool pool)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        };
        foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "llr.dll"), "serve", "--listen", "127.0.0.1:0", "--max-concurrent", "4", .. pool ? Array.Empty<string>() : ["--no-pool"]])
        {
            info.ArgumentList.Add(a);
        }

        long start = Stopwatch.GetTimestamp();
        var server = Process.Start(info) ?? throw new InvalidOperationException("cannot start llr serve");
        string? line;
        while ((line = server.StandardOutput.ReadLine()) is not null)
        {
            if (line.StartsWith("llr serve: serving ", StringComparison.Ordinal))
            {
                return (server, line.Split(' ')[3] + "margin", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        throw new InvalidOperationException("llr serve exited before listening");
    }

    private static string Stop(Process server)
    {
        using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(Inv)]))
        {
            kill.WaitForExit();
        }

        string rest = server.StandardOutput.ReadToEnd();
        server.WaitForExit();
        int at = rest.IndexOf("scratch books", StringComparison.Ordinal);
        return at < 0 ? "books built for every account" : rest[at..].Trim();
    }

    private static void Load(string url, string body, int clients, int requests, LatencyHistogram? into)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var payload = Encoding.UTF8.GetBytes(body);
        var locals = new LatencyHistogram[clients];
        Parallel.For(0, clients, new ParallelOptions { MaxDegreeOfParallelism = clients }, c =>
        {
            var h = locals[c] = new LatencyHistogram();
            for (int i = 0; i < requests; i++)
            {
                using var content = new ByteArrayContent(payload);
                long start = Stopwatch.GetTimestamp();
                using var response = http.PostAsync(url, content).GetAwaiter().GetResult();
                _ = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
                h.Record((long)Stopwatch.GetElapsedTime(start).TotalNanoseconds);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"POST /margin answered {response.StatusCode}");
                }
            }
        });
        foreach (var h in locals)
        {
            into?.Add(h);
        }
    }

    /// <summary>Wall time of <c>llr stats --once</c> on a live counters file this process writes.</summary>
    private static List<double> StatsOnce(int runs)
    {
        string path = Path.Combine(Path.GetTempPath(), $"llr-perf-counters-{Environment.ProcessId}");
        using var counters = SharedCounters.Create(path, EngineCountersLayout.Count);
        var slots = new long[EngineCountersLayout.Count];
        slots[EngineCountersLayout.Layout] = EngineCountersLayout.LayoutId;
        var times = new List<double>();
        try
        {
            for (int i = 0; i < runs; i++)
            {
                counters.Publish(slots, MonotonicClock.Now());
                var info = new ProcessStartInfo(Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet") { UseShellExecute = false, RedirectStandardOutput = true };
                foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "llr.dll"), "stats", "--counters", path, "--once", "--stale-after", "60"])
                {
                    info.ArgumentList.Add(a);
                }

                long start = Stopwatch.GetTimestamp();
                using var stats = Process.Start(info)!;
                stats.StandardOutput.ReadToEnd();
                stats.WaitForExit();
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (stats.ExitCode != 0)
                {
                    throw new InvalidOperationException($"llr stats --once exited {stats.ExitCode}");
                }
            }
        }
        finally
        {
            File.Delete(path);
        }

        return times;
    }
}
