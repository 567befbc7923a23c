using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LowLatencyRisk.Operations;

/// <summary>Limits and options of <c>llr serve</c>.</summary>
/// <param name="MaxBodyBytes">Largest request body read; a larger one is refused (400) before it is parsed.</param>
/// <param name="MaxConcurrent">Requests computed at once; others wait up to <paramref name="QueueWait"/>, then 503.</param>
/// <param name="QueueWait">How long a request waits for a computing slot.</param>
/// <param name="Pool">Reuse scratch books between requests (off: built for each account, as <c>llr margin</c> does).</param>
public sealed record ServiceOptions(int MaxBodyBytes = 1 << 20, int MaxConcurrent = 4, TimeSpan QueueWait = default, bool Pool = true)
{
    /// <summary>The wait, 2 s when not given.</summary>
    public TimeSpan Wait => QueueWait == default ? TimeSpan.FromSeconds(2) : QueueWait;
}

/// <summary>
/// <c>llr serve</c>: the margin simulation service (ASP.NET Core minimal API). <c>POST /margin</c>
/// takes a portfolio in the <c>llr margin</c> format and answers the same breakdown as
/// <c>llr margin --format json</c> (the same code, the same numbers); <c>POST /margin/svg</c> the
/// scenario heat map; <c>POST /whatif</c> a portfolio plus orders, margined before and as if the
/// orders filled; <c>GET /</c> a page for people. Bad input answers 400 with the same field-named
/// problems as the command line. Stateless: it is not attached to a running engine.
/// </summary>
public static class MarginService
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Builds the service (not started) on <paramref name="endpoint"/>.</summary>
    public static WebApplication Build(IPEndPoint endpoint, ServiceOptions options, out ServiceState state)
    {
        ArgumentNullException.ThrowIfNull(options);
        var app = MetricsServer.Slim(endpoint, maxConnections: 256, maxBodyBytes: options.MaxBodyBytes + 1L); // one byte more: the service answers 400 itself
        var s = state = new ServiceState(options);

        app.MapGet("/", () => Results.Text(Page.Html, "text/html; charset=utf-8"));
        app.MapGet("/example", () => Results.Text(Page.Example, "application/json; charset=utf-8"));
        app.MapGet("/status", () => Results.Text(s.StatusJson(), "application/json; charset=utf-8"));
        app.MapPost("/margin", (Func<HttpContext, Task<IResult>>)(http => Handle(http, s, body =>
            Results.Text(PortfolioMargin.Compute(body, "request", s.Books).ToJson() + "\n", "application/json; charset=utf-8"))));
        app.MapPost("/margin/svg", (Func<HttpContext, Task<IResult>>)(http => Handle(http, s, body =>
            Results.Text(ScenarioHeatMap.Render(PortfolioMargin.Compute(body, "request", s.Books)), "image/svg+xml; charset=utf-8"))));
        app.MapPost("/whatif", (Func<HttpContext, Task<IResult>>)(http => Handle(http, s, body =>
            Results.Text(WhatIf.Compute(body, s.Books) + "\n", "application/json; charset=utf-8"))));
        return app;
    }

    /// <summary>The address the started service listens on.</summary>
    public static string Address(WebApplication app) => MetricsServer.Address(app);

    private static async Task<IResult> Handle(HttpContext http, ServiceState s, Func<string, IResult> compute)
    {
        Interlocked.Increment(ref s.Requests);
        var (body, problem) = await ReadBody(http.Request, s.Options.MaxBodyBytes).ConfigureAwait(false);
        if (body is null)
        {
            return Refuse(s, [problem!]);
        }

        if (!await s.Slots.WaitAsync(s.Options.Wait, http.RequestAborted).ConfigureAwait(false))
        {
            Interlocked.Increment(ref s.Busy);
            return Results.Json(new ProblemBody("busy", [$"more than {s.Options.MaxConcurrent} requests at once; retry"]), statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        try
        {
            var result = compute(body);
            Interlocked.Increment(ref s.Answered);
            return result;
        }
        catch (ConfigException e)
        {
            return Refuse(s, e.Problems);
        }
        finally
        {
            s.Slots.Release();
        }
    }

    private static IResult Refuse(ServiceState s, IReadOnlyList<string> problems)
    {
        Interlocked.Increment(ref s.Refused);
        return Results.Json(new ProblemBody("invalid request", problems), LlrConfig.JsonOptions, statusCode: StatusCodes.Status400BadRequest);
    }

    /// <summary>The body as strict UTF-8 text, or why not (too large, not UTF-8, empty).</summary>
    private static async Task<(string? Body, string? Problem)> ReadBody(HttpRequest request, int limit)
    {
        if (request.ContentLength > limit)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"$: the body is {request.ContentLength:N0} bytes; the limit is {limit:N0}"));
        }

        var buffer = new byte[Math.Min(limit + 1, (int)(request.ContentLength ?? 64 * 1024) + 1)];
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length > limit)
                    {
                        return (null, string.Create(CultureInfo.InvariantCulture, $"$: the body is over the limit of {limit:N0} bytes"));
                    }

                    Array.Resize(ref buffer, Math.Min(limit + 1, buffer.Length * 2));
                }

                int read = await request.Body.ReadAsync(buffer.AsMemory(length)).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"$: the body is over the limit of {limit:N0} bytes"));
        }
        catch (BadHttpRequestException e)
        {
            return (null, $"$: {e.Message}");
        }

        if (length == 0)
        {
            return (null, "$: the body is empty; send a portfolio (JSON)");
        }

        int start = buffer.AsSpan(0, length).StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        try
        {
            return (StrictUtf8.GetString(buffer, start, length - start), null);
        }
        catch (DecoderFallbackException e)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"$: not valid UTF-8 (byte {start + e.Index + 1} and on); names must be exact"));
        }
    }

    /// <summary>The body of a refusal.</summary>
    public sealed record ProblemBody(string Error, IReadOnlyList<string> Problems);

    /// <summary>What the service counts, and the pool.</summary>
    public sealed class ServiceState
    {
        internal ServiceState(ServiceOptions options)
        {
            Options = options;
            Slots = new SemaphoreSlim(options.MaxConcurrent, options.MaxConcurrent);
            Pool = options.Pool ? new ScratchBookPool(retainedPerKey: Math.Max(4, options.MaxConcurrent * 2)) : null;
        }

        internal ServiceOptions Options { get; }

        internal SemaphoreSlim Slots { get; }

        /// <summary>The scratch-book pool (null when off).</summary>
        public ScratchBookPool? Pool { get; }

        internal IScratchBooks? Books => Pool;

        internal long Requests;
        internal long Answered;
        internal long Refused;
        internal long Busy;

        internal string StatusJson() => JsonSerializer.Serialize(new
        {
            requests = Interlocked.Read(ref Requests),
            answered = Interlocked.Read(ref Answered),
            refused = Interlocked.Read(ref Refused),
            busy = Interlocked.Read(ref Busy),
            pool = Pool is null ? null : new { keys = Pool.Keys, built = Pool.Built, rented = Pool.Rented, reused = Pool.Reused, unpooled = Pool.Unpooled },
        });
    }
}
