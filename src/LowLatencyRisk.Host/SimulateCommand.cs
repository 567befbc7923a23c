using System.CommandLine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;
using static LowLatencyRisk.Host.CommandSupport;

namespace LowLatencyRisk.Host;

/// <summary><c>llr simulate</c>: the simulated venue's feed (the generated book), into the feed ring or a capture file.</summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var config = ConfigOption();
        var duration = NonNegative(new Option<double>("--duration") { Description = "Seconds to publish.", DefaultValueFactory = _ => 10 });
        var rate = NonNegative(new Option<double?>("--rate") { Description = "Events/s (overrides simulator.rate); 0 = as fast as the ring takes them." }, max: 1e9);
        var events = NonNegative(new Option<long>("--events") { Description = "Stop after this many events (0 = no limit).", DefaultValueFactory = _ => 0 });
        var wait = NonNegative(new Option<double>("--wait-for-rings") { Description = "Seconds to wait for the engine to create the rings.", DefaultValueFactory = _ => 30 });
        var output = new Option<string?>("--out") { Description = "Write the events as framed messages to this file (a capture for `llr ingest`) instead of the feed ring; needs --events." };
        var match = new Option<bool>("--match-liquidations") { Description = "Also play the matching engine for liquidation orders: fill each order the liquidator sends on rings.liquidationOrders at its limit, on the feed as producer simulator.matcherProducerId." };
        var epochOption = new Option<long?>("--epoch") { Description = "Producer epoch (0..4294967295) written in every header; default: Unix seconds now, so a restarted simulator is a new session of its producer and its sequence 1 is accepted. Captures default to 0." };
        var command = new Command("simulate", "Publish the standard workload (deterministic from the seed, stress episode included) into the configured feed ring.")
        {
            config, duration, rate, events, wait, output, epochOption, match,
        };
        command.SetAction(parse =>
        {
            var c = LoadConfig("simulate", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            double seconds = parse.GetValue(duration);
            double offered = parse.GetValue(rate) ?? c.Simulator.Rate;
            long limit = parse.GetValue(events);
            long? epochValue = parse.GetValue(epochOption);
            if (!(seconds > 0) || !(offered >= 0) || double.IsInfinity(offered) || limit < 0 || epochValue is < 0 or > uint.MaxValue)
            {
                Console.Error.WriteLine("llr simulate: --duration must be positive, --rate 0 or positive, --events 0 or positive, --epoch in 0..4294967295.");
                return 2;
            }

            string? capture = parse.GetValue(output);
            if (capture is not null)
            {
                if (limit <= 0)
                {
                    Console.Error.WriteLine("llr simulate: --out needs --events.");
                    return 2;
                }

                string? folder = Path.GetDirectoryName(Path.GetFullPath(capture));
                if (folder is not null && !Directory.Exists(folder))
                {
                    Console.Error.WriteLine($"llr simulate: --out {capture}: the folder {folder} does not exist.");
                    return 2;
                }

                try
                {
                    long bytes = FeedCapture.Write(c, capture, limit, (uint)(epochValue ?? 0));
                    Console.WriteLine(string.Create(Inv, $"llr simulate: wrote {limit:N0} framed events to {capture} ({bytes:N0} bytes)"));
                    return 0;
                }
                catch (Exception e) when (e is UnauthorizedAccessException or IOException)
                {
                    Console.Error.WriteLine($"llr simulate: --out {capture}: cannot write: {e.Message}");
                    return 2;
                }
            }

            if (c.Book.File is not null)
            {
                Console.Error.WriteLine($"llr simulate: plays the generated book (workload section); the engine's book is {c.Book.File}: drive it with the venue's own feed, or remove book.file");
                return 2;
            }

            using var ring = AttachWhenReady(c.PathOf(c.Rings.Feed), new RingOptions(FeedMessageDescriptor.SlotSize, c.Rings.FeedCapacity, ProducerMode.Multi), parse.GetValue(wait), "simulate");
            if (ring is null)
            {
                return 3;
            }

            using var orders = parse.GetValue(match)
                ? AttachWhenReady(c.PathOf(c.Rings.LiquidationOrders), new RingOptions(LiquidationOrderDescriptor.SlotSize, c.Rings.LiquidationOrdersCapacity, ProducerMode.Single), parse.GetValue(wait), "simulate")
                : null;
            if (parse.GetValue(match) && orders is null)
            {
                return 3; // the liquidator creates the order ring: start it first
            }

            if (c.Simulator.Cpu >= 0)
            {
                CpuAffinity.TryPinCurrentThread(c.Simulator.Cpu);
            }

            var shadow = c.BuildWorkload();
            long expected = limit > 0 ? limit : (long)(seconds * (offered > 0 ? offered : 5_000_000));
            uint epoch = (uint)(epochValue ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            var sim = new VenueSimulator(shadow, c.Simulator.Seed, c.Simulator.ProducerId, stressStart: expected * 4 / 10, stressLength: expected / 5) { ProducerEpoch = epoch };
            var matcher = orders is null ? null : new LiquidationMatcher(orders.CreateConsumer(0), ring.CreateMultiProducer(), c.Simulator.MatcherProducerId) { ProducerEpoch = epoch };
            Console.WriteLine(string.Create(Inv, $"llr simulate: publishing to {ring.Location} as producer {c.Simulator.ProducerId} epoch {epoch}, {(offered > 0 ? (offered / 1e6).ToString("F2", Inv) + " M events/s" : "as fast as possible")}, {seconds:F0} s"));
            using var stop = StopSource(seconds, out var signals);
            using (signals)
            {
                string? fault = null;
                using (new IntegrityWatch(TimeSpan.FromSeconds(1), f => { fault = f; stop.Cancel(); }, ("feed ring", ring.CheckIntegrity)))
                {
                    long published = VenueDriver.Run(ring.CreateMultiProducer(), sim, offered, long.MaxValue, matcher, new VenueProgress(), limit, stop.Token);
                    Console.WriteLine(string.Create(Inv, $"llr simulate: published {published:N0} events (producer sequences 1..{sim.Generated:N0})"));
                    if (matcher is not null)
                    {
                        Console.WriteLine(string.Create(Inv, $"llr simulate: filled {matcher.Filled:N0} liquidation orders ({matcher.Deleveraged:N0} deleverage) as producer {c.Simulator.MatcherProducerId}; {matcher.MassCancels:N0} mass cancels received"));
                    }
                }

                if (fault is not null)
                {
                    Console.Error.WriteLine($"llr simulate: stopped: {fault}.");
                    return 4;
                }
            }

            return 0;
        });
        return command;
    }
}
