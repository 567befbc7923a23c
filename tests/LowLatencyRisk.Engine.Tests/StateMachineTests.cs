using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine.Tests;

/// <summary>
/// One set of decisions: the live engine (rings, batches, sliced revaluations, breaches published
/// and read), the fuzz-style path (<see cref="RiskEngine.Process"/>, breaches on), the offline
/// replay (<see cref="RiskEngine.Replay"/>, no rings) and the bare <see cref="FeedStateMachine"/>
/// reach the same state from the same input, hostile messages included.
/// </summary>
public sealed class StateMachineTests
{
    private static List<byte[]> Input(int count)
    {
        var (_, shadow) = ThinWorkload.Build();
        var sim = new VenueSimulator(shadow, seed: 31, producerId: 2, stressStart: 2_000, stressLength: 5_000);
        var random = new Random(4242);
        var messages = new List<byte[]>(count);
        long hostile = 0;
        for (int i = 0; i < count; i++)
        {
            var m = new byte[FeedMessageDescriptor.PayloadSize];
            int kind = random.Next(20);
            if (kind == 0)
            {
                random.NextBytes(m); // garbage
            }
            else if (kind == 1 && messages.Count > 0)
            {
                messages[random.Next(messages.Count)].CopyTo(m, 0); // a resend: a duplicate unless it was refused before
            }
            else if (kind == 2)
            {
                // A fill with a hostile quantity from another producer.
                FeedMessageDescriptor.WriteHeader(m, FeedMessageType.Fill, 5, ++hostile, 1_767_225_600_000_000_000, 0);
                FeedMessageDescriptor.WriteFill(m, random.Next(50), random.Next(40), random.Next(3) switch { 0 => double.NaN, 1 => 1e300, _ => -0.0 }, 100, hostile);
            }
            else
            {
                sim.Next(m, 0);
            }

            messages.Add(m);
        }

        return messages;
    }

    private static RiskEngine Engine(RingConsumer? feed, IRingProducer? breaches)
    {
        var (w, _) = ThinWorkload.Build();
        return new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), feed, breaches);
    }

    [Fact]
    public void LiveEngine_Process_Replay_AndTheBareMachine_ReachTheSameState()
    {
        var input = Input(60_000);

        // Live: through the feed ring in batches, breaches published and read.
        using var feedRing = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Single));
        using var breachRing = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 14, ProducerMode.Single));
        var live = Engine(feedRing.CreateConsumer(0), breachRing.CreateSingleProducer());
        var reader = new Liquidator(breachRing.CreateConsumer(0));
        var producer = feedRing.CreateSingleProducer();
        int next = 0;
        while (next < input.Count || live.HasPendingMarks)
        {
            for (int k = 0; k < 700 && next < input.Count && producer.TryClaim(1, out long slot); k++)
            {
                input[next++].CopyTo(producer.Payload(slot));
                producer.Publish(slot);
            }

            live.PollOnce();
            reader.Poll();
        }

        // Fuzz-style: one message at a time through Process, breaches on.
        using var breachRing2 = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 14, ProducerMode.Single));
        var processed = Engine(null, breachRing2.CreateSingleProducer());
        var reader2 = new Liquidator(breachRing2.CreateConsumer(0));
        foreach (var m in input)
        {
            Assert.True(processed.Process(m));
            reader2.Poll();
        }

        // Offline replay: no rings at all.
        var replayed = Engine(null, null);
        input.ForEach(m => replayed.Replay(m));
        replayed.FinishReplay();

        // The decisions alone.
        var (w, _) = ThinWorkload.Build();
        var machine = new FeedStateMachine(w.Book, new PreTradeGate(w.Book, new GateConfig()), new EngineCounters());
        foreach (var m in input)
        {
            machine.Apply(m);
            while (w.Book.TryDequeueTransition(out _))
            {
            }
        }

        ulong expected = EngineStateHash.Compute(machine);
        Assert.Equal(expected, EngineStateHash.Compute(live));
        Assert.Equal(expected, EngineStateHash.Compute(processed));
        Assert.Equal(expected, EngineStateHash.Compute(replayed));
        Assert.Equal(live.Counters.TotalRejects, machine.Counters.TotalRejects);
        Assert.Equal(live.Counters.Rejects, machine.Counters.Rejects);
        Assert.True(machine.Counters.TotalRejects > 1_000, $"the input must exercise refusals: {machine.Counters.TotalRejects}");
        Assert.True(live.Counters.BreachesPublished > 0 && reader.Read == live.Counters.BreachesPublished, "breaches were on, and every one was read");

        // Negative control: one accepted fill fewer gives another state.
        var (w2, _) = ThinWorkload.Build();
        var short1 = new FeedStateMachine(w2.Book, new PreTradeGate(w2.Book, new GateConfig()), new EngineCounters());
        int skip = input.FindIndex(m => WireMessage.Read<FeedHeader>(m).Type == FeedMessageType.Fill && WireMessage.Read<FeedHeader>(m).ProducerId == 2);
        for (int i = 0; i < input.Count; i++)
        {
            if (i != skip)
            {
                short1.Apply(input[i]);
            }
        }

        Assert.NotEqual(expected, EngineStateHash.Compute(short1));
    }

    [Fact]
    public void OfflineEngine_QueuesBreaches_WithoutGoingRiskOff()
    {
        var input = Input(20_000);
        var engine = Engine(null, null);
        input.ForEach(m => engine.Process(m));
        Assert.False(engine.IsRiskOff);
        Assert.Equal(0, engine.Counters.BreachRingFull);
        Assert.Equal(0, engine.Counters.BreachesPublished);
        Assert.Equal(engine.Breaches.Waiting, engine.Counters.PendingBreaches);
    }

    [Fact]
    public void AShortPayload_IsTheCallersBug_NotInput()
    {
        var engine = Engine(null, null);
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.Machine.Apply(new byte[40]));
    }
}
