namespace LowLatencyRisk.Engine;

/// <summary>Why the engine rejected a feed message (it was counted and did not touch state).</summary>
public enum FeedReject
{
    /// <summary>Unknown message type.</summary>
    UnknownType = 0,
    /// <summary>Layout version other than 1.</summary>
    BadVersion = 1,
    /// <summary>Producer id out of range.</summary>
    BadProducer = 2,
    /// <summary>Producer sequence not above the last one seen from that producer.</summary>
    Duplicate = 3,
    /// <summary>Unknown account, instrument, underlying or asset.</summary>
    UnknownId = 4,
    /// <summary>NaN, infinite, zero or negative where a positive finite value is required.</summary>
    InvalidValue = 5,
    /// <summary>A mark jumped beyond its band (held for confirmation or rejected, per policy).</summary>
    MarkJump = 6,
    /// <summary>A mark older than the last accepted one.</summary>
    OutOfOrder = 7,
    /// <summary>A table is full: the account has no free position slot, or the gate no room for another market-maker protection (<c>gate.mmpEntries</c>).</summary>
    PositionCapacity = 8,
    /// <summary>An order lifecycle event for an order the gate does not know.</summary>
    UnknownOrder = 9,
    /// <summary>An instrument definition the book refused (id taken or out of range, bad sizes, unknown underlying).</summary>
    InvalidDefinition = 10,
    /// <summary>A producer sequence beyond the engine's window from the last one accepted: refused, not adopted, so one bad number cannot silence the producer.</summary>
    SequenceJump = 11,
    /// <summary>A producer epoch older than the one the engine follows for that producer (a stale session).</summary>
    StaleEpoch = 12,
    /// <summary>A margin mode change the book refused: the account would not be healthy under the new mode, is not flat (to or from isolated), or the parent is invalid.</summary>
    ModeRefused = 13,
    /// <summary>A collateral transfer the book refused: the accounts are not an isolated account and its parent, the amount is not positive or beyond the balance, or the source would not stay healthy.</summary>
    TransferRefused = 14,
    /// <summary>A fill of an isolated account in an instrument other than its own.</summary>
    IsolatedInstrument = 15,
    /// <summary>
    /// A message about an account another shard owns (<see cref="ShardMap"/>): every shard reads the
    /// whole feed in order, so each counts here what its peers applied. A collateral transfer
    /// between accounts of two shards is refused by both (transfers stay within a shard).
    /// </summary>
    OtherShard = 16,
}

/// <summary>
/// The engine's counters: written by the engine thread only, read by anyone (a report, a
/// progress line) with plain loads; values may be a moment old, never torn on x64.
/// </summary>
public sealed class EngineCounters
{
    /// <summary>Messages processed by type (index = FeedMessageType).</summary>
    public long[] EventsByType { get; } = new long[EngineCountersLayout.FeedTypes];

    /// <summary>Rejected messages by reason (index = FeedReject).</summary>
    public long[] Rejects { get; } = new long[EngineCountersLayout.RejectReasons];

    /// <summary>Margin transitions taken from the book, by the state entered (index = MarginState).</summary>
    public long[] BreachesByState { get; } = new long[4];

    /// <summary>Messages the journal could not take (the engine halts at the first).</summary>
    public long JournalFailures { get; internal set; }

    /// <summary>Producers seen starting a new epoch (a restarted producer).</summary>
    public long ProducerRestarts { get; internal set; }

    /// <summary>Gaps seen in producer sequences (messages still applied).</summary>
    public long SequenceGaps { get; internal set; }

    /// <summary>Revaluations of the book (marks applied to every holder).</summary>
    public long Revaluations { get; internal set; }

    /// <summary>Batches processed.</summary>
    public long Batches { get; internal set; }

    /// <summary>Live messages processed from the feed (accepted or rejected); journal records replayed at recovery are counted apart.</summary>
    public long Events { get; internal set; }

    /// <summary>Journal records replayed at recovery (not in <see cref="Events"/>).</summary>
    public long ReplayedEvents { get; internal set; }

    /// <summary>Times the breach ring was full (the venue went risk-off until it drained).</summary>
    public long BreachRingFull { get; internal set; }

    /// <summary>Breaches waiting for room on the breach ring (at most one per account).</summary>
    public long PendingBreaches { get; internal set; }

    /// <summary>Margin state changes (each becomes a breach or is folded into one that waits).</summary>
    public long StateChanges { get; internal set; }

    /// <summary>Breach messages published on the breach ring.</summary>
    public long BreachesPublished { get; internal set; }

    /// <summary>State changes folded into a waiting breach of the same account: <see cref="StateChanges"/> = <see cref="BreachesPublished"/> + this + what still waits.</summary>
    public long BreachesCoalesced { get; internal set; }

    /// <summary>Nanoseconds the venue spent risk-off in finished episodes (see <see cref="RiskEngine.RiskOffNanos"/> for the running total).</summary>
    public long RiskOffNanos { get; internal set; }

    /// <summary>Liquidation orders sized (one outstanding per account in liquidation).</summary>
    public long LiquidationOrdersPlanned { get; internal set; }

    /// <summary>Liquidation orders put on the breach ring for the liquidator (re-announcements after a restart included).</summary>
    public long LiquidationOrdersPublished { get; internal set; }

    /// <summary>Liquidation orders covered by fills.</summary>
    public long LiquidationOrdersFilled { get; internal set; }

    /// <summary>Liquidation orders that ended unfilled: timed out, or the account left liquidation first.</summary>
    public long LiquidationOrdersEnded { get; internal set; }

    /// <summary>Market-maker protections tripped by maker fills.</summary>
    public long MmpTrips { get; internal set; }

    /// <summary>Mass cancels published on the breach ring (market-maker protection trips and kill switches turned on).</summary>
    public long MassCancelsPublished { get; internal set; }

    /// <summary>Perpetual funding events applied (refused ones are counted by reason).</summary>
    public long FundingEvents { get; internal set; }

    /// <summary>Funding payments settled (one per holder per event), from the book.</summary>
    public long FundingPayments { get; internal set; }

    /// <summary>Σ of the funding payers paid (positive), from the book.</summary>
    public double FundingPaid { get; internal set; }

    /// <summary>The insurance fund's balance (settlement currency): its start, plus fees, less the deficits it paid.</summary>
    public double InsuranceFund { get; internal set; }

    /// <summary>Liquidation fees moved from liquidated accounts into the insurance fund (settlement currency).</summary>
    public double LiquidationFees { get; internal set; }

    /// <summary>Payments of the insurance fund into bankrupt accounts.</summary>
    public long DeficitsCovered { get; internal set; }

    /// <summary>What the insurance fund paid into bankrupt accounts (settlement currency).</summary>
    public double DeficitCoveredAmount { get; internal set; }

    /// <summary>Deleverage orders sized (the fund could not pay a deficit).</summary>
    public long DeleverageOrders { get; internal set; }

    /// <summary>Quantity closed by deleverage orders' fills (contracts, over every instrument).</summary>
    public double DeleveragedQuantity { get; internal set; }

    /// <summary>Times a bankrupt account's deficit could be neither paid nor deleveraged (flat, or nobody on the other side; tried again after the order timeout).</summary>
    public long UncoveredDeficits { get; internal set; }

    /// <summary>Engine records in a replayed journal this engine could not hold (liquidation off, an unknown id, a value that is not a number): skipped, counted.</summary>
    public long RefusedRecords { get; internal set; }

    /// <summary>Accounts in liquidation for which no reduction of any position improved the gap (nothing sent; the default waterfall's case).</summary>
    public long LiquidationUnplannable { get; internal set; }

    /// <summary>Total rejects.</summary>
    public long TotalRejects => Rejects.Sum();

    /// <summary>
    /// Feed publish → applied, per batch (its last message), nanoseconds, in power-of-two buckets:
    /// bucket b counts values in [2^(b−1), 2^b), bucket 0 counts 0. One clock read per batch.
    /// </summary>
    public long[] FeedLatencyBuckets { get; } = new long[LatencyBuckets];

    /// <summary>Number of <see cref="FeedLatencyBuckets"/>.</summary>
    public const int LatencyBuckets = 48;

    /// <summary>Sum of the values counted in <see cref="FeedLatencyBuckets"/>, nanoseconds (a histogram's sum, for the Prometheus exporter).</summary>
    public long FeedLatencySumNanos { get; private set; }

    internal void RecordFeedLatency(long nanos)
    {
        FeedLatencySumNanos += Math.Max(0, nanos);
        int bucket = nanos <= 0 ? 0 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)nanos);
        FeedLatencyBuckets[Math.Min(bucket, LatencyBuckets - 1)]++;
    }
}

/// <summary>
/// The slots of the engine's shared-memory counters file (<see cref="Ipc.SharedCounters"/>), written
/// by <see cref="EngineService"/> every <c>engine.countersIntervalMilliseconds</c> and read by
/// <c>llr stats</c>. Appending slots is compatible; moving one is not (bump <see cref="LayoutId"/>).
/// </summary>
public static class EngineCountersLayout
{
    /// <summary>Layout identifier stored in slot 0.</summary>
    public const long LayoutId = 0x4C4C52454E47_0003; // "LLRENG" v3: 32 slots of events by type, 32 of rejects by reason

    /// <summary>Slots of events by feed message type (type numbers below this).</summary>
    public const int FeedTypes = 32;

    /// <summary>Slots of rejects by reason (<see cref="FeedReject"/> values below this).</summary>
    public const int RejectReasons = 32;

    /// <summary>Slot indices.</summary>
    public const int Layout = 0, Events = 1, Batches = 2, Revaluations = 3, SequenceGaps = 4, BreachRingFull = 5, PendingBreaches = 6,
        FeedLag = 7, BreachLag = 8, AbandonedSlots = 9, RiskOff = 10, WorkingOrders = 11, UptimeNanos = 12, EngineAllocatedBytes = 13, GcCount = 14,
        EventsByType = 16, Rejects = EventsByType + FeedTypes, BreachesByState = Rejects + RejectReasons, FeedLatency = BreachesByState + 4,
        StateChanges = FeedLatency + EngineCounters.LatencyBuckets, BreachesPublished = StateChanges + 1, BreachesCoalesced = StateChanges + 2,
        RiskOffNanos = StateChanges + 3, ReplayedEvents = StateChanges + 4, SnapshotsWritten = StateChanges + 5, SnapshotFailures = StateChanges + 6, ProducerRestarts = StateChanges + 7, JournalFailed = StateChanges + 8,
        OrderChecksAnswered = StateChanges + 9, OrderChecksMalformed = StateChanges + 10, OrderChecksWaited = StateChanges + 11, FeedLatencySumNanos = StateChanges + 12,
        LiquidationOrdersPlanned = StateChanges + 13, LiquidationOrdersFilled = StateChanges + 14, LiquidationOrdersEnded = StateChanges + 15,
        InsuranceFundBits = StateChanges + 16, LiquidationFeesBits = StateChanges + 17, DeficitsCovered = StateChanges + 18, DeficitCoveredBits = StateChanges + 19,
        DeleverageOrders = StateChanges + 20, DeleveragedQuantityBits = StateChanges + 21, UncoveredDeficits = StateChanges + 22,
        MmpTrips = StateChanges + 23, MassCancelsPublished = StateChanges + 24,
        FundingEvents = StateChanges + 25, FundingPayments = StateChanges + 26, FundingPaidBits = StateChanges + 27,
        SummariesPublished = StateChanges + 28, SummariesDeferred = StateChanges + 29,
        Count = StateChanges + 30;

    /// <summary>The slots that hold a double's bits (<see cref="BitConverter.Int64BitsToDouble"/>), not a count.</summary>
    public static bool IsDouble(int slot) => slot is InsuranceFundBits or LiquidationFeesBits or DeficitCoveredBits or DeleveragedQuantityBits or FundingPaidBits;

    /// <summary>Copies <paramref name="c"/> into <paramref name="slots"/> (the lag and process fields are the caller's).</summary>
    public static void Copy(EngineCounters c, Span<long> slots)
    {
        slots[Layout] = LayoutId;
        slots[Events] = c.Events;
        slots[Batches] = c.Batches;
        slots[Revaluations] = c.Revaluations;
        slots[SequenceGaps] = c.SequenceGaps;
        slots[BreachRingFull] = c.BreachRingFull;
        slots[PendingBreaches] = c.PendingBreaches;
        c.EventsByType.CopyTo(slots[EventsByType..]);
        c.Rejects.CopyTo(slots[Rejects..]);
        c.BreachesByState.CopyTo(slots[BreachesByState..]);
        c.FeedLatencyBuckets.CopyTo(slots[FeedLatency..]);
        slots[StateChanges] = c.StateChanges;
        slots[BreachesPublished] = c.BreachesPublished;
        slots[BreachesCoalesced] = c.BreachesCoalesced;
        slots[RiskOffNanos] = c.RiskOffNanos;
        slots[ReplayedEvents] = c.ReplayedEvents;
        slots[ProducerRestarts] = c.ProducerRestarts;
        slots[FeedLatencySumNanos] = c.FeedLatencySumNanos;
        slots[LiquidationOrdersPlanned] = c.LiquidationOrdersPlanned;
        slots[LiquidationOrdersFilled] = c.LiquidationOrdersFilled;
        slots[LiquidationOrdersEnded] = c.LiquidationOrdersEnded;
        slots[InsuranceFundBits] = BitConverter.DoubleToInt64Bits(c.InsuranceFund);
        slots[LiquidationFeesBits] = BitConverter.DoubleToInt64Bits(c.LiquidationFees);
        slots[DeficitsCovered] = c.DeficitsCovered;
        slots[DeficitCoveredBits] = BitConverter.DoubleToInt64Bits(c.DeficitCoveredAmount);
        slots[DeleverageOrders] = c.DeleverageOrders;
        slots[DeleveragedQuantityBits] = BitConverter.DoubleToInt64Bits(c.DeleveragedQuantity);
        slots[UncoveredDeficits] = c.UncoveredDeficits;
        slots[MmpTrips] = c.MmpTrips;
        slots[MassCancelsPublished] = c.MassCancelsPublished;
        slots[FundingEvents] = c.FundingEvents;
        slots[FundingPayments] = c.FundingPayments;
        slots[FundingPaidBits] = BitConverter.DoubleToInt64Bits(c.FundingPaid);
    }
}
