using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Engine.Configuration;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Fixtures.Simulation;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Fixtures;

/// <summary>The generated book (the standard workload of the <c>workload</c> section), as a book source of the engine.</summary>
public sealed class GeneratedBookSource : IBookSource
{
    /// <summary>The one instance.</summary>
    public static GeneratedBookSource Instance { get; } = new();

    /// <inheritdoc/>
    public RiskBook Build(LlrConfig config) => config.BuildWorkload().Book;
}

/// <summary>The configuration's book and workload, for the commands, tests and perf.</summary>
public static class BookSources
{
    /// <summary>The configured source: <c>book.file</c> when set, else the generator.</summary>
    public static IBookSource For(LlrConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Book.File is null ? GeneratedBookSource.Instance : new FileBookSource();
    }

    /// <summary>The configured starting book (see <see cref="For"/>).</summary>
    public static RiskBook BuildBook(this LlrConfig config) => For(config).Build(config);

    /// <summary>The workload scale of the <c>workload</c> section.</summary>
    public static WorkloadScale ToScale(this LlrConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var w = config.Workload;
        return new()
        {
            Underlyings = w.Underlyings,
            Futures = w.Futures,
            Expiries = w.Expiries,
            Strikes = w.Strikes,
            Accounts = w.Accounts,
            PositionsPerAccount = w.PositionsPerAccount,
            MaxPositionsPerAccount = w.MaxPositionsPerAccount,
            Seed = w.Seed,
        };
    }

    /// <summary>Builds the generated book as configured (the standard workload generator with the configuration's grid, margin parameters and haircuts).</summary>
    public static StandardWorkload BuildWorkload(this LlrConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        // The grid is Apply's (built once, by the book's underlyings: a historical one reads its history once).
        var w = StandardWorkload.Build(config.ToScale(), null, config.Apply, config.ToHaircuts());
        if (config.Workload.CollateralToMargin > 0)
        {
            w.SetCollateralToMargin(config.Workload.CollateralToMargin);
        }

        return w;
    }

    /// <summary>Opens the engine service on the configured book source.</summary>
    public static EngineService OpenEngine(this LlrConfig config) => EngineService.Open(config, For(config));
}

/// <summary>The engine's warm-up before it goes live.</summary>
public static class EngineWarmup
{
    /// <summary>
    /// Runs <paramref name="messages"/> simulated messages through a scratch engine on a small book
    /// and in-process rings, so the hot methods are compiled at their final tier before the live
    /// feed arrives. The live book is not touched.
    /// </summary>
    public static void Run(LlrConfig config, int messages)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (messages <= 0)
        {
            return;
        }

        var scale = WorkloadScale.Small with { Seed = config.Workload.Seed };
        var book = StandardWorkload.Build(scale, null, config.Apply, config.ToHaircuts());
        var shadow = StandardWorkload.Build(scale, null, config.Apply, config.ToHaircuts());
        using var feed = SharedRing.CreateInProcess(new RingOptions(FeedMessageDescriptor.SlotSize, 4096, ProducerMode.Multi));
        using var breach = SharedRing.CreateInProcess(new RingOptions(BreachMessageDescriptor.SlotSize, 1 << 16, ProducerMode.Single));
        var engine = new RiskEngine(book.Book, new PreTradeGate(book.Book, config.ToGateConfig()), feed.CreateConsumer(0), breach.CreateSingleProducer(), liquidation: config.ToLiquidationOptions());
        var liquidator = new Liquidator(breach.CreateConsumer(0));
        var producer = feed.CreateMultiProducer();
        var sim = new VenueSimulator(shadow, seed: 1, producerId: 1, stressStart: messages / 3, stressLength: messages / 3);
        for (int sent = 0; sent < messages; sent += 256)
        {
            long first;
            while (!producer.TryClaim(256, out first))
            {
                engine.PollOnce();
                liquidator.Poll();
            }

            long now = MonotonicClock.Now();
            for (int k = 0; k < 256; k++)
            {
                sim.Next(producer.Payload(first + k), now);
                producer.Publish(first + k);
            }
        }

        while (engine.PollOnce() > 0 || engine.HasPendingMarks)
        {
            liquidator.Poll();
        }
    }
}
