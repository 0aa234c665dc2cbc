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
/// writes stay heap-only), a chunk of held-back rows per statement, and deletes a minute of commits per statement, to keep
/// each transaction short.
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
    /// <summary>Rows read per statement.</summary>
    internal const int Chunk = 1_000;

    /// <summary>Wallets woken per purge at most.</summary>
    private const int WakeLimit = 1_000;

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
    /// (their wallets woken: a load settles what it finds prepared). Read in key order, <see cref="Chunk"/> rows at a
    /// time, to the last of them, so that a database whose rows are all unknown (just upgraded) is read in one purge
    /// with its memory bounded; at most <see cref="WakeLimit"/> wallets are woken per purge.
    /// </summary>
    private async Task<(int Learned, int Woken)> SettleHeldBackAsync(CancellationToken cancellationToken)
    {
        var (learned, woken) = (0, 0);
        var after = (Key: "", State: "");
        while (true)
        {
            var (none, wake, last) = await ReadHeldBackAsync(after, cancellationToken);
            learned += await MarkHoldingNoneAsync(none, cancellationToken);
            foreach (var key in wake.Take(WakeLimit - woken))
            {
                woken++;
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
            if (none.Count + wake.Count < Chunk)
            {
                return (learned, woken);
            }
            after = last;
        }
    }

    /// <summary>
    /// The next <see cref="Chunk"/> rows holding the purge back after <paramref name="after"/>, in key order: those found
    /// to hold no leg, with the version read; the wallets to wake; and the last row's key.
    /// </summary>
    private async Task<(List<(string Key, string State, long Version)> None, List<string> Wake, (string Key, string State) Last)>
        ReadHeldBackAsync((string Key, string State) after, CancellationToken cancellationToken)
    {
        var none = new List<(string Key, string State, long Version)>();
        var wake = new List<string>();
        var last = after;
        await using var command = database.CreateCommand(
            """
            SELECT grain_key, state_name, version, CASE WHEN prepared_since = '-infinity' THEN payload END FROM tekana_transactional_state
             WHERE service_id = @service AND grain_type = @type AND (grain_key, state_name) > (@key, @state)
               AND prepared_since < now() - @margin
             ORDER BY grain_key, state_name LIMIT @chunk
            """);
        command.Parameters.AddWithValue("service", cluster.Value.ServiceId);
        command.Parameters.AddWithValue("type", WalletGrainType);
        command.Parameters.AddWithValue("key", after.Key);
        command.Parameters.AddWithValue("state", after.State);
        command.Parameters.AddWithValue("margin", options.Value.Margin);
        command.Parameters.AddWithValue("chunk", Chunk);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            last = (reader.GetString(0), reader.GetString(1));
            var holdsLegs = reader.IsDBNull(3)
                || serializer.Deserialize<TransactionalStateRecord<WalletState>>(reader.GetFieldValue<byte[]>(3)) is not { PendingStates.Count: 0 };
            if (holdsLegs)
            {
                wake.Add(last.Key);
            }
            else
            {
                none.Add((last.Key, last.State, reader.GetInt64(2)));
            }
        }
        return (none, wake, last);
    }

    /// <summary>
    /// Marks rows read as holding no leg as such, those still at the version read: one statement per chunk, which takes
    /// only the rows no one else holds (a group commit under way writes the row anyway). It never waits for a row, so it
    /// cannot deadlock with a group commit, which locks many rows in its own order.
    /// </summary>
    private async Task<int> MarkHoldingNoneAsync(List<(string Key, string State, long Version)> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return 0;
        }
        await using var command = database.CreateCommand(
            """
            UPDATE tekana_transactional_state s SET prepared_since = NULL
              FROM (SELECT t.grain_key, t.state_name FROM tekana_transactional_state t
                      JOIN unnest(@keys, @states, @versions) AS r(grain_key, state_name, version)
                        ON t.grain_key = r.grain_key AND t.state_name = r.state_name AND t.version = r.version
                     WHERE t.service_id = @service AND t.grain_type = @type AND t.prepared_since = '-infinity'
                       FOR UPDATE OF t SKIP LOCKED) free
             WHERE s.service_id = @service AND s.grain_type = @type AND s.grain_key = free.grain_key AND s.state_name = free.state_name
            """);
        command.Parameters.AddWithValue("service", cluster.Value.ServiceId);
        command.Parameters.AddWithValue("type", WalletGrainType);
        command.Parameters.AddWithValue("keys", rows.ConvertAll(r => r.Key));
        command.Parameters.AddWithValue("states", rows.ConvertAll(r => r.State));
        command.Parameters.AddWithValue("versions", rows.ConvertAll(r => r.Version));
        return await command.ExecuteNonQueryAsync(cancellationToken);
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
