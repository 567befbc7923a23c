using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;

namespace LowLatencyRisk.Fixtures;

/// <summary>
/// The pre-trade benchmark scenario: the full standard workload, account 0 re-populated with 50
/// positions across 2 underlyings, and a gate over it whose throttle and size limits do not get
/// in the way of a benchmark's millions of orders.
/// </summary>
public static class GateWorkload
{
    /// <summary>The account the gate benchmarks check.</summary>
    public const int Account = 0;

    /// <summary>Builds the workload and gate.</summary>
    public static (StandardWorkload Workload, PreTradeGate Gate) Build()
    {
        var w = StandardWorkload.Build(new WorkloadScale { MaxPositionsPerAccount = 64 });
        var book = w.Book;
        // Flatten account 0, then give it 50 positions: 25 in each of underlyings 0 and 1.
        while (book.PositionCount(Account) > 0)
        {
            int i = book.PositionInstrumentAt(Account, 0);
            book.ApplyFill(Account, i, -book.PositionQuantity(Account, i), book.MarkPrice(i));
        }

        book.SetCollateral(Account, StandardWorkload.UsdAsset, 5_000_000);
        for (int u = 0; u < 2; u++)
        {
            double unit = Math.Max(0.01, Math.Round(30_000 / StandardWorkload.InitialIndex(u), 2));
            for (int k = 0; k < 25; k++)
            {
                int instrument = w.InstrumentsByUnderlying[u][(k * 7) + 1];
                book.ApplyFill(Account, instrument, (k % 2 == 0 ? 1 : -1) * unit, book.MarkPrice(instrument));
            }
        }

        book.Revalue();
        while (book.TryDequeueTransition(out _))
        {
        }

        if (book.PositionCount(Account) != 50)
        {
            throw new InvalidOperationException($"expected 50 positions, got {book.PositionCount(Account)}");
        }

        // A 1 ms duplicate window with the benchmark clock advancing 1 µs per order keeps about a
        // thousand ended ids remembered: the steady state of a venue, not an ever-growing table.
        var gate = new PreTradeGate(book, new GateConfig { ThrottleRate = 1e12, ThrottleBurst = 1e12, MaxOrderQuantity = 1_000, MaxOrderNotional = 1e12, PositionLimit = 1e6, DuplicateWindowNanos = 1_000_000, MaxTrackedOrders = 1 << 16 });
        return (w, gate);
    }

    /// <summary>Rounds a price to the tick.</summary>
    public static double OnTick(double price, double tick) => Math.Round(price / tick) * tick;
}
