using System.Globalization;
using System.Text.Json;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace LowLatencyRisk.Distributed;

/// <summary>A firm as the aggregator sees it after a round.</summary>
/// <param name="Name">The firm.</param>
/// <param name="Limit">Its credit limit.</param>
/// <param name="Usage">Σ the accounts' last summarized credit usage (gross notional of positions and working orders).</param>
/// <param name="Allocated">Σ the accounts' limits that may be in force (the higher of the one reported and any change not yet confirmed): never above <paramref name="Limit"/> once the starting shares are in force; null until every account is summarized, or when one reports no limit.</param>
/// <param name="Summarized">Accounts with at least one summary.</param>
/// <param name="Accounts">Accounts of the firm.</param>
/// <param name="Pending">Limit changes sent and not yet seen in force.</param>
/// <param name="Positions">The firm's position limits, one per underlying it names (empty when none).</param>
public sealed record FirmStatus(string Name, double Limit, double Usage, double? Allocated, int Summarized, int Accounts, int Pending, IReadOnlyList<FirmPositionStatus>? Positions = null);

/// <summary>A firm's position limit in one underlying as the aggregator sees it after a round (the fields as in <see cref="FirmStatus"/>, in contracts).</summary>
/// <param name="Underlying">The underlying.</param>
/// <param name="Limit">The firm's limit there: gross contracts of positions and working orders.</param>
/// <param name="Usage">Σ the accounts' last summarized usage there.</param>
/// <param name="Allocated">Σ the accounts' limits there that may be in force; null until every account is summarized there.</param>
/// <param name="Pending">Changes in flight.</param>
public sealed record FirmPositionStatus(int Underlying, double Limit, double Usage, double? Allocated, int Pending);

/// <summary>
/// <c>llr aggregate</c>: enforces firm credit and position limits across shards. It reads every
/// shard's risk summaries from JetStream and moves each firm's limit between its accounts by
/// publishing limit changes into the feed stream (on the owning shard's subject, as one more
/// producer): each account gets its own usage plus an equal share of the firm's remaining headroom.
/// A firm's credit limit moves as account credit limits; its position limit in an underlying as
/// the accounts' position limits in that underlying (each the same rule, on its own numbers).
/// </summary>
/// <remarks>
/// <para>Why shares and not a watch that stops the firm once it is over: a watch acts only after
/// summaries have crossed machines, so two shards can each accept orders that together exceed the
/// limit in the meantime. With shares each shard's gate refuses locally, in nanoseconds, every order
/// beyond its account's share, and the shares sum to at most the firm's limit — so the firm's
/// exposure from accepted orders stays within it whatever the staleness. Staleness only costs
/// headroom: an account may be refused while another account's share is idle, until the next round
/// moves it.</para>
/// <para>The sum is kept through every change: a change is lowered first, and a raise is sent only
/// out of the slack left by the limits that may be in force — for an account with a change not yet
/// confirmed by its summary, the higher of the old and new value. One change per account is in
/// flight at a time; one not seen in force within <see cref="PendingTimeout"/> (an operator or a
/// restarted engine without journal changed the limit meanwhile) is given up, counted.</para>
/// </remarks>
public sealed class FirmLimitAggregator
{
    /// <summary>The smallest credit limit the aggregator sets (the gate needs a positive one): an account with no share can add no exposure.</summary>
    public const double MinimumLimit = 1;

    /// <summary>The smallest position limit the aggregator sets (contracts; far below any lot size, so an account with no share can add nothing).</summary>
    public const double MinimumPositionLimit = 1e-6;

    private const int Credit = -1; // the underlying key of a credit view

    private readonly INatsJSContext _js;
    private readonly JetStreamSection _config;
    private readonly ShardMap _map;
    private readonly AggregatorSection _options;
    private readonly Firm[] _firms;
    private readonly Dictionary<(int Account, int Underlying), View> _accounts = [];
    private readonly uint _epoch;
    private readonly LatencyHistogram _staleness = new();
    private long _sequence;
    private long _businessNanos;
    private readonly Lock _lock = new();

    private sealed class Firm(FirmSection section)
    {
        public FirmSection Section { get; } = section;
        public FirmStatus? Published { get; set; }
    }

    private sealed class View(int account, int underlying)
    {
        public int Account { get; } = account;
        public int Underlying { get; } = underlying; // −1: the credit limit
        public bool Seen;
        public double Usage;
        public double InForce = double.PositiveInfinity;
        public double Sent = double.NaN; // NaN: nothing in flight
        public long SentTicks;
    }

    /// <summary>
    /// Creates the aggregator for <paramref name="firms"/> over <paramref name="map"/>'s shards,
    /// publishing as producer <c>aggregator.producerId</c> in session <paramref name="epoch"/> (a
    /// restarted aggregator needs a larger one; by default the Unix time in seconds).
    /// </summary>
    public FirmLimitAggregator(INatsJSContext js, JetStreamSection config, ShardMap map, IReadOnlyList<FirmSection> firms, AggregatorSection options, uint? epoch = null)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(firms);
        ArgumentNullException.ThrowIfNull(options);
        _js = js;
        _config = config;
        _map = map;
        _options = options;
        _firms = [.. firms.Select(f => new Firm(f))];
        foreach (var f in firms)
        {
            foreach (int a in f.Accounts)
            {
                _accounts[(a, Credit)] = new View(a, Credit);
                foreach (var p in f.PositionLimits)
                {
                    _accounts[(a, p.Underlying)] = new View(a, p.Underlying);
                }
            }
        }

        _epoch = epoch ?? (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <summary>A limit change not seen in force within this long is given up (<see cref="PendingExpired"/>).</summary>
    public TimeSpan PendingTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Summaries read (of firm accounts and others).</summary>
    public long SummariesRead => Interlocked.Read(ref _summariesRead);

    /// <summary>Limit changes published.</summary>
    public long ChangesPublished => Interlocked.Read(ref _changesPublished);

    /// <summary>Limit changes seen in force in a summary.</summary>
    public long ChangesConfirmed => Interlocked.Read(ref _changesConfirmed);

    /// <summary>Limit changes given up after <see cref="PendingTimeout"/>.</summary>
    public long PendingExpired => Interlocked.Read(ref _pendingExpired);

    /// <summary>Summaries refused (wrong size, type or version).</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    private long _summariesRead, _changesPublished, _changesConfirmed, _pendingExpired, _malformed;

    /// <summary>The epoch the aggregator publishes in.</summary>
    public uint Epoch => _epoch;

    /// <summary>
    /// Staleness of the summaries when read, in nanoseconds: the reader's monotonic clock less the
    /// engine's when it computed the summary (meaningful when both run on one machine; across
    /// machines the clocks differ and this is not recorded — see the README).
    /// </summary>
    public LatencyHistogram Staleness
    {
        get
        {
            lock (_lock)
            {
                var copy = new LatencyHistogram();
                copy.Add(_staleness);
                return copy;
            }
        }
    }

    /// <summary>Whether summaries' engine clocks are comparable with this process's (one machine); the staleness is recorded only then.</summary>
    public bool SameMachineClock { get; init; } = true;

    /// <summary>
    /// Takes in one summary (as read from the stream); false when it is malformed. Its staleness is
    /// recorded when <paramref name="live"/> (the reader had caught up with the stream: a summary read
    /// from the backlog at start is old but still current, since a newer one would follow it).
    /// </summary>
    public bool OnSummary(ReadOnlySpan<byte> data, long receivedTicks, bool live = true)
    {
        if (data.Length < RiskSummaryDescriptor.Size)
        {
            Interlocked.Increment(ref _malformed);
            return false;
        }

        ref readonly var m = ref WireMessage.Read<RiskSummaryMessage>(data);
        if (m.Type != RiskSummaryDescriptor.MessageType || m.Version != RiskSummaryDescriptor.Version || !double.IsFinite(m.CreditUsage) || m.CreditUsage < 0 || double.IsNaN(m.CreditLimit)
            || m.Underlying < -1 || (m.Underlying >= 0 && (!double.IsFinite(m.PositionUsage) || m.PositionUsage < 0 || !(m.PositionLimit > 0))))
        {
            Interlocked.Increment(ref _malformed);
            return false;
        }

        Interlocked.Increment(ref _summariesRead);
        lock (_lock)
        {
            _businessNanos = Math.Max(_businessNanos, m.BusinessNanos);
            if (live && SameMachineClock && receivedTicks > m.ComputedTicks)
            {
                _staleness.Record(MonotonicClock.ToNanos(receivedTicks - m.ComputedTicks));
            }

            if (_accounts.TryGetValue((m.Account, Credit), out var v))
            {
                Update(v, m.CreditUsage, m.CreditLimit); // every summary carries the account's credit numbers
            }

            if (m.Underlying >= 0 && _accounts.TryGetValue((m.Account, m.Underlying), out v))
            {
                Update(v, m.PositionUsage, m.PositionLimit);
            }
        }

        return true;

        void Update(View v, double usage, double limit)
        {
            v.Seen = true;
            v.Usage = usage;
            v.InForce = limit;
            if (!double.IsNaN(v.Sent) && limit.Equals(v.Sent))
            {
                v.Sent = double.NaN; // in force: the shard applied it
                _changesConfirmed++;
            }
        }
    }

    /// <summary>One limit change to publish.</summary>
    /// <param name="Account">The account.</param>
    /// <param name="Shard">The shard that owns it.</param>
    /// <param name="Limit">Its new limit: credit, or position in <paramref name="Underlying"/>.</param>
    /// <param name="Underlying">−1: the credit limit; else the underlying of a position limit.</param>
    public readonly record struct LimitChange(int Account, int Shard, double Limit, int Underlying = -1);

    /// <summary>
    /// Decides this round's changes at <paramref name="nowTicks"/> and marks them in flight (the
    /// caller publishes them, in order, before the next round). A firm with an account not yet
    /// summarized is left as it is.
    /// </summary>
    public List<LimitChange> Plan(long nowTicks)
    {
        var changes = new List<LimitChange>();
        long timeout = (long)(PendingTimeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        lock (_lock)
        {
            foreach (var firm in _firms)
            {
                var f = firm.Section;
                PlanLimit(f, Credit, f.CreditLimit, MinimumLimit);
                foreach (var p in f.PositionLimits)
                {
                    PlanLimit(f, p.Underlying, p.Limit, MinimumPositionLimit);
                }
            }
        }

        return changes;

        // One limit of one firm: shares of what is left, lowered first, raised out of the slack.
        void PlanLimit(FirmSection f, int underlying, double firmLimit, double minimum)
        {
            var views = f.Accounts.Select(a => _accounts[(a, underlying)]).ToArray();
            foreach (var v in views)
            {
                if (!double.IsNaN(v.Sent) && nowTicks - v.SentTicks > timeout)
                {
                    v.Sent = double.NaN; // never seen in force: someone else set the limit, or the engine restarted without its journal
                    _pendingExpired++;
                }
            }

            if (views.Any(v => !v.Seen))
            {
                return;
            }

            double usage = views.Sum(v => v.Usage);
            double headroom = Math.Max(0, firmLimit - usage) / views.Length;
            double tolerance = _options.Tolerance * firmLimit;
            double slack = firmLimit - views.Sum(Effective);
            foreach (var v in views)
            {
                double target = Math.Max(minimum, v.Usage + headroom);
                if (double.IsNaN(v.Sent) && Effective(v) - target > tolerance)
                {
                    Send(v, target); // lowered first; the room it frees is slack only once it is in force
                }
            }

            foreach (var v in views)
            {
                double target = Math.Max(minimum, v.Usage + headroom);
                double now = Effective(v);
                double raise = Math.Min(target - now, slack);
                if (double.IsNaN(v.Sent) && target - now > tolerance && raise > tolerance)
                {
                    Send(v, now + raise);
                    slack -= raise;
                }
            }
        }

        void Send(View v, double limit)
        {
            v.Sent = limit;
            v.SentTicks = nowTicks;
            changes.Add(new LimitChange(v.Account, _map.ShardOf(v.Account), limit, v.Underlying));
        }
    }

    /// <summary>The limit that may be in force: the reported one, or the change in flight when higher.</summary>
    private double Effective(View v) => double.IsNaN(v.Sent) ? v.InForce : TrustChangesInFlight ? v.Sent : Math.Max(v.InForce, v.Sent);

    /// <summary>Tests only, the negative control of the sum: counts a change in flight as in force at once (a lowering frees its room before the shard applied it).</summary>
    internal bool TrustChangesInFlight { get; init; }

    /// <summary>The accounts of firm <paramref name="name"/>.</summary>
    public IReadOnlyList<int> FirmAccounts(string name) => _firms.First(f => f.Section.Name == name).Section.Accounts;

    /// <summary>Every firm's numbers now.</summary>
    public IReadOnlyList<FirmStatus> Firms()
    {
        lock (_lock)
        {
            return [.. _firms.Select(firm =>
            {
                var views = firm.Section.Accounts.Select(a => _accounts[(a, Credit)]).ToArray();
                double allocated = views.Sum(Effective);
                var positions = firm.Section.PositionLimits.Select(p =>
                {
                    var pv = firm.Section.Accounts.Select(a => _accounts[(a, p.Underlying)]).ToArray();
                    double sum = pv.Sum(Effective);
                    return new FirmPositionStatus(p.Underlying, p.Limit, pv.Sum(v => v.Usage), pv.All(v => v.Seen) && double.IsFinite(sum) ? sum : null, pv.Count(v => !double.IsNaN(v.Sent)));
                }).ToArray();
                return new FirmStatus(firm.Section.Name!, firm.Section.CreditLimit, views.Sum(v => v.Usage), views.All(v => v.Seen) && double.IsFinite(allocated) ? allocated : null,
                    views.Count(v => v.Seen), views.Length, views.Count(v => !double.IsNaN(v.Sent)) + positions.Sum(p => p.Pending), positions);
            })];
        }
    }

    /// <summary>The feed message of <paramref name="change"/> (the next producer sequence of this session).</summary>
    public byte[] Message(LimitChange change)
    {
        var p = new byte[FeedMessageDescriptor.PayloadSize];
        long business;
        lock (_lock)
        {
            business = _businessNanos; // the feed's clock as the shards last reported it: a limit change never moves a shard's business day
        }

        FeedMessageDescriptor.WriteHeader(p, FeedMessageType.LimitChange, _options.ProducerId, _epoch, ++_sequence, business, MonotonicClock.Now());
        if (change.Underlying < 0)
        {
            FeedMessageDescriptor.WriteLimitChange(p, LimitScope.Account, LimitField.MaxOrderQuantityOrCredit, change.Account, change.Limit);
        }
        else
        {
            FeedMessageDescriptor.WriteLimitChange(p, LimitScope.AccountUnderlying, LimitField.MaxOrderNotionalOrUnderlyingPosition, change.Account, change.Limit, (ushort)change.Underlying);
        }

        return p;
    }

    /// <summary>One round: plans, publishes every change on its shard's feed subject (each acknowledged by JetStream before the next), then each firm's summary when it moved. Returns the changes published.</summary>
    public async Task<int> RoundAsync(CancellationToken cancel)
    {
        var changes = Plan(MonotonicClock.Now());
        foreach (var c in changes)
        {
            var payload = Message(c);
            string id = JetStreamTopology.MessageId(payload);
            string subject = _config.ShardSubject(c.Shard);
            for (int failures = 0; ; failures++)
            {
                try
                {
                    // Without the stop's token: a change once decided is sent and counted, or fails —
                    // never left in doubt (stored by the server but not counted here).
                    var ack = await _js.PublishAsync(subject, payload, opts: new NatsJSPubOpts { MsgId = id }, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                    if (!ack.Duplicate)
                    {
                        ack.EnsureSuccess();
                    }

                    break;
                }
                catch (Exception e) when (RingPublisher.IsTransient(e) && (!cancel.IsCancellationRequested || failures < 5))
                {
                    // The same message again (same id: JetStream drops a copy): a later sequence never goes
                    // out before it. A stop does not cut this short at once — the server may have stored it —
                    // but gives it five more tries to learn which.
                    await Task.Delay(RingPublisher.Backoff(failures), CancellationToken.None).ConfigureAwait(false);
                }
            }

            Interlocked.Increment(ref _changesPublished);
        }

        foreach (var status in Firms())
        {
            var firm = _firms.First(f => f.Section.Name == status.Name);
            if (firm.Published is { } before && Math.Abs(before.Usage - status.Usage) <= _options.Tolerance * status.Limit
                && Math.Abs((before.Allocated ?? -1) - (status.Allocated ?? -1)) <= _options.Tolerance * status.Limit && before.Summarized == status.Summarized
                && PositionsAlike(before.Positions, status.Positions))
            {
                continue;
            }

            await _js.PublishAsync(_config.FirmSummarySubject(status.Name), JsonSerializer.SerializeToUtf8Bytes(status, JsonOptions), cancellationToken: cancel).ConfigureAwait(false);
            firm.Published = status;
        }

        return changes.Count;
    }

    private bool PositionsAlike(IReadOnlyList<FirmPositionStatus>? before, IReadOnlyList<FirmPositionStatus>? now)
    {
        if (before is null || now is null || before.Count != now.Count)
        {
            return before is null && now is null;
        }

        for (int k = 0; k < now.Count; k++)
        {
            double tolerance = _options.Tolerance * now[k].Limit;
            if (Math.Abs(before[k].Usage - now[k].Usage) > tolerance || Math.Abs((before[k].Allocated ?? -1) - (now[k].Allocated ?? -1)) > tolerance)
            {
                return false;
            }
        }

        return true;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Reads the summary stream from its start (the stream keeps the latest summary per account) until <paramref name="cancel"/> fires, resuming after the last one read when the consumer is lost.</summary>
    /// <remarks>Counted in <see cref="ReaderResumes"/>.</remarks>
    public async Task ReadSummariesAsync(CancellationToken cancel)
    {
        ulong last = 0;
        string name = string.Create(CultureInfo.InvariantCulture, $"llr-aggregate-{_epoch}");
        int failures = 0;
        for (bool first = true; !cancel.IsCancellationRequested; first = false)
        {
            if (!first)
            {
                Interlocked.Increment(ref _readerResumes);
            }

            try
            {
                // A consumer's start cannot be changed in place: after a failure it is deleted and
                // created again after the last summary read.
                try
                {
                    await _js.DeleteConsumerAsync(_config.SummaryStream, name, cancel).ConfigureAwait(false);
                }
                catch (NatsJSApiException e) when (e.Error.Code == 404)
                {
                }

                var consumer = await _js.CreateOrUpdateConsumerAsync(_config.SummaryStream, new ConsumerConfig(name)
                {
                    FilterSubject = _config.AccountSummarySubjects,
                    AckPolicy = ConsumerConfigAckPolicy.None,
                    DeliverPolicy = last == 0 ? ConsumerConfigDeliverPolicy.All : ConsumerConfigDeliverPolicy.ByStartSequence,
                    OptStartSeq = last == 0 ? 0 : last + 1,
                    InactiveThreshold = TimeSpan.FromMinutes(1), // a killed aggregator's consumer goes by itself
                }, cancel).ConfigureAwait(false);
                var pulls = new NatsJSConsumeOpts { MaxMsgs = 1024, Expires = TimeSpan.FromSeconds(5), IdleHeartbeat = TimeSpan.FromSeconds(1) };
                bool caughtUp = false;
                await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: pulls, cancellationToken: cancel).ConfigureAwait(false))
                {
                    failures = 0;
                    last = msg.Metadata?.Sequence.Stream ?? last;
                    OnSummary(msg.Data ?? [], MonotonicClock.Now(), live: caughtUp);
                    caughtUp |= msg.Metadata is not { NumPending: > 0 }; // the backlog ends here: what follows is read as it arrives
                }
            }
            catch (Exception e) when (!cancel.IsCancellationRequested && RingPublisher.IsTransient(e))
            {
                await Task.Delay(RingPublisher.Backoff(failures++), cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Times the summary reader lost its consumer (a server gone, a leader being elected, the consumer removed) and resumed after the last summary read.</summary>
    public long ReaderResumes => Interlocked.Read(ref _readerResumes);

    private long _readerResumes;

    /// <summary>Reads summaries and runs a round every <c>aggregator.rebalanceMilliseconds</c> until <paramref name="cancel"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        var reading = Task.Run(() => ReadSummariesAsync(cancel), CancellationToken.None);
        var period = TimeSpan.FromMilliseconds(_options.RebalanceMilliseconds);
        int failures = 0;
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                try
                {
                    await RoundAsync(cancel).ConfigureAwait(false);
                    failures = 0;
                    await Task.Delay(period, cancel).ConfigureAwait(false);
                }
                catch (Exception e) when (!cancel.IsCancellationRequested && RingPublisher.IsTransient(e))
                {
                    await Task.Delay(RingPublisher.Backoff(failures++), cancel).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }

        try
        {
            await reading.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
    }
}
