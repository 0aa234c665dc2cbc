using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Tekana.Grains.Storage;

namespace Tekana.IntegrationTests.Storage;

/// <summary>
/// The ledger's state rows on a fresh database, reached as the silo reaches them: the writer in sessions that plan each
/// statement for its arguments, the reader in sessions that plan each statement once. Service "service".
/// </summary>
internal sealed class LedgerRows : IAsyncDisposable
{
    private LedgerRows(NpgsqlDataSource database, NpgsqlDataSource lookups)
    {
        Database = database;
        Lookups = lookups;
        Writer = new GroupCommitWriter(database, "service", NullLogger<GroupCommitWriter>.Instance);
        Reader = new GroupReader(lookups, "service", NullLogger<GroupReader>.Instance);
    }

    public NpgsqlDataSource Database { get; }

    public NpgsqlDataSource Lookups { get; }

    public GroupCommitWriter Writer { get; }

    public GroupReader Reader { get; }

    public static async Task<LedgerRows> CreateAsync(string purpose)
    {
        var connectionString = await TestDatabase.CreateAsync(purpose);
        return new LedgerRows(
            PostgresConnections.CreateCustomPlanDataSource(connectionString, GroupCommitWriter.MaxConcurrentRoundTrips + 1),
            PostgresConnections.CreatePointLookupDataSource(connectionString, GroupReader.MaxConcurrentRoundTrips + 1));
    }

    public async ValueTask DisposeAsync()
    {
        await Reader.DisposeAsync();
        await Writer.DisposeAsync();
        await Lookups.DisposeAsync();
        await Database.DisposeAsync();
    }
}
