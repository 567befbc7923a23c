using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LowLatencyRisk.Operations;

/// <summary>
/// <c>llr stats --prometheus ADDRESS:PORT</c>: serves <c>GET /metrics</c> from the engine's counters
/// file, read at each scrape (the engine is never touched and never waits for it). A scrape of a
/// dead or stale engine still answers (with <c>llr_engine_up 0</c>): a missing target would say less.
/// </summary>
public static class MetricsServer
{
    /// <summary>Parses <c>HOST:PORT</c> (an IP address or <c>localhost</c>; port 0 = any free one), or says why not.</summary>
    public static string? ParseEndpoint(string text, out IPEndPoint endpoint)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            return $"'{text}' is not ADDRESS:PORT (for example 127.0.0.1:9464)";
        }

        string host = text[..colon].Trim('[', ']');
        if (host == "localhost")
        {
            endpoint = new IPEndPoint(IPAddress.Loopback, port);
            return null;
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            return $"'{host}' is not an IP address or localhost";
        }

        endpoint = new IPEndPoint(address, port);
        return null;
    }

    /// <summary>
    /// Builds the server (not started) over the counters file at <paramref name="path"/>. The file may be
    /// missing (the engine not started yet, or stopped and cleaned up): the exporter keeps serving,
    /// with <c>llr_engine_up 0</c> and <c>llr_counters_file_present 0</c>, and attaches once the
    /// file appears — a scrape target that vanished would tell the operator less.
    /// <paramref name="staleSeconds"/>: how old the counters may be and the engine still count as up.
    /// </summary>
    public static WebApplication Build(IPEndPoint endpoint, string path, double staleSeconds, EngineCountersView? view = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var app = Slim(endpoint, maxConnections: 64, maxBodyBytes: 0);
        var gate = new Lock();
        app.Lifetime.ApplicationStopped.Register(() => view?.Dispose());
        app.MapGet("/metrics", () =>
        {
            lock (gate)
            {
                if (view is null)
                {
                    if (!File.Exists(path))
                    {
                        return Results.Text(PrometheusExposition.RenderAbsent(), PrometheusExposition.ContentType);
                    }

                    // There but not a counters file (or unreadable): say so, do not pass it off as "no engine".
                    view = EngineCountersView.Open(path, out string? openProblem);
                    if (view is null)
                    {
                        return Results.Text($"llr: {openProblem}\n", "text/plain", statusCode: StatusCodes.Status500InternalServerError);
                    }
                }

                view.FollowReplacement();
                string? problem = null;
                bool read = false, foreign = false;
                for (int attempt = 0; attempt < 10 && !read && !foreign; attempt++)
                {
                    read = view.TryRead(out problem, out foreign);
                }

                if (!read)
                {
                    return Results.Text($"llr: {problem}\n", "text/plain", statusCode: foreign ? StatusCodes.Status500InternalServerError : StatusCodes.Status503ServiceUnavailable);
                }

                var liveness = view.Liveness(staleSeconds, out _, out double age);
                return Results.Text(PrometheusExposition.Render(view.Slots, liveness, age, view.WriterPid), PrometheusExposition.ContentType);
            }
        });
        app.MapGet("/", () => Results.Text("llr metrics exporter: GET /metrics\n"));
        return app;
    }

    /// <summary>A minimal-API application on Kestrel at <paramref name="endpoint"/>: no logging providers, no server header, bounded connections and body.</summary>
    internal static WebApplication Slim(IPEndPoint endpoint, int maxConnections, long maxBodyBytes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(endpoint);
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = maxConnections;
            k.Limits.MaxRequestBodySize = maxBodyBytes;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
        });
        return builder.Build();
    }

    /// <summary>The address the started server listens on (the port chosen when 0 was asked).</summary>
    public static string Address(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var feature = ((IApplicationBuilder)app).ServerFeatures.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>();
        return feature?.Addresses.FirstOrDefault() ?? "?";
    }
}
