using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Pricing;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Fixtures;

/// <summary>One account's risk recomputed from scratch.</summary>
public sealed class RecomputedAccount
{
    internal RecomputedAccount(int underlyings, int scenarios)
    {
        NetDelta = new double[underlyings];
        NetGamma = new double[underlyings];
        NetVega = new double[underlyings];
        NetTheta = new double[underlyings];
        Unrealized = new double[underlyings];
        RiskArrays = new double[underlyings][];
        for (int u = 0; u < underlyings; u++)
        {
            RiskArrays[u] = new double[scenarios];
        }
    }

    /// <summary>Per underlying.</summary>
    public double[] NetDelta { get; }
    /// <summary>Per underlying.</summary>
    public double[] NetGamma { get; }
    /// <summary>Per underlying.</summary>
    public double[] NetVega { get; }
    /// <summary>Per underlying.</summary>
    public double[] NetTheta { get; }
    /// <summary>Per underlying.</summary>
    public double[] Unrealized { get; }
    /// <summary>Per underlying, per scenario.</summary>
    public double[][] RiskArrays { get; }
    /// <summary>Haircut collateral + realized + unrealized.</summary>
    public double Equity { get; internal set; }
    /// <summary>Portfolio: Σ max(scan, short option minimum); standard and isolated: Σ of the positions' requirements.</summary>
    public double InitialMargin { get; internal set; }
    /// <summary>Portfolio: initial × maintenance fraction; standard and isolated: Σ of the positions' maintenance requirements.</summary>
    public double MaintenanceMargin { get; internal set; }
    /// <summary>Open-order margin: per underlying, the worst of filled + all working buys and filled + all working sells over filled (the methodology's aggregate requirement), summed.</summary>
    public double OpenOrderMargin { get; internal set; }
}

/// <summary>
/// Recomputes an account's netted Greeks, risk arrays, margin and equity from its positions and the
/// market alone, with the scalar reference pricing (<see cref="BlackScholes"/>) and the scalar
/// risk-array reference, sharing nothing with the incremental paths but the definitions. Each
/// underlying is valued at the market state and clock of its last revaluation. Tests hold
/// the incremental book to it; it allocates and is not for the hot path.
/// </summary>
public static class RiskBookVerifier
{
    /// <summary>
    /// From-scratch recomputation of <paramref name="account"/>: the aggregates independently of the
    /// book's incremental paths, then the book's own methodology (<see cref="RiskBook{TMargin}.Methodology"/>)
    /// applied to them — the formula has one home.
    /// </summary>
    public static RecomputedAccount Recompute<TMargin>(RiskBook<TMargin> book, int account)
        where TMargin : struct, IMarginMethodology
    {
        ArgumentNullException.ThrowIfNull(book);
        var config = book.Config;
        int underlyings = config.MaxUnderlyings;
        var calculator = new RiskArrayCalculator(config.Grid);
        // Each underlying's rows under its own calibration (the grid's unless the venue set one).
        var calculators = new RiskArrayCalculator[underlyings];
        for (int u = 0; u < underlyings; u++)
        {
            calculators[u] = new RiskArrayCalculator(config.Grid, u);
            calculators[u].Recalibrate(book.ScenarioCalibration(u));
        }

        var result = new RecomputedAccount(underlyings, calculator.Count);
        double[] row = new double[calculator.Count];
        double unrealizedTotal = 0;
        double[] shortUnits = new double[underlyings];
        var method = book.Methodology;
        MarginMode mode = book.Mode(account);
        double positionInitial = 0, positionMaintenance = 0; // standard and isolated: Σ per position
        double provision = 0; // the funding provision: what each paying perpetual would pay in the next interval at its current rate
        PortfolioComponents? components = method.Components;
        var tierDeltas = new double[underlyings][];
        for (int u = 0; u < underlyings; u++)
        {
            tierDeltas[u] = new double[PortfolioComponents.MaxTiers];
        }

        double[] grossVega = new double[underlyings];
        for (int k = 0; k < book.PositionCount(account); k++)
        {
            int instrument = book.PositionInstrumentAt(account, k);
            ref readonly var spec = ref book.Instrument(instrument);
            int u = spec.Underlying;
            double average = book.PositionAveragePrice(account, instrument);
            double q = Units(spec, book.PositionQuantity(account, instrument), average); // an inverse position: the coins it carries
            double index = book.IndexPrice(u);
            double carry = book.UnderlyingCarry(u);
            double t = spec.ExpiryNanos == 0 ? 0 : (spec.ExpiryNanos - book.ValuationNanos(u)) / RiskBook.NanosPerYear;
            double forwardPerIndex = spec.Kind is InstrumentKind.Future or InstrumentKind.Call or InstrumentKind.Put ? Math.Exp(carry * Math.Max(t, 0)) : 1.0;
            double forward = index * forwardPerIndex;
            double m = spec.IsInverse ? 1 : spec.Multiplier; // an inverse contract is valued per coin
            double omega, mark, delta, gamma, vega, theta, volatility = 0.5, strike = 1, time = Math.Max(t, 0);
            if (spec.IsOption)
            {
                omega = spec.Kind == InstrumentKind.Call ? 1 : -1;
                volatility = book.MarkVolatility(instrument);
                strike = spec.Strike;
                time = t;
                var g = BlackScholes.Compute(new OptionInput(omega > 0 ? OptionRight.Call : OptionRight.Put, PricingModel.Forward, forward, strike, t, volatility, config.Rate));
                mark = g.Price;
                delta = g.Delta * forwardPerIndex;
                gamma = g.Gamma * forwardPerIndex * forwardPerIndex;
                vega = g.Vega;
                theta = t > 0 ? g.Theta - (carry * forward * g.Delta) : g.Theta; // index held fixed: F moves as e^(bT)
                if (q < 0)
                {
                    shortUnits[u] += -q * m;
                }
            }
            else
            {
                omega = 0;
                mark = forward;
                delta = forwardPerIndex;
                gamma = 0;
                vega = 0;
                theta = spec.Kind == InstrumentKind.Future && t > 0 ? -carry * forward : 0;
            }

            result.NetDelta[u] += q * delta * m;
            result.NetGamma[u] += q * gamma * m;
            result.NetVega[u] += q * vega * m;
            grossVega[u] += Math.Abs(q * vega * m);
            if (components is not null)
            {
                tierDeltas[u][components.TierOf(u, spec.ExpiryNanos)] += q * delta * m;
            }

            result.NetTheta[u] += q * theta * m;
            result.Unrealized[u] += q * (mark - average) * m;
            unrealizedTotal += q * (mark - average) * m;
            var own = method.Position(new PositionTerms(spec.Kind, q, mark, m, index, spec.Strike));
            positionInitial += own.Initial;
            positionMaintenance += own.Maintenance;
            if (book.Config.FundingProvision && spec.Kind == InstrumentKind.Perpetual)
            {
                provision += Math.Max(0, q * m * mark * book.FundingRateOf(instrument));
            }

            ScalarRow(book, calculators[spec.Underlying], instrument, row);
            for (int j = 0; j < row.Length; j++)
            {
                result.RiskArrays[u][j] += q * row[j];
            }
        }

        double requirements = 0;
        bool[] held = new bool[underlyings];
        double[] scans = new double[underlyings];
        double[] heldDeltas = new double[underlyings];
        for (int u = 0; u < underlyings; u++)
        {
            for (int k = 0; k < book.PositionCount(account); k++)
            {
                held[u] |= book.Instrument(book.PositionInstrumentAt(account, k)).Underlying == u;
            }

            // Coin collateral that moves in this underlying's scenarios (held positions only):
            // its haircut value × (−move × weight) per row, nothing in a basis row.
            double coin = 0;
            for (int x = 0; held[u] && x < book.Config.MaxAssets; x++)
            {
                if (book.IsAssetInScenarios(x) && book.AssetUnderlying(x) == u && book.CollateralBalance(account, x) != 0)
                {
                    coin += book.HaircutValue(x, book.CollateralBalance(account, x));
                }
            }

            for (int j = 0; coin != 0 && j < calculator.Count; j++)
            {
                result.RiskArrays[u][j] += coin * (-config.Grid.RelativeMoveOf(j, u, book.ScenarioCalibration(u)) * config.Grid.Scenarios[j].Weight);
            }

            scans[u] = held[u] ? config.Grid.ScanOf(result.RiskArrays[u], book.ScenarioCalibration(u).ExtendedDampener) : 0;
            heldDeltas[u] = held[u] ? result.NetDelta[u] : 0;
        }

        double[] credits = new double[underlyings];
        if (components is { HasInterCommodity: true })
        {
            double[] block = [.. result.RiskArrays.SelectMany(r => r)];
            components.InterCredits(heldDeltas, scans, new AccountRiskArrays(block, calculator.Count), new double[underlyings], credits);
        }

        for (int u = 0; u < underlyings; u++)
        {
            if (!held[u])
            {
                continue;
            }

            if (components is null)
            {
                requirements += method.UnderlyingRequirement(scans[u], shortUnits[u], book.IndexPrice(u));
            }
            else
            {
                double index = book.IndexPrice(u);
                double intra = components.HasTiers(u) ? components.IntraCharge(u, tierDeltas[u]) : 0;
                double addOn = components.AddOn(u, result.NetDelta[u], grossVega[u], index);
                requirements += components.Requirement(u, scans[u] + intra, credits[u], method.ShortOptionMinimum(shortUnits[u], index), addOn);
            }
        }

        for (int u = 0; u < underlyings; u++)
        {
            double[] buys = (double[])result.RiskArrays[u].Clone(), sells = (double[])result.RiskArrays[u].Clone();
            double sellShorts = 0;
            bool working = false;
            for (int k = 0; k < book.WorkingInstrumentCount(account); k++)
            {
                int instrument = book.WorkingInstrumentAt(account, k);
                if (book.Instrument(instrument).Underlying != u)
                {
                    continue;
                }

                working = true;
                var (buy, sell) = book.WorkingQuantity(account, instrument);
                ScalarRow(book, calculators[u], instrument, row);
                double perContract = book.Instrument(instrument).IsInverse ? book.Instrument(instrument).Multiplier / ScalarMark(book, instrument) : 1; // an inverse order: its coins at the mark
                for (int j = 0; j < row.Length; j++)
                {
                    buys[j] += buy * perContract * row[j];
                    sells[j] -= sell * perContract * row[j];
                }

                sellShorts += book.Instrument(instrument).IsOption ? sell * book.Instrument(instrument).Multiplier : 0;
            }

            if (working && mode != MarginMode.Portfolio)
            {
                for (int k = 0; k < book.WorkingInstrumentCount(account); k++)
                {
                    int instrument = book.WorkingInstrumentAt(account, k);
                    if (book.Instrument(instrument).Underlying == u)
                    {
                        var (buy, sell) = book.WorkingQuantity(account, instrument);
                        double contracts = book.PositionQuantity(account, instrument);
                        double average = book.PositionAveragePrice(account, instrument);
                        var spec = book.Instrument(instrument);
                        double mark = ScalarMark(book, instrument);
                        double q = Units(spec, contracts, average);
                        double Own(double quantity) => method.Position(new PositionTerms(spec.Kind, quantity, mark, spec.IsInverse ? 1 : spec.Multiplier, book.IndexPrice(u), spec.Strike)).Initial;
                        result.OpenOrderMargin += Math.Max(0, Math.Max(Own(q + Trade(spec, contracts, average, buy, mark)), Own(q + Trade(spec, contracts, average, -sell, mark))) - Own(q));
                    }
                }
            }
            else if (working)
            {
                double index = book.IndexPrice(u);
                double plain = held[u] ? method.UnderlyingRequirement(scans[u], shortUnits[u], index) : 0;
                double worst = Math.Max(method.UnderlyingRequirement(config.Grid.ScanOf(buys, book.ScenarioCalibration(u).ExtendedDampener), shortUnits[u], index), method.UnderlyingRequirement(config.Grid.ScanOf(sells, book.ScenarioCalibration(u).ExtendedDampener), shortUnits[u] + sellShorts, index));
                result.OpenOrderMargin += Math.Max(0, worst - plain);
            }
        }

        double collateral = book.SettledCash(account);
        for (int x = 0; x < config.MaxAssets; x++)
        {
            double balance = book.CollateralBalance(account, x);
            if (balance != 0)
            {
                collateral += book.HaircutValue(x, balance);
            }
        }

        if (mode == MarginMode.Portfolio && config.Grid.Measure == ScanMeasure.ExpectedShortfall && held.Count(h => h) >= 2)
        {
            // The historical grid's account level: the expected shortfall of the joint sample (row j is
            // one date for every underlying), floored by the short option minima, plus the provision.
            double[] joint = new double[calculator.Count];
            double minimum = 0;
            for (int u = 0; u < underlyings; u++)
            {
                if (held[u])
                {
                    for (int j = 0; j < joint.Length; j++)
                    {
                        joint[j] += result.RiskArrays[u][j];
                    }

                    minimum += method.ShortOptionMinimum(shortUnits[u], book.IndexPrice(u));
                }
            }

            double initial = method.AccountInitial(Math.Max(Math.Max(RiskMeasures.ExpectedShortfall(joint, config.Grid.Confidence, new double[joint.Length]), 0), minimum) + provision);
            result.InitialMargin = initial;
            result.MaintenanceMargin = method.Maintenance(initial);
        }
        else if (mode == MarginMode.Portfolio)
        {
            double initial = method.AccountInitial(requirements + provision);
            result.InitialMargin = initial;
            result.MaintenanceMargin = method.Maintenance(initial);
        }
        else
        {
            result.InitialMargin = positionInitial + provision;
            result.MaintenanceMargin = positionMaintenance;
        }

        result.Equity = collateral + book.RealizedPnl(account) + unrealizedTotal;
        return result;
    }

    /// <summary>What the book values of a position of <paramref name="contracts"/> at <paramref name="average"/>: the contracts, or an inverse contract's coins, contracts × face / average.</summary>
    private static double Units(in InstrumentSpec spec, double contracts, double average) =>
        !spec.IsInverse || contracts == 0 ? contracts : contracts * spec.Multiplier / average;

    /// <summary>
    /// The units a trade of <paramref name="trade"/> contracts at <paramref name="price"/> moves a position of
    /// <paramref name="contracts"/> at <paramref name="average"/> by: the contracts; for an inverse contract
    /// the coins bought at the price when opening or adding, the held coins' share at the average when
    /// reducing, all of them and the new side's at the price when flipping.
    /// </summary>
    private static double Trade(in InstrumentSpec spec, double contracts, double average, double trade, double price)
    {
        if (!spec.IsInverse || trade == 0)
        {
            return trade;
        }

        double face = spec.Multiplier;
        if (contracts == 0 || Math.Sign(contracts) == Math.Sign(trade))
        {
            return trade * face / price;
        }

        return Math.Abs(trade) <= Math.Abs(contracts)
            ? trade * face / average
            : (-contracts * face / average) + ((contracts + trade) * face / price);
    }

    /// <summary>The scalar reference's loss per contract per scenario of one instrument, at its underlying's last valuation.</summary>
    private static void ScalarRow<TMargin>(RiskBook<TMargin> book, RiskArrayCalculator calculator, int instrument, double[] row)
        where TMargin : struct, IMarginMethodology
    {
        ref readonly var spec = ref book.Instrument(instrument);
        var (t, forward) = TimeAndForward(book, instrument);
        bool option = spec.IsOption;
        double omega = option ? (spec.Kind == InstrumentKind.Call ? 1 : -1) : 0;
        calculator.ComputeScalar(new RiskArrayInputs([omega], [forward], [option ? spec.Strike : 1], [option ? t : Math.Max(t, 0)], [option ? book.MarkVolatility(instrument) : 0.5], [book.Config.Rate], [0.0], [0.0], [spec.IsInverse ? 1 : spec.Multiplier]), row);
    }

    /// <summary>The scalar reference's mark of one instrument per unit (futures: the forward; options: Black-76 at the mark volatility).</summary>
    private static double ScalarMark<TMargin>(RiskBook<TMargin> book, int instrument)
        where TMargin : struct, IMarginMethodology
    {
        ref readonly var spec = ref book.Instrument(instrument);
        var (t, forward) = TimeAndForward(book, instrument);
        return spec.IsOption
            ? BlackScholes.Compute(new OptionInput(spec.Kind == InstrumentKind.Call ? OptionRight.Call : OptionRight.Put, PricingModel.Forward, forward, spec.Strike, t, book.MarkVolatility(instrument), book.Config.Rate)).Price
            : forward;
    }

    /// <summary>An instrument's time to expiry (years, from its underlying's last valuation) and forward (futures and options: index × e^(carry·T); spot and perpetuals: the index).</summary>
    private static (double Time, double Forward) TimeAndForward<TMargin>(RiskBook<TMargin> book, int instrument)
        where TMargin : struct, IMarginMethodology
    {
        ref readonly var spec = ref book.Instrument(instrument);
        int u = spec.Underlying;
        double t = spec.ExpiryNanos == 0 ? 0 : (spec.ExpiryNanos - book.ValuationNanos(u)) / RiskBook.NanosPerYear;
        double forwardPerIndex = spec.Kind is InstrumentKind.Future or InstrumentKind.Call or InstrumentKind.Put ? Math.Exp(book.UnderlyingCarry(u) * Math.Max(t, 0)) : 1.0;
        return (t, book.IndexPrice(u) * forwardPerIndex);
    }
}
