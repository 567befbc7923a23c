namespace LowLatencyRisk.Core.Gate;

/// <summary>
/// One account × underlying's market-maker protection: over a rolling <paramref name="IntervalNanos"/>
/// of business time, the maker fills' gross quantity, net delta and net vega may not exceed their
/// limits; the fill that takes one beyond it trips the protection, which freezes the account's
/// protected orders in the underlying for <paramref name="FrozenNanos"/> (0: until reset by a
/// message). A limit of +∞ is no limit.
/// </summary>
/// <param name="IntervalNanos">The rolling interval, (0, 1 day].</param>
/// <param name="FrozenNanos">How long a trip freezes, [0, 1 day]; 0 until reset.</param>
/// <param name="QuantityLimit">Σ |quantity| of maker fills in the interval, &gt; 0.</param>
/// <param name="DeltaLimit">|Σ quantity × delta per contract| in the interval, &gt; 0.</param>
/// <param name="VegaLimit">|Σ quantity × vega per contract| in the interval, &gt; 0.</param>
public readonly record struct MmpSettings(long IntervalNanos, long FrozenNanos, double QuantityLimit, double DeltaLimit, double VegaLimit)
{
    /// <summary>A common venue default: 5 s interval, 100 ms frozen, quantity and delta 100, no vega limit.</summary>
    public static MmpSettings Default => new(5_000_000_000, 100_000_000, 100, 100, double.PositiveInfinity);

    /// <summary>True when every value is in its range.</summary>
    public bool IsValid => IntervalNanos is > 0 and <= DayNanos && FrozenNanos is >= 0 and <= DayNanos
        && QuantityLimit > 0 && DeltaLimit > 0 && VegaLimit > 0; // NaN fails every comparison

    private const long DayNanos = 86_400_000_000_000;
}

/// <summary>Which limit tripped a protection (<see cref="MarketMakerProtection.OnMakerFill"/>).</summary>
public enum MmpTrip : byte
{
    /// <summary>Not tripped.</summary>
    None = 0,
    /// <summary>Gross maker quantity.</summary>
    Quantity = 1,
    /// <summary>Net maker delta.</summary>
    Delta = 2,
    /// <summary>Net maker vega.</summary>
    Vega = 3,
    /// <summary>More maker fills in the interval than the window holds (tripped to stay safe).</summary>
    WindowFull = 4,
}

/// <summary>What a configuration change did.</summary>
public enum MmpChange : byte
{
    /// <summary>Applied.</summary>
    Applied = 0,
    /// <summary>A value out of range (nothing changed).</summary>
    RejectedInvalid = 1,
    /// <summary>Every entry is in use (nothing changed).</summary>
    RejectedCapacity = 2,
    /// <summary>No protection is configured for that account and underlying (disable, reset).</summary>
    RejectedUnknown = 3,
}

/// <summary>
/// Market-maker protection for the accounts and underlyings configured: the rolling window of each
/// one's maker fills, running sums, and the frozen state the gate reads. Entries are preallocated
/// (a capacity, each with a window of a fixed number of fills); an
/// account's entries are a short chain from a per-account head, since market makers are few and
/// quote a few underlyings each. A maker fill costs a walk of that chain, the expiry of the fills
/// that left the interval and a few additions: O(1) amortized, no allocation. Single writer (the
/// engine thread); deterministic on business time, so a replay rebuilds it exactly.
/// </summary>
/// <remarks>
/// The sums run incrementally (added on entry, subtracted on expiry) and are set to exactly 0 when
/// the window empties, so rounding cannot accumulate past a quiet interval. A trip clears the
/// window: after the freeze the maker starts from nothing, as if its quotes were new.
/// </remarks>
public sealed class MarketMakerProtection
{
    private readonly int[] _first;      // by account: its first entry, −1 none
    private readonly Entry[] _entries;
    private readonly WindowFill[] _fills; // entry e's window: [e × window, (e + 1) × window)
    private readonly int _window;
    private int _count;

    /// <summary>Creates room for <paramref name="capacity"/> protections of accounts below <paramref name="accounts"/>, each remembering up to <paramref name="windowFills"/> fills.</summary>
    public MarketMakerProtection(int accounts, int capacity, int windowFills)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(accounts, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowFills, 1);
        _first = new int[accounts];
        Array.Fill(_first, -1);
        _entries = new Entry[capacity];
        _fills = new WindowFill[(long)capacity * windowFills];
        _window = windowFills;
    }

    /// <summary>Protections configured (enabled or not).</summary>
    public int Count => _count;

    /// <summary>Trips so far.</summary>
    public long Trips { get; private set; }

    /// <summary>Walks the state for a snapshot or a restore.</summary>
    public void VisitState(Persistence.StateVisitor visitor)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        visitor.Array(_first);
        visitor.Array(_entries);
        visitor.Array(_fills);
        visitor.Value(ref _count);
        long trips = Trips;
        visitor.Value(ref trips);
        Trips = trips;
    }

    /// <summary>Sets (and enables) the protection of <paramref name="account"/> in <paramref name="underlying"/>; its window starts empty and any freeze ends.</summary>
    public MmpChange Configure(int account, int underlying, in MmpSettings settings)
    {
        if ((uint)account >= (uint)_first.Length || underlying < 0 || !settings.IsValid)
        {
            return MmpChange.RejectedInvalid;
        }

        int e = Find(account, underlying);
        if (e < 0)
        {
            if (_count == _entries.Length)
            {
                return MmpChange.RejectedCapacity;
            }

            e = _count++;
            _entries[e] = new Entry { Account = account, Underlying = underlying, Next = _first[account] };
            _first[account] = e;
        }

        ref Entry x = ref _entries[e];
        x.Settings = settings;
        x.Enabled = true;
        Clear(ref x);
        x.FrozenUntil = 0;
        return MmpChange.Applied;
    }

    /// <summary>Switches a protection off (its entry stays, for a later <see cref="Configure"/>); a freeze ends.</summary>
    public MmpChange Disable(int account, int underlying) => Restart(account, underlying, enabled: false);

    /// <summary>Ends a freeze (the only way out of one with a frozen period of 0) and empties the window.</summary>
    public MmpChange Reset(int account, int underlying) => Restart(account, underlying, enabled: null);

    /// <summary>Empties the window and ends any freeze; <paramref name="enabled"/> null keeps the switch as it is.</summary>
    private MmpChange Restart(int account, int underlying, bool? enabled)
    {
        int e = (uint)account < (uint)_first.Length ? Find(account, underlying) : -1;
        if (e < 0)
        {
            return MmpChange.RejectedUnknown;
        }

        ref Entry x = ref _entries[e];
        x.Enabled = enabled ?? x.Enabled;
        Clear(ref x);
        x.FrozenUntil = 0;
        return MmpChange.Applied;
    }

    /// <summary>The protection's settings and whether it is on (false when none is configured).</summary>
    public bool TryGetSettings(int account, int underlying, out MmpSettings settings, out bool enabled)
    {
        int e = (uint)account < (uint)_first.Length ? Find(account, underlying) : -1;
        settings = e < 0 ? default : _entries[e].Settings;
        enabled = e >= 0 && _entries[e].Enabled;
        return e >= 0;
    }

    /// <summary>
    /// The window's sums: gross quantity, net delta, net vega of the maker fills still inside the
    /// interval as of the last fill (zeros when none is configured).
    /// </summary>
    public (double Quantity, double Delta, double Vega) Sums(int account, int underlying)
    {
        int e = (uint)account < (uint)_first.Length ? Find(account, underlying) : -1;
        return e < 0 ? default : (_entries[e].Quantity, _entries[e].Delta, _entries[e].Vega);
    }

    /// <summary>True while the account's protected orders in the underlying are frozen at <paramref name="nowNanos"/>.</summary>
    public bool IsFrozen(int account, int underlying, long nowNanos)
    {
        if ((uint)account >= (uint)_first.Length)
        {
            return false;
        }

        for (int e = _first[account]; e >= 0; e = _entries[e].Next)
        {
            if (_entries[e].Underlying == underlying)
            {
                return _entries[e].Enabled && nowNanos < _entries[e].FrozenUntil;
            }
        }

        return false;
    }

    /// <summary>
    /// A maker fill of <paramref name="account"/> in <paramref name="underlying"/>: signed
    /// <paramref name="quantity"/>, <paramref name="delta"/> and <paramref name="vega"/> (quantity ×
    /// per-contract value), at business time <paramref name="timestampNanos"/>. Fills that left the
    /// interval expire first; then the fill counts, and if a sum now exceeds its limit the
    /// protection trips on this fill: frozen until <paramref name="frozenUntil"/> (long.MaxValue:
    /// until reset), the window cleared. A fill while frozen, or without an enabled protection,
    /// counts for nothing. Non-finite inputs count for nothing either.
    /// </summary>
    public MmpTrip OnMakerFill(int account, int underlying, double quantity, double delta, double vega, long timestampNanos, out long frozenUntil)
    {
        frozenUntil = 0;
        if ((uint)account >= (uint)_first.Length)
        {
            return MmpTrip.None;
        }

        int e = _first[account];
        while (e >= 0 && _entries[e].Underlying != underlying)
        {
            e = _entries[e].Next;
        }

        if (e < 0)
        {
            return MmpTrip.None;
        }

        ref Entry x = ref _entries[e];
        if (!x.Enabled || timestampNanos < x.FrozenUntil || !double.IsFinite(quantity + delta + vega))
        {
            return MmpTrip.None;
        }

        long windowStart = (long)e * _window;
        long interval = x.Settings.IntervalNanos;
        while (x.Count > 0)
        {
            ref readonly WindowFill oldest = ref _fills[windowStart + x.Head];
            if (timestampNanos - oldest.TimestampNanos < interval)
            {
                break;
            }

            x.Quantity -= Math.Abs(oldest.Quantity);
            x.Delta -= oldest.Delta;
            x.Vega -= oldest.Vega;
            x.Head = x.Head + 1 == _window ? 0 : x.Head + 1;
            if (--x.Count == 0)
            {
                x.Quantity = x.Delta = x.Vega = 0; // exactly nothing: rounding does not outlive a quiet interval
            }
        }

        MmpTrip trip;
        if (x.Count == _window)
        {
            trip = MmpTrip.WindowFull;
        }
        else
        {
            int tail = x.Head + x.Count;
            _fills[windowStart + (tail >= _window ? tail - _window : tail)] = new WindowFill { TimestampNanos = timestampNanos, Quantity = quantity, Delta = delta, Vega = vega };
            x.Count++;
            x.Quantity += Math.Abs(quantity);
            x.Delta += delta;
            x.Vega += vega;
            trip = x.Quantity > x.Settings.QuantityLimit ? MmpTrip.Quantity
                : Math.Abs(x.Delta) > x.Settings.DeltaLimit ? MmpTrip.Delta
                : Math.Abs(x.Vega) > x.Settings.VegaLimit ? MmpTrip.Vega
                : MmpTrip.None;
        }

        if (trip != MmpTrip.None)
        {
            long frozen = x.Settings.FrozenNanos;
            x.FrozenUntil = frozen == 0 || timestampNanos > long.MaxValue - frozen ? long.MaxValue : timestampNanos + frozen;
            frozenUntil = x.FrozenUntil;
            Clear(ref x);
            Trips++;
        }

        return trip;
    }

    private int Find(int account, int underlying)
    {
        for (int e = _first[account]; e >= 0; e = _entries[e].Next)
        {
            if (_entries[e].Underlying == underlying)
            {
                return e;
            }
        }

        return -1;
    }

    private static void Clear(ref Entry x)
    {
        x.Head = 0;
        x.Count = 0;
        x.Quantity = x.Delta = x.Vega = 0;
    }

    private struct Entry
    {
        public int Account;
        public int Underlying;
        public int Next;
        public bool Enabled;
        public MmpSettings Settings;
        public long FrozenUntil;
        public int Head;
        public int Count;
        public double Quantity; // Σ |quantity| in the window
        public double Delta;    // Σ quantity × delta
        public double Vega;     // Σ quantity × vega
    }

    private struct WindowFill
    {
        public long TimestampNanos;
        public double Quantity;
        public double Delta;
        public double Vega;
    }
}
