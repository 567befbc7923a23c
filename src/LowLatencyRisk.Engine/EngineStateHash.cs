using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine.Wire;

namespace LowLatencyRisk.Engine;

/// <summary>
/// A 64-bit hash (FNV-1a over the exact bits) of the engine's recorded state: the last sequence of
/// every producer, every market mark, every account's positions (instrument, quantity, average
/// price), realized P&amp;L and collateral balances. The same accepted messages in the same order
/// always give the same hash, however the work was sliced in time.
/// </summary>
/// <remarks>
/// Derived values (margins, Greeks, risk arrays) and the margin ladder are left out on purpose:
/// margins are recomputed from this state by a revaluation, and the ladder's path depends on when
/// revaluations ran (wall-clock coalescing), not only on the messages. Recovery recomputes both.
/// So are the engine's own decisions that follow the ladder — liquidation orders, the fees charged
/// on their fills and the insurance fund's payments (<see cref="Core.Book.RiskBook{TMargin}.SettledCash"/>):
/// a recovery restores them from the journal's engine records, not from the messages.
/// </remarks>
public static class EngineStateHash
{
    private const ulong Offset = 14695981039346656037, Prime = 1099511628211;

    /// <summary>
    /// The hash of <paramref name="engine"/>'s state. <paramref name="includeProducerSequences"/>
    /// false leaves out the transport bookkeeping: a message with a well-formed header consumes its
    /// producer sequence even when its body is refused (a resend of that sequence is a duplicate).
    /// </summary>
    public static ulong Compute(RiskEngine engine, bool includeProducerSequences = true)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return Of(engine.Machine, includeProducerSequences);
    }

    /// <summary>The hash of the state <paramref name="machine"/> (the decisions alone) has applied.</summary>
    public static ulong Compute(FeedStateMachine machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        return Of(machine, includeProducerSequences: true);
    }

    /// <summary>
    /// The hash of the market (indices, marks) and of the accounts shard <paramref name="shard"/> of
    /// <paramref name="map"/> owns, without producer sequences: what a shard and an unsharded engine
    /// fed the same input must agree on, account set by account set.
    /// </summary>
    public static ulong ComputeShard(FeedStateMachine machine, ShardMap map, int shard)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(map);
        return Of(machine, includeProducerSequences: false, a => map.ShardOf(a) == shard);
    }

    private static ulong Of(FeedStateMachine engine, bool includeProducerSequences, Func<int, bool>? accounts = null)
    {
        var book = engine.Book;
        ulong h = Offset;
        for (int p = 0; p < FeedMessageDescriptor.MaxProducers && includeProducerSequences; p++)
        {
            h = Mix(h, (ulong)engine.LastProducerSequence(p));
            h = Mix(h, engine.ProducerEpoch(p));
        }

        for (int u = 0; u < book.Config.MaxUnderlyings; u++)
        {
            h = Mix(h, book.IsUnderlying(u) ? Bits(book.IndexPrice(u)) : 0);
        }

        for (int i = 0; i < book.Config.MaxInstruments; i++)
        {
            if (book.IsInstrument(i))
            {
                h = Mix(h, (ulong)i);
                h = Mix(h, book.Instrument(i).IsOption ? Bits(book.MarkVolatility(i)) : 0);
            }
        }

        for (int a = 0; a < book.Config.MaxAccounts; a++)
        {
            if (accounts is not null && !accounts(a))
            {
                continue;
            }

            h = Mix(h, Bits(book.RealizedPnl(a)));
            for (int x = 0; x < book.Config.MaxAssets; x++)
            {
                h = Mix(h, Bits(book.CollateralBalance(a, x)));
            }

            int n = book.PositionCount(a);
            for (int k = 0; k < n; k++)
            {
                int instrument = book.PositionInstrumentAt(a, k);
                h = Mix(h, (ulong)instrument);
                h = Mix(h, Bits(book.PositionQuantity(a, instrument)));
                h = Mix(h, Bits(book.PositionAveragePrice(a, instrument)));
            }
        }

        return h;
    }

    private static ulong Bits(double v) => (ulong)BitConverter.DoubleToInt64Bits(v);

    private static ulong Mix(ulong h, ulong v)
    {
        for (int i = 0; i < 8; i++)
        {
            h = (h ^ (v & 0xFF)) * Prime;
            v >>= 8;
        }

        return h;
    }
}
