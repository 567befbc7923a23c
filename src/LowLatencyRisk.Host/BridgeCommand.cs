using System.CommandLine;
using System.Diagnostics;
using LowLatencyRisk.Distributed;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Ipc;
using NATS.Client.Core;
using NATS.Client.JetStream;
using static LowLatencyRisk.Host.CommandSupport;

namespace LowLatencyRisk.Host;

/// <summary>
/// <c>llr bridge</c>: the legs between machines on JetStream. <c>route</c> on the producers'
/// machine (their feed ring → the feed stream, by shard); <c>shard</c> on a shard's machine (the
/// feed stream → the shard's feed ring; its breach ring → the breach stream when
/// <c>rings.breachConsumers</c> is 2). The engine's thread never touches the network.
/// </summary>
internal static class BridgeCommand
{
    public static Command Create()
    {
        var command = new Command("bridge", "Move messages between JetStream (jetStream section) and the local rings: `route` publishes the producers' feed ring by shard, `shard` feeds one shard's engine and publishes its breaches.");
        command.Subcommands.Add(Route());
        command.Subcommands.Add(Shard());
        return command;
    }

    private static Command Route()
    {
        var config = ConfigOption();
        var duration = DurationOption("until SIGINT/SIGTERM");
        var command = new Command("route", "On the producers' machine: create (or attach to) rings.feed, the ring the matching engine and market data write, and publish every message to the feed stream — market data to every shard, account messages to their shard (shards section) — releasing slots only when JetStream acknowledged them.")
        {
            config, duration,
        };
        command.SetAction(async (parse, _) =>
        {
            var c = LoadConfig("bridge route", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            SharedRing ring;
            string path = c.PathOf(c.Rings.Feed);
            try
            {
                ring = File.Exists(path) ? SharedRing.AttachMapped(path, c.FeedRingOptions()) : SharedRing.CreateMapped(path, c.FeedRingOptions());
            }
            catch (Exception e) when (e is RingLayoutException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"llr bridge route: {path}: {e.Message}");
                return 3;
            }

            using (ring)
            {
                using var stop = StopSource(parse.GetValue(duration), out var signals);
                using (signals)
                {
                    var js = await ConnectAsync("bridge route", c, stop.Token).ConfigureAwait(false);
                    if (js is null)
                    {
                        return 5;
                    }

                    await using var connection = js.Value.Connection;
                    var router = new FeedRouter(js.Value.Context, c.JetStream, c.ToShardMap(), ring, ring.CreateConsumer(0));
                    Console.WriteLine(string.Create(Inv, $"llr bridge route: {path} → {c.JetStream.Url} stream {c.JetStream.FeedStream} ({c.Shards.Count} shards, map v{c.Shards.Version}, {c.Shards.Rule}); SIGINT or SIGTERM stops"));
                    string? failure = await RunAsync("bridge route", router.RunAsync, () => string.Create(Inv, $"published {router.Published:N0} ({router.Broadcast:N0} to every shard), duplicates dropped by JetStream {router.Duplicates:N0}{(router.LandedOutOfOrder == 0 ? "" : $", landed out of order {router.LandedOutOfOrder:N0} (a leader change refused a publish and accepted the next: the shards' bridges hold the later ones until it lands)")}"), stop.Token).ConfigureAwait(false);
                    return failure is null ? 0 : 4;
                }
            }
        });
        return command;
    }

    private static Command Shard()
    {
        var config = ConfigOption();
        var duration = DurationOption("until SIGINT/SIGTERM");
        var shard = new Option<int?>("--shard") { Description = "Which shard this machine runs (overrides shards.index)." };
        var wait = NonNegative(new Option<double>("--wait-for-rings") { Description = "Seconds to wait for the shard's engine to create its rings.", DefaultValueFactory = _ => 30 });
        var lease = new Option<bool>("--lease") { Description = "Hold the shard's lease (jetStream.leaseBucket) while running: refuse to go live when another machine holds it (exit 6), stop when it is lost (exit 4); `llr standby --take-over` takes over when it lapses." };
        var command = new Command("shard", "On a shard's machine: write the feed stream, in order, into the shard's rings.feed (as a durable consumer, so a restart resumes where it acknowledged); with rings.breachConsumers 2, publish the shard's breach ring to the breach stream; with the journal on, ship the shard's journal records to the journal stream for `llr standby`.")
        {
            config, duration, shard, wait, lease,
        };
        command.SetAction(async (parse, _) =>
        {
            var c = LoadConfig("bridge shard", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            int index = parse.GetValue(shard) ?? c.Shards.Index;
            if (index < 0 || index >= c.Shards.Count)
            {
                Console.Error.WriteLine(string.Create(Inv, $"llr bridge shard: --shard {index} is not a shard of the map (0..{c.Shards.Count - 1})."));
                return 2;
            }

            using var feed = AttachWhenReady(c.PathOf(c.Rings.Feed), c.FeedRingOptions(), parse.GetValue(wait), "bridge shard");
            if (feed is null)
            {
                return 3;
            }

            using var breach = c.Rings.BreachConsumers == 2 ? AttachWhenReady(c.PathOf(c.Rings.Breach), c.BreachRingOptions(), parse.GetValue(wait), "bridge shard") : null;
            if (c.Rings.BreachConsumers == 2 && breach is null)
            {
                return 3;
            }

            using var summaries = c.Summaries.Enabled ? AttachWhenReady(c.PathOf(c.Summaries.Ring), c.SummaryRingOptions(), parse.GetValue(wait), "bridge shard") : null;
            if (c.Summaries.Enabled && summaries is null)
            {
                return 3;
            }

            using var stop = StopSource(parse.GetValue(duration), out var signals);
            using (signals)
            {
                var js = await ConnectAsync("bridge shard", c, stop.Token).ConfigureAwait(false);
                if (js is null)
                {
                    return 5;
                }

                await using var connection = js.Value.Connection;
                ShardLease? held = null;
                if (parse.GetValue(lease))
                {
                    held = await ShardLease.OpenAsync(js.Value.Context, c.JetStream, index, ShardLease.ThisProcess("bridge"), stop.Token).ConfigureAwait(false);
                    if (!await held.TryAcquireAsync(stop.Token).ConfigureAwait(false))
                    {
                        // No split brain: another machine is shard k's primary (or was, less than a lease ago).
                        Console.Error.WriteLine($"llr bridge shard {index}: the lease of shard {index} is held by {await held.CurrentHolderAsync(stop.Token).ConfigureAwait(false) ?? "another process (it just expired: try again)"}; this machine does not go live.");
                        return 6;
                    }
                }

                return await RunShardAsync(c, index, feed, breach, js.Value.Context, held, stop.Token, summaries).ConfigureAwait(false);
            }
        });
        return command;
    }

    /// <summary>
    /// A shard's legs on its machine — the feed in, breaches out, risk summaries out, the journal
    /// shipped — until stopped, a leg fails for good or <paramref name="lease"/> is lost; 0 on a clean
    /// stop, 4 otherwise.
    /// </summary>
    internal static async Task<int> RunShardAsync(LlrConfig c, int index, SharedRing feed, SharedRing? breach, NatsJSContext js, ShardLease? lease, CancellationToken stop, SharedRing? summaryRing = null)
    {
        var summaries = summaryRing is null ? null : new SummaryBridge(js, c.JetStream, index, summaryRing, summaryRing.CreateConsumer(0));
        // With the journal on, a feed message is acknowledged on the stream only once its journal
        // record is replicated: whatever the stream considers delivered, a standby holds.
        using var shipper = c.Journal.Mode == JournalMode.None ? null : new JournalShipper(js, c.JetStream, index, EngineService.JournalDirectory(c));
        FeedPositions positions;
        try
        {
            positions = FeedPositions.Open(FeedPositions.PathBeside(c.PathOf(c.Rings.Feed)), c.FilePermissions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException) // InvalidDataException (another file's shape) is not an IOException
        {
            Console.Error.WriteLine($"llr bridge shard {index}: cannot open its positions file: {e.Message}");
            return 4;
        }

        using var positionsOwned = positions;
        var bridge = new FeedBridge(js, c.JetStream, feed.CreateMultiProducer(), FeedBridge.DurableName(index), ackWhenReplicated: shipper is not null) { Positions = positions };
        if (shipper is not null)
        {
            shipper.Replicated = bridge.OnReplicated;
        }

        var breaches = breach is null ? null : new BreachBridge(js, c.JetStream, index, breach, breach.CreateConsumer(1));
        Console.WriteLine(string.Create(Inv, $"llr bridge shard {index}: {c.JetStream.Url} stream {c.JetStream.FeedStream} → {feed.Location}{(breach is null ? "" : $"; {breach.Location} → stream {c.JetStream.BreachStream} subject {c.JetStream.BreachSubject(index)}")}{(summaryRing is null ? "" : $"; {summaryRing.Location} → stream {c.JetStream.SummaryStream}")}{(shipper is null ? "" : $"; journal {EngineService.JournalDirectory(c)} → stream {c.JetStream.JournalStream} subject {c.JetStream.JournalSubject(index)}")}{(lease is null ? "" : $"; holding the lease as {lease.Holder}")}; SIGINT or SIGTERM stops"));
        string? failure = await RunAsync($"bridge shard {index}", async token =>
        {
            var legs = new List<Task> { bridge.RunAsync(token) };
            if (breaches is not null)
            {
                legs.Add(breaches.RunAsync(token));
            }

            if (shipper is not null)
            {
                legs.Add(shipper.RunAsync(token));
            }

            if (summaries is not null)
            {
                legs.Add(summaries.RunAsync(token));
            }

            if (lease is not null)
            {
                legs.Add(Task.Run(async () =>
                {
                    string? lost = await lease.KeepAsync(token).ConfigureAwait(false);
                    if (lost is not null)
                    {
                        throw new InvalidOperationException(lost + "; this machine stops being the primary");
                    }
                }, CancellationToken.None));
            }

            await (await Task.WhenAny(legs).ConfigureAwait(false)).ConfigureAwait(false); // the first leg to fail ends them all
        }, () => string.Create(Inv, $"feed in {bridge.Forwarded:N0}{(shipper is null ? "" : $" ({bridge.AwaitingReplication:N0} awaiting replication)")} (redelivered {bridge.Redelivered:N0}, malformed {bridge.Malformed:N0}, ring full {bridge.RingFullWaits:N0} times{(bridge.HeldBack == 0 ? "" : $", held behind a missing sequence {bridge.HeldBack:N0}, gaps accepted {bridge.GapsAccepted:N0}")}){(breaches is null ? "" : $", breaches out {breaches.Published:N0} (duplicates dropped {breaches.Duplicates:N0})")}{(summaries is null ? "" : $", summaries out {summaries.Published:N0}")}{(shipper is null ? "" : $", journal shipped through record {shipper.LastShipped:N0}{(shipper.Stuck is null ? "" : " (STUCK: " + shipper.Stuck + ")")}")}"), stop).ConfigureAwait(false);
        return failure is null ? 0 : 4;
    }

    internal static async Task<(NatsConnection Connection, NatsJSContext Context)?> ConnectAsync(string command, LlrConfig c, CancellationToken stop)
    {
        try
        {
            var connection = await JetStreamTopology.ConnectAsync(c.JetStream, "llr-" + command.Replace(' ', '-'), stop).ConfigureAwait(false);
            var js = new NatsJSContext(connection);
            await JetStreamTopology.EnsureStreamsAsync(js, c.JetStream, stop).ConfigureAwait(false);
            return (connection, js);
        }
        catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException)
        {
            Console.Error.WriteLine($"llr {command}: cannot use JetStream at {c.JetStream.Url}: {e.Message}");
            return null;
        }
    }

    /// <summary>Runs <paramref name="work"/> with a progress line a second; null on a clean stop, else the failure (printed).</summary>
    internal static async Task<string?> RunAsync(string command, Func<CancellationToken, Task> work, Func<string> progress, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        var task = work(stop);
        while (!task.IsCompleted)
        {
            await Task.WhenAny(task, Task.Delay(1_000, CancellationToken.None)).ConfigureAwait(false);
            Console.WriteLine(string.Create(Inv, $"llr {command}: {clock.Elapsed.TotalSeconds,6:F1} s  {progress()}"));
        }

        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is NatsException or TimeoutException or InvalidOperationException)
        {
            Console.Error.WriteLine($"llr {command}: stopped: {e.Message} (nothing unacknowledged was released; a restart resumes)");
            return e.Message;
        }

        Console.WriteLine(string.Create(Inv, $"llr {command}: stopped after {clock.Elapsed.TotalSeconds:F1} s: {progress()}"));
        return null;
    }
}
