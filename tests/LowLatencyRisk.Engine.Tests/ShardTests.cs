using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures.Simulation;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>
/// Account shards without any transport: every shard reads the whole feed in order and applies only
/// its own accounts' messages. Together the shards must hold exactly what one engine holds, account
/// set by account set, and nothing may be applied twice on a redelivery.
/// </summary>
public sealed class ShardTests
{
    private const int SideProducer = 6;

    /// <summary>The simulator's stream (fills, marks, collateral, a stress episode) with account messages of every kind mixed in: limits, kill switches, transfers within and across shards, protections.</summary>
    private static List<byte[]> Input(int count, int seed = 17)
    {
        var (_, shadow) = ThinWorkload.Build();
        var sim = new VenueSimulator(shadow, seed, producerId: 2, stressStart: 3_000, stressLength: 6_000);
        var random = new Random(seed);
        var messages = new List<byte[]>(count);
        long side = 0;
        for (int i = 0; i < count; i++)
        {
            var m = new byte[FeedMessageDescriptor.PayloadSize];
            int kind = random.Next(40);
            long t = sim.NowNanos;
            if (kind < 4)
            {
                FeedMessageType type = kind switch { 0 => FeedMessageType.LimitChange, 1 => FeedMessageType.KillSwitch, 2 => FeedMessageType.CollateralTransfer, _ => FeedMessageType.Collateral };
                FeedMessageDescriptor.WriteHeader(m, type, SideProducer, ++side, t, 0);
                int a = random.Next(200), b = random.Next(200);
                switch (kind)
                {
                    case 0: FeedMessageDescriptor.WriteLimitChange(m, LimitScope.Account, LimitField.MaxOrderQuantityOrCredit, a, 1e6 + random.Next(1000)); break;
                    case 1: FeedMessageDescriptor.WriteKillSwitch(m, random.Next(3) == 0 ? KillSwitchScope.Underlying : KillSwitchScope.Account, random.Next(3) == 0 ? 0 : a, random.Next(2) == 0); break;
                    case 2: FeedMessageDescriptor.WriteCollateralTransfer(m, a, b, 0, 10); break;
                    default: FeedMessageDescriptor.WriteCollateral(m, a, 0, 50_000 + random.Next(100_000)); break;
                }
            }
            else
            {
                sim.Next(m, 0);
            }

            messages.Add(m);
        }

        return messages;
    }

    private static FeedStateMachine Machine(ShardMap? map = null, int shard = 0)
    {
        var (w, _) = ThinWorkload.Build();
        var machine = new FeedStateMachine(w.Book, new PreTradeGate(w.Book, new GateConfig()), new EngineCounters());
        if (map is not null)
        {
            machine.AssignShard(map, shard);
        }

        return machine;
    }

    private static void Feed(FeedStateMachine machine, IEnumerable<byte[]> input)
    {
        foreach (var m in input)
        {
            machine.Apply(m);
            while (machine.Book.TryDequeueTransition(out _))
            {
            }
        }
    }

    public static TheoryData<string> Maps => ["modulo 2", "modulo 3", "ranges 0,70,140"];

    private static ShardMap Parse(string name) => name.StartsWith("modulo", StringComparison.Ordinal)
        ? new ShardMap(1, int.Parse(name[7..], System.Globalization.CultureInfo.InvariantCulture), ShardRule.Modulo)
        : new ShardMap(1, 3, ShardRule.Ranges, [0, 70, 140]);

    [Theory]
    [MemberData(nameof(Maps))]
    public void Shards_Together_HoldWhatOneEngineHolds_AccountSetByAccountSet(string mapName)
    {
        var map = Parse(mapName);
        var input = Input(40_000);
        var single = Machine();
        Feed(single, input);

        var shards = Enumerable.Range(0, map.Count).Select(k => Machine(map, k)).ToArray();
        foreach (var shard in shards)
        {
            Feed(shard, input);
        }

        for (int k = 0; k < map.Count; k++)
        {
            Assert.Equal(EngineStateHash.ComputeShard(single, map, k), EngineStateHash.ComputeShard(shards[k], map, k));
            Assert.True(shards[k].Counters.Rejects[(int)FeedReject.OtherShard] > 1_000, "each shard refused its peers' account messages");
        }

        // Every fill the single engine applied was applied by exactly one shard: the positions add up.
        var book = single.Book;
        for (int a = 0; a < 200; a++)
        {
            var owner = shards[map.ShardOf(a)].Book;
            Assert.Equal(book.PositionCount(a), owner.PositionCount(a));
            Assert.Equal(book.RealizedPnl(a), owner.RealizedPnl(a));
            foreach (var other in shards.Where(s => s.Book != owner))
            {
                // Released from the starting book and never applied elsewhere.
                Assert.Equal(0, other.Book.PositionCount(a));
                Assert.Equal(0, other.Book.CollateralBalance(a, 0));
                Assert.Equal(MarginState.Healthy, other.Book.State(a));
            }
        }

        Assert.Contains(Enumerable.Range(0, 200), a => book.PositionCount(a) > 0);

        // Negative control: a shard's hash over accounts it does not own is not the single engine's.
        Assert.NotEqual(EngineStateHash.ComputeShard(single, map, 1), EngineStateHash.ComputeShard(shards[0], map, 1));
    }

    [Fact]
    public void ARedeliveredStretch_IsCountedAsDuplicates_AndChangesNothing()
    {
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        var input = Input(20_000, seed: 5);
        var once = Machine(map, 1);
        Feed(once, input);

        // At-least-once delivery: a bridge restarted without acknowledging the last 3,000 messages
        // hands them over again (and some twice more), interleaved with what follows.
        var twice = Machine(map, 1);
        var redelivered = input.Take(12_000).Concat(input.Skip(9_000).Take(3_000)).Concat(input.Skip(12_000)).Concat(input.Skip(19_000)).ToList();
        Feed(twice, redelivered);

        Assert.Equal(EngineStateHash.Compute(once), EngineStateHash.Compute(twice));
        Assert.Equal(once.Counters.Rejects[(int)FeedReject.Duplicate] + 4_000, twice.Counters.Rejects[(int)FeedReject.Duplicate]);
        Assert.Equal(once.Counters.Rejects[(int)FeedReject.OtherShard], twice.Counters.Rejects[(int)FeedReject.OtherShard]);

        // Negative control: the same stretch under fresh sequence numbers (another producer) is applied again.
        var resequenced = Machine(map, 1);
        Feed(resequenced, input);
        long s = 0;
        foreach (var m in input.Skip(9_000).Take(3_000).Where(m => FeedMessageDescriptor.Header(m).Type == FeedMessageType.Fill))
        {
            var copy = (byte[])m.Clone();
            var h = FeedMessageDescriptor.Header(copy);
            FeedMessageDescriptor.WriteHeader(copy, h.Type, 9, ++s, h.TimestampNanos, 0);
            resequenced.Apply(copy);
        }

        Assert.NotEqual(EngineStateHash.ComputeShard(once, map, 1), EngineStateHash.ComputeShard(resequenced, map, 1));
    }

    [Fact]
    public void TheGate_RefusesOrdersOfAnotherShardsAccounts_WithItsOwnReason()
    {
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        var machine = Machine(map, 0);
        var gate = machine.Gate!;
        var book = machine.Book;
        int instrument = Enumerable.Range(0, book.Config.MaxInstruments).First(i => book.IsInstrument(i) && !book.Instrument(i).IsOption);
        double price = book.IndexPrice(book.Instrument(instrument).Underlying);
        var theirs = gate.Check(new OrderRequest(3, instrument, OrderSide.Buy, 0.01, price, OrderType.Market, 1), StandardWorkloadStart);
        Assert.Equal(RejectReason.OtherShard, theirs.Reason);
        var ours = gate.Check(new OrderRequest(4, instrument, OrderSide.Buy, 0.01, price, OrderType.Market, 2), StandardWorkloadStart);
        Assert.NotEqual(RejectReason.OtherShard, ours.Reason);
        Assert.NotEqual(RejectReason.AccountDisabled, ours.Reason);

        // Enabling the account (a limit message that reached the gate another way) does not take it over.
        gate.SetAccountEnabled(3, true);
        Assert.Equal(RejectReason.OtherShard, gate.Check(new OrderRequest(3, instrument, OrderSide.Buy, 0.01, price, OrderType.Market, 3), StandardWorkloadStart).Reason);

        // Negative control: the same order on an unsharded gate is not refused for its shard.
        var single = Machine();
        Assert.NotEqual(RejectReason.OtherShard, single.Gate!.Check(new OrderRequest(3, instrument, OrderSide.Buy, 0.01, price, OrderType.Market, 1), StandardWorkloadStart).Reason);
    }

    private static long StandardWorkloadStart => Fixtures.StandardWorkload.StartNanos;

    [Fact]
    public void AccountMessages_AreRouted_ByTheirAccounts_AndMarketDataEverywhere()
    {
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        var m = new byte[FeedMessageDescriptor.PayloadSize];
        void Header(FeedMessageType type) => FeedMessageDescriptor.WriteHeader(m, type, 1, 1, 1, 0);

        Header(FeedMessageType.IndexPrice);
        FeedMessageDescriptor.WriteIndexPrice(m, 0, 100);
        Assert.Equal(-1, map.Route(m));
        Header(FeedMessageType.Fill);
        FeedMessageDescriptor.WriteFill(m, 7, 3, 1, 100, 1);
        Assert.Equal(1, map.Route(m));
        Header(FeedMessageType.KillSwitch);
        FeedMessageDescriptor.WriteKillSwitch(m, KillSwitchScope.Underlying, 7, true);
        Assert.Equal(-1, map.Route(m)); // an underlying's kill switch: every shard's gate
        FeedMessageDescriptor.WriteKillSwitch(m, KillSwitchScope.Account, 8, true);
        Assert.Equal(0, map.Route(m));
        Header(FeedMessageType.LimitChange);
        FeedMessageDescriptor.WriteLimitChange(m, LimitScope.Instrument, LimitField.Halted, 9, 1);
        Assert.Equal(-1, map.Route(m));
        FeedMessageDescriptor.WriteLimitChange(m, LimitScope.Account, LimitField.DailyLossLimit, 9, 1);
        Assert.Equal(1, map.Route(m));
        Header(FeedMessageType.CollateralTransfer);
        FeedMessageDescriptor.WriteCollateralTransfer(m, 5, 6, 0, 1);
        Assert.Equal(2, ShardMap.AccountsOf(m, out int from, out int to));
        Assert.Equal((5, 6), (from, to));
        Assert.Equal(1, map.Route(m)); // to the first's owner, which refuses it: the accounts are on two shards

        var shard1 = Machine(map, 1);
        shard1.Apply(m);
        Assert.Equal(1, shard1.Counters.Rejects[(int)FeedReject.OtherShard]);
        FeedMessageDescriptor.WriteHeader(m, FeedMessageType.CollateralTransfer, 1, 2, 1, 0);
        FeedMessageDescriptor.WriteCollateralTransfer(m, 5, 7, 0, 1);
        shard1.Apply(m);
        Assert.Equal(1, shard1.Counters.Rejects[(int)FeedReject.OtherShard]); // both on shard 1: the book decides (refused for its own reason)
        Assert.Equal(1, shard1.Counters.Rejects[(int)FeedReject.TransferRefused]);
    }

    [Fact]
    public void TheMap_AssignsByItsRule_AndSaysWhatIsWrong()
    {
        var modulo = new ShardMap(1, 3, ShardRule.Modulo);
        Assert.Equal([0, 1, 2, 0, 1], Enumerable.Range(0, 5).Select(modulo.ShardOf));
        var ranges = new ShardMap(2, 3, ShardRule.Ranges, [0, 10, 100]);
        Assert.Equal([0, 0, 1, 1, 2, 2], new[] { 0, 9, 10, 99, 100, 5_000 }.Select(ranges.ShardOf));
        Assert.Equal(0, ShardMap.Single.ShardOf(123_456));

        Assert.NotEqual(new ShardMap(1, 3, ShardRule.Ranges, [0, 10, 100]).Identity, ranges.Identity); // the version is part of it
        Assert.Equal(new ShardMap(2, 3, ShardRule.Ranges, [0, 10, 100]).Identity, ranges.Identity);

        Assert.Contains("begin at 0", ShardMap.Problem(1, 2, ShardRule.Ranges, [5, 10]), StringComparison.Ordinal);
        Assert.Contains("rise strictly", ShardMap.Problem(1, 3, ShardRule.Ranges, [0, 10, 10]), StringComparison.Ordinal);
        Assert.Contains("one start per shard", ShardMap.Problem(1, 3, ShardRule.Ranges, [0, 10]), StringComparison.Ordinal);
        Assert.Contains("only for the rule", ShardMap.Problem(1, 2, ShardRule.Modulo, [0, 1]), StringComparison.Ordinal);
        Assert.Contains("count", ShardMap.Problem(1, 0, ShardRule.Modulo, []), StringComparison.Ordinal);
        Assert.Contains("version", ShardMap.Problem(0, 2, ShardRule.Modulo, []), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ShardMap(1, 2, ShardRule.Ranges, [1, 2]));
    }

    [Fact]
    public void TheConfiguration_NamesEveryShardProblem()
    {
        var ok = LlrConfig.Parse("""{ "shards": { "version": 3, "count": 2, "index": 1, "rule": "ranges", "rangeStarts": [0, 100] } }""");
        Assert.Equal(1, ok.ToShardMap().ShardOf(150));
        Assert.Equal(3, ok.ToShardMap().Version);
        Assert.Same(ShardMap.Single, LlrConfig.Parse("{}").ToShardMap());

        // The README's two-shard example: accounts below 5,000 on shard 0, a three-server cluster.
        var example = LlrConfig.Load(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "LowLatencyRisk.Host", "examples", "two-shards.json"));
        Assert.Equal((0, 1), (example.ToShardMap().ShardOf(4_999), example.ToShardMap().ShardOf(5_000)));
        Assert.Equal((3, 2), (example.JetStream.Replicas, example.Rings.BreachConsumers));
        Assert.Equal("llr.feed.shard.1", example.JetStream.ShardSubject(1));

        var bad = Assert.Throws<ConfigException>(() => LlrConfig.Parse("""{ "shards": { "count": 2, "index": 2, "rule": "ranges", "rangeStarts": [0, 0] } }"""));
        Assert.Contains(bad.Problems, p => p.StartsWith("shards: rangeStarts must rise strictly", StringComparison.Ordinal));
        Assert.Contains(bad.Problems, p => p.StartsWith("shards.index:", StringComparison.Ordinal));
        var js = Assert.Throws<ConfigException>(() => LlrConfig.Parse("""{ "jetStream": { "url": "http://x", "replicas": 2, "subjectPrefix": "a.b" } }"""));
        Assert.Contains(js.Problems, p => p.StartsWith("jetStream.url:", StringComparison.Ordinal));
        Assert.Contains(js.Problems, p => p.StartsWith("jetStream.replicas:", StringComparison.Ordinal));
        Assert.Contains(js.Problems, p => p.StartsWith("jetStream.subjectPrefix:", StringComparison.Ordinal));
    }

    [Fact]
    public void TheOwnershipCheck_AllocatesNothing()
    {
        var map = new ShardMap(1, 2, ShardRule.Modulo);
        var input = Input(4_000, seed: 9);
        var machine = Machine(map, 0);
        int i = 0;
        long sequence = 100_000;
        Testing.GcAssert.NoAllocation(() =>
        {
            var m = input[i++ % input.Count];
            var h = FeedMessageDescriptor.Header(m);
            FeedMessageDescriptor.WriteHeader(m, h.Type, h.ProducerId, ++sequence, h.TimestampNanos, 0); // always fresh
            machine.Apply(m);
            while (machine.Book.TryDequeueTransition(out _))
            {
            }
        }, iterations: 20_000);
        Assert.True(machine.Counters.Rejects[(int)FeedReject.OtherShard] > 0);
    }

    [Fact]
    public void AShardsJournal_IsRefused_ByAnEngineOfAnotherShardOrMap()
    {
        string dir = Path.Combine(Testing.TempFiles.Directory, $"llr-shard-journal-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            LlrConfig Config(int version, int index) => LlrConfig.Parse($$"""
                {
                  "workload": { "underlyings": 2, "futures": 2, "expiries": 3, "strikes": 5, "accounts": 200, "positionsPerAccount": 10 },
                  "rings": { "directory": "{{dir}}", "feedCapacity": 1024, "breachCapacity": 4096 },
                  "engine": { "cpu": -1 },
                  "journal": { "mode": "journal", "directory": "journal", "segmentMegabytes": 1, "snapshotIntervalSeconds": 0 },
                  "shards": { "version": {{version}}, "count": 2, "index": {{index}} }
                }
                """);

            using (Fixtures.BookSources.OpenEngine(Config(1, 0)))
            {
            }

            using (Fixtures.BookSources.OpenEngine(Config(1, 0))) // the same shard again: its own journal
            {
            }

            var other = Assert.Throws<Ipc.JournalException>(() => Fixtures.BookSources.OpenEngine(Config(1, 1)));
            Assert.Contains("holds the journal of shard 0 of 2", other.Message, StringComparison.Ordinal);
            Assert.Contains("this engine is shard 1 of 2", other.Message, StringComparison.Ordinal);
            var moved = Assert.Throws<Ipc.JournalException>(() => Fixtures.BookSources.OpenEngine(Config(2, 0)));
            Assert.Contains("map version 2", moved.Message, StringComparison.Ordinal);

            // A journal written unsharded (segments, no record of a shard) is not taken over by a shard.
            var unsharded = Path.Combine(dir, "unsharded");
            using (var w = Ipc.JournalWriter.Open(unsharded, FeedMessageDescriptor.PayloadSize, 1 << 20))
            {
                w.Append(new byte[FeedMessageDescriptor.PayloadSize]);
            }

            var e = Assert.Throws<Ipc.JournalException>(() => new ShardMap(1, 2, ShardRule.Modulo).ClaimJournal(unsharded, 0));
            Assert.Contains("holds the journal of shard 0 of 1", e.Message, StringComparison.Ordinal);
            ShardMap.Single.ClaimJournal(unsharded, 0); // its own kind of engine takes it
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
