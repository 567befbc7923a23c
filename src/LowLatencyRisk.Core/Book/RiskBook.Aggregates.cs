using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LowLatencyRisk.Core.Pricing;

namespace LowLatencyRisk.Core.Book;

/// <content>Account x underlying aggregates: netted Greeks, unrealized P&amp;L and the risk array, recomputed exactly from positions.</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>Exact recomputation of one account's aggregates in one underlying from its positions.</summary>
    private void RecomputeAccountUnderlying(int account, int u)
    {
        int au = (account * _underlyings) + u;
        Span<double> array = _riskArrays.AsSpan(au * _scenarios, _scenarios);
        if (_registers16)
        {
            RecomputeAccountUnderlying16(account, u, au, array);
        }
        else
        {
            RecomputeAccountUnderlyingAny(account, u, au, array);
        }

        if (_components is not null)
        {
            double requirement = RecomputeComponents(account, u, au, array);
            if (_accounts[account].Mode == MarginMode.Portfolio)
            {
                _au[au].Margin = requirement;
            }
        }

        if (_accounts[account].Mode != MarginMode.Portfolio)
        {
            RecomputePerPosition(account, u, au);
        }

        if (_provisionOn)
        {
            double provision = ProvisionOf(account, u, au);
            _auProvision[au] = provision;
            _au[au].Margin += provision;
        }
    }

    /// <summary>
    /// Per-position modes: the aggregate's requirement is the sum of its positions' own
    /// requirements (replacing the portfolio one the Greek pass wrote); the account's maintenance
    /// sum moves by the difference.
    /// </summary>
    private void RecomputePerPosition(int account, int u, int au)
    {
        double initial = 0, maintenance = 0;
        ReadOnlySpan<Position> positions = _positions.AsSpan((account * _positionsPerAccount) + GroupStart(account, u), _au[au].PositionCount);
        foreach (ref readonly Position p in positions)
        {
            Requirement r = PositionRequirement(p.Instrument, p.Quantity);
            initial += r.Initial;
            maintenance += r.Maintenance;
        }

        _au[au].Margin = initial;
        _accounts[account].MaintenanceSum += maintenance - _auMaintenance[au];
        _auMaintenance[au] = maintenance;
    }

    /// <summary>The methodology's requirement of one position of <paramref name="quantity"/> at the instrument's last valuation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Requirement PositionRequirement(int instrument, double quantity)
    {
        ref readonly InstrumentSpec spec = ref _specs[instrument];
        ref readonly InstrumentValue v = ref _values[instrument];
        return _method.Position(new PositionTerms(spec.Kind, quantity, v.Mark, v.Multiplier, _blocks[spec.Underlying].Index, spec.Strike));
    }

    private void RecomputeAccountUnderlyingAny(int account, int u, int au, Span<double> array)
    {
        double delta = 0, gamma = 0, vega = 0, theta = 0, unrealized = 0, shortUnits = 0;
        array.Clear();
        ReadOnlySpan<Position> positions = _positions.AsSpan((account * _positionsPerAccount) + GroupStart(account, u), _au[au].PositionCount);
        foreach (ref readonly Position p in positions)
        {
            int instrument = p.Instrument;
            double q = p.Quantity;
            ref readonly InstrumentValue v = ref _values[instrument];
            delta += q * v.Delta;
            gamma += q * v.Gamma;
            vega += q * v.Vega;
            theta += q * v.Theta;
            unrealized += q * (v.Mark - p.Average) * v.Multiplier;
            if (q < 0 && _isOption[instrument])
            {
                shortUnits -= q * v.Multiplier;
            }

            MultiplyAdd(array, q, _rows.AsSpan(instrument * _scenarios, _scenarios));
        }

        if (_scenarioAssets != 0 && positions.Length > 0)
        {
            AddScenarioCollateral(account, u, array);
        }

        ref AccountUnderlying s = ref _au[au];
        s.NetDelta = delta;
        s.NetGamma = gamma;
        s.NetVega = vega;
        s.NetTheta = theta;
        s.Unrealized = unrealized;
        s.ShortOptionUnits = shortUnits;
        double scan = _tailHint.Length > 0 ? TailAfterRecompute(account, au, array) : ScanOf(array, u);
        s.Margin = double.IsNaN(scan) ? double.NaN : MarginOf(u, scan, shortUnits); // NaN: not measured (a joint sample margins the account)
    }

    /// <summary>
    /// The 16-scenario case (the CME grid) of <see cref="RecomputeAccountUnderlying"/>: the
    /// account's risk array lives in four registers across the positions instead of going through
    /// memory once per position. Same sums, same order. Kept as its own loop on purpose: folding it
    /// into the general one behind a per-position branch measured 660 µs instead of 560 µs per
    /// tick on the standard workload (the JIT spills the accumulators).
    /// </summary>
    private void RecomputeAccountUnderlying16(int account, int u, int au, Span<double> array)
    {
        double delta = 0, gamma = 0, vega = 0, theta = 0, unrealized = 0, shortUnits = 0;
        Vector256<double> r0 = Vector256<double>.Zero, r1 = r0, r2 = r0, r3 = r0;
        ReadOnlySpan<Position> positions = _positions.AsSpan((account * _positionsPerAccount) + GroupStart(account, u), _au[au].PositionCount);
        ref double rows = ref MemoryMarshal.GetArrayDataReference(_rows);
        foreach (ref readonly Position p in positions)
        {
            int instrument = p.Instrument;
            double q = p.Quantity;
            ref readonly InstrumentValue v = ref _values[instrument];
            delta += q * v.Delta;
            gamma += q * v.Gamma;
            vega += q * v.Vega;
            theta += q * v.Theta;
            unrealized += q * (v.Mark - p.Average) * v.Multiplier;
            if (q < 0 && _isOption[instrument])
            {
                shortUnits -= q * v.Multiplier;
            }

            // _rows has MaxInstruments × 16 entries and instrument is a defined id: in range.
            nuint row = (nuint)instrument * 16;
            var qv = Vector256.Create(q);
            r0 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref rows, row), r0);
            r1 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref rows, row + 4), r1);
            r2 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref rows, row + 8), r2);
            r3 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref rows, row + 12), r3);
        }

        if (_scenarioAssets != 0 && positions.Length > 0)
        {
            double coin = ScenarioCollateralValue(account, u);
            if (coin != 0)
            {
                ref double loss = ref _indexValueLoss[u * 16];
                var cv = Vector256.Create(coin);
                r0 = Vector256.FusedMultiplyAdd(cv, Vector256.LoadUnsafe(ref loss), r0);
                r1 = Vector256.FusedMultiplyAdd(cv, Vector256.LoadUnsafe(ref loss, 4), r1);
                r2 = Vector256.FusedMultiplyAdd(cv, Vector256.LoadUnsafe(ref loss, 8), r2);
                r3 = Vector256.FusedMultiplyAdd(cv, Vector256.LoadUnsafe(ref loss, 12), r3);
            }
        }

        ref double target = ref MemoryMarshal.GetReference(array);
        r0.StoreUnsafe(ref target, 0);
        r1.StoreUnsafe(ref target, 4);
        r2.StoreUnsafe(ref target, 8);
        r3.StoreUnsafe(ref target, 12);
        var worst = Vector256.Max(Vector256.Max(r0, r1), Vector256.Max(r2, r3));
        double scan = Math.Max(Math.Max(worst.GetElement(0), worst.GetElement(1)), Math.Max(worst.GetElement(2), worst.GetElement(3)));
        ref AccountUnderlying s = ref _au[au];
        s.NetDelta = delta;
        s.NetGamma = gamma;
        s.NetVega = vega;
        s.NetTheta = theta;
        s.Unrealized = unrealized;
        s.ShortOptionUnits = shortUnits;
        s.Margin = MarginOf(u, Math.Max(scan, 0), shortUnits);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd(Span<double> target, double quantity, ReadOnlySpan<double> row)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && target.Length >= 64)
        {
            // Long arrays (a historical grid's hundreds of dates): eight lanes at a time; the same fused
            // multiply-add per element, so the sums are those of the narrower loop to the bit.
            ref double t = ref MemoryMarshal.GetReference(target);
            ref double r = ref MemoryMarshal.GetReference(row);
            var q = Vector512.Create(quantity);
            for (; i <= target.Length - 8; i += 8)
            {
                Vector512.FusedMultiplyAdd(q, Vector512.LoadUnsafe(ref r, (nuint)i), Vector512.LoadUnsafe(ref t, (nuint)i)).StoreUnsafe(ref t, (nuint)i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            ref double t = ref MemoryMarshal.GetReference(target);
            ref double r = ref MemoryMarshal.GetReference(row);
            var q = Vector256.Create(quantity);
            for (; i <= target.Length - 4; i += 4)
            {
                Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref r, (nuint)i), Vector256.LoadUnsafe(ref t, (nuint)i)).StoreUnsafe(ref t, (nuint)i);
            }
        }

        for (; i < target.Length; i++)
        {
            target[i] = Math.FusedMultiplyAdd(quantity, row[i], target[i]);
        }
    }

    /// <summary>The scan risk of an account × underlying risk array (the grid's rule: the worst row, or its three parts with the underlying's dampener).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private double ScanOf(ReadOnlySpan<double> array, int u) =>
        _grid.IsPlain ? _grid.ScanOf(array) : _grid.ScanOf(array, _calibration[u].ExtendedDampener); // a plain grid has no dampener to read
}
