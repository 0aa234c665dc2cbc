using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;
using Tekana.Grains.Storage;
using Tekana.Grains.Wallets;

namespace Tekana.IntegrationTests.Storage;

/// <summary>
/// The purge of kept committed transactions against PostgreSQL, on rows written as the silo writes them. Its own
/// database: a purge reads every wallet's row of its service.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CommitPurgeTests(ClusterFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Margin = TimeSpan.FromHours(1);

    private readonly IServiceProvider _silo = fixture.Cluster.GetActiveSilos().First().ServiceProvider;
    private NpgsqlDataSource _database = null!;
    private GroupCommitWriter _writer = null!;
    private CommitPurger _purger = null!;

    // The silo's own serializer: a transactional record holds grain references, which only a runtime can encode.
    private Serializer Serializer => _silo.GetRequiredService<Serializer>();

    public async Task InitializeAsync()
    {
        _database = PostgresConnections.CreateCustomPlanDataSource(await TestDatabase.CreateAsync("purge"), GroupCommitWriter.MaxConcurrentRoundTrips + 1);
        _writer = new GroupCommitWriter(_database, "service", NullLogger<GroupCommitWriter>.Instance);
        _purger = ActivatorUtilities.CreateInstance<CommitPurger>(_silo, _database,
            Options.Create(new ClusterOptions { ServiceId = "service" }), Options.Create(new CommitPurgeOptions { Margin = Margin }));
    }

    public async Task DisposeAsync()
    {
        await _writer.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task A_row_keeps_since_when_it_holds_prepared_legs_in_the_databases_time()
    {
        await Write("a", PreparedLegs.AllNew);
        var first = await _database.PreparedSinceAsync("a");
        Assert.InRange(first!.Value, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));
        await SinceAgo("a", TimeSpan.FromHours(2));
        var twoHoursAgo = await _database.PreparedSinceAsync("a");

        // A write that keeps a leg the row held keeps the time; one whose legs are all new, or that holds none, does not.
        await Write("a", PreparedLegs.SomeHeldBefore);
        Assert.Equal(twoHoursAgo, await _database.PreparedSinceAsync("a"));
        await Write("a", PreparedLegs.AllNew);
        Assert.True(await _database.PreparedSinceAsync("a") > twoHoursAgo);
        await Write("a", PreparedLegs.None);
        Assert.Null(await _database.PreparedSinceAsync("a"));
        // A row that says it holds none and is then said to keep a leg it held is not believed.
        await Write("a", PreparedLegs.SomeHeldBefore);
        Assert.Equal(DateTime.MinValue, await _database.PreparedSinceAsync("a"));
        await Write("a", PreparedLegs.Unknown);
        Assert.Equal(DateTime.MinValue, await _database.PreparedSinceAsync("a"));
    }

    [Fact]
    public async Task A_kept_transaction_goes_once_it_committed_a_margin_before_every_leg_held_was_stored()
    {
        // Wallet a has held a leg for 30 minutes; m committed t1 two hours ago, t2 75 minutes ago, t3 now.
        var (t1, t2, t3) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await Write("a", PreparedLegs.AllNew);
        await SinceAgo("a", TimeSpan.FromMinutes(30));
        await _writer.WriteAsync(new StateWrite("wallet", "m", "wallet", 0, [1]) { Commits = [t1, t2, t3], Prepared = PreparedLegs.None });
        await CommittedAgo(t1, TimeSpan.FromHours(2));
        await CommittedAgo(t2, TimeSpan.FromMinutes(75));

        // t2 committed less than the margin before a's leg was stored.
        Assert.Equal((1L, 0, 0), await _purger.PurgeAsync(CancellationToken.None));
        Assert.Equal([t2, t3], await Kept());

        // a's leg settles: only the margin before now keeps t3.
        await Write("a", PreparedLegs.None);
        Assert.Equal((1L, 0, 0), await _purger.PurgeAsync(CancellationToken.None));
        Assert.Equal([t3], await Kept());
    }

    [Fact]
    public async Task A_row_whose_legs_are_unknown_holds_the_purge_back_until_it_is_read_or_its_wallet_writes_it()
    {
        // Silos of the previous version write two wallets through the function's earlier form, which does not know the
        // column: one that holds no leg, one (a real wallet of the cluster) that holds one.
        var (_, held) = await fixture.Client.RegisterAsync();
        await WriteThroughEarlierForm("empty", new TransactionalStateRecord<WalletState>());
        var record = new TransactionalStateRecord<WalletState>();
        record.PendingStates.Add(new PendingTransactionState<WalletState>
        {
            SequenceId = 1, TransactionId = Guid.NewGuid().ToString(), TimeStamp = DateTime.UtcNow, State = new WalletState { Balance = 5 },
        });
        await WriteThroughEarlierForm(held, record);
        Assert.Equal([DateTime.MinValue, DateTime.MinValue], new[] { await _database.PreparedSinceAsync("empty"), await _database.PreparedSinceAsync(held) });
        var t1 = Guid.NewGuid();
        await _writer.WriteAsync(new StateWrite("wallet", "m", "wallet", 0, [1]) { Commits = [t1], Prepared = PreparedLegs.None });
        await CommittedAgo(t1, TimeSpan.FromHours(3));

        // The purge reads both: the first holds nothing, the second's wallet is woken to settle its leg.
        Assert.Equal((0L, 1, 1), await _purger.PurgeAsync(CancellationToken.None));
        Assert.Null(await _database.PreparedSinceAsync("empty"));
        Assert.Equal([t1], await Kept());

        // The wallet's next write says what it holds: then t1 goes.
        await _writer.WriteAsync(new StateWrite("wallet", held, "wallet", 1, [2]) { Prepared = PreparedLegs.None });
        Assert.Equal((1L, 0, 0), await _purger.PurgeAsync(CancellationToken.None));
        Assert.Empty(await Kept());
    }

    [Fact]
    public async Task A_database_whose_rows_are_all_unknown_is_read_in_one_purge_past_its_first_chunk()
    {
        // Just upgraded: more rows of unknown legs than one statement reads, none holding a leg.
        var rows = 2 * CommitPurger.Chunk + 500;
        await WriteUnknown(Enumerable.Range(0, rows).Select(i => $"w{i:D5}"), new TransactionalStateRecord<WalletState>());
        var t1 = Guid.NewGuid();
        await _writer.WriteAsync(new StateWrite("wallet", "m", "wallet", 0, [1]) { Commits = [t1], Prepared = PreparedLegs.None });
        await CommittedAgo(t1, TimeSpan.FromHours(3));

        Assert.Equal((1L, rows, 0), await _purger.PurgeAsync(CancellationToken.None));
        Assert.Equal(0L, await Unknown());
        Assert.Empty(await Kept());
    }

    [Fact]
    public async Task Marking_rows_as_holding_no_leg_passes_over_a_row_that_a_write_holds_instead_of_waiting_for_it()
    {
        await WriteUnknown(["a", "b", "c"], new TransactionalStateRecord<WalletState>());
        var t1 = Guid.NewGuid();
        await _writer.WriteAsync(new StateWrite("wallet", "m", "wallet", 0, [1]) { Commits = [t1], Prepared = PreparedLegs.None });
        await CommittedAgo(t1, TimeSpan.FromHours(3));

        // Another session holds b's row, as a group commit under way does.
        await using var holder = await _database.OpenConnectionAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM tekana_transactional_state WHERE grain_key = 'b' FOR UPDATE", holder, transaction))
        {
            await lockRow.ExecuteScalarAsync();
        }
        var purge = _purger.PurgeAsync(CancellationToken.None);
        Assert.Same(purge, await Task.WhenAny(purge, Task.Delay(TimeSpan.FromSeconds(20))));
        Assert.Equal((0L, 2, 0), await purge);
        Assert.Equal(1L, await Unknown());
        Assert.Equal([t1], await Kept());

        // Once b is free, the next purge reads it too.
        await transaction.RollbackAsync();
        Assert.Equal((1L, 1, 0), await _purger.PurgeAsync(CancellationToken.None));
        Assert.Equal(0L, await Unknown());
    }

    private async Task Write(string wallet, PreparedLegs prepared)
    {
        await using var command = _database.CreateCommand("SELECT coalesce(max(version), 0) FROM tekana_transactional_state WHERE grain_key = @key");
        command.Parameters.AddWithValue("key", wallet);
        var version = (long)(await command.ExecuteScalarAsync())!;
        await _writer.WriteAsync(new StateWrite("wallet", wallet, "wallet", version, [1]) { Prepared = prepared });
    }

    private async Task WriteThroughEarlierForm(string wallet, TransactionalStateRecord<WalletState> record)
    {
        await using var command = _database.CreateCommand(
            """
            SELECT written_version FROM tekana_group_commit('service', ARRAY['wallet'], ARRAY[@key], ARRAY['wallet'], ARRAY[0::bigint],
                ARRAY[@payload], 'movement', 'record', ARRAY['movement'], '{}', '{}', '{}', '{}', '{}')
            """);
        command.Parameters.AddWithValue("key", wallet);
        command.Parameters.AddWithValue("payload", Serializer.SerializeToArray(record));
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    /// <summary>Wallet rows as silos of the previous version leave them: their legs unknown (version 1).</summary>
    private async Task WriteUnknown(IEnumerable<string> wallets, TransactionalStateRecord<WalletState> record)
    {
        await using var command = _database.CreateCommand(
            """
            INSERT INTO tekana_transactional_state (service_id, grain_type, grain_key, state_name, version, payload, prepared_since)
            SELECT 'service', 'wallet', key, 'wallet', 1, @payload, '-infinity' FROM unnest(@keys) AS key
            """);
        command.Parameters.AddWithValue("keys", wallets.ToArray());
        command.Parameters.AddWithValue("payload", Serializer.SerializeToArray(record));
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> Unknown()
    {
        await using var command = _database.CreateCommand("SELECT count(*) FROM tekana_transactional_state WHERE prepared_since = '-infinity'");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task SinceAgo(string wallet, TimeSpan ago)
    {
        await using var command = _database.CreateCommand("UPDATE tekana_transactional_state SET prepared_since = now() - @ago WHERE grain_key = @key");
        command.Parameters.AddWithValue("ago", ago);
        command.Parameters.AddWithValue("key", wallet);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private async Task CommittedAgo(Guid transaction, TimeSpan ago)
    {
        await using var command = _database.CreateCommand("UPDATE tekana_transaction_commits SET committed_at = now() - @ago WHERE transaction_id = @t");
        command.Parameters.AddWithValue("ago", ago);
        command.Parameters.AddWithValue("t", transaction);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    /// <summary>The kept transactions, in the order they committed.</summary>
    private async Task<List<Guid>> Kept()
    {
        await using var command = _database.CreateCommand("SELECT transaction_id FROM tekana_transaction_commits ORDER BY committed_at");
        await using var reader = await command.ExecuteReaderAsync();
        var kept = new List<Guid>();
        while (await reader.ReadAsync())
        {
            kept.Add(reader.GetGuid(0));
        }
        return kept;
    }
}
