using System.Diagnostics;
using System.Globalization;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Gate;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// The out-of-process pre-trade gate: a child process owns the standard workload's risk book and
/// runs <see cref="GateService"/> busy-spinning on the request ring; this process sends paced
/// order checks and measures request → decision round trips from the intended send time.
/// </summary>
public static class GateRoundTripTest
{
    /// <summary>The child role: the gate service.</summary>
    public const string ChildRole = "child-gate-service";

    /// <summary>Runs the test and writes results.</summary>
    public static int Run(Options options)
    {
        if (options.Bool("engine", false))
        {
            return RunAgainstEngine(options);
        }

        long count = options.Long("count", 1_000_000);
        long rate = options.Long("rate", 100_000);
        bool pin = options.Bool("pin", true);
        string requests = Path.Combine(SharedRing.DefaultDirectory, $"llr-perf-gate-req-{Environment.ProcessId}");
        string responses = Path.Combine(SharedRing.DefaultDirectory, $"llr-perf-gate-resp-{Environment.ProcessId}");
        var fromIntended = new LatencyHistogram();
        var service = new LatencyHistogram();
        try
        {
            using var requestRing = SharedRing.CreateMapped(requests, new RingOptions(64, 1024, ProducerMode.Multi));
            using var responseRing = SharedRing.CreateMapped(responses, new RingOptions(64, 1024, ProducerMode.Single));
            long warmUp = count / 10;
            using var child = Child.Start(ChildRole, ("requests", requests), ("responses", responses), ("count", (count + warmUp).ToString(CultureInfo.InvariantCulture)), ("pin", pin.ToString()));
            if (pin)
            {
                CpuAffinity.TryPinCurrentThread(1);
            }

            var client = new GateClient(requestRing.CreateMultiProducer(), responseRing.CreateConsumer(0));
            // The child prints the instrument and price to use once its book is built.
            var (instrument, price) = ReadReady(child);
            long now = StandardWorkload.StartNanos + 1_000;
            PacedRoundTrips(client, count, warmUp, rate, now, fromIntended, service,
                i => new OrderRequest(GateWorkload.Account, instrument, OrderSide.Sell, 0.01, price, OrderType.Limit, i + 1),
                (i, decision) =>
                {
                    if (!decision.Accepted)
                    {
                        throw new InvalidOperationException($"request {i}: {decision}");
                    }
                });

            child.WaitForExit();
        }
        finally
        {
            File.Delete(requests);
            File.Delete(responses);
        }

        var table = new List<(string, string)>
        {
            ("setup", $"client process → mapped request ring → gate service process (standard workload, account with 50 positions, accept path with what-if margin; the service releases each order) → mapped response ring; {rate}/s paced, {count} after 10% warm-up, busy-spin, pinned {pin}"),
            ("round trip p50 / p99 / p99.9 (ns, from intended send)", $"{fromIntended.ValueAtPercentile(50)} / {fromIntended.ValueAtPercentile(99)} / {fromIntended.ValueAtPercentile(99.9)}"),
        };
        ResultWriter.Write(options, "gate-outofprocess", $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- gate-outofprocess --count {count} --rate {rate}", table,
            [("round-trip-from-intended-send", fromIntended), ("round-trip-from-actual-send", service)]);
        return 0;
    }

    private static (int Instrument, double Price) ReadReady(Process child)
    {
        // The child writes "ready INSTRUMENT PRICE" to a file next to the rings (stdout stays the console's).
        string? line = null;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        string path = ReadyPath(child.Id);
        while (DateTime.UtcNow < deadline && (line = File.Exists(path) ? File.ReadAllText(path) : null) is null)
        {
            Thread.Sleep(10);
        }

        File.Delete(path);
        if (line is null)
        {
            throw new TimeoutException("the gate service did not start");
        }

        string[] parts = line.Split(' ');
        return (int.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Sends <paramref name="count"/> + <paramref name="warmUp"/> order checks paced at <paramref name="rate"/>
    /// per second, each built by <paramref name="order"/>, waits for each answer (its correlation id
    /// checked), hands it to <paramref name="answered"/> outside the timed span, and records the
    /// round trip after the warm-up from the intended and from the actual send.
    /// </summary>
    private static void PacedRoundTrips(GateClient client, long count, long warmUp, long rate, long now, LatencyHistogram fromIntended, LatencyHistogram fromSent,
        Func<long, OrderRequest> order, Action<long, Decision> answered)
    {
        long period = Stopwatch.Frequency / rate;
        long start = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 10);
        for (long i = 0; i < count + warmUp; i++)
        {
            var request = order(i);
            long intended = start + (i * period);
            while (Stopwatch.GetTimestamp() < intended)
            {
            }

            long sent = Stopwatch.GetTimestamp();
            client.Send(i, request, now + (i * 1_000));
            long correlation;
            Decision decision;
            while (!client.TryReceive(out correlation, out decision))
            {
            }

            long done = Stopwatch.GetTimestamp();
            if (correlation != i)
            {
                throw new InvalidOperationException($"request {i}: correlation {correlation}, {decision}");
            }

            answered(i, decision);
            if (i >= warmUp)
            {
                fromIntended.Record(Child.TicksToNanos(done - intended));
                fromSent.Record(Child.TicksToNanos(done - sent));
            }
        }
    }

    private static string ReadyPath(int pid) => Path.Combine(Path.GetTempPath(), $"llr-perf-gate-ready-{pid}");

    /// <summary>Child: build the workload and serve until <c>count</c> requests are answered.</summary>
    public static int RunChild(Options options)
    {
        var (w, gate) = GateWorkload.Build();
        using var requestRing = SharedRing.AttachMapped(options.String("requests", ""), readyTimeout: TimeSpan.FromSeconds(10));
        using var responseRing = SharedRing.AttachMapped(options.String("responses", ""), readyTimeout: TimeSpan.FromSeconds(10));
        var serviceLoop = new GateService(gate, requestRing.CreateConsumer(0), responseRing.CreateSingleProducer());
        int instrument = w.Option(0, 4, 6, call: true);
        double price = GateWorkload.OnTick(w.Book.MarkPrice(instrument), w.Book.Instrument(instrument).TickSize);
        if (options.Bool("pin", true))
        {
            CpuAffinity.TryPinCurrentThread(0);
        }

        string tmp = ReadyPath(Environment.ProcessId) + ".tmp";
        File.WriteAllText(tmp, string.Create(CultureInfo.InvariantCulture, $"ready {instrument} {price:R}"));
        File.Move(tmp, ReadyPath(Environment.ProcessId));
        long count = options.Long("count", 0);
        long now = StandardWorkload.StartNanos + 1_000;
        while (serviceLoop.Answered < count)
        {
            long before = serviceLoop.Answered;
            serviceLoop.Poll();
            // Release what was accepted, as the matching engine's cancel would (ids are sequential).
            for (long id = before + 1; id <= serviceLoop.Answered; id++)
            {
                gate.OnOrderEnded(GateWorkload.Account, id, now + (id * 1_000));
            }
        }

        return 0;
    }

    /// <summary>
    /// <c>--engine true</c>: the same paced round trips against a running <c>llr engine</c> process
    /// (CPU 1, busy-spin), which answers on its own thread between feed batches; each accepted
    /// order is then cancelled through the feed ring (an order-lifecycle message), as the matching
    /// engine would, so the engine's feed path runs alongside. The gate keeps every client order id
    /// for its duplicate window, so <c>maxTrackedOrders</c> is raised above the run's count.
    /// </summary>
    private static int RunAgainstEngine(Options options)
    {
        long count = options.Long("count", 1_000_000);
        long rate = options.Long("rate", 100_000);
        string dir = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"llr-perf-gate-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string configPath = Path.Combine(dir, "llr.json");
        File.WriteAllText(configPath, $$"""
            { "rings": { "directory": "{{dir}}" },
              "limits": { "throttleRate": 1e12, "throttleBurst": 1e12, "maxTrackedOrders": 4194304 },
              "engine": { "cpu": 1, "wait": "busySpin", "warmupMessages": 200000 } }
            """);
        var config = Engine.Configuration.LlrConfig.Load(configPath);
        var w = config.BuildWorkload();
        int instrument = w.Option(0, 4, 6, call: true);
        double price = GateWorkload.OnTick(w.Book.MarkPrice(instrument), w.Book.Instrument(instrument).TickSize);
        const int Account = 0;
        var engineOutput = new List<string>();
        using var engine = Child.StartLlrEngine(configPath, engineOutput);
        var fromIntended = new LatencyHistogram();
        var fromSent = new LatencyHistogram();
        long rejected = 0;
        bool pinned;
        try
        {
            var g = config.Gate;
            using var requestRing = SharedRing.AttachMapped(config.PathOf(g.RequestsOf(0)), new RingOptions(64, g.Capacity, ProducerMode.Multi));
            using var responseRing = SharedRing.AttachMapped(config.PathOf(g.ResponsesOf(0)), new RingOptions(64, g.Capacity, ProducerMode.Single));
            using var feedRing = SharedRing.AttachMapped(config.PathOf(config.Rings.Feed), new RingOptions(Engine.Wire.FeedMessageDescriptor.SlotSize, config.Rings.FeedCapacity, ProducerMode.Multi));
            pinned = CpuAffinity.TryPinCurrentThread(0);
            var client = new GateClient(requestRing.CreateMultiProducer(), responseRing.CreateConsumer(0));
            var feed = feedRing.CreateMultiProducer();
            long warmUp = count / 10;
            long now = StandardWorkload.StartNanos + 1_000;
            PacedRoundTrips(client, count, warmUp, rate, now, fromIntended, fromSent,
                i => new OrderRequest(Account, instrument, OrderSide.Sell, 0.01, price, OrderType.Limit, i + 1),
                (i, decision) =>
                {
                    if (!decision.Accepted)
                    {
                        if (rejected++ == 0)
                        {
                            Console.WriteLine($"first reject: order {i}, {decision}");
                        }

                        return;
                    }

                    // The matching engine cancels it: the gate releases its working exposure.
                    long slot;
                    while (!feed.TryClaim(1, out slot))
                    {
                    }

                    var m = feed.Payload(slot);
                    Engine.Wire.FeedMessageDescriptor.WriteHeader(m, Engine.Wire.FeedMessageType.OrderLifecycle, 3, i + 1, now + (i * 1_000) + 500, 0);
                    Engine.Wire.FeedMessageDescriptor.WriteOrderLifecycle(m, Account, Engine.Wire.OrderLifecycleEvent.Cancelled, i + 1, 0);
                    feed.Publish(slot);
                });
        }
        finally
        {
            Child.StopLlrEngine(engine, engineOutput);
            Directory.Delete(dir, recursive: true);
        }

        if (rejected > 0)
        {
            throw new InvalidOperationException($"{rejected} of the order checks were rejected: the accept path was not what was measured");
        }

        string engineThread = engineOutput.LastOrDefault(l => l.Contains("engine thread", StringComparison.Ordinal)) ?? "?";
        var table = new List<(string, string)>
        {
            ("setup", $"client (CPU 0, pinned {pinned}) → mapped request ring → the `llr engine` process (CPU 1, busy-spin; standard workload; account 0 selling a call: accept path with what-if margin) → mapped response ring; each accepted order then cancelled through the feed ring; {rate}/s paced, {count} after 10% warm-up"),
            ("round trip p50 / p99 / p99.9 (ns, from intended send)", $"{fromIntended.ValueAtPercentile(50)} / {fromIntended.ValueAtPercentile(99)} / {fromIntended.ValueAtPercentile(99.9)}"),
            ("round trip p50 / p99 (ns, from actual send)", $"{fromSent.ValueAtPercentile(50)} / {fromSent.ValueAtPercentile(99)}"),
            ("engine process", engineThread.Replace("llr engine: ", "", StringComparison.Ordinal)),
        };
        foreach (var (name, value) in table)
        {
            Console.WriteLine($"| {name} | {value} |");
        }

        ResultWriter.Write(options, "gate-engine", $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- gate-outofprocess --engine true --count {count} --rate {rate}", table,
            [("round-trip-from-intended-send", fromIntended), ("round-trip-from-actual-send", fromSent)]);
        return 0;
    }
}
