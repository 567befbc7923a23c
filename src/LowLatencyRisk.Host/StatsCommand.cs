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
        var config = CommandSupport.ConfigOption();
        var file = new Option<string?>("--counters") { Description = "Counters file (default: rings.counters of the configuration)." };
        var once = new Option<bool>("--once") { Description = "Print one snapshot and exit." };
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes.", DefaultValueFactory = _ => 1 };
        var staleAfter = new Option<double>("--stale-after") { Description = "Seconds without an update after which the engine is shown as STALE (--once then exits with 5).", DefaultValueFactory = _ => 2 };
        var command = new Command("stats", "Show the counters of a running engine: events by type, rejects by reason, breaches by state, ring lag, feed latency; a stopped or hung engine is shown as DEAD or STALE.")
        {
            config, file, once, interval, staleAfter,
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

            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"llr stats: {path} does not exist (is `llr engine` running with this configuration?)");
                return 3;
            }

            SharedCounters? counters = Attach(path, out string? problem);
            if (counters is null)
            {
                Console.Error.WriteLine($"llr stats: {problem}");
                return 3;
            }

            var slots = new long[Math.Max(counters.SlotCount, EngineCountersLayout.Count)];
            long[]? previous = null;

            try
            {
                while (true)
                {
                    // A restarted engine replaces the counters file: follow the new one.
                    if (IsReplaced(path, counters) && Attach(path, out _) is { } replacement)
                    {
                        counters.Dispose();
                        counters = replacement;
                        slots = new long[Math.Max(counters.SlotCount, EngineCountersLayout.Count)];
                        previous = null;
                        Console.WriteLine($"llr stats: {path} was replaced (a new engine); following it");
                    }

                    if (!counters.TryRead(slots))
                    {
                        Console.Error.WriteLine("llr stats: the writer kept the counters busy; retrying");
                        Thread.Sleep(10);
                        continue;
                    }

                    if (slots[EngineCountersLayout.Layout] != EngineCountersLayout.LayoutId)
                    {
                        Console.Error.WriteLine($"llr stats: {path}: not an engine counters layout (0x{slots[0]:X}).");
                        return 3;
                    }

                    var liveness = Liveness(counters, stale, out string status);
                    Console.Write(Format(slots, previous, seconds, counters.WriterPid, status));
                    previous = (long[])slots.Clone();
                    if (parse.GetValue(once))
                    {
                        return liveness == EngineLiveness.Live ? 0 : 5;
                    }

                    Thread.Sleep(TimeSpan.FromSeconds(seconds));
                }
            }
            finally
            {
                counters.Dispose();
            }
        });
        return command;
    }

    internal enum EngineLiveness
    {
        Live,
        Stale,
        Dead,
    }

    /// <summary>Dead: the writer's process is gone. Stale: it is there but has not published for <paramref name="staleSeconds"/>.</summary>
    internal static EngineLiveness Liveness(SharedCounters counters, double staleSeconds, out string status)
    {
        double age = MonotonicClock.ToNanos(MonotonicClock.Now() - counters.UpdatedTicks) / 1e9;
        int pid = counters.WriterPid;
        if (!IsAlive(pid))
        {
            status = string.Create(Inv, $"DEAD: process {pid} is gone; these counters are {age:F1} s old");
            return EngineLiveness.Dead;
        }

        if (age > staleSeconds)
        {
            status = string.Create(Inv, $"STALE: no update for {age:F1} s (stopped, hung or starved)");
            return EngineLiveness.Stale;
        }

        status = string.Create(Inv, $"live, updated {age * 1000:F0} ms ago");
        return EngineLiveness.Live;
    }

    private static bool IsAlive(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }

        string stat = Path.Combine("/proc", pid.ToString(Inv), "stat");
        try
        {
            // A zombie (state Z) has exited: its counters will not move again.
            string text = File.ReadAllText(stat);
            int close = text.LastIndexOf(')');
            return close > 0 && close + 2 < text.Length && text[close + 2] != 'Z' && text[close + 2] != 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static SharedCounters? Attach(string path, out string? problem)
    {
        problem = null;
        try
        {
            return SharedCounters.Attach(path);
        }
        catch (Exception e) when (e is RingLayoutException or IOException or UnauthorizedAccessException)
        {
            problem = e is FileNotFoundException ? $"{path} does not exist (is `llr engine` running with this configuration?)" : $"{path}: {e.Message}";
            return null;
        }
    }

    /// <summary>True when the file at <paramref name="path"/> is no longer the one mapped (a new engine created another): its creation stamp differs.</summary>
    private static bool IsReplaced(string path, SharedCounters mapped)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> header = stackalloc byte[SharedCounters.HeaderLength];
            if (f.Read(header) < SharedCounters.HeaderLength)
            {
                return false;
            }

            return !header.Slice(SharedCounters.CreatedOffset, 8).SequenceEqual(mapped.Header.Slice(SharedCounters.CreatedOffset, 8));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // removed: keep showing the last one (it will read as dead)
        }
    }

    internal static string Format(long[] s, long[]? previous, double seconds, int pid, string status = "")
    {
        var b = new StringBuilder();
        string Rate(int slot) => previous is null ? "" : string.Create(Inv, $" ({(s[slot] - previous[slot]) / seconds:N0}/s)");
        b.AppendLine(string.Create(Inv, $"== llr engine pid {pid}, up {s[EngineCountersLayout.UptimeNanos] / 1e9:F1} s{(status.Length > 0 ? " — " + status : "")}"));
        b.AppendLine(string.Create(Inv, $"events        {s[EngineCountersLayout.Events],14:N0}{Rate(EngineCountersLayout.Events)} live  batches {s[EngineCountersLayout.Batches]:N0}  revaluations {s[EngineCountersLayout.Revaluations]:N0}  replayed from the journal at start {s[EngineCountersLayout.ReplayedEvents]:N0}  producer restarts {s[EngineCountersLayout.ProducerRestarts]:N0}"));
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
        b.AppendLine(string.Create(Inv, $"storage       journal {(s[EngineCountersLayout.JournalFailed] != 0 ? "FAILED (engine halted)" : "ok or off")}  snapshots written {s[EngineCountersLayout.SnapshotsWritten]:N0}  snapshots failed {s[EngineCountersLayout.SnapshotFailures]:N0}"));
        b.AppendLine(string.Create(Inv, $"order checks  answered {s[EngineCountersLayout.OrderChecksAnswered]:N0}{Rate(EngineCountersLayout.OrderChecksAnswered)}  malformed {s[EngineCountersLayout.OrderChecksMalformed]:N0}  waited for response room {s[EngineCountersLayout.OrderChecksWaited]:N0}"));
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
