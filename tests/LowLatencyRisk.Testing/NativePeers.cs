using System.Diagnostics;

namespace LowLatencyRisk.Testing;

/// <summary>Finds (and if needed builds, with make) the C peers of native-interop/.</summary>
public static class NativePeers
{
    private static readonly Lazy<string> s_build = new(Build);

    /// <summary>The repository root (the folder holding LowLatencyRisk.sln).</summary>
    public static string RepoRoot
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !File.Exists(System.IO.Path.Combine(d.FullName, "LowLatencyRisk.sln")))
            {
                d = d.Parent;
            }

            return d?.FullName ?? throw new DirectoryNotFoundException("LowLatencyRisk.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Path of a built peer executable (llr_producer, llr_consumer).</summary>
    public static string Path(string name) => System.IO.Path.Combine(s_build.Value, name);

    private static string Build()
    {
        string dir = System.IO.Path.Combine(RepoRoot, "native-interop");
        var info = new ProcessStartInfo("make", ["-C", dir, "all"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var make = Process.Start(info) ?? throw new InvalidOperationException("cannot start make");
        string output = make.StandardOutput.ReadToEnd() + make.StandardError.ReadToEnd();
        make.WaitForExit();
        if (make.ExitCode != 0)
        {
            throw new InvalidOperationException("building native-interop failed (needs cc and make):\n" + output);
        }

        return System.IO.Path.Combine(dir, "build");
    }
}
