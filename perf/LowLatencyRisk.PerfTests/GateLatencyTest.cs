using System.Diagnostics;
using System.Globalization;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc.Native;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// The in-process pre-trade check on the standard workload (account with 50 positions across 2
/// underlyings): a latency histogram of single checks (timed one by one with the monotonic clock,
/// whose own cost of about 20 ns is included) and the throughput of back-to-back checks on one core.
/// Orders alternate between the accept path and the margin-reject path; accepted orders are released.
/// </summary>
public static class GateLatencyTest
{
    /// <summary>Runs the test and writes results.</summary>
    public static int Run(Options options)
    {
        long checks = options.Long("checks", 10_000_000);
        bool pin = options.Bool("pin", true);
        if (pin)
        {
            CpuAffinity.TryPinCurrentThread(1);
        }

        var (w, gate) = GateWorkload.Build();
        int option = w.Option(0, 4, 6, call: true);
        double tick = w.Book.Instrument(option).TickSize;
        double price = GateWorkload.OnTick(w.Book.MarkPrice(option), tick);
        int perp = w.Perpetuals[0];
        double perpPrice = GateWorkload.OnTick(StandardWorkload.InitialIndex(0), w.Book.Instrument(perp).TickSize);
        long now = StandardWorkload.StartNanos + 1_000;
        long id = 0;
        var histogram = new LatencyHistogram();
        long gcBefore = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        // Warm-up, then timed singles, then a timed back-to-back run for throughput.
        for (int pass = 0; pass < 2; pass++)
        {
            long n = pass == 0 ? checks / 10 : checks;
            for (long k = 0; k < n; k++)
            {
                now += 1_000;
                bool accept = (k & 1) == 0;
                var order = accept
                    ? new OrderRequest(GateWorkload.Account, option, OrderSide.Sell, 0.01, price, OrderType.Limit, ++id)
                    : new OrderRequest(GateWorkload.Account, perp, OrderSide.Buy, 900, perpPrice, OrderType.Limit, ++id);
                long t0 = Stopwatch.GetTimestamp();
                var d = gate.Check(order, now);
                long t1 = Stopwatch.GetTimestamp();
                if (pass == 1)
                {
                    histogram.Record(Child.TicksToNanos(t1 - t0));
                }

                if (d.Accepted)
                {
                    gate.OnOrderEnded(GateWorkload.Account, id, now);
                }
                else if (accept || d.Reason != RejectReason.InsufficientMargin)
                {
                    throw new InvalidOperationException($"unexpected decision {d}");
                }
            }
        }

        long start = Stopwatch.GetTimestamp();
        for (long k = 0; k < checks; k++)
        {
            now += 1_000;
            var d = gate.Check(new OrderRequest(GateWorkload.Account, perp, OrderSide.Buy, 900, perpPrice, OrderType.Limit, ++id), now);
            if (d.Accepted)
            {
                throw new InvalidOperationException("expected a margin reject");
            }
        }

        double seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long gcs = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2) - gcBefore;
        var c = CultureInfo.InvariantCulture;
        var table = new List<(string, string)>
        {
            ("setup", $"standard workload (10,000 accounts, 820 instruments); account with 50 positions across 2 underlyings; {checks} timed checks alternating accept (then release) and margin reject; pinned {pin}"),
            ("p50 / p99 / p99.9 / max (ns, clock read included)", $"{histogram.ValueAtPercentile(50)} / {histogram.ValueAtPercentile(99)} / {histogram.ValueAtPercentile(99.9)} / {histogram.Max}"),
            ("back-to-back margin-path checks per second, one core", (checks / seconds / 1e6).ToString("F1", c) + " M"),
            ("bytes allocated on the checking thread during the run", allocated.ToString(c)),
            ("GC collections during the run", gcs.ToString(c)),
        };
        ResultWriter.Write(options, "gate-inprocess", $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- gate-inprocess --checks {checks}", table, [("check-latency", histogram)]);
        return 0;
    }
}
