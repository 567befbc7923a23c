namespace LowLatencyRisk.Host.Tests;

/// <summary>Configurations the process tests start `llr engine`, `llr simulate` and `llr liquidator` with.</summary>
internal static class TestConfigs
{
    /// <summary>A small synthetic book (2 underlyings, 300 accounts), rings in <paramref name="dir"/>, nothing pinned; returns the file's path.</summary>
    public static string SmallEngine(string dir)
    {
        string config = Path.Combine(dir, "llr.json");
        File.WriteAllText(config, $$"""
            {
              "workload": { "underlyings": 2, "futures": 2, "expiries": 3, "strikes": 5, "accounts": 300, "positionsPerAccount": 10, "collateralToMargin": 1.2 },
              "rings": { "directory": "{{dir}}", "feedCapacity": 1024, "breachCapacity": 65536 },
              "engine": { "cpu": -1, "wait": "yielding", "warmupMessages": 0 },
              "liquidator": { "cpu": -1 }
            }
            """);
        return config;
    }
}
