using System.Globalization;
using System.Text.Json;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;

namespace LowLatencyRisk.Operations;

/// <summary>
/// <c>POST /whatif</c>: <c>{"portfolio": {…the llr margin format…}, "orders": [{"account", "instrument",
/// "side", "quantity", "price"}]}</c> → the portfolio margined as it is (<c>before</c>), as if every
/// order filled at its limit price (<c>after</c>: the orders become positions of their accounts,
/// margined by the same code as <c>llr margin</c>), and per account the change of equity, initial
/// margin, excess and state.
/// </summary>
public static class WhatIf
{
    /// <summary>Most orders in one request.</summary>
    public const int MaxOrders = 1024;

    /// <summary>The answer as JSON; throws <see cref="ConfigException"/> naming each problem by its JSON path.</summary>
    public static string Compute(string body, IScratchBooks? books)
    {
        ArgumentNullException.ThrowIfNull(body);
        var (portfolio, orders) = Parse(body);
        var before = PortfolioMargin.ComputeParsed(portfolio, "request", books);
        var after = PortfolioMargin.ComputeParsed(WithFills(portfolio, orders), "request", books);
        var changes = before.Accounts.Zip(after.Accounts, (b, a) => new AccountChange(b.Account,
            b.Equity, a.Equity, b.InitialMargin, a.InitialMargin, a.InitialMargin - b.InitialMargin, b.Excess, a.Excess, b.State, a.State,
            orders.Count(o => o.Account == b.Account))).ToArray();
        return JsonSerializer.Serialize(new WhatIfResult(changes, before, after), LlrConfig.JsonOptions);
    }

    /// <summary>One account before and after.</summary>
    public sealed record AccountChange(string Account, double EquityBefore, double EquityAfter, double InitialMarginBefore, double InitialMarginAfter,
        double InitialMarginChange, double ExcessBefore, double ExcessAfter, string StateBefore, string StateAfter, int Orders);

    /// <summary>The answer.</summary>
    public sealed record WhatIfResult(AccountChange[] Accounts, PortfolioResult Before, PortfolioResult After);

    /// <summary>An order of the request.</summary>
    public sealed class Order
    {
        /// <summary>Account name (of the portfolio).</summary>
        public string? Account { get; init; }

        /// <summary>Instrument name (of the portfolio).</summary>
        public string? Instrument { get; init; }

        /// <summary>buy or sell.</summary>
        public PositionSide? Side { get; init; }

        /// <summary>Quantity, positive.</summary>
        public double? Quantity { get; init; }

        /// <summary>Limit price: the fill price assumed.</summary>
        public double? Price { get; init; }
    }

    private static (PortfolioFile Portfolio, Order[] Orders) Parse(string body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new ConfigException("request", [LlrConfig.Describe(e)], "what-if request");
        }

        using (doc)
        {
            var errors = new List<string>();
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigException("request", ["$: a what-if request is an object {\"portfolio\": {...}, \"orders\": [...]}"], "what-if request");
            }

            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name is not ("portfolio" or "orders"))
                {
                    errors.Add($"$.{p.Name}: unknown field (a what-if request has portfolio and orders)");
                }
            }

            if (!doc.RootElement.TryGetProperty("portfolio", out var portfolioElement) || portfolioElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add("portfolio: is required (an object in the llr margin format)");
            }

            if (!doc.RootElement.TryGetProperty("orders", out var ordersElement) || ordersElement.ValueKind != JsonValueKind.Array)
            {
                errors.Add("orders: is required (an array of {account, instrument, side, quantity, price})");
            }

            if (errors.Count > 0)
            {
                throw new ConfigException("request", errors, "what-if request");
            }

            PortfolioFile portfolio;
            try
            {
                portfolio = PortfolioMargin.ParsePortfolio(portfolioElement.GetRawText(), "request");
            }
            catch (ConfigException e)
            {
                throw new ConfigException("request", [.. e.Problems.Select(Prefix)], "what-if request");
            }

            Order[] orders;
            try
            {
                orders = JsonSerializer.Deserialize<Order[]>(ordersElement.GetRawText(), LlrConfig.JsonOptions) ?? [];
            }
            catch (JsonException e)
            {
                throw new ConfigException("request", ["orders" + LlrConfig.Describe(e).TrimStart('$')], "what-if request");
            }

            Check(portfolio, orders, errors);
            if (errors.Count > 0)
            {
                throw new ConfigException("request", errors, "what-if request");
            }

            return (portfolio, orders);
        }
    }

    private static string Prefix(string problem) => problem.StartsWith('$') ? "portfolio" + problem[1..] : "portfolio." + problem;

    private static void Check(PortfolioFile portfolio, Order[] orders, List<string> errors)
    {
        if (orders.Length > MaxOrders)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"orders: {orders.Length:N0} orders; the limit is {MaxOrders:N0}"));
            return;
        }

        var accounts = (portfolio.Accounts ?? []).Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        var instruments = (portfolio.Instruments ?? []).Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        for (int i = 0; i < orders.Length; i++)
        {
            var o = orders[i];
            string at = string.Create(CultureInfo.InvariantCulture, $"orders[{i}]");
            if (o is null)
            {
                errors.Add($"{at}: is null, not an order");
                continue;
            }

            if (o.Account is null || !accounts.Contains(o.Account))
            {
                errors.Add($"{at}.account: {(o.Account is null ? "is required" : $"unknown account '{o.Account}'")}");
            }

            if (o.Instrument is null || !instruments.Contains(o.Instrument))
            {
                errors.Add($"{at}.instrument: {(o.Instrument is null ? "is required" : $"unknown instrument '{o.Instrument}'")}");
            }

            if (o.Side is null)
            {
                errors.Add($"{at}.side: is required (buy or sell)");
            }

            if (o.Quantity is not { } q || !(q > 0) || !double.IsFinite(q))
            {
                errors.Add($"{at}.quantity: {(o.Quantity is null ? "is required" : "is not a positive finite number")}");
            }

            if (o.Price is not { } p || !(p > 0) || !double.IsFinite(p))
            {
                errors.Add($"{at}.price: {(o.Price is null ? "is required (the limit price the fill is assumed at)" : "is not a positive finite price")}");
            }
        }
    }

    /// <summary>The portfolio with each order appended to its account's positions (the book nets them).</summary>
    private static PortfolioFile WithFills(PortfolioFile f, Order[] orders) => new()
    {
        ValuationTime = f.ValuationTime,
        ScenarioGrid = f.ScenarioGrid,
        Margin = f.Margin,
        Underlyings = f.Underlyings,
        Instruments = f.Instruments,
        Assets = f.Assets,
        Accounts = [.. f.Accounts!.Select(a => new AccountEntry
        {
            Name = a.Name,
            Mode = a.Mode,
            Parent = a.Parent,
            Instrument = a.Instrument,
            Collateral = a.Collateral,
            Orders = a.Orders,
            Positions = [.. a.Positions ?? [], .. orders.Where(o => o.Account == a.Name).Select(o => new PositionEntry { Instrument = o.Instrument, Side = o.Side, Quantity = o.Quantity, Price = o.Price })],
        })],
    };
}
