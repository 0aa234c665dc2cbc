using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Orleans.Storage;

namespace Tekana.Grains.Storage;

/// <summary>One grain's conditional write: it succeeds only if the stored version is still <see cref="ExpectedVersion"/>.</summary>
internal sealed record StateWrite(string GrainType, string GrainKey, string StateName, long ExpectedVersion, byte[] Payload)
    : StateRequest(GrainType, GrainKey, StateName)
{
    public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Movement records written with this state, in the same commit, or not at all (<see cref="MovementSettlements"/>).</summary>
    public IReadOnlyList<SettledRecord> Settled { get; init; } = [];

    /// <summary>
    /// The transactions whose commit records this write adds: each is kept as committed, in the same commit, for good
    /// (<see cref="IStateRows.CommittedAsync"/>).
    /// </summary>
    public IReadOnlyList<Guid> Commits { get; init; } = [];

    /// <summary>
    /// Whether the prepared legs the row holds once written are new to it: the row keeps since when it holds prepared legs,
    /// in the database's time, for the commit purge (<see cref="CommitPurger"/>). Unknown unless the writer says.
    /// </summary>
    public PreparedLegs Prepared { get; init; } = PreparedLegs.Unknown;

    public override void Fail(Exception failure) => Done.TrySetException(failure);

    /// <summary>The failure of a write whose row is no longer at <see cref="ExpectedVersion"/>.</summary>
    public InconsistentStateException Stale() =>
        new($"The stored state of {GrainType}/{GrainKey} is no longer at version {ExpectedVersion}.");

    /// <summary>The failure of a write carrying a movement record that is already stored.</summary>
    public InconsistentStateException AlreadyRecorded(Exception? cause = null) =>
        new($"A movement settled by {GrainType}/{GrainKey} is already recorded.", cause);
}

/// <summary>What a write tells its row of the prepared legs it holds once written (the row's <c>prepared_since</c>).</summary>
internal enum PreparedLegs : short
{
    /// <summary>None: the row holds no prepared leg.</summary>
    None = 0,

    /// <summary>Every leg it holds is stored by this write for the first time: since now.</summary>
    AllNew = 1,

    /// <summary>It held one of them before this write: since when it did, unchanged.</summary>
    SomeHeldBefore = 2,

    /// <summary>Not known: the purge learns it from the row, or waits for the wallet's next write.</summary>
    Unknown = 3,
}

/// <summary>A movement's record, stored under <see cref="MovementRecords.GrainType"/> with its id as key.</summary>
internal sealed record SettledRecord(string Id, byte[] Payload);

/// <summary>
/// Group commit for transactional grain state: writes queued by any grain while a flush is under way go together in
/// the next one, as one statement in one PostgreSQL transaction (one round trip, one WAL flush). Each write keeps its
/// own version check: a stale write fails alone, with <see cref="InconsistentStateException"/>, while the rest of
/// its batch commits. A batch that fails as a whole (the database went away) fails each of its writes. One flush
/// runs at a time: with four the batches were smaller (2.1 writes per statement against 2.8) and throughput was no
/// better (measured).
/// </summary>
internal sealed class GroupCommitWriter(NpgsqlDataSource database, string serviceId, ILogger<GroupCommitWriter> log)
    // One write per grain and call: a second write of a grain (from a second activation of it) waits for the next call,
    // and is judged against the row the first one left.
    : GroupedRoundTrips<StateWrite>(oneRequestPerRow: true, "group commit", log)
{
    // The statement is a function of the schema (sql/040_transactional_state.sql), which plans its own statements once
    // per session. A write whose records include one already stored (a movement run again after it committed, here or
    // by a former record grain) is left out and fails alone: it changes nothing, and the rest of the batch commits; its
    // place comes back with version -1. A record already stored by a transaction that commits after this one began fails
    // the whole call, and nothing of it is stored.
    private const string Sql = """
        SELECT write_number, written_version FROM tekana_group_commit(@service, @types, @keys, @names, @versions, @payloads,
            @record_type, @record_state, @record_types, @record_owners, @record_ids, @record_payloads, @commit_owners, @commit_ids,
            @prepared)
        """;

    internal Task<long> WriteAsync(StateWrite write)
    {
        Enqueue(write);
        return write.Done.Task;
    }

    protected override async Task RunAsync(List<StateWrite> batch)
    {
        try
        {
            await WriteBatchAsync(batch);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && batch.Any(w => w.Settled.Count > 0))
        {
            // Another statement stored a record of this batch after this one began (two runs of a movement racing on
            // two silos), or two writes of this batch carry the same one: the second run must not commit. Which write
            // carried it is unknown, so every write that carries records fails (each of their transactions aborts and
            // is retried, finding the record), and the rest of the batch goes again.
            foreach (var write in batch.Where(w => w.Settled.Count > 0))
            {
                write.Done.TrySetException(write.AlreadyRecorded(e));
            }
            var rest = batch.Where(w => w.Settled.Count == 0).ToList();
            if (rest.Count > 0)
            {
                await WriteBatchAsync(rest);
            }
        }
    }

    private async Task WriteBatchAsync(List<StateWrite> batch)
    {
        await using var command = database.CreateCommand(Sql);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.Add(new NpgsqlParameter<string[]>("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. batch.Select(w => w.GrainType)] });
        command.Parameters.Add(new NpgsqlParameter<string[]>("keys", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. batch.Select(w => w.GrainKey)] });
        command.Parameters.Add(new NpgsqlParameter<string[]>("names", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. batch.Select(w => w.StateName)] });
        command.Parameters.Add(new NpgsqlParameter<long[]>("versions", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. batch.Select(w => w.ExpectedVersion)] });
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("payloads", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = [.. batch.Select(w => w.Payload)] });
        var records = batch.SelectMany((w, i) => w.Settled.Select(r => (Owner: (long)i + 1, Record: r))).ToList();
        command.Parameters.AddWithValue("record_type", MovementRecords.GrainType);
        command.Parameters.AddWithValue("record_state", MovementRecords.StateName);
        command.Parameters.Add(new NpgsqlParameter<string[]>("record_types", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = MovementRecords.RecordGrainTypes });
        command.Parameters.Add(new NpgsqlParameter<long[]>("record_owners", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. records.Select(r => r.Owner)] });
        command.Parameters.Add(new NpgsqlParameter<string[]>("record_ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. records.Select(r => r.Record.Id)] });
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("record_payloads", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = [.. records.Select(r => r.Record.Payload)] });
        var commits = batch.SelectMany((w, i) => w.Commits.Select(t => (Owner: (long)i + 1, Transaction: t))).ToList();
        command.Parameters.Add(new NpgsqlParameter<long[]>("commit_owners", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. commits.Select(c => c.Owner)] });
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("commit_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = [.. commits.Select(c => c.Transaction)] });
        command.Parameters.Add(new NpgsqlParameter<short[]>("prepared", NpgsqlDbType.Array | NpgsqlDbType.Smallint) { TypedValue = [.. batch.Select(w => (short)w.Prepared)] });
        // The statement answers each write by its place in the batch: its new version, or -1 when it carries a record
        // already stored; a write it does not answer (0) was stale.
        var answers = new long[batch.Count];
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                answers[reader.GetInt64(0) - 1] = reader.GetInt64(1);
            }
        }
        for (var i = 0; i < batch.Count; i++)
        {
            var write = batch[i];
            if (answers[i] > 0)
            {
                write.Done.TrySetResult(answers[i]);
            }
            else
            {
                write.Done.TrySetException(answers[i] < 0 ? write.AlreadyRecorded() : write.Stale());
            }
        }
    }
}
