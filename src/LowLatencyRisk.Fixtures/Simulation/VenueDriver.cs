using System.Diagnostics;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Fixtures.Simulation;

/// <summary>How far a <see cref="VenueDriver"/> has got (read from other threads).</summary>
public sealed class VenueProgress
{
    private long _published;

    /// <summary>Messages published so far.</summary>
    public long Published => Volatile.Read(ref _published);

    internal void Add(int count) => Volatile.Write(ref _published, _published + count);
}

/// <summary>
/// The simulated venue's publishing loop: messages at an offered rate (0 = as fast as the ring
/// takes them), each stamped and published as it is written — as a matching engine publishes each
/// fill as it happens — optionally with a breach reader polled in the same loop, so that the two
/// ends share one core as one duty cycle instead of taking turns through the OS scheduler.
/// </summary>
public static class VenueDriver
{
    private const int Batch = 64;

    /// <summary>
    /// Publishes until <paramref name="endTicks"/> (<see cref="Stopwatch"/> ticks), until
    /// <paramref name="limit"/> messages (0 = no limit) or until <paramref name="stop"/>; waiting for
    /// room gives up when stopped (a stopped engine must not hang its producer). Returns how many.
    /// </summary>
    public static long Run(MultiProducer producer, VenueSimulator simulator, double rate, long endTicks, IAgent? liquidator, VenueProgress progress,
        long limit = 0, CancellationToken stop = default)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(simulator);
        ArgumentNullException.ThrowIfNull(progress);
        var wait = new YieldingWait();
        long start = Stopwatch.GetTimestamp();
        double ticksPerEvent = rate > 0 ? Stopwatch.Frequency / rate : 0;
        long published = 0;
        while (Stopwatch.GetTimestamp() < endTicks && !stop.IsCancellationRequested && (limit == 0 || published < limit))
        {
            if (ticksPerEvent > 0)
            {
                // Paced: this batch is due when the offered rate says so; the reader works meanwhile.
                long due = start + (long)(published * ticksPerEvent);
                int spins = 0;
                while (Stopwatch.GetTimestamp() < due && !stop.IsCancellationRequested)
                {
                    if (liquidator is null || liquidator.DoWork() == 0)
                    {
                        wait.Idle(spins++); // a reader on another thread of this CPU gets it after a short spin
                    }
                }
            }

            int n = limit == 0 ? Batch : (int)Math.Min(Batch, limit - published);
            long first;
            int attempts = 0;
            while (!producer.TryClaim(n, out first))
            {
                if (stop.IsCancellationRequested)
                {
                    return published;
                }

                if (liquidator is null || liquidator.DoWork() == 0)
                {
                    wait.Idle(attempts++);
                }
            }

            for (int k = 0; k < n; k++)
            {
                simulator.Next(producer.Payload(first + k), MonotonicClock.Now());
                producer.Publish(first + k);
                liquidator?.DoWork();
            }

            published += n;
            progress.Add(n);
        }

        return published;
    }
}
