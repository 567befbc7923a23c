using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Core.Risk;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Core.Tests.Book;

/// <summary>
/// The margin methodology is one seam: a methodology defined here, in the tests, is what the book
/// uses on every path — fill, tick, what-if, the gate and the from-scratch verifier.
/// </summary>
public sealed class MarginMethodologyTests
{
    /// <summary>
    /// A test methodology: per underlying 2 × scan risk + 3 per short option unit, the account 10 %
    /// above the sum, maintenance half of initial; per position (standard and isolated accounts)
    /// 25 % of the position's value for initial and 10 % for maintenance. It counts its calls, so each path can be seen
    /// to go through it.
    /// </summary>
    private readonly struct TestMargin : IMarginMethodology
    {
        [ThreadStatic]
        private static long t_calls;

        public static long Calls => t_calls;

        public double UnderlyingRequirement(double scanRisk, double shortOptionUnits, double index)
        {
            t_calls++;
            return (2 * scanRisk) + (3 * shortOptionUnits);
        }

        public double ShortOptionMinimum(double shortOptionUnits, double index) => 3 * shortOptionUnits;

        public double AccountInitial(double sumOfUnderlyingRequirements)
        {
            t_calls++;
            return 1.1 * sumOfUnderlyingRequirements;
        }

        public double Maintenance(double initial) => 0.5 * initial;

        public PortfolioComponents? Components => null;

        public Requirement Position(in PositionTerms position)
        {
            t_calls++;
            double value = Math.Abs(position.Quantity) * position.Mark * position.Multiplier;
            return new Requirement(0.25 * value, 0.1 * value);
        }
    }

    private static readonly long Now = 1_795_000_000L * 1_000_000_000;

    private static RiskConfig Config() => new()
    {
        MaxUnderlyings = 2, MaxInstruments = 4, MaxAccounts = 3, MaxPositionsPerAccount = 4, MaxAssets = 1, IndexBand = 10,
        Grid = ScenarioGrid.CmeSpan16(0.15, 0.25),
    };

    /// <summary>The same market and positions in any book: a perpetual, a call and a put on one underlying, a perpetual on another.</summary>
    private static void Populate<T>(RiskBook<T> book)
        where T : struct, IMarginMethodology
    {
        book.DefineUnderlying(0);
        book.DefineUnderlying(1);
        book.UpdateIndex(0, 60_000, Now);
        book.UpdateIndex(1, 3_000, Now);
        book.DefineInstrument(0, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, 1, 0.01, 0.001));
        book.DefineInstrument(1, new InstrumentSpec(InstrumentKind.Call, 0, 65_000, Now + (30L * 86_400 * 1_000_000_000), 1, 0.01, 0.001));
        book.DefineInstrument(2, new InstrumentSpec(InstrumentKind.Put, 0, 55_000, Now + (30L * 86_400 * 1_000_000_000), 1, 0.01, 0.001));
        book.DefineInstrument(3, new InstrumentSpec(InstrumentKind.Perpetual, 1, 0, 0, 1, 0.01, 0.001));
        book.SetInitialVolatility(1, 0.55);
        book.SetInitialVolatility(2, 0.6);
        book.DefineAsset(0, -1, 1, [new HaircutTier(1e18, 0)]);
        book.Revalue();
        for (int a = 0; a < 3; a++)
        {
            book.SetCollateral(a, 0, 50_000 * (a + 1));
        }

        Assert.Equal(FillResult.Applied, book.ApplyFill(0, 0, 1, 59_000));
        Assert.Equal(FillResult.Applied, book.ApplyFill(0, 1, -2, 2_100));
        Assert.Equal(FillResult.Applied, book.ApplyFill(1, 2, -1, 1_900));
        Assert.Equal(FillResult.Applied, book.ApplyFill(1, 3, 10, 3_010));
        Assert.Equal(FillResult.Applied, book.ApplyFill(2, 3, -5, 2_990));
        book.Revalue();
    }

    /// <summary>What the test methodology should give, from a standard book's own aggregates (its scan risks and short option units).</summary>
    private static double ExpectedInitial(RiskBook standard, int account)
    {
        double sum = 0;
        for (int u = 0; u < 2; u++)
        {
            double shortUnits = standard.ShortOptionMinimum(account, u) / (standard.IndexPrice(u) * standard.Config.ShortOptionMinimumFraction);
            bool held = standard.ScanRisk(account, u) > 0 || shortUnits > 0;
            sum += held ? (2 * standard.ScanRisk(account, u)) + (3 * shortUnits) : 0;
        }

        return 1.1 * sum;
    }

    [Fact]
    public void ATestMethodology_IsWhatTheBookUses_OnFillTickWhatIfGateAndVerifier()
    {
        var standard = new RiskBook(Config());
        var test = new RiskBook<TestMargin>(Config(), default);
        Populate(standard);

        long calls = TestMargin.Calls;
        Populate(test); // fills, collateral, revaluation
        Assert.True(TestMargin.Calls > calls, "fills and revaluation go through the methodology");
        for (int a = 0; a < 3; a++)
        {
            Assert.Equal(ExpectedInitial(standard, a), test.InitialMargin(a), 6);
            Assert.Equal(0.5 * test.InitialMargin(a), test.MaintenanceMargin(a), 9);
        }

        // A tick: the index moves, the underlying is revalued, its holders re-margined.
        calls = TestMargin.Calls;
        standard.UpdateIndex(0, 57_000, Now + 1_000_000_000);
        test.UpdateIndex(0, 57_000, Now + 1_000_000_000);
        standard.Revalue();
        test.Revalue();
        Assert.True(TestMargin.Calls > calls, "a tick goes through the methodology");
        for (int a = 0; a < 3; a++)
        {
            Assert.Equal(ExpectedInitial(standard, a), test.InitialMargin(a), 6);
        }

        // What-if: the requirement after a hypothetical fill, by the same methodology.
        calls = TestMargin.Calls;
        var whatIf = test.WhatIf(0, 1, -1);
        Assert.True(TestMargin.Calls > calls, "what-if goes through the methodology");
        Assert.Equal(test.InitialMargin(0), whatIf.InitialMarginBefore);
        Assert.True(whatIf.InitialMarginAfter > whatIf.InitialMarginBefore, "one more short call needs more margin");

        // The verifier applies the book's methodology to its independent recomputation.
        calls = TestMargin.Calls;
        for (int a = 0; a < 3; a++)
        {
            var scratch = RiskBookVerifier.Recompute(test, a);
            Assert.Equal(test.InitialMargin(a), scratch.InitialMargin, 6);
            Assert.Equal(test.MaintenanceMargin(a), scratch.MaintenanceMargin, 6);
        }

        Assert.True(TestMargin.Calls > calls, "the verifier goes through the methodology");

        // The gate decides on the methodology's what-if: an order whose margin the test
        // methodology does not cover is refused for margin while the standard gate accepts it.
        var standardGate = new PreTradeGate(standard, new GateConfig());
        var testGate = new PreTradeGate<TestMargin>(test, new GateConfig());
        double quantity = FindQuantityCoveredOnlyByTheStandardMethod(standard, test);
        var order = new OrderRequest(2, 3, OrderSide.Sell, quantity, 2_990, OrderType.Limit, 1);
        calls = TestMargin.Calls;
        Assert.Equal(RejectReason.None, standardGate.Check(order, Now + 2_000_000_000).Reason);
        Assert.Equal(RejectReason.InsufficientMargin, testGate.Check(order, Now + 2_000_000_000).Reason);
        Assert.True(TestMargin.Calls > calls, "the gate goes through the methodology");
    }

    /// <summary>A short of instrument 3 for account 2 sized so that 2 × 1.1 × its requirement exceeds equity while 1 × does not.</summary>
    private static double FindQuantityCoveredOnlyByTheStandardMethod(RiskBook standard, RiskBook<TestMargin> test)
    {
        for (double q = 1; q < 10_000; q += 1)
        {
            var s = standard.WhatIf(2, 3, -q, 2_990);
            var t = test.WhatIf(2, 3, -q, 2_990);
            if (s.EquityAfter >= s.InitialMarginAfter && t.EquityAfter < t.InitialMarginAfter)
            {
                return q;
            }
        }

        throw new Xunit.Sdk.XunitException("no quantity separates the two methodologies: the premise of the gate check");
    }

    [Fact]
    public void ATestMethodology_ChargesStandardAndIsolatedAccountsPerPosition_OnEveryPath()
    {
        var test = new RiskBook<TestMargin>(Config(), default);
        Populate(test);
        // Account 2 is short 5 of perpetual 3 (underlying 1): per position 25 % / 10 % of |q| × mark.
        Assert.Equal(ModeChangeResult.Changed, test.SetMarginMode(2, MarginMode.Standard));
        Assert.Equal(0.25 * 5 * test.MarkPrice(3), test.InitialMargin(2), 9);
        Assert.Equal(0.10 * 5 * test.MarkPrice(3), test.MaintenanceMargin(2), 9);

        long calls = TestMargin.Calls;
        Assert.Equal(FillResult.Applied, test.ApplyFill(2, 0, 0.2, 60_000));
        Assert.True(TestMargin.Calls > calls, "a standard account's fill goes through the methodology");
        calls = TestMargin.Calls;
        test.UpdateIndex(1, 3_030, Now + 1_000_000_000);
        test.Revalue();
        Assert.True(TestMargin.Calls > calls, "a standard account's tick goes through the methodology");
        double expected = 0.25 * ((5 * test.MarkPrice(3)) + (0.2 * test.MarkPrice(0)));
        Assert.Equal(expected, test.InitialMargin(2), 9);
        Assert.Equal(expected - (0.25 * 0.2 * test.MarkPrice(0)) + (0.25 * 1.2 * test.MarkPrice(0)), test.WhatIf(2, 0, 1).InitialMarginAfter, 9);
        var scratch = RiskBookVerifier.Recompute(test, 2);
        Assert.Equal(test.InitialMargin(2), scratch.InitialMargin, 6);
        Assert.Equal(test.MaintenanceMargin(2), scratch.MaintenanceMargin, 6);
    }

    [Fact]
    public void TheStandardMethodology_IsTheFormulaTheReadmeStates()
    {
        // Hand-computed: per underlying max(scan risk, short-option minimum), summed; MM = fraction × IM.
        var m = new ScanRiskMargin(shortOptionMinimumFraction: 0.005, maintenanceFraction: 0.8);
        Assert.Equal(4_000, m.UnderlyingRequirement(4_000, 2, 60_000));   // 2 × 60,000 × 0.005 = 600 < 4,000
        Assert.Equal(600, m.UnderlyingRequirement(100, 2, 60_000), 9);     // the minimum binds
        Assert.Equal(600, m.ShortOptionMinimum(2, 60_000), 9);
        Assert.Equal(4_600, m.AccountInitial(4_600));
        Assert.Equal(3_680, m.Maintenance(4_600), 9);                       // 0.8 × 4,600
    }

    [Fact]
    public void FillTickAndWhatIf_DoNotAllocate_WithATestMethodology()
    {
        var test = new RiskBook<TestMargin>(Config(), default);
        Populate(test);
        var state = (test, flip: new int[1]);
        GcAssert.NoAllocation(state, static s =>
        {
            int f = s.flip[0]++ & 1;
            s.test.ApplyFill(0, 0, f == 0 ? 0.5 : -0.5, 60_000);
            s.test.UpdateIndex(1, f == 0 ? 3_010 : 2_990, Now + (s.flip[0] * 1_000_000L));
            s.test.Revalue();
            s.test.WhatIf(1, 2, -1);
        });
    }
}
