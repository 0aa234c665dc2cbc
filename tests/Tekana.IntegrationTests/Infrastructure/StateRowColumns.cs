using Npgsql;

namespace Tekana.IntegrationTests.Infrastructure;

/// <summary>The columns of a wallet's state row that its payload does not hold.</summary>
public static class StateRowColumns
{
    /// <summary>The row's <c>prepared_since</c>: null when it holds no prepared leg, <see cref="DateTime.MinValue"/> when unknown.</summary>
    public static async Task<DateTime?> PreparedSinceAsync(this NpgsqlDataSource database, string wallet)
    {
        await using var command = database.CreateCommand("SELECT prepared_since FROM tekana_transactional_state WHERE grain_type = 'wallet' AND grain_key = @key");
        command.Parameters.AddWithValue("key", wallet);
        return await command.ExecuteScalarAsync() is DateTime at ? at : null;
    }
}
