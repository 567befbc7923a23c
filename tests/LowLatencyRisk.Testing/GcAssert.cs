using Xunit.Sdk;

namespace LowLatencyRisk.Testing;

/// <summary>
/// Asserts that a piece of code allocates nothing on the managed heap, measured with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> (the ZeroLog <c>GcTester</c> approach).
/// </summary>
/// <remarks>
/// The action runs <c>warmUp</c> times, then on until the JIT has compiled nothing for
/// <see cref="QuietMilliseconds"/> (tiered compilation queues a method for its optimised tier a
/// while after its first calls and compiles it in the background; dynamic PGO adds an instrumented
/// tier before that), so that tiering, static constructors and lazily built tables are finished.
/// Then exactly one window of <c>iterations</c> calls is measured and must allocate nothing: a path
/// that allocates once in that many calls fails (an earlier version passed when any one of three
/// windows was clean, which let a rare allocation through).
/// </remarks>
public static class GcAssert
{
    /// <summary>How long the JIT must have been idle before the measured window starts.</summary>
    public const int QuietMilliseconds = 250;

    /// <summary>The longest the warm-up waits for the JIT to go quiet before measuring anyway.</summary>
    public const int MaxWarmUpMilliseconds = 10_000;

    /// <summary>Fails unless <paramref name="action"/> allocates zero bytes per call after warm-up.</summary>
    public static void NoAllocation(Action action, int warmUp = 2_000, int iterations = 20_000)
    {
        ArgumentNullException.ThrowIfNull(action);
        NoAllocation(action, static a => a(), warmUp, iterations);
    }

    /// <summary>Stateful overload: the state is passed through, so the caller needs no closure.</summary>
    public static void NoAllocation<TState>(TState state, Action<TState> action, int warmUp = 2_000, int iterations = 20_000)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentOutOfRangeException.ThrowIfNegative(warmUp);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);

        for (var i = 0; i < warmUp; i++)
        {
            action(state);
        }

        WarmUntilJitQuiet(state, action, Math.Max(1, iterations / 100));
        long delta = Measure(state, action, iterations);
        if (delta != 0)
        {
            throw new XunitException(
                $"Expected no allocation, but {delta} bytes were allocated over {iterations} iterations " +
                $"(about {(double)delta / iterations:F2} bytes per call) after the warm-up.");
        }
    }

    private static void WarmUntilJitQuiet<TState>(TState state, Action<TState> action, int chunk)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        long quietSince = 0;
        while (clock.ElapsedMilliseconds - quietSince < QuietMilliseconds && clock.ElapsedMilliseconds < MaxWarmUpMilliseconds)
        {
            for (var i = 0; i < chunk; i++)
            {
                action(state);
            }

            long now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != compiled)
            {
                compiled = now;
                quietSince = clock.ElapsedMilliseconds;
            }
        }
    }

    /// <summary>Bytes allocated on this thread by <paramref name="iterations"/> calls.</summary>
    public static long Measure<TState>(TState state, Action<TState> action, int iterations)
    {
        ArgumentNullException.ThrowIfNull(action);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < iterations; i++)
        {
            action(state);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
