using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Engine.Wire;

namespace LowLatencyRisk.Fixtures.Simulation;

/// <summary>
/// The deterministic simulated venue of the standard workload: from a seed,
/// an endless stream of feed messages — index ticks and option marks (about 70 %), fills (about
/// 25 %), collateral changes (about 5 %) — with a stress episode in which underlying 0 falls 20 %
/// while its implied volatilities rise 30 %.
/// </summary>
/// <remarks>
/// It reads its own copy of the workload (built from the same seed as the engine's book) for
/// instruments, accounts and starting marks, and keeps its own index, volatility and balance
/// state; it never reads the engine's book. One thread; no allocation per message.
/// </remarks>
public sealed class VenueSimulator
{
    /// <summary>Which messages are generated: the standard mix, fills and collateral only, or index and vol marks only.</summary>
    public SimulatorMix Mix { get; init; } = SimulatorMix.Standard;

    /// <summary>The producer epoch written in every header (a restarted producer uses a higher one and starts again at sequence 1).</summary>
    public uint ProducerEpoch { get; init; }

    private const long MicroNanos = 1_000;

    private readonly StandardWorkload _w;
    private readonly Random _rng;
    private readonly int _producerId;
    private readonly double[] _index;
    private readonly double[] _initialIndex;
    private readonly double[] _vol;
    private readonly double[] _balance;
    private readonly int[] _allInstruments;
    private const int TradedPerAccount = 30;
    private readonly int[] _traded;
    private readonly int[] _tradedCount;
    private readonly long _stressStart;
    private readonly long _stressLength;
    private long _sequence;
    private long _tradeId;

    /// <summary>Creates a simulator over <paramref name="shadow"/>; the stress episode runs from event <paramref name="stressStart"/> for <paramref name="stressLength"/> events (0 = none).</summary>
    public VenueSimulator(StandardWorkload shadow, int seed, int producerId = 1, long stressStart = 0, long stressLength = 0)
    {
        ArgumentNullException.ThrowIfNull(shadow);
        _w = shadow;
        _rng = new Random(seed);
        _producerId = producerId;
        int u = shadow.Scale.Underlyings;
        _index = new double[u];
        _initialIndex = new double[u];
        for (int i = 0; i < u; i++)
        {
            _index[i] = _initialIndex[i] = StandardWorkload.InitialIndex(i);
        }

        _allInstruments = shadow.InstrumentsByUnderlying.SelectMany(x => x).ToArray();
        _vol = new double[shadow.Book.Config.MaxInstruments];
        foreach (int i in _allInstruments)
        {
            if (shadow.Book.Instrument(i).IsOption)
            {
                _vol[i] = shadow.Book.MarkVolatility(i);
            }
        }

        _balance = new double[shadow.Scale.Accounts];
        for (int a = 0; a < _balance.Length; a++)
        {
            _balance[a] = shadow.Book.CollateralBalance(a, StandardWorkload.UsdAsset);
        }

        _traded = new int[shadow.Scale.Accounts * TradedPerAccount];
        _tradedCount = new int[shadow.Scale.Accounts];
        for (int a = 0; a < shadow.Scale.Accounts; a++)
        {
            int n = Math.Min(shadow.Book.PositionCount(a), TradedPerAccount);
            for (int k = 0; k < n; k++)
            {
                _traded[(a * TradedPerAccount) + k] = shadow.Book.PositionInstrumentAt(a, k);
            }

            _tradedCount[a] = n;
        }

        _stressStart = stressStart;
        _stressLength = stressLength;
        NowNanos = StandardWorkload.StartNanos;
    }

    /// <summary>Business time of the last message (1 µs per message).</summary>
    public long NowNanos { get; private set; }

    /// <summary>Messages generated.</summary>
    public long Generated => _sequence;

    /// <summary>True while the stress episode runs.</summary>
    public bool InStress => _stressLength > 0 && _sequence >= _stressStart && _sequence < _stressStart + _stressLength;

    /// <summary>Writes the next message into <paramref name="payload"/> (at least 120 bytes) and returns its type.</summary>
    public FeedMessageType Next(Span<byte> payload, long publishTicks)
    {
        _sequence++;
        NowNanos += MicroNanos;
        if (InStress && Mix != SimulatorMix.FillsOnly && _rng.Next(4) != 0)
        {
            return StressTick(payload, publishTicks);
        }

        int roll = Mix switch
        {
            SimulatorMix.FillsOnly => 70 + _rng.Next(30),  // fills and collateral
            SimulatorMix.PricesOnly => _rng.Next(70),      // index and vol marks
            _ => _rng.Next(100),
        };
        if (roll < 35)
        {
            int u = _rng.Next(_index.Length);
            _index[u] *= 1 + ((_rng.NextDouble() - 0.5) * 0.001);
            Header(payload, FeedMessageType.IndexPrice, publishTicks);
            FeedMessageDescriptor.WriteIndexPrice(payload, u, _index[u]);
            return FeedMessageType.IndexPrice;
        }

        if (roll < 70)
        {
            int u = _rng.Next(_index.Length);
            int[] ids = _w.InstrumentsByUnderlying[u];
            int option = ids[1 + _w.Scale.Futures + _rng.Next(ids.Length - 1 - _w.Scale.Futures)];
            _vol[option] = Math.Clamp(_vol[option] * (1 + ((_rng.NextDouble() - 0.5) * 0.04)), 0.1, 3.0);
            Header(payload, FeedMessageType.OptionMark, publishTicks);
            FeedMessageDescriptor.WriteOptionMark(payload, option, _vol[option], 0);
            return FeedMessageType.OptionMark;
        }

        if (roll < 95)
        {
            int account = _rng.Next(_balance.Length);
            // Mostly in what the account already trades (its book from the workload), sometimes
            // something new, up to TradedPerAccount instruments: position counts stay realistic.
            int known = _tradedCount[account];
            int instrument;
            if (known > 0 && (known >= TradedPerAccount || _rng.Next(10) != 0))
            {
                instrument = _traded[(account * TradedPerAccount) + _rng.Next(known)];
            }
            else
            {
                instrument = _allInstruments[_rng.Next(_allInstruments.Length)];
                if (Array.IndexOf(_traded, instrument, account * TradedPerAccount, known) < 0)
                {
                    _traded[(account * TradedPerAccount) + known] = instrument;
                    _tradedCount[account]++;
                }
            }

            int u = _w.Book.Instrument(instrument).Underlying;
            double unit = Math.Max(0.01, Math.Round(3_000 / _initialIndex[u], 2));
            double quantity = (_rng.Next(2) == 0 ? -1 : 1) * unit;
            Header(payload, FeedMessageType.Fill, publishTicks);
            FeedMessageDescriptor.WriteFill(payload, account, instrument, quantity, FairPrice(instrument), ++_tradeId);
            return FeedMessageType.Fill;
        }

        int who = _rng.Next(_balance.Length);
        _balance[who] = Math.Max(0, _balance[who] * (1 + ((_rng.NextDouble() - 0.5) * 0.2)));
        Header(payload, FeedMessageType.Collateral, publishTicks);
        FeedMessageDescriptor.WriteCollateral(payload, who, StandardWorkload.UsdAsset, _balance[who]);
        return FeedMessageType.Collateral;
    }

    private FeedMessageType StressTick(Span<byte> payload, long publishTicks)
    {
        // Underlying 0 slides linearly to −20 % over the episode; its vols are marked up 30 %.
        double progress = (double)(_sequence - _stressStart + 1) / _stressLength;
        if (_rng.Next(2) == 0)
        {
            _index[0] = _initialIndex[0] * (1 - (0.20 * progress));
            Header(payload, FeedMessageType.IndexPrice, publishTicks);
            FeedMessageDescriptor.WriteIndexPrice(payload, 0, _index[0]);
            return FeedMessageType.IndexPrice;
        }

        int[] ids = _w.InstrumentsByUnderlying[0];
        int option = ids[1 + _w.Scale.Futures + _rng.Next(ids.Length - 1 - _w.Scale.Futures)];
        double target = _w.Book.MarkVolatility(option) * (1 + (0.30 * progress));
        _vol[option] = Math.Max(_vol[option], target);
        Header(payload, FeedMessageType.OptionMark, publishTicks);
        FeedMessageDescriptor.WriteOptionMark(payload, option, _vol[option], 0);
        return FeedMessageType.OptionMark;
    }

    private double FairPrice(int instrument)
    {
        ref readonly var spec = ref _w.Book.Instrument(instrument);
        double index = _index[spec.Underlying];
        double t = spec.ExpiryNanos == 0 ? 0 : Math.Max(0, (spec.ExpiryNanos - NowNanos) / RiskBook.NanosPerYear);
        double forward = spec.Kind is InstrumentKind.Perpetual or InstrumentKind.Spot ? index : index * Math.Exp(_w.Book.UnderlyingCarry(spec.Underlying) * t);
        if (!spec.IsOption)
        {
            return forward;
        }

        double price = BlackScholes.Compute(spec.Kind == InstrumentKind.Call ? 1 : -1, forward, spec.Strike, t, _vol[instrument], _w.Book.Config.Rate, 0, false).Price;
        return Math.Max(price, spec.TickSize);
    }

    private void Header(Span<byte> payload, FeedMessageType type, long publishTicks) =>
        FeedMessageDescriptor.WriteHeader(payload, type, _producerId, ProducerEpoch, _sequence, NowNanos, publishTicks);
}

/// <summary>Message mixes of the simulator.</summary>
public enum SimulatorMix
{
    /// <summary>35 % index ticks, 35 % vol marks, 25 % fills, 5 % collateral, and the stress episode.</summary>
    Standard,
    /// <summary>Fills (five in six) and collateral changes only.</summary>
    FillsOnly,
    /// <summary>Index ticks and vol marks only (half each), and the stress episode.</summary>
    PricesOnly,
}
