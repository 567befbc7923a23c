using System.Globalization;

namespace LowLatencyRisk.PerfTests;

/// <summary>Latency and throughput harness entry point: <c>PerfTests TEST [--option value]...</c>.</summary>
public static class Program
{
    /// <summary>Runs the named perf test, or a child role started by one.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.WriteLine("""
                usage: PerfTests <test> [options]
                tests:
                  ring-throughput   one producer -> one consumer, 64-byte messages, SP mapped ring
                                    --cross-process true|false (default true), --messages N (50000000),
                                    --batch N (64), --runs N (5), --out DIR
                  ring-pingpong     round trip over two SP mapped rings, paced, from intended send time
                                    --cross-process true|false (default true), --count N (1000000),
                                    --rate N msgs/s (100000), --runs N (3), --out DIR
                  gate-inprocess    in-process pre-trade check histogram and throughput on the standard workload
                                    --checks N (10000000), --out DIR
                  gate-outofprocess order check → decision round trip to a gate service process
                                    (--engine true: to a running `llr engine` process instead)
                                    --count N (1000000), --rate N/s (100000), --out DIR
                  engine-throughput the engine on the standard workload at saturation (--duration S, --accounts N, --small true)
                  fill-breach       the same at a fixed offered --rate, with fill→breach and mark→breach histograms
                  fill-breach-xproc the engine as its own process (`llr engine`), this process the venue and the liquidator (--duration S, --rate N)
                  serve-load        POST /margin against `llr serve` on loopback, pool on and off interleaved, and the
                                    start-up of `llr serve` and `llr stats --once` (--portfolio example|medium|large, --clients N, --requests N, --rounds N)
                  bridge-throughput the feed leg between machines on loopback: ring → router → nats-server (JetStream) →
                                    bridge → a shard's ring; saturation msgs/s, then publish → shard ring latency
                                    at a paced rate (--messages N 200000, --rate N 20000, --latency-count N, --runs N 3)
                  engine-bridge     the engine at saturation alone and beside a JetStream bridge leg on the other core,
                                    interleaved (--duration S 10, --runs N 3, --bridge-rate N msgs/s 20000)
                  suite             all of the above, standard parameters (a few minutes) or --short true (seconds)
                common: --wait spin|yield (ring-throughput consumer), --peer c (ring tests: the other end is the C peer native-interop/build/llr_ring_bench),
                        --pin true|false (default true: producer/echo on CPU 0, measuring thread on CPU 1)
                """);
            return 0;
        }

        var options = Options.Parse(args.AsSpan(1));
        ResultWriter.MarkStart();
        return args[0] switch
        {
            "ring-throughput" => RingThroughputTest.Run(options),
            "ring-pingpong" => RingPingPongTest.Run(options),
            "gate-inprocess" => GateLatencyTest.Run(options),
            "gate-outofprocess" => GateRoundTripTest.Run(options),
            "engine-throughput" => EngineTests.Run(options, saturate: true),
            "fill-breach" => EngineTests.Run(options, saturate: false),
            "fill-breach-xproc" => CrossProcessEngineTest.Run(options),
            "serve-load" => ServeLoadTest.Run(options),
            "bridge-throughput" => BridgeThroughputTest.Run(options),
            "engine-bridge" => EngineBesideBridgeTest.Run(options),
            "suite" => Suite.Run(options),
            GateRoundTripTest.ChildRole => GateRoundTripTest.RunChild(options),
            RingThroughputTest.ChildRole => RingThroughputTest.RunChild(options),
            RingPingPongTest.ChildRole => RingPingPongTest.RunChild(options),
            _ => Unknown(args[0]),
        };
    }

    private static int Unknown(string test)
    {
        Console.Error.WriteLine($"unknown test '{test}'");
        return 2;
    }
}

/// <summary>--name value pairs.</summary>
public sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    /// <summary>The raw pairs, for re-passing to a child process.</summary>
    public IReadOnlyDictionary<string, string> Values => _values;

    /// <summary>Parses <c>--name value</c> pairs.</summary>
    public static Options Parse(ReadOnlySpan<string> args)
    {
        var o = new Options();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"expected --option, got '{args[i]}'");
            }

            o._values[args[i][2..]] = args[i + 1];
        }

        return o;
    }

    /// <summary>A long option.</summary>
    public long Long(string name, long fallback) =>
        _values.TryGetValue(name, out string? v) ? long.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) : fallback;

    /// <summary>A boolean option.</summary>
    public bool Bool(string name, bool fallback) => _values.TryGetValue(name, out string? v) ? bool.Parse(v) : fallback;

    /// <summary>A string option.</summary>
    public string String(string name, string fallback) => _values.TryGetValue(name, out string? v) ? v : fallback;
}
