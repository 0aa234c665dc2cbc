using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Tekana.Grains.Storage;

namespace Tekana.IntegrationTests.Storage;

/// <summary>The group reader against PostgreSQL: reads sent together each get their own row, or none.</summary>
public sealed class GroupReaderTests : IAsyncLifetime
{
    private NpgsqlDataSource _database = null!;
    private GroupCommitWriter _writer = null!;
    private GroupReader _reader = null!;

    public async Task InitializeAsync()
    {
        _database = PostgresConnections.CreateCustomPlanDataSource(await TestDatabase.CreateAsync("groupread"), GroupReader.MaxConcurrentRoundTrips + 1);
        _writer = new GroupCommitWriter(_database, "service", NullLogger<GroupCommitWriter>.Instance);
        _reader = new GroupReader(_database, "service", NullLogger<GroupReader>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _reader.DisposeAsync();
        await _writer.DisposeAsync();
        await _database.DisposeAsync();
    }

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
    public async Task A_read_naming_former_grain_types_gets_its_own_row_first_then_the_first_former_one()
    {
        // r1 has its own row and a former one, r2 only a former one (under the second former type), r3 none, r4 both former ones.
        await _writer.WriteAsync(new StateWrite("movement", "r1", "record", 0, [1]));
        await _writer.WriteAsync(new StateWrite("former", "r1", "record", 0, [11]));
        await _writer.WriteAsync(new StateWrite("older", "r2", "record", 0, [22]));
        await _writer.WriteAsync(new StateWrite("former", "r4", "record", 0, [44]));
        await _writer.WriteAsync(new StateWrite("older", "r4", "record", 0, [45]));

        // Queued together with plain reads of the same rows, which former rows must not answer.
        var reads = new[] { "r1", "r2", "r3" }
            .SelectMany(key => new[]
            {
                _reader.ReadAsync(new StateRead("movement", key, "record") { FormerGrainTypes = ["former", "older"] }),
                _reader.ReadAsync(new StateRead("movement", key, "record")),
            })
            .ToList();
        var results = await Task.WhenAll(reads);

        Assert.Equal((1L, (byte)1, (string?)null), (results[0]!.Version, results[0]!.Payload.Single(), results[0]!.FormerGrainType));
        Assert.Equal((1L, (byte)1), (results[1]!.Version, results[1]!.Payload.Single()));
        Assert.Equal((1L, (byte)22, "older"), (results[2]!.Version, results[2]!.Payload.Single(), results[2]!.FormerGrainType));
        Assert.Null(results[3]);
        Assert.Null(results[4]);
        Assert.Null(results[5]);

        // With both former rows there, the first former type answers.
        var r4 = await _reader.ReadAsync(new StateRead("movement", "r4", "record") { FormerGrainTypes = ["former", "older"] });
        Assert.Equal(((byte)44, "former"), (r4!.Payload.Single(), r4.FormerGrainType));
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

    private async Task Execute(string sql)
    {
        await using var command = _database.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
