using Npgsql;
using NpgsqlTypes;
using Tekana.Abstractions.Events;

namespace Tekana.Grains.History;

/// <summary>The read model in PostgreSQL (tables from sql/030_read_model.sql). One round trip per batch of events.</summary>
public sealed class PostgresHistoryStore(NpgsqlDataSource dataSource) : IHistoryStore
{
    public async Task AppendAsync(IReadOnlyList<LedgerEvent> events, CancellationToken cancellationToken = default)
    {
        var entries = events.Select(e => (Event: e, Entry: Projection.EntryOf(e))).Where(x => x.Entry is not null).ToList();
        // Within a batch only the newest event of each customer matters.
        var customers = events.Where(e => e.Customer is not null)
            .GroupBy(e => e.Subject).Select(g => g.MaxBy(e => e.Number)!).ToList();
        if (entries.Count == 0 && customers.Count == 0)
        {
            return;
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // A batch is one implicit transaction (Npgsql ends it with a single Sync): all of it applies or none does,
        // without the extra round trip of an explicit COMMIT.
        await using var batch = new NpgsqlBatch(connection);
        if (entries.Count > 0)
        {
            var command = new NpgsqlBatchCommand(
                """
                INSERT INTO ledger_entries (wallet_id, sequence, transaction_id, type, amount, currency, balance_after,
                                            counterparty, description, occurred_at, event_id)
                SELECT * FROM unnest(@wallet, @sequence, @txn, @type, @amount, @currency, @balance, @counterparty,
                                     @description, @at, @event)
                ON CONFLICT (wallet_id, sequence) DO NOTHING
                """);
            command.Parameters.Add(Array("wallet", NpgsqlDbType.Text, entries.Select(x => x.Entry!.WalletId)));
            command.Parameters.Add(Array("sequence", NpgsqlDbType.Bigint, entries.Select(x => x.Entry!.Sequence)));
            command.Parameters.Add(Array("txn", NpgsqlDbType.Text, entries.Select(x => x.Entry!.TransactionId)));
            command.Parameters.Add(Array("type", NpgsqlDbType.Text, entries.Select(x => x.Entry!.Type)));
            command.Parameters.Add(Array("amount", NpgsqlDbType.Bigint, entries.Select(x => x.Entry!.Amount)));
            command.Parameters.Add(Array("currency", NpgsqlDbType.Text, entries.Select(x => x.Entry!.Currency)));
            command.Parameters.Add(Array("balance", NpgsqlDbType.Bigint, entries.Select(x => x.Entry!.BalanceAfter)));
            command.Parameters.Add(Array("counterparty", NpgsqlDbType.Text, entries.Select(x => x.Entry!.Counterparty)));
            command.Parameters.Add(Array("description", NpgsqlDbType.Text, entries.Select(x => x.Entry!.Description)));
            command.Parameters.Add(Array("at", NpgsqlDbType.TimestampTz, entries.Select(x => x.Entry!.OccurredAt)));
            command.Parameters.Add(Array("event", NpgsqlDbType.Text, entries.Select(x => x.Event.Id)));
            batch.BatchCommands.Add(command);
        }
        foreach (var e in customers)
        {
            var c = Projection.CustomerOf(e)!;
            var command = new NpgsqlBatchCommand(
                """
                INSERT INTO customers (id, full_name, email, phone_number, country, status, created_at, updated_at, event_number)
                VALUES (@id, @name, @email, @phone, @country, @status, @created, @updated, @number)
                ON CONFLICT (id) DO UPDATE SET full_name = EXCLUDED.full_name, email = EXCLUDED.email,
                    phone_number = EXCLUDED.phone_number, country = EXCLUDED.country, status = EXCLUDED.status,
                    updated_at = EXCLUDED.updated_at, event_number = EXCLUDED.event_number
                WHERE customers.event_number < EXCLUDED.event_number
                """);
            command.Parameters.AddWithValue("id", c.Id);
            command.Parameters.AddWithValue("name", c.FullName);
            command.Parameters.AddWithValue("email", c.Email);
            command.Parameters.AddWithValue("phone", c.PhoneNumber);
            command.Parameters.AddWithValue("country", c.Country);
            command.Parameters.AddWithValue("status", c.Status);
            command.Parameters.AddWithValue("created", c.CreatedAt);
            command.Parameters.AddWithValue("updated", c.UpdatedAt);
            command.Parameters.AddWithValue("number", e.Number);
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<LedgerEntry>> EntriesAsync(string walletId, HistoryQuery query, CancellationToken cancellationToken = default)
    {
        // Positional parameters: Npgsql sends the text as it is, where named ones have it parse and rewrite the
        // statement on every read (the API reads history for every page a client opens).
        await using var command = dataSource.CreateCommand(
            """
            SELECT wallet_id, sequence, transaction_id, type, amount, currency, balance_after, counterparty, description, occurred_at
              FROM ledger_entries
             WHERE wallet_id = $1
               AND ($2::bigint IS NULL OR sequence < $2)
               AND ($3::timestamptz IS NULL OR occurred_at >= $3)
               AND ($4::timestamptz IS NULL OR occurred_at < $4)
               AND ($5::text IS NULL OR type = $5)
             ORDER BY sequence DESC
             LIMIT $6
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = walletId });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)query.Before ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)query.From ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = (object?)query.To ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)query.Type ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = query.Limit });
        var rows = new List<LedgerEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new LedgerEntry(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3),
                reader.GetInt64(4), reader.GetString(5), reader.GetInt64(6), reader.GetString(7),
                reader.IsDBNull(8) ? null : reader.GetString(8), reader.GetFieldValue<DateTimeOffset>(9)));
        }
        return rows;
    }

    public async Task<IReadOnlyList<CustomerRow>> SearchCustomersAsync(string? query, string? afterId, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT id, full_name, email, phone_number, country, status, created_at, updated_at
              FROM customers
             WHERE (@query::text IS NULL
                    OR (lower(full_name) || ' ' || email || ' ' || phone_number) LIKE '%' || @query || '%')
               AND (@after::text IS NULL OR id > @after)
             ORDER BY id
             LIMIT @limit
            """);
        var pattern = string.IsNullOrWhiteSpace(query) ? null : EscapeLike(query.Trim().ToLowerInvariant());
        command.Parameters.Add(new NpgsqlParameter("query", NpgsqlDbType.Text) { Value = (object?)pattern ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("after", NpgsqlDbType.Text) { Value = (object?)afterId ?? DBNull.Value });
        command.Parameters.AddWithValue("limit", limit);
        var rows = new List<CustomerRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new CustomerRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }
        return rows;
    }

    private static string EscapeLike(string text) => text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    private static NpgsqlParameter Array<T>(string name, NpgsqlDbType type, IEnumerable<T> values) =>
        new(name, NpgsqlDbType.Array | type) { Value = values.ToArray() };
}
