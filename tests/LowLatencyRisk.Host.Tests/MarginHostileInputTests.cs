using System.Text;
using System.Text.Json.Nodes;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Host.Tests;

/// <summary>
/// `llr margin` against hostile input: every case ends with the documented exit code and a message
/// naming the problem, never a stack trace and never a non-finite number in the output. The cases
/// run in-process through the command's own entry (<see cref="MarginCommand.Execute"/>); a sample
/// also runs as a process to pin the exit code the shell sees.
/// </summary>
public sealed class MarginHostileInputTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>A small valid portfolio touching every entry kind: the base every case mutates.</summary>
    private static JsonObject Valid() => JsonNode.Parse("""
        {
          "valuationTime": "2026-11-22T08:00:00Z",
          "scenarioGrid": { "preset": "cmeSpan16", "priceScanRange": 0.15, "volScanRange": 0.25 },
          "margin": { "maintenanceFraction": 0.8 },
          "underlyings": [ { "name": "BTC", "index": 60000 }, { "name": "ETH", "index": 3000, "carry": 0.05 } ],
          "instruments": [
            { "name": "BTC-PERP", "underlying": "BTC", "kind": "perpetual" },
            { "name": "BTC-C", "underlying": "BTC", "kind": "call", "strike": 65000, "expiry": "2026-12-25T08:00:00Z", "volatility": 0.55 },
            { "name": "ETH-F", "underlying": "ETH", "kind": "future", "expiry": "2027-03-26T08:00:00Z" },
            { "name": "ETH-SPOT", "underlying": "ETH", "kind": "spot" }
          ],
          "assets": [
            { "name": "USD", "price": 1 },
            { "name": "BTC", "underlying": "BTC", "haircuts": [ { "upTo": 1000000, "haircut": 0.10 }, { "upTo": 1e18, "haircut": 0.25 } ] }
          ],
          "accounts": [
            { "name": "a", "collateral": [ { "asset": "USD", "balance": 20000 } ],
              "positions": [ { "instrument": "BTC-PERP", "side": "buy", "quantity": 1, "price": 59000 },
                             { "instrument": "BTC-C", "side": "sell", "quantity": 1, "price": 2100 } ] },
            { "name": "b", "collateral": [ { "asset": "USD", "balance": 15000 }, { "asset": "BTC", "balance": 0.5 } ],
              "positions": [ { "instrument": "ETH-F", "side": "buy", "quantity": 10, "price": 3010 },
                             { "instrument": "ETH-SPOT", "side": "sell", "quantity": 2, "price": 3000 } ] }
          ]
        }
        """)!.AsObject();

    private static string With(Action<JsonObject> change)
    {
        var n = Valid();
        change(n);
        return n.ToJsonString();
    }

    private static JsonNode Underlying(JsonObject n, int i) => n["underlyings"]![i]!;

    private static JsonNode Instrument(JsonObject n, int i) => n["instruments"]![i]!;

    private static JsonNode Asset(JsonObject n, int i) => n["assets"]![i]!;

    private static JsonNode Position(JsonObject n, int a, int p) => n["accounts"]![a]!["positions"]![p]!;

    private static JsonNode Collateral(JsonObject n, int a, int c) => n["accounts"]![a]!["collateral"]![c]!;

    private static string Many(string array, int count, Func<int, string> item) =>
        With(n => n[array] = JsonNode.Parse("[" + string.Join(",", Enumerable.Range(0, count).Select(item)) + "]"));

    /// <summary>Case → (file text, exit code, a fragment the message must contain).</summary>
    private static readonly Dictionary<string, (Func<string> Text, int Exit, string Fragment)> Cases = new()
    {
        // The base and extreme-but-valid files: exit 0 and finite numbers.
        ["valid base"] = (() => Valid().ToJsonString(), 0, "grid cme-span-16"),
        ["valid with a byte order mark"] = (() => "\uFEFF" + Valid().ToJsonString(), 0, "grid cme-span-16"),
        ["valid with comments and trailing commas"] = (() => Valid().ToJsonString().Replace("\"margin\":", "/* c */ \"margin\":", StringComparison.Ordinal)[..^1] + ",}", 0, "grid cme-span-16"),
        ["index at margin.maxPrice"] = (() => With(n => Underlying(n, 0)["index"] = 1e9), 0, "grid"),
        ["index tiny"] = (() => With(n => Underlying(n, 0)["index"] = 1e-300), 0, "grid"),
        ["quantity at margin.maxQuantity, price small"] = (() => With(n => { Position(n, 0, 0)["quantity"] = 1e9; Position(n, 0, 0)["price"] = 1; Underlying(n, 0)["index"] = 1; }), 0, "grid"),
        ["carry just below 1"] = (() => With(n => Underlying(n, 1)["carry"] = 0.999), 0, "grid"),
        ["volatility 10"] = (() => With(n => Instrument(n, 1)["volatility"] = 10), 0, "grid"),
        ["expired option"] = (() => With(n => Instrument(n, 1)["expiry"] = "2020-01-01T00:00:00Z"), 0, "grid"),
        ["option expiring 2261"] = (() => With(n => Instrument(n, 1)["expiry"] = "2261-12-01T00:00:00Z"), 0, "grid"),
        ["time with an offset"] = (() => With(n => n["valuationTime"] = "2026-11-22T09:00:00+01:00"), 0, "grid"),
        ["account with nothing"] = (() => With(n => n["accounts"]!.AsArray().Add(JsonNode.Parse("""{ "name": "empty" }"""))), 0, "empty"),
        ["negative collateral balance (a debt)"] = (() => With(n => Collateral(n, 0, 0)["balance"] = -5000), 0, "grid"),
        ["crypto grid, 41 steps"] = (() => With(n => n["scenarioGrid"] = JsonNode.Parse("""{ "preset": "crypto", "steps": 41 }""")), 0, "grid crypto-41x3"),
        ["crypto grid, 2 steps"] = (() => With(n => n["scenarioGrid"] = JsonNode.Parse("""{ "preset": "crypto", "steps": 2 }""")), 0, "grid crypto-2x3"),
        ["long name"] = (() => With(n => n["accounts"]![0]!["name"] = new string('x', 100_000)), 0, "grid"),
        ["unicode names"] = (() => With(n => { n["accounts"]![0]!["name"] = "账户-α"; }), 0, "账户-α"),
        ["1,024 underlyings"] = (() => Many("underlyings", 1024, i => $$"""{ "name": "U{{i}}", "index": {{100 + i}} }""").Replace("\"U0\"", "\"BTC\"", StringComparison.Ordinal).Replace("\"U1\"", "\"ETH\"", StringComparison.Ordinal), 0, "grid"),

        // Not JSON, or not this file's JSON.
        ["empty file"] = (() => "", 2, "$: not valid JSON"),
        ["null"] = (() => "null", 2, "$: the file holds null"),
        ["an array"] = (() => "[]", 2, "$: expected an object, found an array"),
        ["a number"] = (() => "42", 2, "$: expected an object, found the number 42"),
        ["truncated"] = (() => Valid().ToJsonString()[..100], 2, "$: not valid JSON"),
        ["trailing garbage"] = (() => Valid().ToJsonString() + "x", 2, "$: not valid JSON"),
        ["nested too deep"] = (() => new string('[', 10_000), 2, "$: not valid JSON"),
        ["single quotes"] = (() => "{ 'valuationTime': 1 }", 2, "$: not valid JSON"),
        ["NaN literal"] = (() => Valid().ToJsonString().Replace("60000", "NaN", StringComparison.Ordinal), 2, "$: not valid JSON"),
        ["number beyond double"] = (() => Valid().ToJsonString().Replace("60000", "1e400", StringComparison.Ordinal), 2, "$.underlyings[0].index: 1e400 is beyond the range of a double"),
        ["an empty object"] = (() => "{}", 2, "valuationTime: is required"),

        // Duplicate keys: refused, never last-wins.
        ["duplicate top-level key"] = (() => "{ \"underlyings\": [], " + Valid().ToJsonString()[1..], 2, "$.underlyings: the field is given twice"),
        ["duplicate key in an underlying"] = (() => Valid().ToJsonString().Replace("\"index\":60000", "\"index\":60000,\"index\":1", StringComparison.Ordinal), 2, "$.underlyings[0].index: the field is given twice"),
        ["duplicate key in a position"] = (() => Valid().ToJsonString().Replace("\"side\":\"buy\"", "\"side\":\"buy\",\"side\":\"sell\"", StringComparison.Ordinal), 2, "the field is given twice"),
        ["duplicate key in the grid"] = (() => Valid().ToJsonString().Replace("\"preset\":\"cmeSpan16\"", "\"preset\":\"cmeSpan16\",\"preset\":\"crypto\"", StringComparison.Ordinal), 2, "$.scenarioGrid.preset: the field is given twice"),

        // Unknown fields and wrong types, every one reported.
        ["unknown top-level field"] = (() => With(n => n["valuationTme"] = "x"), 2, "$.valuationTme: unknown field 'valuationTme'"),
        ["unknown instrument field"] = (() => With(n => Instrument(n, 1)["strik"] = 5), 2, "$.instruments[1].strik: unknown field 'strik'"),
        ["unknown position field"] = (() => With(n => Position(n, 0, 0)["qty"] = 5), 2, "$.accounts[0].positions[0].qty: unknown field"),
        ["index as a string"] = (() => With(n => Underlying(n, 0)["index"] = "60000"), 2, "$.underlyings[0].index: expected a number, found the string \"60000\""),
        ["quantity as a boolean"] = (() => With(n => Position(n, 0, 0)["quantity"] = true), 2, "$.accounts[0].positions[0].quantity: expected a number, found true"),
        ["accounts as an object"] = (() => With(n => n["accounts"] = new JsonObject()), 2, "$.accounts: expected an array, found an object"),
        ["kind unknown"] = (() => With(n => Instrument(n, 0)["kind"] = "swap"), 2, "$.instruments[0].kind: 'swap' is not one of spot, future, perpetual, call, put"),
        ["kind as a number"] = (() => With(n => Instrument(n, 0)["kind"] = 2), 2, "$.instruments[0].kind: expected one of spot, future, perpetual, call, put, found the number 2"),
        ["side unknown"] = (() => With(n => Position(n, 0, 0)["side"] = "long"), 2, "$.accounts[0].positions[0].side: 'long' is not one of buy, sell"),
        ["side in capitals"] = (() => With(n => Position(n, 0, 0)["side"] = "BUY"), 2, "'BUY' is not one of buy, sell"),
        ["preset unknown"] = (() => With(n => n["scenarioGrid"]!["preset"] = "span2"), 2, "$.scenarioGrid.preset: 'span2' is not one of cmeSpan16, crypto"),
        ["steps fractional"] = (() => With(n => n["scenarioGrid"]!["steps"] = 9.5), 2, "$.scenarioGrid.steps: 9.5 is not a whole number"),
        ["steps beyond int"] = (() => With(n => n["scenarioGrid"]!["steps"] = 1e10), 2, "$.scenarioGrid.steps: 10000000000 is not a whole number"),
        ["name as a number"] = (() => With(n => n["accounts"]![0]!["name"] = 5), 2, "$.accounts[0].name: expected a string"),
        ["three problems at once"] = (() => With(n => { Underlying(n, 0)["index"] = "x"; Instrument(n, 0)["kind"] = "y"; Position(n, 0, 0)["z"] = 1; }), 2, "$.accounts[0].positions[0].z: unknown field"),

        // Required fields are required.
        ["no valuationTime"] = (() => With(n => n.Remove("valuationTime")), 2, "valuationTime: is required"),
        ["no underlyings"] = (() => With(n => n.Remove("underlyings")), 2, "underlyings: at least one entry is required"),
        ["empty instruments"] = (() => With(n => n["instruments"] = new JsonArray()), 2, "instruments: at least one entry is required"),
        ["no accounts"] = (() => With(n => n.Remove("accounts")), 2, "accounts: at least one entry is required"),
        ["no assets"] = (() => With(n => n["assets"] = new JsonArray()), 2, "assets: at least one entry is required"),
        ["no side"] = (() => With(n => Position(n, 0, 0).AsObject().Remove("side")), 2, "accounts[0].positions[0].side: is required (buy or sell)"),
        ["no kind"] = (() => With(n => Instrument(n, 0).AsObject().Remove("kind")), 2, "instruments[0].kind: is required"),
        ["no quantity"] = (() => With(n => Position(n, 0, 0).AsObject().Remove("quantity")), 2, "accounts[0].positions[0].quantity: is required"),
        ["no price"] = (() => With(n => Position(n, 0, 0).AsObject().Remove("price")), 2, "accounts[0].positions[0].price: is required"),
        ["no index"] = (() => With(n => Underlying(n, 0).AsObject().Remove("index")), 2, "underlyings[0].index: is required"),
        ["no balance"] = (() => With(n => Collateral(n, 0, 0).AsObject().Remove("balance")), 2, "accounts[0].collateral[0].balance: is required"),
        ["no instrument in a position"] = (() => With(n => Position(n, 0, 0).AsObject().Remove("instrument")), 2, "accounts[0].positions[0].instrument: is required"),
        ["no underlying of an instrument"] = (() => With(n => Instrument(n, 0).AsObject().Remove("underlying")), 2, "instruments[0].underlying: is required"),
        ["no account name"] = (() => With(n => n["accounts"]![0]!.AsObject().Remove("name")), 2, "accounts[0].name: is required"),
        ["blank account name"] = (() => With(n => n["accounts"]![0]!["name"] = "  "), 2, "accounts[0].name: is required"),
        ["no underlying name"] = (() => With(n => Underlying(n, 0)["name"] = ""), 2, "underlyings[0].name: is required"),
        ["option without expiry"] = (() => With(n => Instrument(n, 1).AsObject().Remove("expiry")), 2, "instruments[1].expiry: is required"),
        ["option without strike"] = (() => With(n => Instrument(n, 1).AsObject().Remove("strike")), 2, "instruments[1].strike: an option needs one"),
        ["option without volatility"] = (() => With(n => Instrument(n, 1).AsObject().Remove("volatility")), 2, "instruments[1].volatility: an option needs an implied volatility"),
        ["future without expiry"] = (() => With(n => Instrument(n, 2).AsObject().Remove("expiry")), 2, "instruments[2].expiry: is required"),

        // Times: an offset, a real time, 1970 .. 2261.
        ["time without offset"] = (() => With(n => n["valuationTime"] = "2026-11-22T08:00:00"), 2, "valuationTime: '2026-11-22T08:00:00' is not an ISO 8601 time with an offset"),
        ["date only"] = (() => With(n => n["valuationTime"] = "2026-11-22"), 2, "is not an ISO 8601 time with an offset"),
        ["time garbage"] = (() => With(n => n["valuationTime"] = "yesterday"), 2, "valuationTime: 'yesterday' is not an ISO 8601 time"),
        ["time as a number"] = (() => With(n => n["valuationTime"] = 1700000000), 2, "$.valuationTime: expected a string, found the number"),
        ["impossible date"] = (() => With(n => n["valuationTime"] = "2026-02-30T08:00:00Z"), 2, "is not an ISO 8601 time"),
        ["time before 1970"] = (() => With(n => n["valuationTime"] = "1969-12-31T23:59:59Z"), 2, "valuationTime: 1969-12-31T23:59:59Z is outside 1970-01-01 .. 2261-12-31"),
        ["time in 2262"] = (() => With(n => n["valuationTime"] = "2262-06-01T00:00:00Z"), 2, "is outside 1970-01-01 .. 2261-12-31"),
        ["expiry without offset"] = (() => With(n => Instrument(n, 1)["expiry"] = "2026-12-25T08:00:00"), 2, "instruments[1].expiry: '2026-12-25T08:00:00' is not an ISO 8601 time with an offset"),
        ["expiry in 2300"] = (() => With(n => Instrument(n, 1)["expiry"] = "2300-01-01T00:00:00Z"), 2, "instruments[1].expiry: 2300-01-01T00:00:00Z is outside"),
        ["expiry year 9999"] = (() => With(n => Instrument(n, 2)["expiry"] = "9999-12-31T23:59:59Z"), 2, "instruments[2].expiry: 9999-12-31T23:59:59Z is outside"),
        ["perpetual with an expiry"] = (() => With(n => Instrument(n, 0)["expiry"] = "2027-01-01T00:00:00Z"), 2, "instruments[0].expiry: a perpetual has no expiry"),

        // Duplicates: names, collateral assets.
        ["duplicate underlying name"] = (() => With(n => Underlying(n, 1)["name"] = "BTC"), 2, "underlyings[1].name: 'BTC' is used twice"),
        ["duplicate instrument name"] = (() => With(n => Instrument(n, 3)["name"] = "ETH-F"), 2, "instruments[3].name: 'ETH-F' is used twice"),
        ["duplicate asset name"] = (() => With(n => Asset(n, 1)["name"] = "USD"), 2, "assets[1].name: 'USD' is used twice"),
        ["duplicate account name"] = (() => With(n => n["accounts"]![1]!["name"] = "a"), 2, "accounts[1].name: 'a' is used twice"),
        ["the same collateral asset twice"] = (() => With(n => n["accounts"]![1]!["collateral"]![1]!["asset"] = "USD"), 2, "accounts[1].collateral[1].asset: 'USD' is listed twice in this account"),

        // References to nothing.
        ["unknown underlying of an instrument"] = (() => With(n => Instrument(n, 0)["underlying"] = "SOL"), 2, "instruments[0].underlying: unknown underlying 'SOL'"),
        ["unknown instrument of a position"] = (() => With(n => Position(n, 0, 0)["instrument"] = "BTC-NOPE"), 2, "accounts[0].positions[0].instrument: unknown instrument 'BTC-NOPE'"),
        ["unknown asset of collateral"] = (() => With(n => Collateral(n, 0, 0)["asset"] = "EUR"), 2, "accounts[0].collateral[0].asset: unknown asset 'EUR'"),
        ["unknown underlying of an asset"] = (() => With(n => Asset(n, 1)["underlying"] = "SOL"), 2, "assets[1].underlying: unknown underlying 'SOL'"),
        ["names differ by case"] = (() => With(n => Position(n, 0, 0)["instrument"] = "btc-perp"), 2, "unknown instrument 'btc-perp'"),

        // Assets: exactly one of price and underlying.
        ["asset with price and underlying"] = (() => With(n => Asset(n, 1)["price"] = 60000), 2, "assets[1]: give exactly one of price (a fixed price) and underlying (priced at its index); both were given"),
        ["asset with neither"] = (() => With(n => Asset(n, 0).AsObject().Remove("price")), 2, "assets[0]: give exactly one of price"),
        ["asset price 0"] = (() => With(n => Asset(n, 0)["price"] = 0), 2, "assets[0].price: 0 is not in (0, margin.maxPrice"),
        ["asset price negative"] = (() => With(n => Asset(n, 0)["price"] = -1), 2, "assets[0].price: -1 is not in"),
        ["asset price 1e300"] = (() => With(n => Asset(n, 0)["price"] = 1e300), 2, "assets[0].price: 1E+300 is not in"),
        ["haircut tiers decreasing"] = (() => With(n => Asset(n, 1)["haircuts"]![1]!["upTo"] = 10), 2, "assets[1].haircuts[1]: limits must increase"),
        ["haircut above 1"] = (() => With(n => Asset(n, 1)["haircuts"]![0]!["haircut"] = 1.5), 2, "assets[1].haircuts[0]: limits must increase and haircuts be in [0, 1]"),
        ["haircut negative"] = (() => With(n => Asset(n, 1)["haircuts"]![0]!["haircut"] = -0.1), 2, "assets[1].haircuts[0]"),

        // Numbers out of bounds.
        ["index 0"] = (() => With(n => Underlying(n, 0)["index"] = 0), 2, "underlyings[0].index: 0 is not a price in (0, margin.maxPrice = 1000000000]"),
        ["index negative"] = (() => With(n => Underlying(n, 0)["index"] = -60000), 2, "underlyings[0].index: -60000 is not a price"),
        ["index 1e300"] = (() => With(n => Underlying(n, 0)["index"] = 1e300), 2, "underlyings[0].index: 1E+300 is not a price"),
        ["carry 1e300"] = (() => With(n => Underlying(n, 1)["carry"] = 1e300), 2, "underlyings[1].carry: 1E+300 is not a cost-of-carry rate in (-1, 1)"),
        ["carry 1"] = (() => With(n => Underlying(n, 1)["carry"] = 1), 2, "underlyings[1].carry: 1 is not a cost-of-carry rate"),
        ["carry -5"] = (() => With(n => Underlying(n, 1)["carry"] = -5), 2, "underlyings[1].carry: -5 is not"),
        ["strike 0"] = (() => With(n => Instrument(n, 1)["strike"] = 0), 2, "instruments[1].strike: 0 is not in (0, margin.maxPrice"),
        ["strike 1e300"] = (() => With(n => Instrument(n, 1)["strike"] = 1e300), 2, "instruments[1].strike: 1E+300 is not in"),
        ["strike on a perpetual"] = (() => With(n => Instrument(n, 0)["strike"] = 5), 2, "instruments[0].strike: only options have one"),
        ["volatility on a future"] = (() => With(n => Instrument(n, 2)["volatility"] = 0.5), 2, "instruments[2].volatility: only options have one"),
        ["volatility 0"] = (() => With(n => Instrument(n, 1)["volatility"] = 0), 2, "instruments[1].volatility: an option needs an implied volatility in (0, 10]"),
        ["volatility 11"] = (() => With(n => Instrument(n, 1)["volatility"] = 11), 2, "instruments[1].volatility"),
        ["volatility negative"] = (() => With(n => Instrument(n, 1)["volatility"] = -0.2), 2, "instruments[1].volatility"),
        ["multiplier 0"] = (() => With(n => Instrument(n, 0)["multiplier"] = 0), 2, "instruments[0]: multiplier must be in (0, margin.maxMultiplier"),
        ["multiplier 1e300"] = (() => With(n => Instrument(n, 0)["multiplier"] = 1e300), 2, "instruments[0]: multiplier must be in"),
        ["tick size negative"] = (() => With(n => Instrument(n, 0)["tickSize"] = -0.01), 2, "instruments[0]: multiplier must be in (0, margin.maxMultiplier = 100000000], tick and lot size positive"),
        ["lot size 0"] = (() => With(n => Instrument(n, 0)["lotSize"] = 0), 2, "tick and lot size positive and finite"),
        ["quantity 0"] = (() => With(n => Position(n, 0, 0)["quantity"] = 0), 2, "accounts[0].positions[0].quantity: 0 is not in (0, margin.maxQuantity"),
        ["quantity negative"] = (() => With(n => Position(n, 0, 0)["quantity"] = -1), 2, "(a short position is side \"sell\")"),
        ["quantity 1e308"] = (() => With(n => Position(n, 0, 0)["quantity"] = 1e308), 2, "accounts[0].positions[0].quantity: 1E+308 is not in"),
        ["price 0"] = (() => With(n => Position(n, 0, 0)["price"] = 0), 2, "accounts[0].positions[0].price: 0 is not a price"),
        ["price 1e308"] = (() => With(n => Position(n, 0, 0)["price"] = 1e308), 2, "accounts[0].positions[0].price: 1E+308 is not a price"),
        ["notional beyond maxNotional"] = (() => With(n => { Position(n, 0, 0)["quantity"] = 1e9; Position(n, 0, 0)["price"] = 1e9; Underlying(n, 0)["index"] = 1e9; }), 2, "accounts[0].positions[0]: refused by the book"),
        ["collateral beyond maxCollateralUnits"] = (() => With(n => Collateral(n, 0, 0)["balance"] = 1e300), 2, "accounts[0].collateral[0].balance: 1E+300 is beyond margin.maxCollateralUnits"),
        ["collateral value beyond maxCollateralValue"] = (() => With(n => { n["accounts"]![1]!["collateral"]![1]!["balance"] = 1e12; }), 2, "accounts[1].collateral[1].balance: 1000000000000 is beyond"),

        // Parameters.
        ["priceScanRange 0.5 with extreme 3"] = (() => With(n => n["scenarioGrid"]!["priceScanRange"] = 0.5), 2, "scenarioGrid: priceScanRange × extremeMultiplier = 1.5 must be below 1"),
        ["priceScanRange 0.99"] = (() => With(n => n["scenarioGrid"]!["priceScanRange"] = 0.99), 2, "priceScanRange × extremeMultiplier = 2.97 must be below 1"),
        ["extremeMultiplier 10"] = (() => With(n => n["scenarioGrid"]!["extremeMultiplier"] = 10), 2, "priceScanRange × extremeMultiplier = 1.5 must be below 1"),
        ["priceScanRange 1"] = (() => With(n => n["scenarioGrid"]!["priceScanRange"] = 1), 2, "scenarioGrid.priceScanRange: 1 is not in (0, 1)"),
        ["volScanRange 5"] = (() => With(n => n["scenarioGrid"]!["volScanRange"] = 5), 2, "scenarioGrid.volScanRange: 5 is not in (0, 5)"),
        ["steps 1"] = (() => With(n => n["scenarioGrid"] = JsonNode.Parse("""{ "preset": "crypto", "steps": 1 }""")), 2, "scenarioGrid.steps: 1 is not in 2..41"),
        ["maintenanceFraction 0"] = (() => With(n => n["margin"]!["maintenanceFraction"] = 0), 2, "margin.maintenanceFraction: 0 is not in (0, 1]"),
        ["maintenanceFraction 2"] = (() => With(n => n["margin"]!["maintenanceFraction"] = 2), 2, "margin.maintenanceFraction: 2 is not in (0, 1]"),
        ["rate 1"] = (() => With(n => n["margin"]!["rate"] = 1), 2, "margin.rate: 1 is not a rate below 100 %"),

        // Sizes: refused up front, by name.
        ["1,025 underlyings"] = (() => Many("underlyings", 1025, i => $$"""{ "name": "U{{i}}", "index": 100 }"""), 2, "underlyings: 1,025 entries; at most 1,024"),
        ["257 assets"] = (() => Many("assets", 257, i => $$"""{ "name": "A{{i}}", "price": 1 }"""), 2, "assets: 257 entries; at most 256"),
        ["4,097 positions in an account"] = (() => With(n => n["accounts"]![0]!["positions"] = JsonNode.Parse("[" + string.Join(",", Enumerable.Repeat("""{ "instrument": "BTC-PERP", "side": "buy", "quantity": 1, "price": 60000 }""", 4097)) + "]")), 2, "accounts[0].positions: 4,097 entries; at most 4,096 per account"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Fact]
    public void TheSuiteHasAtLeastAHundredCases() => Assert.True(Cases.Count >= 100, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Margin_HostileInput_ExitCodeMessage_NoStackTrace_NoNonFiniteNumber(string name)
    {
        var (text, exit, fragment) = Cases[name];
        string path = _files.NewPath("portfolio");
        File.WriteAllText(path, text(), new UTF8Encoding(false));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = MarginCommand.Execute(path, "both", stdout, stderr);
        string all = stdout + "\n" + stderr;
        Assert.True(exit == code, $"{name}: exit {code}, expected {exit}; output: {Head(all)}");
        Assert.True(all.Contains(fragment, StringComparison.Ordinal), $"{name}: '{fragment}' not in: {Head(all)}");
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
        AssertNoNonFinite(all);
        if (exit != 0)
        {
            Assert.Equal("", stdout.ToString()); // a refusal prints no result at all
        }
    }

    [Fact]
    public void InvalidUtf8_IsRefused_NotReplaced()
    {
        // Before: invalid bytes were replaced before parsing, so two different names became one.
        byte[] text = Encoding.UTF8.GetBytes(Valid().ToJsonString().Replace("\"name\":\"a\"", "\"name\":\"a\u00e9\"", StringComparison.Ordinal));
        int at = Array.IndexOf(text, (byte)0xC3);
        text[at] = 0xFF;
        string path = _files.NewPath("portfolio");
        File.WriteAllBytes(path, text);
        var stderr = new StringWriter();
        Assert.Equal(2, MarginCommand.Execute(path, "table", new StringWriter(), stderr));
        Assert.Contains("not valid UTF-8", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void OversizedFile_IsRefusedBeforeItIsRead()
    {
        string path = _files.NewPath("portfolio");
        using (var fs = File.Create(path))
        {
            fs.SetLength(LowLatencyRisk.Engine.Margin.PortfolioMargin.MaxFileBytes + 1); // sparse: nothing is written
        }

        var stderr = new StringWriter();
        Assert.Equal(2, MarginCommand.Execute(path, "table", new StringWriter(), stderr));
        Assert.Contains("the limit is 67,108,864", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ManyEmptyAccountsOverManyUnderlyings_MemoryFollowsWhatIsHeld()
    {
        // Before: 1,024 underlyings × 10,000 empty accounts (a 215 KB file) took 6.8 GB and died out
        // of memory: the book was sized by the product. Each account now has a book of its own.
        var n = Valid();
        var underlyings = new JsonArray();
        for (int i = 0; i < 1024; i++)
        {
            underlyings.Add(JsonNode.Parse($$"""{ "name": "{{(i == 0 ? "BTC" : i == 1 ? "ETH" : "U" + i)}}", "index": 100 }"""));
        }

        n["underlyings"] = underlyings;
        var accounts = n["accounts"]!.AsArray();
        for (int i = 0; i < 10_000; i++)
        {
            accounts.Add(JsonNode.Parse($$"""{ "name": "e{{i}}" }"""));
        }

        string path = _files.NewPath("portfolio");
        File.WriteAllText(path, n.ToJsonString());
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var stdout = new StringWriter();
        Assert.Equal(0, MarginCommand.Execute(path, "table", stdout, new StringWriter()));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Contains("e9999", stdout.ToString(), StringComparison.Ordinal);
        Assert.True(allocated < 2L << 30, $"{allocated:N0} bytes allocated");
    }

    [Fact]
    public void State_IsThatOfTheFinalPortfolio_NotOfTheLoadingPath()
    {
        // Before: collateral and fills were applied before the first revaluation, so an account
        // passed through worse states and the ladder's hysteresis kept it there: of a long and a
        // short perpetual, each with equity 9,100 above IM 9,000 (inside the 2 % hysteresis band),
        // the long reported MarginCall (measured on the code before the fix).
        string json = """
            { "valuationTime": "2026-11-22T08:00:00Z",
              "underlyings": [ { "name": "BTC", "index": 60000 } ],
              "instruments": [ { "name": "BTC-PERP", "underlying": "BTC", "kind": "perpetual" } ],
              "assets": [ { "name": "USD", "price": 1 } ],
              "accounts": [
                { "name": "long", "collateral": [ { "asset": "USD", "balance": 9100 } ], "positions": [ { "instrument": "BTC-PERP", "side": "buy", "quantity": 1, "price": 60000 } ] },
                { "name": "short", "collateral": [ { "asset": "USD", "balance": 9100 } ], "positions": [ { "instrument": "BTC-PERP", "side": "sell", "quantity": 1, "price": 60000 } ] } ] }
            """;
        var r = Engine.Margin.PortfolioMargin.Compute(json);
        foreach (var a in r.Accounts)
        {
            Assert.True(a.Equity >= a.InitialMargin, $"{a.Account}: equity {a.Equity} below IM {a.InitialMargin}: the premise");
            Assert.Equal("Healthy", a.State);
        }
    }

    [Fact]
    public void Result_DoesNotDependOnTheOrderOfEntries()
    {
        // Every array reversed (underlyings, instruments, assets, accounts, each account's collateral
        // and positions): the same numbers and states per account name.
        var forward = Engine.Margin.PortfolioMargin.Compute(Valid().ToJsonString());
        var n = Valid();
        foreach (string array in new[] { "underlyings", "instruments", "assets", "accounts" })
        {
            n[array] = new JsonArray([.. n[array]!.AsArray().Reverse().Select(x => x!.DeepClone())]);
        }

        foreach (var account in n["accounts"]!.AsArray())
        {
            foreach (string array in new[] { "collateral", "positions" })
            {
                account![array] = new JsonArray([.. account[array]!.AsArray().Reverse().Select(x => x!.DeepClone())]);
            }
        }

        var reversed = Engine.Margin.PortfolioMargin.Compute(n.ToJsonString()).Accounts.ToDictionary(a => a.Account);
        foreach (var a in forward.Accounts)
        {
            var b = reversed[a.Account];
            Assert.Equal(a.State, b.State);
            Assert.Equal(a.Equity, b.Equity, 9);
            Assert.Equal(a.InitialMargin, b.InitialMargin, 9);
            Assert.Equal(a.MaintenanceMargin, b.MaintenanceMargin, 9);
            Assert.Equal(a.Underlyings.Select(u => u.Underlying).Order(), b.Underlyings.Select(u => u.Underlying).Order());
        }
    }

    [Theory]
    [InlineData("no side", 2)]
    [InlineData("time without offset", 2)]
    [InlineData("duplicate top-level key", 2)]
    [InlineData("carry 1e300", 2)]
    [InlineData("valid base", 0)]
    public void AsAProcess_TheShellSeesTheSameExitCode(string name, int exit)
    {
        string path = _files.NewPath("portfolio");
        File.WriteAllText(path, Cases[name].Text());
        using var llr = PeerProcess.StartDotnet("llr", "margin", path, "--format", "json");
        Assert.Equal(exit, llr.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains(Cases[name].Fragment == "grid cme-span-16" ? "cme-span-16" : Cases[name].Fragment, llr.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", llr.Output, StringComparison.Ordinal);
    }

    private static void AssertNoNonFinite(string output)
    {
        foreach (string bad in new[] { "NaN", "Infinity", "∞" })
        {
            Assert.False(output.Contains(bad, StringComparison.Ordinal), $"'{bad}' printed: {Head(output)}");
        }
    }

    private static string Head(string s) => s.Length <= 600 ? s : s[..600] + "…";
}
