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
}
