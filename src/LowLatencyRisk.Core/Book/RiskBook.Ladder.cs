
namespace LowLatencyRisk.Core.Book;

/// <content>The margin ladder: states with hysteresis, and the per-account transition queue the engine drains.</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    // Margin transitions since the last drain: at most one per account (coalesced), in the order
    // the accounts first changed, so the queue cannot overflow whoever forgets to drain it.
    private readonly MarginTransition[] _transitions; // by account
    private readonly WaitingAccounts _transitionOrder;

    /// <summary>Margin transitions folded into an earlier one of the same account that was still waiting to be drained.</summary>
    public long TransitionsCoalesced => _transitionsCoalesced;

    /// <summary>Takes the pending margin transition of the account that changed first; false when none.</summary>
    public bool TryDequeueTransition(out MarginTransition transition)
    {
        if (!_transitionOrder.TryPeek(out int account))
        {
            transition = default;
            return false;
        }

        transition = _transitions[account];
        _transitionOrder.Dequeue();
        return true;
    }

    private void Enqueue(in MarginTransition transition)
    {
        int a = transition.Account;
        if (_transitionOrder.TryEnqueue(a))
        {
            _transitions[a] = transition;
            return;
        }

        // The account already waits: one transition from its first from-state to the latest state.
        _transitionsCoalesced++;
        _transitions[a] = transition with { From = _transitions[a].From, Replaced = _transitions[a].Replaced + 1 };
    }
}

/// <summary>The margin ladder's rule, the same for every methodology: healthy → margin call → liquidation, with hysteresis.</summary>
public static class MarginLadder
{
    /// <summary>
    /// The ladder with hysteresis: worse states are entered at the threshold, better ones only once
    /// equity clears it by the hysteresis fraction. Every comparison is written so that a NaN (or an
    /// infinite margin) fails it: a number that is not a number never reads as healthy.
    /// </summary>
    public static MarginState NextState(MarginState current, double equity, double initial, double maintenance, double hysteresis)
    {
        if (!(equity >= maintenance) || !double.IsFinite(equity) || !double.IsFinite(initial))
        {
            return MarginState.Liquidation;
        }

        if (!(equity >= initial))
        {
            if (current == MarginState.Liquidation && !(equity >= maintenance * (1 + hysteresis)))
            {
                return MarginState.Liquidation;
            }

            return MarginState.MarginCall;
        }

        // equity ≥ initial
        if (current != MarginState.Healthy && !(equity >= initial * (1 + hysteresis)))
        {
            return current == MarginState.Liquidation && !(equity >= maintenance * (1 + hysteresis)) ? MarginState.Liquidation : MarginState.MarginCall;
        }

        return MarginState.Healthy;
    }
}
