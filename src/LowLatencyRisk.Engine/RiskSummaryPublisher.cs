using System.Diagnostics;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine;

/// <summary>
/// Risk summaries out, on the engine thread: sweeps the accounts this engine owns once per
/// interval, a bounded step of them per duty cycle, and writes a <see cref="RiskSummaryMessage"/>
/// for each one whose numbers moved since its last summary (credit usage, initial or maintenance
/// margin or equity by more than the change fraction; its credit limit or margin state at all) or
/// whose last summary is older than the heartbeat. So the rate is bounded by accounts ÷ interval
/// and a quiet account costs a comparison. For each underlying in which a firm has a position
/// limit, the account's summary in that underlying follows its own (<see cref="RiskSummaryMessage.Underlying"/>):
/// written when its position usage moved beyond the change fraction or its limit changed, or at the heartbeat.
/// </summary>
/// <remarks>
/// A summary is state, not an event: when the ring has no room the sweep stops at that account
/// (counted in <see cref="Deferred"/>) and takes it up again at the next duty cycle — the engine
/// never waits for a summary reader, and the reader still gets every account's latest numbers. The
/// staleness a reader sees is at most the interval plus the reader's own lag (documented in the
/// README). Allocation-free after construction.
/// </remarks>
public sealed class RiskSummaryPublisher
{
    private readonly RiskBook _book;
    private readonly PreTradeGate _gate;
    private readonly FeedStateMachine _machine;
    private readonly IRingProducer _ring;
    private readonly int _shard;
    private readonly long _intervalTicks;
    private readonly long _heartbeatTicks;
    private readonly int _step;
    private readonly double _changeFraction;
    private readonly Last[] _last;
    private readonly int[] _positionUnderlyings;
    private readonly LastPosition[] _lastPosition; // account × tracked underlying
    private long _nextSweep;
    private int _cursor = -1; // −1: between sweeps
    private bool _stalled;

    private struct Last
    {
        public double Usage, Limit, Initial, Maintenance, Equity;
        public long Ticks;
        public MarginState State;
        public bool Sent;
    }

    private struct LastPosition
    {
        public double Usage, Limit;
        public long Ticks;
        public bool Sent;
    }

    /// <summary>
    /// Creates the publisher writing into <paramref name="ring"/> (a producer of the summary ring) for
    /// the accounts <paramref name="machine"/> owns as shard <paramref name="shard"/>: a sweep each
    /// <paramref name="interval"/>, at most <paramref name="step"/> accounts per <see cref="Poll"/>,
    /// a summary when a number moved by more than <paramref name="changeFraction"/> of itself or
    /// after <paramref name="heartbeat"/> without one.
    /// </summary>
    /// <remarks><paramref name="only"/>, when given, limits the summaries to those accounts (<c>summaries.firmsOnly</c>: the firms' accounts);
    /// <paramref name="positionUnderlyings"/> are the underlyings each account is also summarized in (those a firm's position limit names).</remarks>
    public RiskSummaryPublisher(RiskBook book, PreTradeGate gate, FeedStateMachine machine, IRingProducer ring, int shard,
        TimeSpan interval, TimeSpan heartbeat, int step = 64, double changeFraction = 0.01, IEnumerable<int>? only = null, IEnumerable<int>? positionUnderlyings = null)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        if (ring.PayloadSize < RiskSummaryDescriptor.Size)
        {
            throw new ArgumentException($"the ring's payload is {ring.PayloadSize} bytes; a summary needs {RiskSummaryDescriptor.Size}", nameof(ring));
        }

        if (!(interval > TimeSpan.Zero) || !(heartbeat >= interval))
        {
            throw new ArgumentOutOfRangeException(nameof(interval), "the interval must be positive and the heartbeat at least the interval");
        }

        if (!(changeFraction >= 0 && changeFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(changeFraction), changeFraction, "must be in [0, 1)");
        }

        _book = book;
        _gate = gate;
        _machine = machine;
        _ring = ring;
        _shard = shard;
        _intervalTicks = Math.Max(1, (long)(interval.TotalSeconds * Stopwatch.Frequency));
        _heartbeatTicks = Math.Max(1, (long)(heartbeat.TotalSeconds * Stopwatch.Frequency));
        _step = step;
        _changeFraction = changeFraction;
        _last = new Last[book.Config.MaxAccounts];
        _positionUnderlyings = positionUnderlyings is null ? [] : [.. positionUnderlyings.Distinct().Order()];
        foreach (int u in _positionUnderlyings)
        {
            if (!book.IsUnderlying(u))
            {
                throw new ArgumentException($"underlying {u} is not defined in the book", nameof(positionUnderlyings));
            }
        }

        _lastPosition = new LastPosition[_last.Length * _positionUnderlyings.Length];
        if (only is not null)
        {
            _skip = new bool[_last.Length];
            Array.Fill(_skip, true);
            foreach (int a in only)
            {
                if ((uint)a < (uint)_skip.Length)
                {
                    _skip[a] = false;
                }
            }
        }
    }

    private readonly bool[]? _skip;

    /// <summary>Summaries written.</summary>
    public long Published { get; private set; }

    /// <summary>Times a sweep stopped because the ring had no room (it resumed at the same account once there was).</summary>
    public long Deferred { get; private set; }

    /// <summary>Sweeps completed (every owned account visited once).</summary>
    public long Sweeps { get; private set; }

    /// <summary>
    /// One duty-cycle step at <paramref name="nowTicks"/> (<see cref="MonotonicClock.Now"/>): starts a
    /// sweep when one is due, visits up to the step of accounts, returns how many summaries it wrote.
    /// </summary>
    public int Poll(long nowTicks)
    {
        if (_cursor < 0)
        {
            if (nowTicks < _nextSweep)
            {
                return 0;
            }

            _cursor = 0;
            _nextSweep = nowTicks + _intervalTicks;
        }

        int written = 0;
        int end = Math.Min(_last.Length, _cursor + _step);
        while (_cursor < end)
        {
            int a = _cursor;
            if (_machine.Owns(a) && (_skip is null || !_skip[a]))
            {
                if (!Visit(a, nowTicks, ref written))
                {
                    Deferred += _stalled ? 0 : 1; // once per stall, not once per duty cycle that finds the ring still full
                    _stalled = true;
                    return written; // the ring is full: this account first, next time
                }

                _stalled = false;
            }

            _cursor++;
        }

        if (_cursor >= _last.Length)
        {
            _cursor = -1;
            Sweeps++;
        }

        return written;
    }

    /// <summary>
    /// Writes account <paramref name="a"/>'s summary, then its summary in each tracked underlying, each
    /// if it moved or its heartbeat is due; false when the ring has no room (the account is visited
    /// again: what was written is no longer due, so the visit resumes where it stopped).
    /// </summary>
    private bool Visit(int a, long nowTicks, ref int written)
    {
        double creditUsage = _book.GrossNotional(a, -1, out _) + _gate.WorkingNotional(a); // once: every summary of the account carries it
        if (!VisitAccount(a, creditUsage, nowTicks, ref written))
        {
            return false;
        }

        for (int k = 0; k < _positionUnderlyings.Length; k++)
        {
            if (!VisitUnderlying(a, k, creditUsage, nowTicks, ref written))
            {
                return false;
            }
        }

        return true;
    }

    private bool VisitUnderlying(int a, int k, double creditUsage, long nowTicks, ref int written)
    {
        int u = _positionUnderlyings[k];
        double usage = _gate.UnderlyingPositionUsage(a, u);
        double limit = _gate.UnderlyingPositionLimitOf(a, u);
        ref LastPosition last = ref _lastPosition[(a * _positionUnderlyings.Length) + k];
        if (last.Sent && nowTicks - last.Ticks < _heartbeatTicks && limit.Equals(last.Limit) && !Moved(usage, last.Usage))
        {
            return true;
        }

        if (!_ring.TryClaim(1, out long slot))
        {
            return false;
        }

        ref var m = ref WireMessage.As<RiskSummaryMessage>(_ring.Payload(slot));
        Fill(ref m, a, u, nowTicks, _gate.CreditLimitOf(a));
        m.CreditUsage = creditUsage;
        m.PositionUsage = usage;
        m.PositionLimit = limit;
        m.PublishTicks = MonotonicClock.Now();
        if (!_ring.Publish(slot))
        {
            return false;
        }

        last = new LastPosition { Usage = usage, Limit = limit, Ticks = nowTicks, Sent = true };
        Published++;
        written++;
        return true;
    }

    /// <summary>The fields every summary carries (the account's own numbers).</summary>
    private void Fill(ref RiskSummaryMessage m, int a, int underlying, long nowTicks, double creditLimit)
    {
        m = default;
        m.Type = RiskSummaryDescriptor.MessageType;
        m.Version = RiskSummaryDescriptor.Version;
        m.State = _book.State(a);
        m.Shard = _shard;
        m.Account = a;
        m.Underlying = underlying;
        m.FeedEvents = _machine.Counters.Events;
        m.BusinessNanos = _book.NowNanos;
        m.ComputedTicks = nowTicks;
        m.CreditLimit = creditLimit;
        m.InitialMargin = _book.InitialMargin(a);
        m.MaintenanceMargin = _book.MaintenanceMargin(a);
        m.Equity = _book.Equity(a);
    }

    private bool VisitAccount(int a, double usage, long nowTicks, ref int written)
    {
        double limit = _gate.CreditLimitOf(a);
        double initial = _book.InitialMargin(a);
        double maintenance = _book.MaintenanceMargin(a);
        double equity = _book.Equity(a);
        var state = _book.State(a);
        ref Last last = ref _last[a];
        bool due = !last.Sent || nowTicks - last.Ticks >= _heartbeatTicks || state != last.State || !limit.Equals(last.Limit)
            || Moved(usage, last.Usage) || Moved(initial, last.Initial) || Moved(maintenance, last.Maintenance) || Moved(equity, last.Equity);
        if (!due)
        {
            return true;
        }

        if (!_ring.TryClaim(1, out long slot))
        {
            return false;
        }

        ref var m = ref WireMessage.As<RiskSummaryMessage>(_ring.Payload(slot));
        Fill(ref m, a, -1, nowTicks, limit);
        m.CreditUsage = usage;
        m.PublishTicks = MonotonicClock.Now();
        if (!_ring.Publish(slot))
        {
            return false; // abandoned by a reader after a stall: written again at the next attempt
        }

        last = new Last { Usage = usage, Limit = limit, Initial = initial, Maintenance = maintenance, Equity = equity, Ticks = nowTicks, State = state, Sent = true };
        Published++;
        written++;
        return true;
    }

    private bool Moved(double now, double before) =>
        !now.Equals(before) && !(Math.Abs(now - before) <= _changeFraction * Math.Max(Math.Abs(now), Math.Abs(before)));
}
