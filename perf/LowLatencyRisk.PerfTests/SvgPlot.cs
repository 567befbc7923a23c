using System.Globalization;
using System.Text;
using LowLatencyRisk.Core.Diagnostics;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// A latency-by-percentile plot as SVG, the way HdrHistogram's plotter draws it: x is the
/// percentile on a log scale of 1/(1 − p) (50 %, 90 %, 99 %, 99.9 %, …), y the latency on a log scale.
/// </summary>
public static class SvgPlot
{
    private const int Width = 720, Height = 420, Left = 70, Right = 20, Top = 30, Bottom = 50;

    /// <summary>Renders one or more histograms (same axes) with a title.</summary>
    public static string Render(string title, IReadOnlyList<(string Name, LatencyHistogram Histogram)> series)
    {
        var c = CultureInfo.InvariantCulture;
        string[] colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
        const double MaxNines = 6; // up to 99.9999 %
        long max = Math.Max(1, series.Max(s => s.Histogram.Max));
        long min = Math.Max(1, series.Min(s => s.Histogram.TotalCount == 0 ? max : s.Histogram.ValueAtPercentile(0)));
        double yMin = Math.Floor(Math.Log10(min)), yMax = Math.Ceiling(Math.Log10(max));
        if (yMax <= yMin)
        {
            yMax = yMin + 1;
        }

        double X(double nines) => Left + ((Width - Left - Right) * nines / MaxNines);
        double Y(double value) => Top + ((Height - Top - Bottom) * (1 - ((Math.Log10(Math.Max(1, value)) - yMin) / (yMax - yMin))));

        var sb = new StringBuilder();
        sb.Append(c, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        sb.Append(c, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n");
        sb.Append(c, $"<text x=\"{Width / 2}\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">{Escape(title)}</text>\n");
        for (int n = 0; n <= MaxNines; n++)
        {
            double x = X(n);
            string label = n == 0 ? "0%" : (100 - (100 / Math.Pow(10, n))).ToString("0.####", c) + "%";
            sb.Append(c, $"<line x1=\"{x:F1}\" y1=\"{Top}\" x2=\"{x:F1}\" y2=\"{Height - Bottom}\" stroke=\"#ddd\"/>\n");
            sb.Append(c, $"<text x=\"{x:F1}\" y=\"{Height - Bottom + 15}\" text-anchor=\"middle\">{label}</text>\n");
        }

        for (double e = yMin; e <= yMax; e++)
        {
            double y = Y(Math.Pow(10, e));
            sb.Append(c, $"<line x1=\"{Left}\" y1=\"{y:F1}\" x2=\"{Width - Right}\" y2=\"{y:F1}\" stroke=\"#ddd\"/>\n");
            sb.Append(c, $"<text x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{Format(Math.Pow(10, e))}</text>\n");
        }

        sb.Append(c, $"<text x=\"{Width / 2}\" y=\"{Height - 12}\" text-anchor=\"middle\">percentile</text>\n");
        sb.Append(c, $"<text x=\"14\" y=\"{Height / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {Height / 2})\">latency</text>\n");
        for (int s = 0; s < series.Count; s++)
        {
            var (name, h) = series[s];
            if (h.TotalCount == 0)
            {
                continue;
            }

            var points = new StringBuilder();
            for (double nines = 0; nines <= MaxNines + 1e-9; nines += 0.05)
            {
                double percentile = 100 - (100 / Math.Pow(10, nines));
                points.Append(c, $"{X(nines):F1},{Y(h.ValueAtPercentile(percentile)):F1} ");
            }

            string colour = colours[s % colours.Length];
            sb.Append(c, $"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{points.ToString().TrimEnd()}\"/>\n");
            sb.Append(c, $"<text x=\"{Left + 10}\" y=\"{Top + 14 + (14 * s)}\" fill=\"{colour}\">{Escape(name)}</text>\n");
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string Format(double ns) => ns switch
    {
        >= 1e9 => (ns / 1e9).ToString("0.#", CultureInfo.InvariantCulture) + " s",
        >= 1e6 => (ns / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + " ms",
        >= 1e3 => (ns / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + " µs",
        _ => ns.ToString("0", CultureInfo.InvariantCulture) + " ns",
    };

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
