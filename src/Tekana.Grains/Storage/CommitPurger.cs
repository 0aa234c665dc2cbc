using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;
using Tekana.Abstractions;
using Tekana.Abstractions.Wallets;
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
    /// How much earlier than the earliest prepared leg still held, and than now, a kept transaction must have committed to
    /// go; also how long a wallet may hold a prepared leg before the purge wakes it to settle it. Both times are the
    /// database's, so this is a safety margin, not a clock skew allowance.
    /// </summary>
    public TimeSpan Margin { get; set; } = TimeSpan.FromHours(1);

    // A periodic timer takes at most about 49.7 days.
    internal bool IsValid() => Interval > TimeSpan.Zero && Interval <= TimeSpan.FromDays(49) && Margin >= TimeSpan.FromMinutes(1);
}

/// <summary>
/// Deletes the kept committed transactions (<c>tekana_transaction_commits</c>) that no prepared leg can need any more.
/// A kept transaction is read only for a prepared leg that a wallet's row still holds (a load commits it, a write that
/// would abort it is refused: <see cref="LedgerStateStorage{TState}"/>), and a transaction commits only after each of its
/// legs was stored. Each wallet's row keeps since when it holds prepared legs (<c>prepared_since</c>: the database's
/// time of the write that first stored the oldest, or earlier), so no transaction that committed before the earliest of
/// those is needed. The purge deletes those, less <see cref="CommitPurgeOptions.Margin"/>.
/// </summary>
/// <remarks>
/// A wallet that holds a prepared leg longer than the margin (its silo was killed, and it has not been called since)
/// holds the purge back; the purge wakes it, and its load settles the leg. A row whose legs are unknown (<c>-infinity</c>:
/// written before the column existed, or by a silo of the previous version) stops the purge: the purge reads it, and
/// marks it as holding none when it holds none, or wakes the wallet, whose next write says. One silo purges at a time:
/// the oldest active one. Each purge reads every wallet's row once (the column is not indexed, so that the ledger's
/// writes stay heap-only) and deletes a minute of commits per statement, to keep each transaction short.
/// </remarks>
public sealed class CommitPurger(
    NpgsqlDataSource database,
    Serializer serializer,
    IGrainFactory grains,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    IOptions<ClusterOptions> cluster,
    IOptions<CommitPurgeOptions> options,
    TimeProvider clock,
    ILogger<CommitPurger> log) : BackgroundService
{
    /// <summary>Rows read, and wallets woken, per purge at most.</summary>
    private const int Chunk = 1_000;

    /// <summary>The grain type of the only grains with transactional state (<see cref="WalletGrain"/>'s, by Orleans' naming).</summary>
    private const string WalletGrainType = "wallet";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (membership.CurrentSnapshot.IsLeader(silo.SiloAddress))
                {
                    await PurgeAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One purge: the kept transactions it deleted, the rows it learned hold no leg, and the wallets it woke.</summary>
    public async Task<(long Deleted, int Learned, int Woken)> PurgeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (learned, woken) = await SettleHeldBackAsync(cancellationToken);
            var horizon = await HorizonAsync(cancellationToken);
            var deleted = horizon is { } before ? await DeleteAsync(before, cancellationToken) : 0;
            TekanaMetrics.CommitsPurged(deleted);
            log.LogInformation("Commit purge: {Deleted} kept transactions deleted, committed before {Horizon}; {Learned} rows found to hold no prepared leg, {Woken} wallets woken to settle theirs.",
                deleted, horizon?.ToString("O") ?? "(none: a row's prepared legs are unknown)", learned, woken);
            return (deleted, learned, woken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "Commit purge failed; the kept transactions stay until the next one.");
            return (0, 0, 0);
        }
    }

    /// <summary>
    /// The rows that hold the purge back: those whose legs are unknown (marked as holding none when their payload holds
    /// none, if still at the version read; their wallets woken otherwise) and those holding a leg longer than the margin
    /// (their wallets woken: a load settles what it finds prepared).
    /// </summary>
    private async Task<(int Learned, int Woken)> SettleHeldBackAsync(CancellationToken cancellationToken)
    {
        var none = new List<(string Key, string State, long Version)>();
        var wake = new List<string>();
        await using (var read = database.CreateCommand(
            """
            SELECT grain_key, state_name, version, CASE WHEN prepared_since = '-infinity' THEN payload END FROM tekana_transactional_state
             WHERE service_id = @service AND grain_type = @type AND prepared_since < now() - @margin LIMIT @chunk
            """))
        {
            read.Parameters.AddWithValue("service", cluster.Value.ServiceId);
            read.Parameters.AddWithValue("type", WalletGrainType);
            read.Parameters.AddWithValue("margin", options.Value.Margin);
            read.Parameters.AddWithValue("chunk", Chunk);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var holdsLegs = reader.IsDBNull(3)
                    || serializer.Deserialize<TransactionalStateRecord<WalletState>>(reader.GetFieldValue<byte[]>(3)) is not { PendingStates.Count: 0 };
                if (holdsLegs)
                {
                    wake.Add(reader.GetString(0));
                }
                else
                {
                    none.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
                }
            }
        }
        var learned = 0;
        // One row per statement: a statement locking many wallets' rows could deadlock with a group commit.
        foreach (var (key, state, version) in none)
        {
            await using var write = database.CreateCommand(
                """
                UPDATE tekana_transactional_state SET prepared_since = NULL
                 WHERE service_id = @service AND grain_type = @type AND grain_key = @key AND state_name = @state
                   AND version = @version AND prepared_since = '-infinity'
                """);
            write.Parameters.AddWithValue("service", cluster.Value.ServiceId);
            write.Parameters.AddWithValue("type", WalletGrainType);
            write.Parameters.AddWithValue("key", key);
            write.Parameters.AddWithValue("state", state);
            write.Parameters.AddWithValue("version", version);
            learned += await write.ExecuteNonQueryAsync(cancellationToken);
        }
        foreach (var key in wake)
        {
            try
            {
                await grains.Reference<IWalletGrain>(key).Wake();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Its row keeps holding the purge back; the next purge wakes it again.
                log.LogWarning(e, "Commit purge: could not wake {Wallet}.", key);
            }
        }
        return (learned, wake.Count);
    }

    /// <summary>
    /// The time before which every kept transaction may go, or null while a row's prepared legs are unknown. One
    /// statement, so that every row is read as of one moment: a leg stored after it belongs to a transaction that had
    /// not committed yet.
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

    /// <summary>Deletes the kept transactions that committed before <paramref name="before"/>, a minute of commits at a time.</summary>
    private async Task<long> DeleteAsync(DateTime before, CancellationToken cancellationToken)
    {
        await using var oldest = database.CreateCommand("SELECT min(committed_at) FROM tekana_transaction_commits WHERE service_id = @service");
        oldest.Parameters.AddWithValue("service", cluster.Value.ServiceId);
        if (await oldest.ExecuteScalarAsync(cancellationToken) is not DateTime from)
        {
            return 0;
        }
        long deleted = 0;
        for (; from < before; from = from.AddMinutes(1))
        {
            await using var command = database.CreateCommand(
                """
                DELETE FROM tekana_transaction_commits
                 WHERE service_id = @service AND committed_at >= @from AND committed_at < least(@to, @before)
                """);
            command.Parameters.AddWithValue("service", cluster.Value.ServiceId);
            command.Parameters.AddWithValue("from", from);
            command.Parameters.AddWithValue("to", from.AddMinutes(1));
            command.Parameters.AddWithValue("before", before);
            deleted += await command.ExecuteNonQueryAsync(cancellationToken);
        }
        return deleted;
    }
}
