using System.Text.Json;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Engine.Tests;

public class ConfigTests
{
    private static string Example => Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "LowLatencyRisk.Host", "examples", "llr.json");

    [Fact]
    public void EmptyFile_IsTheDefaults_AndTheExampleSpellsOutTheSameDefaults()
    {
        var empty = LlrConfig.Parse("{}");
        var example = LlrConfig.Load(Example);
        // The example names every field with its default value, except the machine-dependent ones.
        string a = JsonSerializer.Serialize(empty, LlrConfig.JsonOptions);
        string b = JsonSerializer.Serialize(example, LlrConfig.JsonOptions);
        Assert.Equal(Normalize(a), Normalize(b));
        Assert.Empty(empty.Validate());
    }

    private static string Normalize(string json)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        node["rings"]!["directory"] = "";
        node["engine"]!["cpu"] = 0;
        return node.ToJsonString();
    }

    [Theory]
    [InlineData("""{ "rings": { "feedCapacty": 5 } }""", "$.rings.feedCapacty: unknown field 'feedCapacty'")]
    [InlineData("""{ "engine": { "wait": "spinny" } }""", "$.engine.wait: 'spinny' is not one of busySpin, yielding, sleeping")]
    [InlineData("""{ "workload": { "accounts": "many" } }""", "$.workload.accounts: expected a whole number, found the string \"many\"")]
    [InlineData("""{ "workload": { "accounts": 2.5 } }""", "$.workload.accounts: 2.5 is not a whole number that fits a Int32")]
    [InlineData("""{ "journal": { "mode": 1 } }""", "$.journal.mode: expected one of none, journal, journalSync, found the number 1")]
    [InlineData("""{ "rings": { "directory": "/a" }, "rings": { "directory": "/b" } }""", "$.rings: the field is given twice")]
    [InlineData("""{ "workload": { "accounts": 5, "accounts": 6 } }""", "$.workload.accounts: the field is given twice")]
    [InlineData("""{ "workload": """, "$: not valid JSON")]
    [InlineData("""null""", "$: the file holds null")]
    [InlineData("""{ "limits": { "throttleRate": -1 } }""", "limits.throttleRate: out of range")]
    [InlineData("""{ "limits": { "maxOpenOrders": 2.5 } }""", "limits.maxOpenOrders: out of range")]
    [InlineData("""{ "limits": { "dailyLossLimit": 0 } }""", "limits.dailyLossLimit: out of range")]
    [InlineData("""{ "limits": { "dayStartOffsetHours": 24 } }""", "limits.dayStartOffsetHours: must be in [0, 24)")]
    [InlineData("""{ "haircuts": [ { "upTo": 10, "haircut": 0.1 }, { "upTo": 5, "haircut": 0.2 } ] }""", "haircuts[1].upTo")]
    [InlineData("""{ "scenarioGrid": { "preset": "crypto", "steps": 1 } }""", "scenarioGrid.steps: 1 is not in 2..41")]
    [InlineData("""{ "rings": { "feed": "../etc/x" } }""", "rings.feed: must be a file name")]
    [InlineData("""{ "rings": { "breach": "llr-feed" } }""", "rings: feed, breach and counters need distinct names")]
    [InlineData("""{ "simulator": { "producerId": 64 } }""", "simulator.producerId: 64 is not in 1..63")]
    [InlineData("""{ "margin": { "maintenanceFraction": 1.5 } }""", "margin.maintenanceFraction: 1.5 is not in (0, 1]")]
    public void InvalidFiles_NameTheFieldAndTheProblem(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => LlrConfig.Parse(json, "test.json"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("test.json: invalid configuration", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShapeCheck_NamesDeepPaths_AfterSiblings_AndDoesNotTakeASiblingsKeyForARepeat()
    {
        // The walk keeps the path as a stack and renders it only for a problem: each problem must name
        // its own element after siblings were walked, and a key repeated in a sibling object (every
        // position has "instrument") is not a repeat (negative control of the duplicate check).
        string json = """
            { "accounts": [
                { "name": "a", "positions": [ { "instrument": "X", "quantity": 1 }, { "instrument": "Y", "quantity": 2 } ] },
                { "name": "b", "positions": [ { "instrument": "X", "quantity": 1 }, { "instrument": "Y", "quantity": "two", "quantity": 3 }, { "instrument": "Z", "sides": "buy" } ] } ],
              "valuationTime": "2026-11-22T08:00:00Z", "valuationTime": "2026-11-23T08:00:00Z" }
            """;
        var problems = JsonShape.Check<LowLatencyRisk.Engine.Margin.PortfolioFile>(json);
        Assert.Equal(
        [
            "$.accounts[1].positions[1].quantity: expected a number, found the string \"two\"",
            "$.accounts[1].positions[1].quantity: the field is given twice (a repeated key would silently replace the first)",
            "$.accounts[1].positions[2].sides: unknown field 'sides' (known here: instrument, price, quantity, side)",
            "$.valuationTime: the field is given twice (a repeated key would silently replace the first)",
        ], problems);
    }

    /// <summary>The generated book's underlyings have no names: components name them by id, and an id the book does not have is refused.</summary>
    [Fact]
    public void Components_OnTheGeneratedBook_NameUnderlyingsByTheirIds()
    {
        const string Json = "{ \"margin\": { \"components\": { \"sizeAddOns\": [ { \"underlying\": \"UNDERLYING\", \"baseRate\": 0.01 } ] } } }";
        var config = LlrConfig.Parse(Json.Replace("UNDERLYING", "1", StringComparison.Ordinal));
        var risk = config.Apply(new LowLatencyRisk.Core.Book.RiskConfig { MaxUnderlyings = 4 });
        Assert.Equal(1, Assert.Single(risk.Components.SizeAddOns).Underlying);
        Assert.Equal(0.01, risk.Components.SizeAddOns[0].BaseRate);

        var beyond = LlrConfig.Parse(Json.Replace("UNDERLYING", "4", StringComparison.Ordinal));
        var e = Assert.Throws<ConfigException>(() => beyond.Apply(new LowLatencyRisk.Core.Book.RiskConfig { MaxUnderlyings = 4 }));
        Assert.Contains("margin.components.sizeAddOns[0].underlying: unknown underlying '4'", e.Message, StringComparison.Ordinal);
        Assert.True(LlrConfig.Parse("{}").Apply(new LowLatencyRisk.Core.Book.RiskConfig()).Components.IsEmpty, "none by default");
    }

    [Fact]
    public void EveryShapeProblemIsReported_AtOnce()
    {
        // Before: only the first type error or unknown field was reported (the serializer stops there).
        var e = Assert.Throws<ConfigException>(() => LlrConfig.Parse("""
            { "workload": { "acounts": 5, "strikes": "x" }, "engine": { "wait": "fast", "cpu": true }, "rings": {}, "rings": {} }
            """));
        Assert.Equal(
            [
                "$.workload.acounts: unknown field 'acounts' (known here: accounts, collateralToMargin, expiries, futures, maxPositionsPerAccount, positionsPerAccount, seed, strikes, underlyings)",
                "$.workload.strikes: expected a whole number, found the string \"x\"",
                "$.engine.wait: 'fast' is not one of busySpin, yielding, sleeping",
                "$.engine.cpu: expected a whole number, found true",
                "$.rings: the field is given twice (a repeated key would silently replace the first)",
            ],
            e.Problems);
    }

    [Fact]
    public void EveryProblemIsReported_NotJustTheFirst()
    {
        var e = Assert.Throws<ConfigException>(() => LlrConfig.Parse("""{ "workload": { "accounts": 0, "strikes": 0 }, "margin": { "rate": 2 } }"""));
        Assert.Equal(3, e.Problems.Count);
    }

    [Fact]
    public void ConfigurationReachesTheBookAndTheGate()
    {
        var c = LlrConfig.Parse("""
            { "workload": { "underlyings": 1, "futures": 1, "expiries": 1, "strikes": 2, "accounts": 10, "positionsPerAccount": 2 },
              "scenarioGrid": { "preset": "crypto", "priceScanRange": 0.2, "steps": 5, "volScanRange": 0.1 },
              "margin": { "maintenanceFraction": 0.6, "jumps": "reject" },
              "limits": { "maxOrderQuantity": 7, "creditLimit": 1000 } }
            """);
        var w = c.BuildWorkload();
        Assert.Equal(15, w.Book.Scenarios);
        Assert.Equal(0.6, w.Book.Config.MaintenanceFraction);
        Assert.Equal(Core.Book.JumpPolicy.Reject, w.Book.Config.Jumps);
        Assert.Equal(10, w.Book.Config.MaxAccounts);
        var g = c.ToGateConfig();
        Assert.Equal(7, g.MaxOrderQuantity);
        Assert.Equal(1000, g.CreditLimit);
        Assert.Equal(double.PositiveInfinity, g.UnderlyingPositionLimit);
    }
}
