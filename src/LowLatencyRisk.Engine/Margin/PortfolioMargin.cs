using System.Globalization;
using System.Text;
using System.Text.Json;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine.Configuration;

namespace LowLatencyRisk.Engine.Margin;

/// <summary>
/// <c>llr margin PORTFOLIO.json</c>: positions, market and parameters in; per account initial and
/// maintenance margin, equity, per-scenario loss and Greeks out. The numbers come from a
/// <see cref="RiskBook"/> built from the file — the engine's own code path — not from a second
/// implementation.
/// </summary>
public static class PortfolioMargin
{
    /// <summary>Parses, validates and computes; throws <see cref="ConfigException"/> naming each problem by its JSON path.</summary>
    public static PortfolioResult Compute(string json, string source = "portfolio")
    {
        PortfolioFile? file;
        try
        {
            file = JsonSerializer.Deserialize<PortfolioFile>(json, LlrConfig.JsonOptions);
        }
        catch (JsonException e)
        {
            throw new ConfigException(source, [LlrConfig.Describe(e)]);
        }

        if (file is null)
        {
            throw new ConfigException(source, ["$: the file holds null, not an object"]);
        }

        var errors = new List<string>();
        var book = Build(file, errors);
        if (errors.Count > 0 || book is null)
        {
            throw new ConfigException(source, errors);
        }

        return Read(file, book);
    }

    private static RiskBook? Build(PortfolioFile f, List<string> errors)
    {
        var parameters = new LlrConfig { ScenarioGrid = f.ScenarioGrid ?? new(), Margin = f.Margin ?? new() };
        errors.AddRange(parameters.Validate().Where(e => e.StartsWith("scenarioGrid", StringComparison.Ordinal) || e.StartsWith("margin", StringComparison.Ordinal)));
        if (f.Underlyings is null || f.Underlyings.Length == 0)
        {
            errors.Add("underlyings: at least one underlying");
        }

        if (f.Instruments is null || f.Instruments.Length == 0)
        {
            errors.Add("instruments: at least one instrument");
        }

        if (f.Accounts is null || f.Accounts.Length == 0)
        {
            errors.Add("accounts: at least one account");
        }

        if (errors.Count > 0)
        {
            return null;
        }

        long now = (long)((f.ValuationTime.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100);
        var underlyings = Index(f.Underlyings!.Select(u => u.Name).ToArray(), "underlyings", errors);
        var instruments = Index(f.Instruments!.Select(i => i.Name).ToArray(), "instruments", errors);
        var assets = Index(f.Assets.Select(a => a.Name).ToArray(), "assets", errors);
        int maxPositions = f.Accounts!.Max(a => a.Positions?.Length ?? 0);
        var book = new RiskBook(parameters.Apply(new RiskConfig
        {
            MaxUnderlyings = f.Underlyings!.Length,
            MaxInstruments = f.Instruments!.Length,
            MaxAccounts = f.Accounts!.Length,
            MaxPositionsPerAccount = Math.Max(1, maxPositions),
            MaxAssets = Math.Max(1, f.Assets.Length),
            IndexBand = 10, // a batch calculation takes the given prices as they are
        }));

        for (int u = 0; u < f.Underlyings.Length; u++)
        {
            var x = f.Underlyings[u];
            string at = $"underlyings[{u}]";
            if (!(x.Index > 0) || !double.IsFinite(x.Index))
            {
                errors.Add($"{at}.index: {x.Index} is not a positive price");
                continue;
            }

            if (!double.IsFinite(x.Carry))
            {
                errors.Add($"{at}.carry: must be finite");
                continue;
            }

            book.DefineUnderlying(u, x.Carry);
            book.UpdateIndex(u, x.Index, now);
        }

        for (int i = 0; i < f.Instruments.Length; i++)
        {
            var x = f.Instruments[i];
            string at = $"instruments[{i}]";
            if (x.Underlying is null || !underlyings.TryGetValue(x.Underlying, out int u))
            {
                errors.Add($"{at}.underlying: unknown underlying '{x.Underlying}'");
                continue;
            }

            bool option = x.Kind is InstrumentKind.Call or InstrumentKind.Put;
            long expiry = x.Expiry is { } e ? (long)((e.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100) : 0;
            var spec = new InstrumentSpec(x.Kind, u, x.Strike ?? 0, expiry, x.Multiplier, x.TickSize, x.LotSize);
            var result = book.TryDefineInstrument(i, spec);
            if (result != DefinitionResult.Defined)
            {
                errors.Add($"{at}: {book.Describe(result)}");
                continue;
            }

            if (option)
            {
                if (x.Volatility is not { } vol || !(vol > 0) || vol > 10)
                {
                    errors.Add($"{at}.volatility: an option needs an implied volatility in (0, 10]");
                    continue;
                }

                book.SetInitialVolatility(i, vol);
            }
            else if (x.Volatility is not null)
            {
                errors.Add($"{at}.volatility: only options have one");
            }
        }

        for (int k = 0; k < f.Assets.Length; k++)
        {
            var x = f.Assets[k];
            string at = $"assets[{k}]";
            int linked = -1;
            if (x.Underlying is not null && !underlyings.TryGetValue(x.Underlying, out linked))
            {
                errors.Add($"{at}.underlying: unknown underlying '{x.Underlying}'");
                continue;
            }

            try
            {
                book.DefineAsset(k, linked, x.Price ?? 0, x.Haircuts.Select(t => new HaircutTier(t.UpTo, t.Haircut)).ToArray());
            }
            catch (ArgumentException ex)
            {
                errors.Add($"{at}: {ex.Message.Split(" (Parameter", 2)[0]}");
            }
        }

        if (errors.Count > 0)
        {
            return null;
        }

        for (int a = 0; a < f.Accounts.Length; a++)
        {
            var acct = f.Accounts[a];
            for (int c = 0; c < (acct.Collateral?.Length ?? 0); c++)
            {
                var x = acct.Collateral![c];
                string at = $"accounts[{a}].collateral[{c}]";
                if (x.Asset is null || !assets.TryGetValue(x.Asset, out int asset))
                {
                    errors.Add($"{at}.asset: unknown asset '{x.Asset}'");
                }
                else if (!double.IsFinite(x.Balance))
                {
                    errors.Add($"{at}.balance: must be finite");
                }
                else
                {
                    book.SetCollateral(a, asset, x.Balance);
                }
            }

            for (int p = 0; p < (acct.Positions?.Length ?? 0); p++)
            {
                var x = acct.Positions![p];
                string at = $"accounts[{a}].positions[{p}]";
                if (x.Instrument is null || !instruments.TryGetValue(x.Instrument, out int id) || !book.IsInstrument(id))
                {
                    errors.Add($"{at}.instrument: unknown instrument '{x.Instrument}'");
                    continue;
                }

                if (!(x.Quantity > 0) || !double.IsFinite(x.Quantity))
                {
                    errors.Add($"{at}.quantity: {x.Quantity} is not a positive quantity (a short position is side \"sell\")");
                    continue;
                }

                if (!(x.Price > 0) || !double.IsFinite(x.Price))
                {
                    errors.Add($"{at}.price: {x.Price} is not a positive price");
                    continue;
                }

                var r = book.ApplyFill(a, id, x.Side == PositionSide.Sell ? -x.Quantity : x.Quantity, x.Price);
                if (r != FillResult.Applied)
                {
                    errors.Add($"{at}: rejected by the book ({r})");
                }
            }
        }

        book.Revalue();
        return book;
    }

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

    private static PortfolioResult Read(PortfolioFile f, RiskBook book)
    {
        var grid = book.Config.Grid;
        var scenarios = grid.Scenarios.Select(s => new ScenarioResult(s.PriceMove * grid.PriceScanRange, s.VolShift * grid.VolScanRange, s.Weight)).ToArray();
        var accounts = new AccountResult[f.Accounts!.Length];
        for (int a = 0; a < accounts.Length; a++)
        {
            var per = new UnderlyingResult[f.Underlyings!.Length];
            for (int u = 0; u < per.Length; u++)
            {
                per[u] = new UnderlyingResult(f.Underlyings[u].Name!, book.ScanRisk(a, u), book.ShortOptionMinimum(a, u),
                    book.NetDelta(a, u), book.NetGamma(a, u), book.NetVega(a, u), book.NetTheta(a, u), book.UnrealizedPnl(a, u), book.RiskArray(a, u).ToArray());
            }

            accounts[a] = new AccountResult(f.Accounts[a].Name ?? $"#{a}", book.Equity(a), book.CollateralValue(a), book.InitialMargin(a), book.MaintenanceMargin(a),
                book.State(a).ToString(), book.Equity(a) - book.InitialMargin(a), per);
        }

        return new PortfolioResult(grid.Name, scenarios, accounts);
    }
}

#pragma warning disable CS1591 // the file format is documented in README (llr margin)
public sealed class PortfolioFile
{
    public DateTime ValuationTime { get; init; } = DateTime.UnixEpoch;
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
    public double Index { get; init; }
    public double Carry { get; init; }
}

public sealed class InstrumentEntry
{
    public string? Name { get; init; }
    public string? Underlying { get; init; }
    public InstrumentKind Kind { get; init; }
    public double? Strike { get; init; }
    public DateTime? Expiry { get; init; }
    public double? Volatility { get; init; }
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
}

public sealed class AccountEntry
{
    public string? Name { get; init; }
    public CollateralEntry[]? Collateral { get; init; }
    public PositionEntry[]? Positions { get; init; }
}

public sealed class CollateralEntry
{
    public string? Asset { get; init; }
    public double Balance { get; init; }
}

public enum PositionSide
{
    Buy,
    Sell,
}

public sealed class PositionEntry
{
    public string? Instrument { get; init; }
    public PositionSide Side { get; init; }
    public double Quantity { get; init; }
    public double Price { get; init; }
}

public sealed record ScenarioResult(double PriceMove, double VolShift, double Weight);

public sealed record UnderlyingResult(string Underlying, double ScanRisk, double ShortOptionMinimum, double Delta, double Gamma, double Vega, double Theta, double UnrealizedPnl,
    double[] ScenarioLoss);

public sealed record AccountResult(string Account, double Equity, double Collateral, double InitialMargin, double MaintenanceMargin, string State, double Excess,
    UnderlyingResult[] Underlyings);

public sealed record PortfolioResult(string Grid, ScenarioResult[] Scenarios, AccountResult[] Accounts)
{
    public string ToJson() => JsonSerializer.Serialize(this, LlrConfig.JsonOptions);

    public string ToTable()
    {
        var c = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.AppendLine(string.Create(c, $"grid {Grid}, {Scenarios.Length} scenarios; scenario loss is positive for a loss"));
        b.AppendLine(string.Create(c, $"{"account",-16} {"equity",16} {"initial",16} {"maintenance",16} {"excess",16} state"));
        foreach (var a in Accounts)
        {
            b.AppendLine(string.Create(c, $"{a.Account,-16} {a.Equity,16:N2} {a.InitialMargin,16:N2} {a.MaintenanceMargin,16:N2} {a.Excess,16:N2} {a.State}"));
            foreach (var u in a.Underlyings.Where(u => u.ScanRisk != 0 || u.Delta != 0 || u.Vega != 0))
            {
                b.AppendLine(string.Create(c, $"  {u.Underlying,-14} scan {u.ScanRisk,14:N2}  short-option min {u.ShortOptionMinimum,10:N2}  delta {u.Delta,10:F4}  gamma {u.Gamma,10:F6}  vega {u.Vega,10:F2}  theta {u.Theta,10:F2}"));
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
