using System.CommandLine;
using LowLatencyRisk.Distributed;
using static LowLatencyRisk.Host.CommandSupport;

namespace LowLatencyRisk.Host;

/// <summary>
/// <c>llr aggregate</c>: firm credit limits across shards. Reads every shard's risk summaries from
/// JetStream and moves each firm's limit between its accounts with limit changes on the feed
/// stream (<see cref="FirmLimitAggregator"/>); a line a second with every firm's usage, the limits
/// that may be in force and the summaries' staleness.
/// </summary>
internal static class AggregateCommand
{
    public static Command Create()
    {
        var config = ConfigOption();
        var duration = DurationOption("until SIGINT/SIGTERM");
        var command = new Command("aggregate", "Enforce the firms' credit limits (firms section) across shards: read the shards' risk summaries from JetStream, give each account its usage plus an equal share of its firm's headroom as its credit limit (lowered first, raised only out of what is confirmed), published into the feed stream.")
        {
            config, duration,
        };
        command.SetAction(async (parse, _) =>
        {
            var c = LoadConfig("aggregate", parse.GetValue(config));
            if (c is null)
            {
                return 2;
            }

            if (c.Firms.Length == 0)
            {
                Console.Error.WriteLine("llr aggregate: the configuration has no firms (firms section): nothing to enforce.");
                return 2;
            }

            using var stop = StopSource(parse.GetValue(duration), out var signals);
            using (signals)
            {
                var js = await BridgeCommand.ConnectAsync("aggregate", c, stop.Token).ConfigureAwait(false);
                if (js is null)
                {
                    return 5;
                }

                await using var connection = js.Value.Connection;
                var aggregator = new FirmLimitAggregator(js.Value.Context, c.JetStream, c.ToShardMap(), c.Firms, c.Aggregator);
                Console.WriteLine(string.Create(Inv, $"llr aggregate: {c.Firms.Length} firms, {c.Firms.Sum(f => f.Accounts.Length)} accounts over {c.Shards.Count} shards; summaries from stream {c.JetStream.SummaryStream}, limit changes as producer {c.Aggregator.ProducerId} epoch {aggregator.Epoch} into stream {c.JetStream.FeedStream}; a round every {c.Aggregator.RebalanceMilliseconds} ms; SIGINT or SIGTERM stops"));
                string? failure = await BridgeCommand.RunAsync("aggregate", aggregator.RunAsync, () => Progress(aggregator), stop.Token).ConfigureAwait(false);
                foreach (var f in aggregator.Firms())
                {
                    Console.WriteLine(string.Create(Inv, $"llr aggregate: firm {f.Name}: usage {f.Usage:N0} of {f.Limit:N0}, limits that may be in force {(f.Allocated is { } allocated ? allocated.ToString("N0", Inv) : "not known (an account not summarized, or one without a limit)")}, {f.Summarized} of {f.Accounts} accounts summarized, {f.Pending} changes in flight"));
                    foreach (var p in f.Positions ?? [])
                    {
                        Console.WriteLine(string.Create(Inv, $"llr aggregate: firm {f.Name}, underlying {p.Underlying}: {p.Usage:N3} of {p.Limit:N3} contracts, limits that may be in force {(p.Allocated is { } pa ? pa.ToString("N3", Inv) : "not known (an account not summarized there)")}, {p.Pending} changes in flight"));
                    }
                }

                return failure is null ? 0 : 4;
            }
        });
        return command;
    }

    private static string Progress(FirmLimitAggregator a)
    {
        var s = a.Staleness;
        string staleness = s.TotalCount == 0 ? "no summaries yet" : string.Create(Inv, $"summary staleness p50 {s.ValueAtPercentile(50) / 1e6:F1} ms p99 {s.ValueAtPercentile(99) / 1e6:F1} ms");
        double usage = 0, limit = 0;
        foreach (var f in a.Firms())
        {
            usage += f.Usage;
            limit += f.Limit;
        }

        return string.Create(Inv, $"summaries {a.SummariesRead:N0} (malformed {a.Malformed:N0}), limit changes {a.ChangesPublished:N0} (confirmed {a.ChangesConfirmed:N0}, given up {a.PendingExpired:N0}), firms' usage {usage:N0} of {limit:N0}; {staleness}");
    }
}
