using Tekana.Abstractions.Events;
using Tekana.Grains.Events;
using Tekana.Grains.History;
using Tekana.Grains.Storage;

namespace Tekana.IntegrationTests.Storage;

/// <summary>The read-model sink against PostgreSQL: the relays' batches share writes, and a batch is acknowledged only once written.</summary>
public sealed class ReadModelSinkTests : IAsyncLifetime
{
    private readonly List<Npgsql.NpgsqlDataSource> _databases = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task Batches_handed_over_together_share_a_few_writes_and_all_land()
    {
        var (connectionString, store) = await CountedStoreAsync();
        var sink = new ReadModelSink(store);

        // Sixteen relays, each with two entries, at once.
        await Task.WhenAll(Enumerable.Range(0, 16).Select(relay =>
            sink.WriteAsync([HistoryEvents.Leg($"w-{relay}", 1), HistoryEvents.Leg($"w-{relay}", 2)], CancellationToken.None)));

        Assert.Equal(32L, await TestDatabase.ScalarAsync<long>(connectionString, "SELECT count(*) FROM ledger_entries"));
        Assert.InRange(store.Appends, 1, 4);
    }

    [Fact]
    public async Task A_batch_is_acknowledged_only_when_its_events_are_written()
    {
        var (connectionString, store) = await CountedStoreAsync();
        var sink = new ReadModelSink(store);

        var writes = Enumerable.Range(0, 8).Select(relay => (Wallet: $"w-{relay}", Write: sink.WriteAsync(
            relay == 3
                ? [HistoryEvents.Leg($"w-{relay}", 1), HistoryEvents.Customer("c-broken", country: "RWA")]
                : [HistoryEvents.Leg($"w-{relay}", 1)],
            CancellationToken.None))).ToList();
        await Task.WhenAll(writes.Select(w => w.Write.ContinueWith(_ => { }, TaskScheduler.Default)));

        Assert.True(writes[3].Write.IsFaulted);
        foreach (var (wallet, write) in writes)
        {
            var rows = await TestDatabase.ScalarAsync<long>(connectionString, $"SELECT count(*) FROM ledger_entries WHERE wallet_id = '{wallet}'");
            Assert.Equal(write.IsCompletedSuccessfully ? 1L : 0L, rows);
        }
        // What failed with the broken batch goes through when its relay sends it again.
        foreach (var (wallet, _) in writes.Where(w => w.Write.IsFaulted && w.Wallet != "w-3"))
        {
            await sink.WriteAsync([HistoryEvents.Leg(wallet, 1)], CancellationToken.None);
        }
        Assert.Equal(7L, await TestDatabase.ScalarAsync<long>(connectionString, "SELECT count(*) FROM ledger_entries"));
    }

    private async Task<(string ConnectionString, CountingStore Store)> CountedStoreAsync()
    {
        var connectionString = await TestDatabase.CreateAsync("readmodel");
        var database = PostgresConnections.CreateDataSource(connectionString);
        _databases.Add(database);
        return (connectionString, new CountingStore(new PostgresHistoryStore(database)));
    }

    /// <summary>The PostgreSQL store, counting the appends it is asked for.</summary>
    private sealed class CountingStore(IHistoryStore inner) : IHistoryStore
    {
        private int _appends;

        public int Appends => _appends;

        public Task AppendAsync(IReadOnlyList<LedgerEvent> events, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _appends);
            return inner.AppendAsync(events, cancellationToken);
        }

        public Task<IReadOnlyList<LedgerEntry>> EntriesAsync(string walletId, HistoryQuery query, CancellationToken cancellationToken = default) =>
            inner.EntriesAsync(walletId, query, cancellationToken);

        public Task<IReadOnlyList<CustomerRow>> SearchCustomersAsync(string? query, string? afterId, int limit, CancellationToken cancellationToken = default) =>
            inner.SearchCustomersAsync(query, afterId, limit, cancellationToken);
    }
}
