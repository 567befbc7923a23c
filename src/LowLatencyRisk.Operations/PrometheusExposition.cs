using System.Globalization;
using System.Text;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using L = LowLatencyRisk.Engine.EngineCountersLayout;

namespace LowLatencyRisk.Operations;

/// <summary>The Prometheus type of a metric.</summary>
public enum MetricType
{
    /// <summary>Only goes up (restarts at 0 with a new engine).</summary>
    Counter,

    /// <summary>Goes up and down.</summary>
    Gauge,

    /// <summary>Cumulative buckets, sum and count.</summary>
    Histogram,
}

/// <summary>One metric of the exposition: the counters-layout slot (or first slot of a family) it comes from.</summary>
/// <param name="Slot">Slot in <see cref="EngineCountersLayout"/>; for a labelled family, its first slot.</param>
/// <param name="Name">Metric name (counters end in <c>_total</c>).</param>
/// <param name="Type">Prometheus type.</param>
/// <param name="Help">The HELP line.</param>
/// <param name="Scale">Multiplier from the slot's unit to the metric's (nanoseconds to seconds: 1e-9).</param>
public sealed record MetricSpec(int Slot, string Name, MetricType Type, string Help, double Scale = 1);

/// <summary>
/// The engine's counters file in the Prometheus text exposition format (version 0.0.4): counters as
/// counters, gauges as gauges, feed publish → applied latency as a histogram in seconds, and the
/// engine's liveness as metrics of their own. Every slot of <see cref="EngineCountersLayout"/> is in
/// <see cref="Metrics"/> or <see cref="Families"/> (a test walks the layout and checks).
/// </summary>
public static class PrometheusExposition
{
    /// <summary>The content type of the text format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Single-slot metrics.</summary>
    public static readonly IReadOnlyList<MetricSpec> Metrics =
    [
        new(L.Events, "llr_events_total", MetricType.Counter, "Live feed messages processed (accepted or rejected)."),
        new(L.Batches, "llr_batches_total", MetricType.Counter, "Feed batches processed."),
        new(L.Revaluations, "llr_revaluations_total", MetricType.Counter, "Revaluations of the book (marks applied to every holder)."),
        new(L.SequenceGaps, "llr_sequence_gaps_total", MetricType.Counter, "Gaps seen in producer sequences (messages still applied)."),
        new(L.BreachRingFull, "llr_breach_ring_full_total", MetricType.Counter, "Times the breach ring was full (the venue went risk-off until it drained)."),
        new(L.PendingBreaches, "llr_pending_breaches", MetricType.Gauge, "Breaches waiting for room on the breach ring."),
        new(L.FeedLag, "llr_feed_lag_messages", MetricType.Gauge, "Feed messages published and not yet consumed by the engine."),
        new(L.BreachLag, "llr_breach_lag_messages", MetricType.Gauge, "Breach messages published and not yet read by the liquidator."),
        new(L.AbandonedSlots, "llr_abandoned_feed_slots_total", MetricType.Counter, "Feed slots claimed by a producer that died before publishing (skipped)."),
        new(L.RiskOff, "llr_risk_off", MetricType.Gauge, "1 while the venue is risk-off (breach ring full), else 0."),
        new(L.WorkingOrders, "llr_working_orders", MetricType.Gauge, "Orders the gate holds as working."),
        new(L.UptimeNanos, "llr_engine_uptime_seconds", MetricType.Gauge, "Seconds since the engine went live.", 1e-9),
        new(L.EngineAllocatedBytes, "llr_engine_thread_allocated_bytes_total", MetricType.Counter, "Bytes allocated by the engine thread since it went live (0 is the design)."),
        new(L.GcCount, "llr_gc_collections_total", MetricType.Counter, "Garbage collections in the engine process since it went live."),
        new(L.StateChanges, "llr_margin_state_changes_total", MetricType.Counter, "Margin state changes (each published as a breach or folded into a waiting one)."),
        new(L.BreachesPublished, "llr_breaches_published_total", MetricType.Counter, "Breach messages published on the breach ring."),
        new(L.BreachesCoalesced, "llr_breaches_folded_total", MetricType.Counter, "State changes folded into a waiting breach of the same account."),
        new(L.RiskOffNanos, "llr_risk_off_seconds_total", MetricType.Counter, "Seconds the venue spent risk-off.", 1e-9),
        new(L.ReplayedEvents, "llr_replayed_events_total", MetricType.Counter, "Journal records replayed at recovery."),
        new(L.SnapshotsWritten, "llr_snapshots_written_total", MetricType.Counter, "Snapshots written."),
        new(L.SnapshotFailures, "llr_snapshot_failures_total", MetricType.Counter, "Snapshots that could not be written."),
        new(L.ProducerRestarts, "llr_producer_restarts_total", MetricType.Counter, "Producers seen starting a new epoch."),
        new(L.JournalFailed, "llr_journal_failed", MetricType.Gauge, "1 when the journal failed and the engine halted, else 0."),
        new(L.OrderChecksAnswered, "llr_order_checks_answered_total", MetricType.Counter, "Order checks answered over the request/response rings."),
        new(L.OrderChecksMalformed, "llr_order_checks_malformed_total", MetricType.Counter, "Order-check requests refused as malformed."),
        new(L.OrderChecksWaited, "llr_order_checks_waited_total", MetricType.Counter, "Times a response waited for room on its ring."),
        new(L.LiquidationOrdersPlanned, "llr_liquidation_orders_sized_total", MetricType.Counter, "Liquidation orders the engine sized (one outstanding per account in liquidation)."),
        new(L.LiquidationOrdersFilled, "llr_liquidation_orders_covered_total", MetricType.Counter, "Liquidation orders covered by fills."),
        new(L.LiquidationOrdersEnded, "llr_liquidation_orders_ended_unfilled_total", MetricType.Counter, "Liquidation orders that timed out or outlived the account's liquidation."),
        new(L.InsuranceFundBits, "llr_insurance_fund_balance", MetricType.Gauge, "The insurance fund's balance (settlement currency): start + liquidation fees - deficits paid."),
        new(L.LiquidationFeesBits, "llr_liquidation_fees_total", MetricType.Counter, "Liquidation fees moved from liquidated accounts into the insurance fund (settlement currency)."),
        new(L.DeficitsCovered, "llr_deficits_covered_total", MetricType.Counter, "Payments of the insurance fund into bankrupt accounts."),
        new(L.DeficitCoveredBits, "llr_deficit_covered_amount_total", MetricType.Counter, "What the insurance fund paid into bankrupt accounts (settlement currency)."),
        new(L.DeleverageOrders, "llr_deleverage_orders_total", MetricType.Counter, "Deleverage orders sized (deficits the fund could not pay)."),
        new(L.DeleveragedQuantityBits, "llr_deleveraged_quantity_total", MetricType.Counter, "Quantity closed by deleverage orders (contracts, all instruments)."),
        new(L.UncoveredDeficits, "llr_uncovered_deficits_total", MetricType.Counter, "Times a bankrupt account's deficit could be neither paid nor deleveraged."),
        new(L.MmpTrips, "llr_mmp_trips_total", MetricType.Counter, "Market-maker protections tripped by maker fills."),
        new(L.MassCancelsPublished, "llr_mass_cancels_published_total", MetricType.Counter, "Mass cancels published (market-maker protection trips, kill switches turned on)."),
        new(L.FundingEvents, "llr_funding_events_total", MetricType.Counter, "Perpetual funding events applied."),
        new(L.FundingPayments, "llr_funding_payments_total", MetricType.Counter, "Funding payments settled (one per holder per event)."),
        new(L.FundingPaidBits, "llr_funding_paid_total", MetricType.Counter, "Funding paid by the payers, in the quote currency."),
        new(L.SummariesPublished, "llr_summaries_published_total", MetricType.Counter, "Risk summaries written to the summary ring (summaries.enabled)."),
        new(L.SummariesDeferred, "llr_summaries_deferred_total", MetricType.Counter, "Times a summary sweep found the summary ring full and resumed later (nothing lost: the account's latest numbers go out then)."),
    ];

    /// <summary>Labelled families: first slot, metric, label name and the label of each slot.</summary>
    public static readonly IReadOnlyList<(MetricSpec Spec, string Label, IReadOnlyList<(int Offset, string Value)> Values, int Width)> Families =
    [
        (new(L.EventsByType, "llr_events_by_type_total", MetricType.Counter, "Feed messages processed, by message type."), "type",
            [.. Enum.GetValues<FeedMessageType>().Select(t => ((int)t, Snake(t.ToString())))], EngineCountersLayout.FeedTypes),
        (new(L.Rejects, "llr_rejects_total", MetricType.Counter, "Feed messages refused, by reason (each counted and applied to nothing)."), "reason",
            [.. Enum.GetValues<FeedReject>().Select(r => ((int)r, Snake(r.ToString())))], EngineCountersLayout.RejectReasons),
        (new(L.BreachesByState, "llr_margin_transitions_total", MetricType.Counter, "Margin transitions taken from the book, by the state entered."), "state",
            [.. Enum.GetValues<MarginState>().Select(s => ((int)s, Snake(s.ToString())))], 4),
        (new(L.FeedLatency, "llr_feed_latency_seconds", MetricType.Histogram, "Feed publish to applied, per batch (its last message)."), "le",
            [], EngineCounters.LatencyBuckets),
    ];

    /// <summary>
    /// The exposition of one copy of the counters. <paramref name="liveness"/> and <paramref name="ageSeconds"/>
    /// become <c>llr_engine_up</c>, <c>llr_engine_liveness{state}</c> and <c>llr_counters_age_seconds</c>.
    /// </summary>
    public static string Render(ReadOnlySpan<long> s, EngineLiveness liveness, double ageSeconds, int pid)
    {
        var b = new StringBuilder(8192);
        Liveness(b, liveness, present: true);

        Head(b, "llr_counters_age_seconds", MetricType.Gauge, "Seconds since the engine last published its counters.");
        b.Append("llr_counters_age_seconds ").Append(Number(ageSeconds)).Append('\n');
        Head(b, "llr_engine_pid", MetricType.Gauge, "Process id of the engine that wrote the counters.");
        b.Append("llr_engine_pid ").Append(pid.ToString(Inv)).Append('\n');

        foreach (var m in Metrics)
        {
            Head(b, m.Name, m.Type, m.Help);
            b.Append(m.Name).Append(' ').Append(L.IsDouble(m.Slot) ? Number(BitConverter.Int64BitsToDouble(s[m.Slot])) : Value(s[m.Slot], m.Scale)).Append('\n');
        }

        foreach (var (spec, label, values, width) in Families)
        {
            Head(b, spec.Name, spec.Type, spec.Help);
            if (spec.Type == MetricType.Histogram)
            {
                Histogram(b, spec.Name, s.Slice(spec.Slot, width), s[L.FeedLatencySumNanos]);
                continue;
            }

            foreach (var (offset, value) in values)
            {
                b.Append(spec.Name).Append('{').Append(label).Append("=\"").Append(value).Append("\"} ").Append(s[spec.Slot + offset].ToString(Inv)).Append('\n');
            }
        }

        return b.ToString();
    }

    /// <summary>The exposition while the counters file does not exist: the engine is down, nothing else is known.</summary>
    public static string RenderAbsent()
    {
        var b = new StringBuilder(1024);
        Liveness(b, EngineLiveness.Dead, present: false);
        return b.ToString();
    }

    private static void Liveness(StringBuilder b, EngineLiveness liveness, bool present)
    {
        Head(b, "llr_engine_up", MetricType.Gauge, "1 when the engine is live (its process is there and publishing), else 0.");
        b.Append("llr_engine_up ").Append(liveness == EngineLiveness.Live ? '1' : '0').Append('\n');
        Head(b, "llr_engine_liveness", MetricType.Gauge, "1 for the engine's liveness state: live, stale (no update within the threshold) or dead (process gone, or no counters file).");
        foreach (var state in Enum.GetValues<EngineLiveness>())
        {
            b.Append("llr_engine_liveness{state=\"").Append(state.ToString().ToLowerInvariant()).Append("\"} ").Append(state == liveness ? '1' : '0').Append('\n');
        }

        Head(b, "llr_counters_file_present", MetricType.Gauge, "1 when the engine's counters file exists, else 0 (the engine not started, or cleaned up).");
        b.Append("llr_counters_file_present ").Append(present ? '1' : '0').Append('\n');
    }

    /// <summary>
    /// Bucket b of the engine counts integer nanoseconds in [2^(b−1), 2^b) (bucket 0 counts 0, the last
    /// also everything beyond), so "≤ le" is exact at le = 2^b − 1 ns; the last bucket is +Inf.
    /// </summary>
    private static void Histogram(StringBuilder b, string name, ReadOnlySpan<long> buckets, long sumNanos)
    {
        long cumulative = 0;
        for (int i = 0; i < buckets.Length - 1; i++)
        {
            cumulative += buckets[i];
            long le = (1L << i) - 1;
            b.Append(name).Append("_bucket{le=\"").Append(Seconds(le)).Append("\"} ").Append(cumulative.ToString(Inv)).Append('\n');
        }

        cumulative += buckets[^1];
        b.Append(name).Append("_bucket{le=\"+Inf\"} ").Append(cumulative.ToString(Inv)).Append('\n');
        b.Append(name).Append("_sum ").Append(Seconds(sumNanos)).Append('\n');
        b.Append(name).Append("_count ").Append(cumulative.ToString(Inv)).Append('\n');
    }

    private static void Head(StringBuilder b, string name, MetricType type, string help) =>
        b.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
         .Append("# TYPE ").Append(name).Append(' ').Append(type.ToString().ToLowerInvariant()).Append('\n');

    private static string Value(long raw, double scale) => scale == 1 ? raw.ToString(Inv) : scale == 1e-9 ? Seconds(raw) : Number(raw * scale);

    /// <summary>Integer nanoseconds as decimal seconds, exactly (no binary rounding): 511 → 0.000000511.</summary>
    internal static string Seconds(long nanos)
    {
        if (nanos < 0)
        {
            return "-" + Seconds(nanos == long.MinValue ? long.MaxValue : -nanos);
        }

        long whole = nanos / 1_000_000_000, fraction = nanos % 1_000_000_000;
        return fraction == 0 ? whole.ToString(Inv) : string.Create(Inv, $"{whole}.{fraction:D9}").TrimEnd('0');
    }

    private static string Number(double v) => double.IsFinite(v) ? v.ToString("R", Inv) : "NaN";

    /// <summary>PascalCase to snake_case: <c>InvalidValue</c> → <c>invalid_value</c>.</summary>
    internal static string Snake(string name)
    {
        var b = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                b.Append('_');
            }

            b.Append(char.ToLowerInvariant(name[i]));
        }

        return b.ToString();
    }
}
