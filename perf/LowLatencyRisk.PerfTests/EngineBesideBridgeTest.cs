using System.Diagnostics;
using System.Globalization;
using LowLatencyRisk.Fixtures.Simulation;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// The engine's throughput with a JetStream bridge working beside it on the other core, against the
/// same engine alone: the standard workload at saturation (what <c>engine-throughput</c> runs: the
/// engine thread pinned to CPU 1, the simulator and liquidator on CPU 0), once alone and once while
/// the feed leg between machines (router → nats-server → bridge → a second ring, what
/// <c>bridge-throughput</c> measures) carries a paced stream in a process of its own pinned to
/// CPU 0 (its nats-server too). On two vCPUs the simulator shares CPU 0 with the leg, so a lower
/// figure beside the leg can be the producer's, not the engine's. Rounds interleaved (alone, beside; beside, alone; …);
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
        var flowing = new List<bool>();
        var lines = new List<string>();
        long allocated = 0;
        int collections = 0;
        for (int round = 0; round < rounds; round++)
        {
            foreach (bool withBridge in round % 2 == 0 ? [false, true] : new[] { true, false })
            {
                bool legRunning = false;
                var r = withBridge ? WithBridge(seconds, bridgeRate, out legRunning) : Engine(seconds);
                (withBridge ? beside : alone).Add(r.EventsPerSecond);
                if (withBridge)
                {
                    flowing.Add(legRunning);
                }

                allocated += r.EngineAllocatedBytes;
                collections += r.EngineGcCount;
                string line = string.Create(inv, $"round {round + 1} {(withBridge ? "beside the bridge" : "alone")}: {r.EventsPerSecond / 1e6:F3} M events/s{(withBridge ? $", bridge leg process still running at the end: {legRunning}" : "")}, engine thread {r.EngineAllocatedBytes} B / {r.EngineGcCount} GCs");
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
            ("bridge leg process still running at the end of each run beside", string.Join(", ", flowing)),
            ("engine thread: bytes allocated / GC collections, all runs", $"{allocated} / {collections}"),
            ("runs", string.Join("; ", lines)),
            ("setup", string.Create(inv, $"standard workload at saturation, {seconds} s a run, engine pinned to CPU 1, simulator and liquidator on CPU 0; beside: a process of its own pinned to CPU 0 (`bridge-throughput --paced-only true`: nats-server with JetStream and a file store on loopback, router and bridge) carrying a paced {bridgeRate:N0} msgs/s feed stream into a second ring; {rounds} rounds, order alternating")),
        };
        ResultWriter.Write(options, "engine-beside-bridge", $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- engine-bridge --duration {seconds} --runs {rounds} --bridge-rate {bridgeRate}", table, []);
        return allocated == 0 ? 0 : 1;
    }

    private static EmbeddedVenueReport Engine(double seconds) =>
        EmbeddedVenue.Run(new EmbeddedVenueOptions { Duration = TimeSpan.FromSeconds(seconds), Rate = 0 }, _ => { });

    private static EmbeddedVenueReport WithBridge(double seconds, long rate, out bool legRunning)
    {
        // The leg as its own process (as `llr bridge` is): in the engine's process its allocations'
        // collections would stop the engine thread (seen: 9–11 per 10 s run, 0.43–0.78× throughput).
        long messages = rate * ((long)seconds + 30);
        using var child = Child.Start("bridge-throughput", ("paced-only", "true"), ("rate", rate.ToString(CultureInfo.InvariantCulture)),
            ("latency-count", messages.ToString(CultureInfo.InvariantCulture)));
        PinToCpu0(child.Id);
        Thread.Sleep(3_000); // its server up and the stream flowing before the engine starts
        var report = Engine(seconds);
        legRunning = !child.HasExited; // a leg that failed or ended early would leave the engine alone: said per run
        if (legRunning)
        {
            child.Kill(entireProcessTree: true);
        }

        return report;
    }

    /// <summary>Every thread of the process on CPU 0 (taskset from util-linux; threads and processes it starts later inherit it); a machine without it runs the leg unpinned, said in the output.</summary>
    private static void PinToCpu0(int pid)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("taskset", ["-a", "-c", "-p", "0", pid.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardOutput = true, RedirectStandardError = true });
            p?.WaitForExit();
            if (p is null || p.ExitCode != 0)
            {
                Console.WriteLine("bridge leg not pinned (taskset failed)");
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.WriteLine("bridge leg not pinned (no taskset)");
        }
    }
}
