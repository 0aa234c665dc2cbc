using Npgsql;
using Tekana.Grains.Storage;

namespace Tekana.IntegrationTests.Storage;

public sealed class PostgresConnectionsTests
{
    [Fact]
    public void Statements_are_prepared_and_pooled_connections_are_not_reset_and_few_by_default()
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresConnections.WithDefaults("Host=db;Username=tekana;Database=tekana"));

        Assert.Equal(PostgresConnections.MaxAutoPrepare, tuned.MaxAutoPrepare);
        Assert.True(tuned.NoResetOnClose);
        Assert.Equal(PostgresConnections.MaxPoolSize, tuned.MaxPoolSize);
        Assert.Equal("db", tuned.Host);
        Assert.Equal("tekana", tuned.Database);
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0;No Reset On Close=false;Maximum Pool Size=5")]
    [InlineData("Host=db;maxautoprepare=0;NoResetOnClose=false;MaxPoolSize=5")]
    public void What_the_connection_string_sets_is_kept(string connectionString)
    {
        var tuned = new NpgsqlConnectionStringBuilder(PostgresConnections.WithDefaults(connectionString));

        Assert.Equal(0, tuned.MaxAutoPrepare);
        Assert.False(tuned.NoResetOnClose);
        Assert.Equal(5, tuned.MaxPoolSize);
    }

    [Fact]
    public async Task Storage_sessions_plan_each_statement_for_its_arguments_and_keep_the_given_options()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(await TestDatabase.CreateAsync("customplans"))
        {
            Options = "-c statement_timeout=5000",
        }.ConnectionString;
        await using var database = PostgresConnections.CreateCustomPlanDataSource(connectionString, maxConnections: 2);

        await using var command = database.CreateCommand("SELECT current_setting('plan_cache_mode'), current_setting('statement_timeout')");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(("force_custom_plan", "5s"), (reader.GetString(0), reader.GetString(1)));
        Assert.Equal(2, new NpgsqlConnectionStringBuilder(database.ConnectionString).MaxPoolSize);
    }

    [Fact]
    public async Task Read_sessions_plan_each_statement_once_and_never_scan_a_whole_table()
    {
        await using var database = PostgresConnections.CreatePointLookupDataSource(await TestDatabase.CreateAsync("pointlookups"), maxConnections: 1);

        await using var command = database.CreateCommand("SELECT current_setting('plan_cache_mode'), current_setting('enable_seqscan')");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(("force_generic_plan", "off"), (reader.GetString(0), reader.GetString(1)));
        Assert.Equal(1, new NpgsqlConnectionStringBuilder(database.ConnectionString).MaxPoolSize);
    }

    [Fact]
    public void A_plan_cache_mode_the_connection_string_sets_is_kept()
    {
        var options = new NpgsqlConnectionStringBuilder(PostgresConnections.WithCustomPlans("Host=db;Options=-c plan_cache_mode=auto")).Options;

        Assert.Equal("-c plan_cache_mode=auto", options);
    }
}
