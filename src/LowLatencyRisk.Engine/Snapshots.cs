using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using LowLatencyRisk.Core.Persistence;
using LowLatencyRisk.Ipc;

namespace LowLatencyRisk.Engine;

/// <summary>
/// Snapshots of the engine's whole state, each tagged with the journal sequence it reflects,
/// written next to the journal as <c>snapshot-NNNNNNNNNNNNNNNN.llrs</c>.
/// </summary>
/// <remarks>
/// <para><b>Bounded stall.</b> <see cref="TryCapture"/> runs on the engine thread and only copies
/// the state into a preallocated buffer (one memcpy of the state: measured in perf/results and the
/// README); checksumming, the file write, fsync, the atomic rename and trimming the journal happen
/// on a background thread. While that thread is busy the next capture is skipped (a double buffer
/// of one: the engine never waits for the disk).</para>
/// <para><b>Format.</b> A 64-byte header — magic "LLRSNAP1", version, journal sequence, state
/// fingerprint (the shape of the state walk: capacities and layout), length, CRC-32C of the body —
/// then the body, the state walk's bytes. A snapshot with another version or fingerprint, or a bad
/// checksum, is refused with the reason, and recovery falls back to the previous snapshot.</para>
/// </remarks>
public sealed class SnapshotStore : IDisposable
{
    /// <summary>"LLRSNAP1".</summary>
    public const ulong Magic = 0x3150414E53524C4C;
    /// <summary>Format version.</summary>
    public const int Version = 15; // 2: breaches wait one per account (coalesced), producer epochs; 3: account totals keep the sum of underlying requirements (margin methodology seam); 4: account margin modes (mode, maintenance sums, isolation links); 5: portfolio component inputs (terms, tier deltas, instrument tiers); 6: the gate's open-order limits and counts, daily loss limits and baselines per account; 7: outstanding liquidation orders per account; 8: the insurance fund, deleverage orders; 9: perpetual funding (last funding time per instrument, payments still settling, totals); 10: scenario calibration per underlying; 11: EWMA volatility and dynamic scan range state per underlying; 12: the current funding rate per instrument and the funding provision per account × underlying; 13: the gate's position limit per account × underlying (firm position limits); 14: each account × underlying aggregate keeps where its group of positions starts; 15: instrument settlement (inverse contracts: the spec's settlement, the face value per instrument), the gate's working orders without a multiplier
    /// <summary>Header bytes.</summary>
    public const int HeaderLength = 64;

    private readonly string _directory;
    private readonly int _keep;
    private readonly byte[] _buffer;
    private readonly StateCapture _capture;
    private readonly ulong _fingerprint;
    private readonly Thread _writer;
    private readonly SemaphoreSlim _ready = new(0);
    private readonly CancellationTokenSource _stop = new();
    private volatile bool _busy;
    private long _pendingSequence;
    private int _pendingLength;

    /// <summary>Prepares the buffer for <paramref name="engine"/>'s state; keeps the newest <paramref name="keep"/> snapshots.</summary>
    public SnapshotStore(string directory, RiskEngine engine, int keep = 2)
    {
        ArgumentNullException.ThrowIfNull(engine);
        Directory.CreateDirectory(directory);
        _directory = directory;
        _keep = Math.Max(1, keep);
        var measure = new StateMeasure();
        engine.VisitState(measure);
        _fingerprint = measure.Fingerprint;
        _buffer = GC.AllocateUninitializedArray<byte>((int)measure.Length, pinned: true);
        _buffer.AsSpan().Fill(0xFF); // touch every page now, not during the first capture on the engine thread
        _capture = new StateCapture(_buffer);
        foreach (string stale in Directory.EnumerateFiles(directory, "snapshot-*.llrs.tmp"))
        {
            File.Delete(stale); // a write cut short by a crash
        }

        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "llr-snapshot" };
        _writer.Start();
    }

    /// <summary>Bytes per snapshot.</summary>
    public int Length => _buffer.Length;

    /// <summary>Snapshots written.</summary>
    public int Written { get; private set; }

    /// <summary>Captures skipped because the previous one was still being written.</summary>
    public int Skipped { get; private set; }

    /// <summary>Longest capture on the engine thread, nanoseconds.</summary>
    public long LongestCaptureNanos { get; private set; }

    /// <summary>The last write error (the engine keeps running; the journal still holds everything).</summary>
    public string? LastError { get; private set; }

    /// <summary>Snapshot writes that failed (each also reported through <see cref="Failed"/> as it happens).</summary>
    public int Failures { get; private set; }

    /// <summary>Called on the writer thread with the message of each failed write (the log of <c>llr engine</c>).</summary>
    public Action<string>? Failed { get; set; }

    /// <summary>Unix permission bits of snapshot files (0600 unless configured).</summary>
    public UnixFileMode FilePermissions { get; init; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Engine thread, between polls: copies the state (which reflects every journal record up to
    /// <paramref name="journalSequence"/>) and hands it to the writer. False when the previous
    /// snapshot is still being written. Allocation-free.
    /// </summary>
    public bool TryCapture(RiskEngine engine, long journalSequence)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (_busy)
        {
            Skipped++;
            return false;
        }

        long start = Stopwatch.GetTimestamp();
        _capture.Reset();
        engine.VisitState(_capture);
        _pendingSequence = journalSequence;
        _pendingLength = _capture.Position;
        _busy = true;
        _ready.Release();
        LongestCaptureNanos = Math.Max(LongestCaptureNanos, MonotonicClock.ToNanos(Stopwatch.GetTimestamp() - start));
        return true;
    }

    /// <summary>Waits until the snapshot being written (if any) is on disk.</summary>
    public void WaitIdle()
    {
        while (_busy)
        {
            Thread.Sleep(1);
        }
    }

    private void WriteLoop()
    {
        while (true)
        {
            try
            {
                _ready.Wait(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                Write(_pendingSequence, _buffer.AsSpan(0, _pendingLength));
                Written++;
                Retain();
                LastError = null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LastError = e.Message;
                Failures++;
                Failed?.Invoke(e.Message);
            }
            finally
            {
                _busy = false;
            }
        }
    }

    private string PathOf(long sequence) => Path.Combine(_directory, string.Create(CultureInfo.InvariantCulture, $"snapshot-{sequence:D16}.llrs"));

    private void Write(long sequence, ReadOnlySpan<byte> body)
    {
        var header = new byte[HeaderLength];
        BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), Version);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), sequence);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(24), _fingerprint);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(32), body.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(40), (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(48), JournalReader.Crc(body));
        string path = PathOf(sequence);
        string temporary = path + ".tmp";
        using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, HeaderLength + body.Length))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(handle, FilePermissions); // before any state is written into it
            }

            RandomAccess.Write(handle, header, 0);
            RandomAccess.Write(handle, body, HeaderLength);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(temporary, path, overwrite: true); // atomic: a snapshot file is whole or absent
    }

    /// <summary>Keeps the newest snapshots and trims journal segments that the oldest kept one covers.</summary>
    private void Retain()
    {
        var all = List(_directory);
        foreach (var (_, path) in all.Skip(_keep))
        {
            File.Delete(path);
        }

        var kept = all.Take(_keep).ToList();
        if (kept.Count == _keep)
        {
            JournalReader.Trim(_directory, kept[^1].Sequence);
        }
    }

    /// <summary>The snapshots in a folder, newest first.</summary>
    public static List<(long Sequence, string Path)> List(string directory) =>
        !Directory.Exists(directory) ? [] : Directory.EnumerateFiles(directory, "snapshot-*.llrs")
            .Select(p => (Sequence: long.TryParse(Path.GetFileNameWithoutExtension(p)["snapshot-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : -1, Path: p))
            .Where(x => x.Sequence >= 0)
            .OrderByDescending(x => x.Sequence)
            .ToList();

    /// <summary>
    /// Loads the newest valid snapshot into <paramref name="engine"/> (built with the same
    /// configuration); returns its journal sequence (0 when none was usable) and why each newer
    /// one was refused.
    /// </summary>
    public static (long Sequence, string? Path, List<string> Refused) LoadNewest(string directory, RiskEngine engine, string? only = null, long atOrBefore = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var measure = new StateMeasure();
        engine.VisitState(measure);
        var refused = new List<string>();
        foreach (var (sequence, path) in List(directory))
        {
            if ((only is not null && Path.GetFullPath(path) != only) || sequence > atOrBefore)
            {
                continue;
            }

            string? problem = Validate(path, sequence, measure, out byte[]? body);
            if (problem is not null)
            {
                refused.Add($"{Path.GetFileName(path)}: {problem}");
                continue;
            }

            engine.VisitState(new StateRestore(body));
            return (sequence, path, refused);
        }

        return (0, null, refused);
    }

    private static string? Validate(string path, long sequence, StateMeasure expected, out byte[]? body)
    {
        body = null;
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            return $"cannot read: {e.Message}";
        }

        if (bytes.Length < HeaderLength || BinaryPrimitives.ReadUInt64LittleEndian(bytes) != Magic)
        {
            return "not a snapshot (bad magic)";
        }

        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        if (version != Version)
        {
            return $"snapshot version {version}, this build reads version {Version}";
        }

        ulong fingerprint = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24));
        long length = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(32));
        if (fingerprint != expected.Fingerprint || length != expected.Length)
        {
            return $"state layout differs (fingerprint 0x{fingerprint:X16}, {length:N0} bytes; this configuration and build: 0x{expected.Fingerprint:X16}, {expected.Length:N0} bytes)";
        }

        if (BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16)) != sequence || bytes.Length != HeaderLength + length)
        {
            return "header does not match the file (name or length)";
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(48)) != JournalReader.Crc(bytes.AsSpan(HeaderLength)))
        {
            return "checksum mismatch (corrupt snapshot)";
        }

        body = bytes[HeaderLength..];
        return null;
    }

    /// <summary>Stops the writer thread (after the snapshot in flight).</summary>
    public void Dispose()
    {
        WaitIdle();
        _stop.Cancel();
        _writer.Join();
        _stop.Dispose();
        _ready.Dispose();
    }
}
