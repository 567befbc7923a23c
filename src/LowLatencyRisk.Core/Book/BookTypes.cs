using System.Runtime.InteropServices;
using LowLatencyRisk.Core.Pricing;

namespace LowLatencyRisk.Core.Book;

/// <summary>Margin before and after a hypothetical fill.</summary>
public readonly record struct WhatIfResult(double InitialMarginBefore, double InitialMarginAfter, double EquityBefore, double EquityAfter)
{
    /// <summary>True when the fill does not increase initial margin (risk-reducing or neutral).</summary>
    public bool IsRiskReducing => InitialMarginAfter <= InitialMarginBefore;

    /// <summary>True when equity after the fill covers initial margin after it.</summary>
    public bool IsCovered => EquityAfter >= InitialMarginAfter;
}

/// <summary>One open position.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Position
{
    public int Instrument;
    public int Underlying;
    public double Quantity;
    public double Average;
}

/// <summary>An account's sums in one underlying; 64 bytes, one cache line.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct AccountUnderlying
{
    public double NetDelta;
    public double NetGamma;
    public double NetVega;
    public double NetTheta;
    public double Unrealized;
    public double ShortOptionUnits;
    public double Margin; // the initial requirement of this aggregate under the account's mode, as last computed; 0 when nothing is held
    public int PositionCount;
    public int Start; // where this underlying's group begins among the account's positions (the groups below it, counted): read with the line the fill and the tick read anyway
}

/// <summary>An account's totals; 64 bytes, one cache line.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct AccountTotals
{
    public double Realized;
    public double Collateral;
    public double InitialMargin;
    public double RequirementSum;  // Σ over underlyings of the aggregates' initial requirement (portfolio: initial margin = AccountInitial(this))
    public double MaintenanceSum;  // standard and isolated: Σ over underlyings of the maintenance requirement (portfolio: unused, MM = Maintenance(IM))
    public double Equity;
    public double UnrealizedTotal;
    public int PositionCount;
    public byte IncrementalUpdates;
    public MarginState State;
    public MarginMode Mode;
}

/// <summary>Where an isolated account belongs; (−1, −1) for every other account.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IsolationLink
{
    public int Parent;
    public int Instrument;
    public int Children; // isolated accounts whose parent this account is
}

/// <summary>Per-contract values of one instrument (multiplier applied; Greeks with respect to the index).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct InstrumentValue
{
    public double Mark;       // per unit
    public double Multiplier;
    public double Delta;      // per contract
    public double Gamma;
    public double Vega;
    public double Theta;
}
