namespace LowLatencyRisk.Core.Book;

/// <summary>
/// A first-in first-out queue of distinct account ids, preallocated for every account: an account
/// is queued at most once, so the queue cannot fill. What waits for an account (a margin
/// transition, a breach) lives in an array indexed by the account beside it and is coalesced
/// while the account waits — loss is impossible by construction, not by sizing.
/// </summary>
/// <remarks>Single writer; no allocation after construction.</remarks>
public sealed class WaitingAccounts
{
    private readonly int[] _order;
    private readonly bool[] _queued;
    private int _head;
    private int _count;

    /// <summary>Creates a queue for account ids 0 … <paramref name="accounts"/> − 1.</summary>
    public WaitingAccounts(int accounts)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(accounts);
        _order = new int[accounts];
        _queued = new bool[accounts];
    }

    /// <summary>Accounts waiting.</summary>
    public int Count => _count;

    /// <summary>True when <paramref name="account"/> waits.</summary>
    public bool Contains(int account) => _queued[account];

    /// <summary>Queues <paramref name="account"/> at the tail; false (and nothing changes) when it already waits.</summary>
    public bool TryEnqueue(int account)
    {
        if (_queued[account])
        {
            return false;
        }

        _queued[account] = true;
        int tail = _head + _count;
        _order[tail >= _order.Length ? tail - _order.Length : tail] = account;
        _count++;
        return true;
    }

    /// <summary>The account at the head; false when none waits.</summary>
    public bool TryPeek(out int account)
    {
        if (_count == 0)
        {
            account = -1;
            return false;
        }

        account = _order[_head];
        return true;
    }

    /// <summary>Removes the account at the head (call after <see cref="TryPeek"/> returned true).</summary>
    public void Dequeue()
    {
        _queued[_order[_head]] = false;
        _head = _head + 1 == _order.Length ? 0 : _head + 1;
        _count--;
    }

    /// <summary>Walks the queue's state for a snapshot or a restore.</summary>
    public void VisitState(Persistence.StateVisitor visitor)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        visitor.Array(_order);
        visitor.Array(_queued);
        visitor.Value(ref _head);
        visitor.Value(ref _count);
    }
}
