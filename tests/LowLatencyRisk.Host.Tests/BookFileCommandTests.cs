using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary><c>book.file</c> through the commands: the engine starts on a venue's book, a bad book stops it before any file exists, the simulator refuses it.</summary>
public sealed class BookFileCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(TempFiles.Directory, $"llr-bookcmd-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public BookFileCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string bookPath)
    {
        string path = Path.Combine(_dir, "llr.json");
        File.WriteAllText(path, $$"""
            { "book": { "file": "{{bookPath}}" }, "rings": { "directory": "{{_dir}}", "feedCapacity": 1024, "breachCapacity": 1024 },
              "engine": { "cpu": -1, "warmupMessages": 1000 }, "limits": { "maxTrackedOrders": 1024 } }
            """);
        return path;
    }

    private static (int Code, string Output) Llr(params string[] args)
    {
        using var llr = PeerProcess.StartDotnet("llr", args);
        int code = llr.WaitForExit(TimeSpan.FromSeconds(120));
        return (code, llr.Output);
    }

    [Fact]
    public void Engine_StartsOnTheExampleBook()
    {
        string book = Path.Combine(NativePeers.RepoRoot, "src", "LowLatencyRisk.Host", "examples", "book.json");
        var (code, output) = Llr("engine", "--config", Config(book), "--duration", "1");
        Assert.True(code == 0, output);
        Assert.Contains("book 3 accounts", output, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadBook_StopsTheEngineBeforeAnyFile_Exit2_NamingEachProblem()
    {
        string book = Path.Combine(_dir, "bad.json");
        File.WriteAllText(book, """{ "valuationTime": "2026-11-22T08:00:00Z", "underlyings": [ { "name": "BTC", "index": 0 } ], "instruments": [ { "name": "P", "underlying": "BTC", "kind": "perpetual" } ], "accounts": [ { "name": "x", "mode": "isolated" } ] }""");
        var (code, output) = Llr("engine", "--config", Config(book), "--duration", "1");
        Assert.Equal(2, code);
        Assert.Contains("invalid book", output, StringComparison.Ordinal);
        Assert.Contains("underlyings[0].index", output, StringComparison.Ordinal);
        Assert.Contains("accounts[0].mode", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "llr-feed")), "nothing is created for a refused book");
    }

    [Fact]
    public void Simulate_RefusesAFileBook()
    {
        string book = Path.Combine(NativePeers.RepoRoot, "src", "LowLatencyRisk.Host", "examples", "book.json");
        var (code, output) = Llr("simulate", "--config", Config(book), "--duration", "1");
        Assert.Equal(2, code);
        Assert.Contains("plays the generated book", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_BuildsTheSameFileBook_AsTheEngine()
    {
        // The engine (journal on) prints its state hash at a clean stop; llr replay of its journal
        // with the same configuration starts from the same file book and must reach the same hash.
        string book = Path.Combine(NativePeers.RepoRoot, "src", "LowLatencyRisk.Host", "examples", "book.json");
        string config = Path.Combine(_dir, "journaled.json");
        File.WriteAllText(config, $$"""
            { "book": { "file": "{{book}}" }, "rings": { "directory": "{{_dir}}", "feedCapacity": 1024, "breachCapacity": 1024 },
              "engine": { "cpu": -1, "warmupMessages": 1000 }, "limits": { "maxTrackedOrders": 1024 },
              "journal": { "mode": "journal", "directory": "journal", "segmentMegabytes": 1, "snapshotIntervalSeconds": 0 } }
            """);
        var (code, output) = Llr("engine", "--config", config, "--duration", "1");
        Assert.True(code == 0, output);
        string hash = System.Text.RegularExpressions.Regex.Match(output, "state hash (0x[0-9A-F]{16})").Groups[1].Value;
        Assert.NotEmpty(hash);
        string journal = Path.Combine(_dir, "journal");
        var (same, replayed) = Llr("replay", journal, "--config", config, "--expect", hash);
        Assert.True(same == 0, replayed);
        Assert.Contains("matches the expected hash", replayed, StringComparison.Ordinal);

        // Negative control: the generated book (no book.file) is another state.
        string generated = Path.Combine(_dir, "generated.json");
        File.WriteAllText(generated, $$"""{ "rings": { "directory": "{{_dir}}" }, "workload": { "accounts": 200, "underlyings": 2, "expiries": 3, "strikes": 5, "futures": 2, "positionsPerAccount": 10 } }""");
        var (differs, other) = Llr("replay", journal, "--config", generated, "--expect", hash);
        Assert.True(differs == 1, other);

        // A book file with problems stops the replay with them, exit 2.
        string bad = Path.Combine(_dir, "bad-book.json");
        File.WriteAllText(bad, """{ "valuationTime": "2026-11-22T08:00:00Z", "underlyings": [ { "name": "BTC", "index": -1 } ], "instruments": [ { "name": "P", "underlying": "BTC", "kind": "perpetual" } ], "accounts": [ { "name": "a" } ] }""");
        string badConfig = Path.Combine(_dir, "bad.json");
        File.WriteAllText(badConfig, $$"""{ "book": { "file": "{{bad}}" }, "rings": { "directory": "{{_dir}}" } }""");
        var (refused, why) = Llr("replay", journal, "--config", badConfig);
        Assert.Equal(2, refused);
        Assert.Contains("underlyings[0].index", why, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", why, StringComparison.Ordinal);
    }
}
