using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Host;

/// <summary><c>llr replay JOURNAL</c>: rebuilds the engine's state from a journal and prints its state hash.</summary>
internal static class ReplayCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>An offline engine: no feed ring (messages come from the journal through <see cref="RiskEngine.Replay"/>) and no breach ring.</summary>
    private static RiskEngine NewEngine(Engine.Configuration.LlrConfig c)
    {
        var book = c.BuildBook();
        var engine = new RiskEngine(book, new PreTradeGate(book, c.ToGateConfig()), feed: null, breaches: null, liquidation: c.ToLiquidationOptions());
        engine.Machine.AssignShard(c.ToShardMap(), c.Shards.Index); // a shard's journal replays as that shard, refusing the other shards' accounts as it did
        return engine;
    }

    public static Command Create()
    {
        var journal = new Argument<string>("journal") { Description = "Journal folder (journal-NNNNNN.llrj segments)." };
        var config = CommandSupport.ConfigOption();
        var expect = new Option<string?>("--expect") { Description = "State hash to compare with (for example the one `llr engine` printed at shutdown); exit 1 when it differs." };
        var fromSnapshot = new Option<bool>("--from-snapshot") { Description = "Start from the newest valid snapshot in the journal folder instead of the first record." };
        var compare = new Option<string?>("--compare") { Description = "A snapshot file: replay up to its journal sequence and compare the state with it; exit 1 when it differs." };
        var command = new Command("replay", "Rebuild the risk state from a journal through the engine's own code path and print its state hash.")
        {
            journal, config, expect, fromSnapshot, compare,
        };
        command.SetAction(parse =>
        {
            var c = CommandSupport.LoadConfig("replay", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            string dir = parse.GetValue(journal)!;
            if (!JournalReader.Segments(dir).Any())
            {
                Console.Error.WriteLine($"llr replay: {dir}: no journal segments (journal-NNNNNN.llrj)");
                return 2;
            }

            if (c.ToShardMap().CheckJournal(dir, c.Shards.Index) is { } wrongShard)
            {
                Console.Error.WriteLine($"llr replay: {wrongShard}");
                return 2;
            }

            long upTo = long.MaxValue;
            string? compareWith = parse.GetValue(compare);
            if (compareWith is not null)
            {
                string name = Path.GetFileNameWithoutExtension(compareWith);
                if (!name.StartsWith("snapshot-", StringComparison.Ordinal) || !long.TryParse(name["snapshot-".Length..], NumberStyles.None, Inv, out upTo))
                {
                    Console.Error.WriteLine($"llr replay: {compareWith}: not a snapshot file name (snapshot-NNNNNNNNNNNNNNNN.llrs)");
                    return 2;
                }
            }

            RiskEngine engine;
            try
            {
                engine = NewEngine(c);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"llr replay: {e.Message}");
                return 2;
            }

            long after = 0;
            if (parse.GetValue(fromSnapshot))
            {
                // With --compare, the newest snapshot strictly before the compared one, so the
                // comparison checks a replay of the records between them (starting after the
                // compare point would replay past it and report a difference that is not there).
                long before = upTo == long.MaxValue ? long.MaxValue : upTo - 1;
                var (sequence, path, refused) = SnapshotStore.LoadNewest(dir, engine, atOrBefore: before);
                refused.ForEach(r => Console.WriteLine($"llr replay: snapshot refused: {r}"));
                if (path is null)
                {
                    Console.Error.WriteLine(string.Create(Inv, $"llr replay: {dir}: no usable snapshot{(upTo == long.MaxValue ? "" : $" before journal record {upTo:N0} (compare with a newer snapshot, or drop --from-snapshot when the journal still starts at record 1)")}"));
                    return 2;
                }

                after = sequence;
                Console.WriteLine(string.Create(Inv, $"llr replay: from {Path.GetFileName(path)} (journal record {sequence:N0})"));
            }
            else if (JournalReader.FirstSequence(dir) is var first && first > 1)
            {
                Console.Error.WriteLine(string.Create(Inv,
                    $"llr replay: {dir}: the journal starts at record {first:N0} (older records were trimmed behind a snapshot); add --from-snapshot to start from the newest snapshot in the folder"));
                return 2;
            }

            var clock = Stopwatch.StartNew();
            long lastReport = 0;
            long replayed = 0, skipped = 0;
            JournalScan scan;
            try
            {
                scan = JournalReader.Scan(dir, FeedMessageDescriptor.PayloadSize, (sequence, payload) =>
                {
                    if (sequence > upTo)
                    {
                        skipped++;
                        return;
                    }

                    engine.Replay(payload);
                    replayed++;
                    if (clock.ElapsedMilliseconds - lastReport >= 1000)
                    {
                        lastReport = clock.ElapsedMilliseconds;
                        Console.WriteLine(string.Create(Inv, $"llr replay: {sequence:N0} records, {sequence / clock.Elapsed.TotalSeconds / 1e6:F2} M/s"));
                    }
                }, after);
            }
            catch (JournalException e)
            {
                Console.Error.WriteLine($"llr replay: {e.Message}");
                return 2;
            }

            int announced = engine.FinishReplay();
            ulong hash = EngineStateHash.Compute(engine);
            Console.WriteLine(string.Create(Inv, $"llr replay: {replayed:N0} records replayed in {clock.Elapsed.TotalSeconds:F2} s{(skipped > 0 ? $" ({skipped:N0} after the compare point not replayed)" : "")}; {engine.Counters.TotalRejects:N0} refused (duplicates or invalid), {announced:N0} accounts not healthy"));
            if (scan.Problem is not null)
            {
                Console.WriteLine($"llr replay: stopped at a bad record: {scan.Problem}");
            }

            Console.WriteLine(string.Create(Inv, $"llr replay: state hash 0x{hash:X16}"));
            if (compareWith is not null)
            {
                var other = NewEngine(c);
                var (loaded, path, refused) = SnapshotStore.LoadNewest(Path.GetDirectoryName(Path.GetFullPath(compareWith))!, other, Path.GetFullPath(compareWith));
                if (path is null)
                {
                    Console.Error.WriteLine($"llr replay: {compareWith}: {string.Join("; ", refused)}");
                    return 2;
                }

                other.FinishReplay();
                ulong theirs = EngineStateHash.Compute(other);
                Console.WriteLine(string.Create(Inv, $"llr replay: snapshot at record {loaded:N0}: state hash 0x{theirs:X16} — {(theirs == hash ? "matches the replay" : "DIFFERS from the replay")}"));
                if (theirs != hash)
                {
                    return 1;
                }
            }

            string? expected = parse.GetValue(expect);
            if (expected is not null)
            {
                bool same = ulong.TryParse(expected.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? expected[2..] : expected, NumberStyles.HexNumber, Inv, out ulong e) && e == hash;
                Console.WriteLine(same ? "llr replay: matches the expected hash" : $"llr replay: DIFFERS from the expected hash {expected}");
                return same ? 0 : 1;
            }

            return 0;
        });
        return command;
    }
}
