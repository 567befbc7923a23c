using System.Globalization;
using LowLatencyRisk.Engine;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Operations;

/// <summary>Whether the engine behind a counters file is running and publishing.</summary>
public enum EngineLiveness
{
    /// <summary>Its process is there and published within the stale threshold.</summary>
    Live,

    /// <summary>Its process is there but has not published for longer than the threshold (stopped, hung or starved).</summary>
    Stale,

    /// <summary>Its process is gone: these counters will not move again.</summary>
    Dead,
}

/// <summary>
/// A read-only view of a running engine's shared-memory counters file (what <c>llr stats</c> and the
/// Prometheus exporter read; the engine is never touched): sequence-locked copies, the engine's
/// liveness, and a restarted engine's new file followed.
/// </summary>
public sealed class EngineCountersView : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private SharedCounters _counters;

    private EngineCountersView(string path, SharedCounters counters)
    {
        Path = path;
        _counters = counters;
        Slots = new long[Math.Max(counters.SlotCount, EngineCountersLayout.Count)];
    }

    /// <summary>The counters file.</summary>
    public string Path { get; }

    /// <summary>The last copy read by <see cref="TryRead"/> (at least <see cref="EngineCountersLayout.Count"/> slots; slots the writer's layout lacks read 0).</summary>
    public long[] Slots { get; private set; }

    /// <summary>Process id of the engine that wrote the file.</summary>
    public int WriterPid => _counters.WriterPid;

    /// <summary>Opens <paramref name="path"/>, or null and why not (missing, not a counters file, unreadable).</summary>
    public static EngineCountersView? Open(string path, out string? problem)
    {
        var counters = Attach(path, out problem);
        return counters is null ? null : new EngineCountersView(path, counters);
    }

    /// <summary>
    /// If a new engine replaced the file (its creation stamp differs), maps the new one and returns true.
    /// A removed file keeps the last mapping (it then reads as dead).
    /// </summary>
    public bool FollowReplacement()
    {
        if (!IsReplaced(Path, _counters) || Attach(Path, out _) is not { } replacement)
        {
            return false;
        }

        _counters.Dispose();
        _counters = replacement;
        Slots = new long[Math.Max(replacement.SlotCount, EngineCountersLayout.Count)];
        return true;
    }

    /// <summary>
    /// Copies the counters into <see cref="Slots"/>; false with a reason when the writer kept them busy
    /// (retry) or the file holds another layout (<paramref name="foreign"/> true: do not retry).
    /// </summary>
    public bool TryRead(out string? problem, out bool foreign)
    {
        foreign = false;
        if (!_counters.TryRead(Slots))
        {
            problem = "the writer kept the counters busy";
            return false;
        }

        if (Slots[EngineCountersLayout.Layout] != EngineCountersLayout.LayoutId)
        {
            foreign = true;
            problem = string.Create(Inv, $"{Path}: not an engine counters layout (0x{Slots[EngineCountersLayout.Layout]:X})");
            return false;
        }

        problem = null;
        return true;
    }

    /// <summary>Dead: the writer's process is gone. Stale: it is there but has not published for <paramref name="staleSeconds"/>.</summary>
    public EngineLiveness Liveness(double staleSeconds, out string status, out double ageSeconds)
    {
        ageSeconds = MonotonicClock.ToNanos(MonotonicClock.Now() - _counters.UpdatedTicks) / 1e9;
        int pid = _counters.WriterPid;
        if (!IsAlive(pid))
        {
            status = string.Create(Inv, $"DEAD: process {pid} is gone; these counters are {ageSeconds:F1} s old");
            return EngineLiveness.Dead;
        }

        if (ageSeconds > staleSeconds)
        {
            status = string.Create(Inv, $"STALE: no update for {ageSeconds:F1} s (stopped, hung or starved)");
            return EngineLiveness.Stale;
        }

        status = string.Create(Inv, $"live, updated {ageSeconds * 1000:F0} ms ago");
        return EngineLiveness.Live;
    }

    /// <inheritdoc/>
    public void Dispose() => _counters.Dispose();

    private static bool IsAlive(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }

        string stat = System.IO.Path.Combine("/proc", pid.ToString(Inv), "stat");
        try
        {
            // A zombie (state Z) has exited: its counters will not move again.
            string text = File.ReadAllText(stat);
            int close = text.LastIndexOf(')');
            return close > 0 && close + 2 < text.Length && text[close + 2] != 'Z' && text[close + 2] != 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static SharedCounters? Attach(string path, out string? problem)
    {
        problem = null;
        try
        {
            return SharedCounters.Attach(path);
        }
        catch (Exception e) when (e is RingLayoutException or IOException or UnauthorizedAccessException)
        {
            problem = e is FileNotFoundException ? $"{path} does not exist (is `llr engine` running with this configuration?)" : $"{path}: {e.Message}";
            return null;
        }
    }

    /// <summary>True when the file at <paramref name="path"/> is no longer the one mapped (a new engine created another): its creation stamp differs.</summary>
    private static bool IsReplaced(string path, SharedCounters mapped)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> header = stackalloc byte[SharedCounters.HeaderLength];
            if (f.Read(header) < SharedCounters.HeaderLength)
            {
                return false;
            }

            return !header.Slice(SharedCounters.CreatedOffset, 8).SequenceEqual(mapped.Header.Slice(SharedCounters.CreatedOffset, 8));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
