using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Events;
using Tekana.Domain.Customers;
using Tekana.Domain.Transfers;
using Tekana.Grains.History;
using Tekana.Grains.Storage;

namespace Tekana.IntegrationTests.Storage;

/// <summary>The read model's writes against PostgreSQL.</summary>
public sealed class PostgresHistoryStoreTests
{
    [Fact]
    public async Task A_batch_of_events_is_written_whole_or_not_at_all()
    {
        var connectionString = await TestDatabase.CreateAsync("history");
        await using var database = PostgresConnections.CreateDataSource(connectionString);
        var store = new PostgresHistoryStore(database);
        var leg = HistoryEvents.Leg("w-1", 1);
        // The customer's country does not fit its column: that statement fails, and the entry before it must not stay.
        var broken = HistoryEvents.Customer("c-1", country: "RWA");

        await Assert.ThrowsAnyAsync<Npgsql.PostgresException>(() => store.AppendAsync([leg, broken]));
        Assert.Equal(0L, await TestDatabase.ScalarAsync<long>(connectionString, "SELECT count(*) FROM ledger_entries"));

        await store.AppendAsync([leg, HistoryEvents.Customer("c-1", country: "RW")]);
        Assert.Equal(1L, await TestDatabase.ScalarAsync<long>(connectionString, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(1L, await TestDatabase.ScalarAsync<long>(connectionString, "SELECT count(*) FROM customers"));
    }

    [Fact]
    public async Task A_wallets_entries_read_newest_first_and_filter_by_position_time_and_type()
    {
        var connectionString = await TestDatabase.CreateAsync("history-read");
        await using var database = PostgresConnections.CreateDataSource(connectionString);
        var store = new PostgresHistoryStore(database);
        var start = HistoryEvents.At;
        await store.AppendAsync([.. Enumerable.Range(1, 6).Select(i => HistoryEvents.Leg("w-1", i, start.AddMinutes(i),
            i % 2 == 0 ? MovementType.Transfer : MovementType.Deposit)), HistoryEvents.Leg("w-2", 1)]);

        async Task<long[]> Read(long? before = null, int limit = 10, DateTimeOffset? from = null, DateTimeOffset? to = null, string? type = null) =>
            [.. (await store.EntriesAsync("w-1", new HistoryQuery(before, limit, from, to, type))).Select(e => e.Sequence)];

        Assert.Equal(new long[] { 6, 5, 4, 3, 2, 1 }, await Read());
        Assert.Equal(new long[] { 6, 5 }, await Read(limit: 2));
        Assert.Equal(new long[] { 3, 2 }, await Read(before: 4, limit: 2));
        Assert.Equal(new long[] { 4, 3 }, await Read(from: start.AddMinutes(3), to: start.AddMinutes(5)));
        Assert.Equal(new long[] { 6, 4, 2 }, await Read(type: "transfer"));
        Assert.Equal(new long[] { 2 }, await Read(before: 4, type: "transfer"));
        Assert.Empty(await Read(from: start.AddMinutes(7)));
    }
}

/// <summary>Events as the read model receives them.</summary>
internal static class HistoryEvents
{
    public static readonly DateTimeOffset At = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static LedgerEvent Leg(string wallet, long sequence, DateTimeOffset? at = null, MovementType type = MovementType.Deposit) => new()
    {
        Id = $"{wallet}-{sequence}",
        Type = EventTypes.DepositCompleted,
        Subject = wallet,
        Number = sequence,
        Time = at ?? At,
        Movement = new MovementLeg
        {
            TransactionId = $"tx-{wallet}-{sequence}",
            Type = type,
            Amount = 500,
            Currency = "RWF",
            WalletId = wallet,
            CounterpartyWalletId = "house_funding_RWF",
            Sequence = sequence,
            BalanceAfter = 500,
            IdempotencyKey = "key",
            CreatedAt = at ?? At,
        },
    };

    public static LedgerEvent Customer(string id, string country) => new()
    {
        Id = $"{id}-1",
        Type = EventTypes.CustomerRegistered,
        Subject = id,
        Number = 1,
        Time = At,
        Customer = new CustomerView(id, "Ada Uwase", "ada@example.com", "+250788000000", country, "RWF", CustomerStatus.Active, [], At, At),
    };
}
