using System.Globalization;
using System.Text;
using System.Text.Json;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Engine.Configuration;

namespace LowLatencyRisk.Engine.Margin;

/// <summary>
/// <c>llr margin PORTFOLIO.json</c>: positions, market and parameters in; per account initial and
/// maintenance margin, equity, per-scenario loss and Greeks out. The numbers come from a
/// <see cref="RiskBook"/> built from the file — the engine's own code path — not from a second
/// implementation.
/// </summary>
public static partial class PortfolioMargin
{
    /// <summary>Most underlyings a file may define (the book's limit).</summary>
    public const int MaxUnderlyings = 1024;

    /// <summary>Most collateral assets a file may define (the book's limit).</summary>
    public const int MaxAssets = 256;

    /// <summary>Most position entries in one account (the book's limit).</summary>
    public const int MaxPositionsPerAccount = 4096;

    /// <summary>Most instruments a file may define.</summary>
    public const int MaxInstruments = 1 << 20;

    /// <summary>Most accounts a file may hold.</summary>
    public const int MaxAccounts = 1 << 20;

    /// <summary>The latest time a nanosecond timestamp can hold, less a margin: 2262-04-11 overflows.</summary>
    private static readonly DateTimeOffset LatestTime = new(2262, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Parses, validates and computes; throws <see cref="ConfigException"/> naming each problem by its JSON path.</summary>
    /// <remarks>
    /// Each account is margined in a book of its own holding only the underlyings, instruments and
    /// assets it uses (accounts do not offset each other), so memory follows what the file holds,
    /// not the product of its account and underlying counts. A batch has no history: the state is
    /// the ladder's verdict on the final numbers (no hysteresis), whatever the order of the entries.
    /// </remarks>
    /// <param name="json">The portfolio file's text.</param>
    /// <param name="source">What to call it in problems.</param>
    /// <param name="books">Where the accounts' scratch books come from (null: built for each account).</param>
    public static PortfolioResult Compute(string json, string source = "portfolio", IScratchBooks? books = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        return ComputeParsed(Parse(json, source, "portfolio"), source, books);
    }

    /// <summary>As <see cref="Compute(string, string, IScratchBooks?)"/>, for a file already parsed (<see cref="ParsePortfolio"/>).</summary>
    public static PortfolioResult ComputeParsed(PortfolioFile file, string source, IScratchBooks? books)
    {
        ArgumentNullException.ThrowIfNull(file);
        var errors = new List<string>();
        var plan = Validate(file, errors);
        if (errors.Count > 0 || plan is null)
        {
            throw new ConfigException(source, errors, "portfolio");
        }

        var grid = plan.Parameters.Grid!;
        // The pool key's parameter part, serialized once and only when an account is large enough to pool.
        var parameters = new Lazy<string>(() => JsonSerializer.Serialize(new { file.ScenarioGrid, file.Margin }, LlrConfig.JsonOptions), LazyThreadSafetyMode.None);
        var accounts = new AccountResult[file.Accounts!.Length];
        for (int a = 0; a < accounts.Length; a++)
        {
            accounts[a] = MarginAccount(file, plan, a, errors, books, parameters)!;
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(source, errors, "portfolio");
        }

        // An absolute grid's shift in vol points; a relative grid's as the 30-day relative shock (+0.5 = σ × 1.5).
        bool relative = grid.VolShock == VolShockRule.Relative;
        var scenarios = grid.Scenarios.Select((s, j) => new ScenarioResult(s.PriceMove * grid.PriceScanRange, relative ? grid.VolShiftOf(s) : s.VolShift * grid.VolScanRange, s.Weight)
        {
            Kind = s.Kind,
            RelativeVol = relative,
            HistoricalMoves = grid.HistoricalMoves is { } moves ? [.. moves.Select(m => m[j])] : null,
        }).ToArray();
        return new PortfolioResult(grid.Name, scenarios, accounts);
    }

    /// <summary>A portfolio file's text parsed (shape checked, every problem by its JSON path); throws <see cref="ConfigException"/>.</summary>
    public static PortfolioFile ParsePortfolio(string json, string source = "portfolio")
    {
        ArgumentNullException.ThrowIfNull(json);
        return Parse(json, source, "portfolio");
    }

    /// <summary>The file's text as a <see cref="PortfolioFile"/>: its shape checked first (every unknown field, wrong type and duplicate key at once), then deserialized; throws <see cref="ConfigException"/>.</summary>
    internal static PortfolioFile Parse(string json, string source, string what)
    {
        var shape = JsonShape.Check<PortfolioFile>(json);
        if (shape.Count > 0)
        {
            throw new ConfigException(source, shape, what);
        }

        PortfolioFile? file;
        try
        {
            file = JsonSerializer.Deserialize<PortfolioFile>(json, LlrConfig.JsonOptions);
        }
        catch (JsonException e)
        {
            throw new ConfigException(source, [LlrConfig.Describe(e)], what);
        }

        return file ?? throw new ConfigException(source, ["$: the file holds null, not an object"], what);
    }

    /// <summary>The largest portfolio or book file read (a venue's whole book fits in a few megabytes).</summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>
    /// Reads a portfolio or book file as strict UTF-8; returns null, or why not: a folder, a file too
    /// large or bytes that are not UTF-8 are refused (decoding them leniently would turn two
    /// different names into the same one).
    /// </summary>
    public static string? ReadFile(string path, out string json)
    {
        json = "";
        if (Directory.Exists(path))
        {
            return "is a folder, not a portfolio file";
        }

        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileBytes)
            {
                return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"is {info.Length:N0} bytes; the limit is {MaxFileBytes:N0}");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot read the file: {e.Message}";
        }

        int start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        try
        {
            json = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes, start, bytes.Length - start);
        }
        catch (System.Text.DecoderFallbackException e)
        {
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"not valid UTF-8 (byte {start + e.Index + 1} and on); names must be exact");
        }

        return null;
    }

    internal sealed record Plan(RiskConfig Parameters, long Now, Dictionary<string, int> Underlyings, Dictionary<string, int> Instruments, Dictionary<string, int> Assets,
        Dictionary<string, int> Accounts, long[] Expiries)
    {
        /// <summary>The file's calibrations by the file's underlying index (applied per account book to its own ids).</summary>
        public IReadOnlyList<UnderlyingCalibration> Calibrations { get; init; } = [];
    }

    /// <summary>Everything that can be checked before any account is margined, each problem once.</summary>
    /// <remarks>
    /// With <paramref name="engine"/> (a book file for <c>llr engine</c>) the grid and the margin
    /// parameters are the engine's configuration, and a file that sets them is refused.
    /// </remarks>
    internal static Plan? Validate(PortfolioFile f, List<string> errors, LlrConfig? engine = null)
    {
        if (engine is not null && (f.ScenarioGrid is not null || f.Margin is not null))
        {
            // Said first, and the rest is still checked: every problem of the file at once.
            errors.Add($"{(f.ScenarioGrid is not null ? "scenarioGrid" : "margin")}: a book file takes the grid and margin parameters from the engine's configuration; remove this section");
        }

        int sectionErrors = errors.Count;
        var parameters = engine ?? new LlrConfig { ScenarioGrid = f.ScenarioGrid ?? new(), Margin = f.Margin ?? new() };
        errors.AddRange(parameters.Validate().Where(e => e.StartsWith("scenarioGrid", StringComparison.Ordinal) || e.StartsWith("margin", StringComparison.Ordinal)));
        long now = Time(f.ValuationTime, "valuationTime", errors, required: true);
        Count(f.Underlyings?.Length, "underlyings", MaxUnderlyings, errors);
        Count(f.Instruments?.Length, "instruments", MaxInstruments, errors);
        Count(f.Assets.Length, "assets", MaxAssets, errors);
        Count(f.Accounts?.Length, "accounts", MaxAccounts, errors);
        if (errors.Count > sectionErrors)
        {
            return null;
        }

        var m = parameters.Margin;
        var underlyings = Index(f.Underlyings!.Select(u => u.Name).ToArray(), "underlyings", errors);
        var instruments = Index(f.Instruments!.Select(i => i.Name).ToArray(), "instruments", errors);
        var assets = Index(f.Assets.Select(a => a.Name).ToArray(), "assets", errors);
        var accountIds = Index(f.Accounts!.Select(a => a.Name).ToArray(), "accounts", errors);
        for (int u = 0; u < f.Underlyings!.Length; u++)
        {
            var x = f.Underlyings[u];
            if (x.Index is not { } index || !(index > 0) || !(index <= m.MaxPrice))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"underlyings[{u}].index: {(x.Index is null ? "is required" : $"{x.Index} is not a price in (0, margin.maxPrice = {m.MaxPrice}]")}"));
            }

            if (!(Math.Abs(x.Carry) < 1))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"underlyings[{u}].carry: {x.Carry} is not a cost-of-carry rate in (-1, 1) per year"));
            }
        }

        var expiries = new long[f.Instruments!.Length];
        for (int i = 0; i < f.Instruments.Length; i++)
        {
            var x = f.Instruments[i];
            string at = $"instruments[{i}]";
            if (x.Underlying is null || !underlyings.ContainsKey(x.Underlying))
            {
                errors.Add($"{at}.underlying: {(x.Underlying is null ? "is required" : $"unknown underlying '{x.Underlying}'")}");
            }

            if (x.Kind is not { } kind)
            {
                errors.Add($"{at}.kind: is required (spot, future, perpetual, call or put)");
                continue;
            }

            bool option = kind is InstrumentKind.Call or InstrumentKind.Put;
            expiries[i] = Time(x.Expiry, $"{at}.expiry", errors, required: option || kind == InstrumentKind.Future);
            if (!option && kind != InstrumentKind.Future && x.Expiry is not null)
            {
                errors.Add($"{at}.expiry: a {JsonNamingPolicy.CamelCase.ConvertName(kind.ToString())} has no expiry");
            }

            if (option)
            {
                if (x.Strike is not { } strike || !(strike > 0) || !(strike <= m.MaxPrice))
                {
                    errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.strike: {(x.Strike is null ? "an option needs one" : $"{x.Strike} is not in (0, margin.maxPrice = {m.MaxPrice}]")}"));
                }

                if (x.Volatility is not { } vol || !(vol > 0) || vol > 10)
                {
                    errors.Add($"{at}.volatility: an option needs an implied volatility in (0, 10]");
                }
            }
            else
            {
                if (x.Strike is not null)
                {
                    errors.Add($"{at}.strike: only options have one");
                }

                if (x.Volatility is not null)
                {
                    errors.Add($"{at}.volatility: only options have one");
                }
            }

            if (x.FundingRate is { } rate && (kind != InstrumentKind.Perpetual || !(Math.Abs(rate) <= RiskBook.MaxFundingRate)))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{at}.fundingRate: {(kind != InstrumentKind.Perpetual ? "only perpetuals pay funding" : $"{rate} is not a rate per interval within ±{RiskBook.MaxFundingRate}")}"));
            }

            if (!(x.Multiplier > 0) || !(x.Multiplier <= m.MaxMultiplier) || !(x.TickSize > 0) || !double.IsFinite(x.TickSize) || !(x.LotSize > 0) || !double.IsFinite(x.LotSize))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}: multiplier must be in (0, margin.maxMultiplier = {m.MaxMultiplier}], tick and lot size positive and finite"));
            }

            if (x.Settlement > Settlement.Inverse || (x.Settlement == Settlement.Inverse && kind is not (InstrumentKind.Future or InstrumentKind.Perpetual)))
            {
                errors.Add($"{at}.settlement: linear or inverse, and inverse only for futures and perpetuals (its multiplier is then the face value per contract)");
            }
        }

        for (int k = 0; k < f.Assets.Length; k++)
        {
            var x = f.Assets[k];
            string at = $"assets[{k}]";
            if ((x.Price is null) == (x.Underlying is null))
            {
                errors.Add($"{at}: give exactly one of price (a fixed price) and underlying (priced at its index){(x.Price is null ? "" : "; both were given")}");
            }
            else if (x.Underlying is not null && !underlyings.ContainsKey(x.Underlying))
            {
                errors.Add($"{at}.underlying: unknown underlying '{x.Underlying}'");
            }
            else if (x.InScenarios == true && x.Underlying is null)
            {
                errors.Add($"{at}.inScenarios: only an asset priced by an underlying's index moves in its scenarios");
            }
            else if (x.Price is { } price && (!(price > 0) || !(price <= m.MaxPrice)))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.price: {price} is not in (0, margin.maxPrice = {m.MaxPrice}]"));
            }

            double last = 0;
            for (int t = 0; t < x.Haircuts.Length; t++)
            {
                var tier = x.Haircuts[t];
                if (!(tier.UpTo > last) || !(tier.Haircut is >= 0 and <= 1))
                {
                    errors.Add($"{at}.haircuts[{t}]: limits must increase and haircuts be in [0, 1]");
                    break;
                }

                last = tier.UpTo;
            }
        }

        for (int a = 0; a < f.Accounts!.Length; a++)
        {
            var acct = f.Accounts[a];
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int c = 0; c < (acct.Collateral?.Length ?? 0); c++)
            {
                var x = acct.Collateral![c];
                string at = $"accounts[{a}].collateral[{c}]";
                if (x.Asset is null || !assets.ContainsKey(x.Asset))
                {
                    errors.Add($"{at}.asset: {(x.Asset is null ? "is required" : $"unknown asset '{x.Asset}'")}");
                }
                else if (!seen.Add(x.Asset))
                {
                    errors.Add($"{at}.asset: '{x.Asset}' is listed twice in this account (give one balance)");
                }

                if (x.Balance is not { } balance || !double.IsFinite(balance))
                {
                    errors.Add($"{at}.balance: {(x.Balance is null ? "is required" : "must be finite")}");
                }
            }

            int positions = acct.Positions?.Length ?? 0;
            var held = (acct.Positions ?? []).Select(x => x.Instrument).Concat(acct.Instrument is null ? [] : [acct.Instrument]).Distinct().Count();
            if (acct.Mode == MarginMode.Isolated && held != 1)
            {
                errors.Add($"accounts[{a}].mode: an isolated account is bound to exactly one instrument: its positions' (or, flat, the one named by \"instrument\"); give each isolated position an account of its own");
            }

            if (acct.Mode != MarginMode.Isolated && (acct.Parent is not null || acct.Instrument is not null))
            {
                errors.Add($"accounts[{a}]: parent and instrument belong to isolated accounts only");
            }
            else if (acct.Instrument is not null && !instruments.ContainsKey(acct.Instrument))
            {
                errors.Add($"accounts[{a}].instrument: unknown instrument '{acct.Instrument}'");
            }

            if (acct.Parent is not null && (!accountIds.TryGetValue(acct.Parent, out int parent) || parent == a || f.Accounts[parent].Mode == MarginMode.Isolated))
            {
                errors.Add($"accounts[{a}].parent: '{acct.Parent}' is not another account of the file that is not itself isolated");
            }
            else if (engine is not null && acct.Mode == MarginMode.Isolated && acct.Parent is null)
            {
                errors.Add($"accounts[{a}].parent: an isolated account in the engine's book names its parent (collateral moves between the two)");
            }

            if (engine is not null && acct.Orders is { Length: > 0 })
            {
                errors.Add($"accounts[{a}].orders: the engine's working orders are the ones its gate accepts; a book file holds none");
            }
            else if ((acct.Orders?.Length ?? 0) > MaxPositionsPerAccount)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"accounts[{a}].orders: {acct.Orders!.Length:N0} entries; at most {MaxPositionsPerAccount:N0} per account"));
            }

            if (positions > MaxPositionsPerAccount)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"accounts[{a}].positions: {positions:N0} entries; at most {MaxPositionsPerAccount:N0} per account"));
                continue;
            }

            for (int o = 0; o < (acct.Orders?.Length ?? 0); o++)
            {
                var x = acct.Orders![o];
                string at = $"accounts[{a}].orders[{o}]";
                if (x is null)
                {
                    errors.Add($"{at}: is null");
                    continue;
                }

                if (x.Instrument is null || !instruments.ContainsKey(x.Instrument))
                {
                    errors.Add($"{at}.instrument: {(x.Instrument is null ? "is required" : $"unknown instrument '{x.Instrument}'")}");
                }

                if (x.Side is null)
                {
                    errors.Add($"{at}.side: is required (buy or sell)");
                }

                if (x.Quantity is not { } q || !(q > 0) || !(q <= m.MaxQuantity))
                {
                    errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.quantity: {(x.Quantity is null ? "is required" : $"{x.Quantity} is not in (0, margin.maxQuantity = {m.MaxQuantity}]")}"));
                }
            }

            for (int p = 0; p < positions; p++)
            {
                var x = acct.Positions![p];
                string at = $"accounts[{a}].positions[{p}]";
                if (x.Instrument is null || !instruments.ContainsKey(x.Instrument))
                {
                    errors.Add($"{at}.instrument: {(x.Instrument is null ? "is required" : $"unknown instrument '{x.Instrument}'")}");
                }

                if (x.Side is null)
                {
                    errors.Add($"{at}.side: is required (buy or sell)");
                }

                if (x.Quantity is not { } q || !(q > 0) || !(q <= m.MaxQuantity))
                {
                    errors.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{at}.quantity: {(x.Quantity is null ? "is required" : $"{x.Quantity} is not in (0, margin.maxQuantity = {m.MaxQuantity}] (a short position is side \"sell\")")}"));
                }

                if (x.Price is not { } price || !(price > 0) || !(price <= m.MaxPrice))
                {
                    errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}.price: {(x.Price is null ? "is required" : $"{x.Price} is not a price in (0, margin.maxPrice = {m.MaxPrice}]")}"));
                }
            }
        }

        if (errors.Count > 0)
        {
            return null;
        }

        // The components name the file's underlyings; each account's book re-maps them to its own (MarginAccount).
        var components = parameters.Margin.Components.Resolve([.. f.Underlyings!.Select(u => u.Name!)], errors, "margin.components");
        parameters.ResolveCalibrations([.. f.Underlyings!.Select(u => u.Name!)], errors);
        if (errors.Count > 0)
        {
            return null;
        }

        // Per-account books: one underlying per used underlying, no hysteresis (a batch has no path).
        var config = parameters.Apply(new RiskConfig { IndexBand = 10, MaxAccounts = 1, MaxUnderlyings = f.Underlyings!.Length }, [.. f.Underlyings!.Select(u => u.Name!)]) with { Hysteresis = 0, Components = components };
        // Calibrations name the file's underlyings; each account's book applies them to its own ids (MarginAccount).
        var calibrations = config.ScenarioCalibrations;
        config = config with { ScenarioCalibrations = [] };
        return new Plan(config, now, underlyings, instruments, assets, accountIds, expiries) { Calibrations = calibrations };
    }

    /// <summary>
    /// Validates the file, builds each account's book exactly as <see cref="ComputeParsed"/> does and
    /// hands it, still holding the account, to <paramref name="visit"/> with the account's result and
    /// the map from the file's underlying index to the book's (the backtest re-prices these books).
    /// <paramref name="adjust"/> may change the books' parameters (the backtest switches the dynamic
    /// range off in them and drives the range itself). Throws <see cref="ConfigException"/>.
    /// </summary>
    internal static void VisitAccountBooks(PortfolioFile file, string source, Func<RiskConfig, RiskConfig>? adjust,
        Action<int, AccountResult, RiskBook, IReadOnlyDictionary<int, int>> visit)
    {
        var errors = new List<string>();
        var plan = Validate(file, errors);
        if (errors.Count > 0 || plan is null)
        {
            throw new ConfigException(source, errors, "portfolio");
        }

        var used = adjust is null ? plan : plan with { Parameters = adjust(plan.Parameters) };
        var parameters = new Lazy<string>(() => "", LazyThreadSafetyMode.None);
        for (int a = 0; a < file.Accounts!.Length; a++)
        {
            int account = a;
            var result = MarginAccount(file, used, a, errors, books: null, parameters, (book, local, r) => visit(account, r, book, local));
            if (result is null || errors.Count > 0)
            {
                throw new ConfigException(source, errors, "portfolio");
            }
        }
    }

    private static AccountResult? MarginAccount(PortfolioFile f, Plan plan, int a, List<string> errors, IScratchBooks? books, Lazy<string> parameters,
        Action<RiskBook, Dictionary<int, int>, AccountResult>? keep = null)
    {
        var acct = f.Accounts![a];
        string name = acct.Name!;
        var positions = acct.Positions ?? [];
        var collateral = acct.Collateral ?? [];

        // What this account uses, in file order, mapped to dense local ids.
        var orders = acct.Orders ?? [];
        var usedInstruments = positions.Select(p => plan.Instruments[p.Instrument!]).Concat(acct.Instrument is null ? [] : [plan.Instruments[acct.Instrument]])
            .Concat(orders.Select(o => plan.Instruments[o.Instrument!])).Distinct().Order().ToArray();
        var usedAssets = collateral.Select(c => plan.Assets[c.Asset!]).Order().ToArray();
        var usedUnderlyings = usedInstruments.Select(i => plan.Underlyings[f.Instruments![i].Underlying!])
            .Concat(usedAssets.Where(k => f.Assets[k].Underlying is not null).Select(k => plan.Underlyings[f.Assets[k].Underlying!]))
            .Distinct().Order().ToArray();
        var localUnderlying = usedUnderlyings.Select((g, l) => (g, l)).ToDictionary(x => x.g, x => x.l);
        var localInstrument = usedInstruments.Select((g, l) => (g, l)).ToDictionary(x => x.g, x => x.l);
        var localAsset = usedAssets.Select((g, l) => (g, l)).ToDictionary(x => x.g, x => x.l);

        // An isolated account is margined as the engine margins one: bound to its instrument under a
        // parent (an empty second account here, as a batch has no other account to draw on).
        MarginMode mode = acct.Mode ?? plan.Parameters.DefaultMarginMode;
        int accounts = mode == MarginMode.Isolated ? 2 : 1;
        RiskBook Build(int u, int i, int x) => new(plan.Parameters with
        {
            Grid = plan.Parameters.Grid.ForUnderlyings(usedUnderlyings, u), // a historical grid's moves by the book's own underlyings
            Components = Local(plan.Parameters.Components, localUnderlying),
            MaxAccounts = accounts,
            MaxUnderlyings = u,
            MaxInstruments = i,
            MaxPositionsPerAccount = i,
            MaxAssets = x,
        });

        RiskBook book;
        string? key = null;
        if (books is null || usedInstruments.Length < PooledFromInstruments)
        {
            book = Build(Math.Max(1, usedUnderlyings.Length), Math.Max(1, usedInstruments.Length), Math.Max(1, usedAssets.Length));
        }
        else
        {
            // A reusable book: capacities rounded up to a power of two (empty slots change no number:
            // the service's tests compare it with the exact-size book), keyed by everything it was
            // built from, so a book only serves a request it would have been built for. The components
            // name underlyings, so the key names the book's underlyings in its order (their places in
            // the file would let two files that list them differently share a book built for the other).
            var components = plan.Parameters.Components.IsEmpty && plan.Parameters.Grid.HistoricalMoves is null ? "" : string.Join('\u001f', usedUnderlyings.Select(g => f.Underlyings![g].Name));
            int u = Bucket(usedUnderlyings.Length), i = Bucket(usedInstruments.Length), x = Bucket(usedAssets.Length);
            key = string.Create(CultureInfo.InvariantCulture, $"{parameters.Value}|{u}|{i}|{x}|{accounts}|{components}");
            book = books.Rent(key, () => Build(u, i, x));
        }

        try
        {
            var result = MarginAccount(f, plan, a, errors, book, mode, usedUnderlyings, usedInstruments, usedAssets, localUnderlying, localInstrument, localAsset);
            if (result is not null && keep is not null)
            {
                keep(book, localUnderlying, result);
            }

            return result;
        }
        finally
        {
            if (key is not null)
            {
                books!.Return(key, book);
            }
        }
    }

    /// <summary>
    /// Accounts using fewer instruments than this get a new book even when books are pooled: building a
    /// small book is cheaper than resetting a pooled one (BenchmarkDotNet, perf/results/2026-11-30-operators-views:
    /// accounts of 1–3 positions margined 1.27–1.38× slower from the pool; of 20 and 204 positions
    /// 0.86–0.87× the time and 0.14–0.20× the allocation).
    /// </summary>
    public const int PooledFromInstruments = 16;

    private static int Bucket(int used) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, used));

    private static AccountResult? MarginAccount(PortfolioFile f, Plan plan, int a, List<string> errors, RiskBook book, MarginMode mode,
        int[] usedUnderlyings, int[] usedInstruments, int[] usedAssets, Dictionary<int, int> localUnderlying, Dictionary<int, int> localInstrument, Dictionary<int, int> localAsset)
    {
        var acct = f.Accounts![a];
        string name = acct.Name!;
        var positions = acct.Positions ?? [];
        var collateral = acct.Collateral ?? [];
        var orders = acct.Orders ?? [];
        string at = $"accounts[{a}] ('{name}')";
        foreach (int g in usedUnderlyings)
        {
            var x = f.Underlyings![g];
            book.DefineUnderlying(localUnderlying[g], x.Carry);
            // Every underlying of a (possibly pooled) book gets its calibration: the file's, or the grid's own.
            var calibration = plan.Calibrations.FirstOrDefault(c => c.Underlying == g, new UnderlyingCalibration(g, plan.Parameters.Grid.Calibration));
            if (book.SetScenarioCalibration(localUnderlying[g], calibration.Parameters) is { } refused)
            {
                errors.Add($"scenarioGrid.calibrations: {refused}");
                return null;
            }

            var mark = book.UpdateIndex(localUnderlying[g], x.Index!.Value, plan.Now);
            if (mark != MarkResult.Accepted)
            {
                errors.Add($"underlyings[{g}].index: refused by the book ({mark})");
                return null;
            }
        }

        foreach (int g in usedInstruments)
        {
            var x = f.Instruments![g];
            var spec = new InstrumentSpec(x.Kind!.Value, localUnderlying[plan.Underlyings[x.Underlying!]], x.Strike ?? 0, plan.Expiries[g], x.Multiplier, x.TickSize, x.LotSize) { Settlement = x.Settlement };
            var result = book.TryDefineInstrument(localInstrument[g], spec);
            if (result != DefinitionResult.Defined)
            {
                errors.Add($"instruments[{g}]: {book.Describe(result)}");
                return null;
            }

            if (x.Volatility is { } vol)
            {
                book.SetInitialVolatility(localInstrument[g], vol);
            }

            if (x.FundingRate is { } rate)
            {
                book.SetFundingRate(localInstrument[g], rate);
            }
        }

        foreach (int g in usedAssets)
        {
            var x = f.Assets[g];
            int linked = x.Underlying is null ? -1 : localUnderlying[plan.Underlyings[x.Underlying]];
            book.DefineAsset(localAsset[g], linked, x.Price ?? 0, x.Haircuts.Select(t => new HaircutTier(t.UpTo, t.Haircut)).ToArray(), x.InScenarios ?? book.Config.CollateralInScenarios);
        }

        book.Revalue(); // marks and Greeks before any position: fills below value against the final market
        var modeResult = book.SetMarginMode(0, mode, parent: mode == MarginMode.Isolated ? 1 : -1, instrument: mode == MarginMode.Isolated ? localInstrument[usedInstruments[0]] : -1);
        if (modeResult is not (ModeChangeResult.Changed or ModeChangeResult.Unchanged))
        {
            errors.Add($"{at}.mode: refused by the book ({modeResult})");
            return null;
        }

        for (int c = 0; c < collateral.Length; c++)
        {
            var x = collateral[c];
            if (!book.SetCollateral(0, localAsset[plan.Assets[x.Asset!]], x.Balance!.Value))
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture,
                    $"accounts[{a}].collateral[{c}].balance: {x.Balance} is beyond margin.maxCollateralUnits ({plan.Parameters.MaxCollateralUnits}) or its value beyond margin.maxCollateralValue ({plan.Parameters.MaxCollateralValue})"));
            }
        }

        for (int p = 0; p < positions.Length; p++)
        {
            var x = positions[p];
            double quantity = x.Side == PositionSide.Sell ? -x.Quantity!.Value : x.Quantity!.Value;
            var r = book.ApplyFill(0, localInstrument[plan.Instruments[x.Instrument!]], quantity, x.Price!.Value);
            if (r != FillResult.Applied)
            {
                errors.Add($"accounts[{a}].positions[{p}]: refused by the book ({r}): the position or its notional is beyond the margin.max* bounds");
            }
        }

        book.Revalue();
        for (int o = 0; o < orders.Length; o++)
        {
            var x = orders[o];
            int instrument = localInstrument[plan.Instruments[x.Instrument!]];
            if (!book.MayHold(0, instrument) || !book.AddWorkingOrder(0, instrument, x.Side == PositionSide.Sell ? -x.Quantity!.Value : x.Quantity!.Value))
            {
                errors.Add($"accounts[{a}].orders[{o}]: refused by the book (an isolated account's orders are in its own instrument)");
            }
        }

        var per = new UnderlyingResult[usedUnderlyings.Length];
        for (int l = 0; l < per.Length; l++)
        {
            var parts = mode == MarginMode.Portfolio ? book.MarginBreakdown(0, l) : default; // per-position modes: their positions carry the requirement
            per[l] = new UnderlyingResult(f.Underlyings![usedUnderlyings[l]].Name!, book.ScanRisk(0, l), book.ShortOptionMinimum(0, l),
                book.NetDelta(0, l), book.NetGamma(0, l), book.NetVega(0, l), book.NetTheta(0, l), book.UnrealizedPnl(0, l), book.RiskArray(0, l).ToArray())
            {
                IntraCommodityCharge = parts.IntraCommodityCharge,
                InterCommodityCredit = parts.InterCommodityCredit,
                SizeAddOn = parts.SizeAddOn,
                Requirement = parts.Requirement,
                ScanParts = book.Config.Grid.IsPlain || book.Config.Grid.Measure == ScanMeasure.ExpectedShortfall ? null : book.ScanRiskParts(0, l),
                CollateralImpact = book.ScenarioCollateralImpact(0, l),
                FundingProvision = book.FundingProvision(0, l),
            };
        }

        double equity = book.Equity(0), initial = book.InitialMargin(0), maintenance = book.MaintenanceMargin(0);
        var state = RiskBook.NextState(MarginState.Healthy, equity, initial, maintenance, hysteresis: 0);
        PositionResult[]? own = null;
        if (mode != MarginMode.Portfolio)
        {
            own = [.. usedInstruments.Where(g => book.PositionQuantity(0, localInstrument[g]) != 0).Select(g =>
            {
                var r = book.RequirementOfPosition(0, localInstrument[g]);
                return new PositionResult(f.Instruments![g].Name!, book.PositionQuantity(0, localInstrument[g]), r.Initial, r.Maintenance);
            })];
        }

        var account = new AccountResult(name, equity, book.CollateralValue(0), initial, maintenance, state.ToString(), equity - initial, per)
        {
            Mode = mode,
            Positions = own,
            OpenOrderMargin = orders.Length == 0 ? null : book.OpenOrderMargin(0),
            FundingProvision = book.Config.FundingProvision ? book.FundingProvision(0) : null,
            HistoricalRisk = book.Config.Grid.Measure == ScanMeasure.ExpectedShortfall && mode == MarginMode.Portfolio ? book.HistoricalRisk(0) : null,
        };
        if (FirstNonFinite(account) is { } field)
        {
            errors.Add($"{at}: {field} is not a finite number; the inputs are within their bounds but too large together to margin");
            return null;
        }

        return account;
    }

    /// <summary>
    /// The file's components for one account's book, whose underlyings are the ones it uses,
    /// renumbered: entries on other underlyings are dropped (an inter-commodity spread with a leg the
    /// account does not hold has no delta there and forms no spread).
    /// </summary>
    private static PortfolioComponentsConfig Local(PortfolioComponentsConfig global, Dictionary<int, int> local)
    {
        if (global.IsEmpty)
        {
            return global;
        }

        return new PortfolioComponentsConfig
        {
            IntraCommodity = [.. global.IntraCommodity.Where(x => local.ContainsKey(x.Underlying)).Select(x => x with { Underlying = local[x.Underlying] })],
            InterCommodity = [.. global.InterCommodity.Where(x => x.Legs.All(l => local.ContainsKey(l.Underlying)))
                .Select(x => x with { Legs = [.. x.Legs.Select(l => l with { Underlying = local[l.Underlying] })] })],
            SizeAddOns = [.. global.SizeAddOns.Where(x => local.ContainsKey(x.Underlying)).Select(x => x with { Underlying = local[x.Underlying] })],
        };
    }

    private static string? FirstNonFinite(AccountResult r)
    {
        if (!double.IsFinite(r.Equity)) { return "equity"; }
        if (!double.IsFinite(r.Collateral)) { return "collateral"; }
        if (!double.IsFinite(r.InitialMargin)) { return "initial margin"; }
        if (!double.IsFinite(r.MaintenanceMargin)) { return "maintenance margin"; }
        if (!double.IsFinite(r.Excess)) { return "excess"; }
        if (r.FundingProvision is { } provision && !double.IsFinite(provision)) { return "funding provision"; }
        if (r.HistoricalRisk is { } tail && !(double.IsFinite(tail.ValueAtRisk) && double.IsFinite(tail.ExpectedShortfall))) { return "historical VaR or ES"; }
        if (r.Positions?.Any(p => !double.IsFinite(p.InitialMargin) || !double.IsFinite(p.MaintenanceMargin)) == true) { return "a position's requirement"; }
        foreach (var u in r.Underlyings)
        {
            if (!double.IsFinite(u.ScanRisk) || !double.IsFinite(u.ShortOptionMinimum) || !double.IsFinite(u.Delta) || !double.IsFinite(u.Gamma)
                || !double.IsFinite(u.Vega) || !double.IsFinite(u.Theta) || !double.IsFinite(u.UnrealizedPnl) || u.ScenarioLoss.Any(v => !double.IsFinite(v))
                || !double.IsFinite(u.IntraCommodityCharge) || !double.IsFinite(u.InterCommodityCredit) || !double.IsFinite(u.SizeAddOn) || !double.IsFinite(u.Requirement)
                || (u.ScanParts is { } sp && !(double.IsFinite(sp.Regular) && double.IsFinite(sp.Extended) && double.IsFinite(sp.Basis))) || !double.IsFinite(u.CollateralImpact) || !double.IsFinite(u.FundingProvision))
            {
                return $"a number of underlying {u.Underlying}";
            }
        }

        return null;
    }

    private static void Count(int? count, string field, int max, List<string> errors)
    {
        if (count is null or 0)
        {
            errors.Add($"{field}: at least one entry is required");
        }
        else if (count > max)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{field}: {count:N0} entries; at most {max:N0}"));
        }
    }

    /// <summary>
    /// An ISO 8601 time with a date, a time and an offset (Z or ±hh:mm): without one the host's time
    /// zone would decide, and a daylight-saving change would move every time to expiry. As
    /// nanoseconds since 1970; 0 (and an error) when missing, malformed or out of 1970..2261.
    /// </summary>
    private static long Time(string? text, string field, List<string> errors, bool required)
    {
        if (text is null)
        {
            if (required)
            {
                errors.Add($"{field}: is required (ISO 8601 with an offset, e.g. 2026-11-22T08:00:00Z)");
            }

            return 0;
        }

        if (!TimeFormat().IsMatch(text) || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t))
        {
            errors.Add($"{field}: '{text}' is not an ISO 8601 time with an offset (e.g. 2026-11-22T08:00:00Z or 2026-11-22T09:00:00+01:00)");
            return 0;
        }

        if (t < DateTimeOffset.UnixEpoch || t >= LatestTime)
        {
            errors.Add($"{field}: {text} is outside 1970-01-01 .. 2261-12-31 (times are nanoseconds since 1970 in 64 bits)");
            return 0;
        }

        return (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$")]
    private static partial System.Text.RegularExpressions.Regex TimeFormat();

    private static Dictionary<string, int> Index(string?[] names, string field, List<string> errors)
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(names[i]))
            {
                errors.Add($"{field}[{i}].name: is required");
            }
            else if (!map.TryAdd(names[i]!, i))
            {
                errors.Add($"{field}[{i}].name: '{names[i]}' is used twice");
            }
        }

        return map;
    }
}

#pragma warning disable CS1591 // the file format is documented in README (llr margin)
public sealed class PortfolioFile
{
    public string? ValuationTime { get; init; }
    public GridSection? ScenarioGrid { get; init; }
    public MarginSection? Margin { get; init; }
    public UnderlyingEntry[]? Underlyings { get; init; }
    public InstrumentEntry[]? Instruments { get; init; }
    public AssetEntry[] Assets { get; init; } = [new() { Name = "USD", Price = 1, Haircuts = [new() { UpTo = 1e18, Haircut = 0 }] }];
    public AccountEntry[]? Accounts { get; init; }
}

public sealed class UnderlyingEntry
{
    public string? Name { get; init; }
    public double? Index { get; init; }
    public double Carry { get; init; }
}

public sealed class InstrumentEntry
{
    public string? Name { get; init; }
    public string? Underlying { get; init; }
    public InstrumentKind? Kind { get; init; }

    /// <summary>Linear (absent) or inverse: a coin-settled future or perpetual whose multiplier is its face value per contract.</summary>
    public Settlement Settlement { get; init; }
    public double? Strike { get; init; }
    public string? Expiry { get; init; }
    public double? Volatility { get; init; }

    /// <summary>A perpetual's current funding rate per interval (what the funding provision charges); absent: 0.</summary>
    public double? FundingRate { get; init; }
    public double Multiplier { get; init; } = 1;
    public double TickSize { get; init; } = 0.01;
    public double LotSize { get; init; } = 0.001;
}

public sealed class AssetEntry
{
    public string? Name { get; init; }
    public string? Underlying { get; init; }
    public double? Price { get; init; }
    public HaircutTierSection[] Haircuts { get; init; } = [new() { UpTo = 1e18, Haircut = 0 }];

    /// <summary>Whether the asset moves in its underlying's scenarios; absent: <c>margin.collateralInScenarios</c>.</summary>
    public bool? InScenarios { get; init; }
}

public sealed class AccountEntry
{
    public string? Name { get; init; }
    public MarginMode? Mode { get; init; }
    public string? Parent { get; init; }
    public string? Instrument { get; init; }
    public CollateralEntry[]? Collateral { get; init; }
    public PositionEntry[]? Positions { get; init; }

    /// <summary>Working (resting) orders: charged as open-order margin, the worst side as if it all filled.</summary>
    public OrderEntry[]? Orders { get; init; }
}

public sealed class CollateralEntry
{
    public string? Asset { get; init; }
    public double? Balance { get; init; }
}

public enum PositionSide
{
    Buy,
    Sell,
}

public sealed class OrderEntry
{
    public string? Instrument { get; init; }
    public PositionSide? Side { get; init; }
    public double? Quantity { get; init; }
}

public sealed class PositionEntry
{
    public string? Instrument { get; init; }
    public PositionSide? Side { get; init; }
    public double? Quantity { get; init; }
    public double? Price { get; init; }
}

public sealed record ScenarioResult(double PriceMove, double VolShift, double Weight)
{
    /// <summary>Regular, extended (an extreme move, weighted and dampened) or basis (the index stays, dated forwards move).</summary>
    public ScenarioKind Kind { get; init; }

    /// <summary>True when <see cref="VolShift"/> is a relative shock at 30 days (σ × (1 + shift)), false when it is in vol points.</summary>
    public bool RelativeVol { get; init; }

    /// <summary>A historical grid's relative move of each underlying, in the file's order, on this row's date (<see cref="PriceMove"/> is then 0); null for any other grid.</summary>
    public double[]? HistoricalMoves { get; init; }
}

public sealed record UnderlyingResult(string Underlying, double ScanRisk, double ShortOptionMinimum, double Delta, double Gamma, double Vega, double Theta, double UnrealizedPnl,
    double[] ScenarioLoss)
{
    /// <summary>Calendar spread charge between expiry tiers (margin.components.intraCommodity).</summary>
    public double IntraCommodityCharge { get; init; }

    /// <summary>Credit from spreads with other underlyings (margin.components.interCommodity).</summary>
    public double InterCommodityCredit { get; init; }

    /// <summary>Size add-on (margin.components.sizeAddOns).</summary>
    public double SizeAddOn { get; init; }

    /// <summary>The underlying's portfolio requirement: combine(max(scan + intra − credit, short option minimum), add-on).</summary>
    public double Requirement { get; init; }

    /// <summary>With a grid of extended or basis rows, the scan risk's parts: max(regular, dampened extended) + basis; null on a plain grid.</summary>
    public ScanParts? ScanParts { get; init; }

    /// <summary>What collateral moving in this underlying's scenarios adds to the scan risk (negative: it hedges); 0 when none does.</summary>
    public double CollateralImpact { get; init; }

    /// <summary>With <c>margin.fundingProvision</c>: the provision of this underlying's paying perpetuals (part of the account's <see cref="AccountResult.FundingProvision"/>); 0 otherwise.</summary>
    public double FundingProvision { get; init; }
}

public sealed record AccountResult(string Account, double Equity, double Collateral, double InitialMargin, double MaintenanceMargin, string State, double Excess,
    UnderlyingResult[] Underlyings)
{
    public MarginMode Mode { get; init; }

    /// <summary>
    /// With working orders: the worst side of them as if it all filled, over the filled requirement (the
    /// methodology's requirement per underlying); what a new order must also be covered for. Not in
    /// <see cref="InitialMargin"/> or the state (open orders do not liquidate anyone). Null without orders.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? OpenOrderMargin { get; init; }

    /// <summary>With <c>margin.fundingProvision</c>: the part of <see cref="InitialMargin"/> that is the next funding interval's payments of the account's paying perpetuals at their current rates. Null when off.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double? FundingProvision { get; init; }

    /// <summary>A portfolio account on a historical grid: VaR 99 % and the ES its margin is, of its joint sample of dates (not floored); null otherwise.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public TailRisk? HistoricalRisk { get; init; }

    /// <summary>Standard and isolated accounts: each position's own requirement (their sum is the account's margin); null for portfolio.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public PositionResult[]? Positions { get; init; }
}

public sealed record PositionResult(string Instrument, double Quantity, double InitialMargin, double MaintenanceMargin);

public sealed record PortfolioResult(string Grid, ScenarioResult[] Scenarios, AccountResult[] Accounts)
{
    public string ToJson() => JsonSerializer.Serialize(this, LlrConfig.JsonOptions);

    /// <summary>Most scenario losses the table lists per underlying (a historical grid has hundreds: JSON has them all).</summary>
    public const int MaxScenarioLossesShown = 64;

    public string ToTable()
    {
        var c = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        bool historical = Scenarios.Length > 0 && Scenarios[0].HistoricalMoves is not null;
        b.AppendLine(string.Create(c, $"grid {Grid}, {Scenarios.Length} scenarios; scenario loss is positive for a loss"));
        if (historical)
        {
            b.AppendLine(string.Create(c, $"historical grid: one scenario per date, every underlying its own filtered move that date; scan = expected shortfall of the dates; an account of several underlyings: initial = max(expected shortfall of their joint loss, short-option minima) + funding provision"));
        }

        b.AppendLine(string.Create(c, $"{"account",-16} {"equity",16} {"initial",16} {"maintenance",16} {"excess",16} state"));
        foreach (var a in Accounts)
        {
            b.AppendLine(string.Create(c, $"{a.Account,-16} {a.Equity,16:N2} {a.InitialMargin,16:N2} {a.MaintenanceMargin,16:N2} {a.Excess,16:N2} {a.State}{(a.Mode == MarginMode.Portfolio ? "" : $" ({a.Mode.ToString().ToLowerInvariant()} margin)")}"));
            if (a.OpenOrderMargin is { } open)
            {
                b.AppendLine(string.Create(c, $"  open-order margin {open,14:N2} (working orders, the worse side as if filled; initial with orders {a.InitialMargin + open:N2})"));
            }

            if (a.HistoricalRisk is { } tail)
            {
                b.AppendLine(string.Create(c, $"  historical VaR 99% {tail.ValueAtRisk,14:N2}  ES {tail.ExpectedShortfall,14:N2} (the account's joint sample of dates; initial = max(ES, short-option minima) + provision)"));
            }

            if (a.FundingProvision is { } provision)
            {
                b.AppendLine(string.Create(c, $"  funding provision {provision,14:N2} (in initial: the next interval's payments at the current funding rates)"));
            }

            foreach (var p in a.Positions ?? [])
            {
                b.AppendLine(string.Create(c, $"  {p.Instrument,-14} quantity {p.Quantity,14:G6}  initial {p.InitialMargin,14:N2}  maintenance {p.MaintenanceMargin,14:N2}"));
            }

            foreach (var u in a.Underlyings.Where(u => u.ScanRisk != 0 || u.Delta != 0 || u.Vega != 0))
            {
                b.AppendLine(string.Create(c, $"  {u.Underlying,-14} scan {u.ScanRisk,14:N2}  short-option min {u.ShortOptionMinimum,10:N2}  delta {u.Delta,10:F4}  gamma {u.Gamma,10:F6}  vega {u.Vega,10:F2}  theta {u.Theta,10:F2}"));
                if (u.ScanParts is { } sp)
                {
                    b.AppendLine(string.Create(c, $"    scan {u.ScanRisk,14:N2} = max(regular {sp.Regular:N2}, extended {sp.Extended:N2} after the dampener) + basis {sp.Basis:N2}"));
                }

                if (u.FundingProvision != 0)
                {
                    b.AppendLine(string.Create(c, $"    funding provision {u.FundingProvision,14:N2} (this underlying's paying perpetuals)"));
                }

                if (u.CollateralImpact != 0)
                {
                    b.AppendLine(string.Create(c, $"    collateral in the scenarios {u.CollateralImpact,14:+#,0.00;-#,0.00} of the scan risk"));
                }

                if (u.IntraCommodityCharge != 0 || u.InterCommodityCredit != 0 || u.SizeAddOn != 0)
                {
                    b.AppendLine(string.Create(c, $"    requirement {u.Requirement,14:N2} = scan {u.ScanRisk:N2} + intra-commodity {u.IntraCommodityCharge:N2} − inter-commodity credit {u.InterCommodityCredit:N2} (floor: short-option min), add-on {u.SizeAddOn:N2}"));
                }

                if (u.ScenarioLoss.Length > MaxScenarioLossesShown)
                {
                    b.AppendLine(string.Create(c, $"    scenario loss: {u.ScenarioLoss.Length} values, worst {u.ScenarioLoss.Max():F0} (all of them in --format json)"));
                    continue;
                }

                b.Append("    scenario loss:");
                foreach (double v in u.ScenarioLoss)
                {
                    b.Append(string.Create(c, $" {v:F0}"));
                }

                b.AppendLine();
            }
        }

        return b.ToString();
    }
}
#pragma warning restore CS1591
