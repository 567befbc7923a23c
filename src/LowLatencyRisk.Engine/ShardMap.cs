using LowLatencyRisk.Core.Gate;
using LowLatencyRisk.Engine.Wire;

namespace LowLatencyRisk.Engine;

/// <summary>How a <see cref="ShardMap"/> assigns accounts to shards.</summary>
public enum ShardRule
{
    /// <summary>Account id modulo the shard count: even spread, no table to keep.</summary>
    Modulo = 0,

    /// <summary>
    /// Contiguous ranges of account ids: shard k owns [RangeStarts[k], RangeStarts[k + 1]) and the last
    /// shard everything from its start. For a venue that keeps a portfolio group (a parent and its
    /// isolated sub-accounts) or a firm on one shard by numbering its accounts together.
    /// </summary>
    Ranges = 1,
}

/// <summary>
/// Which shard (engine process) owns each account, by a documented rule and a version. Every shard
/// sees every index price, mark, definition and parameter message; a message about an account —
/// fill, order lifecycle, collateral, transfer, margin mode, account limit or kill switch,
/// market-maker protection — is applied only by the account's owner and refused by the others
/// (<see cref="FeedReject.OtherShard"/>), as is an order check (<c>RejectReason.OtherShard</c>).
/// </summary>
/// <remarks>
/// The map is part of a shard's identity: its journal and snapshots hold only its own accounts'
/// trading, so a shard restarted under another map (count, rule, ranges or version) would hold the
/// wrong accounts. <see cref="Identity"/> is what a shard records and checks.
/// </remarks>
public sealed class ShardMap
{
    private readonly int[] _rangeStarts;

    /// <summary>Creates a map of <paramref name="count"/> shards; <paramref name="rangeStarts"/> only for <see cref="ShardRule.Ranges"/>.</summary>
    public ShardMap(int version, int count, ShardRule rule, IReadOnlyList<int>? rangeStarts = null)
    {
        Version = version;
        Count = count;
        Rule = rule;
        _rangeStarts = rangeStarts is null ? [] : [.. rangeStarts];
        string? problem = Problem(version, count, rule, _rangeStarts);
        if (problem is not null)
        {
            throw new ArgumentException(problem);
        }
    }

    /// <summary>One shard owning every account (an engine that is not sharded).</summary>
    public static ShardMap Single { get; } = new(1, 1, ShardRule.Modulo);

    /// <summary>The map's version: raised whenever accounts move between shards.</summary>
    public int Version { get; }

    /// <summary>Number of shards.</summary>
    public int Count { get; }

    /// <summary>The assignment rule.</summary>
    public ShardRule Rule { get; }

    /// <summary>First account id of each shard (<see cref="ShardRule.Ranges"/> only; empty otherwise).</summary>
    public IReadOnlyList<int> RangeStarts => _rangeStarts;

    /// <summary>The shard that owns <paramref name="account"/> (any non-negative id; a negative id belongs to shard 0, where the book refuses it as unknown).</summary>
    public int ShardOf(int account)
    {
        if (account < 0 || Count == 1)
        {
            return 0;
        }

        if (Rule == ShardRule.Modulo)
        {
            return account % Count;
        }

        int k = Count - 1;
        while (k > 0 && account < _rangeStarts[k])
        {
            k--;
        }

        return k;
    }

    /// <summary>
    /// The accounts a feed message is about — what decides its shard: 0 for market data, definitions
    /// and parameters (every shard applies them), 1 for a fill, order lifecycle, collateral balance,
    /// market-maker protection, and an account's limit or kill switch, 2 for a collateral transfer
    /// (from, to) and a margin mode change with a parent (account, parent).
    /// </summary>
    public static int AccountsOf(ReadOnlySpan<byte> payload, out int first, out int second)
    {
        second = -1;
        switch (FeedMessageDescriptor.Header(payload).Type)
        {
            case FeedMessageType.Fill:
                first = WireMessage.Read<FillMessage>(payload).Account;
                return 1;
            case FeedMessageType.OrderLifecycle:
                first = WireMessage.Read<OrderLifecycleMessage>(payload).Account;
                return 1;
            case FeedMessageType.Collateral:
                first = WireMessage.Read<CollateralMessage>(payload).Account;
                return 1;
            case FeedMessageType.MmpConfig:
                first = WireMessage.Read<MmpConfigMessage>(payload).Account;
                return 1;
            case FeedMessageType.KillSwitch:
                ref readonly var k = ref WireMessage.Read<KillSwitchMessage>(payload);
                first = k.Id;
                return k.Scope == KillSwitchScope.Account ? 1 : 0;
            case FeedMessageType.LimitChange:
                ref readonly var l = ref WireMessage.Read<LimitChangeMessage>(payload);
                first = l.Id;
                return l.Scope is LimitScope.Account or LimitScope.AccountUnderlying ? 1 : 0;
            case FeedMessageType.MarginMode:
                ref readonly var m = ref WireMessage.Read<MarginModeMessage>(payload);
                first = m.Account;
                second = m.Parent;
                return m.Parent < 0 ? 1 : 2;
            case FeedMessageType.CollateralTransfer:
                ref readonly var t = ref WireMessage.Read<CollateralTransferMessage>(payload);
                first = t.FromAccount;
                second = t.ToAccount;
                return 2;
            default:
                first = -1;
                return 0; // market data, definitions, parameters, heartbeats: every shard
        }
    }

    /// <summary>
    /// The shard a feed message goes to, or −1 for every shard (<see cref="AccountsOf"/>). A message
    /// about two accounts of different shards goes to the first's owner, which refuses it
    /// (transfers and portfolio groups stay within a shard).
    /// </summary>
    public int Route(ReadOnlySpan<byte> payload) => AccountsOf(payload, out int first, out _) == 0 ? -1 : ShardOf(first);

    /// <summary>A 64-bit fingerprint of the map (rule, count, ranges, version): equal for maps that assign every account alike under the same version.</summary>
    public long Identity
    {
        get
        {
            ulong h = 14695981039346656037;
            void Mix(long v)
            {
                for (int i = 0; i < 8; i++)
                {
                    h = (h ^ (ulong)(v & 0xFF)) * 1099511628211;
                    v >>= 8;
                }
            }

            Mix(Version);
            Mix(Count);
            Mix((long)Rule);
            foreach (int s in _rangeStarts)
            {
                Mix(s);
            }

            return (long)h;
        }
    }

    /// <summary>What is wrong with these parameters, or null.</summary>
    public static string? Problem(int version, int count, ShardRule rule, IReadOnlyList<int> rangeStarts)
    {
        ArgumentNullException.ThrowIfNull(rangeStarts);
        if (version < 1)
        {
            return $"version must be at least 1; was {version}";
        }

        if (count is < 1 or > 256)
        {
            return $"count must be between 1 and 256; was {count}";
        }

        if (rule == ShardRule.Modulo)
        {
            return rangeStarts.Count == 0 ? null : "rangeStarts is only for the rule 'ranges'";
        }

        if (rule != ShardRule.Ranges)
        {
            return $"unknown rule {(int)rule}";
        }

        if (rangeStarts.Count != count)
        {
            return $"rangeStarts needs one start per shard ({count}); has {rangeStarts.Count}";
        }

        if (rangeStarts[0] != 0)
        {
            return "rangeStarts must begin at 0 (every account has an owner)";
        }

        for (int k = 1; k < count; k++)
        {
            if (rangeStarts[k] <= rangeStarts[k - 1])
            {
                return $"rangeStarts must rise strictly; [{k}] = {rangeStarts[k]} is not above [{k - 1}] = {rangeStarts[k - 1]}";
            }
        }

        return null;
    }

    /// <summary>The file in a journal folder that names the shard (and map) the journal belongs to.</summary>
    public const string JournalOwnerFile = "shard";

    /// <summary>
    /// Binds a journal folder to shard <paramref name="index"/> of this map: the first writer records
    /// the map's identity there; a later one under another map or index is refused (its journal holds
    /// another set of accounts' trading). A folder with segments and no record was written by an
    /// unsharded engine (<see cref="Single"/>, shard 0).
    /// </summary>
    /// <exception cref="Ipc.JournalException">The folder belongs to another shard or map.</exception>
    /// <param name="directory">The journal folder.</param>
    /// <param name="index">This engine's shard.</param>
    /// <param name="mode">The record file's permission bits (<c>rings.fileMode</c>).</param>
    public void ClaimJournal(string directory, int index, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        string? problem = CheckJournal(directory, index);
        if (problem is not null)
        {
            throw new Ipc.JournalException(problem);
        }

        string path = Path.Combine(directory, JournalOwnerFile);
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(path, Describe(index) + "\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, mode); // the configured bits exactly, like every file of the engine
            }
        }
    }

    /// <summary>Why shard <paramref name="index"/> of this map may not use the journal in <paramref name="directory"/>, or null (reads only: what <c>llr replay</c> checks).</summary>
    public string? CheckJournal(string directory, int index)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string path = Path.Combine(directory, JournalOwnerFile);
        string mine = Describe(index);
        string? theirs = File.Exists(path) ? File.ReadAllText(path).Trim()
            : Ipc.JournalReader.Segments(directory).Any() ? Single.Describe(0) : null;
        return theirs is null || theirs == mine ? null
            : $"{directory} holds the journal of {theirs}; this engine is {mine}. A shard's journal holds only its accounts' trading: use the folder of this shard, or the map the journal was written under.";
    }

    private string Describe(int index) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"shard {index} of {Count} (map version {Version}, {Rule}{(_rangeStarts.Length > 0 ? " " + string.Join(",", _rangeStarts) : "")}, identity {Identity:X16})");
}
