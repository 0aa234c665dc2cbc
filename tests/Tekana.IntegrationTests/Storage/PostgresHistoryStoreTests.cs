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
}

/// <summary>Events as the read model receives them.</summary>
internal static class HistoryEvents
{
    private static readonly DateTimeOffset At = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static LedgerEvent Leg(string wallet, long sequence) => new()
    {
        Id = $"{wallet}-{sequence}",
        Type = EventTypes.DepositCompleted,
        Subject = wallet,
        Number = sequence,
        Time = At,
        Movement = new MovementLeg
        {
            TransactionId = $"tx-{wallet}-{sequence}",
            Type = MovementType.Deposit,
            Amount = 500,
            Currency = "RWF",
            WalletId = wallet,
            CounterpartyWalletId = "house_funding_RWF",
            Sequence = sequence,
            BalanceAfter = 500,
            IdempotencyKey = "key",
            CreatedAt = At,
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
