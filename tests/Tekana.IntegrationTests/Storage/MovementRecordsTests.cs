using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.Serialization;
using Orleans.Transactions;
using Tekana.Abstractions.Transfers;
using Tekana.Grains.Storage;
using Tekana.Grains.Transfers;

namespace Tekana.IntegrationTests.Storage;

/// <summary>Movement records against PostgreSQL: a lookup reads the records' earlier form only where it was found.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MovementRecordsTests(ClusterFixture fixture) : IAsyncLifetime
{
    private LedgerRows _rows = null!;

    // The silo's own serializer: the earlier form is a transactional record, which holds grain references.
    private Serializer Serializer => fixture.Cluster.GetActiveSilos().First().ServiceProvider.GetRequiredService<Serializer>();

    public async Task InitializeAsync() => _rows = await LedgerRows.CreateAsync("records");

    public async Task DisposeAsync() => await _rows.DisposeAsync();

    [Fact]
    public async Task Records_of_the_earlier_form_are_read_only_by_silos_that_found_some_when_they_started()
    {
        var records = new MovementRecords(new PostgresStateRows(_rows.Reader, _rows.Writer), Serializer, NullLogger<MovementRecords>.Instance);
        var current = LedgerGrain.Pending(Ledger.Transfer("wal_a", "wal_b", 100), DateTimeOffset.UtcNow);
        var earlier = LedgerGrain.Pending(Ledger.Transfer("wal_a", "wal_b", 200), DateTimeOffset.UtcNow);
        Assert.Same(current, await records.AddAsync(current));

        // Until it has looked, a lookup reads both forms; a database without the earlier form is read in one.
        Assert.True(records.EarlierRecordsMayExist);
        await records.LookForEarlierRecordsAsync();
        Assert.False(records.EarlierRecordsMayExist);
        RecordAssert.Same(current, Assert.IsType<TransactionRecord>(await records.FindAsync(current.Id)));

        // A database of the earlier version holds records that its movement record grains kept.
        await WriteEarlierForm(earlier);
        await records.LookForEarlierRecordsAsync();
        Assert.True(records.EarlierRecordsMayExist);
        RecordAssert.Same(earlier, Assert.IsType<TransactionRecord>(await records.FindAsync(earlier.Id)));
        RecordAssert.Same(current, Assert.IsType<TransactionRecord>(await records.FindAsync(current.Id)));
        Assert.Null(await records.FindAsync("never"));
    }

    [Fact]
    public void Silos_look_for_records_of_the_earlier_form_when_they_start_and_on_a_database_made_since_find_none() =>
        Assert.All(fixture.Cluster.GetActiveSilos(),
            silo => Assert.False(silo.ServiceProvider.GetRequiredService<MovementRecords>().EarlierRecordsMayExist));

    private async Task WriteEarlierForm(TransactionRecord record)
    {
        await using var insert = _rows.Database.CreateCommand(
            "INSERT INTO tekana_transactional_state (service_id, grain_type, grain_key, state_name, version, payload) VALUES ('service', $1, $2, $3, 1, $4)");
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MovementRecords.EarlierGrainType });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record.Id });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MovementRecords.StateName });
        insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = Serializer.SerializeToArray(new TransactionalStateRecord<TransactionRecordState>
        {
            CommittedState = new TransactionRecordState { Record = record },
            CommittedSequenceId = 1,
        }) });
        await insert.ExecuteNonQueryAsync();
    }
}
