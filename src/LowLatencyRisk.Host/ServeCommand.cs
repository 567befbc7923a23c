using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using LowLatencyRisk.Operations;

namespace LowLatencyRisk.Host;

/// <summary><c>llr serve</c>: the margin simulation service and its page.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "ADDRESS:PORT to serve on (port 0 picks a free one). Loopback by default: put a proxy with authentication in front before exposing it.", DefaultValueFactory = _ => "127.0.0.1:8080" };
        var maxBody = CommandSupport.NonNegative(new Option<int>("--max-body-bytes") { Description = "Largest request body; larger ones are refused (400).", DefaultValueFactory = _ => 1 << 20 }, max: 64 << 20);
        var maxConcurrent = CommandSupport.NonNegative(new Option<int>("--max-concurrent") { Description = "Requests computed at once; others wait up to 2 s, then 503.", DefaultValueFactory = _ => Math.Max(2, Environment.ProcessorCount * 2) }, max: 1024);
        var noPool = new Option<bool>("--no-pool") { Description = "Build every scratch book anew instead of reusing them (for comparison)." };
        var duration = CommandSupport.DurationOption("until SIGINT/SIGTERM");
        var command = new Command("serve", "Serve the margin simulation API (POST /margin, /margin/svg, /whatif) and a page to paste a portfolio into.")
        {
            listen, maxBody, maxConcurrent, noPool, duration,
        };
        command.SetAction(parse =>
        {
            var started = Stopwatch.GetTimestamp();
            if (MetricsServer.ParseEndpoint(parse.GetValue(listen)!, out var endpoint) is { } bad)
            {
                Console.Error.WriteLine($"llr serve: --listen: {bad}.");
                return 2;
            }

            if (parse.GetValue(maxBody) < 1024 || parse.GetValue(maxConcurrent) < 1)
            {
                Console.Error.WriteLine("llr serve: --max-body-bytes must be at least 1024 and --max-concurrent at least 1.");
                return 2;
            }

            var options = new ServiceOptions(parse.GetValue(maxBody), parse.GetValue(maxConcurrent), Pool: !parse.GetValue(noPool));
            using var stop = CommandSupport.StopSource(parse.GetValue(duration), out var signals);
            using (signals)
            {
                var app = MarginService.Build(endpoint, options, out var state);
                try
                {
                    app.StartAsync(stop.Token).GetAwaiter().GetResult();
                }
                catch (IOException e)
                {
                    Console.Error.WriteLine($"llr serve: cannot listen on {endpoint}: {e.Message}");
                    return 3;
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"llr serve: serving {MarginService.Address(app)}/ (POST /margin, /margin/svg, /whatif; GET /status) — ready in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms; pool {(options.Pool ? "on" : "off")}, body limit {options.MaxBodyBytes:N0} bytes, {options.MaxConcurrent} at once"));
                stop.Token.WaitHandle.WaitOne();
                app.StopAsync().GetAwaiter().GetResult();
                app.DisposeAsync().AsTask().GetAwaiter().GetResult();
                var pool = state.Pool;
                Console.WriteLine(pool is null ? "llr serve: stopped" : string.Create(CultureInfo.InvariantCulture, $"llr serve: stopped; scratch books built {pool.Built:N0}, reused {pool.Reused:N0}"));
            }

            return 0;
        });
        return command;
    }
}
