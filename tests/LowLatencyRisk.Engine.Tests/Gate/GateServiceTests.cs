using System.Globalization;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Gate;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Engine.Tests.Gate;

public sealed class GateServiceTests : IDisposable
{
    private static readonly RingOptions s_requests = new(64, 1024, ProducerMode.Multi);
    private static readonly RingOptions s_responses = new(64, 1024, ProducerMode.Single);
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static (StandardWorkload W, PreTradeGate Gate) NewGate()
    {
        // These tests send up to 100,000 orders that are never filled or cancelled (no lifecycle
        // messages): with margin on resting orders their margin would soon exceed the account's
        // equity and turn accepts into refusals. What they test is the transport, so that is off.
        var w = StandardWorkload.Build(WorkloadScale.Small);
        return (w, new PreTradeGate(w.Book, new GateConfig { ThrottleRate = 1e12, ThrottleBurst = 1e12, MaxTrackedOrders = 1 << 18, MarginOnWorkingOrders = false }));
    }

    private static double OnTick(double price, double tick) => Math.Round(price / tick) * tick;

    [Fact]
    public void RequestAndResponse_RoundTripThroughTheLayouts()
    {
        var order = new OrderRequest(7, 12, OrderSide.Sell, 1.5, 123.25, OrderType.Market, 99, TimeInForce.ImmediateOrCancel, ReduceOnly: true);
        Span<byte> buffer = stackalloc byte[56];
        OrderCheckRequestDescriptor.Write(buffer, 42, order, 1234);
        Assert.True(OrderCheckRequestDescriptor.TryRead(buffer, out long correlation, out var decoded, out long ts));
        Assert.Equal((42L, order, 1234L), (correlation, decoded, ts));
        var decision = new Decision(RejectReason.CreditLimit, 10, 11.5);
        OrderCheckResponseDescriptor.Write(buffer, 43, decision, 1234);
        Assert.True(OrderCheckResponseDescriptor.TryRead(buffer, out correlation, out var back));
        Assert.Equal((43L, decision), (correlation, back));
        buffer[2] = 9; // wrong version
        Assert.False(OrderCheckResponseDescriptor.TryRead(buffer, out _, out _));
    }

    [Fact]
    public void InProcessRings_EveryResponseMatchesItsRequest_AndEqualsTheDirectCheck()
    {
        var (w, gate) = NewGate();
        var (_, twin) = NewGate();
        using var requestRing = SharedRing.CreateInProcess(s_requests);
        using var responseRing = SharedRing.CreateInProcess(s_responses);
        var service = new GateService(gate, requestRing.CreateConsumer(0), responseRing.CreateSingleProducer());
        var client = new GateClient(requestRing.CreateMultiProducer(), responseRing.CreateConsumer(0));
        var rng = new Random(3);
        long now = StandardWorkload.StartNanos + 1_000;
        var expected = new List<Decision>();
        var received = new List<(long, Decision)>();
        for (int batch = 0; batch < 100; batch++)
        {
            int n = rng.Next(1, 50);
            for (int k = 0; k < n; k++)
            {
                int u = rng.Next(2);
                int instrument = w.InstrumentsByUnderlying[u][rng.Next(w.InstrumentsByUnderlying[u].Length)];
                double mark = w.Book.MarkPrice(instrument);
                double tick = w.Book.Instrument(instrument).TickSize;
                var order = new OrderRequest(rng.Next(200), instrument, rng.Next(2) == 0 ? OrderSide.Buy : OrderSide.Sell, 0.01 * rng.Next(1, 50),
                    OnTick(mark * (0.8 + (0.4 * rng.NextDouble())), tick) + (rng.Next(10) == 0 ? tick / 3 : 0), OrderType.Limit, expected.Count + 1);
                long id = expected.Count;
                client.Send(id, order, now);
                expected.Add(twin.Check(order, now));
            }

            service.Poll();
            while (client.TryReceive(out long correlation, out var decision))
            {
                received.Add((correlation, decision));
            }
        }

        Assert.Equal(expected.Count, received.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(((long)i, expected[i]), received[i]);
        }

        Assert.Contains(expected, d => d.Accepted);
        Assert.Contains(expected, d => !d.Accepted);
        Assert.Equal(expected.Count, service.Answered);
    }

    [Fact]
    public void MalformedRequest_IsAnsweredWithAReject_AndCounted()
    {
        var (_, gate) = NewGate();
        using var requestRing = SharedRing.CreateInProcess(s_requests);
        using var responseRing = SharedRing.CreateInProcess(s_responses);
        var service = new GateService(gate, requestRing.CreateConsumer(0), responseRing.CreateSingleProducer());
        var producer = requestRing.CreateMultiProducer();
        Assert.True(producer.TryClaim(out long slot));
        var payload = producer.Payload(slot);
        payload.Fill(0xAB);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(payload[8..], 77);
        producer.Publish(slot);
        Assert.Equal(1, service.Poll());
        var client = new GateClient(producer, responseRing.CreateConsumer(0));
        Assert.True(client.TryReceive(out long correlation, out var decision));
        Assert.Equal((77L, RejectReason.InvalidOrder), (correlation, decision.Reason));
        Assert.Equal(1, service.MalformedRequests);
    }

    [Fact]
    public void AFullResponseRing_LeavesRequestsWaiting_NeverBlocksTheService_AndLosesNone()
    {
        var (w, gate) = NewGate();
        using var requestRing = SharedRing.CreateInProcess(new RingOptions(64, 256, ProducerMode.Multi));
        using var responseRing = SharedRing.CreateInProcess(new RingOptions(64, 64, ProducerMode.Single));
        var service = new GateService(gate, requestRing.CreateConsumer(0), responseRing.CreateSingleProducer());
        var client = new GateClient(requestRing.CreateMultiProducer(), responseRing.CreateConsumer(0));
        int perp = w.Perpetuals[0];
        double price = OnTick(StandardWorkload.InitialIndex(0), w.Book.Instrument(perp).TickSize);
        for (int i = 0; i < 200; i++)
        {
            client.Send(i, new OrderRequest(1, perp, OrderSide.Buy, 0.001, price, OrderType.Limit, i + 1), StandardWorkload.StartNanos + i);
        }

        // The reader is away: the service answers what the response ring holds and returns at once.
        Assert.Equal(64, service.Poll());
        Assert.Equal(0, service.Poll());
        Assert.True(service.WaitedForRoom >= 2);
        Assert.Equal(64, service.Answered);

        // The reader comes back: every request is answered exactly once, in order.
        long expected = 0;
        for (int round = 0; round < 10 && expected < 200; round++)
        {
            while (client.TryReceive(out long correlation, out var decision))
            {
                Assert.Equal(expected++, correlation);
                Assert.True(decision.Accepted, decision.Reason.ToString());
            }

            service.Poll();
        }

        while (client.TryReceive(out long correlation, out _))
        {
            Assert.Equal(expected++, correlation);
        }

        Assert.Equal(200, expected);
        Assert.Equal(200, service.Answered);
    }

    [Fact]
    public void ServiceAndClient_DoNotAllocate()
    {
        var (w, gate) = NewGate();
        using var requestRing = SharedRing.CreateInProcess(s_requests);
        using var responseRing = SharedRing.CreateInProcess(s_responses);
        var service = new GateService(gate, requestRing.CreateConsumer(0), responseRing.CreateSingleProducer());
        var client = new GateClient(requestRing.CreateMultiProducer(), responseRing.CreateConsumer(0));
        int perp = w.Perpetuals[0];
        double price = OnTick(StandardWorkload.InitialIndex(0), w.Book.Instrument(perp).TickSize);
        var state = (service, client, gate, perp, price, id: new long[1]);
        GcAssert.NoAllocation(state, static s =>
        {
            long id = ++s.id[0];
            s.client.Send(id, new OrderRequest(1, s.perp, OrderSide.Buy, 0.001, s.price, OrderType.Limit, id), StandardWorkload.StartNanos + id);
            s.service.Poll();
            s.client.TryReceive(out _, out _);
            s.gate.OnOrderEnded(1, id, StandardWorkload.StartNanos + id);
        });
    }

    [Fact]
    public void CrossProcess_ClientInAnotherProcess_EveryResponseMatchesByCorrelationId()
    {
        const long Count = 100_000;
        var (w, gate) = NewGate();
        string requestPath = _files.NewPath("llr-gate-req");
        string responsePath = _files.NewPath("llr-gate-resp");
        using var requestRing = SharedRing.CreateMapped(requestPath, s_requests);
        using var responseRing = SharedRing.CreateMapped(responsePath, s_responses);
        var service = new GateService(gate, requestRing.CreateConsumer(0), responseRing.CreateSingleProducer());
        int perp = w.Perpetuals[0];
        double tick = w.Book.Instrument(perp).TickSize;
        double price = OnTick(StandardWorkload.InitialIndex(0), tick);
        var c = CultureInfo.InvariantCulture;
        using var peer = PeerProcess.StartDotnet("LowLatencyRisk.Ipc.TestPeer", "gate-client", requestPath, responsePath, Count.ToString(c),
            perp.ToString(c), price.ToString("R", c), (price + (tick / 3)).ToString("R", c));
        var deadline = DateTime.UtcNow.AddSeconds(120);
        var wait = new YieldingWait();
        int idle = 0;
        while (service.Answered < Count && DateTime.UtcNow < deadline)
        {
            if (service.Poll() == 0)
            {
                wait.Idle(idle++);
            }
            else
            {
                idle = 0;
            }
        }

        Assert.Equal(0, peer.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains($"ok {Count}", peer.Output, StringComparison.Ordinal);
        Assert.Equal(Count, service.Answered);
        Assert.Equal(0, service.MalformedRequests);
    }
}
