using System.Diagnostics;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine;

/// <summary>
/// When marks reach margins. Marks are coalesced per underlying: a dirty underlying is revalued once
/// its interval has passed since its last revaluation (0 = every batch), at most one per step, so a
/// fill never waits behind more than one underlying's revaluation. A revaluation runs in steps of a
/// few holders between feed batches and gives way to the feed: it keeps going while no message waits
/// (idle time is its own) and, when one does, only until it has had as much time as the batch before
/// it. Under load the two share the thread about equally, so neither falls behind; a fill that
/// arrives while a revaluation runs waits for the rest of one step (about a microsecond), not a slice.
/// Fills in between use the last valuation; each revaluation is exact for every holder and re-bases their sums.
/// </summary>
public sealed class RevaluationScheduler
{
    private readonly RiskBook _book;
    private readonly EngineCounters _counters;
    private readonly long _intervalTicks;
    private readonly long[] _firstMarkTicks;
    private readonly long[] _lastRevalue;
    private int _next;
    private int _sliced;
    private long _slicedMarkTicks;
    private bool _pending;

    /// <summary>Creates the scheduler of <paramref name="book"/>'s revaluations, at most every <paramref name="interval"/> per underlying.</summary>
    public RevaluationScheduler(RiskBook book, EngineCounters counters, TimeSpan interval, int step)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        _book = book;
        _counters = counters;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        _firstMarkTicks = new long[book.Config.MaxUnderlyings];
        _lastRevalue = new long[book.Config.MaxUnderlyings];
        Step = step;
    }

    /// <summary>Holders re-margined per step.</summary>
    public int Step { get; }

    /// <summary>True while marks wait for their underlying's revaluation.</summary>
    public bool HasPendingMarks => _pending;

    /// <summary>The publish ticks of the first mark the revaluation under way (or just finished) answers: breaches it causes are timed from it.</summary>
    public long MarkTicks => _slicedMarkTicks;

    /// <summary>A mark of <paramref name="underlying"/> waits for its next revaluation; breaches are timed from the first waiting mark's publish.</summary>
    public void NoteMark(int underlying, long publishTicks)
    {
        if ((uint)underlying < (uint)_firstMarkTicks.Length && _book.IsDirty(underlying))
        {
            _pending = true;
            if (_firstMarkTicks[underlying] == 0)
            {
                _firstMarkTicks[underlying] = publishTicks;
            }
        }
    }

    /// <summary>Marks may wait (after a restore: re-derived from the book's dirty flags at the next step).</summary>
    public void Rederive() => _pending = true;

    /// <summary>
    /// Advances the revaluations after a batch that ran from <paramref name="started"/> to
    /// <paramref name="polled"/>: continues the one under way (until done, or until a message waits
    /// on <paramref name="feed"/> and it has had as long as the batch), or begins the next due one.
    /// True when it revalued anything (its transitions wait in the book, cause: revaluation).
    /// </summary>
    public bool Advance(long started, long polled, RingConsumer? feed)
    {
        bool worked = false;
        if (_book.IsFunding)
        {
            // Funding payments fixed by a funding event settle first, in steps, with the same
            // give-way rule as a revaluation.
            long deadline = polled + (polled - started);
            while (!_book.ContinueFunding(Step) && (feed is null || !feed.IsAvailable() || MonotonicClock.Now() < deadline))
            {
            }

            _counters.FundingPayments = _book.FundingPayments;
            _counters.FundingPaid = _book.FundingPaid;
            worked = true;
        }
        else if (_book.IsRevaluing)
        {
            long deadline = polled + (polled - started);
            bool done;
            do
            {
                done = _book.ContinueRevalue(Step);
            }
            while (!done && (feed is null || !feed.IsAvailable() || MonotonicClock.Now() < deadline));

            if (done)
            {
                _lastRevalue[_sliced] = MonotonicClock.Now();
            }

            worked = true;
        }
        else if (_pending)
        {
            long now = MonotonicClock.Now();
            for (int k = 0; k < _firstMarkTicks.Length; k++)
            {
                int u = (_next + k) % _firstMarkTicks.Length;
                if (_book.IsDirty(u) && now - _lastRevalue[u] >= _intervalTicks && _book.BeginRevalue(u))
                {
                    _counters.Revaluations++;
                    _sliced = u;
                    _slicedMarkTicks = _firstMarkTicks[u];
                    _firstMarkTicks[u] = 0;
                    _next = (u + 1) % _firstMarkTicks.Length;
                    if (_book.ContinueRevalue(Step))
                    {
                        _lastRevalue[u] = MonotonicClock.Now();
                    }

                    worked = true;
                    break;
                }
            }
        }

        // Whether marks still wait is the book's word (its dirty flags), not this scheduler's bookkeeping.
        _pending = _book.IsRevaluing || _book.IsFunding;
        for (int u = 0; u < _firstMarkTicks.Length; u++)
        {
            _pending |= _book.IsDirty(u);
        }

        return worked;
    }
}
