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
}
