using System.CommandLine;
using System.Diagnostics;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Distributed;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;
using NATS.Client.JetStream;
using static LowLatencyRisk.Host.CommandSupport;

namespace LowLatencyRisk.Host;

/// <summary>
/// <c>llr standby</c>: on a second machine, follows a shard's replicated journal (shipped by the
/// primary's <c>llr bridge shard</c>) into this machine's journal folder and an engine's state, so that
/// <c>llr engine</c> started here recovers to the primary's state (a manual failover).
/// </summary>
internal static class StandbyCommand
{
    public static Command Create()
    {
        var config = ConfigOption();
        var duration = DurationOption("until SIGINT/SIGTERM");
        var shard = new Option<int?>("--shard") { Description = "Which shard's journal to follow (overrides shards.index)." };
        var takeOverOption = new Option<bool>("--take-over") { Description = "Watch the shard's lease (jetStream.leaseBucket): when the primary stops renewing it, take it, apply the rest of the replicated journal, and go live — the engine on this machine's configuration and the shard's bridge legs (feed in, breaches out, journal shipped), holding the lease." };
        var command = new Command("standby", "Follow a shard's replicated journal (jetStream.journalStream) into this machine's journal folder and an engine's state, through the engine's replay path; stop it and start `llr engine` with the same configuration to take over from there.")
        {
            config, duration, shard, takeOverOption,
        };
        command.SetAction(async (parse, _) =>
        {
            var c = LoadConfig("standby", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            int index = parse.GetValue(shard) ?? c.Shards.Index;
            if (index < 0 || index >= c.Shards.Count)
            {
                Console.Error.WriteLine(string.Create(Inv, $"llr standby: --shard {index} is not a shard of the map (0..{c.Shards.Count - 1})."));
                return 2;
            }

            // What this machine already followed is replayed first, and the stream resumes after it.
            string dir = EngineService.JournalDirectory(c);
            Core.Book.RiskBook book;
            try
            {
                book = c.BuildBook();
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"llr standby: cannot start: {e.Message}"); // the book file named every problem
                return 2;
            }

            var engine = new RiskEngine(book, new PreTradeGate(book, c.ToGateConfig()), null, null, liquidation: c.ToLiquidationOptions());
            engine.Machine.AssignShard(c.ToShardMap(), index);
            JournalScan scan;
            JournalWriter local;
            try
            {
                c.ToShardMap().ClaimJournal(dir, index, c.FilePermissions);
                scan = JournalReader.Scan(dir, FeedMessageDescriptor.PayloadSize, (_, payload) => engine.Replay(payload));
                local = JournalWriter.Open(dir, FeedMessageDescriptor.PayloadSize, (long)c.Journal.SegmentMegabytes << 20, c.FilePermissions);
            }
            catch (Exception e) when (e is JournalException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"llr standby: {dir}: {e.Message}");
                return 3;
            }

            using (local)
            {
                using var stop = StopSource(parse.GetValue(duration), out var signals);
                using (signals)
                {
                    NATS.Client.Core.NatsConnection connection;
                    NatsJSContext js;
                    try
                    {
                        connection = await JetStreamTopology.ConnectAsync(c.JetStream, "llr-standby", stop.Token).ConfigureAwait(false);
                        js = new NatsJSContext(connection);
                        await JetStreamTopology.EnsureStreamsAsync(js, c.JetStream, stop.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException or OperationCanceledException)
                    {
                        Console.Error.WriteLine($"llr standby: cannot use JetStream at {c.JetStream.Url}: {e.Message}");
                        return 5;
                    }

                    await using (connection)
                    {
                        var follower = new JournalFollower(js, c.JetStream, index, engine, $"llr-standby-{index}", local, after: scan.LastSequence);
                        Console.WriteLine(string.Create(Inv, $"llr standby: shard {index}: stream {c.JetStream.JournalStream} subject {c.JetStream.JournalSubject(index)} → {dir} (already held through record {scan.LastSequence:N0}); SIGINT or SIGTERM stops"));
                        var clock = Stopwatch.StartNew();
                        bool takeOver = parse.GetValue(takeOverOption);
                        var lease = takeOver ? await ShardLease.OpenAsync(js, c.JetStream, index, ShardLease.ThisProcess("standby"), stop.Token).ConfigureAwait(false) : null;
                        using var following = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                        var task = follower.RunAsync(following.Token);
                        var lastLine = Stopwatch.StartNew();
                        bool tookOver = false;
                        while (!task.IsCompleted)
                        {
                            await Task.WhenAny(task, Task.Delay(lease is null ? 1_000 : 250, CancellationToken.None)).ConfigureAwait(false);
                            if (lastLine.ElapsedMilliseconds >= 1_000 || task.IsCompleted)
                            {
                                lastLine.Restart();
                                Console.WriteLine(string.Create(Inv, $"llr standby: {clock.Elapsed.TotalSeconds,6:F1} s  applied through journal record {follower.LastApplied:N0} ({follower.Applied:N0} this run, {follower.Copies:N0} copies skipped)"));
                            }

                            if (lease is not null && !task.IsCompleted && !stop.IsCancellationRequested
                                && await lease.CurrentHolderAsync(stop.Token).ConfigureAwait(false) is null && await lease.TryAcquireAsync(stop.Token).ConfigureAwait(false))
                            {
                                tookOver = true;
                                break;
                            }
                        }

                        if (tookOver)
                        {
                            return await TakeOverAsync(c, index, js, lease!, follower, following, task, local, engine.Machine, stop.Token).ConfigureAwait(false);
                        }

                        try
                        {
                            await task.ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (stop.IsCancellationRequested)
                        {
                        }

                        engine.FinishReplay();
                        Console.WriteLine(string.Create(Inv, $"llr standby: stopped at journal record {follower.LastApplied:N0}; state hash 0x{EngineStateHash.Compute(engine):X16}"));
                        if (follower.Stopped is { } why)
                        {
                            Console.Error.WriteLine($"llr standby: STOPPED: {why}");
                            return 4;
                        }

                        return 0;
                    }
                }
            }
        });
        return command;
    }

    /// <summary>
    /// The primary stopped renewing and this standby holds the lease: drain the replicated journal to
    /// its last record, close the local journal, start the engine on it (recovery) and the shard's
    /// legs on its rings, renewing the lease; until stopped or the lease is lost.
    /// </summary>
    private static async Task<int> TakeOverAsync(LlrConfig c, int index, NatsJSContext js, ShardLease lease, JournalFollower follower,
        CancellationTokenSource following, Task followingTask, JournalWriter local, FeedStateMachine replayed, CancellationToken stop)
    {
        var failover = Stopwatch.StartNew();
        using var keeping = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var keep = lease.KeepAsync(keeping.Token);
        long last = await JournalShipper.LastInStreamAsync(js, c.JetStream, index, stop).ConfigureAwait(false);
        while (follower.LastApplied < last && follower.Stopped is null && !followingTask.IsCompleted && !stop.IsCancellationRequested)
        {
            await Task.Delay(5, CancellationToken.None).ConfigureAwait(false);
        }

        await following.CancelAsync().ConfigureAwait(false);
        await followingTask.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        if (follower.Stopped is { } why || follower.LastApplied < last)
        {
            Console.Error.WriteLine($"llr standby: cannot take over: the replicated journal was not applied to its end ({follower.LastApplied} of {last}; {follower.Stopped ?? "stopped"})");
            return 4;
        }

        local.Dispose(); // the engine opens this journal folder now
        try
        {
            // The bridge this machine starts begins each producer where the replayed journal left it
            // (what the engine recovers to), whatever a bridge here wrote in an earlier life.
            using var positions = FeedPositions.Open(FeedPositions.PathBeside(c.PathOf(c.Rings.Feed)), c.FilePermissions);
            positions.SeedFrom(replayed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            Console.Error.WriteLine($"llr standby: cannot take over: {e.Message}");
            return 4;
        }

        Console.WriteLine(string.Create(Inv, $"llr standby: took over shard {index} (lease as {lease.Holder}); the replicated journal applied through record {last:N0} in {failover.ElapsedMilliseconds} ms; starting the engine"));
        using var engineStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        int engineCode = 0;
        var engineThread = new Thread(() => engineCode = EngineCommand.RunEngine(c, index, 0, engineStop.Token)) { Name = "llr-engine-service" };
        engineThread.Start();
        using var feed = await AttachCreatedAsync(c.PathOf(c.Rings.Feed), c.FeedRingOptions(), engineThread).ConfigureAwait(false);
        using var breach = c.Rings.BreachConsumers == 2 ? await AttachCreatedAsync(c.PathOf(c.Rings.Breach), c.BreachRingOptions(), engineThread).ConfigureAwait(false) : null;
        using var summaries = c.Summaries.Enabled ? await AttachCreatedAsync(c.PathOf(c.Summaries.Ring), c.SummaryRingOptions(), engineThread).ConfigureAwait(false) : null;
        await keeping.CancelAsync().ConfigureAwait(false); // the legs keep the lease from here
        string? lost = await keep.ConfigureAwait(false);
        if (feed is null || (c.Rings.BreachConsumers == 2 && breach is null) || (c.Summaries.Enabled && summaries is null) || lost is not null)
        {
            Console.Error.WriteLine($"llr standby: cannot go live: {lost ?? "the engine's rings did not appear"}");
            await engineStop.CancelAsync().ConfigureAwait(false);
            engineThread.Join();
            return 4;
        }

        Console.WriteLine(string.Create(Inv, $"llr standby: shard {index} live on this machine {failover.ElapsedMilliseconds} ms after taking the lease"));
        int legs = await BridgeCommand.RunShardAsync(c, index, feed, breach, js, lease, stop, summaries).ConfigureAwait(false);
        await engineStop.CancelAsync().ConfigureAwait(false);
        engineThread.Join();
        return legs != 0 ? legs : engineCode;
    }

    /// <summary>Attaches to a ring the engine thread is creating: a file still being sized is waited for, not refused (at most 60 s, while the engine runs).</summary>
    private static async Task<SharedRing?> AttachCreatedAsync(string path, RingOptions options, Thread engine)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60) && engine.IsAlive)
        {
            try
            {
                return SharedRing.AttachWhenReady(path, options, TimeSpan.FromSeconds(1));
            }
            catch (Exception e) when (e is RingLayoutException or TimeoutException or IOException)
            {
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return null;
    }
}
