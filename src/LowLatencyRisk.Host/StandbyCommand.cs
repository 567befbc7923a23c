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
        var command = new Command("standby", "Follow a shard's replicated journal (jetStream.journalStream) into this machine's journal folder and an engine's state, through the engine's replay path; stop it and start `llr engine` with the same configuration to take over from there.")
        {
            config, duration, shard,
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
            var book = c.BuildBook();
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
                        var task = follower.RunAsync(stop.Token);
                        while (!task.IsCompleted)
                        {
                            await Task.WhenAny(task, Task.Delay(1_000, CancellationToken.None)).ConfigureAwait(false);
                            Console.WriteLine(string.Create(Inv, $"llr standby: {clock.Elapsed.TotalSeconds,6:F1} s  applied through journal record {follower.LastApplied:N0} ({follower.Applied:N0} this run, {follower.Copies:N0} copies skipped)"));
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
}
