using System.CommandLine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;
using static LowLatencyRisk.Host.CommandSupport;

namespace LowLatencyRisk.Host;

/// <summary><c>llr ingest</c>: framed feed messages from a capture file or TCP drop-copy connections into the feed ring.</summary>
internal static class IngestCommand
{
    public static Command Create()
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
}
