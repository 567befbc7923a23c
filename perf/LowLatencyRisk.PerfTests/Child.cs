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
