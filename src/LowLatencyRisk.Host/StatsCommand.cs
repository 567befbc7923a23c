using System.CommandLine;
using System.Globalization;
using LowLatencyRisk.Operations;
using Spectre.Console;

namespace LowLatencyRisk.Host;

/// <summary>
/// <c>llr stats</c>: a live view of a running engine's counters file (read-only for the engine: a
/// sequence-locked copy). A terminal gets a screen redrawn in place; redirected output gets one
/// timestamped line per interval (for logs); <c>--once</c> prints one block and exits;
/// <c>--prometheus ADDRESS:PORT</c> serves <c>/metrics</c> instead.
/// </summary>
internal static class StatsCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var config = CommandSupport.ConfigOption();
        var file = new Option<string?>("--counters") { Description = "Counters file (default: rings.counters of the configuration)." };
        var once = new Option<bool>("--once") { Description = "Print one snapshot and exit (5 if the engine is stale or dead)." };
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes.", DefaultValueFactory = _ => 1 };
        var staleAfter = new Option<double>("--stale-after") { Description = "Seconds without an update after which the engine is shown as STALE (--once then exits with 5).", DefaultValueFactory = _ => 2 };
        var prometheus = new Option<string?>("--prometheus") { Description = "Serve the counters as Prometheus metrics on ADDRESS:PORT (GET /metrics) instead of showing them; port 0 picks a free one." };
        var duration = CommandSupport.DurationOption("until SIGINT/SIGTERM");
        var command = new Command("stats", "Show the counters of a running engine: events by type, rejects by reason, breaches by state, ring lag, feed latency; a stopped or hung engine is shown as DEAD or STALE.")
        {
            config, file, once, interval, staleAfter, prometheus, duration,
        };
        command.SetAction(parse =>
        {
            double seconds = parse.GetValue(interval);
            double stale = parse.GetValue(staleAfter);
            if (!(seconds >= 0.1 && seconds <= 3600) || !(stale > 0 && stale <= 86_400))
            {
                Console.Error.WriteLine("llr stats: --interval must be 0.1..3600 seconds and --stale-after 0..86400 seconds (above 0).");
                return 2;
            }

            System.Net.IPEndPoint? endpoint = null;
            if (parse.GetValue(prometheus) is { } listen)
            {
                if (MetricsServer.ParseEndpoint(listen, out var parsed) is { } bad)
                {
                    Console.Error.WriteLine($"llr stats: --prometheus: {bad}.");
                    return 2;
                }

                endpoint = parsed;
            }

            string? path = parse.GetValue(file);
            if (path is null)
            {
                var c = CommandSupport.LoadConfig("stats", parse.GetValue(config));
                if (c is null)
                {
                    return 2;
                }

                path = c.PathOf(c.Rings.Counters);
            }

            if (endpoint is not null)
            {
                // The exporter serves whether or not the engine runs yet: a missing file reads as down.
                return Serve(path, endpoint, stale, parse.GetValue(duration));
            }

            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"llr stats: {path} does not exist (is `llr engine` running with this configuration?)");
                return 3;
            }

            using var view = EngineCountersView.Open(path, out string? problem);
            if (view is null)
            {
                Console.Error.WriteLine($"llr stats: {problem}");
                return 3;
            }

            if (parse.GetValue(once))
            {
                if (!Read(view))
                {
                    return 3;
                }

                var liveness = view.Liveness(stale, out string status, out _);
                Console.Write(StatsViews.Block(view.Slots, null, seconds, view.WriterPid, status));
                return liveness == EngineLiveness.Live ? 0 : 5;
            }

            using var stop = CommandSupport.StopSource(parse.GetValue(duration), out var signals);
            using (signals)
            {
                return Console.IsOutputRedirected ? Lines(view, seconds, stale, stop.Token) : Screen(view, seconds, stale, stop.Token);
            }
        });
        return command;
    }

    /// <summary>Reads one copy, retrying while the writer is busy; false (said) for a file of another layout.</summary>
    private static bool Read(EngineCountersView view)
    {
        while (true)
        {
            if (view.TryRead(out string? problem, out bool foreign))
            {
                return true;
            }

            Console.Error.WriteLine($"llr stats: {problem}{(foreign ? "." : "; retrying")}");
            if (foreign)
            {
                return false;
            }

            Thread.Sleep(10);
        }
    }

    private static int Lines(EngineCountersView view, double seconds, double stale, CancellationToken stop)
    {
        long[]? previous = null;
        while (!stop.IsCancellationRequested)
        {
            if (view.FollowReplacement())
            {
                previous = null;
                Console.WriteLine($"{DateTimeOffset.UtcNow.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} llr stats: {view.Path} was replaced (a new engine); following it");
            }

            if (!Read(view))
            {
                return 3;
            }

            var liveness = view.Liveness(stale, out _, out _);
            Console.WriteLine(StatsViews.Line(DateTimeOffset.UtcNow, view.Slots, previous, seconds, liveness));
            previous = (long[])view.Slots.Clone();
            stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(seconds));
        }

        return 0;
    }

    private static int Screen(EngineCountersView view, double seconds, double stale, CancellationToken stop)
    {
        long[]? previous = null;
        int code = 0;
        var console = AnsiConsole.Console;
        console.Live(new Markup("llr stats: reading the counters…")).AutoClear(false).Start(live =>
        {
            while (!stop.IsCancellationRequested)
            {
                view.FollowReplacement();
                if (!Read(view))
                {
                    code = 3;
                    return;
                }

                var liveness = view.Liveness(stale, out string status, out _);
                live.UpdateTarget(StatsViews.Screen(view.Slots, previous, seconds, view.WriterPid, liveness, status));
                live.Refresh();
                previous = (long[])view.Slots.Clone();
                stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(seconds));
            }
        });
        return code;
    }

    private static int Serve(string path, System.Net.IPEndPoint endpoint, double stale, double duration)
    {
        using var stop = CommandSupport.StopSource(duration, out var signals);
        using (signals)
        {
            var app = MetricsServer.Build(endpoint, path, stale);
            try
            {
                app.StartAsync(stop.Token).GetAwaiter().GetResult();
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"llr stats: cannot listen on {endpoint}: {e.Message}");
                return 3;
            }

            Console.WriteLine(string.Create(Inv, $"llr stats: serving {MetricsServer.Address(app)}/metrics from {path}{(File.Exists(path) ? "" : " (not there yet: llr_engine_up 0 until it is)")}"));
            stop.Token.WaitHandle.WaitOne();
            app.StopAsync().GetAwaiter().GetResult();
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        return 0;
    }
}
