using System.Runtime.CompilerServices;

namespace LowLatencyRisk.Ipc;

/// <summary>
/// A unit of work that one thread drives in a duty cycle (after Agrona's <c>Agent</c>): each call of
/// <see cref="DoWork"/> does what is ready and says how much; the runner idles when it says none.
/// An agent owns its state and is called from one thread only.
/// </summary>
public interface IAgent
{
    /// <summary>A short name for thread names and messages.</summary>
    string RoleName { get; }

    /// <summary>Does what is ready; returns how much (0 = nothing was ready: the runner may idle).</summary>
    int DoWork();

    /// <summary>True when the agent has finished (or halted) and the runner should stop calling it.</summary>
    bool IsDone { get; }
}

/// <summary>Several agents sharing one thread: each cycle calls every agent once and sums their work.</summary>
/// <param name="agents">The agents, called in this order.</param>
public sealed class CompositeAgent(params IAgent[] agents) : IAgent
{
    private readonly IAgent[] _agents = agents.Length > 0 ? agents : throw new ArgumentException("no agents", nameof(agents));

    /// <inheritdoc/>
    public string RoleName { get; } = string.Join("+", agents.Select(a => a.RoleName));

    /// <inheritdoc/>
    public int DoWork()
    {
        int work = 0;
        foreach (var agent in _agents)
        {
            work += agent.DoWork();
        }

        return work;
    }

    /// <summary>True when any agent is done: they share the thread, so they stop together.</summary>
    public bool IsDone
    {
        get
        {
            foreach (var agent in _agents)
            {
                if (agent.IsDone)
                {
                    return true;
                }
            }

            return false;
        }
    }
}

/// <summary>
/// Drives an agent's duty cycle: pinning, warm-up, the idle strategy, stop and the clean end, in one
/// place for every polling thread of the product (engine, liquidator, gate service, test peers).
/// </summary>
public static class AgentRunner
{
    /// <summary>
    /// Runs <paramref name="agent"/> on the calling thread until <paramref name="stop"/> is cancelled
    /// or the agent is done, idling with <typeparamref name="TIdle"/> after cycles that did nothing.
    /// The idle count restarts after every cycle that did work. Allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // entered once, loops for the run: no tier-0 code or on-stack replacement under live traffic
    public static void Run<TAgent, TIdle>(TAgent agent, TIdle idle, CancellationToken stop)
        where TAgent : IAgent
        where TIdle : struct, IWaitStrategy
    {
        ArgumentNullException.ThrowIfNull(agent);
        Run(ref agent, idle, stop);
    }

    /// <summary>
    /// As <see cref="Run{TAgent, TIdle}(TAgent, TIdle, CancellationToken)"/> for an agent held by
    /// reference: a struct agent is specialized by the JIT (its <see cref="IAgent.DoWork"/> called
    /// directly, no interface dispatch per cycle) and keeps its state in the caller's variable.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TAgent, TIdle>(ref TAgent agent, TIdle idle, CancellationToken stop)
        where TAgent : IAgent
        where TIdle : struct, IWaitStrategy
    {
        int idleCount = 0;
        while (!stop.IsCancellationRequested && !agent.IsDone)
        {
            if (agent.DoWork() > 0)
            {
                idleCount = 0;
            }
            else
            {
                idle.Idle(idleCount++);
            }
        }
    }

    /// <summary>Runs cycles until one does no work (or the agent is done): the drain after a stop. Returns the work done.</summary>
    public static long DrainUntilIdle<TAgent>(TAgent agent) where TAgent : IAgent
    {
        ArgumentNullException.ThrowIfNull(agent);
        long total = 0;
        int n;
        while (!agent.IsDone && (n = agent.DoWork()) > 0)
        {
            total += n;
        }

        return total;
    }

    /// <summary>Runs <paramref name="warmupCycles"/> cycles (bringing the methods they call to their final tier) without idling.</summary>
    public static void Warm<TAgent>(TAgent agent, int warmupCycles) where TAgent : IAgent
    {
        ArgumentNullException.ThrowIfNull(agent);
        for (int i = 0; i < warmupCycles && !agent.IsDone; i++)
        {
            agent.DoWork();
        }
    }

    /// <summary>
    /// Starts a thread named after the agent that pins itself to <paramref name="cpu"/> (−1: no pin),
    /// runs <paramref name="warmupCycles"/>, then the duty cycle with <paramref name="idle"/> until
    /// <paramref name="stop"/>, then drains until idle. An exception ends the thread and is kept in
    /// <see cref="AgentThread.Failure"/> rather than taking the process down unreported.
    /// </summary>
    public static AgentThread Start<TIdle>(IAgent agent, TIdle idle, CancellationToken stop, int cpu = -1, int warmupCycles = 0)
        where TIdle : struct, IWaitStrategy
    {
        ArgumentNullException.ThrowIfNull(agent);
        var handle = new AgentThread(agent);
        var thread = new Thread(() =>
        {
            try
            {
                handle.Pinned = cpu >= 0 && Native.CpuAffinity.TryPinCurrentThread(cpu);
                Warm(agent, warmupCycles);
                Run(agent, idle, stop);
                DrainUntilIdle(agent);
            }
#pragma warning disable CA1031 // the failure is handed to the owner, who reports it
            catch (Exception e)
#pragma warning restore CA1031
            {
                handle.Failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "llr-" + agent.RoleName,
        };
        handle.Thread = thread;
        thread.Start();
        return handle;
    }
}

/// <summary>A started agent's thread.</summary>
public sealed class AgentThread
{
    internal AgentThread(IAgent agent) => Agent = agent;

    /// <summary>The agent.</summary>
    public IAgent Agent { get; }

    /// <summary>The thread (set before it starts).</summary>
    public Thread Thread { get; internal set; } = null!;

    /// <summary>True if the thread pinned itself to the requested CPU.</summary>
    public bool Pinned { get; internal set; }

    /// <summary>The exception that ended the agent, or null.</summary>
    public Exception? Failure { get; internal set; }

    /// <summary>Waits for the thread to end; false on timeout.</summary>
    public bool Join(TimeSpan timeout) => Thread.Join(timeout);
}
