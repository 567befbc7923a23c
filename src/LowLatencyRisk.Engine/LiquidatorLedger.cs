using System.Runtime.InteropServices;
using LowLatencyRisk.Engine.Wire;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine;

/// <summary>
/// What the liquidator has sent: per account, the id of the last liquidation order it put on the
/// order ring. Order ids increase per account, so "already sent" is one comparison, and the ledger
/// is a fixed array (no allocation, no growth). Backed by a memory-mapped file, so a liquidator
/// killed at any instruction leaves its writes in the page cache for its successor.
/// </summary>
/// <remarks>
/// The liquidator publishes an order and then records it; a crash between the two is repaired by
/// <see cref="Reconcile"/>, which reads the order ring's published slots back (a ring keeps its last
/// <c>capacity</c> messages) and records every order found there. Together: an order is never sent
/// twice and never forgotten across liquidator restarts.
/// File: a 64-byte header ("LLRLIQ01", the account count) and one 8-byte id per account.
/// </remarks>
public sealed class LiquidatorLedger : IDisposable
{
    private const long Magic = 0x3130_5149_4C52_4C4C; // "LLRLIQ01" little-endian
    private readonly MappedStateFile? _file;
    private readonly long[]? _memory; // in memory

    private LiquidatorLedger(int accounts, MappedStateFile? file, long[]? memory)
    {
        Accounts = accounts;
        _file = file;
        _memory = memory;
    }

    /// <summary>Accounts a ledger file covers by default: ids 0 .. 2^20 − 1 (an 8 MiB file, sparse on disk).</summary>
    public const int DefaultAccounts = 1 << 20;

    /// <summary>Accounts covered (ids 0 .. Accounts − 1).</summary>
    public int Accounts { get; }

    /// <summary>A ledger that lives as long as the process (tests, the embedded run).</summary>
    public static LiquidatorLedger InMemory(int accounts)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(accounts);
        return new LiquidatorLedger(accounts, null, new long[accounts]);
    }

    /// <summary>
    /// Opens the ledger file at <paramref name="path"/>, creating it with <paramref name="mode"/> (the
    /// configuration's <c>rings.fileMode</c>; 0600 by default) when absent; throws
    /// <see cref="InvalidDataException"/> naming the problem when the file is not a ledger or was
    /// made for another account count.
    /// </summary>
    public static LiquidatorLedger Open(string path, int accounts, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(accounts);
        var file = MappedStateFile.Open(path, Magic, accounts, MappedStateFile.HeaderSize + (8L * accounts), mode,
            $"a liquidator ledger of {accounts} accounts", "not this configuration's ledger (remove it only if no liquidation order is in flight)");
        return new LiquidatorLedger(accounts, file, null);
    }

    /// <summary>The id of the last order sent for <paramref name="account"/> (0: none); −1 for an account outside the ledger.</summary>
    public long LastSent(int account) =>
        (uint)account >= (uint)Accounts ? -1 : _memory is not null ? _memory[account] : _file!.View.ReadInt64(MappedStateFile.HeaderSize + (8L * account));

    /// <summary>Records that order <paramref name="id"/> of <paramref name="account"/> was sent (ids only rise).</summary>
    public void Record(int account, long id)
    {
        if ((uint)account >= (uint)Accounts || id <= LastSent(account))
        {
            return;
        }

        if (_memory is not null)
        {
            _memory[account] = id;
        }
        else
        {
            _file!.View.Write(MappedStateFile.HeaderSize + (8L * account), id); // a store into the shared mapping: in the page cache at once
        }
    }

    /// <summary>
    /// Records every liquidation order still readable on <paramref name="orders"/> (the ring this
    /// liquidator writes): what a predecessor published but did not live to record. Returns how many
    /// orders were found.
    /// </summary>
    public int Reconcile(SharedRing orders)
    {
        ArgumentNullException.ThrowIfNull(orders);
        long claimed = orders.ReadClaimSequence();
        int found = 0;
        for (long s = Math.Max(0, claimed - orders.Capacity); s < claimed; s++)
        {
            var p = orders.PublishedPayload(s);
            if (p.Length >= Marshal.SizeOf<LiquidationOrderMessage>() && p[0] == LiquidationOrderDescriptor.MessageType && p[1] == LiquidationOrderDescriptor.Version)
            {
                ref readonly var m = ref WireMessage.Read<LiquidationOrderMessage>(p);
                Record(m.Account, m.PlanId);
                found++;
            }
        }

        return found;
    }

    /// <summary>Unmaps the file (its contents stay).</summary>
    public void Dispose() => _file?.Dispose();
}
