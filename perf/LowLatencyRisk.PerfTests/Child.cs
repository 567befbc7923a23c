using System.Diagnostics;

namespace LowLatencyRisk.PerfTests;

/// <summary>Starts this harness again as a child process in a given role (the other end of a cross-process test).</summary>
public static class Child
{
    /// <summary>Starts <c>dotnet PerfTests.dll ROLE --k v ...</c>; output is forwarded to this console.</summary>
    public static Process Start(string role, params (string Key, string Value)[] options)
    {
        string dll = typeof(Child).Assembly.Location;
        var info = new ProcessStartInfo(Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet")
        {
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add(role);
        foreach (var (k, v) in options)
        {
            info.ArgumentList.Add("--" + k);
            info.ArgumentList.Add(v);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start child process");
    }

    /// <summary>Starts the C peer <c>native-interop/build/llr_ring_bench</c> (built with make if missing).</summary>
    public static Process StartNativeBench(params string[] args)
    {
        string root = RepoRoot();
        string exe = Path.Combine(root, "native-interop", "build", "llr_ring_bench");
        if (!File.Exists(exe))
        {
            using var make = Process.Start(new ProcessStartInfo("make", ["-C", Path.Combine(root, "native-interop"), "all"])) ?? throw new InvalidOperationException("cannot start make");
            make.WaitForExit();
        }

        var info = new ProcessStartInfo(exe) { UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start " + exe);
    }

    /// <summary>
    /// Starts the real <c>llr engine --config <paramref name="configPath"/></c> (llr.dll beside this
    /// program) and returns once it prints that it is live; its lines are echoed and kept in
    /// <paramref name="output"/>.
    /// </summary>
    public static Process StartLlrEngine(string configPath, List<string> output)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        };
        foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "llr.dll"), "engine", "--config", configPath })
        {
            info.ArgumentList.Add(a);
        }

        var engine = Process.Start(info) ?? throw new InvalidOperationException("cannot start llr engine");
        string? line;
        while ((line = engine.StandardOutput.ReadLine()) is not null)
        {
            Console.WriteLine("  [engine] " + line);
            output.Add(line);
            if (line.StartsWith("llr engine: live", StringComparison.Ordinal))
            {
                break;
            }
        }

        return engine;
    }

    /// <summary>Stops an engine started by <see cref="StartLlrEngine"/> with SIGTERM and keeps the rest of its output (its final summary).</summary>
    public static void StopLlrEngine(Process engine, List<string> output)
    {
        using (var term = Process.Start("kill", ["-TERM", engine.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            term.WaitForExit();
        }

        string? line;
        while ((line = engine.StandardOutput.ReadLine()) is not null)
        {
            Console.WriteLine("  [engine] " + line);
            output.Add(line);
        }

        engine.WaitForExit();
    }

    /// <summary>The repository root.</summary>
    public static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "LowLatencyRisk.sln")))
        {
            d = d.Parent;
        }

        return d?.FullName ?? Directory.GetCurrentDirectory();
    }

    /// <summary>Stopwatch ticks to nanoseconds.</summary>
    public static long TicksToNanos(long ticks) => (long)(ticks * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>Median of a list.</summary>
    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int n = sorted.Count;
        return n == 0 ? 0 : n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }
}
