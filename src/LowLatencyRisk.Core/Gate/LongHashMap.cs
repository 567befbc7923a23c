using System.Runtime.CompilerServices;

namespace LowLatencyRisk.Core.Gate;

/// <summary>
/// A preallocated open-addressing hash map from 64-bit keys to struct values: linear probing,
/// backward-shift deletion (no tombstones), fixed capacity, no allocation after construction.
/// </summary>
/// <remarks>Single writer. Capacity is a power of two at least twice the maximum live count, so probes stay short.</remarks>
internal sealed class LongHashMap<TValue> where TValue : unmanaged
{
    private readonly long[] _keys;
    private readonly TValue[] _values;
    private readonly bool[] _used;
    private readonly int _mask;

    public LongHashMap(int maxCount)
    {
        int capacity = 16;
        while (capacity < maxCount * 2)
        {
            capacity <<= 1;
        }

        _keys = new long[capacity];
        _values = new TValue[capacity];
        _used = new bool[capacity];
        _mask = capacity - 1;
        MaxCount = maxCount;
    }

    public int Count => _count;

    private int _count;

    /// <summary>Walks the table for a snapshot or a restore.</summary>
    public void VisitState(Persistence.StateVisitor v)
    {
        v.Value(ref _count);
        v.Array(_keys);
        v.Array(_values);
        v.Array(_used);
    }

    public int MaxCount { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(long key)
    {
        ulong h = (ulong)key * 0x9E3779B97F4A7C15UL;
        return (int)(h >> 32);
    }

    /// <summary>A reference to the value of <paramref name="key"/>, or a null reference when absent.</summary>
    public ref TValue Find(long key)
    {
        int i = Hash(key) & _mask;
        while (_used[i])
        {
            if (_keys[i] == key)
            {
                return ref _values[i];
            }

            i = (i + 1) & _mask;
        }

        return ref Unsafe.NullRef<TValue>();
    }

    /// <summary>The value of <paramref name="key"/>, added as default if absent; null reference when full.</summary>
    public ref TValue GetOrAdd(long key, out bool added)
    {
        int i = Hash(key) & _mask;
        while (_used[i])
        {
            if (_keys[i] == key)
            {
                added = false;
                return ref _values[i];
            }

            i = (i + 1) & _mask;
        }

        if (Count == MaxCount)
        {
            added = false;
            return ref Unsafe.NullRef<TValue>();
        }

        _used[i] = true;
        _keys[i] = key;
        _values[i] = default;
        _count++;
        added = true;
        return ref _values[i];
    }

    /// <summary>Removes <paramref name="key"/>; false if absent.</summary>
    public bool Remove(long key)
    {
        int i = Hash(key) & _mask;
        while (_used[i])
        {
            if (_keys[i] == key)
            {
                // Backward-shift: move later members of the probe run into the hole.
                int hole = i;
                int j = (i + 1) & _mask;
                while (_used[j])
                {
                    int home = Hash(_keys[j]) & _mask;
                    bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
                    if (movable)
                    {
                        _keys[hole] = _keys[j];
                        _values[hole] = _values[j];
                        hole = j;
                    }

                    j = (j + 1) & _mask;
                }

                _used[hole] = false;
                _values[hole] = default;
                _count--;
                return true;
            }

            i = (i + 1) & _mask;
        }

        return false;
    }
}
