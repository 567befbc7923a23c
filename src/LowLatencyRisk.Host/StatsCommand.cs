using System.CommandLine;
using System.Globalization;
using System.Text;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Host;

/// <summary><c>llr stats</c>: a live view of a running engine's counters file (read-only for the engine: a sequence-locked copy).</summary>
internal static class StatsCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var config = ServiceCommands.ConfigOption();
        var file = new Option<string?>("--counters") { Description = "Counters file (default: rings.counters of the configuration)." };
        var once = new Option<bool>("--once") { Description = "Print one snapshot and exit." };
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes.", DefaultValueFactory = _ => 1 };
        var command = new Command("stats", "Show the counters of a running engine: events by type, rejects by reason, breaches by state, ring lag, feed latency.")
        {
            config, file, once, interval,
        };
        command.SetAction(parse =>
        {
            string? path = parse.GetValue(file);
            if (path is null)
            {
                var c = ServiceCommands.LoadConfig("stats", parse.GetValue(config));
                if (c is null)
                {
                    return 2;
                }

                path = c.PathOf(c.Rings.Counters);
            }

            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"llr stats: {path} does not exist (is `llr engine` running with this configuration?)");
                return 3;
            }

            SharedCounters counters;
            try
            {
                counters = SharedCounters.Attach(path);
            }
            catch (RingLayoutException e)
            {
                Console.Error.WriteLine($"llr stats: {e.Message}");
                return 3;
            }

            using (counters)
            {
                var slots = new long[Math.Max(counters.SlotCount, EngineCountersLayout.Count)];
                long[]? previous = null;
                double seconds = Math.Max(0.1, parse.GetValue(interval));
                do
                {
                    if (!counters.TryRead(slots))
                    {
                        Console.Error.WriteLine("llr stats: the writer kept the counters busy; retrying");
                        continue;
                    }

                    if (slots[EngineCountersLayout.Layout] != EngineCountersLayout.LayoutId)
                    {
                        Console.Error.WriteLine($"llr stats: {path}: not an engine counters layout (0x{slots[0]:X}).");
                        return 3;
                    }

                    Console.Write(Format(slots, previous, seconds, counters.WriterPid));
                    previous = (long[])slots.Clone();
                    if (parse.GetValue(once))
                    {
                        break;
                    }

                    Thread.Sleep(TimeSpan.FromSeconds(seconds));
                }
                while (true);
            }

            return 0;
        });
        return command;
    }

    internal static string Format(long[] s, long[]? previous, double seconds, int pid)
    {
        var b = new StringBuilder();
        string Rate(int slot) => previous is null ? "" : string.Create(Inv, $" ({(s[slot] - previous[slot]) / seconds:N0}/s)");
        b.AppendLine(string.Create(Inv, $"== llr engine pid {pid}, up {s[EngineCountersLayout.UptimeNanos] / 1e9:F1} s"));
        b.AppendLine(string.Create(Inv, $"events        {s[EngineCountersLayout.Events],14:N0}{Rate(EngineCountersLayout.Events)}  batches {s[EngineCountersLayout.Batches]:N0}  revaluations {s[EngineCountersLayout.Revaluations]:N0}"));
        b.Append("  by type    ");
        foreach (var t in Enum.GetValues<FeedMessageType>())
        {
            long v = s[EngineCountersLayout.EventsByType + (int)t];
            if (v > 0)
            {
                b.Append(string.Create(Inv, $" {t} {v:N0}"));
            }
        }

        b.AppendLine();
        b.Append("rejects      ");
        long total = 0;
        foreach (var r in Enum.GetValues<FeedReject>())
        {
            long v = s[EngineCountersLayout.Rejects + (int)r];
            total += v;
            if (v > 0)
            {
                b.Append(string.Create(Inv, $" {r} {v:N0}"));
            }
        }

        b.AppendLine(total == 0 ? " none" : "");
        b.AppendLine(string.Create(Inv, $"breaches      margin calls {s[EngineCountersLayout.BreachesByState + (int)MarginState.MarginCall]:N0}  liquidations {s[EngineCountersLayout.BreachesByState + (int)MarginState.Liquidation]:N0}  back to healthy {s[EngineCountersLayout.BreachesByState + (int)MarginState.Healthy]:N0}"));
        b.AppendLine(string.Create(Inv, $"rings         feed lag {s[EngineCountersLayout.FeedLag]:N0}  breach lag {s[EngineCountersLayout.BreachLag]:N0}  abandoned feed slots {s[EngineCountersLayout.AbandonedSlots]:N0}  sequence gaps {s[EngineCountersLayout.SequenceGaps]:N0}"));
        b.AppendLine(string.Create(Inv, $"alarms        breach ring full {s[EngineCountersLayout.BreachRingFull]:N0} times  pending breaches {s[EngineCountersLayout.PendingBreaches]:N0}  risk-off {(s[EngineCountersLayout.RiskOff] != 0 ? "YES" : "no")} ({s[EngineCountersLayout.RiskOffNanos] / 1e9:F3} s in all)  state changes {s[EngineCountersLayout.StateChanges]:N0} = published {s[EngineCountersLayout.BreachesPublished]:N0} + folded {s[EngineCountersLayout.BreachesCoalesced]:N0} + waiting"));
        b.AppendLine(string.Create(Inv, $"engine thread {s[EngineCountersLayout.EngineAllocatedBytes]:N0} bytes allocated, {s[EngineCountersLayout.GcCount]} GC collections since live"));
        b.Append("feed publish -> applied, per batch:");
        var buckets = s.AsSpan(EngineCountersLayout.FeedLatency, EngineCounters.LatencyBuckets);
        long n = 0;
        foreach (long v in buckets)
        {
            n += v;
        }

        if (n == 0)
        {
            b.AppendLine(" no batches yet");
        }
        else
        {
            b.AppendLine();
            foreach (double p in (ReadOnlySpan<double>)[50, 90, 99, 99.9])
            {
                b.AppendLine(string.Create(Inv, $"  p{p,-5} < {Bound(buckets, n, p)}"));
            }
        }

        return b.ToString();
    }

    private static string Bound(ReadOnlySpan<long> buckets, long total, double percentile)
    {
        long target = (long)Math.Ceiling(total * percentile / 100);
        long seen = 0;
        for (int i = 0; i < buckets.Length; i++)
        {
            seen += buckets[i];
            if (seen >= target)
            {
                long ns = i == 0 ? 1 : 1L << i;
                return ns >= 1_000_000 ? string.Create(Inv, $"{ns / 1e6:F1} ms") : ns >= 1_000 ? string.Create(Inv, $"{ns / 1e3:F1} µs") : string.Create(Inv, $"{ns} ns");
            }
        }

        return "?";
    }
}
