using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Configuration;

namespace LowLatencyRisk.Engine;

/// <summary>
/// Firm credit and position limits across shards, the engine's side. A firm's limit L is split into one credit
/// limit per account (the gate enforces each locally, in nanoseconds, with no network); the sum of
/// the accounts' limits never exceeds L, so neither does the firm's gross notional of positions and
/// working orders from accepted orders, however far apart its accounts' shards are and however
/// stale their view of each other. <c>llr aggregate</c> moves the shares to where the firm's
/// exposure is (feed limit changes: lowered first, raised only once every lowering is in force).
/// </summary>
/// <remarks>
/// At start every account of a firm gets L ÷ (the firm's accounts), or its configured account
/// limit when that is lower, so the sum holds before the aggregator's first round. A journal
/// replays the aggregator's later limit changes over the starting shares. Exposure that grows
/// with prices (marks of held positions) is not an order and can take a firm over L; the gate then
/// refuses every order that adds exposure until the firm is back under. A firm's position limit
/// in an underlying (gross contracts of positions and working orders there) is cut the same way,
/// into each account's position limit in that underlying.
/// </remarks>
public static class FirmLimits
{
    /// <summary>The starting share of each account of <paramref name="firm"/>.</summary>
    public static double StartingShare(FirmSection firm)
    {
        ArgumentNullException.ThrowIfNull(firm);
        return firm.CreditLimit / firm.Accounts.Length;
    }

    /// <summary>Sets every firm account's credit limit to its starting share (when lower than what the gate holds); an account the book lacks is a configuration error.</summary>
    public static void ApplyStartingShares(LlrConfig config, RiskBook book, PreTradeGate gate)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(gate);
        var problems = new List<string>();
        for (int i = 0; i < config.Firms.Length; i++)
        {
            foreach (int a in config.Firms[i].Accounts)
            {
                if (!book.IsAccount(a))
                {
                    problems.Add($"firms[{i}].accounts: {a} is not an account of the book (0..{book.Config.MaxAccounts - 1})");
                }
            }

            for (int k = 0; k < config.Firms[i].PositionLimits.Length; k++)
            {
                int u = config.Firms[i].PositionLimits[k].Underlying;
                if (!book.IsUnderlying(u))
                {
                    problems.Add($"firms[{i}].positionLimits[{k}].underlying: {u} is not an underlying of the book");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new ConfigException("config", problems);
        }

        foreach (var firm in config.Firms)
        {
            double share = StartingShare(firm);
            foreach (int a in firm.Accounts)
            {
                gate.SetAccountLimits(a, creditLimit: Math.Min(gate.CreditLimitOf(a), share));
                foreach (var p in firm.PositionLimits)
                {
                    gate.SetAccountUnderlyingPositionLimit(a, p.Underlying, Math.Min(gate.UnderlyingPositionLimitOf(a, p.Underlying), p.Limit / firm.Accounts.Length));
                }
            }
        }
    }
}
