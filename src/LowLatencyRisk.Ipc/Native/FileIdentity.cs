using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LowLatencyRisk.Ipc.Native;

/// <summary>
/// Which file a path or an open handle is (device and inode), its size and its link count, read with
/// <c>statx(2)</c>, whose buffer layout is the same on every Linux architecture (unlike <c>struct stat</c>).
/// </summary>
/// <remarks>Used off the hot paths to notice that a mapped file shrank, was removed or was replaced under a running process.</remarks>
public readonly partial record struct FileIdentity(ulong DeviceMajor, ulong DeviceMinor, ulong Inode, long Size, uint Links)
{
    /// <summary>True when both name the same file (device and inode).</summary>
    public bool SameFileAs(in FileIdentity other) => DeviceMajor == other.DeviceMajor && DeviceMinor == other.DeviceMinor && Inode == other.Inode;

    /// <summary>The file at <paramref name="path"/> (following symbolic links); false with <paramref name="errno"/> when it cannot be read (2 = no such file).</summary>
    public static bool TryOfPath(string path, out FileIdentity identity, out int errno) => TryStat(AtFdCwd, path, 0, out identity, out errno);

    /// <summary>The file behind an open handle, whatever its name is now.</summary>
    public static bool TryOf(SafeFileHandle handle, out FileIdentity identity, out int errno)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return TryStat((int)handle.DangerousGetHandle(), string.Empty, AtEmptyPath, out identity, out errno);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>errno for a missing file.</summary>
    public const int NoSuchFile = 2;

    private const int AtFdCwd = -100, AtEmptyPath = 0x1000, StatxBasicStats = 0x7ff;

    // struct statx (linux/stat.h), 256 bytes: stx_nlink u32 @16, stx_ino u64 @32, stx_size u64 @40,
    // stx_dev_major u32 @136, stx_dev_minor u32 @140.
    private static unsafe bool TryStat(int dirFd, string path, int flags, out FileIdentity identity, out int errno)
    {
        identity = default;
        errno = 0;
        if (!OperatingSystem.IsLinux())
        {
            errno = 38; // ENOSYS: not checked where statx is unavailable
            return false;
        }

        byte* buffer = stackalloc byte[256];
        if (Statx(dirFd, path, flags, StatxBasicStats, buffer) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return false;
        }

        identity = new FileIdentity(*(uint*)(buffer + 136), *(uint*)(buffer + 140), *(ulong*)(buffer + 32), (long)*(ulong*)(buffer + 40), *(uint*)(buffer + 16));
        return true;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);
}
