using Tekana.Grains.Storage;

namespace Tekana.IntegrationTests.Storage;

/// <summary>
/// The rule for reads that name former grain types, checked the same way against the PostgreSQL and the in-memory rows:
/// the row itself answers first, then the first former row that exists, and a read naming none gets only its own row.
/// </summary>
internal static class FormerGrainTypeReads
{
    public static async Task CheckAsync(IStateRows rows)
    {
        // r1 has its own row and a former one, r2 only a former one (under the second former type), r3 none, r4 both
        // former ones.
        await rows.WriteAsync(new StateWrite("movement", "r1", "record", 0, [1]));
        await rows.WriteAsync(new StateWrite("former", "r1", "record", 0, [11]));
        await rows.WriteAsync(new StateWrite("older", "r2", "record", 0, [22]));
        await rows.WriteAsync(new StateWrite("former", "r4", "record", 0, [44]));
        await rows.WriteAsync(new StateWrite("older", "r4", "record", 0, [45]));

        // Each key read with former types and plainly, all queued at once.
        var reads = new[] { "r1", "r2", "r3", "r4" }
            .SelectMany(key => new[]
            {
                rows.ReadAsync(new StateRead("movement", key, "record") { FormerGrainTypes = ["former", "older"] }),
                rows.ReadAsync(new StateRead("movement", key, "record")),
            })
            .ToList();
        var results = await Task.WhenAll(reads);

        Assert.Equal((1L, (byte)1, (string?)null), (results[0]!.Version, results[0]!.Payload.Single(), results[0]!.FormerGrainType));
        Assert.Equal((1L, (byte)1), (results[1]!.Version, results[1]!.Payload.Single()));
        Assert.Equal((1L, (byte)22, "older"), (results[2]!.Version, results[2]!.Payload.Single(), results[2]!.FormerGrainType));
        Assert.Null(results[3]);
        Assert.Null(results[4]);
        Assert.Null(results[5]);
        Assert.Equal((1L, (byte)44, "former"), (results[6]!.Version, results[6]!.Payload.Single(), results[6]!.FormerGrainType));
        Assert.Null(results[7]);
    }
}
