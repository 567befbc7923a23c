using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Host;

/// <summary>What every command shares: the configuration option and its loading, the duration and number checks, the stop on SIGINT/SIGTERM, and attaching to a ring another process creates.</summary>
internal static class CommandSupport
{
    internal static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    internal static Option<string?> ConfigOption() => new("--config") { Description = "Configuration file (JSON); omitted = the defaults (README, Configuration)." };

    internal static Option<double> DurationOption(string what) => NonNegative(new Option<double>("--duration") { Description = $"Seconds to run; 0 = {what}.", DefaultValueFactory = _ => 0 });

    /// <summary>A number of seconds, a rate or a count must be finite and not negative (and at most <paramref name="max"/>): refused at parse time (exit 2), never started with.</summary>
    internal static T NonNegative<T>(T option, double max = 31_536_000) where T : Option
    {
        option.Validators.Add(result =>
        {
            object? value;
            try
            {
                value = result.GetValueOrDefault<object?>();
            }
            catch (InvalidOperationException)
            {
                return; // not a number at all: the parser reports that itself
            }

            if (value is double d && !(d >= 0 && d <= max))
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} must be a number in [0, {max}]; was {d}."));
            }
            else if (value is long l && l < 0)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} must not be negative; was {l}."));
            }
        });
        return option;
    }

    /// <summary>Loads the configuration or prints why not; null on error.</summary>
    internal static LlrConfig? LoadConfig(string command, string? path)
    {
        try
        {
            return path is null ? LlrConfig.Parse("{}", "defaults") : LlrConfig.Load(path);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"llr {command}: {e.Message}");
            return null;
        }
    }

    /// <summary>A token cancelled by SIGINT, SIGTERM or the duration.</summary>
    internal static CancellationTokenSource StopSource(double seconds, out IDisposable signals)
    {
        var cts = seconds > 0 ? new CancellationTokenSource(TimeSpan.FromSeconds(seconds)) : new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // a clean stop instead of the runtime's default termination
            cts.Cancel();
        }

        var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        signals = new Both(sigint, sigterm);
        return cts;
    }

    private sealed class Both(IDisposable a, IDisposable b) : IDisposable
    {
        public void Dispose()
        {
            a.Dispose();
            b.Dispose();
        }
    }

    /// <summary>Attaches to a ring another process creates, waiting for the file (<see cref="SharedRing.AttachWhenReady"/>); prints why not and returns null on failure.</summary>
    internal static SharedRing? AttachWhenReady(string path, RingOptions expected, double waitSeconds, string command)
    {
        try
        {
            return SharedRing.AttachWhenReady(path, expected, TimeSpan.FromSeconds(waitSeconds));
        }
        catch (RingLayoutException e)
        {
            Console.Error.WriteLine($"llr {command}: {path}: incompatible ring: {e.Message}");
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine(string.Create(Inv, $"llr {command}: {path} did not appear within {waitSeconds:F0} s (start `llr engine` with the same configuration)."));
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            Console.Error.WriteLine($"llr {command}: {path}: cannot open the ring: {e.Message}");
        }

        return null;
    }
}
