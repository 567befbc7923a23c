using System.Collections.Concurrent;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Persistence;
using LowLatencyRisk.Engine.Margin;
using Microsoft.Extensions.ObjectPool;

namespace LowLatencyRisk.Operations;

/// <summary>
/// Scratch books of the margin simulation service, reused between requests through
/// <see cref="ObjectPool{T}"/>: one pool per key (the grid, the margin parameters, the rounded
/// capacities and the components' underlyings a book is built from). A returned book is reset by
/// restoring the state of a new book of its key (one copy of its arrays, captured when the first was
/// built) before it is handed out again. Keys are bounded: past <see cref="MaxKeys"/> distinct ones,
/// books are built and dropped as without a pool, so hostile variety cannot grow memory.
/// </summary>
public sealed class ScratchBookPool : IScratchBooks
{
    private readonly ConcurrentDictionary<string, KeyPool> _pools = new(StringComparer.Ordinal);
    private readonly int _retainedPerKey;
    private long _built;
    private long _rented;
    private long _unpooled;

    /// <summary>A pool keeping up to <paramref name="retainedPerKey"/> idle books per key.</summary>
    public ScratchBookPool(int retainedPerKey = 16) => _retainedPerKey = Math.Max(1, retainedPerKey);

    /// <summary>Most distinct keys pooled.</summary>
    public const int MaxKeys = 64;

    /// <summary>Books built (pooled or not).</summary>
    public long Built => Interlocked.Read(ref _built);

    /// <summary>Books handed out.</summary>
    public long Rented => Interlocked.Read(ref _rented);

    /// <summary>Books handed out that an earlier request had used (reset, not built).</summary>
    public long Reused => Rented - Built;

    /// <summary>Books built past <see cref="MaxKeys"/> and not kept.</summary>
    public long Unpooled => Interlocked.Read(ref _unpooled);

    /// <summary>Distinct keys pooled.</summary>
    public int Keys => _pools.Count;

    /// <inheritdoc/>
    public RiskBook Rent(string key, Func<RiskBook> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        Interlocked.Increment(ref _rented);
        if (!_pools.TryGetValue(key, out var pool))
        {
            if (_pools.Count >= MaxKeys)
            {
                Interlocked.Increment(ref _unpooled);
                Interlocked.Increment(ref _built);
                return create();
            }

            pool = _pools.GetOrAdd(key, _ => new KeyPool(this, create, _retainedPerKey));
        }

        return pool.Pool.Get();
    }

    /// <inheritdoc/>
    public void Return(string key, RiskBook book)
    {
        ArgumentNullException.ThrowIfNull(book);
        if (_pools.TryGetValue(key, out var pool))
        {
            pool.Pool.Return(book);
        }
    }

    private sealed class KeyPool
    {
        public readonly ObjectPool<RiskBook> Pool;

        public KeyPool(ScratchBookPool owner, Func<RiskBook> create, int retained) =>
            Pool = new DefaultObjectPool<RiskBook>(new Policy(owner, create), retained);
    }

    private sealed class Policy(ScratchBookPool owner, Func<RiskBook> create) : IPooledObjectPolicy<RiskBook>
    {
        private byte[]? _pristine;

        public RiskBook Create()
        {
            Interlocked.Increment(ref owner._built);
            var book = create();
            if (Volatile.Read(ref _pristine) is null)
            {
                // Every book of a key is built from the same configuration: one new book's state is the reset of all.
                var measure = new StateMeasure();
                book.VisitState(measure);
                var bytes = new byte[measure.Length];
                book.VisitState(new StateCapture(bytes));
                Interlocked.CompareExchange(ref _pristine, bytes, null);
            }

            return book;
        }

        public bool Return(RiskBook obj)
        {
            var pristine = Volatile.Read(ref _pristine);
            if (pristine is null)
            {
                return false;
            }

            obj.VisitState(new StateRestore(pristine));
            return true;
        }
    }
}
