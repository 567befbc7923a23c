using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Margin;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Testing;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>A venue's own starting book (<c>book.file</c>): built as the file says, margined as <c>llr margin</c> margins it, refused with every problem named.</summary>
public sealed class BookFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(TempFiles.Directory, $"llr-book-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public BookFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Example => Path.Combine(NativePeers.RepoRoot, "src", "LowLatencyRisk.Host", "examples", "book.json");

    [Fact]
    public void ExampleBook_IsBuiltAsTheFileSays_WithIdsInFileOrder()
    {
        var book = BookFile.Load(Example, new LlrConfig());
        Assert.Equal((2, 3, 2), (book.Config.MaxUnderlyings, book.Config.MaxAccounts, book.Config.MaxAssets));
        Assert.Equal(4 + 1024, book.Config.MaxInstruments); // room for definitions that arrive on the feed
        Assert.Equal((InstrumentKind.Perpetual, InstrumentKind.Put), (book.Instrument(0).Kind, book.Instrument(2).Kind));
        Assert.Equal(60_000, book.IndexPrice(0));
        Assert.Equal((1.0, -1.0), (book.PositionQuantity(0, 0), book.PositionQuantity(0, 1)));
        Assert.Equal((-2.0, 10.0), (book.PositionQuantity(1, 2), book.PositionQuantity(1, 3)));
        Assert.Equal((MarginMode.Portfolio, MarginMode.Standard, MarginMode.Isolated), (book.Mode(0), book.Mode(1), book.Mode(2)));
        Assert.Equal((1, 0), (book.IsolatedParent(2), book.IsolatedInstrument(2)));
        Assert.Equal(0.5, book.CollateralBalance(1, 1));
    }

    [Fact]
    public void EveryAccount_HasTheMargin_LlrMarginComputesForTheSameFile()
    {
        // Accounts never offset each other, so the engine's book margins each account as llr margin
        // does in a book of its own; the default configuration and llr margin's defaults agree.
        var book = BookFile.Load(Example, new LlrConfig());
        Assert.Null(PortfolioMargin.ReadFile(Example, out string json));
        var batch = PortfolioMargin.Compute(json, Example);
        for (int a = 0; a < batch.Accounts.Length; a++)
        {
            var expected = batch.Accounts[a];
            Assert.Equal(expected.Equity, book.Equity(a), 9);
            Assert.Equal(expected.InitialMargin, book.InitialMargin(a), 9);
            Assert.Equal(expected.MaintenanceMargin, book.MaintenanceMargin(a), 9);
        }

        Assert.True(book.InitialMargin(0) > 0 && book.InitialMargin(1) > 0, "a check on zeros would prove nothing");
    }

    /// <summary>
    /// Portfolio components in the engine's configuration name the book file's underlyings: the
    /// engine's book then margins each account of examples/spreads.json exactly as <c>llr margin</c>
    /// does with the same components in the file (CME's examples: 200, 300, 250, 2,700, 830,000).
    /// A component naming an underlying the book does not have is refused with its path.
    /// </summary>
    [Fact]
    public void PortfolioComponents_InTheEngineConfiguration_NameTheBookFilesUnderlyings()
    {
        string spreads = Path.Combine(NativePeers.RepoRoot, "src", "LowLatencyRisk.Host", "examples", "spreads.json");
        Assert.Null(PortfolioMargin.ReadFile(spreads, out string json));
        var batch = PortfolioMargin.Compute(json, spreads);
        var node = System.Text.Json.Nodes.JsonNode.Parse(json, documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip })!.AsObject();
        var engineConfig = new System.Text.Json.Nodes.JsonObject { ["scenarioGrid"] = node["scenarioGrid"]!.DeepClone(), ["margin"] = node["margin"]!.DeepClone() };
        node.Remove("scenarioGrid");
        node.Remove("margin");
        var config = LlrConfig.Parse(engineConfig.ToJsonString());
        var refused = Assert.Throws<ConfigException>(() => BookFile.Build(node.ToJsonString(), config));
        Assert.Contains("accounts[5].orders: the engine's working orders are the ones its gate accepts; a book file holds none", refused.Message, StringComparison.Ordinal);
        node["accounts"]![5]!.AsObject().Remove("orders");
        var book = BookFile.Build(node.ToJsonString(), config);
        Assert.NotNull(book.Components);
        for (int a = 0; a < batch.Accounts.Length; a++)
        {
            Assert.Equal(batch.Accounts[a].InitialMargin, book.InitialMargin(a), 6); // working orders never enter the ladder's margin
        }

        Assert.Equal([200.0, 300, 250, 2_700, 830_000, 0, 2_840], batch.Accounts.Select(x => Math.Round(x.InitialMargin, 6)));

        var wrong = LlrConfig.Parse(engineConfig.ToJsonString().Replace("\"CORN\"", "\"WHEAT\"", StringComparison.Ordinal));
        var e = Assert.Throws<ConfigException>(() => BookFile.Build(node.ToJsonString(), wrong));
        Assert.Contains("margin.components.interCommodity[0].legs[0].underlying: unknown underlying 'WHEAT'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadFile_IsRefused_WithEveryProblemNamedByItsPath()
    {
        string json = """
            {
              "valuationTime": "2026-11-22T08:00:00Z",
              "scenarioGrid": { "priceScanRange": 0.2 },
              "underlyings": [ { "name": "BTC", "index": -5 } ],
              "instruments": [ { "name": "P", "underlying": "XRP", "kind": "perpetual" } ],
              "accounts": [
                { "name": "a", "mode": "isolated", "instrument": "P" },
                { "name": "b", "parent": "a" },
                { "name": "a" }
              ]
            }
            """;
        var e = Assert.Throws<ConfigException>(() => BookFile.Build(json, new LlrConfig(), "book.json"));
        Assert.Contains(e.Problems, p => p.StartsWith("scenarioGrid: a book file takes the grid and margin parameters from the engine's configuration", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("underlyings[0].index:", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p == "instruments[0].underlying: unknown underlying 'XRP'");
        Assert.Contains(e.Problems, p => p.StartsWith("accounts[0].parent: an isolated account in the engine's book names its parent", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("accounts[1]: parent and instrument belong to isolated accounts only", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.StartsWith("accounts[2].name:", StringComparison.Ordinal) || p.Contains("'a'", StringComparison.Ordinal));
        Assert.StartsWith("book.json: invalid book:", e.Message, StringComparison.Ordinal);

        var unknown = Assert.Throws<ConfigException>(() => BookFile.Build("""{ "valuationTime": "2026-11-22T08:00:00Z", "underlyings": [], "instruments": [], "accounts": [], "colour": 1 }""", new LlrConfig()));
        Assert.Contains(unknown.Problems, p => p.Contains("colour", StringComparison.Ordinal));
        var missing = Assert.Throws<ConfigException>(() => BookFile.Load(Path.Combine(_dir, "none.json"), new LlrConfig()));
        Assert.Contains("cannot read the file", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Engine_ServesTheFileBook_AndAnnouncesAccountsThatStartUnhealthy()
    {
        // desk-a with too little collateral starts in liquidation: the liquidator hears it first.
        string text = File.ReadAllText(Example).Replace("\"balance\": 20000", "\"balance\": 100", StringComparison.Ordinal);
        string bookPath = Path.Combine(_dir, "book.json");
        File.WriteAllText(bookPath, text);
        var c = LlrConfig.Parse($$"""
            {
              "book": { "file": "{{bookPath}}" },
              "rings": { "directory": "{{_dir}}", "feedCapacity": 1024, "breachCapacity": 1024 },
              "engine": { "cpu": -1 },
              "limits": { "maxTrackedOrders": 1024 }
            }
            """);
        using var service = c.OpenEngine();
        var seen = new List<BreachRecord>();
        var reader = new Liquidator(service.Breach.CreateConsumer(0), seen.Add);
        Assert.True(reader.Poll() >= 1);
        Assert.Contains(seen, b => b.Account == 0 && b.To == MarginState.Liquidation && b.From == MarginState.Liquidation);

        // A fill on the file's ids moves the file's account.
        var producer = service.Feed.CreateMultiProducer();
        Assert.True(producer.TryClaim(1, out long slot));
        var p = producer.Payload(slot);
        FeedMessageDescriptor.WriteHeader(p, FeedMessageType.Fill, 1, 1, 1_795_334_400_000_000_000, 0);
        FeedMessageDescriptor.WriteFill(p, account: 1, instrument: 3, quantity: 5, price: 3000, tradeId: 1);
        producer.Publish(slot);
        while (service.Engine.PollOnce() > 0 || service.Engine.HasPendingMarks)
        {
        }

        Assert.Equal(15.0, service.Engine.Book.PositionQuantity(1, 3));
    }

    [Fact]
    public void SpareInstruments_TakeDefinitionsFromTheFeed_AfterTheFilesOwn()
    {
        // book.spareInstruments leaves ids after the file's instruments for definitions on the feed.
        var book = BookFile.Load(Example, LlrConfig.Parse("""{ "book": { "spareInstruments": 2 } }"""));
        var machine = new FeedStateMachine(book, null, new EngineCounters());
        var spec = new InstrumentSpec(InstrumentKind.Future, 0, 0, 1_798_761_600_000_000_000, 1, 0.5, 0.001);
        var p = new byte[FeedMessageDescriptor.PayloadSize];
        for (int id = 4; id <= 6; id++)
        {
            FeedMessageDescriptor.WriteHeader(p, FeedMessageType.InstrumentDefinition, 1, id - 3, 1_795_334_400_000_000_000, 0);
            FeedMessageDescriptor.WriteInstrumentDefinition(p, id, spec);
            machine.Apply(p);
        }

        Assert.True(book.IsInstrument(4) && book.IsInstrument(5));
        Assert.False(book.IsInstrument(6)); // beyond the spare room: refused, counted
        Assert.Equal(1, machine.Counters.Rejects[(int)FeedReject.InvalidDefinition]);
    }

    [Fact]
    public void ABookLargerThanTheMachine_IsRefusedWithItsSize_NotAnOutOfMemoryCrash()
    {
        // 1,024 underlyings × 200,000 instruments: every field within its bound, but each underlying
        // keeps a row per instrument slot (about 100 GiB preallocated).
        var text = new System.Text.StringBuilder("""{ "valuationTime": "2026-11-22T08:00:00Z", "underlyings": [""");
        for (int u = 0; u < 1024; u++)
        {
            text.Append(u == 0 ? "" : ",").Append("{\"name\":\"U").Append(u).Append("\",\"index\":100}");
        }

        text.Append("], \"instruments\": [");
        for (int i = 0; i < 200_000; i++)
        {
            text.Append(i == 0 ? "" : ",").Append("{\"name\":\"I").Append(i).Append("\",\"underlying\":\"U0\",\"kind\":\"perpetual\"}");
        }

        text.Append("""], "accounts": [ { "name": "a" } ] }""");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ConfigException>(() => BookFile.Build(text.ToString(), new LlrConfig(), "big.json"));
        Assert.Contains("the book would need about", e.Message, StringComparison.Ordinal);
        Assert.Contains("1,024 underlyings × 201,024 instrument slots", e.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 2L << 30, "refused before the book was allocated");

        // Negative control of the estimate: the example book is far below any machine's half.
        var small = BookFile.Load(Example, new LlrConfig());
        Assert.InRange(BookFile.EstimatedBytes(small.Config), 1, 64L << 20);
    }
}
