namespace LowLatencyRisk.Fixtures;

/// <summary>Portfolio files (the <c>llr margin</c> format) of a chosen size, for the service's tests and benchmarks.</summary>
public static class PortfolioFiles
{
    /// <summary>4 underlyings × <paramref name="strikes"/> calls and a future each, 4 accounts holding every instrument, each its own mix of sides.</summary>
    public static string Generated(int strikes)
    {
        var b = new System.Text.StringBuilder();
        var c = System.Globalization.CultureInfo.InvariantCulture;
        b.Append("{ \"valuationTime\": \"2026-11-22T08:00:00Z\", \"underlyings\": [");
        b.AppendJoin(", ", Enumerable.Range(0, 4).Select(u => string.Create(c, $"{{ \"name\": \"U{u}\", \"index\": {1000 * (u + 1)} }}")));
        b.Append("], \"instruments\": [");
        var names = new List<(string Name, double Price)>();
        var defs = new List<string>();
        for (int u = 0; u < 4; u++)
        {
            double index = 1000 * (u + 1);
            defs.Add(string.Create(c, $"{{ \"name\": \"U{u}-F\", \"underlying\": \"U{u}\", \"kind\": \"future\", \"expiry\": \"2027-03-26T08:00:00Z\" }}"));
            names.Add(($"U{u}-F", index));
            for (int k = 0; k < strikes; k++)
            {
                double strike = index * (0.75 + (0.5 * k / strikes));
                defs.Add(string.Create(c, $"{{ \"name\": \"U{u}-C{k}\", \"underlying\": \"U{u}\", \"kind\": \"call\", \"strike\": {strike}, \"expiry\": \"2027-03-26T08:00:00Z\", \"volatility\": 0.6 }}"));
                names.Add(($"U{u}-C{k}", Math.Max(1, index - strike) + (index * 0.05)));
            }
        }

        b.AppendJoin(", ", defs);
        b.Append("], \"accounts\": [");
        b.AppendJoin(", ", Enumerable.Range(0, 4).Select(a => string.Create(c,
            $"{{ \"name\": \"A{a}\", \"collateral\": [ {{ \"asset\": \"USD\", \"balance\": 1000000 }} ], \"positions\": [ {string.Join(", ", names.Select((n, i) => string.Create(c, $"{{ \"instrument\": \"{n.Name}\", \"side\": \"{((i + a) % 3 == 0 ? "sell" : "buy")}\", \"quantity\": {1 + ((i + a) % 5)}, \"price\": {n.Price} }}")))} ] }}")));
        b.Append("] }");
        return b.ToString();
    }
}
