namespace LowLatencyRisk.Core.Book;

/// <content>
/// Account margin modes: portfolio, standard cross margin and isolated positions; switching between
/// them, and collateral transfers between an isolated position and its parent.
/// </content>
/// <remarks>
/// Every account keeps the same aggregates whatever its mode (netted Greeks, unrealized P&amp;L, the
/// risk array): the mode only decides which requirement its aggregates carry and how the account
/// combines them. A portfolio account's aggregate carries the methodology's
/// <see cref="IMarginMethodology.UnderlyingRequirement"/>; a standard or isolated account's carries
/// the sum of its positions' <see cref="IMarginMethodology.Position"/> requirements (initial in the
/// aggregate, maintenance beside it, so a tick moves both by one aggregate's difference). An isolated
/// position is an account of its own — bound to one instrument and a parent — so its collateral,
/// equity, ladder and liquidation are its own by construction, and the paths that serve every
/// account (fill, tick, what-if, gate, breaches, snapshots) serve it unchanged.
/// </remarks>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    private readonly double[] _auMaintenance; // a * U + u: per-position modes' maintenance requirement of the aggregate
    private readonly IsolationLink[] _links;  // by account

    /// <summary>The account's margin mode.</summary>
    public MarginMode Mode(int account) => _accounts[account].Mode;

    /// <summary>The parent of an isolated account (−1 for any other).</summary>
    public int IsolatedParent(int account) => _links[account].Parent;

    /// <summary>The one instrument an isolated account may hold (−1 for any other account).</summary>
    public int IsolatedInstrument(int account) => _links[account].Instrument;

    /// <summary>The requirement of one position of the account on its own (the per-position rule of standard and isolated margin), at the last valuation.</summary>
    public Requirement RequirementOfPosition(int account, int instrument) => PositionRequirement(instrument, PositionUnits(account, instrument));

    /// <summary>True when <paramref name="account"/> may hold <paramref name="instrument"/> (false only for an isolated account bound to another instrument).</summary>
    public bool MayHold(int account, int instrument) =>
        _accounts[account].Mode != MarginMode.Isolated || _links[account].Instrument == instrument;

    /// <summary>
    /// Initial and maintenance margin the account would have under <paramref name="mode"/>, from its
    /// aggregates and positions at the last valuation, without changing anything. Isolated is
    /// charged like standard.
    /// </summary>
    public Requirement RequirementUnder(int account, MarginMode mode)
    {
        int baseAu = account * _underlyings;
        if (mode == MarginMode.Portfolio)
        {
            double sum = 0;
            for (int u = 0; u < _underlyings; u++)
            {
                int au = baseAu + u;
                if (_au[au].PositionCount > 0)
                {
                    sum += PortfolioRequirementOf(au, u) + ProvisionAt(au);
                }
            }

            if (_components is { HasInterCommodity: true })
            {
                sum -= InterAdjustment(account, -1, 0, default, 0);
            }

            double initial = _method.AccountInitial(sum);
            return new Requirement(initial, _method.Maintenance(initial));
        }

        double im = 0, mm = 0;
        foreach (ref readonly Position p in _positions.AsSpan(account * _positionsPerAccount, _accounts[account].PositionCount))
        {
            Requirement r = PositionRequirement(p.Instrument, p.Quantity);
            im += r.Initial;
            mm += r.Maintenance;
        }

        return new Requirement(im + FundingProvision(account), mm);
    }

    /// <summary>
    /// Changes how <paramref name="account"/> is margined. Between portfolio and standard: allowed
    /// only when the ladder would read healthy under the new mode (a switch can never be the cause of
    /// a breach). To isolated (with <paramref name="parent"/> and <paramref name="instrument"/>) and
    /// back: only while the account holds no position; the parent must be another account that is
    /// not isolated itself, and an account that parents isolated ones cannot become isolated.
    /// Nothing changes unless it returns <see cref="ModeChangeResult.Changed"/>.
    /// </summary>
    public ModeChangeResult SetMarginMode(int account, MarginMode mode, int parent = -1, int instrument = -1)
    {
        if (!IsAccount(account) || mode > MarginMode.Isolated)
        {
            return ModeChangeResult.RejectedUnknownId;
        }

        ref AccountTotals t = ref _accounts[account];
        ref IsolationLink link = ref _links[account];
        if (mode == MarginMode.Isolated)
        {
            if (!IsAccount(parent) || !IsInstrument(instrument))
            {
                return ModeChangeResult.RejectedUnknownId;
            }

            if (t.Mode == MarginMode.Isolated && link.Parent == parent && link.Instrument == instrument)
            {
                return ModeChangeResult.Unchanged;
            }

            if (parent == account || _accounts[parent].Mode == MarginMode.Isolated || link.Children > 0)
            {
                return ModeChangeResult.RejectedInvalidParent;
            }

            if (t.PositionCount > 0)
            {
                return ModeChangeResult.RejectedNotFlat;
            }

            Unlink(account);
            link.Parent = parent;
            link.Instrument = instrument;
            _links[parent].Children++;
            t.Mode = MarginMode.Isolated;
            Remargin(account);
            return ModeChangeResult.Changed;
        }

        if (t.Mode == mode)
        {
            return ModeChangeResult.Unchanged;
        }

        if (t.Mode == MarginMode.Isolated)
        {
            if (t.PositionCount > 0)
            {
                return ModeChangeResult.RejectedNotFlat;
            }

            Unlink(account);
            t.Mode = mode;
            Remargin(account);
            return ModeChangeResult.Changed;
        }

        Requirement next = RequirementUnder(account, mode);
        if (MarginLadder.NextState(t.State, t.Equity, next.Initial, next.Maintenance, _config.Hysteresis) != MarginState.Healthy)
        {
            return ModeChangeResult.RejectedWouldBreach;
        }

        t.Mode = mode;
        RemarginFromPositions(account);
        return ModeChangeResult.Changed;
    }

    /// <summary>
    /// Moves <paramref name="amount"/> units of collateral <paramref name="asset"/> between an isolated
    /// account and its parent (either way). The source must hold the amount and stay healthy after
    /// it; nothing changes unless it returns <see cref="TransferResult.Applied"/>.
    /// </summary>
    public TransferResult TransferCollateral(int from, int to, int asset, double amount)
    {
        if (!IsAccount(from) || !IsAccount(to) || (uint)asset >= (uint)_assets || !_assetDefined[asset])
        {
            return TransferResult.RejectedUnknownId;
        }

        bool linked = (_accounts[to].Mode == MarginMode.Isolated && _links[to].Parent == from)
            || (_accounts[from].Mode == MarginMode.Isolated && _links[from].Parent == to);
        if (!linked)
        {
            return TransferResult.RejectedNotLinked;
        }

        int fromSlot = (from * _assets) + asset;
        int toSlot = (to * _assets) + asset;
        double fromBalance = _balances[fromSlot];
        double toBalance = _balances[toSlot];
        if (!(amount > 0) || !(amount <= fromBalance) || !IsAcceptableBalance(asset, toBalance + amount))
        {
            return TransferResult.RejectedInvalid;
        }

        // The source's collateral value after the move (haircut tiers make it non-linear).
        ref AccountTotals source = ref _accounts[from];
        _balances[fromSlot] = fromBalance - amount;
        double valueAfter = ComputeCollateralValue(from);
        _balances[fromSlot] = fromBalance;
        double equityAfter = valueAfter + source.Realized + source.UnrealizedTotal;
        double initialAfter = source.InitialMargin, maintenanceAfter = MaintenanceMargin(from);
        int u = _assetUnderlying[asset];
        if (_assetInScenarios[asset] && source.Mode == MarginMode.Portfolio && _au[(from * _underlyings) + u].PositionCount > 0)
        {
            // The coin leaving also leaves the source's scenarios in its underlying: its requirement
            // there is that of the risk array less the coin's share.
            if (_components is not null)
            {
                return TransferResult.RejectedWouldBreach; // not evaluated with portfolio components: refused rather than guessed
            }

            int au = (from * _underlyings) + u;
            double before = ScenarioCollateralValue(from, u);
            _balances[fromSlot] = fromBalance - amount;
            double after = ScenarioCollateralValue(from, u);
            _balances[fromSlot] = fromBalance;
            double scan = _grid.ScanOf(_riskArrays.AsSpan(au * _scenarios, _scenarios), _indexValueLoss.AsSpan(u * _scenarios, _scenarios), after - before, _calibration[u].ExtendedDampener);
            double sumAfter = source.RequirementSum - _au[au].Margin + MarginOf(u, scan, _au[au].ShortOptionUnits) + ProvisionAt(au);
            if (_jointTail)
            {
                // Two underlyings or more: the joint sample with the coin's change in this underlying's array.
                sumAfter = JointRequirement(from, sumAfter, u, after - before, _indexValueLoss.AsSpan(u * _scenarios, _scenarios), _au[au].ShortOptionUnits, ProvisionAt(au), double.PositiveInfinity);
            }

            initialAfter = _method.AccountInitial(sumAfter);
            maintenanceAfter = _method.Maintenance(initialAfter);
        }

        if (MarginLadder.NextState(source.State, equityAfter, initialAfter, maintenanceAfter, _config.Hysteresis) != MarginState.Healthy)
        {
            return TransferResult.RejectedWouldBreach;
        }

        SetCollateral(from, asset, fromBalance - amount);
        SetCollateral(to, asset, toBalance + amount);
        return TransferResult.Applied;
    }

    private void Unlink(int account)
    {
        ref IsolationLink link = ref _links[account];
        if (link.Parent >= 0)
        {
            _links[link.Parent].Children--;
        }

        link.Parent = -1;
        link.Instrument = -1;
    }

    /// <summary>Every aggregate of the account exactly from its positions under its (new) mode, then its margin.</summary>
    private void RemarginFromPositions(int account)
    {
        int baseAu = account * _underlyings;
        _accounts[account].MaintenanceSum = 0;
        _auMaintenance.AsSpan(baseAu, _underlyings).Clear();
        for (int u = 0; u < _underlyings; u++)
        {
            if (_au[baseAu + u].PositionCount > 0)
            {
                RecomputeAccountUnderlying(account, u);
            }
        }

        Remargin(account);
    }
}
