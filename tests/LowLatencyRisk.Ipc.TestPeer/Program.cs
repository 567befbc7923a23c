using System.Globalization;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Gate;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.TestPeer;

// Helper process for the cross-process ring tests.
//   produce PATH PRODUCER_ID COUNT      attach, publish COUNT test messages, print "done"
//   claim-and-hang PATH PRODUCER_ID     claim one slot, write it, print "claimed SEQ", never publish
//   echo PATH_IN PATH_OUT COUNT         ping-pong: read COUNT messages from PATH_IN, echo each to PATH_OUT
//   gate-client REQ RESP COUNT INSTRUMENT PRICE BAD_PRICE
//                                       send COUNT order checks (even: valid at PRICE, odd: off-tick BAD_PRICE),
//                                       check every response's correlation id and reason, print "ok COUNT"
string mode = args.Length > 0 ? args[0] : "";
try
{
    switch (mode)
    {
        case "produce":
            return Produce(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), long.Parse(args[3], CultureInfo.InvariantCulture));
        case "claim-and-hang":
            return ClaimAndHang(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
        case "echo":
            return Echo(args[1], args[2], long.Parse(args[3], CultureInfo.InvariantCulture));
        case "gate-client":
            return GateClientRun(args[1], args[2], long.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture),
                double.Parse(args[5], CultureInfo.InvariantCulture), double.Parse(args[6], CultureInfo.InvariantCulture));
        default:
            Console.Error.WriteLine("usage: produce|claim-and-hang|echo ...");
            return 2;
    }
}
catch (Exception ex)
{
    Console.Error.WriteLine(ex);
    return 1;
}

static int Produce(string path, int producerId, long count)
{
    using var ring = SharedRing.AttachMapped(path, readyTimeout: TimeSpan.FromSeconds(10));
    var wait = new YieldingWait();
    if (ring.Options.Mode == ProducerMode.Single)
    {
        var p = ring.CreateSingleProducer();
        for (long i = 0; i < count; i++)
        {
            long s = p.Claim(1, ref wait);
            TestMessage.Write(p.Payload(s), producerId, i);
            p.Publish(s);
        }
    }
    else
    {
        var p = ring.CreateMultiProducer();
        for (long i = 0; i < count; i++)
        {
            long s = p.Claim(1, ref wait);
            TestMessage.Write(p.Payload(s), producerId, i);
            if (!p.Publish(s))
            {
                i--; // abandoned while we stalled: send it again
            }
        }
    }

    Console.WriteLine("done");
    return 0;
}

static int ClaimAndHang(string path, int producerId)
{
    using var ring = SharedRing.AttachMapped(path, readyTimeout: TimeSpan.FromSeconds(10));
    var p = ring.CreateMultiProducer();
    if (!p.TryClaim(out long s))
    {
        Console.WriteLine("full");
        return 3;
    }

    TestMessage.Write(p.Payload(s), producerId, 0);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"claimed {s}"));
    Thread.Sleep(Timeout.Infinite);
    return 0;
}

static int Echo(string pathIn, string pathOut, long count)
{
    using var input = SharedRing.AttachMapped(pathIn, readyTimeout: TimeSpan.FromSeconds(10));
    using var output = SharedRing.AttachMapped(pathOut, readyTimeout: TimeSpan.FromSeconds(10));
    var consumer = input.CreateConsumer(0);
    var producer = output.CreateSingleProducer();
    var handler = new EchoHandler(producer);
    var wait = new BusySpinWait();
    Console.WriteLine("ready");
    while (handler.Count < count)
    {
        if (consumer.Poll(ref handler) == 0)
        {
            wait.Idle(0);
        }
    }

    return 0;
}

static int GateClientRun(string requestPath, string responsePath, long count, int instrument, double price, double badPrice)
{
    using var requests = SharedRing.AttachMapped(requestPath, readyTimeout: TimeSpan.FromSeconds(10));
    using var responses = SharedRing.AttachMapped(responsePath, readyTimeout: TimeSpan.FromSeconds(10));
    var client = new GateClient(requests.CreateMultiProducer(), responses.CreateConsumer(0));
    long sent = 0, received = 0;
    long now = 1_767_225_600_000_000_000 + 1_000;
    var wait = new YieldingWait();
    int idle = 0;
    while (received < count)
    {
        // Keep up to 64 requests in flight.
        while (sent < count && sent - received < 64)
        {
            bool valid = (sent & 1) == 0;
            var order = new OrderRequest(sent % 8 == 0 ? 1 : 2, instrument, OrderSide.Buy, 0.001, valid ? price : badPrice, OrderType.Limit, sent + 1);
            client.Send(sent, order, now + sent);
            sent++;
        }

        if (client.TryReceive(out long correlation, out var decision))
        {
            idle = 0;
            if (correlation != received)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bad correlation {correlation}, expected {received}"));
                return 4;
            }

            var expected = (received & 1) == 0 ? RejectReason.None : RejectReason.InvalidTick;
            if (decision.Reason != expected)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"request {received}: {decision.Reason}, expected {expected}"));
                return 5;
            }

            received++;
        }
        else
        {
            wait.Idle(idle++);
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ok {received}"));
    return 0;
}

internal struct EchoHandler(SingleProducer producer) : IRingHandler
{
    public long Count;

    public void OnMessage(long sequence, ReadOnlySpan<byte> payload)
    {
        var wait = new BusySpinWait();
        long s = producer.Claim(1, ref wait);
        payload.CopyTo(producer.Payload(s));
        producer.Publish(s);
        Count++;
    }
}
