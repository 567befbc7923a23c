using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// Round trip over two single-producer mapped rings (ping, pong) with an echo at the far end, in a
/// child process (or a thread). Sends are paced at a fixed rate and each latency is measured from
/// the intended send time, so a stall delays every later message in the histogram too (no
/// coordinated omission); the service time from the actual send is recorded alongside.
/// </summary>
public static class RingPingPongTest
{
    /// <summary>The child process role: the echo.</summary>
    public const string ChildRole = "child-ring-echo";

    /// <summary>Runs the test and writes results.</summary>
    public static int Run(Options options)
    {
        bool cross = options.Bool("cross-process", true);
        long count = options.Long("count", 1_000_000);
        long rate = options.Long("rate", 100_000);
        int runs = (int)options.Long("runs", 3);
        bool pin = options.Bool("pin", true);
        bool cPeer = options.String("peer", "csharp") == "c";
        var fromIntended = new LatencyHistogram();
        var service = new LatencyHistogram();
        var medians = new List<double>();
        var table = new List<(string, string)>();
        for (int run = 0; run < runs; run++)
        {
            var h = new LatencyHistogram();
            var s = new LatencyHistogram();
            string ping = Path.Combine(SharedRing.DefaultDirectory, $"llr-perf-ping-{Environment.ProcessId}-{run}");
            string pong = Path.Combine(SharedRing.DefaultDirectory, $"llr-perf-pong-{Environment.ProcessId}-{run}");
            try
            {
                RunOnce(ping, pong, cross || cPeer, count, rate, pin, h, s, cPeer);
            }
            finally
            {
                File.Delete(ping);
                File.Delete(pong);
            }

            medians.Add(h.ValueAtPercentile(50));
            table.Add(($"run {run + 1} p50 / p99 / p99.9 / max (ns)", $"{h.ValueAtPercentile(50)} / {h.ValueAtPercentile(99)} / {h.ValueAtPercentile(99.9)} / {h.Max}"));
            Console.WriteLine($"run {run + 1}: p50 {h.ValueAtPercentile(50)} ns, p99 {h.ValueAtPercentile(99)} ns, p99.9 {h.ValueAtPercentile(99.9)} ns, max {h.Max} ns");
            fromIntended.Add(h);
            service.Add(s);
        }

        table.Insert(0, ("median of run p50s (ns)", Child.Median(medians).ToString("F0", CultureInfo.InvariantCulture)));
        table.Insert(1, ("setup", $"{(cPeer ? "C# sender ↔ C echo process" : cross ? "cross-process" : "cross-thread")}, two SP mapped rings, 64 B slots, busy-spin, pinned {pin}, {rate} round trips/s paced, {count} per run after 10% warm-up, {runs} runs merged"));
        string name = cPeer ? "ring-pingpong-c-echo" : cross ? "ring-pingpong-cross-process" : "ring-pingpong-cross-thread";
        ResultWriter.Write(options, name, $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- ring-pingpong --cross-process {cross.ToString().ToLowerInvariant()}{(cPeer ? " --peer c" : "")} --count {count} --rate {rate} --runs {runs}",
            table, [("round-trip-from-intended-send", fromIntended), ("round-trip-from-actual-send", service)]);
        return 0;
    }

    private static void RunOnce(string pingPath, string pongPath, bool cross, long count, long rate, bool pin, LatencyHistogram fromIntended, LatencyHistogram service, bool cPeer)
    {
        var options = new RingOptions(64, 1024, ProducerMode.Single);
        using var ping = SharedRing.CreateMapped(pingPath, options);
        using var pong = SharedRing.CreateMapped(pongPath, options);
        long warmUp = count / 10;
        long total = count + warmUp;
        Process? child = null;
        Thread? thread = null;
        if (cPeer)
        {
            child = pin
                ? Child.StartNativeBench("echo", pingPath, pongPath, total.ToString(CultureInfo.InvariantCulture), "0")
                : Child.StartNativeBench("echo", pingPath, pongPath, total.ToString(CultureInfo.InvariantCulture));
        }
        else if (cross)
        {
            child = Child.Start(ChildRole, ("ping", pingPath), ("pong", pongPath), ("count", total.ToString(CultureInfo.InvariantCulture)), ("pin", pin.ToString()));
        }
        else
        {
            thread = new Thread(() => Echo(ping, pong, total, pin)) { IsBackground = true };
            thread.Start();
        }

        if (pin)
        {
            CpuAffinity.TryPinCurrentThread(1);
        }

        var producer = ping.CreateSingleProducer();
        var consumer = pong.CreateConsumer(0);
        var wait = new BusySpinWait();
        var handler = new LastHandler();
        long period = Stopwatch.Frequency / rate;
        long start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 10;
        for (long i = 0; i < total; i++)
        {
            long intended = start + (i * period);
            while (Stopwatch.GetTimestamp() < intended)
            {
            }

            long sent = Stopwatch.GetTimestamp();
            long s = producer.Claim(1, ref wait);
            MemoryMarshal.Write(producer.Payload(s), i);
            producer.Publish(s);
            while (consumer.Poll(ref handler) == 0)
            {
            }

            long now = Stopwatch.GetTimestamp();
            if (handler.Last != i)
            {
                throw new InvalidOperationException($"echo {handler.Last} for {i}");
            }

            if (i >= warmUp)
            {
                fromIntended.Record(Child.TicksToNanos(now - intended));
                service.Record(Child.TicksToNanos(now - sent));
            }
        }

        child?.WaitForExit();
        thread?.Join();
    }

    /// <summary>Child process: echo every ping back on pong.</summary>
    public static int RunChild(Options options)
    {
        using var ping = SharedRing.AttachMapped(options.String("ping", ""), readyTimeout: TimeSpan.FromSeconds(10));
        using var pong = SharedRing.AttachMapped(options.String("pong", ""), readyTimeout: TimeSpan.FromSeconds(10));
        Echo(ping, pong, options.Long("count", 0), options.Bool("pin", true));
        return 0;
    }

    private static void Echo(SharedRing ping, SharedRing pong, long count, bool pin)
    {
        if (pin)
        {
            CpuAffinity.TryPinCurrentThread(0);
        }

        var consumer = ping.CreateConsumer(0);
        var handler = new EchoHandler(pong.CreateSingleProducer());
        while (handler.Count < count)
        {
            consumer.Poll(ref handler);
        }
    }

    private struct LastHandler : IRingHandler
    {
        public long Last;

        public void OnMessage(long sequence, ReadOnlySpan<byte> payload) => Last = MemoryMarshal.Read<long>(payload);
    }

    private struct EchoHandler(SingleProducer producer) : IRingHandler
    {
        public long Count;

        public void OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
            var wait = new BusySpinWait();
            long s = producer.Claim(1, ref wait);
            payload[..8].CopyTo(producer.Payload(s));
            producer.Publish(s);
            Count++;
        }
    }
}
