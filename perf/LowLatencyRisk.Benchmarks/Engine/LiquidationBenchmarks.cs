using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Benchmarks.Engine;

/// <summary>
/// Liquidation's cost: sizing one order for an account of the small standard workload (about 20
/// positions, collateral taken away so it is in liquidation), and a breach with and without its
/// liquidation order — a collateral message that flips account 0 between rich and broke, the
/// engine emitting the breach (and, with liquidation on, sizing and publishing the order), the
/// liquidator reading it (and sending the order on its ring, which a reader drains).
/// </summary>
[MemoryDiagnoser]
public class LiquidationBenchmarks
{
    private RiskBook _book = null!;
    private Flip _plain = null!, _acting = null!;

    [GlobalSetup]
    public void Setup()
    {
        var w = StandardWorkload.Build(WorkloadScale.Small);
        _book = w.Book;
        _book.SetCollateral(0, StandardWorkload.UsdAsset, 0);
        if (!_book.PlanLiquidation(0, LiquidationPolicy.Default, out _))
        {
            throw new InvalidOperationException("account 0 has nothing to liquidate");
        }

        // Account 1 just below its target (equity 0.95 × MM): a partial reduction restores it, found by bisection.
        double shortBy = (0.95 * _book.MaintenanceMargin(1)) - _book.Equity(1);
        _book.SetCollateral(1, StandardWorkload.UsdAsset, _book.CollateralBalance(1, StandardWorkload.UsdAsset) + shortBy);
        if (!_book.PlanLiquidation(1, LiquidationPolicy.Default, out var partial) || !partial.RestoresTarget)
        {
            throw new InvalidOperationException("account 1 is not a partial-reduction case");
        }

        _plain = new Flip(null);
        _acting = new Flip(LiquidationOptions.Default);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plain.Dispose();
        _acting.Dispose();
    }

    /// <summary>Sizes account 0's next order: broke, so its heaviest position closes in full (ranking and two what-ifs).</summary>
    [Benchmark]
    public double PlanLiquidation()
    {
        _book.PlanLiquidation(0, LiquidationPolicy.Default, out var order);
        return order.Quantity;
    }

    /// <summary>Sizes account 1's next order: a partial reduction, found by bisection over lots (about log₂(lots) what-ifs).</summary>
    [Benchmark]
    public double PlanLiquidationPartial()
    {
        _book.PlanLiquidation(1, LiquidationPolicy.Default, out var order);
        return order.Quantity;
    }

    /// <summary>One collateral flip → one breach emitted and read (liquidation off).</summary>
    [Benchmark(Baseline = true)]
    public long EmitBreach() => _plain.Next();

    /// <summary>The same with liquidation on: every other flip also sizes, publishes and sends an order.</summary>
    [Benchmark]
    public long EmitBreachAndOrder() => _acting.Next();

    private sealed class Flip : IDisposable
    {
        private readonly SharedRing _feed, _breaches, _orders;
        private readonly RiskEngine _engine;
        private readonly Liquidator _liquidator;
        private readonly MultiProducer _producer;
        private readonly RingConsumer _matcher;
        private readonly LiquidatorLedger _ledger;
        private long _sequence;

        public Flip(LiquidationOptions? liquidation)
        {
            var w = StandardWorkload.Build(WorkloadScale.Small);
            _feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1024, ProducerMode.Multi));
            _breaches = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1024, ProducerMode.Single));
            _orders = SharedRing.CreateInProcess(new RingOptions(LiquidationOrderDescriptor.SlotSize, 1024, ProducerMode.Single));
            _ledger = LiquidatorLedger.InMemory(w.Book.Config.MaxAccounts);
            _engine = new RiskEngine(w.Book, null, _feed.CreateConsumer(0), _breaches.CreateSingleProducer(), liquidation: liquidation);
            _liquidator = new Liquidator(_breaches.CreateConsumer(0), orders: _orders.CreateSingleProducer(), ledger: _ledger);
            _producer = _feed.CreateMultiProducer();
            _matcher = _orders.CreateConsumer(0);
        }

        public long Next()
        {
            long n = ++_sequence;
            _producer.TryClaim(1, out long slot);
            var p = _producer.Payload(slot);
            FeedMessageDescriptor.WriteHeader(p, FeedMessageType.Collateral, 1, n, StandardWorkload.StartNanos + n, MonotonicClock.Now());
            FeedMessageDescriptor.WriteCollateral(p, 0, StandardWorkload.UsdAsset, (n & 1) == 0 ? 1e9 : 0);
            _producer.Publish(slot);
            _engine.PollOnce();
            _liquidator.Poll();
            var drain = default(Discard);
            _matcher.Poll(ref drain); // the matching engine's read
            return _liquidator.Read + _liquidator.OrdersSent;
        }

        public void Dispose()
        {
            _feed.Dispose();
            _breaches.Dispose();
            _orders.Dispose();
            _ledger.Dispose();
        }
    }

    private struct Discard : IRingHandler
    {
        public readonly void OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
        }
    }
}
