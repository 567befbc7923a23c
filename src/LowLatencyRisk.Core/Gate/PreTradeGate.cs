using System.Runtime.CompilerServices;
using LowLatencyRisk.Core.Book;

namespace LowLatencyRisk.Core.Gate;

/// <summary>
/// The pre-trade risk gate: answers accept, or reject with one reason and the numbers that failed,
/// for each order, and tracks accepted orders as working exposure until the matching engine
/// reports their fill, cancel or expiry.
/// </summary>
/// <remarks>
/// <para>Single writer: call on the thread that owns the <see cref="RiskBook"/> (the matching
/// engine's thread when embedded, the risk engine's when out of process). No lock, no allocation.</para>
/// <para>Checks, cheapest first, the first failure decides: ids and status → kill switches →
/// throttle (every message takes a token) → malformed → tick, lot, minimum → maximum quantity and
/// notional → price band (market orders use the protection price) → duplicate client order id →
/// most working orders of the account →
/// then, with one what-if margin computation shared by the rest: stale mark (risk-increasing only)
/// → reduce-only → position limits (position + same-side working + order) → credit → daily loss
/// (risk-increasing only) → account
/// state (margin call, liquidation, venue risk-off: risk-reducing only) → margin (initial margin
/// after the order must not exceed equity; an order that does not increase initial margin always
/// passes). Limits equal to the value pass.</para>
/// <para>Working orders reserve quantity for the position limits and notional for the credit check.
/// Margin is checked per order against filled positions, as most venues do for resting orders.</para>
/// </remarks>
/// <typeparam name="TMargin">The book's margin methodology (<see cref="PreTradeGate"/> is the gate over today's <see cref="RiskBook"/>).</typeparam>
public class PreTradeGate<TMargin>
    where TMargin : struct, IMarginMethodology
{
    private const double Epsilon = 1e-9;

    /// <summary>Client order ids are 0 ≤ id ≤ 2^40 − 1, so (account, id) packs into one exact 64-bit key.</summary>
    public const long MaxClientOrderId = (1L << 40) - 1;

    private readonly RiskBook<TMargin> _book;
    private readonly GateConfig _config;

    // Per instrument.
    private readonly bool[] _halted;
    private readonly double[] _maxOrderQuantity, _maxOrderNotional, _minQuantity, _priceBand, _positionLimit;

    // Per underlying.
    private readonly bool[] _underlyingKill;

    // Per account.
    private readonly bool[] _accountDisabled;
    private readonly bool[] _accountKill;
    private readonly double[] _creditLimit, _underlyingPositionLimit, _throttleRate, _throttleBurst;

    // Per account × underlying: a position limit of its own in one underlying (a firm's share there), +∞ when none.
    private readonly double[] _pairPositionLimit;
    private readonly int _underlyings;
    private readonly double[] _tokens;
    private readonly long[] _lastRefill;
    private readonly double[] _workingNotional;
    private readonly double[] _maxOpenOrders;
    private readonly int[] _openOrders;
    private readonly double[] _dailyLossLimit;
    private readonly double[] _dayBaseline;   // the account's realized + unrealized P&L at the start of the day
    private long _nextDayStart = long.MinValue;

    private readonly LongHashMap<WorkingOrder> _orders;
    private readonly LongHashMap<WorkingQuantity> _workingByInstrument;   // key (account, instrument)
    private readonly LongHashMap<double> _workingByUnderlying;            // key (account, underlying): gross working contracts
    private readonly long[] _endedKeys;
    private readonly long[] _endedAt;
    private int _endedHead;
    private int _endedCount;

    /// <summary>Creates a gate over <paramref name="book"/> with venue defaults from <paramref name="config"/>.</summary>
    public PreTradeGate(RiskBook<TMargin> book, GateConfig config)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _book = book;
        _config = config;
        int instruments = book.Config.MaxInstruments;
        int accounts = book.Config.MaxAccounts;
        _halted = new bool[instruments];
        _maxOrderQuantity = Filled(instruments, config.MaxOrderQuantity);
        _maxOrderNotional = Filled(instruments, config.MaxOrderNotional);
        _minQuantity = Filled(instruments, config.MinQuantity);
        _priceBand = Filled(instruments, config.PriceBand);
        _positionLimit = Filled(instruments, config.PositionLimit);
        _underlyingKill = new bool[book.Config.MaxUnderlyings];
        _accountDisabled = new bool[accounts];
        _accountKill = new bool[accounts];
        _creditLimit = Filled(accounts, config.CreditLimit);
        _underlyingPositionLimit = Filled(accounts, config.UnderlyingPositionLimit);
        _underlyings = book.Config.MaxUnderlyings;
        _pairPositionLimit = Filled(accounts * _underlyings, double.PositiveInfinity);
        _throttleRate = Filled(accounts, config.ThrottleRate);
        _throttleBurst = Filled(accounts, config.ThrottleBurst);
        _tokens = Filled(accounts, config.ThrottleBurst);
        _lastRefill = new long[accounts];
        _workingNotional = new double[accounts];
        _maxOpenOrders = Filled(accounts, config.MaxOpenOrders);
        _openOrders = new int[accounts];
        _dailyLossLimit = Filled(accounts, config.DailyLossLimit);
        _dayBaseline = new double[accounts];
        _orders = new LongHashMap<WorkingOrder>(config.MaxTrackedOrders);
        _workingByInstrument = new LongHashMap<WorkingQuantity>(config.MaxTrackedOrders);
        _workingByUnderlying = new LongHashMap<double>(config.MaxTrackedOrders);
        _endedKeys = new long[config.MaxTrackedOrders];
        _endedAt = new long[config.MaxTrackedOrders];
        Mmp = new MarketMakerProtection(accounts, config.MmpEntries, config.MmpWindowFills);
    }

    /// <summary>Market-maker protection: set on the feed, fed by maker fills, read by the check of protected orders.</summary>
    public MarketMakerProtection Mmp { get; }

    /// <summary>Venue-wide kill switch: every order is rejected while on.</summary>
    public bool VenueKillSwitch { get => _venueKillSwitch; set => _venueKillSwitch = value; }

    /// <summary>Venue risk-off (the engine sets it when the breach ring is full): only risk-reducing orders pass.</summary>
    public bool VenueRiskOff { get => _venueRiskOff; set => _venueRiskOff = value; }

    /// <summary>Orders currently working.</summary>
    public int WorkingOrderCount => _workingOrderCount;

    private int _workingOrderCount;
    private bool _venueKillSwitch;
    private bool _venueRiskOff;

    /// <summary>Walks the gate's mutable state (limits set at run time, switches, throttles, working orders) for a snapshot or a restore.</summary>
    public void VisitState(Persistence.StateVisitor v)
    {
        ArgumentNullException.ThrowIfNull(v);
        v.Value(ref _workingOrderCount);
        v.Value(ref _venueKillSwitch);
        v.Value(ref _venueRiskOff);
        v.Array(_halted);
        foreach (var a in (ReadOnlySpan<double[]>)[_maxOrderQuantity, _maxOrderNotional, _minQuantity, _priceBand, _positionLimit, _creditLimit, _underlyingPositionLimit,
            _throttleRate, _throttleBurst, _tokens, _workingNotional, _maxOpenOrders, _dailyLossLimit, _dayBaseline])
        {
            v.Array(a);
        }

        v.Array(_openOrders);
        v.Value(ref _nextDayStart);

        v.Array(_pairPositionLimit);
        v.Array(_underlyingKill);
        v.Array(_accountDisabled);
        v.Array(_accountKill);
        v.Array(_lastRefill);
        _orders.VisitState(v);
        _workingByInstrument.VisitState(v);
        _workingByUnderlying.VisitState(v);
        v.Array(_endedKeys);
        v.Array(_endedAt);
        v.Value(ref _endedHead);
        v.Value(ref _endedCount);
        Mmp.VisitState(v);
    }

    /// <summary>Counts of decisions by reason (index = <see cref="RejectReason"/>; [0] = accepted).</summary>
    public long[] DecisionCounts { get; } = new long[32];

    // ------------------------------------------------------------------ configuration

    /// <summary>Halts or resumes trading in an instrument.</summary>
    public void SetHalted(int instrument, bool halted) => _halted[instrument] = halted;

    /// <summary>Kill switch of an underlying.</summary>
    public void SetUnderlyingKillSwitch(int underlying, bool on) => _underlyingKill[underlying] = on;

    /// <summary>Kill switch of an account.</summary>
    public void SetAccountKillSwitch(int account, bool on) => _accountKill[account] = on;

    /// <summary>Enables or disables an account.</summary>
    public void SetAccountEnabled(int account, bool enabled) => _accountDisabled[account] = !enabled || (_otherShard is not null && _otherShard[account]);

    /// <summary>
    /// Marks <paramref name="account"/> as owned by another shard of a sharded venue: its orders are
    /// refused with <see cref="RejectReason.OtherShard"/> from now on (its positions, margin and
    /// working orders live on the owner's gate). Not reversible: a shard's accounts are fixed by its map.
    /// </summary>
    public void SetAccountOtherShard(int account)
    {
        _otherShard ??= new bool[_accountDisabled.Length];
        _otherShard[account] = true;
        _accountDisabled[account] = true;
    }

    private bool[]? _otherShard;

    /// <summary>Overrides an instrument's limits; NaN keeps the current value.</summary>
    public void SetInstrumentLimits(int instrument, double maxOrderQuantity = double.NaN, double maxOrderNotional = double.NaN,
        double minQuantity = double.NaN, double priceBand = double.NaN, double positionLimit = double.NaN)
    {
        Set(_maxOrderQuantity, instrument, maxOrderQuantity);
        Set(_maxOrderNotional, instrument, maxOrderNotional);
        Set(_minQuantity, instrument, minQuantity);
        Set(_priceBand, instrument, priceBand);
        Set(_positionLimit, instrument, positionLimit);
    }

    /// <summary>Overrides an account's limits; NaN keeps the current value.</summary>
    public void SetAccountLimits(int account, double creditLimit = double.NaN, double underlyingPositionLimit = double.NaN,
        double throttleRate = double.NaN, double throttleBurst = double.NaN)
    {
        Set(_creditLimit, account, creditLimit);
        Set(_underlyingPositionLimit, account, underlyingPositionLimit);
        Set(_throttleRate, account, throttleRate);
        Set(_throttleBurst, account, throttleBurst);
        _tokens[account] = Math.Min(_tokens[account], _throttleBurst[account]);
    }

    /// <summary>
    /// Sets an account's position limit in one underlying (gross contracts of positions and working
    /// orders there; +∞: none): in force together with the account's limit for every underlying, the
    /// lower one binding. A firm's position limit in an underlying is cut into these (<c>llr aggregate</c>).
    /// </summary>
    public void SetAccountUnderlyingPositionLimit(int account, int underlying, double limit)
    {
        if (!(limit > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "A position limit is positive, or +∞ for none.");
        }

        _pairPositionLimit[Pair(account, underlying)] = limit;
    }

    /// <summary>The position limit in force for <paramref name="account"/> in <paramref name="underlying"/>: the lower of the account's limit for every underlying and its own there (+∞: none).</summary>
    public double UnderlyingPositionLimitOf(int account, int underlying) =>
        Math.Min(_underlyingPositionLimit[account], _pairPositionLimit[Pair(account, underlying)]);

    /// <summary>
    /// The flattened (account, underlying) index; out-of-range ids throw rather than alias another
    /// account's entry (an underlying past the last would otherwise land in the next account's row).
    /// </summary>
    private int Pair(int account, int underlying)
    {
        if ((uint)account >= (uint)_underlyingPositionLimit.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(account), account, $"Account ids are 0..{_underlyingPositionLimit.Length - 1}.");
        }

        if ((uint)underlying >= (uint)_underlyings)
        {
            throw new ArgumentOutOfRangeException(nameof(underlying), underlying, $"Underlying ids are 0..{_underlyings - 1}.");
        }

        return (account * _underlyings) + underlying;
    }

    /// <summary>What that limit counts: gross contracts of the account's positions in <paramref name="underlying"/> plus its working orders there.</summary>
    public double UnderlyingPositionUsage(int account, int underlying)
    {
        _book.GrossNotional(account, underlying, out double contracts);
        ref double working = ref _workingByUnderlying.Find(UnderlyingKey(account, underlying));
        return contracts + (Unsafe.IsNullRef(ref working) ? 0 : working);
    }

    /// <summary>Sets an account's most working orders (a whole number ≥ 1, or +∞ for none); orders already working stay.</summary>
    public void SetAccountMaxOpenOrders(int account, double maxOpenOrders)
    {
        if (!GateConfig.IsOrderCount(maxOpenOrders))
        {
            throw new ArgumentOutOfRangeException(nameof(maxOpenOrders), maxOpenOrders, "A limit on orders is a whole number of at least 1, or +∞.");
        }

        _maxOpenOrders[account] = maxOpenOrders;
    }

    /// <summary>Working orders of an account.</summary>
    public int OpenOrders(int account) => _openOrders[account];

    /// <summary>Sets an account's daily loss limit (positive, or +∞ for none).</summary>
    public void SetAccountDailyLossLimit(int account, double limit) => Set(_dailyLossLimit, account, limit);

    /// <summary>An account's credit limit: the most gross notional of positions and working orders it may hold (+∞: none).</summary>
    public double CreditLimitOf(int account) => _creditLimit[account];

    /// <summary>An account's daily loss limit (+∞: none).</summary>
    public double DailyLossLimitOf(int account) => _dailyLossLimit[account];

    /// <summary>An account's loss since the start of the day (positive for a loss): its baseline P&amp;L less its realized + unrealized P&amp;L now.</summary>
    public double DailyLoss(int account) => _dayBaseline[account] - Pnl(account);

    /// <summary>When the next day starts (the next <see cref="RollDay"/>), nanoseconds; <see cref="long.MinValue"/> before the first.</summary>
    public long NextDayStart => _nextDayStart;

    /// <summary>
    /// Starts the day that contains <paramref name="nowNanos"/> if it is not started yet: every account's
    /// realized + unrealized P&amp;L becomes its baseline for the daily loss limit (one pass over the
    /// accounts, once a day). The engine calls it with the business time of the first feed message at
    /// or past the day's start; an embedding venue calls it from its own clock (or lets the gate do it
    /// at the first order check of the day). Returns true when a day started.
    /// </summary>
    public bool RollDay(long nowNanos)
    {
        // Not a time (negative, or so late that the next day's start would overflow): ignored, so a
        // garbage timestamp can neither wrap the next start negative (a roll, one pass over every
        // account, on every message after it) nor move the day.
        if (nowNanos < _nextDayStart || nowNanos is < 0 or > LatestDayTime)
        {
            return false;
        }

        long offset = _config.DayStartOffsetNanos;
        long day = Math.DivRem(nowNanos - offset, GateConfig.NanosPerDay, out long rem) - (rem < 0 ? 1 : 0);
        _nextDayStart = ((day + 1) * GateConfig.NanosPerDay) + offset;
        for (int a = 0; a < _dayBaseline.Length; a++)
        {
            _dayBaseline[a] = Pnl(a);
        }

        return true;
    }

    /// <summary>The latest time a day can start from: two days short of the 64-bit nanosecond clock's end (year 2262).</summary>
    public const long LatestDayTime = long.MaxValue - (2 * GateConfig.NanosPerDay);

    private double Pnl(int account) => _book.Equity(account) - _book.CollateralValue(account);

    /// <summary>An account's most working orders (+∞: none).</summary>
    public double MaxOpenOrdersOf(int account) => _maxOpenOrders[account];

    // ------------------------------------------------------------------ the check

    /// <summary>
    /// Checks <paramref name="order"/> at <paramref name="nowNanos"/> (the order's wall-clock time,
    /// which drives the throttle, staleness and duplicate window). Accepted orders become working.
    /// </summary>
    public Decision Check(in OrderRequest order, long nowNanos)
    {
        var d = Evaluate(order, nowNanos);
        DecisionCounts[(int)d.Reason]++;
        return d;
    }

    private Decision Evaluate(in OrderRequest order, long nowNanos)
    {
        if (nowNanos >= _nextDayStart)
        {
            RollDay(nowNanos);
        }

        int i = order.Instrument;
        int a = order.Account;
        if (!_book.IsInstrument(i))
        {
            return new Decision(RejectReason.UnknownInstrument, 0, i);
        }

        if (!_book.IsAccount(a))
        {
            return new Decision(RejectReason.UnknownAccount, 0, a);
        }

        if (_accountDisabled[a])
        {
            // A sharded venue's other accounts are disabled here too: their reason costs nothing on the path of the own.
            return new Decision(_otherShard is not null && _otherShard[a] ? RejectReason.OtherShard : RejectReason.AccountDisabled);
        }

        if (!_book.MayHold(a, i))
        {
            return new Decision(RejectReason.IsolatedInstrument, _book.IsolatedInstrument(a), i);
        }

        if (_halted[i])
        {
            return new Decision(RejectReason.InstrumentHalted);
        }

        ref readonly InstrumentSpec spec = ref _book.Instrument(i);
        int u = spec.Underlying;
        if (VenueKillSwitch || _underlyingKill[u] || _accountKill[a])
        {
            return new Decision(RejectReason.KillSwitch);
        }

        if (order.MmpProtected && Mmp.IsFrozen(a, u, nowNanos))
        {
            return new Decision(RejectReason.MmpFrozen);
        }

        // Token bucket: refill for the time since the last message, then take one token.
        double burst = _throttleBurst[a];
        double tokens = Math.Min(burst, _tokens[a] + (Math.Max(0, nowNanos - _lastRefill[a]) * 1e-9 * _throttleRate[a]));
        _lastRefill[a] = Math.Max(_lastRefill[a], nowNanos);
        if (tokens < 1)
        {
            _tokens[a] = tokens;
            return new Decision(RejectReason.Throttled, burst, tokens);
        }

        _tokens[a] = tokens - 1;

        double quantity = order.Quantity;
        if (order.Side is not (OrderSide.Buy or OrderSide.Sell) || !double.IsFinite(quantity) || quantity <= 0 ||
            (ulong)order.ClientOrderId > MaxClientOrderId ||
            (order.Type == OrderType.Limit && !(order.LimitPrice > 0 && double.IsFinite(order.LimitPrice))) ||
            order.Type is not (OrderType.Limit or OrderType.Market))
        {
            return new Decision(RejectReason.InvalidOrder, 0, quantity);
        }

        double mark = _book.MarkPrice(i);
        if (order.Type == OrderType.Limit && !IsMultiple(order.LimitPrice, spec.TickSize))
        {
            return new Decision(RejectReason.InvalidTick, spec.TickSize, order.LimitPrice);
        }

        if (!IsMultiple(quantity, spec.LotSize))
        {
            return new Decision(RejectReason.InvalidLot, spec.LotSize, quantity);
        }

        if (quantity < _minQuantity[i])
        {
            return new Decision(RejectReason.BelowMinimumQuantity, _minQuantity[i], quantity);
        }

        if (quantity > _maxOrderQuantity[i])
        {
            return new Decision(RejectReason.MaxOrderQuantity, _maxOrderQuantity[i], quantity);
        }

        double price = order.Type == OrderType.Market
            ? mark * (order.Side == OrderSide.Buy ? 1 + _config.MarketProtection : 1 - _config.MarketProtection)
            : order.LimitPrice;
        double notional = _book.ContractNotional(i, quantity, price); // an inverse contract: quantity × face
        if (notional > _maxOrderNotional[i])
        {
            return new Decision(RejectReason.MaxOrderValue, _maxOrderNotional[i], notional);
        }

        if (order.Type == OrderType.Limit)
        {
            double band = _priceBand[i] * mark;
            if (Math.Abs(price - mark) > band + (Epsilon * mark))
            {
                return new Decision(RejectReason.PriceOutsideBand, order.Side == OrderSide.Buy ? mark + band : mark - band, price);
            }
        }

        long key = OrderKey(a, order.ClientOrderId);
        ExpireEnded(nowNanos);
        if (!Unsafe.IsNullRef(ref _orders.Find(key)))
        {
            return new Decision(RejectReason.DuplicateOrder, 0, order.ClientOrderId);
        }

        // Every accepted order becomes a working order, risk-reducing or not: the count is of orders.
        if (_openOrders[a] + 1 > _maxOpenOrders[a])
        {
            return new Decision(RejectReason.MaxOpenOrders, _maxOpenOrders[a], _openOrders[a] + 1);
        }

        // From here on every check needs to know whether the order increases risk.
        double signed = order.SignedQuantity;
        WhatIfResult whatIf = _book.WhatIf(a, i, signed, price);
        bool reducing = whatIf.IsRiskReducing;

        if (!reducing && _book.IsIndexStale(u, nowNanos))
        {
            return new Decision(RejectReason.MarkStale, _book.Config.StaleAfterNanos, nowNanos);
        }

        double position = _book.PositionQuantity(a, i);
        if (order.ReduceOnly && (position == 0 || Math.Sign(signed) == Math.Sign(position) || quantity > Math.Abs(position) + Epsilon))
        {
            return new Decision(RejectReason.ReduceOnlyWouldIncrease, Math.Abs(position), quantity);
        }

        ref WorkingQuantity working = ref _workingByInstrument.Find(InstrumentKey(a, i));
        double sameSideWorking = Unsafe.IsNullRef(ref working) ? 0 : order.Side == OrderSide.Buy ? working.Buy : -working.Sell;
        double projected = Math.Abs(position + sameSideWorking + signed);
        if (projected > _positionLimit[i] + Epsilon && projected > Math.Abs(position))
        {
            return new Decision(RejectReason.PositionLimit, _positionLimit[i], projected);
        }

        double underlyingLimit = Math.Min(_underlyingPositionLimit[a], _pairPositionLimit[(a * _underlyings) + u]);
        double creditLimit = _creditLimit[a];
        if (!double.IsPositiveInfinity(underlyingLimit) || !double.IsPositiveInfinity(creditLimit))
        {
            double grossNotional = _book.GrossNotional(a, u, out double grossContracts);
            ref double workingU = ref _workingByUnderlying.Find(UnderlyingKey(a, u));
            double grossAfter = grossContracts + (Unsafe.IsNullRef(ref workingU) ? 0 : workingU) + quantity;
            if (grossAfter > underlyingLimit + Epsilon && !reducing)
            {
                return new Decision(RejectReason.UnderlyingPositionLimit, underlyingLimit, grossAfter);
            }

            double exposure = grossNotional + _workingNotional[a] + notional;
            if (exposure > creditLimit + Epsilon && !reducing)
            {
                return new Decision(RejectReason.CreditLimit, creditLimit, exposure);
            }
        }

        if (!reducing && !double.IsPositiveInfinity(_dailyLossLimit[a]))
        {
            double loss = _dayBaseline[a] - Pnl(a);
            if (loss > _dailyLossLimit[a] + Epsilon)
            {
                return new Decision(RejectReason.DailyLossLimit, _dailyLossLimit[a], loss);
            }
        }

        if (!reducing && (VenueRiskOff || _book.State(a) != MarginState.Healthy))
        {
            return new Decision(RejectReason.AccountReduceOnly, whatIf.InitialMarginBefore, whatIf.InitialMarginAfter);
        }

        if (!reducing)
        {
            // With margin on resting orders: the worst side as if all of it filled, this order included
            // (never less than this order filled alone), so the (N + 1)-th order is refused when the N
            // working ones would already breach together. With nothing else working that is this
            // order filled alone — the what-if above — so the arrays are not read at all.
            double required = _config.MarginOnWorkingOrders && _book.WorkingInstrumentCount(a) > 0
                ? Math.Max(whatIf.InitialMarginAfter, _book.InitialMargin(a) + _book.OpenOrderMarginIf(a, i, signed))
                : whatIf.InitialMarginAfter;
            if (required > whatIf.EquityAfter)
            {
                return new Decision(RejectReason.InsufficientMargin, whatIf.EquityAfter, required);
            }
        }

        return Track(order, key, signed, price, notional);
    }

    // ------------------------------------------------------------------ working orders

    /// <summary>The matching engine filled <paramref name="filledQuantity"/> of a working order: its reservation shrinks (the fill itself goes to the risk book).</summary>
    public bool OnOrderFilled(int account, long clientOrderId, double filledQuantity, long nowNanos)
    {
        ref WorkingOrder o = ref _orders.Find(OrderKey(account, clientOrderId));
        if (Unsafe.IsNullRef(ref o) || !o.Live || !(filledQuantity > 0))
        {
            return false;
        }

        double release = Math.Min(filledQuantity, Math.Abs(o.Remaining));
        Release(ref o, release);
        if (Math.Abs(o.Remaining) <= Epsilon)
        {
            End(ref o, OrderKey(account, clientOrderId), nowNanos);
        }

        return true;
    }

    /// <summary>The order was cancelled or expired: release what it still reserved.</summary>
    public bool OnOrderEnded(int account, long clientOrderId, long nowNanos)
    {
        long key = OrderKey(account, clientOrderId);
        ref WorkingOrder o = ref _orders.Find(key);
        if (Unsafe.IsNullRef(ref o) || !o.Live)
        {
            return false;
        }

        Release(ref o, Math.Abs(o.Remaining));
        End(ref o, key, nowNanos);
        return true;
    }

    /// <summary>Same-side working quantity of an account in an instrument (buy positive, sell negative).</summary>
    public (double Buy, double Sell) WorkingQuantityOf(int account, int instrument)
    {
        ref WorkingQuantity w = ref _workingByInstrument.Find(InstrumentKey(account, instrument));
        return Unsafe.IsNullRef(ref w) ? (0, 0) : (w.Buy, w.Sell);
    }

    /// <summary>Open order notional of an account.</summary>
    public double WorkingNotional(int account) => _workingNotional[account];

    private Decision Track(in OrderRequest order, long key, double signed, double price, double notional)
    {
        // The three tables hold at most MaxTrackedOrders entries each and every entry of the two
        // working tables belongs to a live order, so room in the order table means room in all.
        if (_orders.Count >= _orders.MaxCount || !_book.CanAddWorkingOrder(order.Account, order.Instrument))
        {
            return new Decision(RejectReason.OrderCapacity, _orders.MaxCount, _orders.Count);
        }

        _book.AddWorkingOrder(order.Account, order.Instrument, signed);

        ref WorkingQuantity working = ref _workingByInstrument.GetOrAdd(InstrumentKey(order.Account, order.Instrument), out _);
        ref double workingU = ref _workingByUnderlying.GetOrAdd(UnderlyingKey(order.Account, _book.Instrument(order.Instrument).Underlying), out _);
        ref WorkingOrder o = ref _orders.GetOrAdd(key, out _);
        o = new WorkingOrder { Account = order.Account, Instrument = order.Instrument, Remaining = signed, Price = price, Live = true };
        if (signed > 0)
        {
            working.Buy += signed;
        }
        else
        {
            working.Sell += -signed;
        }

        workingU += Math.Abs(signed);
        _workingNotional[order.Account] += notional;
        _workingOrderCount++;
        _openOrders[order.Account]++;
        return Decision.Accept;
    }

    private void Release(ref WorkingOrder o, double quantity)
    {
        _book.RemoveWorkingOrder(o.Account, o.Instrument, o.Remaining > 0 ? quantity : -quantity);
        long instrumentKey = InstrumentKey(o.Account, o.Instrument);
        ref WorkingQuantity w = ref _workingByInstrument.Find(instrumentKey);
        if (o.Remaining > 0)
        {
            w.Buy = Math.Max(0, w.Buy - quantity);
            o.Remaining -= quantity;
        }
        else
        {
            w.Sell = Math.Max(0, w.Sell - quantity);
            o.Remaining += quantity;
        }

        if (w.Buy <= Epsilon && w.Sell <= Epsilon)
        {
            _workingByInstrument.Remove(instrumentKey);
        }

        long underlyingKey = UnderlyingKey(o.Account, _book.Instrument(o.Instrument).Underlying);
        ref double wu = ref _workingByUnderlying.Find(underlyingKey);
        wu = Math.Max(0, wu - quantity);
        if (wu <= Epsilon)
        {
            _workingByUnderlying.Remove(underlyingKey);
        }

        _workingNotional[o.Account] = Math.Max(0, _workingNotional[o.Account] - _book.ContractNotional(o.Instrument, quantity, o.Price));
    }

    private void End(ref WorkingOrder o, long key, long nowNanos)
    {
        o.Live = false;
        _workingOrderCount--;
        _openOrders[o.Account]--;
        // Remember the id for the duplicate window; when the memory is full the oldest goes first.
        if (_endedCount == _endedKeys.Length)
        {
            _orders.Remove(_endedKeys[_endedHead]);
            _endedHead = (_endedHead + 1) % _endedKeys.Length;
            _endedCount--;
        }

        int tail = (_endedHead + _endedCount) % _endedKeys.Length;
        _endedKeys[tail] = key;
        _endedAt[tail] = nowNanos;
        _endedCount++;
    }

    private void ExpireEnded(long nowNanos)
    {
        while (_endedCount > 0 && nowNanos - _endedAt[_endedHead] > _config.DuplicateWindowNanos)
        {
            _orders.Remove(_endedKeys[_endedHead]);
            _endedHead = (_endedHead + 1) % _endedKeys.Length;
            _endedCount--;
        }
    }

    // ------------------------------------------------------------------ helpers

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsMultiple(double value, double increment)
    {
        double steps = value / increment;
        return Math.Abs(steps - Math.Round(steps)) <= 1e-9 * Math.Max(1, Math.Abs(steps));
    }

    private static long OrderKey(int account, long clientOrderId) => ((long)account << 40) | clientOrderId;

    private static long InstrumentKey(int account, int instrument) => ((long)account << 32) | (uint)instrument;

    private static long UnderlyingKey(int account, int underlying) => ((long)account << 32) | (uint)underlying;

    private static double[] Filled(int n, double value)
    {
        var a = new double[n];
        Array.Fill(a, value);
        return a;
    }

    private static void Set(double[] target, int index, double value)
    {
        if (!double.IsNaN(value))
        {
            if (!(value > 0))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Limits must be positive.");
            }

            target[index] = value;
        }
    }

    private struct WorkingOrder
    {
        public int Account;
        public int Instrument;
        public double Remaining;   // signed
        public double Price;
        public bool Live;
    }

    private struct WorkingQuantity
    {
        public double Buy;
        public double Sell;
    }
}

/// <summary>The pre-trade gate over the book with today's methodology (<see cref="RiskBook"/>).</summary>
public sealed class PreTradeGate : PreTradeGate<ScanRiskMargin>
{
    /// <summary>Creates a gate over <paramref name="book"/> with venue defaults from <paramref name="config"/>.</summary>
    public PreTradeGate(RiskBook book, GateConfig config)
        : base(book, config)
    {
    }
}
