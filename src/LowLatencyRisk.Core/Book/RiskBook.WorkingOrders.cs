using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LowLatencyRisk.Core.Book;

/// <summary>An account's working (resting) quantity in one instrument, by side.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct WorkingSlot
{
    public int Instrument;
    public int Underlying;
    public double Buy;  // ≥ 0
    public double Sell; // ≥ 0 (contracts offered)
}

/// <content>
/// Margin on resting orders. The gate tells the book what is working (<see cref="AddWorkingOrder"/>,
/// <see cref="RemoveWorkingOrder"/>); per account × underlying the book keeps the risk array of all
/// working buys and of all working sells, and the requirement with orders is the worst of {filled,
/// filled + every working buy, filled + every working sell} — each side as if it all filled, the two
/// not together (a resting bid and offer cannot both fill without the position passing through
/// flat), which is how the large venues charge open orders. The difference to the filled
/// requirement is the open-order margin: it counts toward initial margin for new orders (the gate's
/// check) and never toward the ladder (open orders do not liquidate anyone).
/// </content>
/// <remarks>
/// The side arrays move with each order by one fused multiply-add per scenario; a revaluation of
/// the underlying changes the instruments' rows under them, so each array remembers the revaluation
/// it was built against and is rebuilt from the working quantities the first time it is read after
/// one — a tick costs the orders nothing, and only accounts that send orders pay the rebuild.
/// The short-option minimum with orders counts working option sells as short (conservative: a sell
/// that would only close a long is counted too) and working buys as nothing. Standard and isolated
/// accounts are charged per position, without offsets, by the same rule as their positions.
/// </remarks>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    private readonly WorkingSlot[] _working;       // account * _positionsPerAccount + k
    private readonly int[] _workingCount;          // per account
    private readonly int[] _auWorking;             // a * U + u: working slots in that underlying
    private readonly double[] _orderArrays;        // ((a * U + u) * 2 + side) * S + j; side 0 buys, 1 sells
    private readonly double[] _orderShortUnits;    // a * U + u: working option sells × multiplier
    private readonly long[] _orderBuiltAt;         // a * U + u: the underlying's revaluation count the arrays match; −1 = never built

    /// <summary>Distinct instruments an account has working orders in (at most <see cref="RiskConfig.MaxPositionsPerAccount"/>).</summary>
    public int WorkingInstrumentCount(int account) => _workingCount[account];

    /// <summary>The instrument of working slot <paramref name="index"/> (0..WorkingInstrumentCount − 1).</summary>
    public int WorkingInstrumentAt(int account, int index) => _working[(account * _positionsPerAccount) + index].Instrument;

    /// <summary>Working buy and sell quantity of an account in an instrument (both ≥ 0).</summary>
    public (double Buy, double Sell) WorkingQuantity(int account, int instrument)
    {
        int k = FindWorking(account, instrument);
        return k < 0 ? (0, 0) : (_working[(account * _positionsPerAccount) + k].Buy, _working[(account * _positionsPerAccount) + k].Sell);
    }

    /// <summary>True when the account can rest an order in <paramref name="instrument"/> (it already has one there, or a free slot).</summary>
    public bool CanAddWorkingOrder(int account, int instrument) =>
        FindWorking(account, instrument) >= 0 || _workingCount[account] < _positionsPerAccount;

    /// <summary>An order of <paramref name="signedQuantity"/> (buy positive) now rests: it joins its side's array. False (nothing changed) for an unknown id, a quantity that is 0, not finite or beyond <see cref="RiskConfig.MaxQuantity"/>, or no free slot.</summary>
    public bool AddWorkingOrder(int account, int instrument, double signedQuantity) => MoveWorking(account, instrument, signedQuantity, +1);

    /// <summary><paramref name="signedQuantity"/> of a resting order (buy positive) was filled, cancelled or expired: it leaves its side's array.</summary>
    public bool RemoveWorkingOrder(int account, int instrument, double signedQuantity) => MoveWorking(account, instrument, signedQuantity, -1);

    private bool MoveWorking(int account, int instrument, double signedQuantity, int direction)
    {
        if (!IsAccount(account) || !IsInstrument(instrument) || !(Math.Abs(signedQuantity) <= _config.MaxQuantity) || signedQuantity == 0)
        {
            return false;
        }

        int u = _specs[instrument].Underlying;
        int baseIndex = account * _positionsPerAccount;
        int k = FindWorking(account, instrument);
        if (k < 0)
        {
            if (direction < 0 || _workingCount[account] == _positionsPerAccount)
            {
                return false;
            }

            k = _workingCount[account]++;
            _working[baseIndex + k] = new WorkingSlot { Instrument = instrument, Underlying = u };
            _auWorking[(account * _underlyings) + u]++;
        }

        ref WorkingSlot w = ref _working[baseIndex + k];
        double moved = direction * Math.Abs(signedQuantity);
        int side = signedQuantity > 0 ? 0 : 1;
        if (side == 0)
        {
            w.Buy = Snap(w.Buy + moved);
        }
        else
        {
            w.Sell = Snap(w.Sell + moved);
        }

        int au = (account * _underlyings) + u;
        if (_orderBuiltAt[au] == _blocks[u].Revaluations)
        {
            // Current arrays: move by this order alone (a buy adds its row, a sell its negative).
            MultiplyAdd(_orderArrays.AsSpan(((au * 2) + side) * _scenarios, _scenarios), (side == 0 ? moved : -moved) * UnitsPerContract(instrument), _rows.AsSpan(instrument * _scenarios, _scenarios));
            if (side == 1 && _isOption[instrument])
            {
                _orderShortUnits[au] = Snap(_orderShortUnits[au] + (moved * _values[instrument].Multiplier));
            }
        }

        if (w.Buy == 0 && w.Sell == 0)
        {
            _working[baseIndex + k] = _working[baseIndex + _workingCount[account] - 1];
            _workingCount[account]--;
            if (--_auWorking[au] == 0)
            {
                // Nothing rests in the underlying: the arrays are marked stale rather than cleared here
                // (the next order's read rebuilds them exactly, from nothing), so an order that comes
                // and goes — the common case — does not pay for clearing two arrays.
                _orderBuiltAt[au] = -1;
            }
        }

        return true;
    }

    /// <summary>A quantity within 1e-9 contracts of 0 is 0 (a fill of 0.1 ten times must leave nothing working).</summary>
    private static double Snap(double q) => Math.Abs(q) <= 1e-9 ? 0 : q;

    private int FindWorking(int account, int instrument)
    {
        int baseIndex = account * _positionsPerAccount;
        for (int k = 0; k < _workingCount[account]; k++)
        {
            if (_working[baseIndex + k].Instrument == instrument)
            {
                return k;
            }
        }

        return -1;
    }

    /// <summary>
    /// Open-order margin of an account: Σ over the underlyings it has orders in of (the worst of
    /// filled + all working buys and filled + all working sells, when worse than filled) − filled,
    /// each by the methodology's requirement of an aggregate. Not part of <see cref="InitialMargin"/>
    /// (the ladder); the gate adds it for new orders.
    /// </summary>
    public double OpenOrderMargin(int account) => OpenOrderMarginIf(account, -1, 0);

    /// <summary>Initial margin with orders: <see cref="InitialMargin"/> + <see cref="OpenOrderMargin"/>.</summary>
    public double InitialMarginWithOrders(int account) => _accounts[account].InitialMargin + OpenOrderMargin(account);

    /// <summary>
    /// <see cref="OpenOrderMargin"/> as if an order of <paramref name="signedQuantity"/> in
    /// <paramref name="instrument"/> (−1: none) also rested; changes nothing but the lazily rebuilt arrays.
    /// </summary>
    public double OpenOrderMarginIf(int account, int instrument, double signedQuantity)
    {
        int orderU = instrument >= 0 ? _specs[instrument].Underlying : -1;
        if (_workingCount[account] == 0 && orderU < 0)
        {
            return 0;
        }

        double total = 0;
        int baseAu = account * _underlyings;
        for (int u = 0; u < _underlyings; u++)
        {
            if (_auWorking[baseAu + u] > 0 || u == orderU)
            {
                total += OpenOrderMarginOf(account, u, u == orderU ? instrument : -1, signedQuantity);
            }
        }

        return total;
    }

    private double OpenOrderMarginOf(int account, int u, int instrument, double signedQuantity)
    {
        if (_accounts[account].Mode != MarginMode.Portfolio)
        {
            return PerPositionOpenOrderMargin(account, u, instrument, signedQuantity);
        }

        int au = (account * _underlyings) + u;
        if (_orderBuiltAt[au] != _blocks[u].Revaluations)
        {
            RebuildWorking(account, u, au);
        }

        ReadOnlySpan<double> filled = _riskArrays.AsSpan(au * _scenarios, _scenarios);
        ReadOnlySpan<double> buys = _orderArrays.AsSpan(au * 2 * _scenarios, _scenarios);
        ReadOnlySpan<double> sells = _orderArrays.AsSpan(((au * 2) + 1) * _scenarios, _scenarios);
        ReadOnlySpan<double> row = instrument >= 0 ? _rows.AsSpan(instrument * _scenarios, _scenarios) : default;
        double perContract = instrument >= 0 ? UnitsPerContract(instrument) : 0;
        double addBuy = instrument >= 0 && signedQuantity > 0 ? signedQuantity * perContract : 0;
        double addSell = instrument >= 0 && signedQuantity < 0 ? signedQuantity * perContract : 0;
        double index = _blocks[u].Index;
        double shortUnits = _au[au].ShortOptionUnits;
        double sellShorts = _orderShortUnits[au] + (addSell != 0 && _isOption[instrument] ? -addSell * _values[instrument].Multiplier : 0);
        double plain = _au[au].PositionCount == 0 ? 0 : _method.UnderlyingRequirement(ScanOf(filled, u), shortUnits, index);
        double withBuys = _method.UnderlyingRequirement(ScanOfSum(filled, buys, row, addBuy, u), shortUnits, index);
        double withSells = _method.UnderlyingRequirement(ScanOfSum(filled, sells, row, addSell, u), shortUnits + sellShorts, index);
        return Math.Max(0, Math.Max(withBuys, withSells) - plain);
    }

    /// <summary>
    /// Standard and isolated accounts, per position and without offsets: for each instrument with
    /// working orders in <paramref name="u"/>, the worse of its position plus all its working buys and
    /// minus all its working sells, over the position's own requirement.
    /// </summary>
    private double PerPositionOpenOrderMargin(int account, int u, int instrument, double signedQuantity)
    {
        double total = 0;
        bool orderSeen = instrument < 0;
        foreach (ref readonly WorkingSlot w in _working.AsSpan(account * _positionsPerAccount, _workingCount[account]))
        {
            if (w.Underlying == u)
            {
                bool withOrder = w.Instrument == instrument;
                orderSeen |= withOrder;
                total += PerPositionIncrease(account, w.Instrument, w.Buy + (withOrder ? Math.Max(signedQuantity, 0) : 0), w.Sell + (withOrder ? Math.Max(-signedQuantity, 0) : 0));
            }
        }

        return orderSeen ? total : total + PerPositionIncrease(account, instrument, Math.Max(signedQuantity, 0), Math.Max(-signedQuantity, 0));
    }

    private double PerPositionIncrease(int account, int instrument, double buy, double sell)
    {
        double held = PositionUnits(account, instrument);
        double now = PositionRequirement(instrument, held).Initial;
        double mark = _values[instrument].Mark;
        double bought = buy == 0 ? 0 : UnitsOfTrade(account, instrument, buy, mark);
        double sold = sell == 0 ? 0 : UnitsOfTrade(account, instrument, -sell, mark);
        double worst = Math.Max(PositionRequirement(instrument, held + bought).Initial, PositionRequirement(instrument, held + sold).Initial);
        return Math.Max(0, worst - now);
    }

    /// <summary>
    /// The units one working contract counts for in the side arrays: 1, or for an inverse contract
    /// the coins it would carry filled at the mark, face / mark (0 before the first mark; the arrays
    /// are rebuilt at each revaluation, so they follow the mark).
    /// </summary>
    private double UnitsPerContract(int instrument)
    {
        double face = _face[instrument];
        if (face == 0)
        {
            return 1;
        }

        double mark = _values[instrument].Mark;
        return mark > 0 ? face / mark : 0;
    }

    /// <summary>The side arrays of one account × underlying from its working quantities and the current rows.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RebuildWorking(int account, int u, int au)
    {
        Span<double> buys = _orderArrays.AsSpan(au * 2 * _scenarios, _scenarios);
        Span<double> sells = _orderArrays.AsSpan(((au * 2) + 1) * _scenarios, _scenarios);
        buys.Clear();
        sells.Clear();
        double shorts = 0;
        foreach (ref readonly WorkingSlot w in _working.AsSpan(account * _positionsPerAccount, _workingCount[account]))
        {
            if (w.Underlying != u)
            {
                continue;
            }

            ReadOnlySpan<double> row = _rows.AsSpan(w.Instrument * _scenarios, _scenarios);
            double units = UnitsPerContract(w.Instrument);
            if (w.Buy != 0)
            {
                MultiplyAdd(buys, w.Buy * units, row);
            }

            if (w.Sell != 0)
            {
                MultiplyAdd(sells, -w.Sell * units, row);
                shorts += _isOption[w.Instrument] ? w.Sell * _values[w.Instrument].Multiplier : 0;
            }
        }

        _orderShortUnits[au] = shorts;
        _orderBuiltAt[au] = _blocks[u].Revaluations;
    }

    /// <summary>The scan risk of a + b + q × row (max(0, max_j …) on a plain grid); <paramref name="row"/> empty when q is 0.</summary>
    private double ScanOfSum(ReadOnlySpan<double> a, ReadOnlySpan<double> b, ReadOnlySpan<double> row, double q, int u)
    {
        if (!_grid.IsPlain)
        {
            // Extended and basis rows: the sum into the scratch array, then the grid's three parts.
            Span<double> sum = _scratchArray.AsSpan(0, a.Length);
            for (int i = 0; i < a.Length; i++)
            {
                sum[i] = q != 0 ? Math.FusedMultiplyAdd(q, row[i], a[i] + b[i]) : a[i] + b[i];
            }

            return _grid.ScanOf(sum, _calibration[u].ExtendedDampener);
        }

        int j = 0;
        double worst = 0;
        if (Vector256.IsHardwareAccelerated && a.Length >= 4)
        {
            var max = Vector256<double>.Zero;
            var qv = Vector256.Create(q);
            ref double ra = ref MemoryMarshal.GetReference(a);
            ref double rb = ref MemoryMarshal.GetReference(b);
            ref double rr = ref MemoryMarshal.GetReference(row);
            bool withRow = q != 0;
            for (; j <= a.Length - 4; j += 4)
            {
                var sum = Vector256.LoadUnsafe(ref ra, (nuint)j) + Vector256.LoadUnsafe(ref rb, (nuint)j);
                if (withRow)
                {
                    sum = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref rr, (nuint)j), sum);
                }

                max = Vector256.Max(max, sum);
            }

            worst = Math.Max(Math.Max(max.GetElement(0), max.GetElement(1)), Math.Max(max.GetElement(2), max.GetElement(3)));
        }

        for (; j < a.Length; j++)
        {
            double v = a[j] + b[j];
            if (q != 0)
            {
                v = Math.FusedMultiplyAdd(q, row[j], v);
            }

            worst = Math.Max(worst, v);
        }

        return worst;
    }
}
