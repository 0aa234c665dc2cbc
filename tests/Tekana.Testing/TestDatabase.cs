using Npgsql;

namespace Tekana.Testing;

/// <summary>
/// A fresh database per fixture, cloned from the template that the test script prepared with the scripts in sql/.
/// The PostgreSQL server is a real throwaway cluster started by scripts/test.sh.
/// </summary>
public static class TestDatabase
{
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("TEKANA_TEST_POSTGRES")
        ?? throw new InvalidOperationException(
            "TEKANA_TEST_POSTGRES is not set. Run the tests through ./scripts/test.sh, which starts a throwaway PostgreSQL.");

    private static string Template => Environment.GetEnvironmentVariable("TEKANA_TEST_TEMPLATE") ?? "tekana_template";

    public static async Task<string> CreateAsync(string purpose)
    {
        var name = $"t_{purpose}_{Guid.NewGuid():N}".ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(ServerConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE \"{Template}\"", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name }.ConnectionString;
    }

    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
