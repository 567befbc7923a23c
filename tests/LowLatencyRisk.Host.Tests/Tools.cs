using System.Diagnostics;

namespace LowLatencyRisk.Host.Tests;

/// <summary>
/// Operating-system tools some tests drive (promtool, chromium). `tests/run.sh` and `.ci/run` install
/// them when absent; a test that needs one fails with what to install rather than passing without it.
/// </summary>
internal static class Tools
{
    public static string Require(string name, string package)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail($"{name} is not installed: install the Debian package '{package}' (tests/run.sh does when it runs as root with apt-get).");
        return "";
    }

    /// <summary>Runs a tool with <paramref name="stdin"/>; exit code and everything it printed.</summary>
    public static (int Code, string Output) Run(string path, string stdin, TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo(path) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{path} did not finish in {timeout}");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
