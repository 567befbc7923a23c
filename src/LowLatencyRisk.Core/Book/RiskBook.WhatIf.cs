using System.Runtime.Intrinsics;

namespace LowLatencyRisk.Core.Book;

/// <content>What-if: margin before and after a hypothetical fill, without changing anything.</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>
    /// Initial margin and equity of <paramref name="account"/> as if <paramref name="quantity"/> (contracts) of
    /// <paramref name="instrument"/> were filled at <paramref name="price"/> (NaN = at the mark),
    /// without changing anything, at the valuation of the last <see cref="Revalue()"/>.
    /// </summary>
    public WhatIfResult WhatIf(int account, int instrument, double quantity, double price = double.NaN)
    {
        if (_face[instrument] > 0)
        {
            quantity = UnitsOfTrade(account, instrument, quantity, double.IsNaN(price) ? _values[instrument].Mark : price); // inverse: the coins it moves
        }

        if (_accounts[account].Mode != MarginMode.Portfolio)
        {
            return WhatIfPerPosition(account, instrument, quantity, price);
        }

        int u = _specs[instrument].Underlying;
        ref readonly InstrumentValue value = ref _values[instrument];
        int au = (account * _underlyings) + u;
        double scanAfter;
        if (_registers16)
        {
            // The 16-scenario grid in registers: four fused multiply-adds and a max, no copy.
            ref double account16 = ref _riskArrays[au * 16];
            ref double row16 = ref _rows[instrument * 16];
            var q = Vector256.Create(quantity);
            var w0 = Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref row16), Vector256.LoadUnsafe(ref account16));
            var w1 = Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref row16, 4), Vector256.LoadUnsafe(ref account16, 4));
            var w2 = Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref row16, 8), Vector256.LoadUnsafe(ref account16, 8));
            var w3 = Vector256.FusedMultiplyAdd(q, Vector256.LoadUnsafe(ref row16, 12), Vector256.LoadUnsafe(ref account16, 12));
            var worst = Vector256.Max(Vector256.Max(w0, w1), Vector256.Max(w2, w3));
            scanAfter = Math.Max(0, Math.Max(Math.Max(worst.GetElement(0), worst.GetElement(1)), Math.Max(worst.GetElement(2), worst.GetElement(3))));
        }
        else if (_jointTail && HeldAfter(account, u) >= 2)
        {
            // The joint sample below sets the requirement: the underlying's own expected shortfall would be discarded.
            scanAfter = 0;
        }
        else
        {
            // Any other grid: the sum is formed and scanned in registers, range by range (regular,
            // extended, basis), never written.
            scanAfter = _tailHint.Length > 0
                ? TailScan(au, _riskArrays.AsSpan(au * _scenarios, _scenarios), _rows.AsSpan(instrument * _scenarios, _scenarios), quantity, SlackOf(instrument, quantity), store: false)
                : _grid.ScanOf(_riskArrays.AsSpan(au * _scenarios, _scenarios), _rows.AsSpan(instrument * _scenarios, _scenarios), quantity, _calibration[u].ExtendedDampener);
        }

        double shortAfter = _au[au].ShortOptionUnits;
        double multiplier = value.Multiplier;
        if (_isOption[instrument])
        {
            double held = PositionUnits(account, instrument);
            shortAfter += (Math.Max(-(held + quantity), 0) - Math.Max(-held, 0)) * multiplier;
        }

        double initialAfter;
        double provisionAfter = _provisionOn ? _auProvision[au] + ProvisionChange(account, instrument, quantity) : 0;
        if (_components is null)
        {
            double after = _method.UnderlyingRequirement(scanAfter, shortAfter, _blocks[u].Index);
            double sumAfter = _accounts[account].RequirementSum - _au[au].Margin + after + provisionAfter;
            if (_jointTail)
            {
                sumAfter = JointRequirement(account, sumAfter, u, quantity, _rows.AsSpan(instrument * _scenarios, _scenarios), shortAfter, provisionAfter, SlackOf(instrument, quantity));
            }

            initialAfter = _method.AccountInitial(sumAfter);
        }
        else
        {
            initialAfter = InitialAfterWithComponents(account, instrument, quantity, au, u, scanAfter, shortAfter, provisionAfter);
        }

        double fillPrice = double.IsNaN(price) ? value.Mark : price;
        double equityAfter = _accounts[account].Equity + (quantity * (value.Mark - fillPrice) * multiplier);
        return new WhatIfResult(_accounts[account].InitialMargin, initialAfter, _accounts[account].Equity, equityAfter);
    }

    /// <summary>Standard and isolated accounts: only the one position's requirement changes.</summary>
    private WhatIfResult WhatIfPerPosition(int account, int instrument, double quantity, double price)
    {
        ref readonly InstrumentValue value = ref _values[instrument];
        double held = PositionUnits(account, instrument);
        Requirement before = PositionRequirement(instrument, held);
        Requirement after = PositionRequirement(instrument, held + quantity);
        ref readonly AccountTotals t = ref _accounts[account];
        double fillPrice = double.IsNaN(price) ? value.Mark : price;
        double equityAfter = t.Equity + (quantity * (value.Mark - fillPrice) * value.Multiplier);
        return new WhatIfResult(t.InitialMargin, t.InitialMargin - before.Initial + after.Initial + ProvisionChange(account, instrument, quantity), t.Equity, equityAfter);
    }
}
