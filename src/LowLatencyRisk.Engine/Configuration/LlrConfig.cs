using System.Text.Json;
using System.Text.Json.Serialization;
using LowLatencyRisk.Core.Book;
using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Engine.Configuration;

/// <summary>
/// The one configuration file of <c>llr engine</c>, <c>llr simulate</c> and <c>llr liquidator</c>:
/// the instrument generator, scenario grid, margin parameters, haircuts, limits, ring paths and
/// sizes, wait strategies and CPU affinity. Every field has a default, so <c>{}</c> is a valid file
/// (the standard workload on /dev/shm).
/// </summary>
/// <remarks>
/// <see cref="Load"/> rejects unknown fields (a misspelt field must not silently fall back to a
/// default) and then checks every value; all problems are reported at once, each naming the field
/// by its JSON path. Nothing is started from an invalid file.
/// </remarks>
public sealed class LlrConfig
{
    /// <summary>The instrument and account generator (the standard workload, scaled): the book unless <see cref="Book"/> names a file.</summary>
    public WorkloadSection Workload { get; init; } = new();

    /// <summary>Where the engine's starting book comes from: the generator (default) or a venue's file.</summary>
    public BookSection Book { get; init; } = new();

    /// <summary>The scenario grid.</summary>
    public GridSection ScenarioGrid { get; init; } = new();

    /// <summary>Margin parameters.</summary>
    public MarginSection Margin { get; init; } = new();

    /// <summary>Haircut tiers of the coin collateral asset (asset 1, priced by underlying 0's index).</summary>
    public HaircutTierSection[] Haircuts { get; init; } = [new() { UpTo = 1_000_000, Haircut = 0.10 }, new() { UpTo = 1e18, Haircut = 0.25 }];

    /// <summary>Pre-trade limits (defaults for every instrument and account).</summary>
    public LimitsSection Limits { get; init; } = new();

    /// <summary>Ring files and sizes.</summary>
    public RingsSection Rings { get; init; } = new();

    /// <summary>The engine process.</summary>
    public EngineSection Engine { get; init; } = new();

    /// <summary>Durability: the journal of consumed feed messages.</summary>
    public JournalSection Journal { get; init; } = new();

    /// <summary>The order-check rings <c>llr engine</c> serves (the out-of-process pre-trade gate).</summary>
    public GateSection Gate { get; init; } = new();

    /// <summary>The simulated venue (<c>llr simulate</c>).</summary>
    public SimulatorSection Simulator { get; init; } = new();

    /// <summary>The liquidator (<c>llr liquidator</c>).</summary>
    public ProcessSection Liquidator { get; init; } = new() { Cpu = 0, Wait = WaitKind.Yielding };

    /// <summary>How the engine sizes liquidation orders and the liquidator sends them.</summary>
    public LiquidationSection Liquidation { get; init; } = new();

    /// <summary>Which accounts this engine owns when the venue runs several (one shard by default).</summary>
    public ShardsSection Shards { get; init; } = new();

    /// <summary>The JetStream server, streams and subjects <c>llr bridge</c> moves messages over (between machines).</summary>
    public JetStreamSection JetStream { get; init; } = new();

    /// <summary>Risk summaries out: the engine's per-account summaries on a ring of their own, for <c>llr bridge shard</c> to publish.</summary>
    public SummariesSection Summaries { get; init; } = new();

    /// <summary>Firms: accounts whose credit is limited together, across shards (<c>llr aggregate</c> moves each account's share).</summary>
    public FirmSection[] Firms { get; init; } = [];

    /// <summary>The firm-limit aggregator (<c>llr aggregate</c>).</summary>
    public AggregatorSection Aggregator { get; init; } = new();

    /// <summary>Serializer settings: camelCase, comments and trailing commas allowed, unknown fields refused, enums by name.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
    };

    /// <summary>Reads and validates <paramref name="path"/>; throws <see cref="ConfigException"/> listing every problem.</summary>
    public static LlrConfig Load(string path)
    {
        if (Directory.Exists(path))
        {
            throw new ConfigException(path, ["is a folder, not a configuration file"]);
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, [$"cannot read the file: {e.Message}"]);
        }

        return Parse(text, path);
    }

    /// <summary>Parses and validates JSON text; <paramref name="source"/> names it in errors.</summary>
    public static LlrConfig Parse(string json, string source = "config")
    {
        // Every duplicate key, unknown field, wrong type and bad enum name at once (the serializer
        // alone stops at the first and lets a repeated key replace the earlier one silently).
        var shape = JsonShape.Check<LlrConfig>(json);
        if (shape.Count > 0)
        {
            throw new ConfigException(source, shape);
        }

        LlrConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<LlrConfig>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new ConfigException(source, [Describe(e)]);
        }

        if (config is null)
        {
            throw new ConfigException(source, ["$: the file holds null, not an object"]);
        }

        var errors = config.Validate();
        return errors.Count > 0 ? throw new ConfigException(source, errors) : config;
    }

    /// <summary>A JSON error as "path: problem", without the serializer's type names.</summary>
    public static string Describe(JsonException e)
    {
        string path = string.IsNullOrEmpty(e.Path) ? "$" : e.Path;
        string message = e.Message;
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            int q1 = message.IndexOf('\'', StringComparison.Ordinal);
            int q2 = q1 >= 0 ? message.IndexOf('\'', q1 + 1) : -1;
            string name = q2 > q1 ? message[(q1 + 1)..q2] : "?";
            return $"{path}: unknown field '{name}' (fields are camelCase; see README, Configuration)";
        }

        if (message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return $"{path}: wrong type or value for this field";
        }

        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return $"{path}: {(cut > 0 ? message[..cut] : message)}";
    }

    /// <summary>Every problem, each as "json.path: what is wrong"; empty when valid.</summary>
    public List<string> Validate()
    {
        var e = new List<string>();
        void Check(bool ok, string field, string problem)
        {
            if (!ok)
            {
                e.Add($"{field}: {problem}");
            }
        }

        // A section whose Core record validates itself: its first invalid field, by path ("null" means left null).
        void CheckSection(Action? validate, string at, string whenNull)
        {
            if (validate is null)
            {
                Check(false, at, $"is null; {whenNull}");
                return;
            }

            try
            {
                validate();
            }
            catch (ArgumentException invalid)
            {
                string name = invalid.ParamName ?? "";
                string why = invalid.Message.Split(" (Parameter", 2)[0];
                why = why.StartsWith(name, StringComparison.Ordinal) ? why[name.Length..].TrimStart(':', ' ') : why;
                Check(false, name.Length > 0 ? $"{at}.{char.ToLowerInvariant(name[0])}{name[1..]}" : at, why);
            }
        }

        if (Book is null || Workload is null || ScenarioGrid is null || Margin is null || Haircuts is null || Limits is null || Rings is null || Engine is null || Simulator is null || Liquidator is null || Journal is null || Gate is null || Liquidation is null || Shards is null || JetStream is null || Summaries is null || Firms is null || Aggregator is null)
        {
            e.Add("$: a section is null; omit it to take its defaults");
            return e;
        }

        Check(Book.File is null || !string.IsNullOrWhiteSpace(Book.File), "book.file", "is empty; omit it to use the generated book");
        Check(Book.SpareInstruments is >= 0 and <= 1 << 20, "book.spareInstruments", $"{Book.SpareInstruments} is not in 0..1048576");
        Check(Book.MaxPositionsPerAccount is > 0 and <= LowLatencyRisk.Engine.Margin.PortfolioMargin.MaxPositionsPerAccount, "book.maxPositionsPerAccount", $"{Book.MaxPositionsPerAccount} is not in 1..{LowLatencyRisk.Engine.Margin.PortfolioMargin.MaxPositionsPerAccount}");
        var w = Workload;
        Check(w.Underlyings is > 0 and <= 64, "workload.underlyings", $"{w.Underlyings} is not in 1..64");
        Check(w.Futures is >= 0 and <= 16, "workload.futures", $"{w.Futures} is not in 0..16");
        Check(w.Expiries is > 0 and <= 24, "workload.expiries", $"{w.Expiries} is not in 1..24");
        Check(w.Strikes is > 0 and <= 50, "workload.strikes", $"{w.Strikes} is not in 1..50");
        Check(w.Accounts is > 0 and <= 1_000_000, "workload.accounts", $"{w.Accounts} is not in 1..1000000");
        Check(w.PositionsPerAccount is > 0 and <= 256, "workload.positionsPerAccount", $"{w.PositionsPerAccount} is not in 1..256");
        Check(w.MaxPositionsPerAccount == 0 || w.MaxPositionsPerAccount >= w.PositionsPerAccount, "workload.maxPositionsPerAccount",
            "must be 0 (automatic) or at least positionsPerAccount");

        Check(w.CollateralToMargin >= 0 && double.IsFinite(w.CollateralToMargin), "workload.collateralToMargin", "must be 0 (the generator's collateral) or a positive ratio of equity to initial margin");

        var g = ScenarioGrid;
        Check(g.PriceScanRange is > 0 and < 1, "scenarioGrid.priceScanRange", $"{g.PriceScanRange} is not in (0, 1)");
        Check(g.VolScanRange is > 0 and < 5, "scenarioGrid.volScanRange", $"{g.VolScanRange} is not in (0, 5)");
        Check(g.ExtremeMultiplier is >= 1 and <= 10, "scenarioGrid.extremeMultiplier", $"{g.ExtremeMultiplier} is not in [1, 10]");
        Check(g.CoverFraction is > 0 and <= 1, "scenarioGrid.coverFraction", $"{g.CoverFraction} is not in (0, 1]");
        Check(g.Steps is >= 2 and <= 41, "scenarioGrid.steps", $"{g.Steps} is not in 2..41");
        CheckSection(g.CryptoPortfolio is null ? null : g.CryptoPortfolio.Validate, "scenarioGrid.cryptoPortfolio", "leave it out for the published BTC parameters");

        var hg = g.Historical;
        Check(hg is not null, "scenarioGrid.historical", "is null; leave it out for the defaults");
        if (hg is not null)
        {
            Check(hg.History is null || !string.IsNullOrWhiteSpace(hg.History), "scenarioGrid.historical.history", "is empty; leave it out for a synthetic history");
            Check(hg.HorizonDays is >= 1 and <= 250, "scenarioGrid.historical.horizonDays", $"{hg.HorizonDays} is not in 1..250");
            Check(hg.Lambda is > 0 and < 1, "scenarioGrid.historical.lambda", $"{hg.Lambda} is not in (0, 1)");
            Check(hg.Confidence is >= 0.9 and < 1, "scenarioGrid.historical.confidence", $"{hg.Confidence} is not in [0.9, 1)");
            Check(hg.Scenarios is >= 20 and <= Core.Risk.ScenarioGrid.MaxHistoricalScenarios, "scenarioGrid.historical.scenarios", $"{hg.Scenarios} is not in 20..{Core.Risk.ScenarioGrid.MaxHistoricalScenarios}");
            Check(hg.SyntheticSeed >= 0, "scenarioGrid.historical.syntheticSeed", $"{hg.SyntheticSeed} is negative");
            const int maxDays = global::LowLatencyRisk.Engine.Margin.PriceHistory.MaxDays;
            Check(hg.SyntheticDays >= hg.Scenarios + hg.HorizonDays && hg.SyntheticDays <= maxDays, "scenarioGrid.historical.syntheticDays",
                $"{hg.SyntheticDays} is not in {hg.Scenarios + hg.HorizonDays}..{maxDays} (scenarios + horizonDays dates at least)");
            Check(g.Preset != GridPreset.Historical || Margin.Components is not { } c || (c.IntraCommodity is not { Length: > 0 } && c.InterCommodity is not { Length: > 0 } && c.SizeAddOns is not { Length: > 0 }), "margin.components",
                "are SPAN's additions to a worst-row scan; the historical preset margins by expected shortfall of the joint sample and takes none");
        }

        Check(g.Preset != GridPreset.CmeSpan16 || !(g.PriceScanRange * g.ExtremeMultiplier >= 1), "scenarioGrid",
            $"priceScanRange × extremeMultiplier = {g.PriceScanRange * g.ExtremeMultiplier:G4} must be below 1 (the extreme scenario would take the price to zero or below)");

        var m = Margin;
        CheckSection(m.DynamicRange is null ? null : m.DynamicRange.Validate, "margin.dynamicRange", "leave it out for none");
        Check(m.DynamicRange is null || m.DynamicRange.SeedHistory is null || m.DynamicRange.Enabled, "margin.dynamicRange.seedHistory",
            "applies only with \"enabled\": true (the range it would seed is off)");

        Check(m.MaintenanceFraction is > 0 and <= 1, "margin.maintenanceFraction", $"{m.MaintenanceFraction} is not in (0, 1]");
        Check(double.IsFinite(m.Rate) && Math.Abs(m.Rate) < 1, "margin.rate", $"{m.Rate} is not a rate below 100 %");
        Check(m.ShortOptionMinimumFraction is >= 0 and < 1, "margin.shortOptionMinimumFraction", $"{m.ShortOptionMinimumFraction} is not in [0, 1)");
        Check(m.Hysteresis is >= 0 and < 1, "margin.hysteresis", $"{m.Hysteresis} is not in [0, 1)");
        Check(m.IndexBand is > 0 and <= 10, "margin.indexBand", $"{m.IndexBand} is not in (0, 10]");
        Check(m.VolBand is > 0 and <= 10, "margin.volBand", $"{m.VolBand} is not in (0, 10]");
        Check(m.StaleAfterSeconds > 0 && double.IsFinite(m.StaleAfterSeconds), "margin.staleAfterSeconds", "must be positive");
        Check(m.MaxPrice is > 0 and <= 1e15, "margin.maxPrice", $"{m.MaxPrice} is not in (0, 1e15]");
        Check(m.MaxQuantity is > 0 and <= 1e15, "margin.maxQuantity", $"{m.MaxQuantity} is not in (0, 1e15]");
        Check(m.MaxNotional is > 0 and <= 1e18, "margin.maxNotional", $"{m.MaxNotional} is not in (0, 1e18]");
        Check(m.MaxCollateralValue is > 0 and <= 1e18, "margin.maxCollateralValue", $"{m.MaxCollateralValue} is not in (0, 1e18]");
        Check(m.MaxCollateralUnits is > 0 and <= 1e18, "margin.maxCollateralUnits", $"{m.MaxCollateralUnits} is not in (0, 1e18]");
        Check(m.MaxMultiplier is > 0 and <= 1e12, "margin.maxMultiplier", $"{m.MaxMultiplier} is not in (0, 1e12]");

        Check(m.DefaultMode is MarginMode.Portfolio or MarginMode.Standard, "margin.defaultMode", "must be portfolio or standard (an isolated account needs a parent and an instrument: the MarginMode feed message)");
        if (m.Standard is null || m.Standard.Tiers is null || m.Standard.Tiers.Any(t => t is null))
        {
            Check(false, "margin.standard", "needs tiers, each { upToNotional, initial, maintenance }");
        }
        else
        {
            try
            {
                m.Standard.ToConfig().Validate();
            }
            catch (ArgumentException invalid)
            {
                Check(false, "margin.standard", invalid.Message.Split(" (Parameter", 2)[0]);
            }
        }

        double last = 0;
        for (int i = 0; i < Haircuts.Length; i++)
        {
            var t = Haircuts[i];
            Check(t is not null && t.UpTo > last, $"haircuts[{i}].upTo", "tiers need increasing, positive upTo values");
            Check(t is not null && t.Haircut is >= 0 and <= 1, $"haircuts[{i}].haircut", "must be in [0, 1]");
            last = t?.UpTo ?? last;
        }

        Check(Haircuts.Length > 0, "haircuts", "at least one tier");
        try
        {
            ToGateConfig().Validate();
        }
        catch (ArgumentException x)
        {
            // The file's name of the field (the day's start is given in hours there).
            string field = x.ParamName == nameof(GateConfig.DayStartOffsetNanos) ? "dayStartOffsetHours: must be in [0, 24)" : $"{JsonNamingPolicy.CamelCase.ConvertName(x.ParamName ?? "?")}: out of range";
            e.Add($"limits.{field}");
        }

        var r = Rings;
        Check(!string.IsNullOrWhiteSpace(r.Directory), "rings.directory", "is required");
        Check(IsFileName(r.Feed), "rings.feed", "must be a file name without a folder");
        Check(IsFileName(r.Breach), "rings.breach", "must be a file name without a folder");
        Check(IsFileName(r.Counters), "rings.counters", "must be a file name without a folder");
        Check(r.Feed != r.Breach && r.Feed != r.Counters && r.Breach != r.Counters, "rings", "feed, breach and counters need distinct names");
        Check(IsFileName(r.LiquidationOrders), "rings.liquidationOrders", "must be a file name without a folder");
        Check(IsFileName(r.LiquidatorState), "rings.liquidatorState", "must be a file name without a folder");
        Check(new[] { r.Feed, r.Breach, r.Counters, r.LiquidationOrders, r.LiquidatorState }.Distinct().Count() == 5, "rings", "feed, breach, counters, liquidationOrders and liquidatorState need distinct names");
        Check(IsPowerOfTwo(r.LiquidationOrdersCapacity, 64, 1 << 24), "rings.liquidationOrdersCapacity", $"{r.LiquidationOrdersCapacity} is not a power of two in 64..16777216");
        Check(IsPowerOfTwo(r.FeedCapacity, 64, 1 << 24), "rings.feedCapacity", $"{r.FeedCapacity} is not a power of two in 64..16777216");
        Check(r.BreachConsumers is 1 or 2, "rings.breachConsumers", $"{r.BreachConsumers} is not 1 (the liquidator) or 2 (the liquidator and `llr bridge shard`, which publishes breaches to JetStream)");
        Check(IsPowerOfTwo(r.BreachCapacity, 64, 1 << 24), "rings.breachCapacity", $"{r.BreachCapacity} is not a power of two in 64..16777216");
        Check(TryParseFileMode(r.FileMode, out _), "rings.fileMode",
            $"\"{r.FileMode}\" is not an octal mode that gives the owner read and write and others nothing (\"0600\", or \"0660\" or \"0640\" for a group)");

        var gate = Gate;
        Check(IsFileName(gate.Requests), "gate.requests", "must be a file name without a folder");
        Check(IsFileName(gate.Responses), "gate.responses", "must be a file name without a folder");
        Check(gate.Requests != gate.Responses && !new[] { r.Feed, r.Breach, r.Counters }.Contains(gate.Requests) && !new[] { r.Feed, r.Breach, r.Counters }.Contains(gate.Responses),
            "gate", "requests and responses need names distinct from each other and from the feed, breach and counters files");
        Check(IsPowerOfTwo(gate.Capacity, 64, 1 << 24), "gate.capacity", $"{gate.Capacity} is not a power of two in 64..16777216");
        Check(gate.Clients is >= 1 and <= 64, "gate.clients", $"{gate.Clients} is not in 1..64 (each client has a request and a response ring of its own)");

        int cpus = Environment.ProcessorCount;
        CheckProcess(Engine, "engine", cpus, Check);
        CheckProcess(Simulator, "simulator", cpus, Check);
        CheckProcess(Liquidator, "liquidator", cpus, Check);
        Check(Engine.RevalueIntervalMilliseconds is >= 0 and <= 60_000, "engine.revalueIntervalMilliseconds", $"{Engine.RevalueIntervalMilliseconds} is not in 0..60000");
        Check(Engine.CountersIntervalMilliseconds is > 0 and <= 60_000, "engine.countersIntervalMilliseconds", $"{Engine.CountersIntervalMilliseconds} is not in 1..60000");
        Check(Engine.SequenceWindow is >= 1 and <= 1L << 40, "engine.sequenceWindow", $"{Engine.SequenceWindow} is not in 1..2^40");
        Check(Engine.RevaluationStepHolders is >= 1 and <= 65_536, "engine.revaluationStepHolders", $"{Engine.RevaluationStepHolders} is not in 1..65536");
        Check(Engine.WarmupMessages is >= 0 and <= 10_000_000, "engine.warmupMessages", $"{Engine.WarmupMessages} is not in 0..10000000");
        Check(Journal.Mode == JournalMode.None || !string.IsNullOrWhiteSpace(Journal.Directory), "journal.directory", "is required when the journal is on");
        Check(Journal.SnapshotIntervalSeconds is >= 0 and <= 86_400, "journal.snapshotIntervalSeconds", $"{Journal.SnapshotIntervalSeconds} is not in 0..86400 (0 = on clean shutdown only)");
        Check(Journal.KeepSnapshots is >= 1 and <= 100, "journal.keepSnapshots", $"{Journal.KeepSnapshots} is not in 1..100");
        Check(Journal.SegmentMegabytes is >= 1 and <= 4096, "journal.segmentMegabytes", $"{Journal.SegmentMegabytes} is not in 1..4096");
        e.AddRange(Liquidation.ToPolicy().Problems("liquidation."));
        Check(Liquidation.OrderTimeoutSeconds is > 0 and <= 3_600, "liquidation.orderTimeoutSeconds", $"{Liquidation.OrderTimeoutSeconds} is not in (0, 3600]");
        Check(Liquidation.InsuranceFund is >= 0 and <= 1e15, "liquidation.insuranceFund", $"{Liquidation.InsuranceFund} is not in [0, 1e15] (settlement currency)");
        Check(Simulator.Rate >= 0 && double.IsFinite(Simulator.Rate), "simulator.rate", "must be 0 (as fast as possible) or a positive rate");
        Check(Simulator.ProducerId is > 0 and < 64, "simulator.producerId", $"{Simulator.ProducerId} is not in 1..63");
        var sh = Shards;
        string? map = sh.RangeStarts is null ? "rangeStarts is null; omit it for none" : ShardMap.Problem(sh.Version, sh.Count, sh.Rule, sh.RangeStarts);
        Check(map is null, "shards", map ?? "");
        Check(sh.Index >= 0 && sh.Index < Math.Max(1, sh.Count), "shards.index", $"{sh.Index} is not a shard of the map (0..{sh.Count - 1})");
        var js = JetStream;
        Check(!string.IsNullOrWhiteSpace(js.Url) && js.Url.Split(',').All(u => Uri.TryCreate(u.Trim(), UriKind.Absolute, out var url) && url.Scheme is "nats" or "tls" && url.Port > 0),
            "jetStream.url", $"\"{js.Url}\" is not a nats://host:port address or a comma-separated list of them (the servers of a cluster)");
        Check(IsToken(js.FeedStream) && IsToken(js.BreachStream) && IsToken(js.JournalStream) && new[] { js.FeedStream, js.BreachStream, js.JournalStream }.Distinct().Count() == 3,
            "jetStream", "feedStream, breachStream and journalStream need distinct names of letters, digits, '-' and '_'");
        Check(IsToken(js.SubjectPrefix), "jetStream.subjectPrefix", $"\"{js.SubjectPrefix}\" is not one subject token (letters, digits, '-' and '_')");
        Check(IsToken(js.LeaseBucket), "jetStream.leaseBucket", $"\"{js.LeaseBucket}\" is not a bucket name of letters, digits, '-' and '_'");
        Check(js.LeaseSeconds is >= 1 and <= 60, "jetStream.leaseSeconds", $"{js.LeaseSeconds} is not in 1..60");
        Check(js.Replicas is 1 or 3 or 5, "jetStream.replicas", $"{js.Replicas} is not 1, 3 or 5");
        Check(js.AckWindow is >= 1 and <= 65_536, "jetStream.ackWindow", $"{js.AckWindow} is not in 1..65536");
        Check(js.DuplicateWindowSeconds is >= 1 and <= 86_400, "jetStream.duplicateWindowSeconds", $"{js.DuplicateWindowSeconds} is not in 1..86400");
        Check(Simulator.MatcherProducerId is > 0 and < 64 && Simulator.MatcherProducerId != Simulator.ProducerId, "simulator.matcherProducerId", $"{Simulator.MatcherProducerId} is not in 1..63 or is the simulator's own producer id");
        Check(IsToken(js.SummaryStream) && js.SummaryStream != js.FeedStream && js.SummaryStream != js.BreachStream && js.SummaryStream != js.JournalStream,
            "jetStream.summaryStream", $"\"{js.SummaryStream}\" is not a stream name of letters, digits, '-' and '_' distinct from the other streams");
        var su = Summaries;
        Check(!string.IsNullOrWhiteSpace(su.Ring), "summaries.ring", "is empty");
        Check(su.Capacity >= 16 && (su.Capacity & (su.Capacity - 1)) == 0 && su.Capacity <= 1 << 24, "summaries.capacity", $"{su.Capacity} is not a power of two in 16..16777216");
        Check(su.IntervalMilliseconds is >= 1 and <= 60_000, "summaries.intervalMilliseconds", $"{su.IntervalMilliseconds} is not in 1..60000");
        Check(su.HeartbeatSeconds * 1000 >= su.IntervalMilliseconds && su.HeartbeatSeconds <= 3_600, "summaries.heartbeatSeconds", $"{su.HeartbeatSeconds} is not between the interval and 3600");
        Check(su.Step is >= 1 and <= 65_536, "summaries.step", $"{su.Step} is not in 1..65536");
        Check(su.ChangeFraction is >= 0 and < 1, "summaries.changeFraction", $"{su.ChangeFraction} is not in [0, 1)");
        var seen = new Dictionary<int, string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Firms.Length; i++)
        {
            var f = Firms[i];
            string at = $"firms[{i}]";
            if (f is null || f.Accounts is null)
            {
                Check(false, at, "is null or has no accounts list");
                continue;
            }

            Check(IsToken(f.Name) && names.Add(f.Name!), $"{at}.name", $"\"{f.Name}\" is not a distinct name of letters, digits, '-' and '_'");
            Check(f.CreditLimit is > 0 and < double.PositiveInfinity, $"{at}.creditLimit", "must be a positive, finite amount (settlement currency): the firm's gross notional of positions and working orders");
            Check(f.Accounts.Length > 0, $"{at}.accounts", "is empty");
            var limited = new HashSet<int>();
            for (int k = 0; k < (f.PositionLimits?.Length ?? 0); k++)
            {
                var pl = f.PositionLimits![k];
                string pat = $"{at}.positionLimits[{k}]";
                if (pl is null)
                {
                    Check(false, pat, "is null");
                    continue;
                }

                Check(pl.Underlying is >= 0 and < 1024 && limited.Add(pl.Underlying), $"{pat}.underlying", $"{pl.Underlying} is not a distinct underlying id (0..1023)");
                Check(pl.Limit is > 0 and < double.PositiveInfinity, $"{pat}.limit", "must be a positive, finite number of contracts: the firm's gross contracts of positions and working orders in the underlying");
            }

            foreach (int a in f.Accounts)
            {
                Check(a >= 0, $"{at}.accounts", $"{a} is not an account id");
                if (!seen.TryAdd(a, f.Name ?? at))
                {
                    Check(false, $"{at}.accounts", $"account {a} is already in firm {seen[a]} (an account belongs to one firm)");
                }
            }
        }

        var ag = Aggregator;
        Check(ag.ProducerId is > 0 and < 64 && ag.ProducerId != Simulator.ProducerId && ag.ProducerId != Simulator.MatcherProducerId, "aggregator.producerId", $"{ag.ProducerId} is not in 1..63 or is a simulator's producer id");
        Check(ag.RebalanceMilliseconds is >= 1 and <= 60_000, "aggregator.rebalanceMilliseconds", $"{ag.RebalanceMilliseconds} is not in 1..60000");
        Check(ag.Tolerance is >= 0 and < 1, "aggregator.tolerance", $"{ag.Tolerance} is not in [0, 1)");
        return e;
    }

    private static void CheckProcess(ProcessSection p, string name, int cpus, Action<bool, string, string> check) =>
        check(p.Cpu is >= -1 && p.Cpu < cpus, $"{name}.cpu", $"{p.Cpu} is not -1 (no pinning) or a CPU of this machine (0..{cpus - 1})");

    private static bool IsToken(string? name) => !string.IsNullOrEmpty(name) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>The breach ring's geometry: what the engine creates and every reader attaches with.</summary>
    public Ipc.RingOptions BreachRingOptions() => new(Wire.BreachMessageDescriptor.SlotSize, Rings.BreachCapacity, Ipc.ProducerMode.Single, Rings.BreachConsumers) { FileMode = FilePermissions };

    /// <summary>The summary ring's geometry: the engine its one producer, <c>llr bridge shard</c> its one reader.</summary>
    public Ipc.RingOptions SummaryRingOptions() => new(Wire.RiskSummaryDescriptor.SlotSize, Summaries.Capacity, Ipc.ProducerMode.Single) { FileMode = FilePermissions };

    /// <summary>The feed ring's geometry: what the engine creates and every producer attaches with.</summary>
    public Ipc.RingOptions FeedRingOptions() => new(Wire.FeedMessageDescriptor.SlotSize, Rings.FeedCapacity, Ipc.ProducerMode.Multi) { FileMode = FilePermissions };

    /// <summary>The shard map (<see cref="ShardMap.Single"/> unless <c>shards</c> says otherwise).</summary>
    public ShardMap ToShardMap() => Shards.Count == 1 && Shards.Version == 1 ? ShardMap.Single : new ShardMap(Shards.Version, Shards.Count, Shards.Rule, Shards.RangeStarts);

    private static bool IsFileName(string? name) => !string.IsNullOrWhiteSpace(name) && name.IndexOfAny(['/', '\\']) < 0 && name is not ("." or "..");

    private static bool IsPowerOfTwo(int value, int min, int max) => value >= min && value <= max && (value & (value - 1)) == 0;

    /// <summary>The scenario grid.</summary>
    public ScenarioGrid ToGrid() => ToGrid(null);

    /// <summary>
    /// The grid; a historical one's moves by <paramref name="underlyingNames"/> (a book file's
    /// underlyings; null: the generated book's ids "0" … "n − 1"). Throws <see cref="ConfigException"/>
    /// naming what is wrong with the history.
    /// </summary>
    public ScenarioGrid ToGrid(IReadOnlyList<string>? underlyingNames) => ScenarioGrid.Preset switch
    {
        GridPreset.Crypto => Core.Risk.ScenarioGrid.Crypto(ScenarioGrid.PriceScanRange, ScenarioGrid.Steps, ScenarioGrid.VolScanRange),
        GridPreset.CryptoPortfolio => Core.Risk.ScenarioGrid.CryptoPortfolio(ScenarioGrid.CryptoPortfolio),
        GridPreset.Historical => HistoricalGrid(underlyingNames ?? [.. Enumerable.Range(0, Workload.Underlyings).Select(u => u.ToString(System.Globalization.CultureInfo.InvariantCulture))]),
        _ => Core.Risk.ScenarioGrid.CmeSpan16(ScenarioGrid.PriceScanRange, ScenarioGrid.VolScanRange, ScenarioGrid.ExtremeMultiplier, ScenarioGrid.CoverFraction),
    };

    /// <summary>The historical grid of <see cref="HistoricalGridSection"/> for <paramref name="names"/>.</summary>
    private ScenarioGrid HistoricalGrid(IReadOnlyList<string> names)
    {
        const string At = "scenarioGrid.historical";
        var h = ScenarioGrid.Historical;
        global::LowLatencyRisk.Engine.Margin.PriceHistory history;
        if (h.History is { } path)
        {
            if (global::LowLatencyRisk.Engine.Margin.PortfolioMargin.ReadFile(path, out string csv) is { } problem)
            {
                throw new ConfigException(At + ".history", [$"{path}: {problem}"]);
            }

            try
            {
                history = global::LowLatencyRisk.Engine.Margin.PriceHistory.ParseCsv(csv, path);
            }
            catch (ConfigException e)
            {
                throw new ConfigException(At + ".history", e.Problems);
            }
        }
        else
        {
            history = global::LowLatencyRisk.Engine.Margin.PriceHistory.Synthetic(names, [.. names.Select(_ => 100.0)], new DateOnly(2020, 1, 1), h.SyntheticDays, h.SyntheticSeed, new global::LowLatencyRisk.Engine.Margin.GarchParameters());
        }

        var errors = new List<string>();
        var moves = new double[names.Count][];
        var reference = new double[names.Count];
        string source = h.History ?? "synthetic history";
        for (int u = 0; u < names.Count; u++)
        {
            int column = history.ColumnOf(names[u]);
            if (column < 0)
            {
                errors.Add($"{source}: no column for underlying '{names[u]}' (the header names {string.Join(", ", history.Underlyings)})");
                continue;
            }

            double[] returns = global::LowLatencyRisk.Engine.Margin.FilteredHistoricalSimulation.FilteredReturns(history.Closes[column], h.HorizonDays, h.Lambda);
            if (returns.Length < h.Scenarios)
            {
                errors.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{source}: {history.Dates.Count} dates give {returns.Length} {h.HorizonDays}-day scenarios; scenarios asks for {h.Scenarios}"));
                continue;
            }

            moves[u] = [.. returns[^h.Scenarios..].Select(r => Math.Exp(r) - 1)];
            reference[u] = global::LowLatencyRisk.Engine.Margin.FilteredHistoricalSimulation.EwmaDailyVolatility(history.Closes[column], h.Lambda);
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(At, errors);
        }

        try
        {
            return Core.Risk.ScenarioGrid.Historical(moves, h.Confidence, reference);
        }
        catch (ArgumentException e)
        {
            throw new ConfigException(At, [$"{source}: {e.Message}"]);
        }
    }

    /// <summary>Applies the margin section to a book configuration whose underlyings are named by their ids ("0", "1", …: the generated book).</summary>
    public RiskConfig Apply(RiskConfig config) => Apply(config, null);

    /// <summary>
    /// Applies the margin section to a book configuration; <paramref name="underlyingNames"/> name the
    /// underlyings (a book file's), null for their ids. Throws <see cref="ConfigException"/> when a
    /// component names an underlying the book does not have.
    /// </summary>
    public RiskConfig Apply(RiskConfig config, IReadOnlyList<string>? underlyingNames)
    {
        ArgumentNullException.ThrowIfNull(config);
        var names = underlyingNames ?? [.. Enumerable.Range(0, config.MaxUnderlyings).Select(u => u.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        var errors = new List<string>();
        var components = Margin.Components.Resolve(names, errors);
        if (errors.Count > 0)
        {
            throw new ConfigException("margin.components", errors);
        }

        var grid = ToGrid(names);
        var calibrations = ResolveCalibrations(names, errors);
        if (errors.Count > 0)
        {
            throw new ConfigException("scenarioGrid.calibrations", errors);
        }

        var applied = ApplyParameters(config, grid) with { Components = components, ScenarioCalibrations = calibrations };
        if (Margin.DynamicRange.Enabled && Margin.DynamicRange.SeedHistory is { } history)
        {
            applied = applied with { DynamicRange = applied.DynamicRange with { SeedDailyVolatilities = SeedsFromHistory(history, names) } };
        }

        return applied;
    }

    /// <summary>
    /// <c>margin.dynamicRange.seedHistory</c>: each underlying's EWMA daily volatility over the CSV's
    /// closes (<see cref="LowLatencyRisk.Engine.Margin.FilteredHistoricalSimulation.EwmaDailyVolatility"/> with the section's λ),
    /// by the book's underlying names (ids for the generated book); every underlying needs a column.
    /// The path is taken as given (relative to the working directory, like <c>book.file</c>).
    /// </summary>
    private double[] SeedsFromHistory(string path, IReadOnlyList<string> names)
    {
        const string At = "margin.dynamicRange.seedHistory";
        if (global::LowLatencyRisk.Engine.Margin.PortfolioMargin.ReadFile(path, out string csv) is { } problem)
        {
            throw new ConfigException(At, [$"{path}: {problem}"]);
        }

        global::LowLatencyRisk.Engine.Margin.PriceHistory history;
        try
        {
            history = global::LowLatencyRisk.Engine.Margin.PriceHistory.ParseCsv(csv, path);
        }
        catch (ConfigException e)
        {
            throw new ConfigException(At, e.Problems);
        }

        var seeds = new double[names.Count];
        var errors = new List<string>();
        for (int u = 0; u < names.Count; u++)
        {
            int column = history.ColumnOf(names[u]);
            double seed = column < 0 ? double.NaN : global::LowLatencyRisk.Engine.Margin.FilteredHistoricalSimulation.EwmaDailyVolatility(history.Closes[column], Margin.DynamicRange.LambdaPerDay);
            if (column < 0)
            {
                errors.Add($"{path}: no column for underlying '{names[u]}' (the header names {string.Join(", ", history.Underlyings)})");
            }
            else if (!(seed is > 0 and < 1))
            {
                errors.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{path}: the closes of '{names[u]}' give a daily volatility of {seed}, not in (0, 1) (at least two dates that differ are needed)"));
            }

            seeds[u] = seed;
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(At, errors);
        }

        return seeds;
    }

    /// <summary>
    /// <c>scenarioGrid.calibrations</c> by underlying id (<paramref name="names"/>: the book's
    /// underlying names, or their ids); a field left out is the grid's own. Problems go to
    /// <paramref name="errors"/> with their paths.
    /// </summary>
    public IReadOnlyList<UnderlyingCalibration> ResolveCalibrations(IReadOnlyList<string> names, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(errors);
        var entries = ScenarioGrid.Calibrations ?? [];
        if (entries.Length == 0)
        {
            return [];
        }

        if (ScenarioGrid.Preset == GridPreset.Historical)
        {
            errors.Add("scenarioGrid.calibrations: the historical preset's moves are the history's own (no scan range or vol shock to calibrate); remove them");
            return [];
        }

        var grid = ToGrid();
        var result = new List<UnderlyingCalibration>(entries.Length);
        for (int k = 0; k < entries.Length; k++)
        {
            var e = entries[k];
            string at = $"scenarioGrid.calibrations[{k}]";
            int u = e is null || e.Underlying is null ? -1 : names.ToList().IndexOf(e.Underlying);
            if (u < 0)
            {
                errors.Add($"{at}.underlying: {(e?.Underlying is null ? "is required" : $"unknown underlying '{e.Underlying}'")}");
                continue;
            }

            if (result.Any(c => c.Underlying == u))
            {
                errors.Add($"{at}.underlying: '{e!.Underlying}' is calibrated twice");
                continue;
            }

            var d = grid.Calibration;
            var p = new ScenarioParameters(e!.PriceScanRange ?? d.PriceScanRange, e.VolScanRange ?? d.VolScanRange, e.VolUp ?? d.VolUp, e.VolDown ?? d.VolDown,
                e.MinVolForShockUp ?? d.MinVolForShockUp, e.ExtendedDampener ?? d.ExtendedDampener, e.BasisAnnualMove ?? d.BasisAnnualMove, e.BasisMinimumMove ?? d.BasisMinimumMove);
            if (p.Problem() is { } problem)
            {
                errors.Add($"{at}: {problem}");
                continue;
            }

            if (Enumerable.Range(0, grid.Count).Any(j => !(grid.RelativeMoveOf(j, p) > -1)))
            {
                errors.Add($"{at}.priceScanRange: {p.PriceScanRange} would move a row of {grid.Name} to a price of zero or below");
                continue;
            }

            result.Add(new UnderlyingCalibration(u, p));
        }

        return result;
    }

    private RiskConfig ApplyParameters(RiskConfig config, ScenarioGrid grid) => config with
    {
        Grid = grid,
        MaintenanceFraction = Margin.MaintenanceFraction,
        Rate = Margin.Rate,
        ShortOptionMinimumFraction = Margin.ShortOptionMinimumFraction,
        DefaultMarginMode = Margin.DefaultMode,
        StandardMargin = Margin.Standard.ToConfig(),
        Hysteresis = Margin.Hysteresis,
        IndexBand = Margin.IndexBand,
        VolBand = Margin.VolBand,
        Jumps = Margin.Jumps,
        StaleAfterNanos = (long)(Margin.StaleAfterSeconds * 1e9),
        MaxPrice = Margin.MaxPrice,
        MaxQuantity = Margin.MaxQuantity,
        MaxNotional = Margin.MaxNotional,
        MaxCollateralValue = Margin.MaxCollateralValue,
        MaxCollateralUnits = Margin.MaxCollateralUnits,
        MaxMultiplier = Margin.MaxMultiplier,
        CollateralInScenarios = Margin.CollateralInScenarios,
        FundingProvision = Margin.FundingProvision,
        DynamicRange = Margin.DynamicRange,
    };

    /// <summary>The engine's liquidation options (null when <c>liquidation.enabled</c> is false: breaches only).</summary>
    public LiquidationOptions? ToLiquidationOptions() =>
        Liquidation.Enabled ? new(Liquidation.ToPolicy(), (long)(Liquidation.OrderTimeoutSeconds * 1e9), Liquidation.InsuranceFund) : null;

    /// <summary>The haircut tiers.</summary>
    public HaircutTier[] ToHaircuts() => [.. Haircuts.Select(t => new HaircutTier(t.UpTo, t.Haircut))];

    /// <summary>The gate's defaults.</summary>
    public GateConfig ToGateConfig() => new()
    {
        MaxOrderQuantity = Limits.MaxOrderQuantity,
        MaxOrderNotional = Limits.MaxOrderNotional,
        MinQuantity = Limits.MinQuantity,
        PriceBand = Limits.PriceBand,
        MarketProtection = Limits.MarketProtection,
        PositionLimit = Limits.PositionLimit,
        UnderlyingPositionLimit = Limits.UnderlyingPositionLimit ?? double.PositiveInfinity,
        CreditLimit = Limits.CreditLimit ?? double.PositiveInfinity,
        MaxOpenOrders = Limits.MaxOpenOrders ?? double.PositiveInfinity,
        DailyLossLimit = Limits.DailyLossLimit ?? double.PositiveInfinity,
        DayStartOffsetNanos = double.IsFinite(Limits.DayStartOffsetHours) ? (long)Math.Round(Limits.DayStartOffsetHours * 3_600e9) : -1,
        ThrottleRate = Limits.ThrottleRate,
        ThrottleBurst = Limits.ThrottleBurst,
        DuplicateWindowNanos = (long)(Limits.DuplicateWindowSeconds * 1e9),
        MaxTrackedOrders = Limits.MaxTrackedOrders,
        MarginOnWorkingOrders = Limits.MarginOnWorkingOrders,
        MmpEntries = Limits.MmpEntries,
        MmpWindowFills = Limits.MmpWindowFills,
    };

    /// <summary>Full path of a ring file.</summary>
    public string PathOf(string name) => Path.Combine(Rings.Directory, name);

    /// <summary>The permission bits of every file the engine creates (rings, counters, journal segments, snapshots, lock files): <c>rings.fileMode</c>.</summary>
    public UnixFileMode FilePermissions => TryParseFileMode(Rings.FileMode, out var mode) ? mode : UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Parses an octal mode such as "0600"; only owner read + write (required) and group bits are accepted.</summary>
    public static bool TryParseFileMode(string? text, out UnixFileMode mode)
    {
        mode = default;
        if (string.IsNullOrEmpty(text) || text.Length > 4)
        {
            return false;
        }

        int value = 0;
        foreach (char ch in text)
        {
            if (ch is < '0' or > '7')
            {
                return false;
            }

            value = (value * 8) + (ch - '0');
        }

        const int OwnerReadWrite = 0b110_000_000, OthersAndSpecial = 0b111 | 0b111_000_000_000, OwnerExecute = 0b001_000_000;
        if ((value & OwnerReadWrite) != OwnerReadWrite || (value & (OthersAndSpecial | OwnerExecute)) != 0)
        {
            return false;
        }

        mode = (UnixFileMode)value;
        return true;
    }
}

/// <summary>Durability modes.</summary>
public enum JournalMode
{
    /// <summary>No journal: a restarted engine starts from the generator's book (the default until snapshots bound the journal's growth).</summary>
    None,
    /// <summary>Every consumed message is written to the memory-mapped journal before it is applied: survives the death of the engine process.</summary>
    Journal,
    /// <summary>As <see cref="Journal"/>, and each record is msync'ed before it is applied: survives a power loss, at the cost of a storage write per message.</summary>
    JournalSync,
}

/// <summary>Grid presets.</summary>
public enum GridPreset
{
    /// <summary>CME SPAN 16 scenarios.</summary>
    CmeSpan16,
    /// <summary>Crypto price steps × vol up/flat/down, tenor-scaled.</summary>
    Crypto,
    /// <summary>The crypto-venue portfolio-margin set: relative tenor-scaled vol shocks, the extended table, basis rows (<see cref="Core.Risk.ScenarioGrid.CryptoPortfolio"/>).</summary>
    CryptoPortfolio,
    /// <summary>Filtered historical simulation: one row per historical date, margined by expected shortfall (<see cref="Core.Risk.ScenarioGrid.Historical"/>, <see cref="HistoricalGridSection"/>).</summary>
    Historical,
}

/// <summary>Wait strategies by name.</summary>
public enum WaitKind
{
    /// <summary>Spin (lowest latency, burns the core).</summary>
    BusySpin,
    /// <summary>Spin, then yield.</summary>
    Yielding,
    /// <summary>Spin, yield, then sleep (idle processes).</summary>
    Sleeping,
}

#pragma warning disable CS1591 // the section fields are documented in README (Configuration) as a table
public sealed class BookSection
{
    public string? File { get; init; }
    public int SpareInstruments { get; init; } = 1024;
    public int MaxPositionsPerAccount { get; init; } = 256;
}

public sealed class WorkloadSection
{
    public int Underlyings { get; init; } = 4;
    public int Futures { get; init; } = 4;
    public int Expiries { get; init; } = 10;
    public int Strikes { get; init; } = 10;
    public int Accounts { get; init; } = 10_000;
    public int PositionsPerAccount { get; init; } = 20;
    public int MaxPositionsPerAccount { get; init; }
    public int Seed { get; init; } = 42;
    public double CollateralToMargin { get; init; }
}

public sealed class GridSection
{
    public GridPreset Preset { get; init; } = GridPreset.CmeSpan16;
    public double PriceScanRange { get; init; } = 0.15;
    public double VolScanRange { get; init; } = 0.25;
    public double ExtremeMultiplier { get; init; } = 3.0;
    public double CoverFraction { get; init; } = 0.33;
    public int Steps { get; init; } = 9;
    public CryptoPortfolioParameters CryptoPortfolio { get; init; } = new();
    public HistoricalGridSection Historical { get; init; } = new();
    public CalibrationSection[] Calibrations { get; init; } = [];
}

/// <summary>
/// <c>scenarioGrid.historical</c> (preset <c>historical</c>): where the filtered historical moves come from.
/// From a CSV of dated closes (<see cref="History"/>; one column per underlying, by the book's
/// underlying names — ids for the generated book), or, without one, a seeded synthetic GARCH(1,1)
/// history with Student-t innovations (<see cref="Margin.GarchParameters"/> defaults; not market data).
/// Each underlying's h-day log returns are filtered by EWMA volatility (σ_now / σ_t, λ =
/// <see cref="Lambda"/>), the most recent <see cref="Scenarios"/> dates kept, and row j moves every
/// underlying by e^(r̃_j) − 1 on the same date.
/// </summary>
public sealed class HistoricalGridSection
{
    public string? History { get; init; }
    public int SyntheticDays { get; init; } = 750;
    public int SyntheticSeed { get; init; } = 7;
    public int HorizonDays { get; init; } = 1;
    public double Lambda { get; init; } = 0.94;
    public double Confidence { get; init; } = 0.975;
    public int Scenarios { get; init; } = 500;
}

public sealed class CalibrationSection
{
    public string? Underlying { get; init; }
    public double? PriceScanRange { get; init; }
    public double? VolScanRange { get; init; }
    public double? VolUp { get; init; }
    public double? VolDown { get; init; }
    public double? MinVolForShockUp { get; init; }
    public double? ExtendedDampener { get; init; }
    public double? BasisAnnualMove { get; init; }
    public double? BasisMinimumMove { get; init; }
}

public sealed class MarginSection
{
    public double MaintenanceFraction { get; init; } = 0.8;
    public double Rate { get; init; } = 0.03;
    public double ShortOptionMinimumFraction { get; init; } = 0.005;
    public MarginMode DefaultMode { get; init; } = MarginMode.Portfolio;
    public StandardMarginSection Standard { get; init; } = new();
    public ComponentsSection Components { get; init; } = new();
    public double Hysteresis { get; init; } = 0.02;
    public double IndexBand { get; init; } = 0.10;
    public double VolBand { get; init; } = 0.50;
    public JumpPolicy Jumps { get; init; } = JumpPolicy.HoldForConfirmation;
    public double StaleAfterSeconds { get; init; } = 180;
    public double MaxPrice { get; init; } = 1e9;
    public double MaxQuantity { get; init; } = 1e9;
    public double MaxNotional { get; init; } = 1e13;
    public double MaxCollateralValue { get; init; } = 1e13;
    public double MaxCollateralUnits { get; init; } = 1e13;
    public double MaxMultiplier { get; init; } = 1e8;
    public bool CollateralInScenarios { get; init; }
    public bool FundingProvision { get; init; }
    public DynamicRangeConfig DynamicRange { get; init; } = DynamicRangeConfig.Off;
}

public sealed class StandardMarginSection
{
    public NotionalTierSection[] Tiers { get; init; } =
        [.. StandardMarginConfig.Default.Tiers.Select(t => new NotionalTierSection { UpToNotional = t.UpToNotional, Initial = t.Initial, Maintenance = t.Maintenance })];
    public double OptionInitialBase { get; init; } = StandardMarginConfig.Default.OptionInitialBase;
    public double OptionInitialFloor { get; init; } = StandardMarginConfig.Default.OptionInitialFloor;
    public double OptionMaintenance { get; init; } = StandardMarginConfig.Default.OptionMaintenance;

    public StandardMarginConfig ToConfig() => new()
    {
        Tiers = [.. Tiers.Select(t => new NotionalTier(t.UpToNotional, t.Initial, t.Maintenance))],
        OptionInitialBase = OptionInitialBase,
        OptionInitialFloor = OptionInitialFloor,
        OptionMaintenance = OptionMaintenance,
    };
}

/// <summary>Portfolio components (<see cref="PortfolioComponents"/>); underlyings by name (a book or portfolio file's) or by id (the generated book's "0", "1", …).</summary>
public sealed class ComponentsSection
{
    public IntraCommoditySection[] IntraCommodity { get; init; } = [];
    public InterCommoditySection[] InterCommodity { get; init; } = [];
    public SizeAddOnSection[] SizeAddOns { get; init; } = [];

    /// <summary>The components with underlyings resolved against <paramref name="names"/> (index = id); every problem into <paramref name="errors"/>, each naming its field.</summary>
    public PortfolioComponentsConfig Resolve(IReadOnlyList<string> names, List<string> errors, string at = "margin.components")
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(errors);
        if (IntraCommodity is null || InterCommodity is null || SizeAddOns is null)
        {
            errors.Add($"{at}: intraCommodity, interCommodity and sizeAddOns are lists (empty for none)");
            return PortfolioComponentsConfig.None;
        }

        if (IntraCommodity.Length == 0 && InterCommodity.Length == 0 && SizeAddOns.Length == 0)
        {
            return PortfolioComponentsConfig.None;
        }

        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int u = 0; u < names.Count; u++)
        {
            byName.TryAdd(names[u], u);
        }

        int before = errors.Count;
        int Underlying(string? name, string field)
        {
            if (name is not null && byName.TryGetValue(name, out int u))
            {
                return u;
            }

            errors.Add($"{field}: {(name is null ? "is required" : $"unknown underlying '{name}'")}");
            return 0;
        }

        var config = new PortfolioComponentsConfig
        {
            IntraCommodity = [.. IntraCommodity.Select((x, i) => new IntraCommodityConfig
            {
                Underlying = Underlying(x?.Underlying, $"{at}.intraCommodity[{i}].underlying"),
                TierEndsNanos = [.. (x?.Tiers ?? []).Select((t, k) => TierEnd(t, $"{at}.intraCommodity[{i}].tiers[{k}]", errors))],
                Spreads = [.. (x?.Spreads ?? []).Select(s => new TierSpread(s?.Front ?? -1, s?.Back ?? -1, s?.Charge ?? double.NaN))],
            })],
            InterCommodity = [.. InterCommodity.Select((x, i) => new InterCommoditySpreadConfig
            {
                Form = x?.Form ?? InterCommodityForm.Delta,
                Legs = [.. (x?.Legs ?? []).Select((l, k) => new SpreadLeg(Underlying(l?.Underlying, $"{at}.interCommodity[{i}].legs[{k}].underlying"), l?.Ratio ?? (x?.Form == InterCommodityForm.Scanning ? 1 : double.NaN)))],
                Credit = x?.Credit ?? double.NaN,
            })],
            SizeAddOns = [.. SizeAddOns.Select((x, i) => new SizeAddOnConfig
            {
                Underlying = Underlying(x?.Underlying, $"{at}.sizeAddOns[{i}].underlying"),
                BaseRate = x?.BaseRate ?? double.NaN,
                Bands = [.. (x?.Bands ?? []).Select(b => new AddOnBand(b?.UpToNotional ?? double.NaN, b?.Multiplier ?? double.NaN))],
                ShockThreshold = x?.ShockThreshold ?? double.NaN,
                ShockFullAt = x?.ShockFullAt ?? x?.ShockThreshold ?? double.NaN,
                MaxShock = x?.MaxShock ?? double.NaN,
                VegaRate = x?.VegaRate ?? double.NaN,
                Combine = x?.Combine ?? AddOnCombine.Sum,
            })],
        };
        if (errors.Count > before)
        {
            return PortfolioComponentsConfig.None;
        }

        errors.AddRange(config.Problems(names.Count).Select(p => $"{at}.{p}"));
        return errors.Count > before ? PortfolioComponentsConfig.None : config;
    }

    /// <summary>A tier's last expiry: an ISO 8601 time with an offset, as nanoseconds since 1970.</summary>
    private static long TierEnd(string? text, string field, List<string> errors)
    {
        if (text is not null && text.Length >= 17 && (text.EndsWith('Z') || text[^6] is '+' or '-')
            && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var t)
            && t > DateTimeOffset.UnixEpoch && t.Year < 2262)
        {
            return (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        }

        errors.Add($"{field}: '{text}' is not an ISO 8601 time with an offset (e.g. 2027-03-19T00:00:00Z) after 1970");
        return 0;
    }
}

public sealed class IntraCommoditySection
{
    public string? Underlying { get; init; }

    /// <summary>The last expiry of each tier but the open-ended last one, increasing.</summary>
    public string[] Tiers { get; init; } = [];
    public TierSpreadSection[] Spreads { get; init; } = [];
}

public sealed class TierSpreadSection
{
    public int? Front { get; init; }
    public int? Back { get; init; }
    public double? Charge { get; init; }
}

public sealed class InterCommoditySection
{
    /// <summary>delta (default): delta-matched spreads by ratio; scanning: the legs scanned together, ratios unused.</summary>
    public InterCommodityForm Form { get; init; }

    public SpreadLegSection[] Legs { get; init; } = [];
    public double? Credit { get; init; }
}

public sealed class SpreadLegSection
{
    public string? Underlying { get; init; }
    public double? Ratio { get; init; }
}

public sealed class SizeAddOnSection
{
    public string? Underlying { get; init; }
    public double BaseRate { get; init; }
    public AddOnBandSection[] Bands { get; init; } = [new() { UpToNotional = 1e18, Multiplier = 1 }];
    public double ShockThreshold { get; init; }
    public double? ShockFullAt { get; init; }
    public double MaxShock { get; init; }
    public double VegaRate { get; init; }
    public AddOnCombine Combine { get; init; }
}

public sealed class AddOnBandSection
{
    public double UpToNotional { get; init; }
    public double Multiplier { get; init; }
}

public sealed class NotionalTierSection
{
    public double UpToNotional { get; init; }
    public double Initial { get; init; }
    public double Maintenance { get; init; }
}

public sealed class HaircutTierSection
{
    public double UpTo { get; init; }
    public double Haircut { get; init; }
}

public sealed class LimitsSection
{
    public bool MarginOnWorkingOrders { get; init; } = true;
    public double MaxOrderQuantity { get; init; } = 1_000;
    public double MaxOrderNotional { get; init; } = 10_000_000;
    public double MinQuantity { get; init; }
    public double PriceBand { get; init; } = 0.30;
    public double MarketProtection { get; init; } = 0.05;
    public double PositionLimit { get; init; } = 10_000;
    public double? UnderlyingPositionLimit { get; init; }
    public double? CreditLimit { get; init; }
    public double? MaxOpenOrders { get; init; }
    public double? DailyLossLimit { get; init; }
    public double DayStartOffsetHours { get; init; }
    public double ThrottleRate { get; init; } = 500;
    public double ThrottleBurst { get; init; } = 500;
    public double DuplicateWindowSeconds { get; init; } = 60;
    public int MaxTrackedOrders { get; init; } = 1 << 18;
    public int MmpEntries { get; init; } = 256;
    public int MmpWindowFills { get; init; } = 128;
}

public sealed class RingsSection
{
    public string Directory { get; init; } = Ipc.SharedRing.DefaultDirectory;
    public string Feed { get; init; } = "llr-feed";
    public string Breach { get; init; } = "llr-breach";
    public string Counters { get; init; } = "llr-counters";
    public int FeedCapacity { get; init; } = 1 << 16;
    public int BreachCapacity { get; init; } = 1 << 16;
    public int BreachConsumers { get; init; } = 1;
    public string LiquidationOrders { get; init; } = "llr-liquidation-orders";
    public int LiquidationOrdersCapacity { get; init; } = 1 << 12;
    public string LiquidatorState { get; init; } = "llr-liquidator-state";
    public string FileMode { get; init; } = "0600";
}

public sealed class GateSection
{
    public bool Enabled { get; init; } = true;
    public string Requests { get; init; } = "llr-gate-requests";
    public string Responses { get; init; } = "llr-gate-responses";
    public int Capacity { get; init; } = 4096;
    public int Clients { get; init; } = 1;

    /// <summary>Request ring file of client <paramref name="k"/>: the <c>requests</c> name and the client's number.</summary>
    public string RequestsOf(int k) => $"{Requests}-{k}";

    /// <summary>Response ring file of client <paramref name="k"/>.</summary>
    public string ResponsesOf(int k) => $"{Responses}-{k}";
}

public sealed class LiquidationSection
{
    public bool Enabled { get; init; } = true;
    public double TargetFraction { get; init; } = LiquidationPolicy.Default.TargetFraction;
    public double PriceBand { get; init; } = LiquidationPolicy.Default.PriceBand;
    public double FeeRate { get; init; } = LiquidationPolicy.Default.FeeRate;
    public double OrderTimeoutSeconds { get; init; } = 5;
    public double InsuranceFund { get; init; } = LiquidationOptions.Default.InsuranceFund;

    public LiquidationPolicy ToPolicy() => new(TargetFraction, PriceBand, FeeRate);
}

public sealed class ShardsSection
{
    public int Version { get; init; } = 1;
    public int Count { get; init; } = 1;
    public int Index { get; init; }
    public ShardRule Rule { get; init; } = ShardRule.Modulo;
    public int[] RangeStarts { get; init; } = [];
}

public sealed class JetStreamSection
{
    public string Url { get; init; } = "nats://127.0.0.1:4222";
    public string FeedStream { get; init; } = "LLR_FEED";
    public string BreachStream { get; init; } = "LLR_BREACHES";
    public string JournalStream { get; init; } = "LLR_JOURNAL";
    public string SummaryStream { get; init; } = "LLR_SUMMARIES";
    public string LeaseBucket { get; init; } = "llr-leases";
    public double LeaseSeconds { get; init; } = 3;
    public string SubjectPrefix { get; init; } = "llr";
    public int Replicas { get; init; } = 1;
    public int AckWindow { get; init; } = 256;
    public double DuplicateWindowSeconds { get; init; } = 120;

    /// <summary>The subject of feed messages every shard applies (market data, definitions, parameters).</summary>
    public string BroadcastSubject => $"{SubjectPrefix}.feed.all";

    /// <summary>The subject of feed messages about accounts of shard <paramref name="shard"/>.</summary>
    public string ShardSubject(int shard) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SubjectPrefix}.feed.shard.{shard}");

    /// <summary>Every feed subject (the stream's subject filter).</summary>
    public string FeedSubjects => $"{SubjectPrefix}.feed.>";

    /// <summary>The subject shard <paramref name="shard"/>'s journal records are replicated on.</summary>
    public string JournalSubject(int shard) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SubjectPrefix}.journal.{shard}");

    /// <summary>The subject of account <paramref name="account"/>'s risk summaries (shard <paramref name="shard"/> publishes them; the stream keeps the latest per subject).</summary>
    public string AccountSummarySubject(int shard, int account) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SubjectPrefix}.summary.account.{shard}.{account}");

    /// <summary>The subject of account <paramref name="account"/>'s summaries in underlying <paramref name="underlying"/> (−1: <see cref="AccountSummarySubject(int, int)"/>).</summary>
    public string AccountSummarySubject(int shard, int account, int underlying) => underlying < 0 ? AccountSummarySubject(shard, account)
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SubjectPrefix}.summary.account.{shard}.{account}.{underlying}");

    /// <summary>Every account summary subject (what the aggregator reads).</summary>
    public string AccountSummarySubjects => $"{SubjectPrefix}.summary.account.>";

    /// <summary>The subject of a firm's summary (the aggregator publishes it).</summary>
    public string FirmSummarySubject(string firm) => $"{SubjectPrefix}.summary.firm.{firm}";

    /// <summary>The subject breaches of shard <paramref name="shard"/> are published on.</summary>
    public string BreachSubject(int shard) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SubjectPrefix}.breach.{shard}");
}

public sealed class SummariesSection
{
    public bool Enabled { get; init; }
    public string Ring { get; init; } = "llr-summaries";
    public int Capacity { get; init; } = 1 << 14;
    public double IntervalMilliseconds { get; init; } = 100;
    public double HeartbeatSeconds { get; init; } = 30;
    public int Step { get; init; } = 64;
    public double ChangeFraction { get; init; } = 0.01;
    public bool FirmsOnly { get; init; }

    /// <summary>The accounts to summarize: null for every account, else the firms' (<see cref="FirmsOnly"/>).</summary>
    public IEnumerable<int>? AccountsOf(FirmSection[] firms) => FirmsOnly ? firms.SelectMany(f => f.Accounts) : null;
}

public sealed class FirmSection
{
    public string? Name { get; init; }
    public int[] Accounts { get; init; } = [];
    public double CreditLimit { get; init; }
    public FirmPositionLimit[] PositionLimits { get; init; } = [];
}

/// <summary>A firm's position limit in one underlying: the most gross contracts of positions and working orders its accounts hold there together.</summary>
public sealed class FirmPositionLimit
{
    public int Underlying { get; init; } = -1;
    public double Limit { get; init; }
}

public static class FirmSections
{
    /// <summary>The underlyings any firm has a position limit in (the summaries per underlying the engine publishes).</summary>
    public static IEnumerable<int> PositionUnderlyings(this FirmSection[] firms) =>
        firms.SelectMany(f => f.PositionLimits ?? []).Where(p => p is not null).Select(p => p.Underlying).Distinct();
}

public sealed class AggregatorSection
{
    public int ProducerId { get; init; } = 9;
    public double RebalanceMilliseconds { get; init; } = 100;
    public double Tolerance { get; init; } = 0.01;
}

public sealed class JournalSection
{
    public JournalMode Mode { get; init; } = JournalMode.None;
    public string Directory { get; init; } = "llr-journal";
    public int SegmentMegabytes { get; init; } = 64;
    public double SnapshotIntervalSeconds { get; init; } = 60;
    public int KeepSnapshots { get; init; } = 2;
}

public class ProcessSection
{
    public int Cpu { get; init; } = -1;
    public WaitKind Wait { get; init; } = WaitKind.Yielding;
}

public sealed class EngineSection : ProcessSection
{
    public EngineSection()
    {
        Cpu = Environment.ProcessorCount > 1 ? 1 : -1;
        Wait = WaitKind.BusySpin;
    }

    public double RevalueIntervalMilliseconds { get; init; } = 10;
    public double CountersIntervalMilliseconds { get; init; } = 100;
    public int WarmupMessages { get; init; } = 200_000;
    public int RevaluationStepHolders { get; init; } = RiskEngine.SliceAccounts;
    public long SequenceWindow { get; init; } = RiskEngine.DefaultSequenceWindow;
}

public sealed class SimulatorSection : ProcessSection
{
    public SimulatorSection() => Cpu = 0;

    public double Rate { get; init; } = 2_000_000;
    public int Seed { get; init; } = 7;
    public int ProducerId { get; init; } = 1;
    public int MatcherProducerId { get; init; } = 2;
}
#pragma warning restore CS1591

/// <summary>An invalid configuration: every problem, each naming its field.</summary>
public sealed class ConfigException(string source, IReadOnlyList<string> problems, string what = "configuration")
    : Exception($"{source}: invalid {what}:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", problems)}")
{
    /// <summary>The problems, each "json.path: what is wrong".</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}
