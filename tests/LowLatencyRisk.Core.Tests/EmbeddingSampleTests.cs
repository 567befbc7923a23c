using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests;

/// <summary>
/// The README's embedding sample — a matching engine's own thread calling the gate and the book
/// directly, no rings — compiled and run here, and kept identical to the README's text.
/// </summary>
public sealed class EmbeddingSampleTests
{
    private static readonly List<string> s_log = [];

    private static void Reject(long clientOrderId, RejectReason reason) => s_log.Add($"reject {clientOrderId} {reason}");

    private static void Liquidate(int account, MarginState state) => s_log.Add($"ladder {account} {state}");

    /// <summary>The sample, exactly as the README shows it (between the markers).</summary>
    private static RiskBook Sample(long now)
    {
        // README:begin
        // Start-up: capacities, the market, instruments, collateral (all preallocated here).
        var book = new RiskBook(new RiskConfig { MaxUnderlyings = 1, MaxInstruments = 16, MaxAccounts = 1_000 });
        book.DefineUnderlying(0);
        book.UpdateIndex(0, 60_000, now);
        book.DefineInstrument(0, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 0.5, 0.001));
        book.DefineAsset(0, -1, 1.0, [new HaircutTier(1e18, 0)]);
        book.Revalue();
        book.SetCollateral(7, 0, 10_000);
        var gate = new PreTradeGate(book, new GateConfig());

        // On the matching engine's thread, for each order: accept or reject with a reason (no allocation).
        var order = new OrderRequest(7, 0, OrderSide.Buy, 2, 60_000, OrderType.Limit, ClientOrderId: 1);
        Decision decision = gate.Check(order, now);
        if (!decision.Accepted)
        {
            Reject(order.ClientOrderId, decision.Reason); // e.g. InsufficientMargin, with decision.Limit and decision.Actual
        }

        // For each fill and each index tick; then, at the end of the engine's batch, revalue and
        // hand margin transitions (healthy → margin call → liquidation) to the liquidation logic.
        book.ApplyFill(7, 0, 0.1, 60_000);
        gate.OnOrderFilled(7, 1, 0.1, now);
        book.UpdateIndex(0, 54_500, now + 1_000_000_000);
        book.Revalue();
        while (book.TryDequeueTransition(out MarginTransition t))
        {
            Liquidate(t.Account, t.To);
        }
        // README:end
        return book;
    }

    [Fact]
    public void TheReadmeSample_Runs_AndSaysWhatItsCommentsSay()
    {
        s_log.Clear();
        var book = Sample(1_767_225_600_000_000_000);
        // 2 perpetuals at 60,000 = 120,000 of notional: IM far above 10,000 of collateral → refused for margin.
        Assert.Equal("reject 1 InsufficientMargin", s_log[0]);
        Assert.Equal(0.1, book.PositionQuantity(7, 0));
        // −9.2 %: the 0.1 perpetual loses 550; equity 9,450 stays above IM: no transition.
        Assert.Equal(MarginState.Healthy, book.State(7));
        Assert.Single(s_log);
    }

    [Fact]
    public void TheReadmeShowsExactlyThisSample()
    {
        string source = File.ReadAllText(Path.Combine(NativePeers.RepoRoot, "tests", "LowLatencyRisk.Core.Tests", "EmbeddingSampleTests.cs"));
        string readme = File.ReadAllText(Path.Combine(NativePeers.RepoRoot, "README.md"));
        string sample = Between(source, "// README:begin\n", "        // README:end");
        string dedented = string.Join('\n', sample.Split('\n').Select(l => l.Length >= 8 ? l[8..] : l.TrimStart()));
        Assert.Contains(dedented.TrimEnd(), readme, StringComparison.Ordinal);
    }

    private static string Between(string text, string begin, string end)
    {
        int from = text.IndexOf(begin, StringComparison.Ordinal) + begin.Length;
        return text[from..text.IndexOf(end, from, StringComparison.Ordinal)];
    }
}
