using System.Diagnostics;
using System.Text;

namespace LowLatencyRisk.Testing;

/// <summary>
/// Starts a helper executable (a .NET dll next to the test assembly, or a native binary) as a
/// separate process for cross-process tests, captures its output, and kills it on dispose.
/// </summary>
public sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly SemaphoreSlim _lines = new(0);
    private readonly Queue<string> _pending = new();

    private PeerProcess(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        _process = new Process { StartInfo = info, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data is null ? null : "stderr: " + e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Everything the process printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Starts <c>dotnet NAME.dll args</c> for a helper built next to the calling test assembly.</summary>
    public static PeerProcess StartDotnet(string assemblyName, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, assemblyName + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Helper '{dll}' is not built next to the tests.", dll);
        }

        var info = new ProcessStartInfo(DotnetHost());
        info.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        return new PeerProcess(info);
    }

    /// <summary>Starts a native executable.</summary>
    public static PeerProcess StartNative(string path, params string[] args)
    {
        var info = new ProcessStartInfo(path);
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        return new PeerProcess(info);
    }

    /// <summary>Waits for a printed line that starts with <paramref name="prefix"/>; returns it.</summary>
    public string WaitForLine(string prefix, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_pending)
            {
                while (_pending.Count > 0)
                {
                    string line = _pending.Dequeue();
                    if (line.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        return line;
                    }
                }
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !_lines.Wait(left))
            {
                throw new TimeoutException($"No line starting '{prefix}' within {timeout}. Output so far:\n{Output}");
            }
        }
    }

    /// <summary>Waits for exit and returns the exit code; kills and throws on timeout.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Kill();
            throw new TimeoutException($"Helper did not exit within {timeout}. Output:\n{Output}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Sends a signal by name (TERM, INT, ...) with kill(1).</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Kills the process (SIGKILL) and waits for it to be gone.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                if (_process.WaitForExit(10_000))
                {
                    _process.WaitForExit(); // and the redirected output to its end: what it printed before dying is kept
                }
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Kills the process if it still runs.</summary>
    public void Dispose()
    {
        Kill();
        _process.Dispose();
        _lines.Dispose();
    }

    /// <summary>The dotnet host that runs the helpers (for a command line built by hand, e.g. under <c>script</c>).</summary>
    public static string DotnetHostPath => DotnetHost();

    private static string DotnetHost()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv))
        {
            return fromEnv;
        }

        string? main = Environment.ProcessPath;
        return main is not null && Path.GetFileNameWithoutExtension(main) == "dotnet" ? main : "dotnet";
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        lock (_pending)
        {
            _pending.Enqueue(line);
        }

        _lines.Release();
    }
}
