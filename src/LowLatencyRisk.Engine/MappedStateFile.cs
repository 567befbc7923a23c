using System.IO.MemoryMappedFiles;

namespace LowLatencyRisk.Engine;

/// <summary>
/// A small fixed-size state file mapped into memory, for what a process must leave behind for its
/// successor when killed at any instruction (its stores are in the page cache at once): a 64-byte
/// header — an 8-byte magic and an 8-byte count that says what shape the rest has — then the owner's
/// body. Used by the liquidator's ledger and the feed bridge's positions.
/// </summary>
public sealed class MappedStateFile : IDisposable
{
    /// <summary>Bytes before the body.</summary>
    public const int HeaderSize = 64;
    private readonly MemoryMappedFile _file;

    private MappedStateFile(MemoryMappedFile file, long length)
    {
        _file = file;
        View = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
    }

    /// <summary>The whole file, header included (the body starts at <see cref="HeaderSize"/>).</summary>
    public MemoryMappedViewAccessor View { get; }

    /// <summary>Anonymous memory of the same shape, for a state that lives as long as the process.</summary>
    public static MappedStateFile InMemory(long magic, long count, long length)
    {
        var state = new MappedStateFile(MemoryMappedFile.CreateNew(null, length), length);
        state.View.Write(8, count);
        state.View.Write(0, magic);
        return state;
    }

    /// <summary>
    /// Opens the file at <paramref name="path"/> of exactly <paramref name="length"/> bytes, creating it
    /// (zeroed, with exactly <paramref name="mode"/> whatever the umask) when absent. Throws
    /// <see cref="InvalidDataException"/> when it has another length or another magic or count:
    /// "{path}: … not <paramref name="what"/>", with <paramref name="advice"/> on a wrong length.
    /// </summary>
    public static MappedStateFile Open(string path, long magic, long count, long length, UnixFileMode mode, string what, string advice)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        bool existed = File.Exists(path);
        if (existed)
        {
            long actual = new FileInfo(path).Length;
            if (actual != length)
            {
                throw new InvalidDataException($"{path}: {actual} bytes, {what} has {length}: {advice}");
            }
        }
        else
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = mode; // created with it (then set exactly, whatever the umask)
            }

            using (var create = new FileStream(path, options))
            {
                create.SetLength(length);
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, mode);
            }
        }

        var state = new MappedStateFile(MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, length, MemoryMappedFileAccess.ReadWrite), length);
        if (!existed)
        {
            state.View.Write(8, count);
            state.View.Write(0, magic); // last: a file killed half-made has no magic and is refused, not misread
        }
        else if (state.View.ReadInt64(0) != magic || state.View.ReadInt64(8) != count)
        {
            long foundMagic = state.View.ReadInt64(0), foundCount = state.View.ReadInt64(8);
            state.Dispose();
            throw new InvalidDataException($"{path}: not {what} (magic {foundMagic:X16}, count {foundCount})");
        }

        return state;
    }

    /// <summary>Unmaps it (a file's contents stay).</summary>
    public void Dispose()
    {
        View.Flush();
        View.Dispose();
        _file.Dispose();
    }
}
