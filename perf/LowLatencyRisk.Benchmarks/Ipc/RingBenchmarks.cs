using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Benchmarks.Ipc;

/// <summary>
/// Ring hot paths on one thread over a memory-mapped ring in /dev/shm: claim+publish alone,
/// consume alone, and a publish+consume hop. Each invocation moves <see cref="Batch"/> messages.
/// </summary>
[MemoryDiagnoser]
public class RingBenchmarks
{
    private const int Batch = 256;
    private string _path = "";
    private SharedRing _ring = null!;
    private SingleProducer _producer = null!;
    private RingConsumer _consumer = null!;
    private string _mpPath = "";
    private SharedRing _mpRing = null!;
    private MultiProducer _mpProducer = null!;
    private RingConsumer _mpConsumer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(SharedRing.DefaultDirectory, $"llr-bench-{Environment.ProcessId}-sp");
        _ring = SharedRing.CreateMapped(_path, new RingOptions(64, 1024, ProducerMode.Single));
        _producer = _ring.CreateSingleProducer();
        _consumer = _ring.CreateConsumer(0);
        _mpPath = Path.Combine(SharedRing.DefaultDirectory, $"llr-bench-{Environment.ProcessId}-mp");
        _mpRing = SharedRing.CreateMapped(_mpPath, new RingOptions(64, 1024, ProducerMode.Multi));
        _mpProducer = _mpRing.CreateMultiProducer();
        _mpConsumer = _mpRing.CreateConsumer(0);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ring.Dispose();
        _mpRing.Dispose();
        File.Delete(_path);
        File.Delete(_mpPath);
    }

    /// <summary>Claim, write 8 bytes, publish, one at a time (SP); the ring is drained outside the measured loop's per-message cost.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long ClaimPublish_SingleProducer()
    {
        long last = 0;
        for (int i = 0; i < Batch; i++)
        {
            _producer.TryClaim(out last);
            MemoryMarshal.Write(_producer.Payload(last), last);
            _producer.Publish(last);
        }

        var h = new NullHandler();
        _consumer.Poll(ref h);
        return last;
    }

    /// <summary>Claim (CAS), write 8 bytes, publish (CAS), one at a time (MP).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long ClaimPublish_MultiProducer()
    {
        long last = 0;
        for (int i = 0; i < Batch; i++)
        {
            _mpProducer.TryClaim(out last);
            MemoryMarshal.Write(_mpProducer.Payload(last), last);
            _mpProducer.Publish(last);
        }

        var h = new NullHandler();
        _mpConsumer.Poll(ref h);
        return last;
    }

    /// <summary>Publish a batch with one claim, then consume it as one batch: per-message cost of a hop.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long PublishConsume_Batched()
    {
        long first = 0;
        _producer.TryClaim(Batch, out first);
        for (int i = 0; i < Batch; i++)
        {
            MemoryMarshal.Write(_producer.Payload(first + i), (long)i);
        }

        _producer.Publish(first, Batch);
        var h = new SumHandler();
        _consumer.Poll(ref h);
        return h.Sum;
    }

    /// <summary>One message published then consumed, repeatedly (no batching at all).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public long PublishConsume_OneByOne()
    {
        var h = new SumHandler();
        for (int i = 0; i < Batch; i++)
        {
            _producer.TryClaim(out long s);
            MemoryMarshal.Write(_producer.Payload(s), (long)i);
            _producer.Publish(s);
            _consumer.Poll(ref h);
        }

        return h.Sum;
    }

    private struct NullHandler : IRingHandler
    {
        public readonly void OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
        }
    }

    private struct SumHandler : IRingHandler
    {
        public long Sum;

        public void OnMessage(long sequence, ReadOnlySpan<byte> payload) => Sum += MemoryMarshal.Read<long>(payload);
    }
}
