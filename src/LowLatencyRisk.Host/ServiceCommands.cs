using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;
using LowLatencyRisk.Ipc.Native;

namespace LowLatencyRisk.Host;

/// <summary>
/// The three processes of a deployment, each attached to the rings named by one configuration file:
/// <c>llr engine</c> (the single writer), <c>llr simulate</c> (the venue's feed) and
/// <c>llr liquidator</c> (the breach reader). SIGINT and SIGTERM stop each cleanly.
/// </summary>
internal static class ServiceCommands
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    internal static Option<string?> ConfigOption() => new("--config") { Description = "Configuration file (JSON); omitted = the defaults (README, Configuration)." };

    private static Option<double> DurationOption(string what) => NonNegative(new Option<double>("--duration") { Description = $"Seconds to run; 0 = {what}.", DefaultValueFactory = _ => 0 });

    /// <summary>A number of seconds, a rate or a count must be finite and not negative (and at most <paramref name="max"/>): refused at parse time (exit 2), never started with.</summary>
    internal static T NonNegative<T>(T option, double max = 31_536_000) where T : Option
    {
        option.Validators.Add(result =>
        {
            object? value;
            try
            {
                value = result.GetValueOrDefault<object?>();
            }
            catch (InvalidOperationException)
            {
                return; // not a number at all: the parser reports that itself
            }

            if (value is double d && !(d >= 0 && d <= max))
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} must be a number in [0, {max}]; was {d}."));
            }
            else if (value is long l && l < 0)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{option.Name} must not be negative; was {l}."));
            }
        });
        return option;
    }

    /// <summary>Loads the configuration or prints why not; null on error.</summary>
    internal static LlrConfig? LoadConfig(string command, string? path)
    {
        try
        {
            return path is null ? LlrConfig.Parse("{}", "defaults") : LlrConfig.Load(path);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"llr {command}: {e.Message}");
            return null;
        }
    }

    /// <summary>A token cancelled by SIGINT, SIGTERM or the duration.</summary>
    private static CancellationTokenSource StopSource(double seconds, out IDisposable signals)
    {
        var cts = seconds > 0 ? new CancellationTokenSource(TimeSpan.FromSeconds(seconds)) : new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // a clean stop instead of the runtime's default termination
            cts.Cancel();
        }

        var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        signals = new Both(sigint, sigterm);
        return cts;
    }

    private sealed class Both(IDisposable a, IDisposable b) : IDisposable
    {
        public void Dispose()
        {
            a.Dispose();
            b.Dispose();
        }
    }

    public static Command Engine()
    {
        var config = ConfigOption();
        var duration = DurationOption("until SIGINT/SIGTERM");
        var command = new Command("engine", "Run the risk engine as a long-running service on the configured rings (created when missing); publishes counters for `llr stats`.")
        {
            config, duration,
        };
        command.SetAction(parse =>
        {
            var c = LoadConfig("engine", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            var clock = Stopwatch.StartNew();
            EngineService service;
            try
            {
                service = EngineService.Open(c, BookSources.For(c));
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"llr engine: cannot start: {e.Message}"); // the book file named every problem; nothing was created
                return 2;
            }
            catch (Exception e) when (e is RingLayoutException or JournalException or IOException or UnauthorizedAccessException)
            {
                // An incompatible ring, an unreadable journal (no usable snapshot covers a trimmed
                // head), a full /dev/shm: said plainly, nothing started.
                Console.Error.WriteLine($"llr engine: cannot start: {e.Message}");
                return 3;
            }

            using var serviceScope = service;
            service.SnapshotFailed = message => Console.Error.WriteLine($"llr engine: snapshot failed (the engine goes on; the journal holds everything): {message}");
            Console.WriteLine(string.Create(Inv, $"llr engine: feed {service.Feed.Location}, breach {service.Breach.Location} ({(service.AttachedToExistingRings ? "attached" : "created")}), counters {c.PathOf(c.Rings.Counters)}"));
            Console.WriteLine(string.Create(Inv, $"llr engine: book {service.Engine.Book.Config.MaxAccounts:N0} accounts, grid {c.ToGrid().Name}, built in {clock.ElapsedMilliseconds} ms"));
            if (service.Recovery is { } r)
            {
                foreach (string refusedSnapshot in r.RefusedSnapshots)
                {
                    Console.WriteLine($"llr engine: snapshot refused: {refusedSnapshot}");
                }

                Console.WriteLine(string.Create(Inv, $"llr engine: journal {r.Directory} ({c.Journal.Mode}): {(r.Snapshot is null ? "no snapshot" : "snapshot " + r.Snapshot)}, replayed {r.Replayed:N0} messages after it in {r.Milliseconds:F0} ms, re-announced {r.Announced:N0} accounts not healthy{(r.Problem is null ? "" : "; " + r.Problem)}"));
            }

            clock.Restart();
            EngineWarmup.Run(c, c.Engine.WarmupMessages);
            Console.WriteLine(string.Create(Inv, $"llr engine: warm-up {c.Engine.WarmupMessages:N0} messages on a scratch book in {clock.ElapsedMilliseconds} ms"));
            using var stop = StopSource(parse.GetValue(duration), out var signals);
            using (signals)
            {
                EngineRunSummary? summary = null;
                var thread = new Thread(() => summary = service.Run(stop.Token)) { Name = "llr-engine", IsBackground = true };
                thread.Start();
                Console.WriteLine(string.Create(Inv, $"llr engine: live (cpu {(c.Engine.Cpu >= 0 ? c.Engine.Cpu.ToString(Inv) : "any")}, {c.Engine.Wait}); SIGINT or SIGTERM stops"));
                thread.Join();
                var s = summary!;
                Console.WriteLine(string.Create(Inv, $"llr engine: stopped after {s.Seconds:F1} s: {s.Events:N0} events, {s.Rejects:N0} rejected{(s.Rejects > 0 ? " (" + s.RejectsByReason + ")" : "")}, {s.Breaches:N0} breaches ({s.StateChanges:N0} state changes, {s.Coalesced:N0} folded into waiting breaches; {s.RiskOffSeconds:F3} s risk-off)"));
                Console.WriteLine(string.Create(Inv, $"llr engine: engine thread {s.AllocatedBytes:N0} bytes allocated, {s.GcCount} GC collections{(s.Pinned ? ", pinned" : "")}"));
                Console.WriteLine(string.Create(Inv, $"llr engine: state hash 0x{EngineStateHash.Compute(service.Engine):X16}"));
                if (service.Snapshots is { } snaps)
                {
                    Console.WriteLine(string.Create(Inv, $"llr engine: snapshots {snaps.Written} written ({snaps.Length:N0} bytes each), {snaps.Skipped} skipped while one was being written, {snaps.Failures} failed, longest capture on the engine thread {snaps.LongestCaptureNanos / 1e6:F2} ms{(snaps.LastError is null ? "" : "; last error: " + snaps.LastError)}"));
                }

                if (s.HaltReason is not null && s.HaltedOnFault)
                {
                    // The engine stopped touching the rings when the change was found: what it had
                    // applied is journaled (when the journal is on); messages written to the changed
                    // file after that were never taken.
                    Console.Error.WriteLine($"llr engine: HALTED, venue risk-off: {s.HaltReason}. Stop every process attached to these rings and start them again (the engine re-creates what is missing).");
                    return 4;
                }

                if (s.HaltReason is not null)
                {
                    // The message that could not be journaled was not applied and is still in the
                    // feed ring: a restart with room for the journal resumes at it.
                    Console.Error.WriteLine($"llr engine: HALTED, venue risk-off: {s.HaltReason}. Nothing unjournaled was applied; free space for the journal and restart.");
                    return 4;
                }
            }

            return 0;
        });
        return command;
    }

    public static Command Simulate()
    {
        var config = ConfigOption();
        var duration = NonNegative(new Option<double>("--duration") { Description = "Seconds to publish.", DefaultValueFactory = _ => 10 });
        var rate = NonNegative(new Option<double?>("--rate") { Description = "Events/s (overrides simulator.rate); 0 = as fast as the ring takes them." }, max: 1e9);
        var events = NonNegative(new Option<long>("--events") { Description = "Stop after this many events (0 = no limit).", DefaultValueFactory = _ => 0 });
        var wait = NonNegative(new Option<double>("--wait-for-rings") { Description = "Seconds to wait for the engine to create the rings.", DefaultValueFactory = _ => 30 });
        var output = new Option<string?>("--out") { Description = "Write the events as framed messages to this file (a capture for `llr ingest`) instead of the feed ring; needs --events." };
        var epochOption = new Option<long?>("--epoch") { Description = "Producer epoch (0..4294967295) written in every header; default: Unix seconds now, so a restarted simulator is a new session of its producer and its sequence 1 is accepted. Captures default to 0." };
        var command = new Command("simulate", "Publish the standard workload (deterministic from the seed, stress episode included) into the configured feed ring.")
        {
            config, duration, rate, events, wait, output, epochOption,
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
                    return WriteCapture(c, capture, limit, (uint)(epochValue ?? 0));
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

            if (c.Simulator.Cpu >= 0)
            {
                CpuAffinity.TryPinCurrentThread(c.Simulator.Cpu);
            }

            var shadow = c.BuildWorkload();
            long expected = limit > 0 ? limit : (long)(seconds * (offered > 0 ? offered : 5_000_000));
            uint epoch = (uint)(epochValue ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            var sim = new VenueSimulator(shadow, c.Simulator.Seed, c.Simulator.ProducerId, stressStart: expected * 4 / 10, stressLength: expected / 5) { ProducerEpoch = epoch };
            Console.WriteLine(string.Create(Inv, $"llr simulate: publishing to {ring.Location} as producer {c.Simulator.ProducerId} epoch {epoch}, {(offered > 0 ? (offered / 1e6).ToString("F2", Inv) + " M events/s" : "as fast as possible")}, {seconds:F0} s"));
            using var stop = StopSource(seconds, out var signals);
            using (signals)
            {
                string? fault = null;
                using (new IntegrityWatch(TimeSpan.FromSeconds(1), f => { fault = f; stop.Cancel(); }, ("feed ring", ring.CheckIntegrity)))
                {
                    long published = VenueDriver.Run(ring.CreateMultiProducer(), sim, offered, long.MaxValue, null, new VenueProgress(), limit, stop.Token);
                    Console.WriteLine(string.Create(Inv, $"llr simulate: published {published:N0} events (producer sequences 1..{sim.Generated:N0})"));
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

    /// <summary>The simulated feed as a capture file of framed messages, written through a PipeWriter.</summary>
    private static int WriteCapture(LlrConfig c, string path, long count, uint epoch)
    {
        var sim = new VenueSimulator(c.BuildWorkload(), c.Simulator.Seed, c.Simulator.ProducerId, stressStart: count * 4 / 10, stressLength: count / 5) { ProducerEpoch = epoch };
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        var writer = System.IO.Pipelines.PipeWriter.Create(file);
        Span<byte> message = stackalloc byte[FeedMessageDescriptor.PayloadSize];
        for (long i = 0; i < count; i++)
        {
            message.Clear();
            sim.Next(message, 0);
            FeedFrames.Write(writer.GetSpan(FeedFrames.FrameLength), message);
            writer.Advance(FeedFrames.FrameLength);
            if ((i & 1023) == 1023)
            {
                writer.FlushAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        writer.Complete();
        Console.WriteLine(string.Create(Inv, $"llr simulate: wrote {count:N0} framed events to {path} ({new FileInfo(path).Length:N0} bytes)"));
        return 0;
    }

    public static Command Ingest()
    {
        var config = ConfigOption();
        var file = new Option<string?>("--file") { Description = "Capture file of framed messages (`llr simulate --out`)." };
        var listen = new Option<int?>("--listen") { Description = "TCP port to accept drop-copy connections on (127.0.0.1); connections are served concurrently, each with its own producer." };
        var maxConnections = new Option<int>("--max-connections") { Description = "Connections served at once with --listen; more are refused and reported.", DefaultValueFactory = _ => 16 };
        var readTimeout = new Option<double>("--read-timeout") { Description = "Seconds a connection may send nothing before it is dropped (with --listen).", DefaultValueFactory = _ => 30 };
        var wait = NonNegative(new Option<double>("--wait-for-rings") { Description = "Seconds to wait for the engine to create the rings.", DefaultValueFactory = _ => 30 });
        var duration = DurationOption("until SIGINT/SIGTERM (with --listen)");
        var command = new Command("ingest", "Publish framed feed messages from a file or a TCP drop copy into the configured feed ring (System.IO.Pipelines).")
        {
            config, file, listen, maxConnections, readTimeout, wait, duration,
        };
        command.SetAction(async (parse, token) =>
        {
            var c = LoadConfig("ingest", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            string? path = parse.GetValue(file);
            int? port = parse.GetValue(listen);
            if (port is < 0 or > 65535 || parse.GetValue(maxConnections) < 1 || !(parse.GetValue(readTimeout) is > 0 and <= 86_400))
            {
                Console.Error.WriteLine("llr ingest: --listen must be a port 0..65535, --max-connections at least 1 and --read-timeout in (0, 86400] seconds.");
                return 2;
            }

            if ((path is null) == (port is null))
            {
                Console.Error.WriteLine("llr ingest: give exactly one of --file and --listen.");
                return 2;
            }

            if (path is not null && !File.Exists(path))
            {
                Console.Error.WriteLine($"llr ingest: {path} {(Directory.Exists(path) ? "is a folder, not a capture file" : "does not exist")}");
                return 2;
            }

            using var ring = AttachWhenReady(c.PathOf(c.Rings.Feed), new RingOptions(FeedMessageDescriptor.SlotSize, c.Rings.FeedCapacity, ProducerMode.Multi), parse.GetValue(wait), "ingest");
            if (ring is null)
            {
                return 3;
            }

            var producer = ring.CreateMultiProducer();
            if (path is not null)
            {
                if (!File.Exists(path))
                {
                    Console.Error.WriteLine($"llr ingest: {path} does not exist");
                    return 2;
                }

                await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
                var result = await FeedIngress.PumpAsync(System.IO.Pipelines.PipeReader.Create(stream), producer, cancel: token).ConfigureAwait(false);
                Console.WriteLine(string.Create(Inv, $"llr ingest: published {result.Frames:N0} messages from {path}{(result.Error is null ? "" : "; stopped: " + result.Error)}"));
                return result.Error is null ? 0 : 1;
            }

            using var stop = StopSource(parse.GetValue(duration), out var signals);
            using (signals)
            {
                var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port!.Value);
                try
                {
                    listener.Start();
                }
                catch (System.Net.Sockets.SocketException e)
                {
                    Console.Error.WriteLine($"llr ingest: cannot listen on 127.0.0.1:{port}: {e.Message}");
                    return 3;
                }

                Console.WriteLine(string.Create(Inv, $"llr ingest: listening on 127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port} (at most {parse.GetValue(maxConnections)} connections, read timeout {parse.GetValue(readTimeout):0.###} s)"));
                string? fault = null;
                ListenerResult result;
                try
                {
                    using (new IntegrityWatch(TimeSpan.FromSeconds(1), f => { fault = f; stop.Cancel(); }, ("feed ring", ring.CheckIntegrity)))
                    {
                        result = await FeedListener.ServeAsync(listener, ring.CreateMultiProducer, parse.GetValue(maxConnections), TimeSpan.FromSeconds(parse.GetValue(readTimeout)),
                            line => Console.WriteLine("llr ingest: " + line), stop.Token).ConfigureAwait(false);
                    }
                }
                finally
                {
                    listener.Stop();
                }

                Console.WriteLine(string.Create(Inv, $"llr ingest: published {result.Frames:N0} messages from {result.Connections:N0} connections ({result.Failed:N0} dropped with an error, {result.Refused:N0} refused)"));
                if (fault is not null)
                {
                    Console.Error.WriteLine($"llr ingest: stopped: {fault}.");
                    return 4;
                }
            }

            return 0;
        });
        return command;
    }

    public static Command Liquidator()
    {
        var config = ConfigOption();
        var duration = DurationOption("until SIGINT/SIGTERM");
        var quiet = new Option<bool>("--quiet") { Description = "Do not print each breach." };
        var wait = NonNegative(new Option<double>("--wait-for-rings") { Description = "Seconds to wait for the engine to create the rings.", DefaultValueFactory = _ => 30 });
        var command = new Command("liquidator", "Read margin calls and liquidation triggers from the configured breach ring, from where this reader left off.")
        {
            config, duration, quiet, wait,
        };
        command.SetAction(parse =>
        {
            var c = LoadConfig("liquidator", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            using var ring = AttachWhenReady(c.PathOf(c.Rings.Breach), new RingOptions(BreachMessageDescriptor.SlotSize, c.Rings.BreachCapacity, ProducerMode.Single), parse.GetValue(wait), "liquidator");
            if (ring is null)
            {
                return 3;
            }

            if (c.Liquidator.Cpu >= 0)
            {
                CpuAffinity.TryPinCurrentThread(c.Liquidator.Cpu);
            }

            bool print = !parse.GetValue(quiet);
            var consumer = ring.CreateConsumer(0);
            long resumeAt = consumer.Sequence;
            var liquidator = new Liquidator(consumer, print ? b => Console.WriteLine(string.Create(Inv,
                $"breach {b.Sequence} account {b.Account} {b.From} -> {b.To} equity {b.Equity:F2} IM {b.InitialMargin:F2} MM {b.MaintenanceMargin:F2} close first: instrument {b.TopInstrument}{(b.Replaced > 0 ? string.Create(Inv, $" (folds {b.Replaced} earlier changes)") : "")}")) : null);
            Console.WriteLine(string.Create(Inv, $"llr liquidator: reading {ring.Location} from ring sequence {resumeAt:N0}"));
            using var stop = StopSource(parse.GetValue(duration), out var signals);
            string? fault = null;
            using (signals)
            using (new IntegrityWatch(TimeSpan.FromSeconds(1), f => { fault = f; stop.Cancel(); }, ("breach ring", ring.CheckIntegrity)))
            {
                switch (c.Liquidator.Wait)
                {
                    case WaitKind.BusySpin:
                        AgentRunner.Run(liquidator, new BusySpinWait(), stop.Token);
                        break;
                    case WaitKind.Sleeping:
                        AgentRunner.Run(liquidator, new SleepingWait(), stop.Token);
                        break;
                    default:
                        AgentRunner.Run(liquidator, new YieldingWait(), stop.Token);
                        break;
                }

                if (fault is null)
                {
                    liquidator.Poll();
                }
            }

            var h = liquidator.Latency;
            Console.WriteLine(string.Create(Inv, $"llr liquidator: read {liquidator.Read:N0} breaches ({liquidator.ByState[1]:N0} margin calls, {liquidator.ByState[2]:N0} liquidations, {liquidator.ByState[0]:N0} back to healthy; {liquidator.Coalesced:N0} earlier changes folded in), ring sequence now {consumer.Sequence:N0}"));
            if (h.TotalCount > 0)
            {
                Console.WriteLine(string.Create(Inv, $"llr liquidator: feed publish -> breach read p50 {h.ValueAtPercentile(50):N0} ns, p99 {h.ValueAtPercentile(99):N0} ns"));
            }

            if (fault is not null)
            {
                Console.Error.WriteLine($"llr liquidator: stopped: {fault}.");
                return 4;
            }

            return 0;
        });
        return command;
    }

    /// <summary>Attaches to a ring another process creates, waiting for the file; prints why not and returns null on failure.</summary>
    internal static SharedRing? AttachWhenReady(string path, RingOptions expected, double waitSeconds, string command)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (File.Exists(path))
                {
                    return SharedRing.AttachMapped(path, expected, TimeSpan.FromSeconds(Math.Max(1, waitSeconds)));
                }
            }
            catch (RingLayoutException e)
            {
                Console.Error.WriteLine($"llr {command}: {path}: incompatible ring: {e.Message}");
                return null;
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                Console.Error.WriteLine($"llr {command}: {path}: cannot open the ring: {e.Message}");
                return null;
            }

            if (deadline.Elapsed.TotalSeconds >= waitSeconds)
            {
                Console.Error.WriteLine($"llr {command}: {path} did not appear within {waitSeconds:F0} s (start `llr engine` with the same configuration).");
                return null;
            }

            Thread.Sleep(50);
        }
    }
}
