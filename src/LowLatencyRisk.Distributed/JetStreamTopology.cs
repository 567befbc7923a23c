using LowLatencyRisk.Engine.Configuration;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace LowLatencyRisk.Distributed;

/// <summary>
/// The streams the product keeps on JetStream, created (or brought to the configured replicas and
/// duplicate window) by whichever process starts first: the feed stream (subjects
/// <c>{prefix}.feed.&gt;</c>: <c>{prefix}.feed.all</c> for what every shard applies,
/// <c>{prefix}.feed.shard.{k}</c> for shard k's accounts) and the breach stream
/// (<c>{prefix}.breach.{k}</c>) and the journal stream (<c>{prefix}.journal.{k}</c>: each shard's
/// journal records, replicated for a standby) and the summary stream (<c>{prefix}.summary.&gt;</c>:
/// the latest risk summary of each account and firm). All are file-backed, limits-retained, with JetStream's
/// de-duplication by message id over the configured window.
/// </summary>
public static class JetStreamTopology
{
    /// <summary>Connects to <paramref name="config"/>'s server (named <paramref name="client"/> in its monitoring).</summary>
    public static async Task<NatsConnection> ConnectAsync(JetStreamSection config, string client, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(config);
        var connection = new NatsConnection(new NatsOpts { Url = config.Url, Name = client, ConnectTimeout = TimeSpan.FromSeconds(5) });
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(cancel).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return connection;
    }

    /// <summary>Creates the feed and breach streams, or updates them to <paramref name="config"/>.</summary>
    public static async Task EnsureStreamsAsync(INatsJSContext js, JetStreamSection config, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(config);
        await js.CreateOrUpdateStreamAsync(Stream(config.FeedStream, config.FeedSubjects, config), cancel).ConfigureAwait(false);
        await js.CreateOrUpdateStreamAsync(Stream(config.BreachStream, $"{config.SubjectPrefix}.breach.>", config), cancel).ConfigureAwait(false);
        await js.CreateOrUpdateStreamAsync(Stream(config.JournalStream, $"{config.SubjectPrefix}.journal.>", config), cancel).ConfigureAwait(false);
        // Summaries are state: the stream keeps the latest per account (and per firm), nothing older.
        await js.CreateOrUpdateStreamAsync(Stream(config.SummaryStream, $"{config.SubjectPrefix}.summary.>", config, maxPerSubject: 1), cancel).ConfigureAwait(false);
    }

    private static StreamConfig Stream(string name, string subjects, JetStreamSection config, long maxPerSubject = -1) => new(name, [subjects])
    {
        MaxMsgsPerSubject = maxPerSubject,
        Storage = StreamConfigStorage.File,
        NumReplicas = config.Replicas,
        DuplicateWindow = TimeSpan.FromSeconds(config.DuplicateWindowSeconds),
        Retention = StreamConfigRetention.Limits,
    };

    /// <summary>
    /// The data of the last message on <paramref name="subject"/> in <paramref name="stream"/>, or null
    /// when there is none — the stream API's "last message by subject" (JetStream 2.9 has it; the
    /// client's consumer forms for it need 2.10).
    /// </summary>
    public static async Task<byte[]?> LastBySubjectAsync(INatsJSContext js, string stream, string subject, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(js);
        string request = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["last_by_subj"] = subject });
        var reply = await js.Connection.RequestAsync<string, string>($"$JS.API.STREAM.MSG.GET.{stream}", request, cancellationToken: cancel).ConfigureAwait(false);
        using var doc = System.Text.Json.JsonDocument.Parse(reply.Data ?? "{}");
        if (doc.RootElement.TryGetProperty("error", out var error))
        {
            int code = error.TryGetProperty("code", out var c) ? c.GetInt32() : 0;
            return code == 404 ? null : throw new InvalidOperationException($"the last message on {subject} in stream {stream}: {error}");
        }

        return doc.RootElement.GetProperty("message").GetProperty("data").GetBytesFromBase64();
    }

    /// <summary>The message id a feed message is de-duplicated by on JetStream: its producer, epoch and producer sequence.</summary>
    public static string MessageId(ReadOnlySpan<byte> payload)
    {
        ref readonly var h = ref Engine.Wire.FeedMessageDescriptor.Header(payload);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{h.ProducerId}-{h.ProducerEpoch}-{h.ProducerSequence}");
    }
}
