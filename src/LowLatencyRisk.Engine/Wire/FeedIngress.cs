using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine.Wire;

/// <summary>
/// Feed messages as a byte stream (a capture file, a drop-copy socket): each frame is a 4-byte
/// little-endian length (always <see cref="FeedMessageDescriptor.PayloadSize"/>) then the message.
/// </summary>
public static class FeedFrames
{
    /// <summary>Bytes of the length prefix.</summary>
    public const int PrefixLength = 4;

    /// <summary>Bytes of one frame.</summary>
    public const int FrameLength = PrefixLength + FeedMessageDescriptor.PayloadSize;

    /// <summary>Writes one frame into <paramref name="destination"/> (at least <see cref="FrameLength"/> bytes).</summary>
    public static void Write(Span<byte> destination, ReadOnlySpan<byte> message)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, FeedMessageDescriptor.PayloadSize);
        message[..FeedMessageDescriptor.PayloadSize].CopyTo(destination[PrefixLength..]);
    }
}

/// <summary>What <see cref="FeedIngress.PumpAsync"/> did.</summary>
/// <param name="Frames">Frames published into the feed ring.</param>
/// <param name="Error">Why the stream was abandoned (a bad frame length, a truncated last frame), or null at a clean end.</param>
public sealed record IngressResult(long Frames, string? Error);

/// <summary>
/// Reads framed feed messages from a <see cref="PipeReader"/> (System.IO.Pipelines: a file, a
/// socket, any stream) and publishes each into the feed ring, waiting for room (back-pressure
/// reaches the sender through the pipe). The engine validates every message as usual; this only
/// checks the framing. A frame whose length is not the message size means the stream is not a
/// feed stream or lost its alignment: the pump stops there with the frame's index, having
/// published every good frame before it.
/// </summary>
public static class FeedIngress
{
    /// <summary>Pumps until the stream ends, a framing error, a read timeout, or <paramref name="cancel"/>.</summary>
    /// <param name="reader">The stream.</param>
    /// <param name="producer">The feed ring's producer.</param>
    /// <param name="restamp">Replace each message's publish ticks with the time of ingest (latency then measures from here).</param>
    /// <param name="readTimeout">
    /// Longest wait for the next bytes (zero or negative: no limit). A stream silent for longer is
    /// abandoned with the reason (a sender that stopped half-way through a frame, or went away
    /// without closing); waiting for room in the ring is back-pressure, never a timeout.
    /// </param>
    /// <param name="cancel">Stops the pump.</param>
    public static async Task<IngressResult> PumpAsync(PipeReader reader, IRingProducer producer, bool restamp = true, TimeSpan readTimeout = default,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(producer);
        long frames = 0;
        long pending = 0;
        using var timeout = readTimeout > TimeSpan.Zero ? CancellationTokenSource.CreateLinkedTokenSource(cancel) : null;
        try
        {
            while (true)
            {
                timeout?.CancelAfter(readTimeout);
                ReadResult read = await reader.ReadAsync(timeout?.Token ?? cancel).ConfigureAwait(false);
                timeout?.CancelAfter(Timeout.InfiniteTimeSpan);
                var buffer = read.Buffer;
                string? error = Publish(ref buffer, producer, restamp, ref frames, cancel);
                pending = buffer.Length;
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (error is not null)
                {
                    return new IngressResult(frames, error);
                }

                if (read.IsCompleted || read.IsCanceled)
                {
                    return new IngressResult(frames, buffer.Length == 0 ? null : $"frame {frames + 1}: the stream ended {buffer.Length} bytes into it (truncated)");
                }
            }
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested && timeout is not null)
        {
            return new IngressResult(frames, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"no data for {readTimeout.TotalSeconds:0.###} s{(pending > 0 ? $" with {pending} bytes of frame {frames + 1} received" : "")} (read timeout)"));
        }
        catch (OperationCanceledException)
        {
            return new IngressResult(frames, null);
        }
        catch (IOException e)
        {
            return new IngressResult(frames, $"the connection failed: {e.Message}");
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static string? Publish(ref ReadOnlySequence<byte> buffer, IRingProducer producer, bool restamp, ref long frames, CancellationToken cancel)
    {
        Span<byte> prefix = stackalloc byte[FeedFrames.PrefixLength];
        var wait = new YieldingWait();
        while (buffer.Length >= FeedFrames.PrefixLength)
        {
            buffer.Slice(0, FeedFrames.PrefixLength).CopyTo(prefix);
            int length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
            if (length != FeedMessageDescriptor.PayloadSize)
            {
                return $"frame {frames + 1}: length {length}, a feed frame is {FeedMessageDescriptor.PayloadSize} (not a feed stream, or it lost alignment)";
            }

            if (buffer.Length < FeedFrames.FrameLength)
            {
                return null; // the rest of this frame is still on its way
            }

            long slot;
            int spins = 0;
            while (!producer.TryClaim(1, out slot))
            {
                cancel.ThrowIfCancellationRequested();
                wait.Idle(spins++);
            }

            var payload = producer.Payload(slot);
            buffer.Slice(FeedFrames.PrefixLength, FeedMessageDescriptor.PayloadSize).CopyTo(payload);
            if (restamp)
            {
                WireMessage.As<FeedHeader>(payload).PublishTicks = MonotonicClock.Now();
            }

            producer.Publish(slot);
            frames++;
            buffer = buffer.Slice(FeedFrames.FrameLength);
        }

        return null;
    }
}
