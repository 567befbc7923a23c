using System.Diagnostics;
using System.Globalization;
using LowLatencyRisk.Core.Diagnostics;
using LowLatencyRisk.Distributed;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Ipc;
using NATS.Client.JetStream;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// The feed leg between machines, on loopback: producers' ring → <see cref="FeedRouter"/> → a local
/// nats-server (JetStream, file store) → <see cref="FeedBridge"/> → a shard's ring, drained by a
/// counting reader. Saturation throughput (router acks and delivery into the shard ring), then, at
/// a paced rate, the latency from the producer's publish to the message in the shard's ring. Each
/// round on a fresh server. Loopback numbers: a network adds its round trips.
/// </summary>
public static class BridgeThroughputTest
{
    /// <summary>Runs the test and writes results.</summary>
    public static int Run(Options options)
    {
        long messages = options.Long("messages", 200_000);
        long rate = options.Long("rate", 20_000);
        long latencyCount = options.Long("latency-count", 100_000);
        int rounds = (int)options.Long("runs", 3);
        int window = (int)options.Long("ack-window", 256);
        var inv = CultureInfo.InvariantCulture;
        var routed = new List<double>();
        var delivered = new List<double>();
        var latency = new LatencyHistogram();
        if (options.Bool("paced-only", false))
        {
            // A paced stream only (a load beside another measurement, e.g. engine-bridge): no saturation rounds, no results file.
            using var paced = LocalJetStreamServer.Start();
            var (_, d) = RunOnce(paced.Url, window, latencyCount, rate, latency).GetAwaiter().GetResult();
            Console.WriteLine(string.Create(inv, $"paced leg: delivered {d / 1e3:F1} k msgs/s, publish → shard ring p50 {latency.ValueAtPercentile(50) / 1e3:F0} µs"));
            return 0;
        }

        for (int round = 0; round < rounds; round++)
        {
            using var server = LocalJetStreamServer.Start();
            var (r, d) = RunOnce(server.Url, window, messages, 0, null).GetAwaiter().GetResult();
            routed.Add(r);
            delivered.Add(d);
            Console.WriteLine(string.Create(inv, $"round {round + 1}: routed {r / 1e3:F1} k msgs/s, delivered into the shard's ring {d / 1e3:F1} k msgs/s"));
        }

        using (var server = LocalJetStreamServer.Start())
        {
            RunOnce(server.Url, window, latencyCount, rate, latency).GetAwaiter().GetResult();
        }

        var table = new List<(string, string)>
        {
            ("routed, median (k msgs/s)", (Child.Median(routed) / 1e3).ToString("F1", inv)),
            ("delivered into the shard's ring, median (k msgs/s)", (Child.Median(delivered) / 1e3).ToString("F1", inv)),
            ("rounds (routed / delivered, k msgs/s)", string.Join("; ", routed.Zip(delivered, (a, b) => string.Create(inv, $"{a / 1e3:F1} / {b / 1e3:F1}")))),
            ("setup", string.Create(inv, $"loopback; nats-server (JetStream, file store, 1 replica) started per round; {messages:N0} feed messages (120 B) per round, ack window {window}; router and bridge tasks on the thread pool, producer and reader threads unpinned on 2 vCPUs; latency phase {latencyCount:N0} messages paced at {rate:N0} msgs/s")),
        };
        ResultWriter.Write(options, "bridge-throughput", $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- bridge-throughput --messages {messages} --rate {rate} --latency-count {latencyCount} --runs {rounds} --ack-window {window}",
            table, [("producer publish → shard ring, paced", latency)]);
        return 0;
    }

    /// <summary>
    /// One run of the leg: <paramref name="count"/> messages (paced at <paramref name="rate"/> when
    /// positive), or fewer when <paramref name="end"/> fires first; returns the routed and delivered
    /// rates of what was produced.
    /// </summary>
    internal static async Task<(double Routed, double Delivered)> RunOnce(string url, int window, long count, long rate, LatencyHistogram? latency, CancellationToken end = default)
    {
        var config = new JetStreamSection { Url = url, AckWindow = window };
        await using var nats = await JetStreamTopology.ConnectAsync(config, "perf", CancellationToken.None).ConfigureAwait(false);
        var js = new NatsJSContext(nats);
        await JetStreamTopology.EnsureStreamsAsync(js, config, CancellationToken.None).ConfigureAwait(false);
        using var producers = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Multi));
        using var shard = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Multi));
        var router = new FeedRouter(js, config, new ShardMap(1, 2, ShardRule.Modulo), producers, producers.CreateConsumer(0));
        var bridge = new FeedBridge(js, config, shard.CreateMultiProducer(), FeedBridge.DurableName(0));
        using var stop = new CancellationTokenSource();
        var legs = new[] { Task.Run(() => router.RunAsync(stop.Token), CancellationToken.None), Task.Run(() => bridge.RunAsync(stop.Token), CancellationToken.None) };

        long received = 0;
        long target = count;
        var reader = new Thread(() =>
        {
            var consumer = shard.CreateConsumer(0);
            var handler = new Reader(latency);
            while (Volatile.Read(ref received) < Volatile.Read(ref target) && !stop.IsCancellationRequested)
            {
                int n = consumer.Poll(ref handler);
                Volatile.Write(ref received, received + n);
                if (n == 0)
                {
                    Thread.Sleep(0);
                }
            }
        }) { IsBackground = true, Name = "perf-shard-reader" };
        reader.Start();

        var sim = new VenueSimulator(StandardWorkload.Build(WorkloadScale.Small), seed: 3, producerId: 1);
        var producer = producers.CreateMultiProducer();
        var clock = Stopwatch.StartNew();
        double ticksPerMessage = rate > 0 ? Stopwatch.Frequency / (double)rate : 0;
        long start = Stopwatch.GetTimestamp();
        long produced = 0;
        for (long i = 0; i < count && !end.IsCancellationRequested; i++, produced++)
        {
            if (ticksPerMessage > 0)
            {
                long due = start + (long)(i * ticksPerMessage);
                while (Stopwatch.GetTimestamp() < due)
                {
                    Thread.Yield(); // not a spin: on two vCPUs the server, router and bridge need the cores
                }
            }

            long slot;
            while (!producer.TryClaim(1, out slot))
            {
                Thread.Yield();
            }

            sim.Next(producer.Payload(slot), MonotonicClock.Now());
            producer.Publish(slot);
        }

        count = produced;
        Volatile.Write(ref target, produced);
        double routedAt = 0;
        while (reader.IsAlive)
        {
            if (routedAt == 0 && router.Released >= count)
            {
                routedAt = clock.Elapsed.TotalSeconds;
            }

            if (legs.Any(t => t.IsFaulted))
            {
                throw legs.First(t => t.IsFaulted).Exception!;
            }

            Thread.Sleep(1);
        }

        double deliveredAt = clock.Elapsed.TotalSeconds;
        routedAt = routedAt == 0 ? deliveredAt : routedAt;
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(legs.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
        return (count / routedAt, count / deliveredAt);
    }

    private struct Reader(LatencyHistogram? latency) : IRingHandler
    {
        public void OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
            if (latency is not null)
            {
                latency.Record(MonotonicClock.ToNanos(MonotonicClock.Now() - FeedMessageDescriptor.Header(payload).PublishTicks));
            }
        }
    }
}
