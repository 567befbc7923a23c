
namespace LowLatencyRisk.Core.Book;

/// <content>Collateral: assets (fixed price or an underlying's index), tiered haircuts, balances and their value.</content>
public partial class RiskBook<TMargin>
    where TMargin : struct, IMarginMethodology
{
    // Collateral.
    private readonly double[] _balances; // a * A + asset
    private readonly bool[] _assetDefined;
    private readonly int[] _assetUnderlying;
    private readonly double[] _assetFixedPrice;
    private readonly HaircutTier[][] _assetTiers;
    private readonly HolderSet[] _assetHolders;

    private readonly bool[] _assetInScenarios;
    private readonly double[] _indexValueLoss; // u * S + j: weighted loss per unit of value moving with the index (basis rows 0)
    private int _scenarioAssets;               // assets that move in the scenarios

    /// <summary>Defines collateral asset <paramref name="asset"/>: priced by an underlying's index, or at a fixed price when <paramref name="linkedUnderlying"/> is −1, with tiered haircuts; in the scenarios as <see cref="RiskConfig.CollateralInScenarios"/> says.</summary>
    public void DefineAsset(int asset, int linkedUnderlying, double fixedPrice, ReadOnlySpan<HaircutTier> tiers) =>
        DefineAsset(asset, linkedUnderlying, fixedPrice, tiers, _config.CollateralInScenarios);

    /// <summary>
    /// Defines collateral asset <paramref name="asset"/>. With <paramref name="inScenarios"/> and a
    /// linked underlying, the asset's haircut value moves with the index in every scenario of that
    /// underlying for an account holding positions in it: its loss (−value × move × weight per row;
    /// nothing in a basis row) is added to the account's risk array there, so a short put backed by
    /// the coin is margined for the coin falling with the put, and a covered call for the coin
    /// rising with the call. The haircut applies first: the haircut value moves, in proportion
    /// (exact for one haircut tier; with tiers, the tier of today's value is kept).
    /// </summary>
    public void DefineAsset(int asset, int linkedUnderlying, double fixedPrice, ReadOnlySpan<HaircutTier> tiers, bool inScenarios)
    {
        if ((uint)asset >= (uint)_assets)
        {
            throw new ArgumentOutOfRangeException(nameof(asset), asset, $"Asset ids are 0..{_assets - 1}.");
        }

        if (linkedUnderlying != -1 && ((uint)linkedUnderlying >= (uint)_underlyings || !_blocks[linkedUnderlying].Defined))
        {
            throw new ArgumentException($"Asset {asset}: underlying {linkedUnderlying} is not defined.", nameof(linkedUnderlying));
        }

        if (linkedUnderlying == -1 && !(fixedPrice > 0 && double.IsFinite(fixedPrice)))
        {
            throw new ArgumentException($"Asset {asset}: a fixed price must be positive.", nameof(fixedPrice));
        }

        double last = 0;
        foreach (var t in tiers)
        {
            if (!(t.UpToValue > last) || t.Haircut is < 0 or > 1 || double.IsNaN(t.Haircut))
            {
                throw new ArgumentException($"Asset {asset}: tiers must have increasing limits and haircuts in [0, 1].", nameof(tiers));
            }

            last = t.UpToValue;
        }

        _scenarioAssets -= _assetInScenarios[asset] ? 1 : 0; // a redefinition replaces the asset's flag
        _assetDefined[asset] = true;
        _assetUnderlying[asset] = linkedUnderlying;
        _assetFixedPrice[asset] = fixedPrice;
        _assetTiers[asset] = tiers.ToArray();
        _assetInScenarios[asset] = inScenarios && linkedUnderlying >= 0;
        _scenarioAssets += _assetInScenarios[asset] ? 1 : 0;
    }

    /// <summary>True when the asset moves in its underlying's scenarios (<see cref="DefineAsset(int, int, double, ReadOnlySpan{HaircutTier}, bool)"/>).</summary>
    public bool IsAssetInScenarios(int asset) => (uint)asset < (uint)_assets && _assetInScenarios[asset];

    /// <summary>The underlying whose index prices the asset, or −1 for a fixed price.</summary>
    public int AssetUnderlying(int asset) => (uint)asset < (uint)_assets && _assetDefined[asset] ? _assetUnderlying[asset] : -1;

    /// <summary>The haircut value of the account's collateral that moves in <paramref name="underlying"/>'s scenarios.</summary>
    public double ScenarioCollateralValue(int account, int underlying)
    {
        if (_scenarioAssets == 0)
        {
            return 0;
        }

        double value = 0;
        int baseIndex = account * _assets;
        for (int x = 0; x < _assets; x++)
        {
            double balance = _balances[baseIndex + x];
            if (balance != 0 && _assetInScenarios[x] && _assetUnderlying[x] == underlying)
            {
                value += HaircutValue(x, balance);
            }
        }

        return value;
    }

    /// <summary>
    /// What the coin collateral moving in <paramref name="underlying"/>'s scenarios adds to the
    /// account's scan risk there (negative when it hedges the positions: a covered call): the scan
    /// risk less the scan risk of the same risk array without the coin's term. 0 without positions.
    /// </summary>
    public double ScenarioCollateralImpact(int account, int underlying)
    {
        int au = (account * _underlyings) + underlying;
        if (_au[au].PositionCount == 0)
        {
            return 0;
        }

        double value = ScenarioCollateralValue(account, underlying);
        if (value == 0)
        {
            return 0;
        }

        ReadOnlySpan<double> array = _riskArrays.AsSpan(au * _scenarios, _scenarios);
        double dampener = _calibration[underlying].ExtendedDampener;
        return _grid.ScanOf(array, dampener) - _grid.ScanOf(array, _indexValueLoss.AsSpan(underlying * _scenarios, _scenarios), -value, dampener);
    }

    /// <summary>Adds the account's scenario collateral of <paramref name="u"/> to a risk array (the position loop's sums are already in it).</summary>
    private void AddScenarioCollateral(int account, int u, Span<double> array)
    {
        double value = ScenarioCollateralValue(account, u);
        if (value != 0)
        {
            MultiplyAdd(array, value, _indexValueLoss.AsSpan(u * _scenarios, _scenarios));
        }
    }

    /// <summary>Sets an account's balance of a collateral asset; false for unknown ids or a non-finite balance.</summary>
    public bool SetCollateral(int account, int asset, double balance)
    {
        if (!IsAccount(account) || (uint)asset >= (uint)_assets || !_assetDefined[asset])
        {
            return false;
        }

        if (!IsAcceptableBalance(asset, balance))
        {
            return false;
        }

        _balances[(account * _assets) + asset] = balance;
        if (balance != 0)
        {
            _assetHolders[asset].Add(account);
        }
        else
        {
            _assetHolders[asset].Remove(account);
        }

        _accounts[account].Collateral = ComputeCollateralValue(account);
        int linked = _assetUnderlying[asset];
        if (_assetInScenarios[asset] && _au[(account * _underlyings) + linked].PositionCount > 0)
        {
            RecomputeAccountUnderlying(account, linked); // the coin's term in the scenarios changed
        }

        Remargin(account);
        return true;
    }

    /// <summary>Haircut value of <paramref name="balance"/> units of an asset at its current price (tiers applied to the gross value).</summary>
    public double HaircutValue(int asset, double balance)
    {
        double price = AssetPrice(asset);
        double gross = balance * price;
        if (gross <= 0)
        {
            return gross; // a debt counts in full
        }

        var tiers = _assetTiers[asset];
        if (tiers.Length == 0)
        {
            return gross;
        }

        double value = 0;
        double from = 0;
        for (int t = 0; t < tiers.Length && from < gross; t++)
        {
            double to = Math.Min(gross, tiers[t].UpToValue);
            value += (to - from) * (1 - tiers[t].Haircut);
            from = to;
        }

        if (from < gross)
        {
            value += (gross - from) * (1 - tiers[^1].Haircut);
        }

        return value;
    }

    /// <summary>
    /// Units bounded always, value while the asset has a price: with prices bounded too, every
    /// later valuation of the balance stays finite.
    /// </summary>
    private bool IsAcceptableBalance(int asset, double balance)
    {
        double price = AssetPrice(asset);
        return Math.Abs(balance) <= _config.MaxCollateralUnits && !(price > 0 && !(Math.Abs(balance) * price <= _config.MaxCollateralValue));
    }

    private double AssetPrice(int asset) => _assetUnderlying[asset] < 0 ? _assetFixedPrice[asset] : _blocks[_assetUnderlying[asset]].Index;

    private double ComputeCollateralValue(int account)
    {
        double value = _settled[account]; // the engine's own settlements: cash, no haircut
        int baseIndex = account * _assets;
        for (int x = 0; x < _assets; x++)
        {
            double balance = _balances[baseIndex + x];
            if (balance != 0)
            {
                value += HaircutValue(x, balance);
            }
        }

        return value;
    }
}
