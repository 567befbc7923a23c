using LowLatencyRisk.Engine.Configuration;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace LowLatencyRisk.Distributed;

/// <summary>
/// Which machine is shard k's primary: an entry <c>shard-{k}</c> in a JetStream key-value bucket whose
/// entries live <c>jetStream.leaseSeconds</c> (the bucket's max age). The holder renews it at a third of
/// that with a compare-and-set on the revision it wrote; when it stops renewing, the entry expires
/// and a standby's create — which succeeds only when the key is absent — takes it. A holder whose
/// renewal finds another revision has lost the lease and must stop; one that finds the key held at
/// start must not go live. Held by the shard's bridge (its only way to the feed), never by the
/// engine's thread.
/// </summary>
public sealed class ShardLease
{
    private readonly INatsKVStore _store;
    private readonly string _key;
    private ulong _revision;

    private ShardLease(INatsKVStore store, int shard, string holder, TimeSpan ttl)
    {
        _store = store;
        _key = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"shard-{shard}");
        Holder = holder;
        Ttl = ttl;
    }

    /// <summary>Who this process is, as written in the entry.</summary>
    public string Holder { get; }

    /// <summary>How long an entry lives without renewal.</summary>
    public TimeSpan Ttl { get; }

    /// <summary>Whether this process holds the lease (it acquired it and no renewal has failed).</summary>
    public bool Held { get; private set; }

    /// <summary>Opens (creating when absent) the lease bucket of <paramref name="config"/> for shard <paramref name="shard"/>.</summary>
    public static async Task<ShardLease> OpenAsync(INatsJSContext js, JetStreamSection config, int shard, string holder, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(config);
        var ttl = TimeSpan.FromSeconds(config.LeaseSeconds);
        var kv = new NatsKVContext(js);
        var store = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(config.LeaseBucket) { MaxAge = ttl, History = 1, NumberOfReplicas = config.Replicas }, cancel).ConfigureAwait(false);
        return new ShardLease(store, shard, holder, ttl);
    }

    /// <summary>A holder name for this process: host, pid and start time.</summary>
    public static string ThisProcess(string role) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{role}@{Environment.MachineName}:{Environment.ProcessId}:{DateTime.UtcNow:O}");

    /// <summary>Takes the lease if nobody holds it; false when another holder's entry is alive.</summary>
    public async Task<bool> TryAcquireAsync(CancellationToken cancel)
    {
        var created = await _store.TryCreateAsync(_key, Holder, cancellationToken: cancel).ConfigureAwait(false);
        if (!created.Success)
        {
            return false;
        }

        _revision = created.Value;
        Held = true;
        return true;
    }

    /// <summary>The current holder, or null when the lease is free (expired or never taken).</summary>
    public async Task<string?> CurrentHolderAsync(CancellationToken cancel)
    {
        var entry = await _store.TryGetEntryAsync<string>(_key, cancellationToken: cancel).ConfigureAwait(false);
        return entry.Success && entry.Value.Operation == NatsKVOperation.Put ? entry.Value.Value : null;
    }

    /// <summary>Renews the lease; false (and <see cref="Held"/> false from then on) when another holder wrote it or it expired.</summary>
    public async Task<bool> RenewAsync(CancellationToken cancel)
    {
        if (!Held)
        {
            return false;
        }

        var updated = await _store.TryUpdateAsync(_key, Holder, _revision, cancellationToken: cancel).ConfigureAwait(false);
        if (!updated.Success)
        {
            Held = false;
            return false;
        }

        _revision = updated.Value;
        return true;
    }

    /// <summary>
    /// Renews every third of the time to live until <paramref name="cancel"/> fires; returns why the
    /// lease was lost (another holder, or no renewal possible for a whole time to live), or null on a
    /// clean stop.
    /// </summary>
    public async Task<string?> KeepAsync(CancellationToken cancel)
    {
        var lastRenewed = System.Diagnostics.Stopwatch.StartNew();
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Ttl / 3, cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            try
            {
                if (!await RenewAsync(cancel).ConfigureAwait(false))
                {
                    return $"the lease of {_key} is no longer this process's (another holder took it, or it expired)";
                }

                lastRenewed.Restart();
            }
            catch (Exception e) when (!cancel.IsCancellationRequested && RingPublisher.IsTransient(e))
            {
                if (lastRenewed.Elapsed >= Ttl)
                {
                    Held = false;
                    return $"the lease of {_key} could not be renewed for {Ttl.TotalSeconds:F0} s ({e.Message}): it may be another's now";
                }
            }
        }

        return null;
    }
}
