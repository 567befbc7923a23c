using System.Globalization;
using System.Text;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Engine.Margin;

namespace LowLatencyRisk.Operations;

/// <summary>
/// The scenario losses of each account and underlying as a heat map (SVG): price move across, vol
/// scenario down (up, down, then unchanged for the extreme moves), red for a loss and green for a gain
/// in proportion to the largest of the map, each cell labelled with its loss, the worst cell (the one
/// the scan risk takes) outlined. <c>llr margin --svg</c> and the page of <c>llr serve</c> draw this
/// same picture.
/// </summary>
public static class ScenarioHeatMap
{
    private const int CellWidth = 78, CellHeight = 30, LeftMargin = 92, TitleHeight = 44, HeaderHeight = 20, Gap = 26, Width = 720;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One heat map per account and underlying with a position or a scenario loss; an empty picture says so.</summary>
    public static string Render(PortfolioResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        // Basis rows (index unchanged, dated forwards moved) have no cell of the price × vol plane.
        var plane = result.Scenarios.Where(s => s.Kind < ScenarioKind.BasisUp).ToArray();
        var moves = plane.Select(s => s.PriceMove).Distinct().Order().ToArray();
        var shifts = plane.Select(s => s.VolShift).Distinct().OrderByDescending(v => v).ToArray();
        var maps = result.Accounts.SelectMany(a => a.Underlyings.Where(u => u.ScenarioLoss.Any(l => l != 0)).Select(u => (a, u))).ToList();
        int mapHeight = TitleHeight + HeaderHeight + (shifts.Length * CellHeight);
        int width = Math.Max(Width, LeftMargin + (moves.Length * CellWidth) + 10);
        int height = maps.Count == 0 ? 40 : (maps.Count * (mapHeight + Gap)) + 10;
        var b = new StringBuilder(4096 + (maps.Count * moves.Length * shifts.Length * 220));
        b.Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"11\">\n");
        b.Append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
        if (maps.Count == 0)
        {
            b.Append("<text x=\"10\" y=\"24\">No scenario losses: no account holds a position.</text>\n");
        }

        int y = 10;
        foreach (var (account, underlying) in maps)
        {
            Map(b, result, account, underlying, moves, shifts, y);
            y += mapHeight + Gap;
        }

        b.Append("</svg>\n");
        return b.ToString();
    }

    private static void Map(StringBuilder b, PortfolioResult result, AccountResult account, UnderlyingResult u, double[] moves, double[] shifts, int y)
    {
        var loss = u.ScenarioLoss;
        int worst = 0;
        double extent = 0;
        for (int i = 0; i < loss.Length; i++)
        {
            worst = loss[i] > loss[worst] ? i : worst;
            extent = Math.Max(extent, Math.Abs(loss[i]));
        }

        b.Append(Inv, $"<g class=\"heatmap\" data-account=\"{Escape(account.Account)}\" data-underlying=\"{Escape(u.Underlying)}\" transform=\"translate(0,{y})\">\n");
        b.Append(Inv, $"<text x=\"10\" y=\"16\" font-size=\"14\" font-weight=\"bold\">{Escape(account.Account)} · {Escape(u.Underlying)}</text>\n");
        b.Append(Inv, $"<text x=\"10\" y=\"34\">scan risk {Money(u.ScanRisk)} (worst scenario {worst + 1}: price {Percent(result.Scenarios[worst].PriceMove, signed: true)}, vol {Vol(result.Scenarios[worst].VolShift)}{(result.Scenarios[worst].Weight != 1 ? string.Create(Inv, $", weight {result.Scenarios[worst].Weight:0.##}") : "")}); loss positive, red</text>\n");
        int top = TitleHeight;
        for (int c = 0; c < moves.Length; c++)
        {
            b.Append(Inv, $"<text x=\"{LeftMargin + (c * CellWidth) + (CellWidth / 2)}\" y=\"{top + 14}\" text-anchor=\"middle\">{Percent(moves[c], signed: true)}</text>\n");
        }

        for (int r = 0; r < shifts.Length; r++)
        {
            int rowY = top + HeaderHeight + (r * CellHeight);
            b.Append(Inv, $"<text x=\"10\" y=\"{rowY + 19}\">vol {Vol(shifts[r])}</text>\n");
            for (int c = 0; c < moves.Length; c++)
            {
                int index = -1;
                for (int i = 0; i < result.Scenarios.Length; i++)
                {
                    var s = result.Scenarios[i];
                    if (s.Kind < ScenarioKind.BasisUp && s.PriceMove == moves[c] && s.VolShift == shifts[r] && (index < 0 || loss[i] > loss[index]))
                    {
                        index = i;
                    }
                }

                if (index < 0)
                {
                    continue; // no scenario at this price move and vol
                }

                int x = LeftMargin + (c * CellWidth);
                double value = loss[index];
                bool isWorst = index == worst;
                var s0 = result.Scenarios[index];
                b.Append(Inv, $"<rect class=\"cell{(isWorst ? " worst" : "")}\" data-scenario=\"{index + 1}\" data-loss=\"{value.ToString("R", Inv)}\" x=\"{x + 1}\" y=\"{rowY + 1}\" width=\"{CellWidth - 2}\" height=\"{CellHeight - 2}\" fill=\"{Colour(value, extent)}\"{(isWorst ? " stroke=\"#000000\" stroke-width=\"3\"" : " stroke=\"#cccccc\"")}>");
                b.Append(Inv, $"<title>scenario {index + 1}: price {Percent(s0.PriceMove, signed: true)}, vol {Vol(s0.VolShift)}, weight {s0.Weight:0.##}: loss {Money(value)}</title></rect>\n");
                b.Append(Inv, $"<text x=\"{x + (CellWidth / 2)}\" y=\"{rowY + 19}\" text-anchor=\"middle\"{(isWorst ? " font-weight=\"bold\"" : "")}>{Money(value)}</text>\n");
            }
        }

        b.Append("</g>\n");
    }

    /// <summary>Red for a loss, green for a gain, white for none; the intensity is the share of the largest absolute value.</summary>
    internal static string Colour(double value, double extent)
    {
        if (!(extent > 0) || !double.IsFinite(value) || value == 0)
        {
            return "#ffffff";
        }

        double t = Math.Clamp(Math.Abs(value) / extent, 0, 1);
        int fade = (int)Math.Round(255 * (1 - (0.85 * t)));
        return value > 0 ? string.Create(Inv, $"#ff{fade:x2}{fade:x2}") : string.Create(Inv, $"#{fade:x2}ff{fade:x2}");
    }

    private static string Money(double v) => double.IsFinite(v) ? v.ToString("N0", Inv) : "n/a";

    private static string Percent(double fraction, bool signed = false) =>
        string.Create(Inv, $"{(signed && fraction > 0 ? "+" : "")}{fraction * 100:0.#}%");

    private static string Vol(double shift) => shift == 0 ? "unchanged" : Percent(shift, signed: true);

    private static string Escape(string text) => System.Security.SecurityElement.Escape(text) ?? "";
}
