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
        command.SetAction(parse => Execute(parse.GetValue(file)!, parse.GetValue(format)!, Console.Out, Console.Error));
        return command;
    }

    /// <summary>The command's work, writers given (tests run it in-process): the exit code, 0 or 2.</summary>
    internal static int Execute(string path, string format, TextWriter stdout, TextWriter stderr)
    {
        if (ReadPortfolio(path, out string json) is { } problem)
        {
            stderr.WriteLine($"llr margin: {path}: {problem}");
            return 2;
        }

        PortfolioResult result;
        try
        {
            result = PortfolioMargin.Compute(json, path);
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"llr margin: {e.Message}");
            return 2;
        }

        if (format is "table" or "both")
        {
            stdout.Write(result.ToTable());
        }

        if (format is "json" or "both")
        {
            stdout.WriteLine(result.ToJson());
        }

        return 0;
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
