using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine;

/// <summary>A breach as read from the breach ring.</summary>
/// <remarks><paramref name="Replaced"/>: state changes of the account folded into this breach while it waited for room (it stands for 1 + Replaced changes). <paramref name="Mode"/>: the account's margin mode (isolated: the account is an isolated position).</remarks>
public readonly record struct BreachRecord(long Sequence, int Account, MarginState From, MarginState To, double Equity, double InitialMargin, double MaintenanceMargin, int Candidates, int TopInstrument, int Replaced = 0,
    MarginMode Mode = MarginMode.Portfolio);

/// <summary>
/// The downstream reader of the breach ring (in production a separate liquidation process):
/// decodes breaches, measures feed-publish → breach-read latency, counts by state, and hands each
/// breach to an optional callback.
/// </summary>
public sealed class Liquidator : IAgent
{
    private readonly RingConsumer _breaches;
    private Handler _handler;

    /// <summary>Creates a liquidator over the breach ring's consumer.</summary>
    public Liquidator(RingConsumer breaches, Action<BreachRecord>? onBreach = null)
    {
        ArgumentNullException.ThrowIfNull(breaches);
        _breaches = breaches;
        _handler = new Handler(this, onBreach);
    }

    /// <summary>Feed publish → breach read, nanoseconds, every breach.</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>Fill (or collateral change) publish → breach read, nanoseconds.</summary>
    public LatencyHistogram TradeLatency { get; } = new();

    /// <summary>First waiting mark's publish → breach read after the revaluation, nanoseconds.</summary>
    public LatencyHistogram RevaluationLatency { get; } = new();

    /// <summary>Fill publish → breach publish by the engine, nanoseconds: the engine's part of a fill's breach latency.</summary>
    public LatencyHistogram TradeToPublish { get; } = new();

    /// <summary>Breach publish → breach read, nanoseconds: the delivery to this reader (its wake-up included).</summary>
    public LatencyHistogram Delivery { get; } = new();

    /// <summary>Breaches read, by state entered.</summary>
    public long[] ByState { get; } = new long[4];

    /// <summary>Breaches read.</summary>
    public long Read { get; private set; }

    /// <summary>Breach sequence gaps (should stay 0: the engine never drops a breach).</summary>
    public long SequenceGaps { get; private set; }

    /// <summary>State changes the engine folded into the breaches read (Σ Replaced): <see cref="Read"/> + this = the engine's state changes.</summary>
    public long Coalesced { get; private set; }

    /// <summary>Messages on the breach ring that were not breaches of this layout version (counted, skipped).</summary>
    public long Unrecognised { get; private set; }

    /// <summary>Reads what is available; returns how many.</summary>
    public int Poll() => _breaches.Poll(ref _handler);

    /// <summary>"liquidator".</summary>
    public string RoleName => "liquidator";

    /// <summary>One <see cref="Poll"/>.</summary>
    public int DoWork() => Poll();

    /// <summary>Never: the liquidator reads until stopped.</summary>
    public bool IsDone => false;

    private long _lastSequence;

    private void OnBreach(ReadOnlySpan<byte> p, Action<BreachRecord>? callback)
    {
        long now = MonotonicClock.Now();
        ref readonly var m = ref WireMessage.Read<BreachMessage>(p);
        if (m.Type != BreachMessageDescriptor.MessageType || m.Version != BreachMessageDescriptor.Version)
        {
            Unrecognised++;
            return;
        }

        long sequence = m.BreachSequence;
        if (sequence != _lastSequence + 1)
        {
            SequenceGaps++;
        }

        _lastSequence = sequence;
        long published = m.SourcePublishTicks;
        long breachPublished = m.PublishTicks;
        if (breachPublished > 0)
        {
            Delivery.Record(MonotonicClock.ToNanos(now - breachPublished));
        }

        if (published > 0)
        {
            long latency = MonotonicClock.ToNanos(now - published);
            Latency.Record(latency);
            bool trade = m.Cause == BreachCause.Trade;
            (trade ? TradeLatency : RevaluationLatency).Record(latency);
            if (trade && breachPublished > 0)
            {
                TradeToPublish.Record(MonotonicClock.ToNanos(breachPublished - published));
            }
        }

        var to = m.ToState;
        ByState[(int)to & 3]++;
        Read++;
        Coalesced += m.Replaced;
        callback?.Invoke(new BreachRecord(sequence, m.Account, m.FromState, to, m.Equity, m.InitialMargin, m.MaintenanceMargin,
            m.CandidateCount, m.Candidates[0].Instrument, m.Replaced, m.MarginMode));
    }

    private readonly struct Handler(Liquidator owner, Action<BreachRecord>? callback) : IRingHandler
    {
        public void OnMessage(long sequence, ReadOnlySpan<byte> payload) => owner.OnBreach(payload, callback);
    }
}
