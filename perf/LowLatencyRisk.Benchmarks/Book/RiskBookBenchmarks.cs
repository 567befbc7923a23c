using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// The risk book's hot paths on the full standard workload (4 underlyings, 820 instruments,
/// 10,000 accounts × ~20 positions): a fill (position, netting, risk-array update, re-margin),
/// a what-if, a volatility mark, and an index tick with the revaluation of every holder.
/// </summary>
[MemoryDiagnoser]
public class RiskBookBenchmarks
{
    private StandardWorkload _w = null!;
    private RiskBook _book = null!;
    private int _n;
    private long _calls;
    private long _t;
    private int _option;

    /// <summary>Positions in underlying 0 (the ones a tick on it revalues); printed at set-up.</summary>
    public int AffectedPositions { get; private set; }

    [GlobalSetup(Targets = [nameof(ApplyFill), nameof(WhatIf), nameof(IndexTickAndRevalue)])]
    public void Setup()
    {
        _w = StandardWorkload.Build(new WorkloadScale());
        _book = _w.Book;
        _t = StandardWorkload.StartNanos;
        _option = _w.Option(0, 3, 5, call: true);
        for (int a = 0; a < _w.Scale.Accounts; a++)
        {
            for (int k = 0; k < _book.PositionCount(a); k++)
            {
                if (_book.Instrument(_book.PositionInstrumentAt(a, k)).Underlying == 0)
                {
                    AffectedPositions++;
                }
            }
        }

        Console.WriteLine($"// instruments {_w.InstrumentCount}, positions in underlying 0: {AffectedPositions}");
    }

    /// <summary>One fill on an existing position (alternating buy and sell of the same size).</summary>
    [Benchmark]
    public FillResult ApplyFill()
    {
        _n = (_n + 7919) % 10_000;
        int a = _n;
        int i = _book.PositionInstrumentAt(a, 0);
        // Each sweep over the accounts buys, the next sells: positions stay where the workload put them.
        var r = _book.ApplyFill(a, i, ((_calls++ / 10_000) & 1) == 0 ? 0.01 : -0.01, _book.MarkPrice(i));
        while (_book.TryDequeueTransition(out _))
        {
        }

        return r;
    }

    private (int Account, int Instrument, double Quantity, double Price)[] _simulated = [];
    private int _next;

    /// <summary>
    /// One fill from the venue simulator's stream (random accounts across the whole book, their
    /// own instruments, new positions now and then): what the engine meets in production, with the
    /// account's state mostly out of cache — unlike <see cref="ApplyFill"/>, which revisits a
    /// position the previous sweep left warm.
    /// </summary>
    [Benchmark]
    public FillResult ApplySimulatedFill()
    {
        var f = _simulated[_next];
        _next = _next + 1 == _simulated.Length ? 0 : _next + 1;
        var r = _book.ApplyFill(f.Account, f.Instrument, f.Quantity, f.Price);
        while (_book.TryDequeueTransition(out _))
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

    /// <summary>Margin after a hypothetical fill.</summary>
    [Benchmark]
    public double WhatIf()
    {
        _n = (_n + 7919) % 10_000;
        return _book.WhatIf(_n, _option, -1).InitialMarginAfter;
    }

    /// <summary>An index tick on underlying 0 and the revaluation of its 205 instruments and every holder.</summary>
    [Benchmark]
    public int IndexTickAndRevalue()
    {
        _book.UpdateIndex(0, StandardWorkload.InitialIndex(0) * (1 + ((_t / 1_000_000 % 11) * 0.0005)), _t += 1_000_000);
        _book.Revalue();
        int transitions = 0;
        while (_book.TryDequeueTransition(out _))
        {
            transitions++;
        }

        return transitions;
    }
}
