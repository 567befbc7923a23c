using BenchmarkDotNet.Attributes;
using LowLatencyRisk.Core.Gate;

namespace LowLatencyRisk.Benchmarks.Gate;

/// <summary>
/// Market-maker protection's bookkeeping per maker fill (the target: 15 ns): the account's
/// entry found among its four, the fill that left the interval expired, the new one added, three
/// limits compared. Fills arrive every 50 ms against a 5 s interval, so the window holds a steady
/// 100 fills and every fill expires one (the steady state of a busy market maker); the limits are
/// above what that adds up to, so nothing trips. <see cref="FrozenCheck"/> is what the gate adds to
/// a protected quote's check.
/// </summary>
[MemoryDiagnoser]
public class MarketMakerProtectionBenchmarks
{
    private const long Step = 50_000_000;
    private MarketMakerProtection _mmp = null!;
    private long _now;
    private double _side = 1;

    [GlobalSetup]
    public void Setup()
    {
        _mmp = new MarketMakerProtection(accounts: 1_024, capacity: 256, windowFills: 128);
        var settings = new MmpSettings(5_000_000_000, 100_000_000, 1e12, 1e12, 1e12);
        for (int u = 0; u < 4; u++)
        {
            _mmp.Configure(7, u, settings);
        }

        _now = 1_767_225_600_000_000_000;
        for (int k = 0; k < 200; k++)
        {
            MakerFill();
        }
    }

    /// <summary>One maker fill in underlying 0 (configured first, so the last of the account's four entries walked).</summary>
    [Benchmark]
    public MmpTrip MakerFill()
    {
        _now += Step;
        _side = -_side;
        return _mmp.OnMakerFill(7, 0, 2 * _side, _side, 30 * _side, _now, out _);
    }

    /// <summary>The gate's frozen check of a protected quote.</summary>
    [Benchmark]
    public bool FrozenCheck() => _mmp.IsFrozen(7, 0, _now);
}
