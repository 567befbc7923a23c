using System.Globalization;
using System.Text;
using LowLatencyRisk.Engine.Configuration;

namespace LowLatencyRisk.Engine.Margin;

/// <summary>
/// Daily index closes per underlying, one row a date: what <c>llr backtest</c> replays. No market data
/// ships with the product: a history comes from a CSV file (<see cref="ParseCsv"/>) or is generated
/// (<see cref="Synthetic"/>, seeded, and always labelled synthetic).
/// </summary>
public sealed class PriceHistory
{
    /// <summary>The most rows a history may hold (forty years of calendar days).</summary>
    public const int MaxDays = 15_000;

    /// <summary>The most underlyings (columns after the date).</summary>
    public const int MaxUnderlyings = 256;

    private const int MaxProblems = 20;

    private PriceHistory(string source, bool synthetic, string[] underlyings, DateOnly[] dates, double[][] closes)
    {
        Source = source;
        IsSynthetic = synthetic;
        Underlyings = underlyings;
        Dates = dates;
        Closes = closes;
    }

    /// <summary>Where it came from: a file name, or the generator and its parameters.</summary>
    public string Source { get; }

    /// <summary>True for a generated history (never to be presented as market data).</summary>
    public bool IsSynthetic { get; }

    /// <summary>The underlyings' names, in column order.</summary>
    public IReadOnlyList<string> Underlyings { get; }

    /// <summary>The dates, strictly increasing.</summary>
    public IReadOnlyList<DateOnly> Dates { get; }

    /// <summary>Closes by underlying (column) then date; every one finite and positive.</summary>
    public IReadOnlyList<double[]> Closes { get; }

    /// <summary>The column of an underlying, or −1.</summary>
    public int ColumnOf(string underlying) => Array.IndexOf((string[])Underlyings, underlying);

    /// <summary>
    /// Parses the CSV format: a header <c>date,NAME,NAME…</c> (the underlyings' names as the portfolio
    /// file spells them), then one line a date, <c>yyyy-MM-dd,close,close…</c>, dates strictly rising,
    /// every close a finite positive number in invariant notation (a dot for decimals, no thousands
    /// separator, exponent allowed). A missing close is an error, not interpolated. Blank lines are
    /// skipped. Throws <see cref="ConfigException"/> naming each problem by line and field (the first
    /// 20).
    /// </summary>
    public static PriceHistory ParseCsv(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var problems = new List<string>();
        var lines = text.Split('\n');
        int lineNo = 0;
        string[]? header = null;
        var dates = new List<DateOnly>();
        var rows = new List<double[]>();
        foreach (var raw in lines)
        {
            lineNo++;
            string line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var fields = line.Split(',');
            if (header is null)
            {
                header = fields.Select(f => f.Trim()).ToArray();
                if (!string.Equals(header[0], "date", StringComparison.Ordinal))
                {
                    problems.Add($"line {lineNo}, field 1: the header must start with 'date', then one underlying name a column (found '{header[0]}')");
                }

                if (header.Length < 2)
                {
                    problems.Add($"line {lineNo}: the header names no underlying (e.g. date,BTC,ETH)");
                }
                else if (header.Length - 1 > MaxUnderlyings)
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture, $"line {lineNo}: {header.Length - 1} underlyings; at most {MaxUnderlyings}"));
                }

                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (int c = 1; c < header.Length; c++)
                {
                    if (header[c].Length == 0)
                    {
                        problems.Add($"line {lineNo}, field {c + 1}: an empty underlying name");
                    }
                    else if (!seen.Add(header[c]))
                    {
                        problems.Add($"line {lineNo}, field {c + 1}: '{header[c]}' is named twice");
                    }
                }

                if (problems.Count > 0)
                {
                    break;
                }

                continue;
            }

            if (rows.Count == MaxDays)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"line {lineNo}: more than {MaxDays:N0} dates"));
                break;
            }

            if (fields.Length != header.Length)
            {
                problems.Add($"line {lineNo}: {fields.Length} fields; the header has {header.Length}");
                if (problems.Count >= MaxProblems) { break; }
                continue;
            }

            string dateText = fields[0].Trim();
            if (!DateOnly.TryParseExact(dateText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                problems.Add($"line {lineNo}, field 1 (date): '{dateText}' is not a date yyyy-MM-dd");
            }
            else if (dates.Count > 0 && date <= dates[^1])
            {
                problems.Add($"line {lineNo}, field 1 (date): {dateText} is not after the line before's {dates[^1]:yyyy-MM-dd} (dates must rise)");
            }

            var row = new double[header.Length - 1];
            for (int c = 1; c < fields.Length; c++)
            {
                string v = fields[c].Trim();
                if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double close) || !double.IsFinite(close) || !(close > 0))
                {
                    problems.Add($"line {lineNo}, field {c + 1} ({header[c]}): '{v}' is not a finite positive close");
                }

                row[c - 1] = close;
            }

            if (problems.Count >= MaxProblems)
            {
                break;
            }

            dates.Add(date);
            rows.Add(row);
        }

        if (header is null && problems.Count == 0)
        {
            problems.Add("the file is empty: expected a header date,NAME,… and one line a date");
        }

        if (problems.Count > 0)
        {
            throw new ConfigException(source, problems, "price history");
        }

        var closes = new double[header!.Length - 1][];
        for (int c = 0; c < closes.Length; c++)
        {
            closes[c] = rows.Select(r => r[c]).ToArray();
        }

        return new PriceHistory(source, synthetic: false, header[1..], [.. dates], closes);
    }

    /// <summary>The history as the CSV <see cref="ParseCsv"/> reads (closes in round-trip notation: the file reproduces the history bit for bit).</summary>
    public string ToCsv()
    {
        var b = new StringBuilder(64 + (Dates.Count * (12 + (Underlyings.Count * 20))));
        b.Append("date");
        foreach (var u in Underlyings)
        {
            b.Append(',').Append(u);
        }

        b.Append('\n');
        for (int t = 0; t < Dates.Count; t++)
        {
            b.Append(Dates[t].ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            foreach (var column in Closes)
            {
                b.Append(',').Append(column[t].ToString("R", CultureInfo.InvariantCulture));
            }

            b.Append('\n');
        }

        return b.ToString();
    }

    /// <summary>
    /// A seeded synthetic history with fat tails and volatility clustering, the same for the same
    /// arguments on every machine: per underlying a GARCH(1,1) of daily log returns,
    /// r_t = σ_t z_t, σ²_t = ω + α r²_{t−1} + β σ²_{t−1}, ω = σ̄²(1 − α − β) (so σ̄ is the unconditional
    /// daily volatility, and σ²_0 = σ̄²), with Student-t innovations of ν degrees of freedom scaled to
    /// unit variance; across underlyings the innovations are multivariate t with correlation ρ (one
    /// χ²_ν mixing variable per day shared by all, normals correlated through one common factor).
    /// Closes start at <paramref name="start"/> on <paramref name="first"/> and follow calendar days.
    /// Not market data, and labelled so wherever it is reported.
    /// </summary>
    public static PriceHistory Synthetic(IReadOnlyList<string> underlyings, IReadOnlyList<double> start, DateOnly first, int days, int seed, GarchParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(underlyings);
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        if (underlyings.Count == 0 || underlyings.Count != start.Count || days < 2 || days > MaxDays)
        {
            throw new ArgumentException($"Need at least one underlying with a start each and 2..{MaxDays} days.", nameof(days));
        }

        var random = new Random(seed); // a seeded Random is the same sequence on every .NET version and machine
        int n = underlyings.Count;
        double longRun = parameters.DailyVolatility * parameters.DailyVolatility;
        double omega = longRun * (1 - parameters.Alpha - parameters.Beta);
        double nu = parameters.DegreesOfFreedom;
        double unitVariance = Math.Sqrt((nu - 2) / nu);
        double loading = Math.Sqrt(parameters.Correlation), own = Math.Sqrt(1 - parameters.Correlation);
        var closes = new double[n][];
        var variance = new double[n];
        var level = new double[n];
        for (int u = 0; u < n; u++)
        {
            closes[u] = new double[days];
            closes[u][0] = level[u] = start[u];
            variance[u] = longRun;
        }

        var dates = new DateOnly[days];
        dates[0] = first;
        for (int t = 1; t < days; t++)
        {
            dates[t] = first.AddDays(t);
            double mixing = Math.Sqrt(nu / ChiSquared(random, nu));
            double common = Normal(random);
            for (int u = 0; u < n; u++)
            {
                double z = ((loading * common) + (own * Normal(random))) * mixing * unitVariance;
                double r = Math.Sqrt(variance[u]) * z;
                level[u] *= Math.Exp(r);
                closes[u][t] = level[u];
                variance[u] = omega + (parameters.Alpha * r * r) + (parameters.Beta * variance[u]);
            }
        }

        string source = string.Create(CultureInfo.InvariantCulture,
            $"synthetic GARCH(1,1)-t (seed {seed}, {days} days, daily vol {parameters.DailyVolatility}, alpha {parameters.Alpha}, beta {parameters.Beta}, nu {parameters.DegreesOfFreedom}, correlation {parameters.Correlation}) — not market data");
        return new PriceHistory(source, synthetic: true, [.. underlyings], dates, closes);
    }

    /// <summary>A standard normal (Marsaglia's polar method; the second value is discarded to keep one draw per call simple).</summary>
    private static double Normal(Random random)
    {
        while (true)
        {
            double x = (2 * random.NextDouble()) - 1, y = (2 * random.NextDouble()) - 1, s = (x * x) + (y * y);
            if (s is > 0 and < 1)
            {
                return x * Math.Sqrt(-2 * Math.Log(s) / s);
            }
        }
    }

    /// <summary>χ² with ν degrees of freedom = 2 × Gamma(ν/2) (Marsaglia and Tsang's method; ν/2 ≥ 1 here).</summary>
    private static double ChiSquared(Random random, double nu)
    {
        double d = (nu / 2) - (1.0 / 3), c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x = Normal(random), v = 1 + (c * x);
            if (v <= 0)
            {
                continue;
            }

            v = v * v * v;
            double uniform = random.NextDouble();
            if (uniform > 0 && Math.Log(uniform) < (0.5 * x * x) + d - (d * v) + (d * Math.Log(v)))
            {
                return 2 * d * v;
            }
        }
    }
}

/// <summary>
/// The synthetic history's model (<see cref="PriceHistory.Synthetic"/>): daily GARCH(1,1) with
/// Student-t innovations. Defaults: σ̄ 3 % a day (about 57 % a year, a crypto index), α 0.08, β 0.90
/// (persistence 0.98: clustered volatility with a half-life of about 35 days), ν 5 (fat tails: the
/// innovations' kurtosis is 9), correlation 0.7 between underlyings.
/// </summary>
public sealed record GarchParameters
{
    /// <summary>Unconditional daily volatility σ̄.</summary>
    public double DailyVolatility { get; init; } = 0.03;

    /// <summary>Weight α of the last squared return.</summary>
    public double Alpha { get; init; } = 0.08;

    /// <summary>Weight β of the last variance.</summary>
    public double Beta { get; init; } = 0.90;

    /// <summary>Degrees of freedom ν of the Student-t innovations (above 2: finite variance).</summary>
    public double DegreesOfFreedom { get; init; } = 5;

    /// <summary>Correlation ρ of the innovations between any two underlyings.</summary>
    public double Correlation { get; init; } = 0.7;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first value out of range.</summary>
    public void Validate()
    {
        if (!(DailyVolatility is > 0 and < 0.5)) { throw new ArgumentException("DailyVolatility must be in (0, 0.5).", nameof(DailyVolatility)); }
        if (!(Alpha >= 0) || !(Beta >= 0) || !(Alpha + Beta < 1)) { throw new ArgumentException("Alpha and Beta must be ≥ 0 with α + β < 1 (a stationary variance).", nameof(Alpha)); }
        if (!(DegreesOfFreedom is > 2 and <= 1000)) { throw new ArgumentException("DegreesOfFreedom must be in (2, 1000].", nameof(DegreesOfFreedom)); }
        if (!(Correlation is >= 0 and < 1)) { throw new ArgumentException("Correlation must be in [0, 1).", nameof(Correlation)); }
    }
}
