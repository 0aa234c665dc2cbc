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
    private static readonly TimeSpan Margin = TimeSpan.FromMinutes(1);

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
    public async Task A_kept_transaction_goes_once_no_row_holds_a_leg_prepared_before_it()
    {
        // Wallet a holds a leg prepared two hours ago; m committed t1 three hours ago, t2 90 minutes ago, t3 now.
        var (t1, t2, t3) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await _writer.WriteAsync(new StateWrite("wallet", "a", "wallet", 0, [1]) { PreparedSince = DateTime.UtcNow.AddHours(-2) });
        await _writer.WriteAsync(new StateWrite("wallet", "m", "wallet", 0, [1]) { Commits = [t1, t2, t3] });
        await CommittedAgo(t1, TimeSpan.FromHours(3));
        await CommittedAgo(t2, TimeSpan.FromMinutes(90));

        // t2 may hold a's leg; t1 committed before it was prepared.
        Assert.Equal(1, await _purger.PurgeAsync(CancellationToken.None));
        Assert.Equal([t2, t3], await Kept());

        // a's leg commits: only the margin keeps t3.
        await _writer.WriteAsync(new StateWrite("wallet", "a", "wallet", 1, [2]));
        Assert.Equal(1, await _purger.PurgeAsync(CancellationToken.None));
        Assert.Equal([t3], await Kept());
        Assert.Equal(0, await _purger.PurgeAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_row_whose_prepared_legs_are_unknown_stops_the_purge_until_the_purge_reads_them()
    {
        // A silo of the previous version writes wallet b, holding a leg prepared two hours ago, through the function's
        // earlier form, which does not know the column.
        var prepared = DateTime.UtcNow.AddHours(-2);
        var record = new TransactionalStateRecord<WalletState>();
        record.PendingStates.Add(new PendingTransactionState<WalletState>
        {
            SequenceId = 1, TransactionId = Guid.NewGuid().ToString(), TimeStamp = prepared, State = new WalletState { Balance = 5 },
        });
        await using (var command = _database.CreateCommand(
            """
            SELECT written_version FROM tekana_group_commit('service', ARRAY['wallet'], ARRAY['b'], ARRAY['wallet'], ARRAY[0::bigint],
                ARRAY[@payload], 'movement', 'record', ARRAY['movement'], '{}', '{}', '{}', '{}', '{}')
            """))
        {
            command.Parameters.AddWithValue("payload", Serializer.SerializeToArray(record));
            Assert.Equal(1L, await command.ExecuteScalarAsync());
        }
        Assert.Equal(DateTime.MinValue, await PreparedSince("b"));
        var (t1, t2) = (Guid.NewGuid(), Guid.NewGuid());
        await _writer.WriteAsync(new StateWrite("wallet", "m", "wallet", 0, [1]) { Commits = [t1, t2] });
        await CommittedAgo(t1, TimeSpan.FromHours(3));
        await CommittedAgo(t2, TimeSpan.FromMinutes(90));

        // The purge reads b's leg from its payload, and keeps what it may need.
        Assert.Equal(1, await _purger.PurgeAsync(CancellationToken.None));
        Assert.Equal([t2], await Kept());
        Assert.Equal(prepared.Ticks / 10, (await PreparedSince("b"))!.Value.Ticks / 10);
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

    private async Task<DateTime?> PreparedSince(string wallet)
    {
        await using var command = _database.CreateCommand("SELECT prepared_since FROM tekana_transactional_state WHERE grain_key = @key");
        command.Parameters.AddWithValue("key", wallet);
        return await command.ExecuteScalarAsync() is DateTime at ? at : null;
    }
}
