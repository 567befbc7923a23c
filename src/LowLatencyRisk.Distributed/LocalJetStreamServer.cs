using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LowLatencyRisk.Distributed;

/// <summary>
/// A nats-server with JetStream started for one run or test (<c>llr run --shards</c>, the tests):
/// loopback only, a free port, a temporary store directory; killed and its store removed on
/// dispose. A venue runs its own replicated JetStream cluster; this is the newcomer's and the
/// tests' single local server. Starting fails with what to install when the binary is missing.
/// </summary>
public sealed class LocalJetStreamServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private LocalJetStreamServer(string binary, int port, string store, IEnumerable<string>? extra = null)
    {
        Port = port;
        Store = store;
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-js", "-sd", store }.Concat(extra ?? []))
        {
            start.ArgumentList.Add(a);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("nats-server did not start");
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>The server's process id (for pinning it to a CPU in a measurement).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Its JetStream store (removed on dispose).</summary>
    public string Store { get; }

    /// <summary>Its address.</summary>
    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>What it printed.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The nats-server binary: on PATH, or where Debian's package puts it.</summary>
    public static string Binary()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/usr/bin", "/usr/local/bin"]))
        {
            string candidate = Path.Combine(dir, "nats-server");
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("nats-server is not installed: `apt-get install nats-server` (Debian's package, 2.9.x); .ci/run and tests/run.sh install it when absent");
    }

    /// <summary>Starts a server and waits (at most 15 s) until it accepts connections.</summary>
    public static LocalJetStreamServer Start() => WaitReady(new LocalJetStreamServer(Binary(), FreePort(), NewStore()));

    /// <summary>
    /// Starts <paramref name="count"/> servers clustered with each other on loopback (JetStream
    /// clustered: streams of 3 replicas survive one server's loss) and waits until each accepts
    /// connections. The JetStream meta leader may take a few more seconds to be elected.
    /// </summary>
    public static IReadOnlyList<LocalJetStreamServer> StartCluster(int count)
    {
        var ports = Enumerable.Range(0, count).Select(_ => (Client: FreePort(), Route: FreePort())).ToArray();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var servers = new List<LocalJetStreamServer>();
        try
        {
            for (int k = 0; k < count; k++)
            {
                string routes = string.Join(",", ports.Where((_, j) => j != k).Select(p => string.Create(inv, $"nats://127.0.0.1:{p.Route}")));
                servers.Add(new LocalJetStreamServer(Binary(), ports[k].Client, NewStore(),
                    ["-n", string.Create(inv, $"llr-{k}"), "--cluster_name", "llr", "--cluster", string.Create(inv, $"nats://127.0.0.1:{ports[k].Route}"), "--routes", routes]));
            }

            servers.ForEach(s => WaitReady(s));
            return servers;
        }
        catch
        {
            servers.ForEach(s => s.Dispose());
            throw;
        }
    }

    /// <summary>Kills the server at once (SIGKILL), keeping its store: a lost machine.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5_000);
        }
    }

    private static string NewStore()
    {
        string store = Path.Combine(Path.GetTempPath(), "llr-nats-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(store);
        return store;
    }

    private static LocalJetStreamServer WaitReady(LocalJetStreamServer server)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (server._process.HasExited)
            {
                string log = server.Log;
                server.Dispose();
                throw new InvalidOperationException($"nats-server exited: {log}");
            }

            if (server.Log.Contains("Server is ready", StringComparison.Ordinal))
            {
                return server;
            }

            Thread.Sleep(20);
        }

        server.Dispose();
        throw new TimeoutException($"nats-server not ready after 15 s: {server.Log}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Kills the server and removes its store.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(Store, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
