using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>A million random and mutated messages through the decoder and the engine.</summary>
public sealed class FuzzTests
{
    [Fact]
    public void MillionHostileMessages_NoException_EveryOneCounted_RejectsChangeNothing()
    {
        var (w, shadow) = ThinWorkload.Build();
        using var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 64, ProducerMode.Single));
        using var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Single));
        var engine = new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), feed.CreateConsumer(0), breaches.CreateSingleProducer());
        var breachReader = new Liquidator(breaches.CreateConsumer(0));
        var sim = new VenueSimulator(shadow, seed: 99, producerId: 2, stressStart: 10_000, stressLength: 50_000);
        var random = new Random(1122);
        var valid = new byte[FeedMessageDescriptor.PayloadSize];
        var message = new byte[FeedMessageDescriptor.PayloadSize];
        long hostileSequence = 0;
        const int Total = 1_000_000;
        int rejectedChecked = 0;
        for (int i = 0; i < Total; i++)
        {
            int kind = random.Next(10);
            if (kind < 3)
            {
                sim.Next(message, 0); // a valid message of the simulated venue (the book must keep moving)
            }
            else if (kind < 5)
            {
                random.NextBytes(message); // random bytes
            }
            else
            {
                // A valid message with hostile fields: header kept (sometimes a bad version, type,
                // producer or sequence), one body field replaced by an extreme value.
                sim.Next(valid, 0);
                valid.CopyTo(message, 0);
                FeedMessageDescriptor.WriteHeader(message, (FeedMessageType)message[0], 3, ++hostileSequence, StandardWorkload.StartNanos, 0);
                int at = FeedMessageDescriptor.HeaderSize + (random.Next(11) * 8 % 88);
                switch (random.Next(12))
                {
                    case 0: BitConverter.TryWriteBytes(message.AsSpan(at), double.NaN); break;
                    case 1: BitConverter.TryWriteBytes(message.AsSpan(at), double.PositiveInfinity); break;
                    case 2: BitConverter.TryWriteBytes(message.AsSpan(at), -1.0e300); break;
                    case 3: BitConverter.TryWriteBytes(message.AsSpan(at), 0.0); break;
                    case 4: BitConverter.TryWriteBytes(message.AsSpan(at), int.MinValue); break;
                    case 5: BitConverter.TryWriteBytes(message.AsSpan(at), int.MaxValue); break;
                    case 6: BitConverter.TryWriteBytes(message.AsSpan(at), -1); break;
                    case 7: message[0] = (byte)random.Next(256); break;
                    case 8: message[1] = (byte)random.Next(256); break;
                    case 9: BitConverter.TryWriteBytes(message.AsSpan(2), (ushort)random.Next(64, 65536)); break;
                    case 10: BitConverter.TryWriteBytes(message.AsSpan(8), random.NextInt64(-5, 3)); break; // duplicate or old sequence
                    default: BitConverter.TryWriteBytes(message.AsSpan(at), double.Epsilon); break;
                }
            }

            // Every 200th message: the full state before and after must be equal when it is refused.
            bool check = i % 200 == 0;
            ulong before = check ? EngineStateHash.Compute(engine, includeProducerSequences: false) : 0;
            long rejects = engine.Counters.TotalRejects;
            long events = engine.Counters.Events;
            engine.Process(message);
            Assert.Equal(events + 1, engine.Counters.Events);
            if (check && engine.Counters.TotalRejects > rejects)
            {
                Assert.Equal(before, EngineStateHash.Compute(engine, includeProducerSequences: false));
                rejectedChecked++;
            }

            if (i % 4096 == 0)
            {
                engine.PollOnce(); // revaluations of what the marks made dirty
                breachReader.Poll();
            }
        }

        var c = engine.Counters;
        Assert.Equal(Total, c.Events);
        Assert.True(c.TotalRejects > Total / 2, $"rejects {c.TotalRejects}");
        Assert.True(rejectedChecked > 1_000, $"checked {rejectedChecked}");
        // Every reason that hostile input can reach is counted.
        foreach (var reason in new[] { FeedReject.UnknownType, FeedReject.BadVersion, FeedReject.BadProducer, FeedReject.Duplicate, FeedReject.UnknownId, FeedReject.InvalidValue })
        {
            Assert.True(c.Rejects[(int)reason] > 0, $"{reason} never counted");
        }

        // The book is still exact after all that.
        engine.FinishReplay();
        for (int a = 0; a < w.Book.Config.MaxAccounts; a++)
        {
            var r = Fixtures.RiskBookVerifier.Recompute(w.Book, a);
            Assert.True(Math.Abs(r.Equity - w.Book.Equity(a)) <= 1e-6 * Math.Max(1, Math.Abs(r.Equity)), $"account {a}: equity {w.Book.Equity(a)} vs {r.Equity}");
            Assert.True(Math.Abs(r.InitialMargin - w.Book.InitialMargin(a)) <= 1e-6 * Math.Max(1, r.InitialMargin), $"account {a}: IM {w.Book.InitialMargin(a)} vs {r.InitialMargin}");
        }
    }

    /// <summary>Extreme finite values (and the special ones) for every 4- and 8-byte field of every body.</summary>
    private static readonly double[] s_extremeDoubles = [1e308, -1e308, double.MaxValue, double.MinValue, 1e-308, -1e-308, double.Epsilon, -double.Epsilon, 2.2e-310, 0.0, -0.0, 1e15, -1e15, double.NaN, double.PositiveInfinity, double.NegativeInfinity];
    private static readonly long[] s_extremeLongs = [long.MaxValue, long.MinValue, 0, -1, 1L << 40];
    private static readonly int[] s_extremeInts = [int.MaxValue, int.MinValue, 0, -1, 1 << 20];

    [Fact]
    public void EveryFieldOfEveryType_ExtremeValues_EveryStateFinite_BookEqualsFromScratch()
    {
        // A size add-on on underlying 0, so the SizeAddOn template is a valid recalibration.
        var (w, shadow) = ThinWorkload.Build(new Core.Book.PortfolioComponentsConfig
        {
            SizeAddOns = [new Core.Book.SizeAddOnConfig { Underlying = 0, BaseRate = 0.01, Bands = [new(1_000_000, 1), new(1e18, 2)], VegaRate = 0.01 }],
        });
        using var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 64, ProducerMode.Single));
        using var breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 10, ProducerMode.Single));
        var engine = new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), feed.CreateConsumer(0), breaches.CreateSingleProducer());
        var reader = new Liquidator(breaches.CreateConsumer(0));
        var sim = new VenueSimulator(shadow, seed: 7, producerId: 2);

        // One valid message of every type the simulator writes, and hand-made ones of the rest.
        var bases = new Dictionary<FeedMessageType, byte[]>();
        for (int i = 0; i < 10_000 && bases.Count < 4; i++)
        {
            var m = new byte[FeedMessageDescriptor.PayloadSize];
            var type = sim.Next(m, 0);
            bases.TryAdd(type, m);
        }

        byte[] Make(FeedMessageType type, Action<byte[]> body)
        {
            var m = new byte[FeedMessageDescriptor.PayloadSize];
            FeedMessageDescriptor.WriteHeader(m, type, 2, 1, StandardWorkload.StartNanos, 0);
            body(m);
            return m;
        }

        int free = Enumerable.Range(0, w.Book.Config.MaxInstruments).First(i => !w.Book.IsInstrument(i));
        bases[FeedMessageType.OrderLifecycle] = Make(FeedMessageType.OrderLifecycle, m => FeedMessageDescriptor.WriteOrderLifecycle(m, 3, OrderLifecycleEvent.Filled, 77, 1));
        bases[FeedMessageType.KillSwitch] = Make(FeedMessageType.KillSwitch, m => FeedMessageDescriptor.WriteKillSwitch(m, KillSwitchScope.Account, 3, false));
        bases[FeedMessageType.LimitChange] = Make(FeedMessageType.LimitChange, m => FeedMessageDescriptor.WriteLimitChange(m, LimitScope.Account, LimitField.MaxOrderQuantityOrCredit, 3, 1e6));
        bases[FeedMessageType.InstrumentDefinition] = Make(FeedMessageType.InstrumentDefinition, m => FeedMessageDescriptor.WriteInstrumentDefinition(m, free,
            new Core.Book.InstrumentSpec(Core.Book.InstrumentKind.Future, 0, 0, StandardWorkload.StartNanos + (90L * 86_400_000_000_000), 1, 0.5, 1)));
        bases[FeedMessageType.Heartbeat] = Make(FeedMessageType.Heartbeat, _ => { });

        // Margin modes: account 199 made an isolated position of account 4 (flat first), so the
        // transfer template is valid; extreme values in any field of either must be refused cleanly.
        var book = w.Book;
        while (book.PositionCount(199) > 0)
        {
            int i = book.PositionInstrumentAt(199, 0);
            Assert.Equal(Core.Book.FillResult.Applied, book.ApplyFill(199, i, -book.PositionQuantity(199, i), book.MarkPrice(i)));
        }

        Assert.Equal(Core.Book.ModeChangeResult.Changed, book.SetMarginMode(199, Core.Book.MarginMode.Isolated, parent: 4, instrument: w.Perpetuals[0]));
        bases[FeedMessageType.MarginMode] = Make(FeedMessageType.MarginMode, m => FeedMessageDescriptor.WriteMarginMode(m, 7, Core.Book.MarginMode.Standard));
        bases[FeedMessageType.CollateralTransfer] = Make(FeedMessageType.CollateralTransfer, m => FeedMessageDescriptor.WriteCollateralTransfer(m, 4, 199, StandardWorkload.UsdAsset, 1));
        bases[FeedMessageType.SizeAddOn] = Make(FeedMessageType.SizeAddOn, m => FeedMessageDescriptor.WriteSizeAddOn(m, 0, 0.02, 2, 5e6, 1e7, 0.05, 0.02, Core.Book.AddOnCombine.Sum));
        bases[FeedMessageType.FundingRate] = Make(FeedMessageType.FundingRate, m => FeedMessageDescriptor.WriteFundingRate(m, w.Perpetuals[0], 0.0001, 8 * 3_600_000_000_000L, StandardWorkload.StartNanos + 1));
        bases[FeedMessageType.ScenarioCalibration] = Make(FeedMessageType.ScenarioCalibration, m => FeedMessageDescriptor.WriteScenarioCalibration(m, 0, w.Book.ScenarioCalibration(0) with { PriceScanRange = 0.12 }));
        Assert.True(bases.Count >= 14, string.Join(",", bases.Keys));

        long sequence = 0;
        long cases = 0;
        void Send(byte[] m)
        {
            FeedMessageDescriptor.WriteHeader(m, (FeedMessageType)m[0], 3, ++sequence, StandardWorkload.StartNanos + sequence, 0);
            engine.Process(m);
            cases++;
            // Checked after every message: two extremes of opposite sign must not hide each other.
            for (int a = 0; a < w.Book.Config.MaxAccounts; a++)
            {
                Assert.True(double.IsFinite(w.Book.Equity(a)) && double.IsFinite(w.Book.InitialMargin(a)),
                    $"after {(FeedMessageType)m[0]} case {cases}: account {a} equity {w.Book.Equity(a)}, IM {w.Book.InitialMargin(a)}");
            }

            if (cases % 512 == 0)
            {
                engine.PollOnce();
                reader.Poll();
            }
        }

        var message = new byte[FeedMessageDescriptor.PayloadSize];
        foreach (var (type, template) in bases)
        {
            for (int at = FeedMessageDescriptor.HeaderSize; at + 4 <= 88; at += 4)
            {
                foreach (double v in s_extremeDoubles)
                {
                    if (at + 8 <= 88)
                    {
                        template.CopyTo(message, 0);
                        BitConverter.TryWriteBytes(message.AsSpan(at), v);
                        Send(message);
                    }
                }

                foreach (long v in s_extremeLongs)
                {
                    if (at + 8 <= 88)
                    {
                        template.CopyTo(message, 0);
                        BitConverter.TryWriteBytes(message.AsSpan(at), v);
                        Send(message);
                    }
                }

                foreach (int v in s_extremeInts)
                {
                    template.CopyTo(message, 0);
                    BitConverter.TryWriteBytes(message.AsSpan(at), v);
                    Send(message);
                }
            }

            // And the valid template itself, with the simulated venue moving the book in between.
            template.CopyTo(message, 0);
            Send(message);
            for (int i = 0; i < 200; i++)
            {
                sim.Next(message, 0);
                Send(message);
            }
        }

        while (engine.PollOnce() > 0 || engine.HasPendingMarks)
        {
            reader.Poll();
        }

        Assert.True(cases > 2_000, $"{cases} cases");
        Assert.True(book.CollateralBalance(199, StandardWorkload.UsdAsset) > 0, "the valid transfer template was applied");
        Assert.Equal((0.02, 2.0, 5e6, 1e7, 0.05, 0.02, Core.Book.AddOnCombine.Sum), book.Components!.AddOnParameters(0)); // and the valid recalibration
        for (int a = 0; a < book.Config.MaxAccounts; a++)
        {
            Assert.True(double.IsFinite(book.Equity(a)) && double.IsFinite(book.InitialMargin(a)) && double.IsFinite(book.MaintenanceMargin(a))
                && double.IsFinite(book.RealizedPnl(a)) && double.IsFinite(book.CollateralValue(a)), $"account {a}: equity {book.Equity(a)}, IM {book.InitialMargin(a)}, realized {book.RealizedPnl(a)}, collateral {book.CollateralValue(a)}");
            for (int k = 0; k < book.PositionCount(a); k++)
            {
                int instrument = book.PositionInstrumentAt(a, k);
                Assert.True(double.IsFinite(book.PositionQuantity(a, instrument)) && double.IsFinite(book.PositionAveragePrice(a, instrument)));
            }

            for (int u = 0; u < book.Config.MaxUnderlyings; u++)
            {
                Assert.True(double.IsFinite(book.NetDelta(a, u)) && double.IsFinite(book.NetGamma(a, u)) && double.IsFinite(book.NetVega(a, u)) && double.IsFinite(book.NetTheta(a, u)));
                foreach (double x in book.RiskArray(a, u))
                {
                    Assert.True(double.IsFinite(x), $"account {a} underlying {u}: risk array entry {x}");
                }
            }

            var r = Fixtures.RiskBookVerifier.Recompute(book, a);
            Assert.True(Math.Abs(r.Equity - book.Equity(a)) <= 1e-6 * Math.Max(1, Math.Abs(r.Equity)), $"account {a}: equity {book.Equity(a)} vs {r.Equity}");
            Assert.True(Math.Abs(r.InitialMargin - book.InitialMargin(a)) <= 1e-6 * Math.Max(1, r.InitialMargin), $"account {a}: IM {book.InitialMargin(a)} vs {r.InitialMargin}");
        }
    }
}
