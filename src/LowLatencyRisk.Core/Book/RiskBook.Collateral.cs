
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

    /// <summary>Defines collateral asset <paramref name="asset"/>: priced by an underlying's index, or at a fixed price when <paramref name="linkedUnderlying"/> is −1, with tiered haircuts.</summary>
    public void DefineAsset(int asset, int linkedUnderlying, double fixedPrice, ReadOnlySpan<HaircutTier> tiers)
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

        _assetDefined[asset] = true;
        _assetUnderlying[asset] = linkedUnderlying;
        _assetFixedPrice[asset] = fixedPrice;
        _assetTiers[asset] = tiers.ToArray();
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
