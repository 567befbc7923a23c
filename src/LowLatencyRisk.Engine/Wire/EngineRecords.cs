using System.Runtime.InteropServices;

namespace LowLatencyRisk.Engine.Wire;

/// <summary>
/// Records the engine writes into its own journal, beside the feed messages it consumed: its
/// decisions that a replay must not take again. A replay re-applies the feed but revalues only at
/// its end (the live engine revalued between batches, on its clock), so the ladder's path — and with
/// it any decision made on it — can differ; a decision sent out of the engine (a liquidation order,
/// whose id the liquidator de-duplicates by) is therefore journaled before it is published and
/// restored from the journal, never re-decided.
/// </summary>
/// <remarks>
/// A record's first byte is a type no feed message has. A feed message claiming one of these types
/// is refused live (unknown type) and journaled with its type byte replaced by
/// <see cref="Neutralized"/>, so a replay refuses it too: a producer cannot forge a decision.
/// </remarks>
public static class EngineRecords
{
    /// <summary>A liquidation or deleverage order the engine sized (<see cref="LiquidationPlanRecord"/>).</summary>
    public const byte LiquidationPlanned = 0xE0;

    /// <summary>The insurance fund paid a bankrupt account's deficit (<see cref="FundCoverRecord"/>).</summary>
    public const byte FundCovered = 0xE1;

    /// <summary>
    /// The engine ended an order unfilled — the account left liquidation, or the order timed out
    /// (<see cref="PlanEndRecord"/>). Fills end orders in a replay as they did live; these are the
    /// other endings, so a replay's outstanding orders (and the fees their fills are charged) are
    /// exactly the live engine's.
    /// </summary>
    public const byte LiquidationEnded = 0xE2;

    /// <summary>The type byte a forged record is journaled with (refused as an unknown type, live and in replay).</summary>
    public const byte Neutralized = 0xFF;

    /// <summary>Layout version of the records.</summary>
    public const byte Version = 1;

    /// <summary>
    /// True for a type byte in the engine's record range (0xE0–0xEF), known or not: a feed message
    /// with one is neutralized before it is journaled, and a replay hands every one to the engine's
    /// record path, which refuses the types it does not know.
    /// </summary>
    public static bool IsRecord(byte type) => (type & 0xF0) == 0xE0;
}

/// <summary>A liquidation order as the engine sized it, as journaled (a journal record: 120 bytes, this first).</summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
internal struct LiquidationPlanRecord
{
    [FieldOffset(0)] public byte Type;
    [FieldOffset(1)] public byte Version;
    [FieldOffset(2)] public byte RestoresTarget;
    [FieldOffset(3)] public byte Flags;           // bit 2: a deleverage order (against Counterparty), as on the wire
    [FieldOffset(4)] public int Account;
    [FieldOffset(8)] public long PlanId;
    [FieldOffset(16)] public int Instrument;
    [FieldOffset(24)] public double Quantity;
    [FieldOffset(32)] public double LimitPrice;
    [FieldOffset(40)] public double Fee;
    [FieldOffset(48)] public double Equity;
    [FieldOffset(56)] public long IssuedNanos;
    [FieldOffset(64)] public long CausePublishTicks;
    [FieldOffset(72)] public int Counterparty;    // deleverage orders only
}

/// <summary>An order the engine ended unfilled, as journaled.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct PlanEndRecord
{
    [FieldOffset(0)] public byte Type;
    [FieldOffset(1)] public byte Version;
    [FieldOffset(4)] public int Account;
    [FieldOffset(8)] public long PlanId;
    [FieldOffset(16)] public long TimestampNanos;
}

/// <summary>The insurance fund's payment of a bankrupt account's deficit, as journaled.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal struct FundCoverRecord
{
    [FieldOffset(0)] public byte Type;
    [FieldOffset(1)] public byte Version;
    [FieldOffset(4)] public int Account;
    [FieldOffset(8)] public double Paid;          // into the account, out of the fund
    [FieldOffset(16)] public double Deficit;      // the account's deficit when found
    [FieldOffset(24)] public double FundAfter;    // the fund's balance after paying (a replay checks it)
    [FieldOffset(32)] public long TimestampNanos;
}
