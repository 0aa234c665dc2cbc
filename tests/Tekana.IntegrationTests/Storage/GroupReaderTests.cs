using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.Storage;
using Tekana.Grains.Storage;

namespace Tekana.IntegrationTests.Storage;

/// <summary>The group reader against PostgreSQL: reads sent together each get their own row, or none.</summary>
public sealed class GroupReaderTests : IAsyncLifetime
{
    private LedgerRows _rows = null!;
    private NpgsqlDataSource _database = null!;
    private GroupCommitWriter _writer = null!;
    private GroupReader _reader = null!;

    public async Task InitializeAsync()
    {
        _rows = await LedgerRows.CreateAsync("groupread");
        (_database, _writer, _reader) = (_rows.Database, _rows.Writer, _rows.Reader);
    }

    public async Task DisposeAsync() => await _rows.DisposeAsync();

    [Fact]
    public async Task Reads_queued_together_each_get_their_own_row_or_none()
    {
        // Rows w0..w49 at version 1, the even ones rewritten to version 2; the same keys in another state name, and in
        // another service, must not answer for them.
        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => _writer.WriteAsync(new StateWrite("wallet", $"w{i}", "wallet", 0, [(byte)i]))));
        await Task.WhenAll(Enumerable.Range(0, 50).Where(i => i % 2 == 0).Select(i => _writer.WriteAsync(new StateWrite("wallet", $"w{i}", "wallet", 1, [(byte)(100 + i)]))));
        await _writer.WriteAsync(new StateWrite("wallet", "w60", "other", 0, [60]));
        await using (var other = new GroupCommitWriter(_database, "other-service", NullLogger<GroupCommitWriter>.Instance))
        {
            await other.WriteAsync(new StateWrite("wallet", "w61", "wallet", 0, [61]));
        }

        // w0..w49 exist, w50..w61 do not (for this service and state name); w7 is read three times at once.
        var keys = Enumerable.Range(0, 62).Select(i => $"w{i}").Concat(["w7", "w7"]).ToList();
        var reads = keys.Select(k => _reader.ReadAsync(new StateRead("wallet", k, "wallet"))).ToList();
        var results = await Task.WhenAll(reads);

        foreach (var (key, stored) in keys.Zip(results))
        {
            var i = int.Parse(key[1..], System.Globalization.CultureInfo.InvariantCulture);
            if (i >= 50)
            {
                Assert.Null(stored);
            }
            else
            {
                Assert.NotNull(stored);
                Assert.Equal(i % 2 == 0 ? (2L, (byte)(100 + i)) : (1L, (byte)i), (stored.Version, stored.Payload.Single()));
            }
        }
    }

    [Fact]
    public Task A_read_naming_former_grain_types_gets_its_own_row_first_then_the_first_former_one() =>
        FormerGrainTypeReads.CheckAsync(new PostgresStateRows(_reader, _writer));

    [Fact]
    public async Task A_transaction_is_kept_as_committed_exactly_when_the_write_adding_its_commit_record_succeeds()
    {
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => _writer.WriteAsync(new StateWrite("wallet", $"c{i}", "wallet", 0, [0]))));
        await _writer.WriteAsync(new StateWrite("wallet", "c2", "wallet", 1, [1]) { Settled = [new SettledRecord("r2", [2])] });
        var (kept, stale, recorded, elsewhere, never) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());

        // Queued together: c0 commits; c1 names a version it never had; c2 settles a movement already recorded.
        var writes = new[]
        {
            _writer.WriteAsync(new StateWrite("wallet", "c0", "wallet", 1, [10]) { Commits = [kept] }),
            _writer.WriteAsync(new StateWrite("wallet", "c1", "wallet", 7, [11]) { Commits = [stale] }),
            _writer.WriteAsync(new StateWrite("wallet", "c2", "wallet", 2, [12]) { Settled = [new SettledRecord("r2", [3])], Commits = [recorded] }),
        };
        Assert.Equal(2, await writes[0]);
        await Assert.ThrowsAsync<InconsistentStateException>(() => writes[1]);
        await Assert.ThrowsAsync<InconsistentStateException>(() => writes[2]);
        await using (var other = new GroupCommitWriter(_database, "other-service", NullLogger<GroupCommitWriter>.Instance))
        {
            await other.WriteAsync(new StateWrite("wallet", "c0", "wallet", 0, [0]) { Commits = [elsewhere] });
        }

        Assert.Equal([kept], await _reader.CommittedAsync([kept, stale, recorded, elsewhere, never]));
        Assert.Empty(await _reader.CommittedAsync([]));
    }

    [Fact]
    public async Task A_statement_that_fails_fails_each_of_its_reads_and_the_next_reads_succeed()
    {
        await _writer.WriteAsync(new StateWrite("wallet", "here", "wallet", 0, [1]));
        await Execute("ALTER TABLE tekana_transactional_state RENAME TO tekana_transactional_state_away");

        var failed = Enumerable.Range(0, 20).Select(i => _reader.ReadAsync(new StateRead("wallet", $"k{i}", "wallet"))).ToList();
        foreach (var read in failed)
        {
            await Assert.ThrowsAsync<PostgresException>(() => read);
        }

        await Execute("ALTER TABLE tekana_transactional_state_away RENAME TO tekana_transactional_state");
        var stored = await _reader.ReadAsync(new StateRead("wallet", "here", "wallet"));
        Assert.Equal((1L, (byte)1), (stored!.Version, stored.Payload.Single()));
    }

    [Fact]
    public async Task A_read_planned_on_a_one_row_table_goes_through_the_whole_key_once_the_table_has_grown()
    {
        // The reader's sessions keep the plan a statement gets when it is first run: here, on a table whose statistics
        // say one row, which a sequential scan reads fastest. The plan is kept until the table is analysed again.
        await _writer.WriteAsync(new StateWrite("wallet", "k0", "wallet", 0, [0]));
        await Execute("ANALYZE tekana_transactional_state");
        await using var session = await _rows.Lookups.OpenConnectionAsync();
        await Execute(session, $"PREPARE lookup AS {GroupReader.Sql}");
        const string arguments = "('service', 'wallet', 'k1', 'wallet')";
        await Execute(session, $"EXECUTE lookup{arguments}");

        await Execute("""
            INSERT INTO tekana_transactional_state (service_id, grain_type, grain_key, state_name, version, payload)
            SELECT 'service', 'wallet', 'k' || i, 'wallet', 1, '\x00' FROM generate_series(1, 20000) i
            """);

        await using var explain = new NpgsqlCommand($"EXPLAIN EXECUTE lookup{arguments}", session);
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.Add(reader.GetString(0));
            }
        }
        Assert.DoesNotContain(plan, line => line.Contains("Seq Scan", StringComparison.Ordinal));
        Assert.Contains(plan, line => line.Contains("tekana_transactional_state_pkey", StringComparison.Ordinal));
        // Every key column bounds the scan: a condition that leaves one out reads all the rows under the ones before it.
        var condition = Assert.Single(plan, line => line.Contains("Index Cond", StringComparison.Ordinal));
        Assert.All(new[] { "service_id", "grain_type", "grain_key", "state_name" }, column => Assert.Contains(column, condition));
        Assert.DoesNotContain(plan, line => line.Contains("Filter", StringComparison.Ordinal));
    }

    private static async Task Execute(NpgsqlConnection session, string sql)
    {
        await using var command = new NpgsqlCommand(sql, session);
        await command.ExecuteNonQueryAsync();
    }

    private async Task Execute(string sql)
    {
        await using var command = _database.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
