using LowLatencyRisk.Testing;

namespace LowLatencyRisk.Ipc.Tests;

/// <summary>The duty-cycle runner every polling thread uses.</summary>
public sealed class AgentTests
{
    /// <summary>Does work on the cycles listed, none on the others; done after <c>Cycles</c>.</summary>
    private sealed class Scripted(int cycles, Func<int, int> work) : IAgent
    {
        public int Calls;

        public string RoleName => "scripted";

        public int DoWork() => work(Calls++);

        public bool IsDone => Calls >= cycles;
    }

    private struct CountingIdle(int[] idles, List<int> iterations) : IWaitStrategy
    {
        public readonly void Idle(int iteration)
        {
            idles[0]++;
            iterations.Add(iteration);
        }
    }

    [Fact]
    public void Run_IdlesOnlyAfterCyclesWithoutWork_AndRestartsTheCountAfterWork()
    {
        // Work on cycles 0 and 3; none on 1, 2, 4, 5.
        var agent = new Scripted(6, c => c is 0 or 3 ? 5 : 0);
        int[] idles = [0];
        var iterations = new List<int>();
        AgentRunner.Run(agent, new CountingIdle(idles, iterations), CancellationToken.None);
        Assert.Equal(6, agent.Calls);
        Assert.Equal(4, idles[0]);
        Assert.Equal([0, 1, 0, 1], iterations); // the idle count restarts after a cycle that did work
    }

    [Fact]
    public void Run_StopsWhenCancelled()
    {
        using var stop = new CancellationTokenSource();
        var agent = new Scripted(int.MaxValue, c =>
        {
            if (c == 1_000)
            {
                stop.Cancel();
            }

            return 1;
        });
        AgentRunner.Run(agent, new BusySpinWait(), stop.Token);
        Assert.Equal(1_001, agent.Calls);
    }

    [Fact]
    public void Composite_SumsWork_AndStopsWhenAnyIsDone()
    {
        var a = new Scripted(10, _ => 1);
        var b = new Scripted(int.MaxValue, _ => 2);
        var both = new CompositeAgent(a, b);
        Assert.Equal("scripted+scripted", both.RoleName);
        Assert.Equal(3, both.DoWork());
        AgentRunner.Run(both, new BusySpinWait(), CancellationToken.None);
        Assert.Equal((10, 10), (a.Calls, b.Calls)); // one thread: they stop together
        Assert.Throws<ArgumentException>(() => new CompositeAgent());
    }

    [Fact]
    public void DrainUntilIdle_RunsUntilACycleDoesNothing()
    {
        var agent = new Scripted(int.MaxValue, c => c < 7 ? 1 : 0);
        Assert.Equal(7, AgentRunner.DrainUntilIdle(agent));
        Assert.Equal(8, agent.Calls);
    }

    [Fact]
    public void Start_NamesTheThread_WarmsUp_Drains_AndKeepsAFailure()
    {
        using var stop = new CancellationTokenSource();
        string? name = null;
        int pending = 3;
        var agent = new Scripted(int.MaxValue, c =>
        {
            name ??= Thread.CurrentThread.Name;
            return stop.IsCancellationRequested && pending > 0 ? pending-- : 0; // work that shows up only after the stop
        });
        var handle = AgentRunner.Start(agent, new YieldingWait(), stop.Token, cpu: -1, warmupCycles: 100);
        while (agent.Calls < 200)
        {
            Thread.Yield();
        }

        stop.Cancel();
        Assert.True(handle.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal("llr-scripted", name);
        Assert.Equal(0, pending); // drained after the stop
        Assert.Null(handle.Failure);

        var failing = AgentRunner.Start(new Scripted(int.MaxValue, c => c == 5 ? throw new InvalidOperationException("boom") : 0), new BusySpinWait(), CancellationToken.None);
        Assert.True(failing.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal("boom", failing.Failure?.Message);
    }

    private sealed class Counter : IAgent
    {
        public long Work;

        public string RoleName => "counter";

        public int DoWork() => (int)(++Work & 1);

        public bool IsDone => (Work & 0xFFF) == 0;
    }

    [Fact]
    public void Run_AllocatesNothing()
    {
        var agent = new Counter();
        GcAssert.NoAllocation(agent, a =>
        {
            a.Work++;
            AgentRunner.Run(a, new BusySpinWait(), CancellationToken.None);
        }, warmUp: 200, iterations: 2_000);
        Assert.True(agent.Work > 2_000 * 4_000);
    }

    private struct StructAgent : IAgent
    {
        public long Work;

        public readonly string RoleName => "struct";

        public int DoWork() => (int)(++Work & 1);

        public readonly bool IsDone => (Work & 0xFFF) == 0;
    }

    [Fact]
    public void Run_ByReference_KeepsAStructAgentsState_AndAllocatesNothing()
    {
        var agent = new StructAgent { Work = 1 };
        AgentRunner.Run(ref agent, new BusySpinWait(), CancellationToken.None);
        Assert.Equal(4096, agent.Work); // mutated in the caller's variable, not a copy
        var holder = new StructAgent[1];
        GcAssert.NoAllocation(holder, h =>
        {
            h[0].Work++;
            AgentRunner.Run(ref h[0], new BusySpinWait(), CancellationToken.None);
        }, warmUp: 200, iterations: 2_000);
    }
}
