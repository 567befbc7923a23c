using System.Diagnostics;
using System.Globalization;
using LowLatencyRisk.Distributed;
using LowLatencyRisk.Fixtures.Simulation;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// The engine's throughput with a JetStream bridge working beside it on the other core, against the
/// same engine alone: the standard workload at saturation (what <c>engine-throughput</c> runs: the
/// engine thread pinned to CPU 1, the simulator and liquidator on CPU 0), once alone and once while
/// the feed leg between machines (router → nats-server → bridge → a second ring, what
/// <c>bridge-throughput</c> measures) carries a paced stream, with nats-server pinned to CPU 0 and
/// the bridge's tasks on the thread pool. Rounds interleaved (alone, beside; beside, alone; …);
/// the engine thread's allocation is reported for every run. Loopback: a real network moves the
/// server's work to another machine, so this is the harder case for the engine's core.
/// </summary>
public static class EngineBesideBridgeTest
{
    /// <summary>Runs the test and writes results.</summary>
    public static int Run(Options options)
    {
        double seconds = options.Long("duration", 10);
        int rounds = (int)options.Long("runs", 3);
        long bridgeRate = options.Long("bridge-rate", 20_000);
        var inv = CultureInfo.InvariantCulture;
        var alone = new List<double>();
        var beside = new List<double>();
        var delivered = new List<double>();
        var lines = new List<string>();
        long allocated = 0;
        int collections = 0;
        for (int round = 0; round < rounds; round++)
        {
            foreach (bool withBridge in round % 2 == 0 ? [false, true] : new[] { true, false })
            {
                double leg = 0;
                var r = withBridge ? WithBridge(seconds, bridgeRate, out leg) : Engine(seconds);
                (withBridge ? beside : alone).Add(r.EventsPerSecond);
                if (withBridge)
                {
                    delivered.Add(leg);
                }

                allocated += r.EngineAllocatedBytes;
                collections += r.EngineGcCount;
                string line = string.Create(inv, $"round {round + 1} {(withBridge ? "beside the bridge" : "alone")}: {r.EventsPerSecond / 1e6:F3} M events/s{(withBridge ? $", bridge delivered {leg / 1e3:F1} k msgs/s" : "")}, engine thread {r.EngineAllocatedBytes} B / {r.EngineGcCount} GCs");
                lines.Add(line);
                Console.WriteLine(line);
            }
        }

        double ratio = Child.Median(beside) / Child.Median(alone);
        var table = new List<(string, string)>
        {
            ("engine alone, median (M events/s)", (Child.Median(alone) / 1e6).ToString("F3", inv)),
            ("engine beside the bridge, median (M events/s)", (Child.Median(beside) / 1e6).ToString("F3", inv)),
            ("beside / alone (medians)", ratio.ToString("F3", inv)),
            ("paired ratios by round", string.Join(", ", beside.Zip(alone, (b, a) => (b / a).ToString("F3", inv)))),
            ("bridge delivered into its ring (k msgs/s, each run beside)", string.Join(", ", delivered.Select(d => (d / 1e3).ToString("F1", inv)))),
            ("engine thread: bytes allocated / GC collections, all runs", $"{allocated} / {collections}"),
            ("runs", string.Join("; ", lines)),
            ("setup", string.Create(inv, $"standard workload at saturation, {seconds} s a run, engine pinned to CPU 1, simulator and liquidator on CPU 0; beside: nats-server (JetStream, file store, loopback) pinned to CPU 0, router and bridge tasks on the thread pool, a paced {bridgeRate:N0} msgs/s feed stream routed and bridged into a second ring; {rounds} rounds, order alternating")),
        };
        ResultWriter.Write(options, "engine-beside-bridge", $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- engine-bridge --duration {seconds} --runs {rounds} --bridge-rate {bridgeRate}", table, []);
        return allocated == 0 ? 0 : 1;
    }

    private static EmbeddedVenueReport Engine(double seconds) =>
        EmbeddedVenue.Run(new EmbeddedVenueOptions { Duration = TimeSpan.FromSeconds(seconds), Rate = 0 }, _ => { });

    private static EmbeddedVenueReport WithBridge(double seconds, long rate, out double deliveredPerSecond)
    {
        using var server = LocalJetStreamServer.Start();
        PinToCpu0(server.ProcessId);
        using var end = new CancellationTokenSource();
        var leg = Task.Run(() => BridgeThroughputTest.RunOnce(server.Url, 256, long.MaxValue, rate, null, end.Token));
        Thread.Sleep(500); // the leg is flowing before the engine starts
        var report = Engine(seconds);
        end.Cancel();
        deliveredPerSecond = leg.GetAwaiter().GetResult().Delivered;
        return report;
    }

    /// <summary>Every thread of the process on CPU 0 (taskset from util-linux); a machine without it runs the server unpinned, said in the output.</summary>
    private static void PinToCpu0(int pid)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("taskset", ["-a", "-c", "-p", "0", pid.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardOutput = true, RedirectStandardError = true });
            p?.WaitForExit();
            if (p is null || p.ExitCode != 0)
            {
                Console.WriteLine("nats-server not pinned (taskset failed)");
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.WriteLine("nats-server not pinned (no taskset)");
        }
    }
}
