namespace LowLatencyRisk.Core.Book;

/// <summary>
/// A set of account ids with O(1) add, remove and membership and dense iteration: the accounts
/// that hold something in one underlying (or one collateral asset), so a price tick visits only them.
/// </summary>
internal sealed class HolderSet
{
    private readonly int[] _members;
    private readonly int[] _slotOf; // account → index in _members + 1; 0 = absent

    public HolderSet(int capacity)
    {
        _members = new int[capacity];
        _slotOf = new int[capacity];
    }

    public int Count => _count;

    private int _count;

    public void VisitState(Persistence.StateVisitor v)
    {
        v.Value(ref _count);
        v.Array(_members);
        v.Array(_slotOf);
    }

    public ReadOnlySpan<int> Members => _members.AsSpan(0, Count);

    public bool Contains(int account) => _slotOf[account] != 0;

    public void Add(int account)
    {
        if (_slotOf[account] != 0)
        {
            return;
        }

        _members[_count] = account;
        _slotOf[account] = ++_count;
    }

    public void Remove(int account)
    {
        int slot = _slotOf[account] - 1;
        if (slot < 0)
        {
            return;
        }

        int last = _members[--_count];
        _members[slot] = last;
        _slotOf[last] = slot + 1;
        _slotOf[account] = 0;
    }
}
