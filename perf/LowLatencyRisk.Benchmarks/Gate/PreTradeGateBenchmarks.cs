using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Gate;

/// <summary>
/// The in-process pre-trade check on the full standard workload, for an account holding 50
/// positions across 2 underlyings: an accepted order (every check, including what-if margin, then
/// the working order released again), and two rejects (early: price band; late: margin).
/// </summary>
[MemoryDiagnoser]
public class PreTradeGateBenchmarks
{
    private StandardWorkload _w = null!;
    private PreTradeGate _gate = null!;
    private int _instrument;
    private double _mark;
    private double _tick;
    private long _id;
    private long _now;

    [GlobalSetup]
    public void Setup()
    {
        (_w, _gate) = GateWorkload.Build();
        _instrument = _w.Option(0, 4, 6, call: true);
        _tick = _w.Book.Instrument(_instrument).TickSize;
        _mark = _w.Book.MarkPrice(_instrument);
        _now = StandardWorkload.StartNanos + 1_000;
        // Each benchmark must take the path its name says.
        Expect(Check_Accepted() ? RejectReason.None : RejectReason.InvalidOrder, RejectReason.None);
        Expect(Check_RejectedPriceBand(), RejectReason.PriceOutsideBand);
        Expect(Check_RejectedMargin(), RejectReason.InsufficientMargin);
    }

    private static void Expect(RejectReason actual, RejectReason expected)
    {
        if (actual != expected)
        {
            throw new InvalidOperationException($"benchmark path: expected {expected}, got {actual}");
        }
    }

    /// <summary>Check an order that passes every check, then release it (as a cancel would).</summary>
    [Benchmark]
    public bool Check_Accepted()
    {
        long id = ++_id;
        _now += 1_000;
        var d = _gate.Check(new OrderRequest(GateWorkload.Account, _instrument, OrderSide.Sell, 0.01, GateWorkload.OnTick(_mark, _tick), OrderType.Limit, id), _now);
        _gate.OnOrderEnded(GateWorkload.Account, id, _now);
        return d.Accepted;
    }

    /// <summary>Rejected early: limit price outside the band.</summary>
    [Benchmark]
    public RejectReason Check_RejectedPriceBand() =>
        _gate.Check(new OrderRequest(GateWorkload.Account, _instrument, OrderSide.Buy, 0.01, GateWorkload.OnTick(_mark * 3, _tick), OrderType.Limit, ++_id), _now).Reason;

    /// <summary>Rejected last: initial margin after the order above equity.</summary>
    [Benchmark]
    public RejectReason Check_RejectedMargin() =>
        _gate.Check(new OrderRequest(GateWorkload.Account, _w.Perpetuals[0], OrderSide.Buy, 900, GateWorkload.OnTick(StandardWorkload.InitialIndex(0), _w.Book.Instrument(_w.Perpetuals[0]).TickSize), OrderType.Limit, ++_id), _now).Reason;
}
