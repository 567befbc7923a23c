using LowLatencyRisk.Core.Pricing;

namespace LowLatencyRisk.Core.Book;

/// <content>Revaluation: an underlying's instruments through the kernels, then its holders exactly from their positions (whole, or in steps between engine batches).</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    /// <summary>True when a mark arrived for <paramref name="underlying"/> since its last revaluation.</summary>
    public bool IsDirty(int underlying) => (uint)underlying < (uint)_underlyings && _blocks[underlying].Dirty;

    /// <summary>
    /// Revalues one underlying if dirty and re-margins its holders; false when it was clean. Lets
    /// a caller bound the pause of one call to a single underlying's revaluation.
    /// </summary>
    public bool Revalue(int underlying)
    {
        if (_slicedUnderlying == underlying)
        {
            ContinueRevalue(int.MaxValue);
        }

        if (!IsDirty(underlying))
        {
            return false;
        }

        RevalueUnderlying(underlying);
        return true;
    }

    /// <summary>Revalues every dirty underlying and re-margins its holders (see the class remarks).</summary>
    public void Revalue()
    {
        ContinueRevalue(int.MaxValue);
        for (int u = 0; u < _underlyings; u++)
        {
            if (_blocks[u].Dirty)
            {
                RevalueUnderlying(u);
            }
        }
    }

    private void RevalueUnderlying(int u)
    {
        // A sliced revaluation of this underlying that is still running is finished first.
        if (_slicedUnderlying == u)
        {
            ContinueRevalue(int.MaxValue);
        }

        if (BeginRevalueCore(u))
        {
            RevalueHolders(u, block: _blocks[u].Holders.Members);
            RevalueCollateralOf(u);
        }
    }

    /// <summary>
    /// Starts a revaluation of <paramref name="underlying"/> in slices: its instruments are revalued
    /// now; its holders are re-margined by <see cref="ContinueRevalue"/> a slice at a time, so a
    /// caller (the engine) can apply fills between slices. False when the underlying is clean or a
    /// sliced revaluation is already running.
    /// </summary>
    /// <remarks>
    /// Holders are taken from a snapshot of the holder set made now. An account that becomes a
    /// holder meanwhile held nothing before, so its fill applied the new values to zero sums; an
    /// account that stops holding is recomputed to zero: every holder ends exact. Until its slice
    /// comes, a holder's margin reflects the previous valuation.
    /// </remarks>
    public bool BeginRevalue(int underlying)
    {
        if (_slicedUnderlying >= 0 || !IsDirty(underlying) || !BeginRevalueCore(underlying))
        {
            return false;
        }

        ReadOnlySpan<int> holders = _blocks[underlying].Holders.Members;
        holders.CopyTo(_sliceHolders);
        _sliceCount = holders.Length;
        _sliceNext = 0;
        _slicedUnderlying = underlying;
        return true;
    }

    /// <summary>True while a sliced revaluation runs.</summary>
    public bool IsRevaluing => _slicedUnderlying >= 0;

    /// <summary>Re-margins up to <paramref name="maxAccounts"/> more holders of the running sliced revaluation; true when it has finished.</summary>
    public bool ContinueRevalue(int maxAccounts)
    {
        int u = _slicedUnderlying;
        if (u < 0)
        {
            return true;
        }

        int end = (int)Math.Min((long)_sliceNext + maxAccounts, _sliceCount);
        RevalueHolders(u, _sliceHolders.AsSpan(_sliceNext, end - _sliceNext));
        _sliceNext = end;
        if (end < _sliceCount)
        {
            return false;
        }

        _slicedUnderlying = -1;
        RevalueCollateralOf(u);
        return true;
    }

    private int _slicedUnderlying = -1;
    private int _sliceNext;
    private int _sliceCount;
    private readonly int[] _sliceHolders;

    /// <summary>Instrument revaluation; false when the underlying has no index yet (nothing to value).</summary>
    private bool BeginRevalueCore(int u)
    {
        var block = _blocks[u];
        block.Dirty = false;
        block.ValuedAtNanos = NowNanos;
        if (!block.HasIndex)
        {
            return false;
        }

        RevalueGroup(u, block, block.Options, isOption: true);
        RevalueGroup(u, block, block.Linear, isOption: false);
        block.Revaluations++;
        return true;
    }

    private void RevalueHolders(int u, ReadOnlySpan<int> block)
    {
        foreach (int account in block)
        {
            ref AccountUnderlying s = ref _au[(account * _underlyings) + u];
            double oldUnrealized = s.Unrealized;
            double oldMargin = s.Margin;
            RecomputeAccountUnderlying(account, u);
            RemarginAfter(account, u, oldUnrealized, oldMargin);
        }
    }

    private void RevalueCollateralOf(int u)
    {
        for (int x = 0; x < _assets; x++)
        {
            if (_assetDefined[x] && _assetUnderlying[x] == u)
            {
                foreach (int account in _assetHolders[x].Members)
                {
                    _accounts[account].Collateral = ComputeCollateralValue(account);
                    Remargin(account);
                }
            }
        }
    }

    private void RevalueGroup(int u, UnderlyingBlock block, UnderlyingBlock.Group g, bool isOption)
    {
        double index = block.Index;
        double carry = block.Carry;
        long now = NowNanos;
        for (int k = 0; k < g.Count; k++)
        {
            double t = g.Expiry[k] == 0 ? 0 : (g.Expiry[k] - now) / NanosPerYear;
            double forwardPerIndex = g.Kind[k] == (byte)InstrumentKind.Future ? Math.Exp(carry * Math.Max(t, 0)) : isOption ? Math.Exp(carry * Math.Max(t, 0)) : 1.0;
            g.ForwardPerIndex[k] = forwardPerIndex;
            g.Forward[k] = index * forwardPerIndex;
            g.Time[k] = isOption ? t : Math.Max(t, 0);
            if (!isOption)
            {
                g.Price[k] = g.Forward[k];
                g.Delta[k] = 1; // ∂F/∂F; the chain-rule factor is ForwardPerIndex
                g.Gamma[k] = 0;
                g.Vega[k] = 0;
                // Theta holds the index fixed: a future rolls down its basis (−b·F); spot and
                // perpetual positions have no time value.
                g.Theta[k] = g.Kind[k] == (byte)InstrumentKind.Future && t > 0 ? -carry * g.Forward[k] : 0;
                g.Rho[k] = 0;
            }
        }

        if (g.Count == 0)
        {
            return;
        }

        if (isOption)
        {
            GreeksKernel.Compute(g.GreekInputs, g.GreekOutputs);
            // The kernel prices on the forward (Black-76), so its theta holds F fixed; with the
            // index held fixed F = S·e^(bT) also moves in time: θ = θ_F − b·F·∂V/∂F.
            if (carry != 0)
            {
                for (int k = 0; k < g.Count; k++)
                {
                    if (g.Time[k] > 0)
                    {
                        g.Theta[k] -= carry * g.Forward[k] * g.Delta[k];
                    }
                }
            }
        }

        _calculators[u].Compute(g.RiskInputs, g.Rows.AsSpan(0, g.Count * _scenarios));
        for (int k = 0; k < g.Count; k++)
        {
            int id = g.Ids[k];
            double m = g.Multiplier[k];
            double f = g.ForwardPerIndex[k];
            ref InstrumentValue v = ref _values[id];
            v.Mark = g.Price[k];
            v.Multiplier = m;
            v.Delta = g.Delta[k] * f * m;
            v.Gamma = g.Gamma[k] * f * f * m;
            v.Vega = g.Vega[k] * m;
            v.Theta = g.Theta[k] * m;
            g.Row(k).CopyTo(_rows.AsSpan(id * _scenarios, _scenarios));
            if (_rowBound.Length > 0)
            {
                _rowBound[id] = LargestMagnitude(g.Row(k));
            }
        }
    }
}
