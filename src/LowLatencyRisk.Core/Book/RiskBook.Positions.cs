using System.Runtime.CompilerServices;
using LowLatencyRisk.Core.Pricing;

namespace LowLatencyRisk.Core.Book;

/// <content>Positions: storage grouped by underlying and fill arithmetic (open, add, reduce, close, flip; average price, realized P&amp;L).</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>
    /// Applies a fill of signed quantity <paramref name="quantity"/> (contracts, buy positive) at
    /// <paramref name="price"/>: position, average price, realized P&amp;L, netted Greeks, risk
    /// array, margin and state. Invalid input changes nothing. An inverse contract's fill moves the
    /// coins the position carries (<see cref="PositionUnits"/>).
    /// </summary>
    public FillResult ApplyFill(int account, int instrument, double quantity, double price)
    {
        if (!IsAccount(account) || !IsInstrument(instrument))
        {
            return FillResult.RejectedUnknownId;
        }

        if (_accounts[account].Mode == MarginMode.Isolated && _links[account].Instrument != instrument)
        {
            return FillResult.RejectedIsolatedInstrument;
        }

        // Bounded inputs keep every derived number finite (no NaN or ∞ can enter the state): the
        // comparisons are written so that NaN fails them. Quantities are contracts (inverse too).
        if (!(Math.Abs(quantity) <= _config.MaxQuantity) || quantity == 0 || !(price > 0 && price <= _config.MaxPrice)
            || !(ContractNotional(instrument, quantity, price) <= _config.MaxNotional))
        {
            return FillResult.RejectedInvalid;
        }

        int u = _specs[instrument].Underlying;
        int baseIndex = account * _positionsPerAccount;
        int k = FindPosition(account, instrument);
        if (k < 0 && _accounts[account].PositionCount == _positionsPerAccount)
        {
            return FillResult.RejectedPositionCapacity;
        }

        if (_face[instrument] > 0)
        {
            // An inverse contract: from here on the position is the coins it carries (PositionUnits).
            double units = k < 0 ? 0 : _positions[baseIndex + k].Quantity;
            double average = k < 0 ? 0 : _positions[baseIndex + k].Average;
            if (k >= 0 && !(Math.Abs(ContractsOf(instrument, units, average) + quantity) <= _config.MaxQuantity))
            {
                return FillResult.RejectedInvalid;
            }

            quantity = UnitsChange(instrument, units, average, quantity, price);
            // The contracts' notional (face) is bounded above, but the coins they carry grow as the price
            // falls: a fill far below the mark (a price of 1e-300 is "positive") would put unbounded coins,
            // and an infinite value at the mark, into the state. The coins moved are bounded like a linear
            // fill's notional, at the dearer of the price and the mark.
            if (!(Math.Abs(quantity) * Math.Max(price, _values[instrument].Mark) <= _config.MaxNotional))
            {
                return FillResult.RejectedInvalid;
            }
        }
        else if (k >= 0 && !(Math.Abs(_positions[baseIndex + k].Quantity + quantity) <= _config.MaxQuantity))
        {
            return FillResult.RejectedInvalid;
        }

        // The fill uses the instrument's values as of the last revaluation: marks that arrived
        // since are applied, exactly and for every holder, by the next Revalue() (the engine's end
        // of batch). Revaluing here would cost a whole underlying per fill.
        ref readonly InstrumentValue value = ref _values[instrument];
        double multiplier = value.Multiplier;
        double mark = value.Mark;
        double oldQuantity = 0, oldAverage = 0;
        if (k < 0)
        {
            // Insert at the end of this underlying's group (positions stay grouped by underlying).
            int auNew = (account * _underlyings) + u;
            k = GroupStart(account, u) + _au[auNew].PositionCount;
            int count = _accounts[account].PositionCount++;
            _positions.AsSpan(baseIndex + k, count - k).CopyTo(_positions.AsSpan(baseIndex + k + 1, count - k));
            _positions[baseIndex + k] = new Position { Instrument = instrument, Underlying = u };
            ShiftGroupsAbove(account, u, 1);
            if (_au[auNew].PositionCount++ == 0)
            {
                _blocks[u].Holders.Add(account);
                if (_scenarioAssets != 0)
                {
                    // The account's coin of this underlying enters its scenarios with its first position here.
                    AddScenarioCollateral(account, u, _riskArrays.AsSpan(auNew * _scenarios, _scenarios));
                }
            }
        }
        else
        {
            oldQuantity = _positions[baseIndex + k].Quantity;
            oldAverage = _positions[baseIndex + k].Average;
        }

        double newQuantity = oldQuantity + quantity;
        double newAverage;
        if (oldQuantity == 0 || Math.Sign(oldQuantity) == Math.Sign(quantity))
        {
            newAverage = ((oldQuantity * oldAverage) + (quantity * price)) / newQuantity;
        }
        else
        {
            double closed = Math.Min(Math.Abs(quantity), Math.Abs(oldQuantity)) * Math.Sign(oldQuantity);
            _accounts[account].Realized += closed * (price - oldAverage) * multiplier;
            newAverage = Math.Abs(quantity) > Math.Abs(oldQuantity) ? price : newQuantity == 0 ? 0 : oldAverage;
        }

        int au = (account * _underlyings) + u;
        _au[au].NetDelta += quantity * value.Delta;
        _au[au].NetGamma += quantity * value.Gamma;
        _au[au].NetVega += quantity * value.Vega;
        _au[au].NetTheta += quantity * value.Theta;
        _au[au].Unrealized += ((newQuantity * (mark - newAverage)) - (oldQuantity * (mark - oldAverage))) * multiplier;
        if (_isOption[instrument])
        {
            _au[au].ShortOptionUnits += (Math.Max(-newQuantity, 0) - Math.Max(-oldQuantity, 0)) * multiplier;
        }

        Span<double> accountArray = _riskArrays.AsSpan(au * _scenarios, _scenarios);
        if (_tailHint.Length > 0 && _accounts[account].Mode == MarginMode.Portfolio)
        {
            // A historical grid (no components beside it): the fill is applied in the tail's own pass; NaN: not
            // measured while the account's requirement is its joint sample's.
            double scan = TailAfterFill(account, au, u, instrument, quantity, newQuantity);
            _au[au].Margin = double.IsNaN(scan) ? double.NaN : MarginOf(u, scan, _au[au].ShortOptionUnits);
        }
        else
        {
            MultiplyAdd(accountArray, quantity, _rows.AsSpan(instrument * _scenarios, _scenarios));
            if (_components is not null)
            {
                // Kept for every mode (a switch to portfolio reads them); a portfolio aggregate carries the result.
                double requirement = ComponentsAfterFill(au, u, instrument, quantity, oldQuantity, newQuantity, ScanOf(accountArray, u));
                if (_accounts[account].Mode == MarginMode.Portfolio)
                {
                    _au[au].Margin = requirement;
                }
                else
                {
                    MovePerPositionRequirement(au, instrument, oldQuantity, newQuantity);
                }
            }
            else if (_accounts[account].Mode == MarginMode.Portfolio)
            {
                _au[au].Margin = MarginOf(u, ScanOf(accountArray, u), _au[au].ShortOptionUnits);
            }
            else
            {
                MovePerPositionRequirement(au, instrument, oldQuantity, newQuantity);
            }
        }

        if (_provisionOn)
        {
            MoveProvision(account, au, instrument, oldQuantity, newQuantity);
        }

        if (newQuantity == 0)
        {
            RemovePosition(account, k, u);
        }
        else
        {
            _positions[baseIndex + k].Quantity = newQuantity;
            _positions[baseIndex + k].Average = newAverage;
        }

        Remargin(account);
        return FillResult.Applied;
    }

    /// <summary>
    /// Standard and isolated accounts, per position and without offsets: the aggregate moves by this
    /// position's change alone. Kept out of <see cref="ApplyFill"/> on purpose: inside the fill the
    /// JIT's inlining budget is spent, and the listing showed the position terms and the rule as calls;
    /// in a method of its own the methodology's rule is inlined.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void MovePerPositionRequirement(int au, int instrument, double oldQuantity, double newQuantity)
    {
        Requirement before = PositionRequirement(instrument, oldQuantity);
        Requirement after = PositionRequirement(instrument, newQuantity);
        _au[au].Margin += after.Initial - before.Initial;
        _auMaintenance[au] += after.Maintenance - before.Maintenance;
    }

    private (UnderlyingBlock.Group Group, int Slot) Locate(int instrument)
    {
        var block = _blocks[_specs[instrument].Underlying];
        return (_isOption[instrument] ? block.Options : block.Linear, _slot[instrument]);
    }

    /// <summary>
    /// An account's positions are kept grouped by underlying, in underlying order, so a tick on
    /// one underlying walks exactly that group, with no unpredictable skip branch per position.
    /// Group u starts after the groups of the underlyings below it; the start is kept in the group's
    /// own aggregate line (moved when a position opens or closes below it), so finding a position
    /// reads the line the fill, the what-if and the tick read anyway instead of one line per
    /// underlying below it.
    /// </summary>
    private int GroupStart(int account, int u) => _au[(account * _underlyings) + u].Start;

    /// <summary>A position opened (+1) or closed (−1) in group <paramref name="u"/>: the groups above it move.</summary>
    private void ShiftGroupsAbove(int account, int u, int by)
    {
        int baseAu = account * _underlyings;
        for (int v = u + 1; v < _underlyings; v++)
        {
            _au[baseAu + v].Start += by;
        }
    }

    private int FindPosition(int account, int instrument)
    {
        int u = _specs[instrument].Underlying;
        int start = GroupStart(account, u);
        int end = start + _au[(account * _underlyings) + u].PositionCount;
        int baseIndex = account * _positionsPerAccount;
        for (int k = start; k < end; k++)
        {
            if (_positions[baseIndex + k].Instrument == instrument)
            {
                return k;
            }
        }

        return -1;
    }

    private void RemovePosition(int account, int k, int u)
    {
        int baseIndex = account * _positionsPerAccount;
        int count = --_accounts[account].PositionCount;
        _positions.AsSpan(baseIndex + k + 1, count - k).CopyTo(_positions.AsSpan(baseIndex + k, count - k));
        int au = (account * _underlyings) + u;
        ShiftGroupsAbove(account, u, -1);
        if (--_au[au].PositionCount == 0)
        {
            _blocks[u].Holders.Remove(account);
            // Nothing held: clear the sums exactly rather than keep rounding residue.
            _au[au].NetDelta = _au[au].NetGamma = _au[au].NetVega = _au[au].NetTheta = _au[au].Unrealized = _au[au].ShortOptionUnits = _au[au].Margin = 0;
            _auMaintenance[au] = 0;
            if (_provisionOn)
            {
                _auProvision[au] = 0;
            }

            _riskArrays.AsSpan(au * _scenarios, _scenarios).Clear();
            if (_components is not null)
            {
                ClearComponents(au);
            }
        }
    }
}
