using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace LowLatencyRisk.Ipc;

/// <summary>A block of memory holding one ring: a memory-mapped file, or native memory for an in-process ring.</summary>
/// <remarks>The pointer is acquired once and stays valid until <see cref="Dispose"/>.</remarks>
internal abstract unsafe class RingMemory : IDisposable
{
    public byte* Pointer { get; protected set; }

    public long Length { get; protected set; }

    public abstract string Description { get; }

    /// <summary>
    /// Null while the memory is still the file it was mapped from at its full length; otherwise why
    /// it is not (the file shrank, was removed or replaced). Call it before touching the memory
    /// again; it does not read the mapped pages. In-process memory cannot change this way.
    /// </summary>
    public virtual string? CheckMapping() => null;

    public abstract void Dispose();
}

/// <summary>Native memory, 4 KiB aligned and zeroed: the same layout as a file, for in-process rings.</summary>
internal sealed unsafe class NativeRingMemory : RingMemory
{
    public NativeRingMemory(long length)
    {
        Pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, 4096);
        NativeMemory.Clear(Pointer, (nuint)length);
        Length = length;
    }

    public override string Description => "in-process memory";

    ~NativeRingMemory() => Free();

    public override void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (Pointer != null)
        {
            NativeMemory.AlignedFree(Pointer);
            Pointer = null;
        }
    }
}

/// <summary>A memory-mapped file (by default under /dev/shm), shared with other processes.</summary>
internal sealed unsafe class MappedRingMemory : RingMemory
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly string _path;
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _handle;
    private readonly Native.FileIdentity _identity;
    private readonly bool _identityKnown;

    private MappedRingMemory(string path, FileStream stream, long length)
    {
        _path = path;
        _handle = stream.SafeFileHandle;
        _identityKnown = Native.FileIdentity.TryOf(_handle, out _identity, out _);
        _file = MemoryMappedFile.CreateFromFile(stream, mapName: null, length, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
        _view = _file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        Pointer = p + _view.PointerOffset;
        Length = length;
    }

    public override string Description => _path;

    /// <inheritdoc/>
    /// <remarks>
    /// Two statx calls, no allocation while the file is intact. What it cannot prevent: another
    /// process with write access may truncate the file between this check and the next touch of
    /// the pages beyond the new end, and that touch ends the process (SIGBUS); the check narrows
    /// the window to one interval and turns every other change into a clean stop.
    /// </remarks>
    public override string? CheckMapping()
    {
        if (!_identityKnown || Pointer == null)
        {
            return null;
        }

        if (!Native.FileIdentity.TryOf(_handle, out var now, out _))
        {
            return null; // the handle is ours and open: statx on it does not fail in practice
        }

        if (now.Size < Length)
        {
            return $"{_path} shrank from {Length:N0} to {now.Size:N0} bytes under this process";
        }

        if (!Native.FileIdentity.TryOfPath(_path, out var named, out int errno))
        {
            return errno == Native.FileIdentity.NoSuchFile
                ? $"{_path} was removed (or renamed) under this process; producers and consumers that attach now would not meet it"
                : null; // e.g. a permission change on the folder: the mapping itself is intact
        }

        return named.SameFileAs(_identity) ? null : $"{_path} was replaced by another file (inode {_identity.Inode} → {named.Inode}) under this process";
    }

    /// <summary>msync: the mapped pages are on the storage device when this returns.</summary>
    public void Flush() => _view.Flush();

    /// <summary>
    /// Creates the file with its full length reserved (posix_fallocate through the preallocation
    /// size), so a full /dev/shm fails here with an IOException instead of a SIGBUS on first touch.
    /// </summary>
    public static MappedRingMemory Create(string path, long length, UnixFileMode mode)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            PreallocationSize = length,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, options);
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new IOException($"Cannot create ring file '{path}' with {length} bytes reserved: {ex.Message}", ex);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(stream.SafeFileHandle, mode); // exactly the configured bits, whatever the umask
        }

        try
        {
            if (stream.Length < length)
            {
                stream.SetLength(length);
            }

            return new MappedRingMemory(path, stream, length);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Maps an existing file whole; the caller validates the header before trusting any field.</summary>
    public static MappedRingMemory Open(string path, long minimumLength = Layout.RingHeaderDescriptor.SlotsOffset)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            long length = stream.Length;
            if (length < minimumLength)
            {
                throw new RingLayoutException($"File '{path}' is {length} bytes; its header alone needs {minimumLength}.");
            }

            return new MappedRingMemory(path, stream, length);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public override void Dispose()
    {
        if (Pointer != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            Pointer = null;
        }

        _view.Dispose();
        _file.Dispose();
    }
}
