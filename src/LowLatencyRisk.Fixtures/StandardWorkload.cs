using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Fixtures;

/// <summary>Scale of the standard workload; the defaults are full scale.</summary>
public sealed record WorkloadScale
{
    /// <summary>Underlyings.</summary>
    public int Underlyings { get; init; } = 4;
    /// <summary>Dated futures per underlying.</summary>
    public int Futures { get; init; } = 4;
    /// <summary>Option expiries per underlying.</summary>
    public int Expiries { get; init; } = 10;
    /// <summary>Strikes per expiry.</summary>
    public int Strikes { get; init; } = 10;
    /// <summary>Accounts.</summary>
    public int Accounts { get; init; } = 10_000;
    /// <summary>Target positions per account.</summary>
    public int PositionsPerAccount { get; init; } = 20;
    /// <summary>Position capacity per account (0 = twice the target).</summary>
    public int MaxPositionsPerAccount { get; init; }
    /// <summary>Generator seed.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>A small scale for tests.</summary>
    public static WorkloadScale Small => new() { Underlyings = 2, Futures = 2, Expiries = 3, Strikes = 5, Accounts = 200, PositionsPerAccount = 10 };
}

/// <summary>
/// Builds the standard workload's venue, deterministically from a seed: per underlying one
/// perpetual, dated futures, expiries × strikes × call/put options; accounts funded in USD with
/// about <see cref="WorkloadScale.PositionsPerAccount"/> positions each, a mix of hedged books
/// (call spreads, covered calls, delta-hedged short straddles, calendar spreads) and outright risk.
/// </summary>
public sealed class StandardWorkload
{
    /// <summary>2026-01-01T00:00:00Z in Unix nanoseconds: the workload's clock origin.</summary>
    public const long StartNanos = 1_767_225_600_000_000_000;
    /// <summary>Nanoseconds per day.</summary>
    public const long DayNanos = 86_400_000_000_000;
    /// <summary>The USD collateral asset id.</summary>
    public const int UsdAsset = 0;
    /// <summary>The coin collateral asset id: priced by underlying 0's index, with tiered haircuts.</summary>
    public const int CoinAsset = 1;

    private static readonly double[] s_indexPrices = [60_000, 3_000, 150, 25, 600, 7, 1.5, 0.6];

    private StandardWorkload(WorkloadScale scale, RiskBook book, int[][] instruments, int[] perpetuals)
    {
        Scale = scale;
        Book = book;
        InstrumentsByUnderlying = instruments;
        Perpetuals = perpetuals;
    }

    /// <summary>The scale it was built at.</summary>
    public WorkloadScale Scale { get; }

    /// <summary>The populated book (revalued, funded, with positions).</summary>
    public RiskBook Book { get; }

    /// <summary>Instrument ids per underlying: perpetual, futures, then options (expiry-major, strike, call then put).</summary>
    public int[][] InstrumentsByUnderlying { get; }

    /// <summary>The perpetual of each underlying.</summary>
    public int[] Perpetuals { get; }

    /// <summary>Instruments in total.</summary>
    public int InstrumentCount => InstrumentsByUnderlying.Sum(x => x.Length);

    /// <summary>The initial index price of underlying <paramref name="u"/>.</summary>
    public static double InitialIndex(int u) => s_indexPrices[u % s_indexPrices.Length] * (1 + (u / s_indexPrices.Length));

    /// <summary>The option id of (underlying, expiry, strike, call/put).</summary>
    public int Option(int u, int expiry, int strike, bool call) =>
        InstrumentsByUnderlying[u][1 + Scale.Futures + (((expiry * Scale.Strikes) + strike) * 2) + (call ? 0 : 1)];

    /// <summary>
    /// Sets every account's USD balance so its equity is <paramref name="ratio"/> × its initial
    /// margin (+ 1,000), so a stress episode breaches (the default collateral is ample), and drains
    /// the transitions this causes. Deterministic: two workloads built alike stay alike.
    /// </summary>
    public void SetCollateralToMargin(double ratio)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratio);
        for (int a = 0; a < Scale.Accounts; a++)
        {
            double balance = (Book.InitialMargin(a) * ratio) + 1_000 - (Book.Equity(a) - Book.CollateralValue(a));
            Book.SetCollateral(a, UsdAsset, balance);
        }

        while (Book.TryDequeueTransition(out _))
        {
        }
    }

    /// <summary>Instrument ids left free above the generated ones, for definitions arriving on the feed (listings).</summary>
    public const int SpareInstruments = 64;

    /// <summary>
    /// Builds the workload with a CME-style 16-scenario grid (15 % price, 25 vol points) unless
    /// another is given; <paramref name="configure"/> may change the book's parameters (not its
    /// capacities), <paramref name="coinHaircuts"/> the haircut tiers of <see cref="CoinAsset"/>.
    /// </summary>
    public static StandardWorkload Build(WorkloadScale scale, ScenarioGrid? grid = null, Func<RiskConfig, RiskConfig>? configure = null, HaircutTier[]? coinHaircuts = null)
    {
        ArgumentNullException.ThrowIfNull(scale);
        int perUnderlying = 1 + scale.Futures + (scale.Expiries * scale.Strikes * 2);
        var config = new RiskConfig
        {
            MaxUnderlyings = scale.Underlyings,
            MaxInstruments = (scale.Underlyings * perUnderlying) + SpareInstruments,
            MaxAccounts = scale.Accounts,
            MaxPositionsPerAccount = scale.MaxPositionsPerAccount > 0 ? scale.MaxPositionsPerAccount : Math.Max(8, scale.PositionsPerAccount * 2),
            MaxAssets = 2,
            Grid = grid ?? ScenarioGrid.CmeSpan16(0.15, 0.25),
        };
        if (configure is not null)
        {
            var changed = configure(config);
            config = changed with
            {
                MaxUnderlyings = config.MaxUnderlyings, MaxInstruments = config.MaxInstruments, MaxAccounts = config.MaxAccounts,
                MaxPositionsPerAccount = config.MaxPositionsPerAccount, MaxAssets = config.MaxAssets,
            };
        }

        var book = new RiskBook(config);
        var ids = new int[scale.Underlyings][];
        var perps = new int[scale.Underlyings];
        int id = 0;
        for (int u = 0; u < scale.Underlyings; u++)
        {
            double index = InitialIndex(u);
            double tick = index / 100_000;
            book.DefineUnderlying(u, carry: 0.05);
            var list = new List<int>(perUnderlying);
            perps[u] = id;
            book.DefineInstrument(id, new InstrumentSpec(InstrumentKind.Perpetual, u, 0, 0, 1, tick, 0.001));
            list.Add(id++);
            for (int f = 0; f < scale.Futures; f++)
            {
                book.DefineInstrument(id, new InstrumentSpec(InstrumentKind.Future, u, 0, StartNanos + ((30L << f) * DayNanos), 1, tick, 0.001));
                list.Add(id++);
            }

            for (int e = 0; e < scale.Expiries; e++)
            {
                long expiry = StartNanos + ((7 + (e * 30)) * DayNanos);
                for (int k = 0; k < scale.Strikes; k++)
                {
                    double strike = Math.Round(index * (0.7 + (0.6 * k / Math.Max(1, scale.Strikes - 1))), 6);
                    double vol = 0.55 + (0.25 * Math.Abs((double)k / Math.Max(1, scale.Strikes - 1) - 0.5)) + (0.02 * e / Math.Max(1, scale.Expiries));
                    foreach (var kind in new[] { InstrumentKind.Call, InstrumentKind.Put })
                    {
                        book.DefineInstrument(id, new InstrumentSpec(kind, u, strike, expiry, 1, tick, 0.01));
                        book.SetInitialVolatility(id, vol);
                        list.Add(id++);
                    }
                }
            }

            ids[u] = list.ToArray();
            book.UpdateIndex(u, index, StartNanos);
        }

        book.DefineAsset(UsdAsset, -1, 1.0, [new HaircutTier(1e18, 0.0)]);
        book.DefineAsset(CoinAsset, 0, 0, coinHaircuts ?? [new HaircutTier(1_000_000, 0.10), new HaircutTier(1e18, 0.25)], book.Config.CollateralInScenarios);
        book.Revalue();
        var workload = new StandardWorkload(scale, book, ids, perps);
        workload.Populate(new Random(scale.Seed));
        book.Revalue();
        while (book.TryDequeueTransition(out _))
        {
        }

        return workload;
    }

    private void Populate(Random rng)
    {
        var book = Book;
        var s = Scale;
        for (int a = 0; a < s.Accounts; a++)
        {
            int u = rng.Next(s.Underlyings);
            book.SetCollateral(a, UsdAsset, 40_000 + (rng.NextDouble() * 400_000));
            int positions = 0;
            while (positions < s.PositionsPerAccount)
            {
                int u2 = rng.Next(4) == 0 ? rng.Next(s.Underlyings) : u;
                // Size so that one unit of exposure is roughly $30,000 whatever the underlying's price.
                double unit2 = Math.Max(0.01, Math.Round(30_000 / InitialIndex(u2), 2));
                int e = rng.Next(s.Expiries), k = rng.Next(s.Strikes);
                switch (rng.Next(6))
                {
                    case 0: // call spread
                        Fill(a, Option(u2, e, k, true), unit2);
                        Fill(a, Option(u2, e, Math.Min(k + 1, s.Strikes - 1), true), -unit2);
                        positions += 2;
                        break;
                    case 1: // covered call
                        Fill(a, Perpetuals[u2], unit2);
                        Fill(a, Option(u2, e, Math.Min(k + 2, s.Strikes - 1), true), -unit2);
                        positions += 2;
                        break;
                    case 2: // delta-hedged short straddle
                        int atm = s.Strikes / 2;
                        Fill(a, Option(u2, e, atm, true), -unit2);
                        Fill(a, Option(u2, e, atm, false), -unit2);
                        double hedge = Math.Round(-book.NetDelta(a, u2) * 0.5, 3); // part of it: the book stays mixed
                        if (Math.Abs(hedge) >= 0.001)
                        {
                            Fill(a, InstrumentsByUnderlying[u2][rng.Next(1 + s.Futures)], hedge);
                        }

                        positions += 3;
                        break;
                    case 3: // calendar spread
                        Fill(a, Option(u2, e, k, rng.Next(2) == 0), -unit2);
                        Fill(a, Option(u2, (e + 1) % s.Expiries, k, rng.Next(2) == 0), unit2);
                        positions += 2;
                        break;
                    default: // outright
                        Fill(a, InstrumentsByUnderlying[u2][rng.Next(InstrumentsByUnderlying[u2].Length)], (rng.Next(2) == 0 ? -1 : 1) * unit2 * (1 + rng.Next(3)));
                        positions += 1;
                        break;
                }
            }
        }

        void Fill(int account, int instrument, double quantity)
        {
            book.ApplyFill(account, instrument, quantity, book.MarkPrice(instrument));
        }
    }
}
