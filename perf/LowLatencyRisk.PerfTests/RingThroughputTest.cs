using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;

namespace LowLatencyRisk.PerfTests;

/// <summary>
/// One producer to one consumer over a single-producer mapped ring of 64-byte slots: saturation
/// throughput, producer and consumer pinned to different CPUs, the producer in a child process
/// (or a thread). Each run's rate is timed at the consumer from the first to the last message.
/// </summary>
public static class RingThroughputTest
{
    /// <summary>The child process role: the producer.</summary>
    public const string ChildRole = "child-ring-produce";
    private const int Capacity = 1 << 16;
    private static bool s_yield;

    /// <summary>Runs the test and writes results.</summary>
    public static int Run(Options options)
    {
        bool cross = options.Bool("cross-process", true);
        long messages = options.Long("messages", 50_000_000);
        int batch = (int)options.Long("batch", 64);
        int runs = (int)options.Long("runs", 5);
        bool pin = options.Bool("pin", true);
        bool cPeer = options.String("peer", "csharp") == "c";
        s_yield = options.String("wait", "spin") == "yield";
        var rates = new List<double>();
        var table = new List<(string, string)>();
        for (int run = 0; run < runs; run++)
        {
            string path = Path.Combine(SharedRing.DefaultDirectory, $"llr-perf-tput-{Environment.ProcessId}-{run}");
            try
            {
                double rate = RunOnce(path, cross || cPeer, messages, batch, pin, cPeer);
                rates.Add(rate);
                table.Add(($"run {run + 1} (M msgs/s)", (rate / 1e6).ToString("F1", CultureInfo.InvariantCulture)));
                Console.WriteLine($"run {run + 1}: {rate / 1e6:F1} M msgs/s");
            }
            finally
            {
                File.Delete(path);
            }
        }

        table.Insert(0, ("median (M msgs/s)", (Child.Median(rates) / 1e6).ToString("F1", CultureInfo.InvariantCulture)));
        table.Insert(1, ("setup", $"{(cPeer ? "C producer process → C# consumer" : cross ? "cross-process" : "cross-thread")}, SP mapped ring, 64 B slots, capacity {Capacity}, producer batch {batch}, {(s_yield ? "yielding consumer" : "busy-spin")}, pinned {pin}, {messages} msgs per run, {runs} runs"));
        string name = cPeer ? "ring-throughput-c-producer" : cross ? "ring-throughput-cross-process" : "ring-throughput-cross-thread";
        ResultWriter.Write(options, name, $"dotnet run -c Release --project perf/LowLatencyRisk.PerfTests -- ring-throughput --cross-process {cross.ToString().ToLowerInvariant()}{(cPeer ? " --peer c" : "")} --messages {messages} --batch {batch} --runs {runs}", table, []);
        return 0;
    }

    private static double RunOnce(string path, bool cross, long messages, int batch, bool pin, bool cPeer)
    {
        using var ring = SharedRing.CreateMapped(path, new RingOptions(64, Capacity, ProducerMode.Single));
        var consumer = ring.CreateConsumer(0);
        Process? child = null;
        Thread? thread = null;
        if (cPeer)
        {
            child = pin
                ? Child.StartNativeBench("produce", path, messages.ToString(CultureInfo.InvariantCulture), batch.ToString(CultureInfo.InvariantCulture), "0")
                : Child.StartNativeBench("produce", path, messages.ToString(CultureInfo.InvariantCulture), batch.ToString(CultureInfo.InvariantCulture));
        }
        else if (cross)
        {
            child = Child.Start(ChildRole, ("path", path), ("messages", messages.ToString(CultureInfo.InvariantCulture)), ("batch", batch.ToString(CultureInfo.InvariantCulture)), ("pin", pin.ToString()));
        }
        else
        {
            thread = new Thread(() => Produce(ring, messages, batch, pin)) { IsBackground = true };
            thread.Start();
        }

        if (pin)
        {
            CpuAffinity.TryPinCurrentThread(1);
        }

        var handler = new SumHandler();
        var wait = new BusySpinWait();
        bool yielding = s_yield;
        while (handler.Count == 0)
        {
            if (consumer.Poll(ref handler) == 0)
            {
                wait.Idle(0);
            }
        }

        long start = Stopwatch.GetTimestamp();
        long firstCount = handler.Count;
        while (handler.Count < messages)
        {
            if (consumer.Poll(ref handler) == 0)
            {
                if (yielding)
                {
                    Thread.Yield();
                }
                else
                {
                    wait.Idle(0);
                }
            }
        }

        long elapsed = Stopwatch.GetTimestamp() - start;
        child?.WaitForExit();
        thread?.Join();
        if (handler.Sum != (messages * (messages - 1)) / 2)
        {
            throw new InvalidOperationException($"checksum mismatch: {handler.Sum}");
        }

        return (messages - firstCount) / (elapsed / (double)Stopwatch.Frequency);
    }

    /// <summary>Child process: attach and produce.</summary>
    public static int RunChild(Options options)
    {
        using var ring = SharedRing.AttachMapped(options.String("path", ""), readyTimeout: TimeSpan.FromSeconds(10));
        Produce(ring, options.Long("messages", 0), (int)options.Long("batch", 64), options.Bool("pin", true));
        return 0;
    }

    private static void Produce(SharedRing ring, long messages, int batch, bool pin)
    {
        if (pin)
        {
            CpuAffinity.TryPinCurrentThread(0);
        }

        var p = ring.CreateSingleProducer();
        var wait = new BusySpinWait();
        long sent = 0;
        while (sent < messages)
        {
            int n = (int)Math.Min(batch, messages - sent);
            long first = p.Claim(n, ref wait);
            for (int k = 0; k < n; k++)
            {
                Span<byte> payload = p.Payload(first + k);
                MemoryMarshal.Write(payload, sent + k);
                MemoryMarshal.Write(payload[48..], first + k);
            }

            p.Publish(first, n);
            sent += n;
        }
    }

    private struct SumHandler : IRingHandler
    {
        public long Count;
        public long Sum;

        public void OnMessage(long sequence, ReadOnlySpan<byte> payload)
        {
            Sum += MemoryMarshal.Read<long>(payload);
            Count++;
        }
    }
}
