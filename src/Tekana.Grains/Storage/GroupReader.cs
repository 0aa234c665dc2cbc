using Microsoft.Extensions.Logging;
using Npgsql;

namespace Tekana.Grains.Storage;

/// <summary>A stored grain state: its row version and payload.</summary>
internal sealed record StoredState(long Version, byte[] Payload);

/// <summary>One grain's read of its stored state; null when there is none.</summary>
internal sealed record StateRead(string GrainType, string GrainKey, string StateName) : StateRequest(GrainType, GrainKey, StateName)
{
    public TaskCompletionSource<StoredState?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override void Fail(Exception failure) => Done.TrySetException(failure);
}

/// <summary>
/// Group reads for transactional grain state, the counterpart of <see cref="GroupCommitWriter"/>: the reads queued by
/// any grain while one is under way go together in the next round trip, on one connection. Every movement activates
/// its record, whose read finds no row; a connection and a round trip per read were 5 % of a silo's CPU under load.
/// Each read stays its own primary-key lookup: one statement joining the table to the list of keys got its plan from
/// the table's first statistics, taken while it was nearly empty (scan the table, hash the keys), and kept it while
/// the table grew, until PostgreSQL analysed it again (measured: half the throughput in the first minute of a fresh
/// database).
/// </summary>
internal sealed class GroupReader(NpgsqlDataSource database, string serviceId, ILogger<GroupReader> log)
    : GroupedRoundTrips<StateRead>(oneRequestPerRow: false, "group read", log)
{
    private const string Sql =
        "SELECT version, payload FROM tekana_transactional_state WHERE service_id = $1 AND grain_type = $2 AND grain_key = $3 AND state_name = $4";

    internal Task<StoredState?> ReadAsync(StateRead read)
    {
        Enqueue(read);
        return read.Done.Task;
    }

    protected override async Task RunAsync(List<StateRead> batch)
    {
        // Two reads of one row (a reload racing an activation) share its answer.
        var rows = batch.Select(r => r.Row).Distinct().ToList();
        await using var statements = database.CreateBatch();
        foreach (var (type, key, name) in rows)
        {
            var statement = new NpgsqlBatchCommand(Sql);
            statement.Parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
            statement.Parameters.Add(new NpgsqlParameter<string> { TypedValue = type });
            statement.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
            statement.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
            statements.BatchCommands.Add(statement);
        }
        var found = new Dictionary<(string, string, string), StoredState>();
        await using (var reader = await statements.ExecuteReaderAsync())
        {
            for (var i = 0; i < rows.Count; i++)
            {
                if (i > 0)
                {
                    await reader.NextResultAsync();
                }
                if (await reader.ReadAsync())
                {
                    found[rows[i]] = new StoredState(reader.GetInt64(0), reader.GetFieldValue<byte[]>(1));
                }
            }
        }
        foreach (var read in batch)
        {
            read.Done.TrySetResult(found.GetValueOrDefault(read.Row));
        }
    }
}
