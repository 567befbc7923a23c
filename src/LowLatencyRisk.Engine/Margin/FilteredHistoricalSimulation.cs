using System.Globalization;
using System.Text;
using System.Text.Json;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Engine.Configuration;

namespace LowLatencyRisk.Engine.Margin;

/// <summary>
/// <c>llr margin --method fhs</c>: each account's value-at-risk and expected shortfall under filtered
/// historical simulation, next to the scenario grid's initial margin — the measure the major CCPs
/// margin with (Eurex Prisma), computed by full revaluation of the account's own book.
/// </summary>
/// <remarks>
/// <para><b>Scenarios.</b> From a history of daily closes, per underlying the h-day log returns
/// r_t = ln(close(t + h) / close(t)) for every date t with a date t + h. Each is filtered (rescaled to
/// today's volatility): r̃_t = r_t × σ_now / σ_t, where σ_t is the EWMA daily volatility known on date t
/// (RiskMetrics σ²_t = λσ²_{t−1} + (1 − λ)d²_{t−1} over the daily log returns d, seeded with the mean
/// of the first min(30, n) squared daily returns) and σ_now the one after the history's last return.
/// Scenario t moves every underlying from the file's index S₀ to S₀ × e^(r̃_t) on the same date — so
/// history's co-movements are kept — with volatilities, time and everything else as in the file.</para>
/// <para><b>Measures.</b> The loss of a scenario is the fall of the account's equity, revalued in full
/// by its own <see cref="RiskBook"/>; VaR at the confidence (99 %) is the ⌈αN⌉-th smallest loss and ES
/// (97.5 %) the mean of the worst (1 − α) share (<see cref="RiskMeasures"/>). By full revaluation, it is
/// the independent check of the book's own FHS methodology (the <c>historical</c> grid preset, which sums
/// precomputed instrument rows on the fill path): on the same history the two agree within 1e-9.</para>
/// </remarks>
public static class FilteredHistoricalSimulation
{
    /// <summary>The days whose mean squared return seeds the EWMA.</summary>
    public const int SeedDays = 30;

    /// <summary>Computes every account's FHS VaR and ES; throws <see cref="ConfigException"/> naming problems of the file, the history or their match.</summary>
    public static FhsResult Run(PortfolioFile portfolio, string source, PriceHistory history, int horizonDays = 1, double lambda = 0.94,
        double varConfidence = 0.99, double esConfidence = 0.975, bool filter = true) =>
        Run(portfolio, source, history, horizonDays, lambda, varConfidence, esConfidence, filter, sharedBook: true);

    /// <summary>As the public one; <paramref name="sharedBook"/> false forces the per-account books (the tests compare the two).</summary>
    internal static FhsResult Run(PortfolioFile portfolio, string source, PriceHistory history, int horizonDays, double lambda,
        double varConfidence, double esConfidence, bool filter, bool sharedBook)
    {
        ArgumentNullException.ThrowIfNull(portfolio);
        ArgumentNullException.ThrowIfNull(history);
        var problems = new List<string>();
        if (horizonDays is < 1 or > 250)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"horizon: {horizonDays} days is not in 1..250"));
        }

        if (!(lambda is > 0 and < 1))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"lambda: {lambda} is not in (0, 1)"));
        }

        if (!(varConfidence is > 0.5 and < 1) || !(esConfidence is > 0.5 and < 1))
        {
            problems.Add("confidence: VaR and ES confidences must be in (0.5, 1)");
        }

        int scenarios = history.Dates.Count - horizonDays;
        if (scenarios < 20)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{history.Source}: {history.Dates.Count} dates give {Math.Max(scenarios, 0)} {horizonDays}-day scenarios; at least 20 are needed"));
        }

        var columns = PortfolioBacktest.Columns(portfolio, source, history, problems);
        if (problems.Count > 0)
        {
            throw new ConfigException(source, problems, "FHS");
        }

        // Filtered returns by file underlying, then scenario.
        var moves = new double[columns.Length][];
        for (int g = 0; g < columns.Length; g++)
        {
            moves[g] = FilteredReturns(history.Closes[columns[g]], horizonDays, lambda, filter);
        }

        var shared = sharedBook ? PortfolioBacktest.OneBook(portfolio, source) : null;
        if (shared is not null)
        {
            return new FhsResult(history.Source, history.IsSynthetic, scenarios, horizonDays, lambda, filter, varConfidence, esConfidence,
                OneBook(portfolio, history, shared, moves, scenarios, varConfidence, esConfidence));
        }

        var accounts = new List<FhsAccount>();
        var losses = new double[scenarios];
        var scratch = new double[scenarios];
        PortfolioMargin.VisitAccountBooks(portfolio, source, p => p with { IndexBand = 1e9, DynamicRange = DynamicRangeConfig.Off }, (a, result, book, local) =>
        {
            var files = local.OrderBy(kv => kv.Value).Select(kv => kv.Key).ToArray();
            var start = files.Select(g => portfolio.Underlyings![g].Index!.Value).ToArray();
            long now = book.NowNanos;
            double equity = book.Equity(0);
            int worst = 0;
            for (int s = 0; s < scenarios; s++)
            {
                for (int l = 0; l < files.Length; l++)
                {
                    PortfolioBacktest.Move(book, l, start[l] * Math.Exp(moves[files[l]][s]), now);
                }

                book.Revalue();
                losses[s] = equity - book.Equity(0);
                worst = losses[s] > losses[worst] ? s : worst;
                for (int l = 0; l < files.Length; l++)
                {
                    PortfolioBacktest.Move(book, l, start[l], now);
                }

                book.Revalue();
            }

            accounts.Add(new FhsAccount(result.Account, result.InitialMargin,
                RiskMeasures.ValueAtRisk(losses, varConfidence, scratch), RiskMeasures.ExpectedShortfall(losses, esConfidence, scratch),
                losses[worst], history.Dates[worst]));
        });

        return new FhsResult(history.Source, history.IsSynthetic, scenarios, horizonDays, lambda, filter, varConfidence, esConfidence, [.. accounts]);
    }

    /// <summary>Every account's measures in one book holding them all: each scenario one revaluation of the whole book.</summary>
    private static FhsAccount[] OneBook(PortfolioFile portfolio, PriceHistory history, RiskBook book, double[][] moves, int scenarios, double varConfidence, double esConfidence)
    {
        var entries = portfolio.Accounts!;
        int accounts = entries.Length, underlyings = portfolio.Underlyings!.Length;
        var start = portfolio.Underlyings.Select(u => u.Index!.Value).ToArray();
        long now = book.NowNanos;
        var equity = new double[accounts];
        for (int a = 0; a < accounts; a++)
        {
            equity[a] = book.Equity(a);
        }

        var losses = new double[accounts * scenarios];
        for (int s = 0; s < scenarios; s++)
        {
            for (int g = 0; g < underlyings; g++)
            {
                PortfolioBacktest.Move(book, g, start[g] * Math.Exp(moves[g][s]), now);
            }

            book.Revalue();
            for (int a = 0; a < accounts; a++)
            {
                losses[(a * scenarios) + s] = equity[a] - book.Equity(a);
            }
        }

        for (int g = 0; g < underlyings; g++)
        {
            PortfolioBacktest.Move(book, g, start[g], now);
        }

        book.Revalue();
        var scratch = new double[scenarios];
        var result = new FhsAccount[accounts];
        for (int a = 0; a < accounts; a++)
        {
            var mine = losses.AsSpan(a * scenarios, scenarios);
            int worst = 0;
            for (int s = 1; s < scenarios; s++)
            {
                worst = mine[s] > mine[worst] ? s : worst;
            }

            result[a] = new FhsAccount(entries[a].Name!, book.InitialMargin(a), RiskMeasures.ValueAtRisk(mine, varConfidence, scratch),
                RiskMeasures.ExpectedShortfall(mine, esConfidence, scratch), mine[worst], history.Dates[worst]);
        }

        return result;
    }

    /// <summary>
    /// The EWMA daily volatility after a close series' last return: σ²_t = λσ²_{t−1} + (1 − λ)d²_{t−1}
    /// over its daily log returns d, seeded with the mean of the first min(30, n) squared returns — the
    /// σ_now of <see cref="FilteredReturns"/>, and what <c>margin.dynamicRange.seedHistory</c> seeds an
    /// underlying with. NaN for fewer than two closes.
    /// </summary>
    public static double EwmaDailyVolatility(IReadOnlyList<double> closes, double lambda)
    {
        ArgumentNullException.ThrowIfNull(closes);
        return closes.Count < 2 ? double.NaN : Math.Sqrt(EwmaVariances(closes, lambda)[^1]);
    }

    /// <summary>σ²_t as known on date t (before the return from t to t + 1), t = 0 .. n − 1, then after the last return at n − 1.</summary>
    private static double[] EwmaVariances(IReadOnlyList<double> closes, double lambda)
    {
        int days = closes.Count;
        var daily = new double[days - 1];
        for (int t = 0; t + 1 < days; t++)
        {
            daily[t] = Math.Log(closes[t + 1] / closes[t]);
        }

        var variance = new double[days];
        int seedDays = Math.Min(SeedDays, daily.Length);
        double seed = 0;
        for (int t = 0; t < seedDays; t++)
        {
            seed += daily[t] * daily[t];
        }

        variance[0] = seedDays == 0 ? 0 : seed / seedDays;
        for (int t = 1; t < days; t++)
        {
            variance[t] = (lambda * variance[t - 1]) + ((1 - lambda) * daily[t - 1] * daily[t - 1]);
        }

        return variance;
    }

    /// <summary>
    /// The h-day log returns of a close series, each multiplied by σ_now / σ_t (EWMA of the daily
    /// returns, σ_t as known on date t; <see cref="FilteredHistoricalSimulation"/>); unfiltered when
    /// <paramref name="filter"/> is false.
    /// </summary>
    public static double[] FilteredReturns(IReadOnlyList<double> closes, int horizonDays, double lambda, bool filter = true)
    {
        ArgumentNullException.ThrowIfNull(closes);
        int days = closes.Count;
        var variance = EwmaVariances(closes, lambda);
        double now = Math.Sqrt(variance[days - 1]);
        var moves = new double[days - horizonDays];
        for (int t = 0; t < moves.Length; t++)
        {
            double r = Math.Log(closes[t + horizonDays] / closes[t]);
            double then = Math.Sqrt(variance[t]);
            // A flat stretch (σ_t = 0) cannot be rescaled: its move (zero, or the first after it) is kept as it was.
            moves[t] = filter && then > 0 ? r * now / then : r;
        }

        return moves;
    }
}

/// <summary>One account under FHS: the grid's IM beside the FHS measures, and the worst scenario.</summary>
public sealed record FhsAccount(string Account, double GridInitialMargin, double ValueAtRisk, double ExpectedShortfall, double WorstLoss, DateOnly WorstScenarioDate);

/// <summary>The FHS measures of a portfolio.</summary>
public sealed record FhsResult(string History, bool Synthetic, int Scenarios, int HorizonDays, double Lambda, bool Filtered, double VarConfidence, double EsConfidence, FhsAccount[] Accounts)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The report as a table.</summary>
    public string ToTable()
    {
        var b = new StringBuilder();
        b.Append(Inv, $"history: {History}{(Synthetic ? " [SYNTHETIC]" : "")}\n");
        b.Append(Inv, $"{(Filtered ? "filtered" : "unfiltered")} historical simulation: {Scenarios} {HorizonDays}-day scenarios{(Filtered ? $", EWMA lambda {Lambda}" : "")}; loss positive\n");
        b.Append(Inv, $"{"account",-20} {"grid IM",14} {$"VaR {VarConfidence:P1}",14} {$"ES {EsConfidence:P1}",14} {"worst loss",14}  worst scenario\n");
        foreach (var a in Accounts)
        {
            b.Append(Inv, $"{a.Account,-20} {a.GridInitialMargin,14:N2} {a.ValueAtRisk,14:N2} {a.ExpectedShortfall,14:N2} {a.WorstLoss,14:N2}  {a.WorstScenarioDate:yyyy-MM-dd}\n");
        }

        return b.ToString();
    }

    /// <summary>The report as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, LlrConfig.JsonOptions);
}
