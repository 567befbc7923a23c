using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Engine.Configuration;

namespace LowLatencyRisk.Engine.Margin;

/// <summary>
/// <c>llr backtest</c>: did the margin cover the losses? A portfolio file's accounts, held as they
/// are, are shocked by every h-day move of a price history, and each move's loss is compared with the
/// initial margin the methodology held for that day.
/// </summary>
/// <remarks>
/// <para>The test is the hypothetical-portfolio backtest (today's positions against history's moves,
/// as a CCP runs it beside its actual-portfolio one). For each date t with a date t + h in the
/// history, every underlying's index moves from the file's level S₀ to S₀ × close(t + h) / close(t)
/// — all underlyings on the same dates, so history's correlations are kept — volatilities, time and
/// everything else as in the file. The realised loss is the fall in the account's equity (positions'
/// value and collateral, coin collateral moving with its index) computed by the account's own
/// <see cref="RiskBook"/> (the engine's code path, full revaluation). The margin held is the book's
/// initial margin at S₀ with the scan range in force at t: with <c>margin.dynamicRange</c> on, the
/// range the engine's EWMA would have set after seeing the closes up to t (a tracking book fed the
/// closes at each date's midnight UTC, so sampling, the daily cap, floor and ceiling are the engine's
/// own); otherwise the file's range every day.</para>
/// <para>An exceedance is a loss strictly above the margin. Coverage = 1 − exceedances / observations;
/// Kupiec's proportion-of-failures test compares the exceedance rate with 1 − confidence (EMIR asks
/// for a coverage of at least 99 %). Observations of overlapping horizons (h &gt; 1) are not
/// independent and the pooled figure counts accounts as independent: the p-values then read
/// optimistic, as they would in any such pooled test.</para>
/// </remarks>
public static class PortfolioBacktest
{
    /// <summary>Runs the backtest; throws <see cref="ConfigException"/> naming problems of the file, the history or their match.</summary>
    /// <param name="portfolio">The portfolio file, parsed (<see cref="PortfolioMargin.ParsePortfolio"/>).</param>
    /// <param name="source">The portfolio's name in problems.</param>
    /// <param name="history">The closes.</param>
    /// <param name="horizonDays">h: the days (rows of the history) a loss is measured over.</param>
    /// <param name="confidence">The margin's target coverage (0.99).</param>
    /// <param name="progress">Called after each account with (done, total); null for none.</param>
    /// <param name="fhs">
    /// Null: the margin held is the grid's initial margin. Otherwise it is the filtered historical
    /// simulation's expected shortfall (<see cref="FilteredHistoricalSimulation"/>) over the
    /// <see cref="FhsMargin.Window"/> dates before each observation — the h-day moves of that window,
    /// filtered with an EWMA seeded on the window's own first 30 returns — so observations start
    /// <see cref="FhsMargin.Window"/> dates into the history.
    /// </param>
    public static BacktestResult Run(PortfolioFile portfolio, string source, PriceHistory history, int horizonDays = 1, double confidence = 0.99,
        Action<int, int>? progress = null, FhsMargin? fhs = null) => Run(portfolio, source, history, horizonDays, confidence, progress, fhs, sharedBook: true);

    /// <summary>As the public one; <paramref name="sharedBook"/> false forces the per-account books (the tests compare the two).</summary>
    internal static BacktestResult Run(PortfolioFile portfolio, string source, PriceHistory history, int horizonDays, double confidence,
        Action<int, int>? progress, FhsMargin? fhs, bool sharedBook)
    {
        ArgumentNullException.ThrowIfNull(portfolio);
        ArgumentNullException.ThrowIfNull(history);
        var problems = new List<string>();
        if (horizonDays < 1 || horizonDays > 250)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"horizon: {horizonDays} days is not in 1..250"));
        }

        if (!(confidence is > 0.5 and < 1))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"confidence: {confidence} is not in (0.5, 1)"));
        }

        int first = fhs?.Window ?? 0; // the first observation's date
        if (fhs is not null && (fhs.Window is < 20 or > PriceHistory.MaxDays || !(fhs.Confidence is > 0.5 and < 1) || !(fhs.Lambda is > 0 and < 1)))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"fhs: window {fhs.Window} (at least 20 dates), confidence {fhs.Confidence} and lambda {fhs.Lambda} (in (0, 1)) are not all valid"));
        }
        else if (history.Dates.Count < first + horizonDays + 1)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"{history.Source}: {history.Dates.Count} dates give no {horizonDays}-day move{(fhs is null ? "" : $" after the FHS window of {first} dates")}"));
        }

        var columns = Columns(portfolio, source, history, problems);
        if (problems.Count > 0)
        {
            throw new ConfigException(source, problems, "backtest");
        }

        int observations = history.Dates.Count - horizonDays - first;
        int total = portfolio.Accounts?.Length ?? 0;
        bool dynamic = false;
        double[][]? ranges = null; // by file underlying, then observation: the scan range in force at t
        var accounts = sharedBook ? Shared(portfolio, source, history, columns, horizonDays, confidence, observations, first, fhs, progress, out dynamic) : null;
        if (accounts is not null)
        {
            return Result(history, horizonDays, confidence, dynamic, accounts, first, fhs) with { OneBook = true };
        }

        accounts = [];
        PortfolioMargin.VisitAccountBooks(portfolio, source, p =>
        {
            dynamic = p.DynamicRange.Enabled;
            // No jump band: a backtest's moves are the point, not bad ticks to hold.
            return p with { DynamicRange = DynamicRangeConfig.Off, IndexBand = 1e9 };
        }, (a, result, book, local) =>
        {
            if (dynamic && ranges is null && fhs is null)
            {
                ranges = TrackRanges(portfolio, source, history, columns, observations);
            }

            accounts.Add(Account(portfolio, a, result, book, local, history, columns, horizonDays, confidence, observations, ranges, first, fhs));
            progress?.Invoke(a + 1, total);
        });

        return Result(history, horizonDays, confidence, dynamic, accounts, first, fhs);
    }

    private static BacktestResult Result(PriceHistory history, int horizonDays, double confidence, bool dynamic, List<AccountBacktest> accounts, int first, FhsMargin? fhs)
    {
        var held = accounts.Where(a => a.Observations > 0).ToArray();
        long n = held.Sum(a => (long)a.Observations), x = held.Sum(a => (long)a.Exceedances);
        var (lr, p) = n > 0 ? RiskMeasures.Kupiec(n, x, 1 - confidence) : (0.0, 1.0);
        return new BacktestResult(history.Source, history.IsSynthetic, history.Dates[first], history.Dates[^1], horizonDays, confidence, dynamic && fhs is null, [.. accounts],
            n, x, n > 0 ? 1 - ((double)x / n) : 1, lr, p)
        {
            Fhs = fhs,
        };
    }

    /// <summary>
    /// The backtest in one book holding every account — the way <c>llr engine</c> loads a book file —
    /// so each date values each instrument once and revalues every holder together, instead of once
    /// per account's own book (10,000 accounts: one revaluation of the whole book against 10,000 of
    /// small ones). The numbers are those of the per-account books (accounts never offset each other
    /// in a book; a test compares the two paths). Null when the file cannot be one engine book (an
    /// isolated account without a parent, or a book too large for half the machine's memory): then the
    /// per-account books are used.
    /// </summary>
    private static List<AccountBacktest>? Shared(PortfolioFile f, string source, PriceHistory history, int[] columns, int horizon, double confidence,
        int observations, int first, FhsMargin? fhs, Action<int, int>? progress, out bool dynamic)
    {
        dynamic = (f.Margin ?? new MarginSection()).DynamicRange.Enabled;
        var entries = f.Accounts!;
        if (OneBook(f, source) is not { } book)
        {
            return null;
        }

        int underlyings = f.Underlyings!.Length, accounts = entries.Length;
        var ranges = dynamic && fhs is null ? TrackRanges(f, source, history, columns, observations) : null;
        var start = f.Underlyings.Select(u => u.Index!.Value).ToArray();
        long now = book.NowNanos;
        var holds = entries.Select(a => (a.Positions?.Length ?? 0) > 0).ToArray();
        var equity = new double[accounts];
        var margins = new double[accounts];
        for (int a = 0; a < accounts; a++)
        {
            equity[a] = book.Equity(a);
            margins[a] = book.InitialMargin(a);
        }

        var days = new BacktestDay[accounts][];
        for (int a = 0; a < accounts; a++)
        {
            days[a] = new BacktestDay[holds[a] ? observations : 0];
        }

        int scenarios = fhs is null ? 0 : fhs.Window - horizon + 1;
        var losses = new double[fhs is null ? 0 : accounts * scenarios];
        var scratch = new double[scenarios];
        var moves = new double[underlyings][];
        for (int o = 0; o < observations; o++)
        {
            int t = first + o;
            if (fhs is not null)
            {
                for (int g = 0; g < underlyings; g++)
                {
                    moves[g] = FilteredHistoricalSimulation.FilteredReturns(new ArraySegment<double>((double[])history.Closes[columns[g]], o, fhs.Window + 1), horizon, fhs.Lambda);
                }

                for (int s = 0; s < scenarios; s++)
                {
                    for (int g = 0; g < underlyings; g++)
                    {
                        Move(book, g, start[g] * Math.Exp(moves[g][s]), now);
                    }

                    book.Revalue();
                    for (int a = 0; a < accounts; a++)
                    {
                        losses[(a * scenarios) + s] = equity[a] - book.Equity(a);
                    }
                }

                for (int a = 0; a < accounts; a++)
                {
                    margins[a] = RiskMeasures.ExpectedShortfall(losses.AsSpan(a * scenarios, scenarios), fhs.Confidence, scratch);
                }
            }
            else if (ranges is not null)
            {
                bool changed = false;
                for (int g = 0; g < underlyings; g++)
                {
                    var calibration = book.ScenarioCalibration(g);
                    if (calibration.PriceScanRange != ranges[g][o])
                    {
                        _ = book.SetScenarioCalibration(g, calibration with { PriceScanRange = ranges[g][o] });
                        changed = true;
                    }
                }

                if (changed)
                {
                    book.Revalue();
                    for (int a = 0; a < accounts; a++)
                    {
                        margins[a] = book.InitialMargin(a);
                    }
                }
            }

            for (int g = 0; g < underlyings; g++)
            {
                var column = history.Closes[columns[g]];
                Move(book, g, start[g] * (column[t + horizon] / column[t]), now);
            }

            book.Revalue();
            for (int a = 0; a < accounts; a++)
            {
                if (holds[a])
                {
                    double loss = equity[a] - book.Equity(a);
                    days[a][o] = new BacktestDay(history.Dates[t], margins[a], loss, loss > margins[a]);
                }
            }

            for (int g = 0; g < underlyings; g++)
            {
                Move(book, g, start[g], now);
            }

            book.Revalue();
            while (book.TryDequeueTransition(out _))
            {
            }

            progress?.Invoke((int)((long)(o + 1) * accounts / observations), accounts);
        }

        var result = new List<AccountBacktest>(accounts);
        for (int a = 0; a < accounts; a++)
        {
            result.Add(Summarize(entries[a].Name!, days[a], confidence, book.InitialMargin(a)));
        }

        return result;
    }

    /// <summary>
    /// Every account of a portfolio file in one book, as <c>llr engine</c> loads a book file (file ids
    /// are book ids), with no jump band, no dynamic range and no hysteresis; null when the file cannot
    /// be one engine book (an isolated account without a parent, or a book larger than half the
    /// machine's memory). The file is first checked as a portfolio, so its problems read as
    /// <c>llr margin</c> reports them.
    /// </summary>
    internal static RiskBook? OneBook(PortfolioFile f, string source)
    {
        var errors = new List<string>();
        if (PortfolioMargin.Validate(f, errors) is null || errors.Count > 0)
        {
            throw new ConfigException(source, errors, "portfolio");
        }

        var margin = f.Margin ?? new MarginSection();
        var entries = f.Accounts!;
        if (entries.Any(a => (a.Mode ?? margin.DefaultMode) == MarginMode.Isolated && a.Parent is null))
        {
            return null;
        }

        // The engine's book file carries no grid, margin or orders (they are the configuration's, and orders are not positions).
        var file = new PortfolioFile
        {
            ValuationTime = f.ValuationTime, Underlyings = f.Underlyings, Instruments = f.Instruments, Assets = f.Assets,
            Accounts = [.. entries.Select(a => new AccountEntry { Name = a.Name, Mode = a.Mode, Parent = a.Parent, Instrument = a.Instrument, Collateral = a.Collateral, Positions = a.Positions })],
        };
        var config = new LlrConfig { ScenarioGrid = f.ScenarioGrid ?? new GridSection(), Margin = margin, Book = new BookSection { SpareInstruments = 0, MaxPositionsPerAccount = 1 } };
        return BookFile.Build(file, config, source, p => p with { DynamicRange = DynamicRangeConfig.Off, IndexBand = 1e9, Hysteresis = 0 }, nullWhenTooLarge: true);
    }

    /// <summary>One account's figures from its observations (none: an account without positions).</summary>
    private static AccountBacktest Summarize(string account, BacktestDay[] days, double confidence, double margin)
    {
        if (days.Length == 0)
        {
            return new AccountBacktest(account, 0, 0, 1, 0, 1, 0, margin, margin, days);
        }

        int exceedances = days.Count(d => d.Exceeded);
        var (lr, p) = RiskMeasures.Kupiec(days.Length, exceedances, 1 - confidence);
        return new AccountBacktest(account, days.Length, exceedances, 1 - ((double)exceedances / days.Length), lr, p, days.Max(d => d.Loss),
            days.Min(d => d.Margin), days.Max(d => d.Margin), days);
    }

    /// <summary>The history's column of each of the file's underlyings; a missing one is a problem (a move left out would silently be "no move").</summary>
    internal static int[] Columns(PortfolioFile portfolio, string source, PriceHistory history, List<string> problems)
    {
        var underlyings = portfolio.Underlyings ?? [];
        var columns = new int[underlyings.Length];
        for (int g = 0; g < underlyings.Length; g++)
        {
            columns[g] = underlyings[g].Name is { } name ? history.ColumnOf(name) : -1;
            if (columns[g] < 0 && underlyings[g].Name is not null)
            {
                problems.Add($"{history.Source}: no column for underlying '{underlyings[g].Name}' of {source} (the header names {string.Join(", ", history.Underlyings)})");
            }
        }

        return columns;
    }

    /// <summary>
    /// The scan range each underlying would have had at each observation date under the file's
    /// dynamic range: a book holding the file's underlyings and no account is fed the closes at each
    /// date's midnight UTC, exactly as the engine's index ticks would feed it.
    /// </summary>
    private static double[][] TrackRanges(PortfolioFile f, string source, PriceHistory history, int[] columns, int observations)
    {
        var errors = new List<string>();
        var plan = PortfolioMargin.Validate(f, errors)!;
        int n = f.Underlyings!.Length;
        var tracker = new RiskBook(plan.Parameters with { MaxAccounts = 1, MaxUnderlyings = n, MaxInstruments = 1, MaxPositionsPerAccount = 1, MaxAssets = 1, IndexBand = 1e9 });
        for (int g = 0; g < n; g++)
        {
            tracker.DefineUnderlying(g, f.Underlyings[g].Carry);
            var calibration = plan.Calibrations.FirstOrDefault(c => c.Underlying == g, new UnderlyingCalibration(g, plan.Parameters.Grid.Calibration));
            _ = tracker.SetScenarioCalibration(g, calibration.Parameters);
        }

        var ranges = new double[n][];
        for (int g = 0; g < n; g++)
        {
            ranges[g] = new double[observations];
        }

        for (int t = 0; t < observations; t++)
        {
            long nanos = (history.Dates[t].ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).Ticks - DateTime.UnixEpoch.Ticks) * 100;
            for (int g = 0; g < n; g++)
            {
                var result = Confirmed(tracker, g, history.Closes[columns[g]][t], nanos);
                if (result != MarkResult.Accepted)
                {
                    throw new ConfigException(source, [$"{history.Source}: the close of {f.Underlyings[g].Name} on {history.Dates[t]:yyyy-MM-dd} was refused by the range tracker ({result})"], "backtest");
                }

                ranges[g][t] = tracker.ScenarioCalibration(g).PriceScanRange;
            }
        }

        return ranges;
    }

    private static AccountBacktest Account(PortfolioFile f, int a, AccountResult result, RiskBook book, IReadOnlyDictionary<int, int> local, PriceHistory history,
        int[] columns, int horizon, double confidence, int observations, double[][]? ranges, int first, FhsMargin? fhs)
    {
        var entry = f.Accounts![a];
        bool holds = (entry.Positions?.Length ?? 0) > 0;
        var days = new BacktestDay[holds ? observations : 0];
        if (!holds)
        {
            return new AccountBacktest(result.Account, 0, 0, 1, 0, 1, 0, result.InitialMargin, result.InitialMargin, days);
        }

        var files = local.OrderBy(kv => kv.Value).Select(kv => kv.Key).ToArray(); // book underlying → file underlying
        var start = files.Select(g => f.Underlyings![g].Index!.Value).ToArray();
        long now = book.NowNanos;
        double equity = book.Equity(0), margin = book.InitialMargin(0);
        int scenarios = fhs is null ? 0 : fhs.Window - horizon + 1;
        var losses = new double[scenarios];
        var scratch = new double[scenarios];
        var moves = new double[files.Length][];
        for (int o = 0; o < observations; o++)
        {
            int t = first + o;
            if (fhs is not null)
            {
                // The margin held on date t: the ES of the window's filtered moves, each a full revaluation
                // (the index is set absolutely per scenario, so no restore is needed between them). The
                // moves are recomputed per account (O(window), small beside the revaluations) rather than
                // kept for every date and underlying, which for long histories would not fit in memory.
                for (int l = 0; l < files.Length; l++)
                {
                    moves[l] = FilteredHistoricalSimulation.FilteredReturns(new ArraySegment<double>((double[])history.Closes[columns[files[l]]], o, fhs.Window + 1), horizon, fhs.Lambda);
                }

                for (int s = 0; s < scenarios; s++)
                {
                    for (int l = 0; l < files.Length; l++)
                    {
                        Move(book, l, start[l] * Math.Exp(moves[l][s]), now);
                    }

                    book.Revalue();
                    losses[s] = equity - book.Equity(0);
                }

                margin = RiskMeasures.ExpectedShortfall(losses, fhs!.Confidence, scratch);
            }
            else if (ranges is not null)
            {
                bool changed = false;
                for (int l = 0; l < files.Length; l++)
                {
                    var calibration = book.ScenarioCalibration(l);
                    double range = ranges[files[l]][o];
                    if (calibration.PriceScanRange != range)
                    {
                        _ = book.SetScenarioCalibration(l, calibration with { PriceScanRange = range });
                        changed = true;
                    }
                }

                if (changed)
                {
                    book.Revalue();
                    margin = book.InitialMargin(0);
                }
            }

            for (int l = 0; l < files.Length; l++)
            {
                var column = history.Closes[columns[files[l]]];
                Move(book, l, start[l] * (column[t + horizon] / column[t]), now);
            }

            book.Revalue();
            double loss = equity - book.Equity(0);
            for (int l = 0; l < files.Length; l++)
            {
                Move(book, l, start[l], now);
            }

            book.Revalue();
            days[o] = new BacktestDay(history.Dates[t], margin, loss, loss > margin);
        }

        return Summarize(result.Account, days, confidence, result.InitialMargin);
    }

    /// <summary>
    /// An index update whose jump, if the book holds it for confirmation (a relative move beyond any
    /// band — e.g. back from a price near zero), is confirmed at once by the same price again: in a
    /// backtest the move is the history's, not a bad tick.
    /// </summary>
    private static MarkResult Confirmed(RiskBook book, int underlying, double index, long now)
    {
        var result = book.UpdateIndex(underlying, index, now);
        return result == MarkResult.Held ? book.UpdateIndex(underlying, index, now) : result;
    }

    internal static void Move(RiskBook book, int underlying, double index, long now)
    {
        var result = Confirmed(book, underlying, index, now);
        if (result != MarkResult.Accepted)
        {
            throw new ConfigException("backtest", [string.Create(CultureInfo.InvariantCulture,
                $"a history move takes underlying {underlying}'s index to {index}, which the book refuses ({result}): an index must be finite and in (0, margin.maxPrice]; check the closes for a unit change or a bad value")], "backtest");
        }
    }
}

/// <summary>The FHS margin a backtest holds instead of the grid's: expected shortfall at <paramref name="Confidence"/> over the <paramref name="Window"/> dates before each observation, filtered with an EWMA of decay <paramref name="Lambda"/>.</summary>
public sealed record FhsMargin(int Window = 250, double Confidence = 0.975, double Lambda = 0.94);

/// <summary>One observation: the margin held at the date and the loss over the horizon that followed (a value: ten million of them for a venue's backtest).</summary>
public readonly record struct BacktestDay(DateOnly Date, double Margin, double Loss, bool Exceeded);

/// <summary>One account's backtest. An account without positions has no observation.</summary>
public sealed record AccountBacktest(string Account, int Observations, int Exceedances, double Coverage, double KupiecLikelihoodRatio, double KupiecPValue,
    double WorstLoss, double LowestMargin, double HighestMargin, BacktestDay[] Days)
{
    /// <summary>The observations whose loss exceeded the margin (what the JSON always lists; <see cref="Days"/> only on request).</summary>
    public BacktestDay[] ExceededDays => [.. Days.Where(d => d.Exceeded)];
}

/// <summary>The backtest of a portfolio over a history.</summary>
public sealed record BacktestResult(string History, bool Synthetic, DateOnly From, DateOnly To, int HorizonDays, double Confidence, bool DynamicRange,
    AccountBacktest[] Accounts, long Observations, long Exceedances, double Coverage, double KupiecLikelihoodRatio, double KupiecPValue)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>True when every account was revalued in one book (the fast path), false with the per-account books.</summary>
    internal bool OneBook { get; init; }

    /// <summary>The FHS margin held instead of the grid's; null for the grid.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FhsMargin? Fhs { get; init; }

    /// <summary>The expected exceedances at the confidence: (1 − confidence) × observations.</summary>
    public double ExpectedExceedances => (1 - Confidence) * Observations;

    /// <summary>The report as a table.</summary>
    public string ToTable()
    {
        var b = new StringBuilder();
        b.Append(Inv, $"history: {History}{(Synthetic ? " [SYNTHETIC]" : "")}\n");
        string held = Fhs is { } f
            ? string.Create(Inv, $"FHS expected shortfall {f.Confidence:P1} over the {f.Window} dates before each (EWMA lambda {f.Lambda})")
            : $"initial at today's market, scan range {(DynamicRange ? "from the EWMA on each date (margin.dynamicRange)" : "as in the file")}";
        b.Append(Inv, $"moves: {HorizonDays}-day, {From:yyyy-MM-dd} .. {To:yyyy-MM-dd}; margin: {held}\n");
        b.Append(Inv, $"{"account",-20} {"obs",6} {"exceed",7} {"coverage",9} {"kupiec LR",10} {"p-value",8} {"margin min",14} {"margin max",14} {"worst loss",14}\n");
        foreach (var a in Accounts)
        {
            if (a.Observations == 0)
            {
                b.Append(Inv, $"{a.Account,-20} {"-",6} (no position)\n");
                continue;
            }

            b.Append(Inv, $"{a.Account,-20} {a.Observations,6} {a.Exceedances,7} {a.Coverage,9:P2} {a.KupiecLikelihoodRatio,10:F3} {a.KupiecPValue,8:F4} {a.LowestMargin,14:N2} {a.HighestMargin,14:N2} {a.WorstLoss,14:N2}\n");
        }

        b.Append(Inv, $"{"all accounts",-20} {Observations,6} {Exceedances,7} {Coverage,9:P2} {KupiecLikelihoodRatio,10:F3} {KupiecPValue,8:F4}\n");
        b.Append(Inv, $"expected at {Confidence:P1}: {ExpectedExceedances:F1} exceedances; coverage {Coverage:P3} {(Coverage >= Confidence ? "meets" : "is below")} the target; Kupiec {(KupiecPValue < 0.05 ? "rejects" : "does not reject")} the exceedance rate at 5 %\n");
        return b.ToString();
    }

    /// <summary>
    /// The report as JSON (dates yyyy-MM-dd; every number finite): per account its figures and its
    /// exceeded days; with <paramref name="allDays"/> every observation too (10,000 accounts over
    /// 1,000 days are ten million of them: asked for, not the default).
    /// </summary>
    public string ToJson(bool allDays = false) => JsonSerializer.Serialize(this, allDays ? WithDays : WithoutDays);

    private static readonly JsonSerializerOptions WithDays = Options(allDays: true);
    private static readonly JsonSerializerOptions WithoutDays = Options(allDays: false);

    private static JsonSerializerOptions Options(bool allDays) => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver
        {
            Modifiers =
            {
                info =>
                {
                    if (info.Type == typeof(AccountBacktest))
                    {
                        foreach (var property in info.Properties.Where(p => p.Name == "days"))
                        {
                            property.ShouldSerialize = (_, _) => allDays;
                        }
                    }
                },
            },
        },
    };
}
