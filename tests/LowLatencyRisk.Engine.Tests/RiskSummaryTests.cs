using System.Diagnostics;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>
/// Risk summaries out of the engine thread (<see cref="RiskSummaryPublisher"/>) and the starting
/// shares of firm credit limits (<see cref="FirmLimits"/>): every owned account summarized with the
/// book's and the gate's own numbers, only what moved afterwards, nothing lost when the ring is
/// full, nothing allocated.
/// </summary>
public sealed class RiskSummaryTests
{
    private static readonly long Second = Stopwatch.Frequency;

    private sealed class Fixture : IDisposable
    {
        public Fixture(ShardMap? map = null, int shard = 0, int capacity = 1 << 14, double changeFraction = 0.01, int[]? positionUnderlyings = null)
        {
            Workload = StandardWorkload.Build(WorkloadScale.Small);
            Workload.SetCollateralToMargin(1.3);
            Gate = new PreTradeGate(Book, new GateConfig());
            Machine = new FeedStateMachine(Book, Gate, new EngineCounters());
            if (map is not null)
            {
                Machine.AssignShard(map, shard);
            }

            Ring = SharedRing.CreateInProcess(new RingOptions(RiskSummaryDescriptor.SlotSize, capacity, ProducerMode.Single));
            Reader = Ring.CreateConsumer(0);
            Publisher = new RiskSummaryPublisher(Book, Gate, Machine, Ring.CreateSingleProducer(), shard, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), step: 64, changeFraction,
                positionUnderlyings: positionUnderlyings);
        }

        public StandardWorkload Workload { get; }

        public RiskBook Book => Workload.Book;

        public PreTradeGate Gate { get; }

        public FeedStateMachine Machine { get; }

        public SharedRing Ring { get; }

        public RingConsumer Reader { get; }

        public RiskSummaryPublisher Publisher { get; }

        /// <summary>Runs one whole sweep at <paramref name="now"/> (polls until it ends).</summary>
        public void Sweep(long now)
        {
            long sweeps = Publisher.Sweeps;
            for (int i = 0; Publisher.Sweeps == sweeps; i++)
            {
                Publisher.Poll(now);
                Assert.True(i < 1_000_000, "the sweep never ended");
            }
        }

        public List<RiskSummaryMessage> Drain()
        {
            var read = new Collect();
            Reader.PollWhile(ref read);
            return read.Messages;
        }

        public void Dispose() => Ring.Dispose();
    }

    private struct Collect() : IRingHandlerWhile
    {
        public List<RiskSummaryMessage> Messages { get; } = [];

        public readonly bool OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
            Messages.Add(WireMessage.Read<RiskSummaryMessage>(payload));
            return true;
        }
    }

    [Fact]
    public void TheFirstSweep_SummarizesEveryOwnedAccount_WithTheBooksAndTheGatesNumbers()
    {
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        using var f = new Fixture(map, shard: 1);
        f.Gate.SetAccountLimits(3, creditLimit: 2.5e6);
        f.Sweep(10 * Second);
        var summaries = f.Drain();
        int owned = Enumerable.Range(0, f.Book.Config.MaxAccounts).Count(a => map.ShardOf(a) == 1);
        Assert.Equal(owned, summaries.Count);
        Assert.All(summaries, s => Assert.Equal(1, map.ShardOf(s.Account)));
        Assert.Equal(owned, summaries.Select(s => s.Account).Distinct().Count());
        foreach (var s in summaries)
        {
            int a = s.Account;
            Assert.Equal(RiskSummaryDescriptor.MessageType, s.Type);
            Assert.Equal(RiskSummaryDescriptor.Version, s.Version);
            Assert.Equal(1, s.Shard);
            Assert.Equal(f.Book.GrossNotional(a, -1, out _) + f.Gate.WorkingNotional(a), s.CreditUsage);
            Assert.Equal(f.Gate.CreditLimitOf(a), s.CreditLimit);
            Assert.Equal(f.Book.InitialMargin(a), s.InitialMargin);
            Assert.Equal(f.Book.MaintenanceMargin(a), s.MaintenanceMargin);
            Assert.Equal(f.Book.Equity(a), s.Equity);
            Assert.Equal(f.Book.State(a), s.State);
            Assert.Equal(10 * Second, s.ComputedTicks);
        }

        // Negative control for the usage: the workload's accounts hold positions, so it is not 0 everywhere.
        Assert.Contains(summaries, s => s.CreditUsage > 0);
        Assert.Equal(2.5e6, summaries.Single(s => s.Account == 3).CreditLimit);
        Assert.True(double.IsPositiveInfinity(summaries.Single(s => s.Account == 5).CreditLimit));
    }

    [Fact]
    public void WithAnAccountList_OnlyThoseAccountsAreSummarized()
    {
        var w = StandardWorkload.Build(WorkloadScale.Small);
        var gate = new PreTradeGate(w.Book, new GateConfig());
        var machine = new FeedStateMachine(w.Book, gate, new EngineCounters());
        using var ring = SharedRing.CreateInProcess(new RingOptions(RiskSummaryDescriptor.SlotSize, 1024, ProducerMode.Single));
        var reader = ring.CreateConsumer(0);
        var firmsOnly = LlrConfig.Parse("""{ "firms": [ { "name": "a", "accounts": [4, 17, 3], "creditLimit": 10 } ], "summaries": { "firmsOnly": true } }""");
        var publisher = new RiskSummaryPublisher(w.Book, gate, machine, ring.CreateSingleProducer(), 0, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30),
            only: firmsOnly.Summaries.AccountsOf(firmsOnly.Firms));
        while (publisher.Sweeps == 0)
        {
            publisher.Poll(Second);
        }

        var read = new Collect();
        reader.PollWhile(ref read);
        Assert.Equal([3, 4, 17], read.Messages.Select(m => m.Account).Order());
        Assert.Null(LlrConfig.Parse("{}").Summaries.AccountsOf([])); // every account by default
    }

    [Fact]
    public void LaterSweeps_SummarizeOnlyWhatMoved_UntilTheHeartbeat()
    {
        using var f = new Fixture();
        f.Book.SetCollateral(7, 0, 1e9); // room for the order below
        f.Sweep(1 * Second);
        Assert.Equal(f.Book.Config.MaxAccounts, f.Drain().Count);

        f.Sweep(3 * Second); // nothing moved
        Assert.Empty(f.Drain());

        // An accepted order (working notional), a limit change and a collateral change move three accounts.
        int instrument = Enumerable.Range(0, f.Book.Config.MaxInstruments).First(i => f.Book.IsInstrument(i) && f.Book.Instrument(i).Kind == InstrumentKind.Future);
        var d = f.Gate.Check(new OrderRequest(7, instrument, OrderSide.Buy, 1, 0, OrderType.Market, 1), f.Book.NowNanos);
        Assert.True(d.Accepted, d.Reason.ToString());
        f.Gate.SetAccountLimits(8, creditLimit: 1e7);
        f.Book.SetCollateral(9, 0, f.Book.CollateralBalance(9, 0) * 2);
        f.Sweep(5 * Second);
        var moved = f.Drain();
        Assert.Equal([7, 8, 9], moved.Select(s => s.Account).Order());
        Assert.Equal(1e7, moved.Single(s => s.Account == 8).CreditLimit);
        Assert.True(moved.Single(s => s.Account == 7).CreditUsage > f.Book.GrossNotional(7, -1, out _), "the working order counts");

        // A change below the change fraction is not a summary; the heartbeat (30 s) sends every account again.
        f.Book.SetCollateral(9, 0, f.Book.CollateralBalance(9, 0) * 1.0001);
        f.Sweep(7 * Second);
        Assert.Empty(f.Drain());
        f.Sweep(40 * Second);
        Assert.Equal(f.Book.Config.MaxAccounts, f.Drain().Count);
    }

    [Fact]
    public void InTheUnderlyingsAFirmLimits_EachAccountIsAlsoSummarizedThere_WithTheGatesUsageAndLimit_AndAgainWhenThoseMove()
    {
        using var f = new Fixture(positionUnderlyings: [1, 0, 1]); // a repeated underlying counts once
        int accounts = f.Book.Config.MaxAccounts;
        f.Gate.SetAccountUnderlyingPositionLimit(4, 1, 35);
        f.Sweep(1 * Second);
        var first = f.Drain();
        Assert.Equal(3 * accounts, first.Count); // the account's own, then underlyings 0 and 2
        Assert.Equal(accounts, first.Count(m => m.Underlying == -1));
        foreach (var m in first.Where(m => m.Underlying >= 0))
        {
            Assert.Contains(m.Underlying, (int[])[0, 1]);
            Assert.Equal(f.Gate.UnderlyingPositionUsage(m.Account, m.Underlying), m.PositionUsage);
            Assert.Equal(f.Gate.UnderlyingPositionLimitOf(m.Account, m.Underlying), m.PositionLimit);
            Assert.Equal(f.Book.GrossNotional(m.Account, -1, out _) + f.Gate.WorkingNotional(m.Account), m.CreditUsage); // the account's numbers too
        }

        Assert.All(first.Where(m => m.Underlying == -1), m => Assert.Equal((0.0, 0.0), (m.PositionUsage, m.PositionLimit)));
        Assert.Equal(35, first.Single(m => m.Account == 4 && m.Underlying == 1).PositionLimit);
        Assert.Contains(first, m => m.Underlying >= 0 && m.PositionUsage > 0); // negative control: the workload holds contracts

        // A limit change in underlying 0 and an order in underlying 1: only those two per-underlying summaries
        // (and the ordering account's own, whose credit usage moved) are written.
        int future = Enumerable.Range(0, f.Book.Config.MaxInstruments).First(i => f.Book.IsInstrument(i) && f.Book.Instrument(i).Kind == InstrumentKind.Future && f.Book.Instrument(i).Underlying == 1);
        f.Book.SetCollateral(7, 0, 1e9);
        f.Sweep(2 * Second);
        f.Drain();
        f.Gate.SetAccountUnderlyingPositionLimit(6, 0, 12);
        var d = f.Gate.Check(new OrderRequest(7, future, OrderSide.Buy, 50, 0, OrderType.Market, 1), f.Book.NowNanos);
        Assert.True(d.Accepted, d.Reason.ToString());
        f.Sweep(3 * Second);
        var moved = f.Drain();
        Assert.Contains(moved, m => (m.Account, m.Underlying, m.PositionLimit) == (6, 0, 12));
        Assert.Contains(moved, m => m.Account == 7 && m.Underlying == 1 && m.PositionUsage == f.Gate.UnderlyingPositionUsage(7, 1));
        Assert.DoesNotContain(moved, m => m.Underlying >= 0 && m.Account is not (6 or 7));
        Assert.DoesNotContain(moved, m => m.Account == 7 && m.Underlying == 0);
        Assert.Throws<ArgumentException>(() => new RiskSummaryPublisher(f.Book, f.Gate, f.Machine, f.Ring.CreateSingleProducer(), 0, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), positionUnderlyings: [77]));
    }

    [Fact]
    public void AFullRing_DefersTheSweep_AndEveryAccountStillGetsItsSummary()
    {
        using var f = new Fixture(capacity: 64);
        var seen = new HashSet<int>();
        long now = 1 * Second;
        long sweeps = f.Publisher.Sweeps;
        for (int round = 0; f.Publisher.Sweeps == sweeps; round++)
        {
            f.Publisher.Poll(now);
            if (round % 3 == 0)
            {
                foreach (var s in f.Drain())
                {
                    Assert.True(seen.Add(s.Account), $"account {s.Account} twice in one sweep");
                }
            }

            Assert.True(round < 100_000, "the sweep never ended");
        }

        foreach (var s in f.Drain())
        {
            Assert.True(seen.Add(s.Account));
        }

        Assert.True(f.Publisher.Deferred > 0, "the ring was full at times (else this test proves nothing)");
        Assert.Equal(f.Book.Config.MaxAccounts, seen.Count);
    }

    [Fact]
    public void ALimitChangeOnTheFeed_IsInTheNextSummary()
    {
        using var f = new Fixture();
        f.Sweep(1 * Second);
        f.Drain();
        var m = new byte[FeedMessageDescriptor.PayloadSize];
        FeedMessageDescriptor.WriteHeader(m, FeedMessageType.LimitChange, 9, 1, f.Book.NowNanos, 0);
        FeedMessageDescriptor.WriteLimitChange(m, LimitScope.Account, LimitField.MaxOrderQuantityOrCredit, 11, 123_456);
        f.Machine.Apply(m);
        f.Sweep(2 * Second);
        var s = Assert.Single(f.Drain());
        Assert.Equal(11, s.Account);
        Assert.Equal(123_456, s.CreditLimit);
        Assert.Equal(f.Machine.Counters.Events, s.FeedEvents);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Poll_AllocatesNothing(bool inUnderlyings)
    {
        using var f = new Fixture(changeFraction: 0, positionUnderlyings: inUnderlyings ? [0, 1] : null);
        long now = 1 * Second;
        int i = 0;
        Testing.GcAssert.NoAllocation(() =>
        {
            // Every poll moves one account (its collateral, or its limit in underlying 1, summarized
            // there), so every poll writes: the writing path is measured.
            int a = i++ % f.Book.Config.MaxAccounts;
            if (inUnderlyings)
            {
                f.Gate.SetAccountUnderlyingPositionLimit(a, 1, 1_000 + i);
            }
            else
            {
                f.Book.SetCollateral(a, 0, 1e6 + i);
            }

            now += Second;
            f.Publisher.Poll(now);
            var none = new Drop();
            f.Reader.PollWhile(ref none);
        });
        Assert.True(f.Publisher.Published > 20_000);
    }

    private struct Drop : IRingHandlerWhile
    {
        public readonly bool OnMessage(long sequence, ReadOnlySpan<byte> payload) => true;
    }

    [Fact]
    public void StartingShares_SplitTheFirmLimit_KeepALowerAccountLimit_AndRefuseAnAccountTheBookLacks()
    {
        var w = StandardWorkload.Build(WorkloadScale.Small);
        var gate = new PreTradeGate(w.Book, new GateConfig());
        gate.SetAccountLimits(2, creditLimit: 100_000);
        var config = LlrConfig.Parse("""{ "firms": [ { "name": "a", "accounts": [1, 2, 3, 4], "creditLimit": 4000000 }, { "name": "b", "accounts": [5], "creditLimit": 7 } ] }""");
        FirmLimits.ApplyStartingShares(config, w.Book, gate);
        Assert.Equal(1e6, gate.CreditLimitOf(1));
        Assert.Equal(100_000, gate.CreditLimitOf(2)); // lower already: kept
        Assert.Equal(1e6, gate.CreditLimitOf(4));
        Assert.Equal(7, gate.CreditLimitOf(5));
        Assert.True(double.IsPositiveInfinity(gate.CreditLimitOf(6)), "an account of no firm keeps its limit");

        var positions = LlrConfig.Parse("""{ "firms": [ { "name": "p", "accounts": [8, 9, 10, 11], "creditLimit": 4000000, "positionLimits": [ { "underlying": 1, "limit": 100 } ] } ] }""");
        gate.SetAccountLimits(9, underlyingPositionLimit: 10);
        FirmLimits.ApplyStartingShares(positions, w.Book, gate);
        Assert.Equal(25, gate.UnderlyingPositionLimitOf(8, 1));
        Assert.Equal(10, gate.UnderlyingPositionLimitOf(9, 1)); // the account's own lower limit binds
        Assert.Equal(double.PositiveInfinity, gate.UnderlyingPositionLimitOf(8, 0)); // only the underlying named
        Assert.Equal(double.PositiveInfinity, gate.UnderlyingPositionLimitOf(12, 1)); // only the firm's accounts
        Assert.Equal([1], positions.Firms.PositionUnderlyings());

        var unknownUnderlying = LlrConfig.Parse("""{ "firms": [ { "name": "p", "accounts": [8], "creditLimit": 10, "positionLimits": [ { "underlying": 900, "limit": 1 } ] } ] }""");
        Assert.Contains(Assert.Throws<ConfigException>(() => FirmLimits.ApplyStartingShares(unknownUnderlying, w.Book, gate)).Problems,
            p => p.StartsWith("firms[0].positionLimits[0].underlying: 900 is not an underlying of the book", StringComparison.Ordinal));

        var unknown = LlrConfig.Parse("""{ "firms": [ { "name": "a", "accounts": [1, 999999], "creditLimit": 10 } ] }""");
        var e = Assert.Throws<ConfigException>(() => FirmLimits.ApplyStartingShares(unknown, w.Book, gate));
        Assert.Contains(e.Problems, p => p.StartsWith("firms[0].accounts: 999999 is not an account of the book", StringComparison.Ordinal));
    }

    [Fact]
    public void TheConfiguration_RefusesBadFirmsAndSummaries_NamingEachField()
    {
        var e = Assert.Throws<ConfigException>(() => LlrConfig.Parse("""
            {
              "firms": [
                { "name": "a", "accounts": [1, 2], "creditLimit": 0 },
                { "name": "a", "accounts": [2], "creditLimit": 5 },
                { "name": "c d", "accounts": [], "creditLimit": 5 },
                { "name": "e", "accounts": [-1], "creditLimit": 5 },
                { "name": "g", "accounts": [20], "creditLimit": 5, "positionLimits": [ { "underlying": 1, "limit": 0 }, { "underlying": 1, "limit": 5 }, { "underlying": -3, "limit": 5 } ] }
              ],
              "summaries": { "capacity": 1000, "intervalMilliseconds": 0, "step": 0, "changeFraction": 1 },
              "aggregator": { "producerId": 1, "rebalanceMilliseconds": 0, "tolerance": -1 },
              "jetStream": { "summaryStream": "LLR_FEED" }
            }
            """));
        string[] expected =
        [
            "firms[0].creditLimit:", "firms[1].name:", "firms[1].accounts: account 2 is already in firm a", "firms[2].name:", "firms[2].accounts: is empty",
            "firms[3].accounts: -1 is not an account id", "firms[4].positionLimits[0].limit:", "firms[4].positionLimits[1].underlying: 1 is not a distinct",
            "firms[4].positionLimits[2].underlying: -3", "summaries.capacity:", "summaries.intervalMilliseconds:", "summaries.step:", "summaries.changeFraction:",
            "aggregator.producerId:", "aggregator.rebalanceMilliseconds:", "aggregator.tolerance:", "jetStream.summaryStream:",
        ];
        foreach (string start in expected)
        {
            Assert.Contains(e.Problems, p => p.StartsWith(start, StringComparison.Ordinal));
        }

        // Negative control: the same sections written well are accepted.
        var good = LlrConfig.Parse("""{ "firms": [ { "name": "a", "accounts": [1, 2], "creditLimit": 5 } ], "summaries": { "enabled": true }, "aggregator": { "producerId": 9 } }""");
        Assert.Single(good.Firms);
    }
}
