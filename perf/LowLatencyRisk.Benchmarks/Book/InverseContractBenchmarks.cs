using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Benchmarks.Book;

/// <summary>
/// What an inverse (coin-settled) perpetual costs a fill and a what-if against a linear one, side by
/// side in one run: the standard workload with one more perpetual on underlying 0 — linear
/// (multiplier 1) or inverse ($100 a contract) — that every account holds; the fill alternates a buy
/// and a sale of the same size each sweep over the accounts (for the inverse one: an add at the price,
/// then a reduce at the average), so positions stay where they were. The inverse path converts the
/// contracts to the coins they move (one more branch and a division) and is otherwise the linear one.
/// </summary>
[MemoryDiagnoser]
public class InverseContractBenchmarks
{
    private RiskBook _book = null!;
    private int _perp;
    private double _size;
    private int _n;
    private long _calls;
    private int _accounts;
    private PreTradeGate _gate = null!;
    private double _orderSize;
    private double _limit;
    private long _id;
    private long _now = StandardWorkload.StartNanos + 1_000;

    /// <summary>How the benchmarked perpetual settles.</summary>
    [Params(Settlement.Linear, Settlement.Inverse)]
    public Settlement Settlement { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var w = StandardWorkload.Build(new WorkloadScale());
        _book = w.Book;
        _accounts = w.Scale.Accounts;
        _perp = Enumerable.Range(0, _book.Config.MaxInstruments).First(i => !_book.IsInstrument(i));
        bool inverse = Settlement == Settlement.Inverse;
        _book.DefineInstrument(_perp, new InstrumentSpec(InstrumentKind.Perpetual, 0, 0, 0, inverse ? 100 : 1, 0.5, inverse ? 1 : 0.001) { Settlement = Settlement });
        _book.Revalue();
        double mark = _book.MarkPrice(_perp);
        _size = inverse ? 100 : 100 * 100 / mark; // the same coins either way
        for (int a = 0; a < _accounts; a++)
        {
            if (_book.ApplyFill(a, _perp, inverse ? 1_000 : 1_000 * 100 / mark, mark) != FillResult.Applied)
            {
                throw new InvalidOperationException($"set-up: account {a} cannot hold the perpetual");
            }
        }

        _book.Revalue();
        while (_book.TryDequeueTransition(out _))
        {
        }

        // The gate's check of a sale of about one coin (inverse: mark / 100 contracts), at the mark on the tick.
        _gate = new PreTradeGate(_book, new GateConfig());
        _orderSize = inverse ? Math.Round(mark / 100) : 1;
        _limit = Math.Round(mark / 0.5) * 0.5;
        if (!GateCheck())
        {
            throw new InvalidOperationException($"set-up: the order check is refused: {_gate.Check(new OrderRequest(0, _perp, OrderSide.Sell, _orderSize, _limit, OrderType.Limit, ++_id), _now).Reason}");
        }
    }

    /// <summary>
    /// The gate's check of a sale of the perpetual (every check and the what-if; risk-reducing, so accepted), then its
    /// release as a cancel would: in a gate the position lookup the inverse what-if needs has just been made by the
    /// gate's own position checks.
    /// </summary>
    [Benchmark]
    public bool GateCheck()
    {
        _n = (_n + 7919) % _accounts;
        long id = ++_id;
        _now += 1_000;
        var d = _gate.Check(new OrderRequest(_n, _perp, OrderSide.Sell, _orderSize, _limit, OrderType.Limit, id), _now);
        _gate.OnOrderEnded(_n, id, _now);
        return d.Accepted;
    }

    /// <summary>One fill of the perpetual on an existing position.</summary>
    [Benchmark]
    public FillResult Fill()
    {
        _n = (_n + 7919) % _accounts;
        var r = _book.ApplyFill(_n, _perp, ((_calls++ / _accounts) & 1) == 0 ? _size : -_size, _book.MarkPrice(_perp));
        while (_book.TryDequeueTransition(out _))
        {
        }

        return r;
    }

    /// <summary>Margin after a hypothetical sale of the perpetual.</summary>
    [Benchmark]
    public double WhatIf()
    {
        _n = (_n + 7919) % _accounts;
        return _book.WhatIf(_n, _perp, -_size).InitialMarginAfter;
    }
}
