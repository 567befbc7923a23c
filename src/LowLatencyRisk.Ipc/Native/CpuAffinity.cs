using System.Runtime.InteropServices;

namespace LowLatencyRisk.Ipc.Native;

/// <summary>Pins the calling thread to one CPU (Linux <c>sched_setaffinity</c> on the thread id 0 = caller).</summary>
public static partial class CpuAffinity
{
    /// <summary>Pins the calling OS thread to <paramref name="cpu"/>; false where unsupported or refused.</summary>
    public static bool TryPinCurrentThread(int cpu)
    {
        if (!OperatingSystem.IsLinux() || cpu < 0 || cpu >= 64)
        {
            return false;
        }

        ulong mask = 1UL << cpu;
        return SchedSetAffinity(0, sizeof(ulong), ref mask) == 0;
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint cpusetsize, ref ulong mask);
}
