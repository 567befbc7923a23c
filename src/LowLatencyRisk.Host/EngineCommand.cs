using System.CommandLine;
using System.Diagnostics;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;
using static LowLatencyRisk.Host.CommandSupport;

namespace LowLatencyRisk.Host;

/// <summary><c>llr engine</c>: the single writer as a long-running service on the configured rings; SIGINT and SIGTERM stop it cleanly.</summary>
internal static class EngineCommand
{
    public static Command Create()
    {
        var config = ConfigOption();
        var duration = DurationOption("until SIGINT/SIGTERM");
        var shard = new Option<int?>("--shard") { Description = "Which shard of the map (shards section) this engine is (overrides shards.index): it applies only its accounts' messages." };
        var command = new Command("engine", "Run the risk engine as a long-running service on the configured rings (created when missing); publishes counters for `llr stats`.")
        {
            config, duration, shard,
        };
        command.SetAction(parse =>
        {
            var c = LoadConfig("engine", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            int? index = parse.GetValue(shard);
            if (index is { } k && (k < 0 || k >= c.Shards.Count))
            {
                Console.Error.WriteLine(string.Create(Inv, $"llr engine: --shard {k} is not a shard of the map (0..{c.Shards.Count - 1})."));
                return 2;
            }

            return RunEngine(c, index, parse.GetValue(duration));
        });
        return command;
    }

    /// <summary>
    /// Opens the engine service of <paramref name="c"/> (shard <paramref name="index"/>), warms up, runs
    /// it until SIGINT/SIGTERM, <paramref name="seconds"/> (0 = no limit) or <paramref name="external"/>,
    /// and prints its report; the exit code of <c>llr engine</c>. Also what `llr standby --take-over` runs.
    /// </summary>
    internal static int RunEngine(LlrConfig c, int? index, double seconds, CancellationToken external = default)
    {
        var clock = Stopwatch.StartNew();
        EngineService service;
        try
        {
            service = EngineService.Open(c, BookSources.For(c), index);
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
        Console.WriteLine(string.Create(Inv, $"llr engine: book {service.Engine.Book.Config.MaxAccounts:N0} accounts, grid {service.Engine.Book.Config.Grid.Name}, built in {clock.ElapsedMilliseconds} ms"));
        var machine = service.Engine.Machine;
        if (machine.ShardMap.Count > 1)
        {
            Console.WriteLine(string.Create(Inv, $"llr engine: shard {machine.ShardIndex} of {machine.ShardMap.Count} (map v{machine.ShardMap.Version}, {machine.ShardMap.Rule}): applies its accounts' messages, refuses the others' as OtherShard"));
        }
        if (service.Recovery is { } r)
        {
            foreach (string refusedSnapshot in r.RefusedSnapshots)
            {
                Console.WriteLine($"llr engine: snapshot refused: {refusedSnapshot}");
            }

            Console.WriteLine(string.Create(Inv, $"llr engine: journal {r.Directory} ({c.Journal.Mode}): {(r.Snapshot is null ? "no snapshot" : "snapshot " + r.Snapshot)}, replayed {r.Replayed:N0} messages after it{(r.RestoredOrders > 0 ? $" and restored {r.RestoredOrders:N0} liquidation orders" : "")} in {r.Milliseconds:F0} ms, re-announced {r.Announced:N0} accounts not healthy{(r.Problem is null ? "" : "; " + r.Problem)}"));
        }

        clock.Restart();
        EngineWarmup.Run(c, c.Engine.WarmupMessages);
        Console.WriteLine(string.Create(Inv, $"llr engine: warm-up {c.Engine.WarmupMessages:N0} messages on a scratch book in {clock.ElapsedMilliseconds} ms"));
        using var stop = StopSource(seconds, out var signals);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, external);
        using (signals)
        {
            EngineRunSummary? summary = null;
            var thread = new Thread(() => summary = service.Run(linked.Token)) { Name = "llr-engine", IsBackground = true };
            thread.Start();
            Console.WriteLine(string.Create(Inv, $"llr engine: live (cpu {(c.Engine.Cpu >= 0 ? c.Engine.Cpu.ToString(Inv) : "any")}, {c.Engine.Wait}); SIGINT or SIGTERM stops"));
            thread.Join();
            var s = summary!;
            Console.WriteLine(string.Create(Inv, $"llr engine: stopped after {s.Seconds:F1} s: {s.Events:N0} events, {s.Rejects:N0} rejected{(s.Rejects > 0 ? " (" + s.RejectsByReason + ")" : "")}, {s.Breaches:N0} breaches ({s.StateChanges:N0} state changes, {s.Coalesced:N0} folded into waiting breaches; {s.RiskOffSeconds:F3} s risk-off)"));
            Console.WriteLine(string.Create(Inv, $"llr engine: engine thread {s.AllocatedBytes:N0} bytes allocated, {s.GcCount} GC collections{(s.Pinned ? ", pinned" : "")}"));
            Console.WriteLine(string.Create(Inv, $"llr engine: state hash 0x{EngineStateHash.Compute(service.Engine):X16}"));
            if (machine.ShardMap.Count > 1)
            {
                Console.WriteLine(string.Create(Inv, $"llr engine: shard {machine.ShardIndex} hash 0x{EngineStateHash.ComputeShard(machine, machine.ShardMap, machine.ShardIndex):X16} (market and its accounts: equal to an unsharded engine's over the same accounts)"));
            }
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
    }
}
