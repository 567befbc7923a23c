using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace LowLatencyRisk.Ipc;

/// <summary>
/// What a producer or consumer does while it waits for the other side. Implemented by structs and
/// passed as a generic argument, so the call inlines and a busy-spin costs no call at all.
/// </summary>
public interface IWaitStrategy
{
    /// <summary>Waits once. <paramref name="iteration"/> counts the waits of this episode, from 0.</summary>
    void Idle(int iteration);
}

/// <summary>Spins with the CPU's pause hint: lowest latency, one core burnt per waiter.</summary>
public struct BusySpinWait : IWaitStrategy
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Idle(int iteration)
    {
        if (X86Base.IsSupported)
        {
            X86Base.Pause();
        }
        else
        {
            Thread.SpinWait(1);
        }
    }
}

/// <summary>Spins for a while, then yields the core to any other ready thread.</summary>
public struct YieldingWait : IWaitStrategy
{
    /// <summary>Spins before the first yield.</summary>
    public const int SpinIterations = 100;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Idle(int iteration)
    {
        if (iteration < SpinIterations)
        {
            new BusySpinWait().Idle(iteration);
        }
        else
        {
            Thread.Yield();
        }
    }
}

/// <summary>Spins, then yields, then sleeps: little CPU when idle, at the price of wake-up latency.</summary>
public struct SleepingWait : IWaitStrategy
{
    /// <summary>Spins, then yields until this many iterations, then sleeps 1 ms at a time.</summary>
    public const int YieldUntil = 200;

    /// <inheritdoc/>
    public readonly void Idle(int iteration)
    {
        if (iteration < YieldingWait.SpinIterations)
        {
            new BusySpinWait().Idle(iteration);
        }
        else if (iteration < YieldUntil)
        {
            Thread.Yield();
        }
        else
        {
            Thread.Sleep(1);
        }
    }
}

/// <summary>Receives consumed messages; a struct handler is called without a virtual call.</summary>
public interface IRingHandler
{
    /// <summary>One published message. The span is valid only during the call.</summary>
    void OnMessage(long sequence, ReadOnlySpan<byte> payload);
}

/// <summary>A consumer's handler that may refuse a message (see <see cref="RingConsumer.PollWhile"/>).</summary>
public interface IRingHandlerWhile
{
    /// <summary>One published message; false leaves it (and everything after it) in the ring, unconsumed. The span is valid only during the call.</summary>
    bool OnMessage(long sequence, ReadOnlySpan<byte> payload);
}
