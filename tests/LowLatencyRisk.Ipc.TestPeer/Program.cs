using System.Globalization;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.TestPeer;

// Helper process for the cross-process ring tests.
//   produce PATH PRODUCER_ID COUNT      attach, publish COUNT test messages, print "done"
//   claim-and-hang PATH PRODUCER_ID     claim one slot, write it, print "claimed SEQ", never publish
//   echo PATH_IN PATH_OUT COUNT         ping-pong: read COUNT messages from PATH_IN, echo each to PATH_OUT
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
