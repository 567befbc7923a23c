namespace LowLatencyRisk.Ipc;

/// <summary>
/// Checks shared files a process has mapped (rings, counters) on a background thread every
/// interval and records the first problem in <see cref="Fault"/>; the owning loop reads that one
/// field (a volatile read) where it already does periodic work and stops cleanly when it is set.
/// </summary>
/// <remarks>
/// The checks are system calls (statx) and header reads: done here rather than on the engine
/// thread, so its latency never carries them. Detected: a file that shrank, was removed or
/// replaced, or whose header was overwritten in place. Not preventable by any check: a process with
/// write access truncating the file between two checks, which ends the next touch of the lost pages
/// (SIGBUS); the ring files' mode (owner-only by default) is what keeps other users from doing so.
/// </remarks>
public sealed class IntegrityWatch : IDisposable
{
    private readonly (string Name, Func<string?> Check)[] _checks;
    private readonly TimeSpan _interval;
    private readonly ManualResetEventSlim _stop = new(false);
    private readonly Thread _thread;
    private readonly Action<string>? _onFault;
    private volatile string? _fault;

    /// <summary>Starts checking every <paramref name="interval"/>.</summary>
    public IntegrityWatch(TimeSpan interval, params (string Name, Func<string?> Check)[] checks)
        : this(interval, null, checks)
    {
    }

    /// <summary>Starts checking every <paramref name="interval"/>; <paramref name="onFault"/> is called once, on the watch's thread, with the first fault.</summary>
    public IntegrityWatch(TimeSpan interval, Action<string>? onFault, params (string Name, Func<string?> Check)[] checks)
    {
        _onFault = onFault;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _checks = checks;
        _interval = interval;
        _thread = new Thread(Watch) { Name = "llr-integrity", IsBackground = true };
        _thread.Start();
    }

    /// <summary>The first problem found (which file, what changed), or null while all are intact.</summary>
    public string? Fault => _fault;

    /// <summary>Runs every check now on the calling thread (also what the background thread does); returns <see cref="Fault"/>.</summary>
    public string? CheckNow()
    {
        if (_fault is null)
        {
            foreach (var (name, check) in _checks)
            {
                if (check() is { } problem)
                {
                    _fault = $"the {name} changed: {problem}";
                    break;
                }
            }
        }

        return _fault;
    }

    private void Watch()
    {
        while (!_stop.Wait(_interval))
        {
            if (CheckNow() is { } fault)
            {
                _onFault?.Invoke(fault);
                return; // one fault is enough: the owner stops, and nothing here touches the files again
            }
        }
    }

    /// <summary>Stops the background thread (waits for a check in progress).</summary>
    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }
}
