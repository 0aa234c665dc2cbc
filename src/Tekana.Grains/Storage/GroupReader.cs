using Microsoft.Extensions.Logging;
using Npgsql;

namespace Tekana.Grains.Storage;

/// <summary>A stored grain state: its row version and payload.</summary>
internal sealed record StoredState(long Version, byte[] Payload)
{
    /// <summary>The former grain type whose row answered the read (<see cref="StateRead.FormerGrainTypes"/>); null for the row itself.</summary>
    public string? FormerGrainType { get; init; }
}

/// <summary>One grain's read of its stored state; null when there is none.</summary>
internal sealed record StateRead(string GrainType, string GrainKey, string StateName) : StateRequest(GrainType, GrainKey, StateName)
{
    public TaskCompletionSource<StoredState?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Grain types that kept this state before, under the same key and state name: when the row itself is missing, the
    /// first of theirs that exists answers. They are read in the same statement as the row.
    /// </summary>
    public IReadOnlyList<string> FormerGrainTypes { get; init; } = [];

    /// <summary>The rows that may answer, in the order they answer: the row itself (0), then each former grain type's.</summary>
    public int CandidateCount => 1 + FormerGrainTypes.Count;

    /// <summary>The grain type of candidate row <paramref name="candidate"/> (see <see cref="CandidateCount"/>).</summary>
    public string CandidateType(int candidate) => candidate == 0 ? GrainType : FormerGrainTypes[candidate - 1];

    /// <summary>The answer when candidate <paramref name="candidate"/> is the first row that exists.</summary>
    public StoredState Answer(int candidate, StoredState row) =>
        candidate == 0 ? row : row with { FormerGrainType = FormerGrainTypes[candidate - 1] };

    public override void Fail(Exception failure) => Done.TrySetException(failure);
}

/// <summary>
/// Group reads for transactional grain state, the counterpart of <see cref="GroupCommitWriter"/>: the reads queued by
/// any grain while one is under way go together in the next round trip, on one connection. Every movement activates
/// its record, whose read finds no row; a connection and a round trip per read were 5 % of a silo's CPU under load.
/// Each read stays its own primary-key lookup: one statement joining the table to the list of keys got its plan from
/// the table's first statistics, taken while it was nearly empty (scan the table, hash the keys), and kept it while
/// the table grew, until PostgreSQL analysed it again (measured: half the throughput in the first minute of a fresh
/// database). A read that names former grain types (a movement's record) looks up the primary key once per grain type,
/// each lookup its own statement with every key column a scalar: one statement taking the types as an array
/// (<c>grain_type = ANY($2)</c>) kept a plan made while the table was empty that left the type out of the index
/// condition, and so scanned every row of the service for each read (1.8 ms per read at 24,000 rows, against about
/// 0.03 ms; pg_stat_statements and EXPLAIN in a benchmark run). The reads run in sessions that plan each statement once
/// and keep the plan (<see cref="PostgresConnections.WithPointLookupPlans"/>).
/// </summary>
internal sealed class GroupReader(NpgsqlDataSource database, string serviceId, ILogger<GroupReader> log)
    : GroupedRoundTrips<StateRead>(oneRequestPerRow: false, "group read", log)
{
    internal const string Sql =
        "SELECT grain_type, version, payload FROM tekana_transactional_state WHERE service_id = $1 AND grain_type = $2 AND grain_key = $3 AND state_name = $4";

    private const string CommittedSql =
        "SELECT transaction_id FROM tekana_transaction_commits WHERE service_id = $1 AND transaction_id = $2";

    private const string AnySql = "SELECT EXISTS (SELECT FROM tekana_transactional_state WHERE service_id = $1 AND grain_type = $2)";

    /// <summary>Whether the service has any row of <paramref name="grainType"/>: a range of the primary key, read on its own.</summary>
    internal async Task<bool> AnyAsync(string grainType)
    {
        await using var command = database.CreateCommand(AnySql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainType });
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    internal Task<StoredState?> ReadAsync(StateRead read)
    {
        Enqueue(read);
        return read.Done.Task;
    }

    /// <summary>
    /// Which of these transactions are kept as committed (<see cref="IStateRows.CommittedAsync"/>). Asked only when a
    /// wallet would drop or finds a prepared leg, which is rare: its own round trip, one primary-key lookup per id.
    /// </summary>
    internal async Task<IReadOnlySet<Guid>> CommittedAsync(IReadOnlyCollection<Guid> transactions)
    {
        var committed = new HashSet<Guid>();
        if (transactions.Count == 0)
        {
            return committed;
        }
        await using var statements = database.CreateBatch();
        foreach (var transaction in transactions)
        {
            var statement = new NpgsqlBatchCommand(CommittedSql);
            statement.Parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
            statement.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = transaction });
            statements.BatchCommands.Add(statement);
        }
        await using var reader = await statements.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync())
            {
                committed.Add(reader.GetGuid(0));
            }
        }
        while (await reader.NextResultAsync());
        return committed;
    }

    protected override async Task RunAsync(List<StateRead> batch)
    {
        // Two reads of one row (a reload racing an activation) share its answer.
        var reads = batch.DistinctBy(Lookup).ToList();
        await using var statements = database.CreateBatch();
        foreach (var read in reads)
        {
            for (var candidate = 0; candidate < read.CandidateCount; candidate++)
            {
                AddLookup(statements, read.CandidateType(candidate), read);
            }
        }
        var found = new Dictionary<((string, string, string), string), StoredState?>();
        await using (var reader = await statements.ExecuteReaderAsync())
        {
            var first = true;
            foreach (var read in reads)
            {
                // The statements' results come in the order of the read's candidates: the first row found answers.
                StoredState? answer = null;
                for (var candidate = 0; candidate < read.CandidateCount; candidate++)
                {
                    if (!first)
                    {
                        await reader.NextResultAsync();
                    }
                    first = false;
                    if (await reader.ReadAsync() && answer is null)
                    {
                        answer = read.Answer(candidate, new StoredState(reader.GetInt64(1), reader.GetFieldValue<byte[]>(2)));
                    }
                }
                found[Lookup(read)] = answer;
            }
        }
        foreach (var read in batch)
        {
            read.Done.TrySetResult(found[Lookup(read)]);
        }
    }

    private void AddLookup(NpgsqlBatch statements, string grainType, StateRead read)
    {
        var statement = new NpgsqlBatchCommand(Sql);
        statement.Parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId });
        statement.Parameters.Add(new NpgsqlParameter<string> { TypedValue = grainType });
        statement.Parameters.Add(new NpgsqlParameter<string> { TypedValue = read.GrainKey });
        statement.Parameters.Add(new NpgsqlParameter<string> { TypedValue = read.StateName });
        statements.BatchCommands.Add(statement);
    }

    private static ((string, string, string) Row, string Former) Lookup(StateRead read) => (read.Row, string.Join('\n', read.FormerGrainTypes));
}
