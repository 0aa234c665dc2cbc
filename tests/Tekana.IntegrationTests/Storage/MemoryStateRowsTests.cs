using Orleans.Storage;
using Tekana.Grains.Storage;

namespace Tekana.IntegrationTests.Storage;

/// <summary>The embedded default's state rows keep the PostgreSQL rows' rules.</summary>
public sealed class MemoryStateRowsTests
{
    private readonly MemoryStateRows _rows = new();

    [Fact]
    public async Task Writes_are_conditional_on_the_version_they_read()
    {
        Assert.Equal(1, await _rows.WriteAsync(Write("a", 0, 1)));
        Assert.Equal(2, await _rows.WriteAsync(Write("a", 1, 2)));
        await Assert.ThrowsAsync<InconsistentStateException>(() => _rows.WriteAsync(Write("a", 1, 3)));
        await Assert.ThrowsAsync<InconsistentStateException>(() => _rows.WriteAsync(Write("a", 0, 4)));
        Assert.True(Same(new StoredState(2, [2]), await _rows.ReadAsync(new StateRead("wallet", "a", "wallet"))));
    }

    [Fact]
    public async Task Movement_records_are_stored_with_their_write_or_not_at_all()
    {
        await _rows.WriteAsync(Write("b", 0, 1) with { Settled = [new SettledRecord("m1", [10])] });
        Assert.True(Same(new StoredState(1, [10]), await Record("m1")));

        // A stale write and a write settling m1 again both fail alone, and neither leaves its records behind.
        await Assert.ThrowsAsync<InconsistentStateException>(() => _rows.WriteAsync(Write("b", 5, 2) with { Settled = [new SettledRecord("m2", [20])] }));
        await Assert.ThrowsAsync<InconsistentStateException>(() => _rows.WriteAsync(
            Write("b", 1, 3) with { Settled = [new SettledRecord("m3", [30]), new SettledRecord("m1", [11])] }));
        Assert.Null(await Record("m2"));
        Assert.Null(await Record("m3"));
        Assert.True(Same(new StoredState(1, [10]), await Record("m1")));
        Assert.True(Same(new StoredState(1, [1]), await _rows.ReadAsync(new StateRead("wallet", "b", "wallet"))));
        Assert.Equal(2, await _rows.WriteAsync(Write("b", 1, 4) with { Settled = [new SettledRecord("m4", [40])] }));
        Assert.True(Same(new StoredState(1, [40]), await Record("m4")));
    }

    [Fact]
    public Task A_read_naming_former_grain_types_gets_its_own_row_first_then_the_first_former_one() =>
        FormerGrainTypeReads.CheckAsync(_rows);

    private Task<StoredState?> Record(string id) => _rows.ReadAsync(new StateRead(MovementRecords.GrainType, id, MovementRecords.StateName));

    private static bool Same(StoredState? expected, StoredState? actual) =>
        expected?.Version == actual?.Version && (expected?.Payload ?? []).SequenceEqual(actual?.Payload ?? []);

    private static StateWrite Write(string key, long version, byte payload) => new("wallet", key, "wallet", version, [payload]);
}
