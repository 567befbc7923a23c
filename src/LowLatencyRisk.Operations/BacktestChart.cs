using System.Globalization;
using System.Text;
using LowLatencyRisk.Engine.Margin;

namespace LowLatencyRisk.Operations;

/// <summary>
/// <c>llr backtest --svg</c>: per account a panel with the margin held (a blue line) and each
/// observation's realised loss (grey dots; red and larger where the loss exceeded the margin) over the
/// history's dates, a zero line and the panel's counts in its title. A synthetic history says so in
/// the picture's title.
/// </summary>
public static class BacktestChart
{
    /// <summary>At most this many panels (accounts with positions, in file order); the picture says how many were left out.</summary>
    public const int MaxPanels = 24;

    private const int Width = 900, PanelHeight = 220, Top = 46, Left = 90, Right = 20, PlotTop = 30, PlotBottom = 30, Gap = 14;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The picture.</summary>
    public static string Render(BacktestResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var panels = result.Accounts.Where(a => a.Observations > 0).Take(MaxPanels).ToArray();
        int left = result.Accounts.Count(a => a.Observations > 0) - panels.Length;
        int height = Top + (Math.Max(1, panels.Length) * (PanelHeight + Gap)) + (left > 0 ? 20 : 0);
        var b = new StringBuilder(8192 + panels.Sum(p => p.Days.Length * 90));
        b.Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"11\">\n");
        b.Append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
        string title = $"Margin against the realised {result.HorizonDays}-day loss, {result.From:yyyy-MM-dd} .. {result.To:yyyy-MM-dd}{(result.Synthetic ? " — SYNTHETIC history, not market data" : "")}";
        b.Append(Inv, $"<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{Escape(title)}</text>\n");
        b.Append(Inv, $"<text x=\"10\" y=\"36\" fill=\"#555\">all accounts: {result.Exceedances} exceedances in {result.Observations} observations, coverage {result.Coverage:P2} (target {result.Confidence:P1}), Kupiec p {result.KupiecPValue:F4}</text>\n");
        if (panels.Length == 0)
        {
            b.Append("<text x=\"10\" y=\"70\">No account holds a position: nothing to backtest.</text>\n");
        }

        int y = Top;
        foreach (var account in panels)
        {
            Panel(b, account, y);
            y += PanelHeight + Gap;
        }

        if (left > 0)
        {
            b.Append(Inv, $"<text x=\"10\" y=\"{y + 12}\" fill=\"#555\">{left} more accounts are in the table and the JSON, not drawn.</text>\n");
        }

        b.Append("</svg>\n");
        return b.ToString();
    }

    private static void Panel(StringBuilder b, AccountBacktest account, int y)
    {
        var days = account.Days;
        double high = Math.Max(0, days.Max(d => Math.Max(d.Margin, d.Loss)));
        double low = Math.Min(0, days.Min(d => Math.Min(d.Margin, d.Loss)));
        if (high - low <= 0)
        {
            high = low + 1;
        }

        int plotWidth = Width - Left - Right, plotHeight = PanelHeight - PlotTop - PlotBottom, top = y + PlotTop;
        double X(int i) => Left + (days.Length == 1 ? plotWidth / 2.0 : i * (double)plotWidth / (days.Length - 1));
        double Y(double v) => top + ((high - v) / (high - low) * plotHeight);
        b.Append(Inv, $"<text x=\"10\" y=\"{y + 16}\" font-weight=\"bold\">{Escape(account.Account)}: {account.Exceedances} of {account.Observations} exceeded, coverage {account.Coverage:P2}, Kupiec p {account.KupiecPValue:F4}</text>\n");
        b.Append(Inv, $"<rect x=\"{Left}\" y=\"{top}\" width=\"{plotWidth}\" height=\"{plotHeight}\" fill=\"none\" stroke=\"#bbb\"/>\n");
        b.Append(Inv, $"<line x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{Y(0):F1}\" y2=\"{Y(0):F1}\" stroke=\"#888\" stroke-dasharray=\"3 3\"/>\n");
        b.Append(Inv, $"<text x=\"{Left - 6}\" y=\"{top + 4}\" text-anchor=\"end\">{high:N0}</text>\n");
        b.Append(Inv, $"<text x=\"{Left - 6}\" y=\"{top + plotHeight}\" text-anchor=\"end\">{low:N0}</text>\n");
        b.Append(Inv, $"<text x=\"{Left}\" y=\"{top + plotHeight + 16}\">{days[0].Date:yyyy-MM-dd}</text>\n");
        b.Append(Inv, $"<text x=\"{Left + plotWidth}\" y=\"{top + plotHeight + 16}\" text-anchor=\"end\">{days[^1].Date:yyyy-MM-dd}</text>\n");
        b.Append("<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"1.5\" points=\"");
        for (int i = 0; i < days.Length; i++)
        {
            b.Append(Inv, $"{X(i):F1},{Y(days[i].Margin):F1} ");
        }

        b.Append("\"><title>margin held</title></polyline>\n");
        for (int i = 0; i < days.Length; i++)
        {
            var d = days[i];
            if (d.Exceeded)
            {
                b.Append(Inv, $"<circle cx=\"{X(i):F1}\" cy=\"{Y(d.Loss):F1}\" r=\"3.5\" fill=\"#d62728\"><title>{d.Date:yyyy-MM-dd}: loss {d.Loss:N2} above margin {d.Margin:N2}</title></circle>\n");
            }
            else
            {
                b.Append(Inv, $"<circle cx=\"{X(i):F1}\" cy=\"{Y(d.Loss):F1}\" r=\"1.4\" fill=\"#999\"/>\n");
            }
        }

        b.Append(Inv, $"<text x=\"{Left + plotWidth - 4}\" y=\"{top + 14}\" text-anchor=\"end\"><tspan fill=\"#1f5fbf\">— margin held</tspan>  <tspan fill=\"#999\">● loss</tspan>  <tspan fill=\"#d62728\">● exceedance</tspan></text>\n");
    }

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
