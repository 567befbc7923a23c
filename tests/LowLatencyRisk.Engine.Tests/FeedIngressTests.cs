using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Simulation;
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
