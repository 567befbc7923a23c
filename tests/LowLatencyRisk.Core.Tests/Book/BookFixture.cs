using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>A small venue: per underlying a perpetual, two futures, and 3 expiries × 5 strikes × call/put.</summary>
internal sealed class BookFixture
{
    public const long Start = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
    public const long Day = 86_400_000_000_000;
    public const int Usd = 0;
    public const int Btc = 1;

    public RiskBook Book { get; }
    public List<int> Instruments { get; } = [];
    public List<int>[] ByUnderlying { get; }
    public int Perp(int u) => ByUnderlying[u][0];
    public int Future(int u, int n) => ByUnderlying[u][1 + n];
    public int Option(int u, int expiry, int strike, bool call) => ByUnderlying[u][3 + (expiry * 10) + (strike * 2) + (call ? 0 : 1)];
    public double[] Strikes { get; } = [0.8, 0.9, 1.0, 1.1, 1.2];

    /// <summary>The inverse perpetual (n 0) or future (n 1) of an underlying (a fixture built with inverse contracts).</summary>
    public int Inverse(int u, int n) => ByUnderlying[u][33 + n];

    public BookFixture(int underlyings = 2, int accounts = 300, ScenarioGrid? grid = null, JumpPolicy jumps = JumpPolicy.HoldForConfirmation, double carry = 0.0, PortfolioComponentsConfig? components = null, bool coinInScenarios = false,
        bool fundingProvision = false, bool inverse = false)
    {
        var config = new RiskConfig
        {
            MaxUnderlyings = underlyings,
            MaxInstruments = 64 * underlyings,
            MaxAccounts = accounts,
            MaxPositionsPerAccount = 48,
            MaxAssets = 2,
            Grid = grid ?? ScenarioGrid.CmeSpan16(0.15, 0.25),
            Jumps = jumps,
            Components = components ?? PortfolioComponentsConfig.None,
            FundingProvision = fundingProvision,
        };
        Book = new RiskBook(config);
        ByUnderlying = new List<int>[underlyings];
        int id = 0;
        for (int u = 0; u < underlyings; u++)
        {
            ByUnderlying[u] = [];
            Book.DefineUnderlying(u, carry);
            double index = u == 0 ? 30_000 : 2_000;
            Add(u, new InstrumentSpec(InstrumentKind.Perpetual, u, 0, 0, 1, 0.5, 0.001));
            Add(u, new InstrumentSpec(InstrumentKind.Future, u, 0, Start + (30 * Day), 1, 0.5, 0.001));
            Add(u, new InstrumentSpec(InstrumentKind.Future, u, 0, Start + (90 * Day), 1, 0.5, 0.001));
            for (int e = 0; e < 3; e++)
            {
                foreach (double k in Strikes)
                {
                    Add(u, new InstrumentSpec(InstrumentKind.Call, u, index * k, Start + ((7 + (30 * e)) * Day), 1, 0.1, 0.01));
                    Add(u, new InstrumentSpec(InstrumentKind.Put, u, index * k, Start + ((7 + (30 * e)) * Day), 1, 0.1, 0.01));
                }
            }

            if (inverse)
            {
                // Coin-settled: a perpetual and a 90-day future of face value 100 (BTC) or 10 (ETH) per contract.
                double face = u == 0 ? 100 : 10;
                Add(u, new InstrumentSpec(InstrumentKind.Perpetual, u, 0, 0, face, 0.5, 1) { Settlement = Settlement.Inverse });
                Add(u, new InstrumentSpec(InstrumentKind.Future, u, 0, Start + (90 * Day), face, 0.5, 1) { Settlement = Settlement.Inverse });
            }

            Assert.Equal(MarkResult.Accepted, Book.UpdateIndex(u, index, Start));
        }

        Book.DefineAsset(Usd, -1, 1.0, [new HaircutTier(1e12, 0.0)]);
        Book.DefineAsset(Btc, 0, 0, [new HaircutTier(100_000, 0.10), new HaircutTier(1_000_000, 0.20), new HaircutTier(1e15, 0.5)], coinInScenarios);
        Book.Revalue();

        void Add(int u, InstrumentSpec spec)
        {
            Book.DefineInstrument(id, spec);
            if (spec.IsOption)
            {
                Book.SetInitialVolatility(id, 0.6);
            }

            Instruments.Add(id);
            ByUnderlying[u].Add(id);
            id++;
        }
    }
}
