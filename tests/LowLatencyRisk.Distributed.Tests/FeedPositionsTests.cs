using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Distributed.Tests;

/// <summary>The feed bridge's record of where each producer stands in what it wrote (<see cref="FeedPositions"/>).</summary>
public sealed class FeedPositionsTests
{
    [Fact]
    public void ASession_StartsWhereItWasRecorded_ANewerOneFromTheStart_AndAnUnknownOrOlderOneIsUnknown()
    {
        using var files = new TempFiles();
        string path = files.NewPath("llr-bridge-positions");
        using (var p = FeedPositions.Open(path))
        {
            Assert.Equal(-1, p.StartOf(3, 0)); // nothing recorded: the bridge starts where it first meets the producer
            p.Wrote(3, 7, 41);
            p.Wrote(3, 7, 42);
            p.Wrote(3, 7, 40);                  // an older message written again (a duplicate the engine refuses) moves nothing back
            p.Wrote(3, 6, 900);                 // an older session: stale, ignored
            p.Wrote(FeedMessageDescriptor.MaxProducers, 1, 5); // not a producer id: ignored
        }

        using (var p = FeedPositions.Open(path)) // what a successor reads
        {
            Assert.Equal(42, p.StartOf(3, 7));
            Assert.Equal(0, p.StartOf(3, 8));   // a newer session starts at sequence 1
            Assert.Equal(-1, p.StartOf(3, 6));
            Assert.Equal(-1, p.StartOf(4, 7));
            Assert.Equal(-1, p.StartOf(-1, 7));
            p.Wrote(3, 8, 1);
            Assert.Equal(1, p.StartOf(3, 8));
            Assert.Equal(-1, p.StartOf(3, 7));  // the newest session only
        }
    }

    [Fact]
    public void SeededFromAnEngine_ItSaysWhatTheEngineApplied_AndForgetsWhatWasThere()
    {
        var w = StandardWorkload.Build(WorkloadScale.Small);
        var machine = new FeedStateMachine(w.Book, new PreTradeGate(w.Book, new GateConfig()), new EngineCounters());
        var m = new byte[FeedMessageDescriptor.PayloadSize];
        for (long s = 1; s <= 5; s++)
        {
            FeedMessageDescriptor.WriteHeader(m, FeedMessageType.Heartbeat, 2, 3u, s, StandardWorkload.StartNanos + s, 0);
            machine.Apply(m);
        }

        Assert.Equal(5, machine.LastProducerSequence(2));
        using var p = FeedPositions.InMemory();
        p.Wrote(2, 3, 99); // what a bridge here wrote in an earlier life
        p.Wrote(9, 1, 10);
        p.SeedFrom(machine);
        Assert.Equal(5, p.StartOf(2, 3));
        Assert.Equal(-1, p.StartOf(9, 1)); // the engine never saw producer 9
    }

    [Fact]
    public void AFileOfAnotherShape_IsRefusedByName()
    {
        using var files = new TempFiles();
        string wrongSize = files.NewPath("llr-not-positions");
        File.WriteAllBytes(wrongSize, new byte[100]);
        var e = Assert.Throws<InvalidDataException>(() => FeedPositions.Open(wrongSize));
        Assert.Contains("a feed bridge's positions file has", e.Message, StringComparison.Ordinal);
        string garbage = files.NewPath("llr-not-positions");
        File.WriteAllBytes(garbage, new byte[64 + (16 * FeedMessageDescriptor.MaxProducers)]);
        e = Assert.Throws<InvalidDataException>(() => FeedPositions.Open(garbage));
        Assert.Contains("not a feed bridge's positions file", e.Message, StringComparison.Ordinal);
    }
}
