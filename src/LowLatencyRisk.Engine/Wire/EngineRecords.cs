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
    /// <summary>A liquidation order the engine sized (<see cref="LiquidationPlanRecord"/>).</summary>
    public const byte LiquidationPlanned = 0xE0;

    /// <summary>The type byte a forged record is journaled with (refused as an unknown type, live and in replay).</summary>
    public const byte Neutralized = 0xFF;

    /// <summary>Layout version of <see cref="LiquidationPlanRecord"/>.</summary>
    public const byte Version = 1;
}

/// <summary>A liquidation order as the engine sized it, as journaled (a journal record: 120 bytes, this first).</summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
internal struct LiquidationPlanRecord
{
    [FieldOffset(0)] public byte Type;
    [FieldOffset(1)] public byte Version;
    [FieldOffset(2)] public byte RestoresTarget;
    [FieldOffset(4)] public int Account;
    [FieldOffset(8)] public long PlanId;
    [FieldOffset(16)] public int Instrument;
    [FieldOffset(24)] public double Quantity;
    [FieldOffset(32)] public double LimitPrice;
    [FieldOffset(40)] public double Fee;
    [FieldOffset(48)] public double Equity;
    [FieldOffset(56)] public long IssuedNanos;
    [FieldOffset(64)] public long CausePublishTicks;
}
