using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Host;

/// <summary><c>llr replay JOURNAL</c>: rebuilds the engine's state from a journal and prints its state hash.</summary>
internal static class ReplayCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var journal = new Argument<string>("journal") { Description = "Journal folder (journal-NNNNNN.llrj segments)." };
        var config = ServiceCommands.ConfigOption();
        var expect = new Option<string?>("--expect") { Description = "State hash to compare with (for example the one `llr engine` printed at shutdown); exit 1 when it differs." };
        var command = new Command("replay", "Rebuild the risk state from a journal through the engine's own code path and print its state hash.")
        {
            journal, config, expect,
        };
        command.SetAction(parse =>
        {
            var c = ServiceCommands.LoadConfig("replay", parse.GetValue(config));
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

            var workload = c.BuildWorkload();
            using var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 64, ProducerMode.Single));
            using var breach = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, Math.Max(64, (int)Math.Min(1 << 24, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)c.Workload.Accounts * 2))), ProducerMode.Single));
            var engine = new RiskEngine(workload.Book, new PreTradeGate(workload.Book, c.ToGateConfig()), feed.CreateConsumer(0), breach.CreateSingleProducer());
            var clock = Stopwatch.StartNew();
            long lastReport = 0;
            JournalScan scan;
            try
            {
                scan = JournalReader.Scan(dir, FeedMessageDescriptor.PayloadSize, (sequence, payload) =>
                {
                    engine.Replay(payload);
                    if (clock.ElapsedMilliseconds - lastReport >= 1000)
                    {
                        lastReport = clock.ElapsedMilliseconds;
                        Console.WriteLine(string.Create(Inv, $"llr replay: {sequence:N0} records, {sequence / clock.Elapsed.TotalSeconds / 1e6:F2} M/s"));
                    }
                });
            }
            catch (JournalException e)
            {
                Console.Error.WriteLine($"llr replay: {e.Message}");
                return 2;
            }

            int announced = engine.FinishReplay();
            ulong hash = EngineStateHash.Compute(engine);
            Console.WriteLine(string.Create(Inv, $"llr replay: {scan.Records:N0} records in {clock.Elapsed.TotalSeconds:F2} s; {engine.Counters.TotalRejects:N0} refused (duplicates or invalid), {announced:N0} accounts not healthy"));
            if (scan.Problem is not null)
            {
                Console.WriteLine($"llr replay: stopped at a bad record: {scan.Problem}");
            }

            Console.WriteLine(string.Create(Inv, $"llr replay: state hash 0x{hash:X16}"));
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
