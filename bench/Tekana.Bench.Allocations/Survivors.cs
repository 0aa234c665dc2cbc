using System.Runtime.InteropServices;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Runtime;

/// <summary>
/// What a process's gen0 collections promote: a heap dump taken under load, read with ClrMD. Generation 1 holds every
/// object that survived a gen0 collection since the last gen1 collection, still live or not (only a gen1 collection
/// sweeps it), so its contents by type are what the gen0 collections copied and what their card marking reached. Each
/// type is shown with the type that most often holds a reference to its objects, and where that holder lives. Then
/// the older objects that hold references to younger ones, by type: what a gen0 collection's card marking starts from.
/// </summary>
internal static class Survivors
{
    /// <summary>Writes a heap dump of the process; it is suspended while the dump is written (a few seconds for a silo under load).</summary>
    public static Task WriteDump(int pid, string path) =>
        new DiagnosticsClient(pid).WriteDumpAsync(DumpType.WithHeap, Path.GetFullPath(path), logDumpGeneration: false, CancellationToken.None);

    public static void Report(string dump, int top)
    {
        using var target = DataTarget.LoadDump(dump);
        using var runtime = CreateRuntime(target.ClrVersions[0]);
        var heap = runtime.Heap;
        var generations = new Dictionary<Generation, (long Count, long Bytes)>();
        var byType = new Dictionary<string, (long Count, long Bytes)>();
        var holders = new Dictionary<string, Dictionary<string, long>>();
        var cardSources = new Dictionary<string, (long Objects, long References)>();
        foreach (var o in heap.EnumerateObjects())
        {
            if (!o.IsValid || o.Type is null || o.IsFree)
            {
                continue;
            }
            var generation = GenerationOf(heap, o.Address);
            var sizes = generations.GetValueOrDefault(generation);
            generations[generation] = (sizes.Count + 1, sizes.Bytes + (long)o.Size);
            if (generation == Generation.Generation1)
            {
                var name = o.Type.Name ?? "?";
                var ofType = byType.GetValueOrDefault(name);
                byType[name] = (ofType.Count + 1, ofType.Bytes + (long)o.Size);
            }
            // Who holds generation 1's objects: every reference into it, by the referring object's type and generation.
            // And which gen2, large and pinned objects refer to gen0 or gen1 ones.
            var old = generation is Generation.Generation2 or Generation.Large or Generation.Pinned;
            long toYounger = 0;
            foreach (var referenced in o.EnumerateReferences())
            {
                var of = referenced.Type is null ? Generation.Unknown : GenerationOf(heap, referenced.Address);
                if (old && of is Generation.Generation0 or Generation.Generation1)
                {
                    toYounger++;
                }
                if (of != Generation.Generation1)
                {
                    continue;
                }
                var held = referenced.Type?.Name ?? "?";
                if (!holders.TryGetValue(held, out var by))
                {
                    holders[held] = by = [];
                }
                var holder = $"{o.Type.Name} ({Short(generation)})";
                by[holder] = by.GetValueOrDefault(holder) + 1;
            }
            if (toYounger > 0)
            {
                var name = o.Type.Name ?? "?";
                var sources = cardSources.GetValueOrDefault(name);
                cardSources[name] = (sources.Objects + 1, sources.References + toYounger);
            }
        }
        Console.WriteLine("heap at the dump: " + string.Join(", ", generations.OrderBy(g => g.Key)
            .Select(g => $"{Short(g.Key)} {g.Value.Bytes / 1e6:F1} MB ({g.Value.Count:N0} objects)")));
        var total = byType.Values.Sum(t => t.Bytes);
        Console.WriteLine();
        Console.WriteLine($"gen1, what gen0 collections promoted since the last gen1 collection: {total / 1e6:F1} MB; by type, " +
            "with the chief holder of its objects (type and generation)");
        foreach (var (name, (count, bytes)) in byType.OrderByDescending(t => t.Value.Bytes).Take(top))
        {
            var holder = holders.TryGetValue(name, out var by) ? by.MaxBy(h => h.Value) : default;
            Console.WriteLine($"{bytes * 100.0 / total,6:F1} % {count,9:N0}  {Clip(name, 110)}" +
                (holder.Key is null ? "" : $"\n{"",27}held by {Clip(holder.Key, 110)}: {holder.Value:N0} references"));
        }
        Console.WriteLine();
        Console.WriteLine($"older objects (gen2, large, pinned) holding references to gen0 or gen1 ones: {cardSources.Values.Sum(c => c.Objects):N0}, " +
            $"with {cardSources.Values.Sum(c => c.References):N0} such references; by type (objects, references)");
        foreach (var (name, (objects, references)) in cardSources.OrderByDescending(c => c.Value.Objects).Take(top))
        {
            Console.WriteLine($"{objects,9:N0} {references,9:N0}  {Clip(name, 130)}");
        }
    }

    // The dump is of a process on this machine, so it ran this runtime: its data access library is the one to read it
    // with. ClrMD cannot always tell the runtime's version from a Linux dump, hence no version check.
    private static ClrRuntime CreateRuntime(ClrInfo clr)
    {
        var local = Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(),
            OperatingSystem.IsWindows() ? "mscordaccore.dll" : OperatingSystem.IsMacOS() ? "libmscordaccore.dylib" : "libmscordaccore.so");
        return File.Exists(local) ? clr.CreateRuntime(local, ignoreMismatch: true) : clr.CreateRuntime();
    }

    private static Generation GenerationOf(ClrHeap heap, ulong address) =>
        heap.GetSegmentByAddress(address)?.GetGeneration(address) ?? Generation.Unknown;

    private static string Short(Generation generation) => generation switch
    {
        Generation.Generation0 => "gen0",
        Generation.Generation1 => "gen1",
        Generation.Generation2 => "gen2",
        Generation.Large => "large objects",
        Generation.Pinned => "pinned",
        Generation.Frozen => "frozen",
        _ => "other",
    };

    private static string Clip(string text, int length) => text.Length > length ? text[..length] + "…" : text;
}
