using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// The risk book's hot paths on the full standard workload (4 underlyings, 820 instruments,
/// 10,000 accounts × ~20 positions): a fill (position, netting, risk-array update, re-margin),
/// a what-if and an index tick with the revaluation of every holder (<see cref="BookPathBenchmarks"/>),
/// and a fill from the simulator's stream.
/// </summary>
[MemoryDiagnoser]
public class RiskBookBenchmarks : BookPathBenchmarks
{
    private StandardWorkload _w = null!;

    [GlobalSetup(Targets = [nameof(ApplyFill), nameof(WhatIf), nameof(IndexTickAndRevalue)])]
    public void Setup()
    {
        _w = StandardWorkload.Build(new WorkloadScale());
        Use(_w);
        Console.WriteLine($"// instruments {_w.InstrumentCount}, positions in underlying 0: {AffectedPositions}");
    }

    private (int Account, int Instrument, double Quantity, double Price)[] _simulated = [];
    private int _next;

    /// <summary>
    /// One fill from the venue simulator's stream (random accounts across the whole book, their
    /// own instruments, new positions now and then): what the engine meets in production, with the
    /// account's state mostly out of cache — unlike <see cref="BookPathBenchmarks.ApplyFill"/>, which revisits a
    /// position the previous sweep left warm.
    /// </summary>
    [Benchmark]
    public FillResult ApplySimulatedFill()
    {
        var f = _simulated[_next];
        _next = _next + 1 == _simulated.Length ? 0 : _next + 1;
        var r = _w.Book.ApplyFill(f.Account, f.Instrument, f.Quantity, f.Price);
        while (_w.Book.TryDequeueTransition(out _))
        {
        }

        return r;
    }

    [GlobalSetup(Target = nameof(ApplySimulatedFill))]
    public void SetupSimulated()
    {
        Setup();
        var sim = new LowLatencyRisk.Fixtures.Simulation.VenueSimulator(StandardWorkload.Build(new WorkloadScale()), seed: 7) { Mix = LowLatencyRisk.Fixtures.Simulation.SimulatorMix.FillsOnly };
        var list = new List<(int, int, double, double)>();
        var message = new byte[120];
        while (list.Count < 1_000_000)
        {
            if (sim.Next(message, 0) == LowLatencyRisk.Engine.Wire.FeedMessageType.Fill)
            {
                ref readonly var fill = ref LowLatencyRisk.Engine.Wire.WireMessage.Read<LowLatencyRisk.Engine.Wire.FillMessage>(message);
                list.Add((fill.Account, fill.Instrument, fill.Quantity, fill.Price));
            }
        }

        _simulated = [.. list];
    }
}
