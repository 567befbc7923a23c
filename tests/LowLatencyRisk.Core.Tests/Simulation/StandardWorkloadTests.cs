using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Fixtures;

namespace LowLatencyRisk.Core.Tests.Simulation;

public class StandardWorkloadTests
{
    [Fact]
    public void Build_Small_HasTheShapeAndIsDeterministic()
    {
        var a = StandardWorkload.Build(WorkloadScale.Small);
        var b = StandardWorkload.Build(WorkloadScale.Small);
        Assert.Equal(2 * (1 + 2 + (3 * 5 * 2)), a.InstrumentCount);
        double totalIm = 0;
        for (int acct = 0; acct < 200; acct++)
        {
            Assert.InRange(a.Book.PositionCount(acct), 1, a.Book.Config.MaxPositionsPerAccount);
            Assert.Equal(a.Book.InitialMargin(acct), b.Book.InitialMargin(acct));
            Assert.Equal(a.Book.Equity(acct), b.Book.Equity(acct));
            totalIm += a.Book.InitialMargin(acct);
        }

        Assert.True(totalIm > 0);
    }

    [Fact]
    public void FullScale_Shape_MatchesTheDesign()
    {
        var scale = new WorkloadScale { Accounts = 50 };
        var w = StandardWorkload.Build(scale);
        Assert.Equal(4 * 205, w.InstrumentCount);
        double mean = Enumerable.Range(0, 50).Average(a => w.Book.PositionCount(a));
        Assert.InRange(mean, 12, 24);
    }

    [Fact]
    public void Build_Small_EveryAccountMatchesRecomputation()
    {
        var w = StandardWorkload.Build(WorkloadScale.Small);
        for (int acct = 0; acct < 200; acct++)
        {
            var r = RiskBookVerifier.Recompute(w.Book, acct);
            Assert.Equal(r.InitialMargin, w.Book.InitialMargin(acct), 6);
            Assert.Equal(r.Equity, w.Book.Equity(acct), 6);
        }
    }
}
