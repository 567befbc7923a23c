namespace LowLatencyRisk.Testing;

/// <summary>Unique paths for temporary ring and journal files, removed on dispose.</summary>
public sealed class TempFiles : IDisposable
{
    private readonly List<string> _paths = [];

    /// <summary>Folder for test mappings: /dev/shm where present (as production uses), else the temp folder.</summary>
    public static string Directory => System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    /// <summary>A new path that does not exist yet, deleted when this object is disposed.</summary>
    public string NewPath(string prefix = "llr-test")
    {
        string path = Path.Combine(Directory, $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        _paths.Add(path);
        return path;
    }

    /// <summary>Deletes every path handed out.</summary>
    public void Dispose()
    {
        foreach (string p in _paths)
        {
            try
            {
                File.Delete(p);
            }
            catch (IOException)
            {
            }
        }
    }
}
