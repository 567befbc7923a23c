namespace LowLatencyRisk.Core.Book;

/// <content>
/// The default waterfall's arithmetic: cash the engine moves (liquidation fees, the insurance fund's
/// payouts), the bankruptcy price, and who is deleveraged first. The decisions (when an account is
/// bankrupt, what the fund pays) are the engine's; these are the book's numbers for them.
/// </content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>
    /// Moves <paramref name="amount"/> of settlement currency into the account (negative: out of it)
    /// — a liquidation fee charged, a deficit the insurance fund covered — booked in its
    /// <see cref="SettledCash"/>, the ledger of cash the book itself moves, which counts as collateral
    /// without haircut. The venue's collateral balances stay what its messages set, and realized P&amp;L
    /// stays what its fills made: both are functions of the feed alone, while a settlement is an
    /// engine decision (journaled as such and restored from its record). The account is re-margined
    /// and its ladder may move. False (nothing changed) for an unknown account or an amount that is
    /// not finite.
    /// </summary>
    public bool Settle(int account, double amount)
    {
        if (!IsAccount(account) || !double.IsFinite(amount))
        {
            return false;
        }

        _settled[account] += amount;
        _accounts[account].Collateral = ComputeCollateralValue(account);
        Remargin(account);
        return true;
    }

    /// <summary>Cash the book moved into (or out of) the account by <see cref="Settle"/>: fees charged, deficits paid.</summary>
    public double SettledCash(int account) => _settled[account];

    /// <summary>
    /// The bankruptcy price of closing the whole of <paramref name="quantity"/> (signed, as held) of
    /// <paramref name="instrument"/> when the account is <paramref name="deficit"/> short of zero
    /// equity: the price at which the close lifts its equity by the deficit over closing at the mark,
    /// mark + deficit / (quantity × multiplier) — above the mark for a long (the counterparty buys
    /// dearer), below it for a short. Rounded on the tick against the counterparty, so the deficit is
    /// covered in full, and never below one tick (a short's deficit too large for any positive price
    /// is then covered only in part). NaN for an unknown instrument, no mark or no quantity.
    /// </summary>
    public double BankruptcyPrice(int instrument, double quantity, double deficit) =>
        IsInstrument(instrument) && _face[instrument] > 0 ? double.NaN : BankruptcyPriceOf(instrument, quantity, quantity, deficit);

    /// <summary>
    /// <see cref="BankruptcyPrice(int, double, double)"/> of <paramref name="account"/>'s position: for an
    /// inverse contract the close of <paramref name="quantity"/> contracts realizes the coins they carry
    /// at the account's average (contracts × face / average) times the price's distance from the mark,
    /// so the price is mark + deficit / those coins.
    /// </summary>
    public double BankruptcyPrice(int account, int instrument, double quantity, double deficit)
    {
        if (!IsAccount(account) || !IsInstrument(instrument))
        {
            return double.NaN;
        }

        double units = _face[instrument] > 0 ? quantity * _face[instrument] / PositionAveragePrice(account, instrument) : quantity;
        return BankruptcyPriceOf(instrument, quantity, units, deficit);
    }

    private double BankruptcyPriceOf(int instrument, double quantity, double units, double deficit)
    {
        if (!IsInstrument(instrument) || quantity == 0 || !double.IsFinite(quantity) || !double.IsFinite(units) || units == 0 || !double.IsFinite(deficit))
        {
            return double.NaN;
        }

        ref readonly InstrumentValue v = ref _values[instrument];
        if (!(v.Mark > 0) || !double.IsFinite(v.Mark) || !(v.Multiplier > 0))
        {
            return double.NaN;
        }

        double raw = v.Mark + (Math.Max(deficit, 0) / (units * v.Multiplier));
        double tick = _specs[instrument].TickSize;
        if (!(tick > 0))
        {
            return raw > 0 ? raw : double.Epsilon;
        }

        double ticks = raw / tick;
        double rounded = (quantity > 0 ? Math.Ceiling(ticks - 1e-9) : Math.Floor(ticks + 1e-9)) * tick;
        return rounded > 0 ? rounded : tick;
    }

    /// <summary>
    /// The account to deleverage first against a bankrupt position of <paramref name="bankruptQuantity"/>
    /// in <paramref name="instrument"/>: among the other holders of the opposite side with positive
    /// equity, the highest score, where with r = the position's unrealized P&amp;L ÷ its entry notional
    /// (|q| × average × multiplier) and L = its notional at the mark ÷ the account's equity (effective
    /// leverage), score = r × L when r ≥ 0 and r ÷ L when r &lt; 0 (the most profitable and most
    /// leveraged first; losing positions last, the least leveraged of them first). Ties go to the
    /// lower account id. O(holders of the underlying); no allocation. False when nobody holds the
    /// other side. Accounts whose entry in <paramref name="busy"/> is not 0 are passed over (the
    /// engine's: counterparties of a deleverage order whose fills are not all in yet).
    /// </summary>
    public bool FindDeleverageCounterparty(int instrument, double bankruptQuantity, int excludedAccount, out DeleverageCandidate candidate, ReadOnlySpan<int> busy = default)
    {
        candidate = default;
        if (!IsInstrument(instrument) || bankruptQuantity == 0 || !double.IsFinite(bankruptQuantity))
        {
            return false;
        }

        ref readonly InstrumentValue v = ref _values[instrument];
        bool found = false;
        foreach (int c in _blocks[_specs[instrument].Underlying].Holders.Members)
        {
            if (c == excludedAccount || ((uint)c < (uint)busy.Length && busy[c] != 0))
            {
                continue;
            }

            double held = PositionUnits(c, instrument); // the ranking values what the book values (an inverse position's coins)
            double equity = _accounts[c].Equity;
            if (!(held * bankruptQuantity < 0) || !(equity > 0))
            {
                continue; // not the other side, or no equity to lever
            }

            double average = PositionAveragePrice(c, instrument);
            double entry = Math.Abs(held) * average * v.Multiplier;
            double ratio = entry > 0 ? held * (v.Mark - average) * v.Multiplier / entry : 0;
            double leverage = Math.Abs(held) * v.Mark * v.Multiplier / equity;
            double score = ratio >= 0 ? ratio * leverage : leverage > 0 ? ratio / leverage : ratio;
            if (!double.IsFinite(score))
            {
                continue;
            }

            if (!found || score > candidate.Score || (score == candidate.Score && c < candidate.Account))
            {
                candidate = new DeleverageCandidate(c, _face[instrument] > 0 ? PositionQuantity(c, instrument) : held, score);
                found = true;
            }
        }

        return found;
    }
}

/// <summary>An account to deleverage: its signed position and its ranking score (<see cref="RiskBook{TMargin}.FindDeleverageCounterparty"/>).</summary>
public readonly record struct DeleverageCandidate(int Account, double Quantity, double Score);
