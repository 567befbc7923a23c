using LowLatencyRisk.Core.Risk;

namespace LowLatencyRisk.Core.Book;

/// <summary>What an instrument is.</summary>
public enum InstrumentKind : byte
{
    /// <summary>The underlying itself (delta one, no expiry).</summary>
    Spot = 0,
    /// <summary>Dated future: price = index · e^(carry·T).</summary>
    Future = 1,
    /// <summary>Perpetual swap: tracks the index.</summary>
    Perpetual = 2,
    /// <summary>Call option on the underlying's forward to its expiry (Black-76).</summary>
    Call = 3,
    /// <summary>Put option on the underlying's forward to its expiry (Black-76).</summary>
    Put = 4,
}

/// <summary>How profit and loss settle.</summary>
public enum Settlement : byte
{
    /// <summary>P&amp;L = quantity × price change × multiplier, in the quote currency.</summary>
    Linear = 0,
    /// <summary>
    /// Inverse (coin-settled) futures and perpetuals: quoted in the quote currency, margined and
    /// settled in the underlying coin; the multiplier is the contract's face value in the quote
    /// currency, and P&amp;L = quantity × face × (1/entry − 1/exit) coins. The book carries such a
    /// position as the coins it is worth at entry (quantity × face / entry), valued like a linear
    /// position of that many coins (see <see cref="RiskBook{TMargin}.PositionUnits"/>).
    /// </summary>
    Inverse = 1,
}

/// <summary>An instrument definition.</summary>
/// <param name="Kind">Spot, future, perpetual, call or put.</param>
/// <param name="Underlying">Underlying index (dense, below <see cref="RiskConfig.MaxUnderlyings"/>).</param>
/// <param name="Strike">Strike (options).</param>
/// <param name="ExpiryNanos">Expiry, Unix nanoseconds (futures and options).</param>
/// <param name="Multiplier">Contract multiplier.</param>
/// <param name="TickSize">Price increment.</param>
/// <param name="LotSize">Quantity increment.</param>
public readonly record struct InstrumentSpec(InstrumentKind Kind, int Underlying, double Strike, long ExpiryNanos, double Multiplier, double TickSize, double LotSize)
{
    /// <summary>True for calls and puts.</summary>
    public bool IsOption => Kind is InstrumentKind.Call or InstrumentKind.Put;

    /// <summary>Linear (the default) or inverse (futures and perpetuals only; <see cref="Multiplier"/> is then the face value per contract).</summary>
    public Settlement Settlement { get; init; }

    /// <summary>True for an inverse (coin-settled) contract.</summary>
    public bool IsInverse => Settlement == Settlement.Inverse;
}

/// <summary>One tier of a collateral haircut schedule: value up to <paramref name="UpToValue"/> (cumulative) is counted at 1 − <paramref name="Haircut"/>.</summary>
public readonly record struct HaircutTier(double UpToValue, double Haircut);

/// <summary>What an instrument definition did.</summary>
public enum DefinitionResult : byte
{
    /// <summary>Defined.</summary>
    Defined = 0,
    /// <summary>The id is beyond <see cref="RiskConfig.MaxInstruments"/>.</summary>
    IdOutOfRange = 1,
    /// <summary>The id is already defined (definitions are immutable).</summary>
    AlreadyDefined = 2,
    /// <summary>The underlying is not defined.</summary>
    UnknownUnderlying = 3,
    /// <summary>Multiplier, tick size or lot size not positive and finite.</summary>
    InvalidSize = 4,
    /// <summary>An option without a positive strike or an expiry.</summary>
    InvalidOption = 5,
    /// <summary>A future without an expiry.</summary>
    MissingExpiry = 6,
    /// <summary>A kind beyond <see cref="InstrumentKind.Put"/>.</summary>
    UnknownKind = 7,
    /// <summary>A settlement beyond <see cref="Settlement.Inverse"/>, or inverse settlement for spot or an option (futures and perpetuals only).</summary>
    InvalidSettlement = 8,
}

/// <summary>What a mark update did.</summary>
public enum MarkResult : byte
{
    /// <summary>Applied.</summary>
    Accepted = 0,
    /// <summary>A jump beyond the band: held until a second mark confirms it.</summary>
    Held = 1,
    /// <summary>Not a finite positive number.</summary>
    RejectedInvalid = 2,
    /// <summary>Unknown underlying or instrument id.</summary>
    RejectedUnknownId = 3,
    /// <summary>A jump beyond the band, and the policy rejects jumps.</summary>
    RejectedJump = 4,
    /// <summary>Older than the last accepted mark.</summary>
    RejectedOutOfOrder = 5,
}

/// <summary>What a fill did.</summary>
public enum FillResult : byte
{
    /// <summary>Applied.</summary>
    Applied = 0,
    /// <summary>Unknown account or instrument.</summary>
    RejectedUnknownId = 1,
    /// <summary>Quantity or price not finite, quantity zero, price not positive, or quantity, price, notional or the resulting position beyond the configured maxima.</summary>
    RejectedInvalid = 2,
    /// <summary>The account has no free position slot.</summary>
    RejectedPositionCapacity = 3,
    /// <summary>The account is an isolated position bound to another instrument.</summary>
    RejectedIsolatedInstrument = 4,
}

/// <summary>What a margin mode change did.</summary>
public enum ModeChangeResult : byte
{
    /// <summary>The account is now in the requested mode.</summary>
    Changed = 0,
    /// <summary>The account already was in that mode (with that parent and instrument): nothing changed.</summary>
    Unchanged = 1,
    /// <summary>Unknown account, parent or instrument, or a mode beyond <see cref="MarginMode.Isolated"/>.</summary>
    RejectedUnknownId = 2,
    /// <summary>Under the new mode the account would not be healthy (its ladder would not read healthy).</summary>
    RejectedWouldBreach = 3,
    /// <summary>An account becomes or stops being an isolated position only while it holds no position.</summary>
    RejectedNotFlat = 4,
    /// <summary>An isolated account's parent must be another account that is not itself isolated, and an account that parents isolated ones cannot become isolated.</summary>
    RejectedInvalidParent = 5,
}

/// <summary>What a collateral transfer did.</summary>
public enum TransferResult : byte
{
    /// <summary>Moved.</summary>
    Applied = 0,
    /// <summary>Unknown account or asset.</summary>
    RejectedUnknownId = 1,
    /// <summary>Amount not finite and positive, or beyond the source's balance or the configured maxima.</summary>
    RejectedInvalid = 2,
    /// <summary>Transfers move collateral between an isolated account and its parent only.</summary>
    RejectedNotLinked = 3,
    /// <summary>The source would not be healthy after the transfer.</summary>
    RejectedWouldBreach = 4,
}

/// <summary>The margin ladder.</summary>
public enum MarginState : byte
{
    /// <summary>Equity covers initial margin.</summary>
    Healthy = 0,
    /// <summary>Equity below initial margin: only risk-reducing orders pass.</summary>
    MarginCall = 1,
    /// <summary>Equity below maintenance margin: liquidate.</summary>
    Liquidation = 2,
}

/// <summary>
/// An account changed margin state. When several changes of one account wait together they are
/// coalesced into one: <see cref="From"/> is the first one's from-state, <see cref="To"/> and the
/// numbers are the latest, and <see cref="Replaced"/> counts the changes folded into it (so a
/// transition stands for 1 + <see cref="Replaced"/> state changes, and <see cref="From"/> may equal
/// <see cref="To"/> after a round trip).
/// </summary>
public readonly record struct MarginTransition(int Account, MarginState From, MarginState To, double Equity, double InitialMargin, double MaintenanceMargin, int Replaced = 0);

/// <summary>An account's historical risk measures (<c>RiskBook.HistoricalRisk</c>): losses positive.</summary>
/// <param name="ValueAtRisk">The loss at the VaR confidence (the ⌈αN⌉-th smallest of the dates').</param>
/// <param name="ExpectedShortfall">The mean of the worst (1 − α) share at the grid's confidence.</param>
public readonly record struct TailRisk(double ValueAtRisk, double ExpectedShortfall);

/// <summary>
/// A position in a liquidation ranking: its loss in its underlying's worst scenario (under a historical
/// grid's tail measure, its contribution to the account's expected shortfall).
/// </summary>
public readonly record struct LiquidationCandidate(int Instrument, double Quantity, double WorstScenarioLoss);

/// <summary>
/// How liquidation orders are sized and priced. <paramref name="TargetFraction"/> f in [0, 1]: the
/// order restores equity ≥ MM + f·(IM − MM) (0 = back to maintenance, 1 = back to initial margin;
/// incremental liquidation stops in between), and never less than the ladder's exit from
/// liquidation, MM·(1 + hysteresis). <paramref name="PriceBand"/> in [0, 0.5): the limit price is the
/// mark moved against the account by this fraction (what sizing assumes the fill costs).
/// <paramref name="FeeRate"/> in [0, 0.1]: the liquidation fee, a fraction of the order's notional at
/// its limit, taken from the account's equity in sizing and carried on the order.
/// </summary>
public readonly record struct LiquidationPolicy(double TargetFraction, double PriceBand, double FeeRate)
{
    /// <summary>Back to maintenance (plus hysteresis), a 2 % band, a 0.5 % fee.</summary>
    public static LiquidationPolicy Default => new(0, 0.02, 0.005);

    /// <summary>The problems with these values (empty when valid), each naming its field.</summary>
    public IReadOnlyList<string> Problems(string prefix = "")
    {
        var problems = new List<string>();
        if (TargetFraction is not (>= 0 and <= 1))
        {
            problems.Add($"{prefix}targetFraction: must be in [0, 1] (0 = back to maintenance, 1 = back to initial margin), got {TargetFraction}");
        }

        if (PriceBand is not (>= 0 and < 0.5))
        {
            problems.Add($"{prefix}priceBand: must be in [0, 0.5), got {PriceBand}");
        }

        if (FeeRate is not (>= 0 and <= 0.1))
        {
            problems.Add($"{prefix}feeRate: must be in [0, 0.1], got {FeeRate}");
        }

        return problems;
    }
}

/// <summary>
/// One liquidation order: <paramref name="Quantity"/> signed as a fill would be (a sell of a long is
/// negative), at most the position; <paramref name="LimitPrice"/> on the instrument's tick;
/// <paramref name="Fee"/> the liquidation fee at the limit; <paramref name="RestoresTarget"/> false
/// when it closes the whole position and the account is still short of the target (another follows).
/// </summary>
public readonly record struct LiquidationOrder(int Instrument, double Quantity, double LimitPrice, double Fee, bool RestoresTarget);

/// <summary>Policy for a mark that jumps beyond its band.</summary>
public enum JumpPolicy : byte
{
    /// <summary>Hold it; a second mark within the band of the held one confirms and applies.</summary>
    HoldForConfirmation = 0,
    /// <summary>Reject it outright.</summary>
    Reject = 1,
}

/// <summary>Capacities and parameters of a <see cref="RiskBook"/>; everything is preallocated from these.</summary>
public sealed record RiskConfig
{
    /// <summary>Underlyings (indexes).</summary>
    public int MaxUnderlyings { get; init; } = 4;
    /// <summary>Instruments.</summary>
    public int MaxInstruments { get; init; } = 1024;
    /// <summary>Accounts.</summary>
    public int MaxAccounts { get; init; } = 10_000;
    /// <summary>Open positions per account.</summary>
    public int MaxPositionsPerAccount { get; init; } = 64;
    /// <summary>Collateral assets.</summary>
    public int MaxAssets { get; init; } = 8;
    /// <summary>Scenario grid of the risk arrays.</summary>
    public ScenarioGrid Grid { get; init; } = ScenarioGrid.CmeSpan16(0.15, 0.25);
    /// <summary>
    /// Whether a collateral asset priced by an underlying's index moves in that underlying's scenarios
    /// by default (a venue's "equity side impact"); <see cref="RiskBook{TMargin}.DefineAsset(int, int, double, ReadOnlySpan{HaircutTier}, bool)"/> sets it per asset.
    /// </summary>
    public bool CollateralInScenarios { get; init; }
    /// <summary>
    /// A funding provision in initial margin (off by default): each perpetual position that would pay
    /// funding at its perpetual's current rate (the last funding event's, or one a file sets) adds the
    /// next interval's payment, max(0, quantity × multiplier × mark × rate), to its account × underlying
    /// requirement (<see cref="RiskBook{TMargin}.FundingProvision(int)"/>).
    /// </summary>
    public bool FundingProvision { get; init; }
    /// <summary>EWMA volatility per underlying and the price scan range it sets (off by default).</summary>
    public DynamicRangeConfig DynamicRange { get; init; } = DynamicRangeConfig.Off;
    /// <summary>Underlyings calibrated apart from the grid's own numbers at construction (<see cref="RiskBook{TMargin}.SetScenarioCalibration"/> changes them later).</summary>
    public IReadOnlyList<UnderlyingCalibration> ScenarioCalibrations { get; init; } = [];
    /// <summary>Continuously compounded rate used for discounting.</summary>
    public double Rate { get; init; } = 0.03;
    /// <summary>Maintenance margin as a fraction of initial (IM = MM × 1.25 ⇒ 0.8).</summary>
    public double MaintenanceFraction { get; init; } = 0.8;
    /// <summary>Short option minimum per short option contract, as a fraction of the underlying notional (index × multiplier).</summary>
    public double ShortOptionMinimumFraction { get; init; } = 0.005;
    /// <summary>Per-position margin of standard and isolated accounts.</summary>
    public StandardMarginConfig StandardMargin { get; init; } = StandardMarginConfig.Default;
    /// <summary>The margin mode every account starts in (<see cref="RiskBook{TMargin}.SetMarginMode"/> changes one).</summary>
    public MarginMode DefaultMarginMode { get; init; } = MarginMode.Portfolio;

    /// <summary>Portfolio requirement components beyond the scan risk (<see cref="PortfolioComponents"/>); none by default.</summary>
    public PortfolioComponentsConfig Components { get; init; } = PortfolioComponentsConfig.None;
    /// <summary>Hysteresis: to move to a better state, equity must clear the threshold by this fraction.</summary>
    public double Hysteresis { get; init; } = 0.02;
    /// <summary>Largest accepted relative move of an index from the last accepted mark.</summary>
    public double IndexBand { get; init; } = 0.10;
    /// <summary>Largest accepted relative move of an implied volatility.</summary>
    public double VolBand { get; init; } = 0.50;
    /// <summary>Highest accepted implied volatility.</summary>
    public double MaxVolatility { get; init; } = 10.0;
    /// <summary>What to do with a jump.</summary>
    public JumpPolicy Jumps { get; init; } = JumpPolicy.HoldForConfirmation;
    /// <summary>A mark older than this is stale.</summary>
    public long StaleAfterNanos { get; init; } = 180L * 1_000_000_000;
    /// <summary>
    /// Largest accepted price (index, fill, average) of any instrument. With <see cref="MaxQuantity"/>,
    /// <see cref="MaxNotional"/> and <see cref="MaxCollateralValue"/> it bounds every input, so every
    /// derived number (positions, P&amp;L, Greeks, risk arrays, equity, margin) stays finite.
    /// </summary>
    public double MaxPrice { get; init; } = 1e9;
    /// <summary>Largest accepted quantity of one fill, and of one position after a fill (contracts).</summary>
    public double MaxQuantity { get; init; } = 1e9;
    /// <summary>Largest accepted contract multiplier of an instrument definition (strikes are bounded by <see cref="MaxPrice"/>).</summary>
    public double MaxMultiplier { get; init; } = 1e8;
    /// <summary>Largest accepted notional of one fill: |quantity| × price × the instrument's multiplier.</summary>
    public double MaxNotional { get; init; } = 1e13;
    /// <summary>Largest accepted |balance × price| of one collateral balance.</summary>
    public double MaxCollateralValue { get; init; } = 1e13;
    /// <summary>Largest accepted |balance| of one collateral balance in units of its asset (applies also while the asset has no price yet).</summary>
    public double MaxCollateralUnits { get; init; } = 1e13;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        Require(MaxUnderlyings is > 0 and <= 1024, nameof(MaxUnderlyings), "must be in 1..1024");
        Require(MaxInstruments is > 0 and <= 1 << 20, nameof(MaxInstruments), "must be in 1..1048576");
        Require(MaxAccounts is > 0 and <= 1 << 24, nameof(MaxAccounts), "must be in 1..16777216");
        Require(MaxPositionsPerAccount is > 0 and <= 4096, nameof(MaxPositionsPerAccount), "must be in 1..4096");
        Require(MaxAssets is > 0 and <= 256, nameof(MaxAssets), "must be in 1..256");
        DynamicRange?.Validate();
        Require(Grid is not null, nameof(Grid), "is required");
        Require(double.IsFinite(Rate) && Math.Abs(Rate) < 1, nameof(Rate), "must be finite and below 100 %");
        Require(MaintenanceFraction is > 0 and <= 1, nameof(MaintenanceFraction), "must be in (0, 1]");
        Require(ShortOptionMinimumFraction is >= 0 and < 1, nameof(ShortOptionMinimumFraction), "must be in [0, 1)");
        Require(StandardMargin is not null, nameof(StandardMargin), "is required");
        StandardMargin!.Validate();
        Require(DefaultMarginMode is MarginMode.Portfolio or MarginMode.Standard, nameof(DefaultMarginMode), "must be portfolio or standard (an isolated account needs a parent and an instrument)");
        Require(Hysteresis is >= 0 and < 1, nameof(Hysteresis), "must be in [0, 1)");
        Require(IndexBand > 0 && double.IsFinite(IndexBand), nameof(IndexBand), "must be positive");
        Require(VolBand > 0 && double.IsFinite(VolBand), nameof(VolBand), "must be positive");
        Require(MaxVolatility > 0 && double.IsFinite(MaxVolatility), nameof(MaxVolatility), "must be positive");
        Require(StaleAfterNanos > 0, nameof(StaleAfterNanos), "must be positive");
        Require(MaxPrice > 0 && MaxPrice <= 1e15, nameof(MaxPrice), "must be in (0, 1e15]");
        Require(MaxQuantity > 0 && MaxQuantity <= 1e15, nameof(MaxQuantity), "must be in (0, 1e15]");
        Require(MaxMultiplier > 0 && MaxMultiplier <= 1e12, nameof(MaxMultiplier), "must be in (0, 1e12]");
        Require(MaxNotional > 0 && MaxNotional <= 1e18, nameof(MaxNotional), "must be in (0, 1e18]");
        Require(MaxCollateralValue > 0 && MaxCollateralValue <= 1e18, nameof(MaxCollateralValue), "must be in (0, 1e18]");
        Require(MaxCollateralUnits > 0 && MaxCollateralUnits <= 1e18, nameof(MaxCollateralUnits), "must be in (0, 1e18]");
        Require(Components is not null, nameof(Components), "is required (PortfolioComponentsConfig.None for none)");
        Components!.Validate(MaxUnderlyings);
    }

    private static void Require(bool ok, string field, string problem)
    {
        if (!ok)
        {
            throw new ArgumentException($"RiskConfig.{field} {problem}.", field);
        }
    }
}

/// <summary>An underlying's own scenario calibration.</summary>
/// <param name="Underlying">Underlying id.</param>
/// <param name="Parameters">Its calibration.</param>
public readonly record struct UnderlyingCalibration(int Underlying, ScenarioParameters Parameters);

/// <summary>
/// Dynamic price scan ranges from an EWMA volatility per underlying (RiskMetrics form), with an
/// anti-procyclicality floor and buffer and a cap on the daily rise. Everything runs on business
/// time (the index messages' timestamps), so a replay recomputes it exactly.
/// </summary>
public sealed record DynamicRangeConfig
{
    /// <summary>Off.</summary>
    public static DynamicRangeConfig Off { get; } = new();

    /// <summary>On or off.</summary>
    public bool Enabled { get; init; }

    /// <summary>Business time between return samples (an index tick at least this long after the last sample takes the next one).</summary>
    public long SampleIntervalNanos { get; init; } = 86_400_000_000_000;

    /// <summary>Decay per day (0.94, RiskMetrics daily); per sample interval Δ days it is λ^Δ, so the half-life in time stays the same whatever the interval.</summary>
    public double LambdaPerDay { get; init; } = 0.94;

    /// <summary>Daily volatility the EWMA starts from (its seed; 0.03 ≈ 57 % a year).</summary>
    public double SeedDailyVolatility { get; init; } = 0.03;

    /// <summary>Seeds by underlying id, overriding <see cref="SeedDailyVolatility"/> for the underlyings they cover (the host fills them from <see cref="SeedHistory"/>); empty: none.</summary>
    public IReadOnlyList<double> SeedDailyVolatilities { get; init; } = [];

    /// <summary>
    /// A CSV of daily closes (the <c>llr backtest</c> format) whose EWMA seeds each underlying, by
    /// name: read by the host (<c>llr engine</c>, <c>llr margin</c>, <c>llr backtest</c>), which sets
    /// <see cref="SeedDailyVolatilities"/>; the book itself never reads a file. Null: the configured seed.
    /// </summary>
    public string? SeedHistory { get; init; }

    /// <summary>The seed of <paramref name="underlying"/>: its own from <see cref="SeedDailyVolatilities"/>, else <see cref="SeedDailyVolatility"/>.</summary>
    public double SeedFor(int underlying) => (uint)underlying < (uint)SeedDailyVolatilities.Count ? SeedDailyVolatilities[underlying] : SeedDailyVolatility;

    /// <summary>Multiplier k of the daily volatility (2.33 ≈ the 99th percentile of a normal).</summary>
    public double Multiplier { get; init; } = 2.33;

    /// <summary>Margin period of risk, days.</summary>
    public double MarginPeriodDays { get; init; } = 2;

    /// <summary>Anti-procyclicality buffer held in calm markets (EMIR Art. 28: at least 25 %): the range is k σ √MPOR × (1 + buffer).</summary>
    public double Buffer { get; init; } = 0.25;

    /// <summary>
    /// EMIR Art. 28(1)(a): the buffer is released in stress. Off (the default), the range is always
    /// k σ √MPOR × (1 + buffer). On, a rise of the unbuffered range k σ √MPOR is absorbed by the buffer
    /// already held: the range is min(k σ √MPOR × (1 + buffer), max(k σ √MPOR, the range in force)) — it
    /// stays put while the rise fits in the buffer, follows k σ √MPOR once the buffer is used up, and
    /// after the stress falls only when the buffered range comes down to it (so the buffer rebuilds
    /// before the margin falls). The first sample starts with the buffer built.
    /// </summary>
    public bool ReleaseBufferInStress { get; init; }

    /// <summary>
    /// EMIR Art. 28(1)(b): a weight w (at least 0.25 when used; 0 = off) on stressed observations. The
    /// variance the range uses is (1 − w) σ²_EWMA + w σ²_stressed, σ_stressed = <see cref="StressedDailyVolatility"/>
    /// (a stressed period's daily volatility, measured on its history by the venue).
    /// </summary>
    public double StressedWeight { get; init; }

    /// <summary>The stressed period's daily volatility the <see cref="StressedWeight"/> applies to (required with it).</summary>
    public double StressedDailyVolatility { get; init; }

    /// <summary>The range never falls below this (a floor, e.g. from a long look-back).</summary>
    public double Floor { get; init; } = 0.05;

    /// <summary>Largest rise of the range in one UTC day, relative to its value at the day's start (0.5: at most ×1.5 a day).</summary>
    public double MaxDailyIncrease { get; init; } = 0.5;

    /// <summary>The range never exceeds this (a grid's extreme rows must keep prices positive).</summary>
    public double Ceiling { get; init; } = 0.3;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        static void Require(bool ok, string field, string why)
        {
            if (!ok)
            {
                throw new ArgumentException($"{field} {why}", field);
            }
        }

        Require(SampleIntervalNanos >= 1_000_000_000 && SampleIntervalNanos <= 31 * 86_400_000_000_000L, nameof(SampleIntervalNanos), "must be between 1 second and 31 days");
        Require(LambdaPerDay is > 0 and < 1, nameof(LambdaPerDay), "must be in (0, 1)");
        Require(SeedDailyVolatility is > 0 and < 1, nameof(SeedDailyVolatility), "must be in (0, 1)");
        Require(SeedDailyVolatilities.All(v => v is > 0 and < 1), nameof(SeedDailyVolatilities), "must each be in (0, 1)");
        Require(Multiplier is > 0 and <= 20, nameof(Multiplier), "must be in (0, 20]");
        Require(MarginPeriodDays is > 0 and <= 30, nameof(MarginPeriodDays), "must be in (0, 30]");
        Require(Buffer is >= 0 and <= 1, nameof(Buffer), "must be in [0, 1]");
        Require(Floor is > 0 and < 1, nameof(Floor), "must be in (0, 1)");
        Require(Ceiling > Floor && Ceiling < 1, nameof(Ceiling), "must be above the floor and below 1");
        Require(MaxDailyIncrease is > 0 and <= 10, nameof(MaxDailyIncrease), "must be in (0, 10]");
        Require(StressedWeight == 0 || StressedWeight is >= 0.25 and <= 1, nameof(StressedWeight), "must be 0 (off) or in [0.25, 1] (EMIR Art. 28(1)(b): at least 25 %)");
        Require(StressedWeight == 0 ? StressedDailyVolatility == 0 : StressedDailyVolatility is > 0 and < 1, nameof(StressedDailyVolatility),
            "must be in (0, 1) with a stressed weight, and left out without one");
    }
}
