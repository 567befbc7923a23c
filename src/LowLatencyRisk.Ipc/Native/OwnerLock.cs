using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace LowLatencyRisk.Ipc.Native;

/// <summary>
/// An exclusive role on a shared file (the feed ring's consumer, the breach ring's producer, a
/// journal folder's writer), held as an advisory <c>flock(LOCK_EX)</c> on a lock file beside it
/// that records the owner's pid. The kernel releases the lock when the owner's process ends, however
/// it ends, so a killed owner never blocks its successor; a second process asking for the role
/// while the owner lives is refused with the owner's pid.
/// </summary>
/// <remarks>
/// The lock is advisory: it excludes every process that asks for the role through this class (each
/// <c>llr engine</c>), not a process that writes the ring file directly. Lock files are left in place
/// at release (deleting one could hand the role to two processes that opened different inodes).
/// </remarks>
public sealed partial class OwnerLock : IDisposable
{
    private int _fd;

    private OwnerLock(int fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>The lock file of <paramref name="sharedFile"/>'s role: the same name with <c>.lock</c> appended.</summary>
    public static string LockPathOf(string sharedFile) => sharedFile + ".lock";

    /// <summary>
    /// Takes the role of <paramref name="sharedFile"/>, creating its lock file with
    /// <paramref name="mode"/>; null when another live process holds it (<paramref name="ownerPid"/>
    /// names it, 0 when it could not be read). Throws <see cref="IOException"/> when the lock file
    /// cannot be created or opened.
    /// </summary>
    public static OwnerLock? TryAcquire(string sharedFile, UnixFileMode mode, out int ownerPid)
    {
        ownerPid = 0;
        string path = LockPathOf(sharedFile);
        if (!OperatingSystem.IsLinux())
        {
            return new OwnerLock(-1, path); // the role is not enforced where flock is unavailable
        }

        int fd = Open(path, ORdWr | OCreat | OCloExec, (int)mode);
        if (fd < 0)
        {
            throw new IOException($"cannot open the lock file {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        }

        if (Flock(fd, LockEx | LockNb) != 0)
        {
            ownerPid = ReadPid(fd);
            Close(fd);
            return null;
        }

        if (Fchmod(fd, (int)mode) != 0)
        {
            string error = Marshal.GetLastPInvokeErrorMessage();
            Close(fd);
            throw new IOException($"cannot set the mode of the lock file {path}: {error}");
        }

        byte[] text = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
        if (Ftruncate(fd, 0) != 0 || Pwrite(fd, text, text.Length, 0) != text.Length)
        {
            string error = Marshal.GetLastPInvokeErrorMessage();
            Close(fd);
            throw new IOException($"cannot write the lock file {path}: {error}");
        }

        return new OwnerLock(fd, path);
    }

    /// <summary>Releases the role (also released by the kernel when the process ends).</summary>
    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Close(fd);
        }
    }

    private static int ReadPid(int fd)
    {
        var buffer = new byte[32];
        nint n = Pread(fd, buffer, buffer.Length, 0);
        if (n <= 0)
        {
            return 0;
        }

        return int.TryParse(Encoding.ASCII.GetString(buffer, 0, (int)n).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : 0;
    }

    private const int ORdWr = 2, OCreat = 0x40, OCloExec = 0x80000, LockEx = 2, LockNb = 4;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint Pwrite(int fd, byte[] buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static partial nint Pread(int fd, byte[] buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int Fchmod(int fd, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
