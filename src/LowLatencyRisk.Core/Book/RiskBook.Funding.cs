namespace LowLatencyRisk.Core.Book;

/// <summary>Why <see cref="RiskBook{TMargin}.BeginFunding"/> refused a funding event.</summary>
public enum FundingResult : byte
{
    /// <summary>The payments of every holder were fixed; they settle now or in steps (<see cref="RiskBook{TMargin}.ContinueFunding"/>).</summary>
    Applied = 0,
    /// <summary>Not a defined instrument.</summary>
    UnknownInstrument = 1,
    /// <summary>Funding is paid on perpetuals only.</summary>
    NotPerpetual = 2,
    /// <summary>The rate is not finite or not within ±<see cref="RiskBook{TMargin}.MaxFundingRate"/>, or the perpetual has no mark yet.</summary>
    InvalidRate = 3,
    /// <summary>The funding time is not after the instrument's last one: a repeated or late event would pay twice.</summary>
    NotAfterLast = 4,
}

/// <content>
/// Perpetual funding: at each funding time every holder of the perpetual pays (or receives)
/// quantity × multiplier × mark × rate — a long pays a short when the rate is positive — as cash
/// the book settles (<see cref="Settle"/>: counted as collateral without haircut).
/// </content>
/// <remarks>
/// The payments are fixed when the event arrives, from the positions and the mark at that moment
/// (O(holders of the underlying), a copy of two numbers per payer), and settled by
/// <see cref="ContinueFunding"/> a few accounts at a time between feed batches, like a revaluation,
/// so a fill never waits behind thousands of re-margins. A fill between steps changes nothing that
/// was fixed, so live and replayed runs settle the same amounts whatever the steps were.
/// </remarks>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>Largest |rate| a funding event may carry (per funding interval): beyond it the event is refused, never applied.</summary>
    public const double MaxFundingRate = 0.5;

    private readonly long[] _lastFundingNanos; // by instrument
    private readonly double[] _fundingRate;    // by instrument: the current rate (the last event's, or set)
    private readonly bool _provisionOn;
    private readonly double[] _auProvision;    // by account × underlying, when the provision is on: Σ of its perpetuals' provisions
    private readonly int[] _fundingAccounts;   // the payments fixed by the last event, settled in order
    private readonly double[] _fundingAmounts;
    private int _fundingNext;
    private int _fundingCount;
    private double _fundingPaid;     // Σ of what payers paid, positive
    private double _fundingReceived; // Σ of what receivers received, positive
    private long _fundingPayments;

    /// <summary>True while payments of a funding event wait to be settled.</summary>
    public bool IsFunding => _fundingNext < _fundingCount;

    /// <summary>The last funding time applied for an instrument (Unix ns; 0 before the first).</summary>
    public long LastFundingNanos(int instrument) => IsInstrument(instrument) ? _lastFundingNanos[instrument] : 0;

    /// <summary>Σ of the funding every payer has paid (positive), since the book began.</summary>
    public double FundingPaid => _fundingPaid;

    /// <summary>Σ of the funding every receiver has received (positive), since the book began.</summary>
    public double FundingReceived => _fundingReceived;

    /// <summary>Funding payments settled (one per holder per event).</summary>
    public long FundingPayments => _fundingPayments;

    /// <summary>
    /// A funding event of <paramref name="instrument"/> (a perpetual) at <paramref name="rate"/> for
    /// the interval ending <paramref name="fundingTimeNanos"/>: fixes every holder's payment,
    /// −quantity × multiplier × mark × rate, at the current mark. Settle them with
    /// <see cref="ContinueFunding"/> (a previous event still settling is finished first). Nothing
    /// changes when refused.
    /// </summary>
    public FundingResult BeginFunding(int instrument, double rate, long fundingTimeNanos)
    {
        if (!IsInstrument(instrument))
        {
            return FundingResult.UnknownInstrument;
        }

        ref readonly InstrumentSpec spec = ref _specs[instrument];
        if (spec.Kind != InstrumentKind.Perpetual)
        {
            return FundingResult.NotPerpetual;
        }

        double mark = _values[instrument].Mark;
        if (!(Math.Abs(rate) <= MaxFundingRate) || !(mark > 0))
        {
            return FundingResult.InvalidRate;
        }

        if (fundingTimeNanos <= _lastFundingNanos[instrument])
        {
            return FundingResult.NotAfterLast;
        }

        ContinueFunding(int.MaxValue);
        _lastFundingNanos[instrument] = fundingTimeNanos;
        SetRate(instrument, rate);
        double perContract = _values[instrument].Multiplier * mark * rate;
        _fundingNext = 0;
        _fundingCount = 0;
        if (perContract == 0)
        {
            return FundingResult.Applied;
        }

        bool inverse = _face[instrument] > 0;
        foreach (int account in _blocks[spec.Underlying].Holders.Members)
        {
            double q = PositionUnits(account, instrument);
            if (q != 0)
            {
                _fundingAccounts[_fundingCount] = account;
                // An inverse perpetual pays contracts × face × rate (its coin payment, face / mark × rate per
                // contract, at the mark): the coins carried × the average entry price × rate.
                _fundingAmounts[_fundingCount] = inverse ? -q * PositionAveragePrice(account, instrument) * rate : -q * perContract;
                _fundingCount++;
            }
        }

        return FundingResult.Applied;
    }

    /// <summary>Settles up to <paramref name="maxAccounts"/> of the fixed funding payments; true when none is left.</summary>
    public bool ContinueFunding(int maxAccounts)
    {
        int end = (int)Math.Min((long)_fundingNext + maxAccounts, _fundingCount);
        for (int k = _fundingNext; k < end; k++)
        {
            double amount = _fundingAmounts[k];
            Settle(_fundingAccounts[k], amount);
            if (amount < 0)
            {
                _fundingPaid -= amount;
            }
            else
            {
                _fundingReceived += amount;
            }
        }

        _fundingPayments += end - _fundingNext;
        _fundingNext = end;
        return _fundingNext >= _fundingCount;
    }

    /// <summary>The perpetual's current funding rate per interval: the last funding event's, or the one set (0 before either).</summary>
    public double FundingRateOf(int instrument) => IsInstrument(instrument) ? _fundingRate[instrument] : 0;

    /// <summary>
    /// Sets a perpetual's current funding rate without a payment (a book or portfolio file's, or a
    /// venue's predicted rate): what the funding provision charges until the next event. With the
    /// provision on, its holders are re-margined at the next revaluation. False (nothing changed) for
    /// an unknown id, a non-perpetual or a rate that is not finite or beyond ±<see cref="MaxFundingRate"/>.
    /// </summary>
    public bool SetFundingRate(int instrument, double rate)
    {
        if (!IsInstrument(instrument) || _specs[instrument].Kind != InstrumentKind.Perpetual || !(Math.Abs(rate) <= MaxFundingRate))
        {
            return false;
        }

        SetRate(instrument, rate);
        return true;
    }

    /// <summary>The account's funding provision: Σ over its perpetual positions of max(0, quantity × multiplier × mark × rate) at the last valuation; 0 when the provision is off.</summary>
    public double FundingProvision(int account)
    {
        if (!_provisionOn || !IsAccount(account))
        {
            return 0;
        }

        double sum = 0;
        foreach (double p in _auProvision.AsSpan(account * _underlyings, _underlyings))
        {
            sum += p;
        }

        return sum;
    }

    /// <summary>The account's funding provision in one underlying (0 when off).</summary>
    public double FundingProvision(int account, int underlying) =>
        _provisionOn && IsAccount(account) && (uint)underlying < (uint)_underlyings ? _auProvision[(account * _underlyings) + underlying] : 0;

    private void SetRate(int instrument, double rate)
    {
        if (_fundingRate[instrument] != rate)
        {
            _fundingRate[instrument] = rate;
            if (_provisionOn)
            {
                _blocks[_specs[instrument].Underlying].Dirty = true; // every holder's provision follows at the next revaluation
            }
        }
    }

    /// <summary>One position's provision: the next interval's payment at the current rate when it pays, else 0 (an inverse perpetual's estimated at its coins' value at the mark).</summary>
    private double ProvisionTerm(int instrument, double quantity)
    {
        ref readonly InstrumentValue v = ref _values[instrument];
        return Math.Max(0, quantity * v.Multiplier * v.Mark * _fundingRate[instrument]);
    }

    /// <summary>The account × underlying's provision exactly from its positions (perpetuals with a rate only).</summary>
    private double ProvisionOf(int account, int u, int au)
    {
        double sum = 0;
        foreach (ref readonly Position p in _positions.AsSpan((account * _positionsPerAccount) + GroupStart(account, u), _au[au].PositionCount))
        {
            if (_fundingRate[p.Instrument] != 0 && _specs[p.Instrument].Kind == InstrumentKind.Perpetual)
            {
                sum += ProvisionTerm(p.Instrument, p.Quantity);
            }
        }

        return sum;
    }

    /// <summary>
    /// A fill's change of the provision: <c>_au.Margin</c> was just set (portfolio: the requirement
    /// without the provision) or moved (per-position modes: by the position's requirement), so the
    /// provision is added back whole or moved by the fill's change. Off the fill's inlined body.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void MoveProvision(int account, int au, int instrument, double oldQuantity, double newQuantity)
    {
        double change = _fundingRate[instrument] != 0 && _specs[instrument].Kind == InstrumentKind.Perpetual
            ? ProvisionTerm(instrument, newQuantity) - ProvisionTerm(instrument, oldQuantity)
            : 0;
        _auProvision[au] += change;
        _au[au].Margin += _accounts[account].Mode == MarginMode.Portfolio ? _auProvision[au] : change;
    }

    /// <summary>The provision held in an account × underlying (0 when off).</summary>
    private double ProvisionAt(int au) => _provisionOn ? _auProvision[au] : 0;

    /// <summary>The provision's change a hypothetical fill would make (what-if).</summary>
    private double ProvisionChange(int account, int instrument, double quantity)
    {
        if (!_provisionOn || _fundingRate[instrument] == 0 || _specs[instrument].Kind != InstrumentKind.Perpetual)
        {
            return 0;
        }

        double held = PositionUnits(account, instrument); // the what-if's quantity is in units already
        return ProvisionTerm(instrument, held + quantity) - ProvisionTerm(instrument, held);
    }

    private void VisitFunding(Persistence.StateVisitor visitor)
    {
        visitor.Array(_lastFundingNanos);
        visitor.Array(_fundingRate);
        visitor.Array(_auProvision);
        visitor.Array(_fundingAccounts);
        visitor.Array(_fundingAmounts);
        visitor.Value(ref _fundingNext);
        visitor.Value(ref _fundingCount);
        visitor.Value(ref _fundingPaid);
        visitor.Value(ref _fundingReceived);
        visitor.Value(ref _fundingPayments);
    }
}
