using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine.Wire;

/// <summary>What <see cref="FeedListener.ServeAsync"/> did over its life.</summary>
/// <param name="Frames">Frames published into the ring from every connection.</param>
/// <param name="Connections">Connections served.</param>
/// <param name="Refused">Connections refused because <c>maxConnections</c> were already open.</param>
/// <param name="Failed">Connections that ended with an error (bad frame, truncation, read timeout, reset).</param>
public sealed record ListenerResult(long Frames, long Connections, long Refused, long Failed);

/// <summary>
/// Drop-copy ingress over TCP: accepts connections on a listener and pumps each one's frames into
/// the feed ring concurrently (each connection with its own producer of the multi-producer ring),
/// at most <c>maxConnections</c> at a time, each with a read timeout, so a sender that stalls
/// half-way through a frame holds up only itself. Every connection's end is reported with its
/// peer address and how many messages it delivered.
/// </summary>
public static class FeedListener
{
    /// <summary>Serves until <paramref name="stop"/>, then waits for open connections to finish their pumps (they stop with it).</summary>
    /// <param name="listener">A started listener.</param>
    /// <param name="newProducer">A producer for one connection (called once per served connection).</param>
    /// <param name="maxConnections">Connections served at once; more are closed at once and reported.</param>
    /// <param name="readTimeout">See <see cref="FeedIngress.PumpAsync"/>.</param>
    /// <param name="log">One line per event (connection opened, closed with its count and error, refused).</param>
    /// <param name="stop">Stops accepting and ends every connection's pump.</param>
    public static async Task<ListenerResult> ServeAsync(TcpListener listener, Func<IRingProducer> newProducer, int maxConnections, TimeSpan readTimeout,
        Action<string> log, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(listener);
        ArgumentNullException.ThrowIfNull(newProducer);
        ArgumentNullException.ThrowIfNull(log);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnections, 1);
        long frames = 0, connections = 0, refused = 0, failed = 0;
        int open = 0;
        var running = new List<Task>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient client = await listener.AcceptTcpClientAsync(stop).ConfigureAwait(false);
                string peer = (client.Client.RemoteEndPoint as IPEndPoint)?.ToString() ?? "an unknown peer";
                if (Volatile.Read(ref open) >= maxConnections)
                {
                    client.Dispose();
                    refused++;
                    log(string.Create(CultureInfo.InvariantCulture, $"{peer}: refused: {maxConnections} connections already open"));
                    continue;
                }

                Interlocked.Increment(ref open);
                connections++;
                log($"{peer}: connected");
                running.RemoveAll(t => t.IsCompleted);
                running.Add(Task.Run(async () =>
                {
                    IngressResult result;
                    try
                    {
                        using (client)
                        {
                            result = await FeedIngress.PumpAsync(System.IO.Pipelines.PipeReader.Create(client.GetStream()), newProducer(), readTimeout: readTimeout, cancel: stop)
                                .ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        Interlocked.Decrement(ref open); // before the line below: a client that reads it may connect again at once
                    }

                    Interlocked.Add(ref frames, result.Frames);
                    if (result.Error is not null)
                    {
                        Interlocked.Increment(ref failed);
                    }

                    log(string.Create(CultureInfo.InvariantCulture,
                        $"{peer}: closed after {result.Frames:N0} messages{(result.Error is null ? "" : "; dropped it: " + result.Error)}"));
                }, CancellationToken.None));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        return new ListenerResult(Interlocked.Read(ref frames), connections, refused, Interlocked.Read(ref failed));
    }
}
