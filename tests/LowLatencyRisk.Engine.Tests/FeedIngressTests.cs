using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine.Tests;

public sealed class FeedIngressTests : IDisposable
{
    private readonly List<SharedRing> _rings = [];

    public void Dispose() => _rings.ForEach(r => r.Dispose());

    private (RiskEngine Engine, IRingProducer Producer) NewEngine()
    {
        var (w, _) = ThinWorkload.Build();
        var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 256, ProducerMode.Multi));
        var breach = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Single));
        _rings.Add(feed);
        _rings.Add(breach);
        return (new RiskEngine(w.Book, new PreTradeGate(w.Book, new GateConfig()), feed.CreateConsumer(0), breach.CreateSingleProducer()), feed.CreateMultiProducer());
    }

    private static byte[] Capture(int count)
    {
        var (_, shadow) = ThinWorkload.Build();
        var sim = new VenueSimulator(shadow, seed: 3, producerId: 4, stressStart: count / 3, stressLength: count / 3);
        var bytes = new byte[count * FeedFrames.FrameLength];
        var message = new byte[FeedMessageDescriptor.PayloadSize];
        for (int i = 0; i < count; i++)
        {
            Array.Clear(message);
            sim.Next(message, 0);
            FeedFrames.Write(bytes.AsSpan(i * FeedFrames.FrameLength), message);
        }

        return bytes;
    }

    /// <summary>Applies the capture directly (no stream, no ring): the reference state.</summary>
    private ulong Direct(byte[] capture)
    {
        var (engine, _) = NewEngine();
        for (int i = 0; i < capture.Length; i += FeedFrames.FrameLength)
        {
            engine.Replay(capture.AsSpan(i + FeedFrames.PrefixLength, FeedMessageDescriptor.PayloadSize));
        }

        return EngineStateHash.Compute(engine);
    }

    /// <summary>Pumps <paramref name="reader"/> into a fresh engine's ring while the engine consumes on another thread.</summary>
    private async Task<(IngressResult Result, ulong Hash, long Events)> Pump(PipeReader reader)
    {
        var (engine, producer) = NewEngine();
        using var stop = new CancellationTokenSource();
        var consumer = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                engine.PollOnce();
            }

            while (engine.PollOnce() > 0)
            {
            }
        });
        consumer.Start();
        var result = await FeedIngress.PumpAsync(reader, producer);
        await stop.CancelAsync();
        consumer.Join();
        return (result, EngineStateHash.Compute(engine), engine.Counters.Events);
    }

    [Fact]
    public async Task FileCapture_ThroughPipelinesAndTheRing_GivesTheSameStateAsApplyingItDirectly()
    {
        byte[] capture = Capture(30_000);
        // A stream that hands out odd-sized pieces, so frames straddle the pipe's segments.
        var (result, hash, events) = await Pump(PipeReader.Create(new ChunkedStream(capture, 333), new StreamPipeReaderOptions(bufferSize: 4096)));
        Assert.Null(result.Error);
        Assert.Equal(30_000, result.Frames);
        Assert.Equal(30_000, events);
        Assert.Equal(Direct(capture), hash);
    }

    [Fact]
    public async Task TcpDropCopy_IsIngestedLikeAFile()
    {
        byte[] capture = Capture(10_000);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var sender = Task.Run(async () =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            await using var stream = client.GetStream();
            for (int i = 0; i < capture.Length; i += 5_000)
            {
                await stream.WriteAsync(capture.AsMemory(i, Math.Min(5_000, capture.Length - i)));
            }
        });
        using var accepted = await listener.AcceptTcpClientAsync();
        var (result, hash, _) = await Pump(PipeReader.Create(accepted.GetStream()));
        await sender;
        Assert.Null(result.Error);
        Assert.Equal(10_000, result.Frames);
        Assert.Equal(Direct(capture), hash);
    }

    [Fact]
    public async Task BadFrameLength_StopsThereWithTheFrameIndex_AfterPublishingTheGoodOnes()
    {
        byte[] capture = Capture(100);
        BitConverter.TryWriteBytes(capture.AsSpan(41 * FeedFrames.FrameLength), 7); // frame 42 claims 7 bytes
        var (result, _, events) = await Pump(PipeReader.Create(new MemoryStream(capture)));
        Assert.Equal(41, result.Frames);
        Assert.Equal(41, events);
        Assert.Contains("frame 42: length 7", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TruncatedLastFrame_IsReported()
    {
        byte[] capture = Capture(10)[..^50];
        var (result, _, _) = await Pump(PipeReader.Create(new MemoryStream(capture)));
        Assert.Equal(9, result.Frames);
        Assert.Contains("frame 10: the stream ended", result.Error, StringComparison.Ordinal);
    }

    private sealed class Listening : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();

        public Listening(SharedRing ring, int maxConnections, TimeSpan readTimeout)
        {
            Listener = new TcpListener(IPAddress.Loopback, 0);
            Listener.Start();
            Port = ((IPEndPoint)Listener.LocalEndpoint).Port;
            Serving = FeedListener.ServeAsync(Listener, ring.CreateMultiProducer, maxConnections, readTimeout, Log.Enqueue, _stop.Token);
        }

        public TcpListener Listener { get; }

        public int Port { get; }

        public Task<ListenerResult> Serving { get; }

        public System.Collections.Concurrent.ConcurrentQueue<string> Log { get; } = new();

        public static string Peer(TcpClient client) => $"127.0.0.1:{((IPEndPoint)client.Client.LocalEndPoint!).Port}";

        public async Task<TcpClient> Connect()
        {
            var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            return client;
        }

        public string WaitForLog(string fragment, TimeSpan timeout)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                if (Log.FirstOrDefault(l => l.Contains(fragment, StringComparison.Ordinal)) is { } line)
                {
                    return line;
                }

                Thread.Sleep(10);
            }

            throw new Xunit.Sdk.XunitException($"no log line with '{fragment}' in {timeout}; log: {string.Join(" | ", Log)}");
        }

        public async Task<ListenerResult> StopAsync()
        {
            await _stop.CancelAsync();
            var result = await Serving;
            Listener.Stop();
            return result;
        }

        public async ValueTask DisposeAsync()
        {
            if (!Serving.IsCompleted)
            {
                await StopAsync();
            }

            Listener.Dispose();
            _stop.Dispose();
        }
    }

    private SharedRing IngressRing()
    {
        var ring = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 4096, ProducerMode.Multi));
        _rings.Add(ring);
        return ring;
    }

    [Fact]
    public async Task Listener_ASenderStalledHalfwayThroughAFrame_DoesNotHoldUpTheOthers_AndIsDroppedAtItsTimeout()
    {
        // Before: `llr ingest --listen` served one connection at a time with no read timeout, so a
        // sender that stopped in the middle of a frame blocked every other connection for good.
        var ring = IngressRing();
        await using var serving = new Listening(ring, maxConnections: 4, readTimeout: TimeSpan.FromSeconds(4));
        using var stalled = await serving.Connect();
        byte[] part = new byte[10];
        BitConverter.TryWriteBytes(part, FeedMessageDescriptor.PayloadSize); // a good length prefix, then 6 bytes of the message: less than a frame
        await stalled.GetStream().WriteAsync(part);
        string stalledPeer = Listening.Peer(stalled);
        serving.WaitForLog(stalledPeer + ": connected", TimeSpan.FromSeconds(10));

        byte[] capture = Capture(1_000);
        using (var good = await serving.Connect())
        {
            await good.GetStream().WriteAsync(capture);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (ring.ReadClaimSequence() < 1_000 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(5);
        }

        Assert.Equal(1_000, ring.ReadClaimSequence());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), "the good sender's frames arrived while the stalled one was still connected");
        string dropped = serving.WaitForLog(stalledPeer + ": closed", TimeSpan.FromSeconds(10));
        Assert.Equal($"{stalledPeer}: closed after 0 messages; dropped it: no data for 4 s with 10 bytes of frame 1 received (read timeout)", dropped);
        var result = await serving.StopAsync();
        Assert.Equal(new ListenerResult(1_000, 2, 0, 1), result);
    }

    [Fact]
    public async Task Listener_BeyondMaxConnections_RefusesAndSaysWho_ThenServesAgainWhenOneCloses()
    {
        var ring = IngressRing();
        await using var serving = new Listening(ring, maxConnections: 1, readTimeout: TimeSpan.FromSeconds(30));
        var first = await serving.Connect();
        serving.WaitForLog(Listening.Peer(first) + ": connected", TimeSpan.FromSeconds(10));
        using var second = await serving.Connect();
        Assert.Equal($"{Listening.Peer(second)}: refused: 1 connections already open", serving.WaitForLog(Listening.Peer(second) + ": refused", TimeSpan.FromSeconds(10)));
        first.Dispose();
        serving.WaitForLog(": closed after 0 messages", TimeSpan.FromSeconds(10));
        using var third = await serving.Connect();
        await third.GetStream().WriteAsync(Capture(10));
        third.Client.Shutdown(SocketShutdown.Send);
        serving.WaitForLog(Listening.Peer(third) + ": closed after 10 messages", TimeSpan.FromSeconds(10));
        var result = await serving.StopAsync();
        Assert.Equal(1, result.Refused);
        Assert.Equal(10, result.Frames);
    }

    [Fact]
    public async Task Listener_ABadFrame_IsReportedWithThePeersAddress_OthersGoOn()
    {
        var ring = IngressRing();
        await using var serving = new Listening(ring, maxConnections: 4, readTimeout: TimeSpan.FromSeconds(30));
        byte[] bad = Capture(5);
        BitConverter.TryWriteBytes(bad.AsSpan(3 * FeedFrames.FrameLength), 99);
        using var sender = await serving.Connect();
        string peer = Listening.Peer(sender);
        await sender.GetStream().WriteAsync(bad);
        Assert.Equal($"{peer}: closed after 3 messages; dropped it: frame 4: length 99, a feed frame is {FeedMessageDescriptor.PayloadSize} (not a feed stream, or it lost alignment)",
            serving.WaitForLog(peer + ": closed", TimeSpan.FromSeconds(10)));
    }

    private sealed class ChunkedStream(byte[] data, int chunk) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, chunk), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
