using System.Diagnostics;
using System.Text;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// The standard perf suite in one command: every named test with standard (a few minutes) or short
/// (seconds, for CI) parameters, results into one folder, and an index.
/// </summary>
public static class Suite
{
    /// <summary>Runs the suite.</summary>
    public static int Run(Options options)
    {
        bool isShort = options.Bool("short", false);
        string root = options.String("out", Path.Combine(Child.RepoRoot(), "perf", "results"));
        string pin = options.String("pin", "true");
        (string Test, string[] Args)[] tests = isShort
            ?
            [
                ("ring-throughput", ["--messages", "2000000", "--runs", "1"]),
                ("ring-throughput", ["--messages", "2000000", "--runs", "1", "--peer", "c"]),
                ("ring-pingpong", ["--count", "20000", "--runs", "1"]),
                ("gate-inprocess", ["--checks", "200000"]),
                ("gate-outofprocess", ["--count", "20000"]),
                ("fill-breach", ["--duration", "1", "--small", "true", "--accounts", "300", "--rate", "200000"]),
            ]
            :
            [
                ("ring-throughput", ["--cross-process", "true"]),
                ("ring-throughput", ["--cross-process", "false"]),
                ("ring-throughput", ["--peer", "c"]),
                ("ring-pingpong", ["--cross-process", "true"]),
                ("ring-pingpong", ["--peer", "c"]),
                ("gate-inprocess", []),
                ("gate-outofprocess", []),
                ("engine-throughput", ["--duration", "10"]),
                ("fill-breach", ["--duration", "10"]),
                ("fill-breach-xproc", ["--duration", "10"]),
            ];
        var index = new StringBuilder($"# perf suite ({(isShort ? "short" : "standard")})\n\n- command: `dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- suite{(isShort ? " --short true" : "")}`\n- machine: {ResultWriter.MachineFacts()}\n\n| test | arguments | exit | seconds |\n|---|---|---|---|\n");
        int failures = 0;
        foreach (var (test, args) in tests)
        {
            var sw = Stopwatch.StartNew();
            var all = new List<string>(args) { "--out", root, "--pin", pin };
            int exit;
            try
            {
                exit = Program.Main([test, .. all]);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or TimeoutException)
            {
                Console.Error.WriteLine($"{test}: {ex.Message}");
                exit = 1;
            }

            failures += exit == 0 ? 0 : 1;
            index.Append($"| {test} | {string.Join(' ', args)} | {exit} | {sw.Elapsed.TotalSeconds:F1} |\n");
        }

        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, isShort ? "suite-short.md" : "suite.md"), index.ToString());
        Console.WriteLine(index);
        return failures == 0 ? 0 : 1;
    }
}
