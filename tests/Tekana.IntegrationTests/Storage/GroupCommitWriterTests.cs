using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.Storage;
using Tekana.Grains.Storage;

namespace Tekana.IntegrationTests.Storage;

/// <summary>The group-commit writer against PostgreSQL: every grain's write keeps its own version check.</summary>
public sealed class GroupCommitWriterTests : IAsyncLifetime
{
    private string _connectionString = null!;
    private NpgsqlDataSource _database = null!;
    private GroupCommitWriter _writer = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await TestDatabase.CreateAsync("groupcommit");
        _database = PostgresConnections.CreateCustomPlanDataSource(_connectionString, GroupCommitWriter.MaxConcurrentRoundTrips + 1);
        _writer = new GroupCommitWriter(_database, "service", NullLogger<GroupCommitWriter>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _writer.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task A_stale_write_fails_alone_while_the_rest_of_its_batch_commits()
    {
        var created = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => _writer.WriteAsync(Write($"w{i}", 0, i))));
        Assert.All(created, version => Assert.Equal(1, version));

        // Queued together, so they share statements; grain 7's write names a version it never had.
        var writes = Enumerable.Range(0, 50).Select(i => _writer.WriteAsync(Write($"w{i}", i == 7 ? 5 : 1, 100 + i))).ToList();
        await Assert.ThrowsAsync<InconsistentStateException>(() => writes[7]);
        foreach (var i in Enumerable.Range(0, 50).Where(i => i != 7))
        {
            Assert.Equal(2, await writes[i]);
        }

        var stored = await StoredAsync();
        Assert.Equal((1L, (byte)7), stored["w7"]);
        Assert.All(Enumerable.Range(0, 50).Where(i => i != 7), i => Assert.Equal((2L, (byte)(100 + i)), stored[$"w{i}"]));
    }

    [Fact]
    public async Task Of_two_writes_of_one_grain_from_the_same_version_exactly_one_succeeds()
    {
        // Two activations of one grain (a duplicate during a membership change) each write from what they read: first
        // the grain's creation, then an update from version 1.
        await AssertOneWinsAsync(0, "fresh");
        await _writer.WriteAsync(Write("existing", 0, 1));
        await AssertOneWinsAsync(1, "existing");

        async Task AssertOneWinsAsync(long version, string key)
        {
            var first = _writer.WriteAsync(Write(key, version, 10));
            var second = _writer.WriteAsync(Write(key, version, 20));
            var outcomes = await Task.WhenAll(Outcome(first), Outcome(second));
            Assert.Single(outcomes, succeeded => succeeded);
            var winner = outcomes[0] ? (byte)10 : (byte)20;
            Assert.Equal((version + 1, winner), (await StoredAsync())[key]);
        }
    }

    [Fact]
    public async Task A_writes_movement_records_are_stored_with_it_and_not_at_all_when_it_fails()
    {
        await Task.WhenAll(Enumerable.Range(0, 4).Select(i => _writer.WriteAsync(Write($"s{i}", 0, i))));

        // Queued together: s0 commits its record; s1 names a version it never had, so its record must not stay behind.
        var writes = new[]
        {
            _writer.WriteAsync(Write("s0", 1, 10) with { Settled = [new SettledRecord("m0", [50])] }),
            _writer.WriteAsync(Write("s1", 7, 11) with { Settled = [new SettledRecord("m1", [51])] }),
            _writer.WriteAsync(Write("s2", 1, 12)),
        };
        Assert.Equal(2, await writes[0]);
        await Assert.ThrowsAsync<InconsistentStateException>(() => writes[1]);
        Assert.Equal(2, await writes[2]);

        var stored = await StoredAsync();
        Assert.Equal((1L, (byte)50), stored["m0"]);
        Assert.False(stored.ContainsKey("m1"));
        Assert.Equal((1L, (byte)1), stored["s1"]);
    }

    [Fact]
    public async Task A_record_already_stored_fails_only_the_write_carrying_it_and_the_rest_commits()
    {
        await Task.WhenAll(Enumerable.Range(0, 5).Select(i => _writer.WriteAsync(Write($"d{i}", 0, i))));
        await _writer.WriteAsync(Write("d0", 1, 20) with { Settled = [new SettledRecord("r0", [60])] });
        await using (var kept = _database.CreateCommand(
            "INSERT INTO tekana_transactional_state (service_id, grain_type, grain_key, state_name, version, payload) VALUES ('service', $1, 'r4', $2, 1, '\\x00')"))
        {
            kept.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MovementRecords.EarlierGrainType });
            kept.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MovementRecords.StateName });
            await kept.ExecuteNonQueryAsync();
        }

        // d1 settles r0 again (a second run of one movement) with a new one; d2 settles a new record in the same
        // statement; d3 none; d4 settles r4, kept by a former movement record grain.
        var writes = new[]
        {
            _writer.WriteAsync(Write("d1", 1, 21) with { Settled = [new SettledRecord("r1", [61]), new SettledRecord("r0", [61])] }),
            _writer.WriteAsync(Write("d2", 1, 22) with { Settled = [new SettledRecord("r2", [62])] }),
            _writer.WriteAsync(Write("d3", 1, 23)),
            _writer.WriteAsync(Write("d4", 1, 24) with { Settled = [new SettledRecord("r4", [64])] }),
        };
        var refused = await Assert.ThrowsAsync<InconsistentStateException>(() => writes[0]);
        Assert.Contains("already recorded", refused.Message);
        Assert.Equal(2, await writes[1]);
        Assert.Equal(2, await writes[2]);
        await Assert.ThrowsAsync<InconsistentStateException>(() => writes[3]);

        var stored = await StoredAsync();
        Assert.Equal((1L, (byte)60), stored["r0"]);
        Assert.False(stored.ContainsKey("r1"));
        Assert.Equal((1L, (byte)62), stored["r2"]);
        Assert.Equal((1L, (byte)1), stored["d1"]);
        Assert.Equal((2L, (byte)22), stored["d2"]);
        Assert.Equal((2L, (byte)23), stored["d3"]);
        Assert.Equal((1L, (byte)4), stored["d4"]);
        await using var records = _database.CreateCommand("SELECT count(*) FROM tekana_transactional_state WHERE grain_type = $1");
        records.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MovementRecords.GrainType });
        Assert.Equal(2L, await records.ExecuteScalarAsync()); // r0 and r2
    }

    [Fact]
    public async Task Two_writes_of_one_batch_carrying_the_same_new_record_both_fail_and_the_rest_commits()
    {
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => _writer.WriteAsync(Write($"t{i}", 0, i))).Append(_writer.WriteAsync(Write("h", 0, 0))));

        // Two runs of one movement settled by two wallets at once: neither may commit, as which one stored the record
        // first cannot be told apart within the statement. A write held on a row lock keeps the writer's one round
        // trip busy, so that the next three queue into the same statement.
        Task<long> held;
        Task<long>[] writes;
        await using (await HoldRowAsync("h"))
        {
            held = _writer.WriteAsync(Write("h", 1, 1));
            await UntilAStatementWaitsForALockAsync();
            writes =
            [
                _writer.WriteAsync(Write("t0", 1, 30) with { Settled = [new SettledRecord("twice", [70])] }),
                _writer.WriteAsync(Write("t1", 1, 31) with { Settled = [new SettledRecord("twice", [71])] }),
                _writer.WriteAsync(Write("t2", 1, 32)),
            ];
        }
        Assert.Equal(2, await held);
        await Assert.ThrowsAsync<InconsistentStateException>(() => writes[0]);
        await Assert.ThrowsAsync<InconsistentStateException>(() => writes[1]);
        Assert.Equal(2, await writes[2]);

        var stored = await StoredAsync();
        Assert.False(stored.ContainsKey("twice"));
        Assert.Equal((1L, (byte)0), stored["t0"]);
        Assert.Equal((1L, (byte)1), stored["t1"]);
        Assert.Equal((2L, (byte)32), stored["t2"]);
    }

    [Fact]
    public async Task Rewriting_a_grain_leaves_every_index_untouched_so_that_its_row_is_updated_in_place()
    {
        // A heap-only (in-place) update needs free room on the page and no indexed column that changes.
        await using var command = _database.CreateCommand("""
            SELECT array_agg(i.indexrelid::regclass::text), c.reloptions
              FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid
             WHERE c.relname = 'tekana_transactional_state' GROUP BY c.reloptions
            """);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(["tekana_transactional_state_pkey"], reader.GetFieldValue<string[]>(0));
        Assert.Contains("fillfactor=70", reader.GetFieldValue<string[]>(1));
    }

    [Fact]
    public async Task The_group_commit_functions_plans_made_on_an_empty_table_look_up_every_row_by_its_whole_key()
    {
        // The function plans each statement once per session and keeps the plan, sequential scans ruled out.
        await using var command = _database.CreateCommand("SELECT proconfig FROM pg_proc WHERE proname = 'tekana_group_commit' AND pronargs = 15");
        Assert.Equal(["plan_cache_mode=force_generic_plan", "enable_seqscan=off"], (string[])(await command.ExecuteScalarAsync())!);

        // One session plans its statements on the empty table, then runs them again once the table holds 20,000 rows
        // of each grain type, with auto_explain sending it the plans of the function's statements.
        await using var session = new NpgsqlConnection(_connectionString);
        await session.OpenAsync();
        await GroupCommit(session, "first", "first-record");
        await using (var grow = new NpgsqlCommand("""
            INSERT INTO tekana_transactional_state (service_id, grain_type, grain_key, state_name, version, payload)
            SELECT 'service', t, t || i, CASE t WHEN 'wallet' THEN 'wallet' ELSE $1 END, 1, '\x00'
              FROM unnest(ARRAY['wallet', $2, $3]) t, generate_series(1, 20000) i
            """, session))
        {
            grow.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MovementRecords.StateName });
            grow.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MovementRecords.GrainType });
            grow.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MovementRecords.EarlierGrainType });
            await grow.ExecuteNonQueryAsync();
        }
        var plans = new List<string>();
        session.Notice += (_, e) => plans.Add(e.Notice.MessageText);
        await using (var explain = new NpgsqlCommand(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET client_min_messages = log",
            session))
        {
            await explain.ExecuteNonQueryAsync();
        }
        await GroupCommit(session, "wallet7", "second-record");

        var conditions = plans.SelectMany(plan => plan.Split('\n')).Where(line => line.Contains("Index Cond", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(plans, plan => plan.Contains("Seq Scan", StringComparison.Ordinal));
        Assert.True(conditions.Count >= 3, string.Join('\n', plans)); // both record types looked up, the wallet updated
        Assert.All(conditions, condition => Assert.All(new[] { "service_id", "grain_type", "grain_key", "state_name" },
            column => Assert.Contains(column, condition)));
    }

    /// <summary>Runs the group commit function in this session: a write of one wallet's row carrying one new record and one commit.</summary>
    private static async Task GroupCommit(NpgsqlConnection session, string wallet, string record)
    {
        await using var call = new NpgsqlCommand(
            "SELECT * FROM tekana_group_commit('service', ARRAY['wallet'], ARRAY[$1], ARRAY['wallet'], ARRAY[$2::bigint], ARRAY['\\x01'::bytea], $3, $4, $5, ARRAY[1::bigint], ARRAY[$6], ARRAY['\\x02'::bytea], ARRAY[1::bigint], ARRAY[gen_random_uuid()], ARRAY[1::smallint])",
            session);
        call.Parameters.Add(new NpgsqlParameter<string> { TypedValue = wallet });
        call.Parameters.Add(new NpgsqlParameter<long> { TypedValue = wallet == "first" ? 0 : 1 });
        call.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MovementRecords.GrainType });
        call.Parameters.Add(new NpgsqlParameter<string> { TypedValue = MovementRecords.StateName });
        call.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = MovementRecords.RecordGrainTypes });
        call.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record });
        await using var reader = await call.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.True(reader.GetInt64(1) > 0, "the write was refused");
    }

    /// <summary>Locks a grain's row from another connection until disposed.</summary>
    private async Task<IAsyncDisposable> HoldRowAsync(string key)
    {
        var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(
            "SELECT 1 FROM tekana_transactional_state WHERE grain_key = @key FOR UPDATE", connection, transaction);
        command.Parameters.AddWithValue("key", key);
        await command.ExecuteScalarAsync();
        return connection;
    }

    private async Task UntilAStatementWaitsForALockAsync()
    {
        for (var waited = TimeSpan.Zero; waited < TimeSpan.FromSeconds(10); waited += TimeSpan.FromMilliseconds(20))
        {
            await using var command = _database.CreateCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
            if ((long)(await command.ExecuteScalarAsync())! > 0)
            {
                return;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException("No statement came to wait for the held row.");
    }

    private static StateWrite Write(string key, long version, int payload) => new("wallet", key, "wallet", version, [(byte)payload]);

    private static async Task<bool> Outcome(Task<long> write)
    {
        try
        {
            await write;
            return true;
        }
        catch (InconsistentStateException)
        {
            return false;
        }
    }

    private async Task<Dictionary<string, (long Version, byte Payload)>> StoredAsync()
    {
        await using var command = _database.CreateCommand("SELECT grain_key, version, payload FROM tekana_transactional_state WHERE service_id = 'service'");
        await using var reader = await command.ExecuteReaderAsync();
        var stored = new Dictionary<string, (long, byte)>();
        while (await reader.ReadAsync())
        {
            stored[reader.GetString(0)] = (reader.GetInt64(1), reader.GetFieldValue<byte[]>(2).Single());
        }
        return stored;
    }
}
