using System.CommandLine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;

namespace LowLatencyRisk.Host;

/// <summary><c>llr margin PORTFOLIO.json</c>: the batch margin calculator (the engine's book, fed from a file).</summary>
internal static class MarginCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("portfolio") { Description = "Portfolio file (JSON): underlyings, instruments, assets, accounts with collateral and positions." };
        var format = new Option<string>("--format") { Description = "table, json or both.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json", "both");
        var command = new Command("margin", "Compute initial and maintenance margin, equity, per-scenario loss and Greeks of every account in a portfolio file.")
        {
            file, format,
        };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            if (ReadPortfolio(path, out string json) is { } problem)
            {
                Console.Error.WriteLine($"llr margin: {path}: {problem}");
                return 2;
            }

            PortfolioResult result;
            try
            {
                result = PortfolioMargin.Compute(json, path);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"llr margin: {e.Message}");
                return 2;
            }

            string f = parse.GetValue(format)!;
            if (f is "table" or "both")
            {
                Console.Write(result.ToTable());
            }

            if (f is "json" or "both")
            {
                Console.WriteLine(result.ToJson());
            }

            return 0;
        });
        return command;
    }

    /// <summary>The largest portfolio file read (a venue's whole book fits in a few megabytes).</summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>
    /// Reads the file as strict UTF-8: a folder, a file too large or bytes that are not UTF-8 are
    /// refused (decoding them leniently would turn two different names into the same one).
    /// </summary>
    internal static string? ReadPortfolio(string path, out string json)
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
}
