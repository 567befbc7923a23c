using System.Globalization;
using System.Text;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using Spectre.Console;
using Spectre.Console.Rendering;
using L = LowLatencyRisk.Engine.EngineCountersLayout;

namespace LowLatencyRisk.Operations;

/// <summary>
/// What <c>llr stats</c> shows of one copy of the counters: a block (<c>--once</c>), one timestamped
/// line (output redirected to a log) or a screen redrawn in place (a terminal). Units everywhere:
/// rates in /s, lags in messages, latencies in ns/µs/ms.
/// </summary>
public static class StatsViews
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The default waterfall's line: the insurance fund, what it took and paid, what was deleveraged.</summary>
    internal static string Waterfall(long[] s)
    {
        static double D(long bits) => BitConverter.Int64BitsToDouble(bits);
        return string.Create(Inv, $"insurance fund {D(s[L.InsuranceFundBits]):N2}  fees in {D(s[L.LiquidationFeesBits]):N2}  deficits paid {s[L.DeficitsCovered]:N0} ({D(s[L.DeficitCoveredBits]):N2})  deleverage orders {s[L.DeleverageOrders]:N0} ({D(s[L.DeleveragedQuantityBits]):N3} contracts)  uncovered {s[L.UncoveredDeficits]:N0}");
    }

    /// <summary>The block <c>llr stats --once</c> prints (and the screen's plain fallback).</summary>
    public static string Block(long[] s, long[]? previous, double seconds, int pid, string status = "")
    {
        ArgumentNullException.ThrowIfNull(s);
        var b = new StringBuilder();
        b.AppendLine(string.Create(Inv, $"== llr engine pid {pid}, up {Duration(s[L.UptimeNanos])}{(status.Length > 0 ? " — " + status : "")}"));
        b.AppendLine(string.Create(Inv, $"events        {s[L.Events],14:N0}{Rate(s, previous, seconds, L.Events)} live  batches {s[L.Batches]:N0}  revaluations {s[L.Revaluations]:N0}  replayed from the journal at start {s[L.ReplayedEvents]:N0}  producer restarts {s[L.ProducerRestarts]:N0}"));
        b.AppendLine("  by type    " + ByType(s));
        b.AppendLine("rejects      " + Rejects(s));
        b.AppendLine(string.Create(Inv, $"breaches      margin calls {s[L.BreachesByState + (int)MarginState.MarginCall]:N0}  liquidations {s[L.BreachesByState + (int)MarginState.Liquidation]:N0}  back to healthy {s[L.BreachesByState + (int)MarginState.Healthy]:N0}"));
        b.AppendLine(string.Create(Inv, $"liquidation   orders sized {s[L.LiquidationOrdersPlanned]:N0}  covered by fills {s[L.LiquidationOrdersFilled]:N0}  ended unfilled {s[L.LiquidationOrdersEnded]:N0}"));
        b.AppendLine("waterfall     " + Waterfall(s));
        b.AppendLine(string.Create(Inv, $"protection    market-maker protection trips {s[L.MmpTrips]:N0}  mass cancels sent {s[L.MassCancelsPublished]:N0}"));
        b.AppendLine(string.Create(Inv, $"funding       events {s[L.FundingEvents]:N0}  payments {s[L.FundingPayments]:N0}  paid {BitConverter.Int64BitsToDouble(s[L.FundingPaidBits]):N2}"));
        b.AppendLine(string.Create(Inv, $"summaries     published {s[L.SummariesPublished]:N0}  deferred (ring full) {s[L.SummariesDeferred]:N0}"));
        b.AppendLine(string.Create(Inv, $"rings         feed lag {s[L.FeedLag]:N0} messages  breach lag {s[L.BreachLag]:N0} messages  abandoned feed slots {s[L.AbandonedSlots]:N0}  sequence gaps {s[L.SequenceGaps]:N0}"));
        b.AppendLine(string.Create(Inv, $"alarms        breach ring full {s[L.BreachRingFull]:N0} times  pending breaches {s[L.PendingBreaches]:N0}  risk-off {(s[L.RiskOff] != 0 ? "YES" : "no")} ({Duration(s[L.RiskOffNanos])} in all)  state changes {s[L.StateChanges]:N0} = published {s[L.BreachesPublished]:N0} + folded {s[L.BreachesCoalesced]:N0} + waiting"));
        b.AppendLine(string.Create(Inv, $"storage       journal {(s[L.JournalFailed] != 0 ? "FAILED (engine halted)" : "ok or off")}  snapshots written {s[L.SnapshotsWritten]:N0}  snapshots failed {s[L.SnapshotFailures]:N0}"));
        b.AppendLine(string.Create(Inv, $"order checks  answered {s[L.OrderChecksAnswered]:N0}{Rate(s, previous, seconds, L.OrderChecksAnswered)}  malformed {s[L.OrderChecksMalformed]:N0}  waited for response room {s[L.OrderChecksWaited]:N0}"));
        b.AppendLine(string.Create(Inv, $"engine thread {s[L.EngineAllocatedBytes]:N0} bytes allocated, {s[L.GcCount]} GC collections since live"));
        b.Append("feed publish -> applied, per batch:");
        if (Percentiles(s) is not { } p)
        {
            b.AppendLine(" no batches yet");
        }
        else
        {
            b.AppendLine();
            foreach (var (name, bound) in p)
            {
                b.AppendLine(string.Create(Inv, $"  {name,-6} < {bound}"));
            }
        }

        return b.ToString();
    }

    /// <summary>One line for a log (output redirected): UTC time, liveness and the figures that move.</summary>
    public static string Line(DateTimeOffset now, long[] s, long[]? previous, double seconds, EngineLiveness liveness)
    {
        ArgumentNullException.ThrowIfNull(s);
        var p = Percentiles(s);
        string latency = p is null ? "no batches" : string.Join(' ', p.Select(x => $"{x.Name}<{x.Bound}"));
        return string.Create(Inv,
            $"{now.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {liveness.ToString().ToLowerInvariant()} events {s[L.Events]:N0}{Rate(s, previous, seconds, L.Events)} rejects {RejectTotal(s):N0} margin_calls {s[L.BreachesByState + (int)MarginState.MarginCall]:N0} liquidations {s[L.BreachesByState + (int)MarginState.Liquidation]:N0} healthy_again {s[L.BreachesByState + (int)MarginState.Healthy]:N0} feed_lag {s[L.FeedLag]:N0} msgs breach_lag {s[L.BreachLag]:N0} msgs pending {s[L.PendingBreaches]:N0} risk_off {(s[L.RiskOff] != 0 ? "yes" : "no")} order_checks {s[L.OrderChecksAnswered]:N0} feed_latency {latency}");
    }

    /// <summary>The screen a terminal shows, redrawn in place.</summary>
    public static IRenderable Screen(long[] s, long[]? previous, double seconds, int pid, EngineLiveness liveness, string status)
    {
        ArgumentNullException.ThrowIfNull(s);
        string colour = liveness switch { EngineLiveness.Live => "green", EngineLiveness.Stale => "yellow", _ => "red" };
        var head = new Markup(string.Create(Inv, $"[bold]llr engine[/] pid {pid}, up {Duration(s[L.UptimeNanos])} — [{colour}]{Markup.Escape(status)}[/]"));

        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        void Row(string section, string text) => grid.AddRow(new Markup($"[bold]{section}[/]"), new Markup(text));
        Row("throughput", string.Create(Inv, $"events {s[L.Events]:N0}{Markup.Escape(Rate(s, previous, seconds, L.Events))}  batches {s[L.Batches]:N0}  revaluations {s[L.Revaluations]:N0}  order checks {s[L.OrderChecksAnswered]:N0}{Markup.Escape(Rate(s, previous, seconds, L.OrderChecksAnswered))}"));
        Row("by type", Markup.Escape(ByType(s)));
        Row("lags", string.Create(Inv, $"feed {s[L.FeedLag]:N0} messages  breach {s[L.BreachLag]:N0} messages  pending breaches {s[L.PendingBreaches]:N0}"));
        Row("rejects", RejectTotal(s) == 0 ? "none" : $"[yellow]{Markup.Escape(Rejects(s))}[/]");
        Row("ladder", string.Create(Inv, $"margin calls {s[L.BreachesByState + (int)MarginState.MarginCall]:N0}  liquidations [red]{s[L.BreachesByState + (int)MarginState.Liquidation]:N0}[/]  back to healthy [green]{s[L.BreachesByState + (int)MarginState.Healthy]:N0}[/]"));
        Row("liquidation", string.Create(Inv, $"orders sized {s[L.LiquidationOrdersPlanned]:N0}  covered by fills {s[L.LiquidationOrdersFilled]:N0}  ended unfilled {s[L.LiquidationOrdersEnded]:N0}"));
        Row("waterfall", Markup.Escape(Waterfall(s)));
        Row("protection", string.Create(Inv, $"market-maker protection trips {s[L.MmpTrips]:N0}  mass cancels sent {s[L.MassCancelsPublished]:N0}"));
        Row("funding", string.Create(Inv, $"events {s[L.FundingEvents]:N0}  payments {s[L.FundingPayments]:N0}  paid {BitConverter.Int64BitsToDouble(s[L.FundingPaidBits]):N2}"));
        Row("summaries", string.Create(Inv, $"published {s[L.SummariesPublished]:N0}  deferred (ring full) {s[L.SummariesDeferred]:N0}"));
        Row("breaches", string.Create(Inv, $"state changes {s[L.StateChanges]:N0} = published {s[L.BreachesPublished]:N0} + folded {s[L.BreachesCoalesced]:N0} + waiting"));
        var p = Percentiles(s);
        Row("feed latency", p is null ? "no batches yet" : Markup.Escape(string.Join("   ", p.Select(x => $"{x.Name} < {x.Bound}"))));
        bool alarm = s[L.RiskOff] != 0 || s[L.JournalFailed] != 0 || s[L.BreachRingFull] != 0 || s[L.SnapshotFailures] != 0 || s[L.AbandonedSlots] != 0;
        Row("alarms", alarm
            ? string.Create(Inv, $"[red]risk-off {(s[L.RiskOff] != 0 ? "YES" : "no")} ({Duration(s[L.RiskOffNanos])})  breach ring full {s[L.BreachRingFull]:N0}  journal {(s[L.JournalFailed] != 0 ? "FAILED" : "ok")}  snapshot failures {s[L.SnapshotFailures]:N0}  abandoned slots {s[L.AbandonedSlots]:N0}[/]")
            : "[green]none[/]");
        Row("engine thread", string.Create(Inv, $"{s[L.EngineAllocatedBytes]:N0} bytes allocated, {s[L.GcCount]} GC since live"));
        return new Rows(head, grid);
    }

    /// <summary>Feed latency percentiles as upper bounds of the power-of-two buckets, or null before the first batch.</summary>
    public static List<(string Name, string Bound)>? Percentiles(long[] s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var buckets = s.AsSpan(L.FeedLatency, EngineCounters.LatencyBuckets);
        long n = 0;
        foreach (long v in buckets)
        {
            n += v;
        }

        if (n == 0)
        {
            return null;
        }

        var list = new List<(string, string)>(4);
        foreach (var (name, p) in (ReadOnlySpan<(string, double)>)[("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9)])
        {
            list.Add((name, Bound(buckets, n, p)));
        }

        return list;
    }

    /// <summary>Nanoseconds with a unit a person reads at a glance: 850 ns, 12.3 µs, 4.56 ms, 7.8 s.</summary>
    public static string Nanos(double ns) =>
        !double.IsFinite(ns) ? "n/a"
        : ns >= 1e9 ? string.Create(Inv, $"{ns / 1e9:F1} s")
        : ns >= 1e6 ? string.Create(Inv, $"{ns / 1e6:F2} ms")
        : ns >= 1e3 ? string.Create(Inv, $"{ns / 1e3:F1} µs")
        : string.Create(Inv, $"{ns:F0} ns");

    private static string Duration(long nanos) => Nanos(nanos);

    private static string Rate(long[] s, long[]? previous, double seconds, int slot) =>
        previous is null ? "" : string.Create(Inv, $" ({(s[slot] - previous[slot]) / seconds:N0}/s)");

    private static string ByType(long[] s) => NonZero<FeedMessageType>(s, L.EventsByType);

    private static string Rejects(long[] s) => NonZero<FeedReject>(s, L.Rejects);

    private static long RejectTotal(long[] s) => Enum.GetValues<FeedReject>().Sum(r => s[L.Rejects + Convert.ToInt32(r, Inv)]);

    /// <summary>" Name count" for each value of <typeparamref name="TEnum"/> whose slot (from <paramref name="first"/>) is not zero; " none" if all are.</summary>
    private static string NonZero<TEnum>(long[] s, int first)
        where TEnum : struct, Enum
    {
        var b = new StringBuilder();
        foreach (var value in Enum.GetValues<TEnum>())
        {
            long v = s[first + Convert.ToInt32(value, Inv)];
            if (v > 0)
            {
                b.Append(string.Create(Inv, $" {value} {v:N0}"));
            }
        }

        return b.Length == 0 ? " none" : b.ToString();
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
                return Nanos(i == 0 ? 1 : 1L << i);
            }
        }

        return "?";
    }
}
