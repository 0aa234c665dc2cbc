using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;
using Tekana.Grains.Hosting;
using Tekana.Grains.Wallets;

namespace Tekana.Grains.Storage;

/// <summary>When and how far back the kept committed transactions are purged (<see cref="CommitPurger"/>).</summary>
public sealed class CommitPurgeOptions
{
    public const string Section = "Tekana:CommitPurge";

    /// <summary>Time between two purges; the first runs one interval after the silo starts.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How much older than the earliest prepared leg a kept transaction must be to go, and than now. It covers the skew
    /// between the silos' clocks (a leg's timestamp is its transaction manager's) and the database's (a kept transaction's).
    /// </summary>
    public TimeSpan Margin { get; set; } = TimeSpan.FromHours(1);

    internal bool IsValid() => Interval > TimeSpan.Zero && Margin >= TimeSpan.FromMinutes(1);
}

/// <summary>
/// Deletes the kept committed transactions (<c>tekana_transaction_commits</c>) that no prepared leg can need any more.
/// A kept transaction is read only for a prepared leg that a wallet's row still holds (a load commits it, a write that
/// would abort it is refused: <see cref="LedgerStateStorage{TState}"/>), and a transaction commits only after every leg of
/// it was prepared and written. So once every wallet's row holds only legs prepared after some time T (each row's
/// <c>prepared_since</c>), no transaction that committed before T is needed. The purge deletes those that committed
/// before the earliest <c>prepared_since</c>, and before now, less <see cref="CommitPurgeOptions.Margin"/> for clock skew.
/// </summary>
/// <remarks>
/// A row whose prepared legs are unknown (<c>-infinity</c>: written before the column existed, or by a silo of the
/// previous version) stops the purge until the purge has read its legs from its payload and set the column, if the row
/// has not moved on meanwhile. One silo purges at a time: the oldest active one. Each purge reads every wallet's row once
/// (the column is not indexed, so that the ledger's writes stay heap-only) and deletes in chunks.
/// </remarks>
public sealed class CommitPurger(
    NpgsqlDataSource database,
    Serializer serializer,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    IOptions<ClusterOptions> cluster,
    IOptions<CommitPurgeOptions> options,
    TimeProvider clock,
    ILogger<CommitPurger> log) : BackgroundService
{
    private const int Chunk = 10_000;

    /// <summary>The grain type of the only grains with transactional state (<see cref="WalletGrain"/>'s, by Orleans' naming).</summary>
    private const string WalletGrainType = "wallet";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var active = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToList();
                if (active.Count > 0 && active.Min()!.Equals(silo.SiloAddress))
                {
                    await PurgeAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One purge; the number of kept transactions deleted, or 0 when it could not run (logged).</summary>
    public async Task<long> PurgeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var learned = await LearnUnknownPreparedLegsAsync(cancellationToken);
            var horizon = await HorizonAsync(cancellationToken);
            long deleted = 0;
            if (horizon is { } before)
            {
                int chunk;
                do
                {
                    chunk = await DeleteChunkAsync(before, cancellationToken);
                    deleted += chunk;
                }
                while (chunk == Chunk);
            }
            TekanaMetrics.CommitsPurged(deleted);
            log.LogInformation("Commit purge: {Deleted} kept transactions deleted, committed before {Horizon}; prepared legs read from {Learned} rows.",
                deleted, horizon?.ToString("O") ?? "(none: a row's prepared legs are unknown)", learned);
            return deleted;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "Commit purge failed; the kept transactions stay until the next one.");
            return 0;
        }
    }

    /// <summary>
    /// The time before which every kept transaction may go, or null while a row's prepared legs are unknown. Computed in
    /// one statement, so that every row is read as of one moment: a leg prepared after it belongs to a transaction that
    /// had not committed yet.
    /// </summary>
    private async Task<DateTime?> HorizonAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            """
            SELECT least(now(), min(prepared_since)) - @margin FROM tekana_transactional_state
             WHERE service_id = @service AND grain_type = @type
            """);
        command.Parameters.AddWithValue("service", cluster.Value.ServiceId);
        command.Parameters.AddWithValue("type", WalletGrainType);
        command.Parameters.AddWithValue("margin", options.Value.Margin);
        var horizon = await command.ExecuteScalarAsync(cancellationToken);
        return horizon is DateTime at && at != DateTime.MinValue ? at : null;
    }

    private async Task<int> DeleteChunkAsync(DateTime before, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            """
            DELETE FROM tekana_transaction_commits
             WHERE service_id = @service AND transaction_id IN (
                   SELECT transaction_id FROM tekana_transaction_commits
                    WHERE service_id = @service AND committed_at < @before LIMIT @chunk)
            """);
        command.Parameters.AddWithValue("service", cluster.Value.ServiceId);
        command.Parameters.AddWithValue("before", before);
        command.Parameters.AddWithValue("chunk", Chunk);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Sets <c>prepared_since</c> of the rows that hold '-infinity' from the legs their payloads hold, each only if the row
    /// is still at the version read (a write since then set it). The number of rows set.
    /// </summary>
    private async Task<int> LearnUnknownPreparedLegsAsync(CancellationToken cancellationToken)
    {
        var learned = 0;
        // Bounded: a silo of the previous version can mark a row unknown again as fast as it is learned.
        for (var round = 0; round < 100; round++)
        {
            var rows = new List<(string Key, string State, long Version, DateTime? PreparedSince)>();
            await using (var read = database.CreateCommand(
                """
                SELECT grain_key, state_name, version, payload FROM tekana_transactional_state
                 WHERE service_id = @service AND grain_type = @type AND prepared_since = '-infinity' LIMIT @chunk
                """))
            {
                read.Parameters.AddWithValue("service", cluster.Value.ServiceId);
                read.Parameters.AddWithValue("type", WalletGrainType);
                read.Parameters.AddWithValue("chunk", Chunk);
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var record = serializer.Deserialize<TransactionalStateRecord<WalletState>>(reader.GetFieldValue<byte[]>(3)) ?? new();
                    rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), LedgerStateStorage<WalletState>.PreparedSince(record)));
                }
            }
            if (rows.Count == 0)
            {
                return learned;
            }
            await using var write = database.CreateCommand(
                """
                UPDATE tekana_transactional_state s SET prepared_since = r.prepared_since
                  FROM unnest(@keys, @states, @versions, @prepared_since) AS r(grain_key, state_name, version, prepared_since)
                 WHERE s.service_id = @service AND s.grain_type = @type AND s.grain_key = r.grain_key
                   AND s.state_name = r.state_name AND s.version = r.version AND s.prepared_since = '-infinity'
                """);
            write.Parameters.AddWithValue("service", cluster.Value.ServiceId);
            write.Parameters.AddWithValue("type", WalletGrainType);
            write.Parameters.AddWithValue("keys", rows.Select(r => r.Key).ToArray());
            write.Parameters.AddWithValue("states", rows.Select(r => r.State).ToArray());
            write.Parameters.AddWithValue("versions", rows.Select(r => r.Version).ToArray());
            write.Parameters.Add(new NpgsqlParameter<DateTime?[]>("prepared_since", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.TimestampTz)
            {
                TypedValue = [.. rows.Select(r => r.PreparedSince)],
            });
            var set = await write.ExecuteNonQueryAsync(cancellationToken);
            learned += set;
            if (set == 0)
            {
                // Every row read moved on and is '-infinity' again (a previous version's silo writes it): next purge.
                return learned;
            }
        }
        return learned;
    }
}
