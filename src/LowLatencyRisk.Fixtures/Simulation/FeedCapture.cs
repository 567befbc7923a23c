using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;

namespace LowLatencyRisk.Fixtures.Simulation;

/// <summary>The simulated feed as a capture file of framed messages (what <c>llr ingest --file</c> and a drop copy carry).</summary>
public static class FeedCapture
{
    /// <summary>
    /// Writes <paramref name="count"/> messages of the configured simulated venue (producer epoch
    /// <paramref name="epoch"/>) to <paramref name="path"/>, each framed by its 4-byte length, through a
    /// PipeWriter; returns the file's length.
    /// </summary>
    public static long Write(LlrConfig config, string path, long count, uint epoch)
    {
        ArgumentNullException.ThrowIfNull(config);
        var sim = new VenueSimulator(config.BuildWorkload(), config.Simulator.Seed, config.Simulator.ProducerId, stressStart: count * 4 / 10, stressLength: count / 5) { ProducerEpoch = epoch };
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16))
        {
            var writer = System.IO.Pipelines.PipeWriter.Create(file);
            var message = new byte[FeedMessageDescriptor.PayloadSize];
            for (long i = 0; i < count; i++)
            {
                Array.Clear(message);
                sim.Next(message, 0);
                FeedFrames.Write(writer.GetSpan(FeedFrames.FrameLength), message);
                writer.Advance(FeedFrames.FrameLength);
                if ((i & 1023) == 1023)
                {
                    writer.FlushAsync().AsTask().GetAwaiter().GetResult();
                }
            }

            writer.Complete();
        }

        return new FileInfo(path).Length;
    }
}
