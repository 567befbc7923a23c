using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Core.Simulation;
using LowLatencyRisk.Engine.Simulation;
using LowLatencyRisk.Engine.Wire;
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
                int at = FeedMessageDescriptor.BodyOffset + (random.Next(11) * 8 % 88);
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
            engine.Replay(message);
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
            var r = Core.Book.RiskBookVerifier.Recompute(w.Book, a);
            Assert.True(Math.Abs(r.Equity - w.Book.Equity(a)) <= 1e-6 * Math.Max(1, Math.Abs(r.Equity)), $"account {a}: equity {w.Book.Equity(a)} vs {r.Equity}");
            Assert.True(Math.Abs(r.InitialMargin - w.Book.InitialMargin(a)) <= 1e-6 * Math.Max(1, r.InitialMargin), $"account {a}: IM {w.Book.InitialMargin(a)} vs {r.InitialMargin}");
        }
    }
}
