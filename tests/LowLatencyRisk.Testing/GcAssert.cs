using Xunit.Sdk;

namespace LowLatencyRisk.Testing;

/// <summary>
/// Asserts that a piece of code allocates nothing on the managed heap, measured with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> (the ZeroLog <c>GcTester</c> approach).
/// </summary>
/// <remarks>
/// The action runs <c>warmUp</c> times first so that JIT tiering, static constructors and lazily
/// built tables are out of the way, then <c>iterations</c> times under measurement. A measured
/// window can be disturbed once by the runtime itself (for example a tier-up installing code on
/// this thread), so up to <see cref="Attempts"/> windows are measured and the assertion fails only
/// if every window allocated: code that allocates on its path allocates in every window.
/// </remarks>
public static class GcAssert
{
    /// <summary>How many measured windows are tried before the assertion fails.</summary>
    public const int Attempts = 3;

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

        long smallest = long.MaxValue;
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            long delta = Measure(state, action, iterations);
            if (delta == 0)
            {
                return;
            }

            smallest = Math.Min(smallest, delta);
        }

        throw new XunitException(
            $"Expected no allocation, but {smallest} bytes were allocated over {iterations} iterations " +
            $"(about {(double)smallest / iterations:F1} bytes per call) in each of {Attempts} measured windows.");
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
