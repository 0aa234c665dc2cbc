using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// tekana-bench-allocations --pid P [--seconds 6] [--top 25] [--collections true | --write-dump FILE]
// tekana-bench-allocations --survivors FILE [--top 25]
// Samples what a running .NET process allocates (the runtime's allocation tick: one event, with its call stack, per
// about 100 KB allocated on a heap) for a few seconds over EventPipe, then prints the sampled bytes by type, by the
// innermost frame outside the base class libraries (the code that asked: ASP.NET, Orleans, Npgsql or ours) and by
// that frame's assembly. Garbage collection follows allocation, so this is where to look when a process spends its time in GC.
// --collections true lists the collections of the window instead: per generation, their pauses, the bytes they promoted
// (what survives a collection is what it copies) and the time each heap spent in each marking stage.
// --write-dump writes a heap dump of the process instead, and --survivors reads one and prints what its gen0 collections
// promoted, by type (Survivors.cs): two steps, so that the reading, which takes a while, can wait for the benchmark.
var options = args.Chunk(2).Where(p => p.Length == 2 && p[0].StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(p => p[0][2..], p => p[1]);
var top = int.Parse(options.GetValueOrDefault("top", "25"));
if (options.TryGetValue("survivors", out var dump))
{
    Survivors.Report(dump, top);
    return 0;
}
if (!options.TryGetValue("pid", out var pidText) || !int.TryParse(pidText, out var pid))
{
    Console.Error.WriteLine("usage: tekana-bench-allocations --pid P [--seconds 6] [--top 25] [--collections true | --write-dump FILE]");
    Console.Error.WriteLine("       tekana-bench-allocations --survivors FILE [--top 25]");
    return 2;
}
var seconds = int.Parse(options.GetValueOrDefault("seconds", "6"));
if (options.TryGetValue("write-dump", out var dumpTo))
{
    await Survivors.WriteDump(pid, dumpTo);
    return 0;
}
var collections = options.GetValueOrDefault("collections") == "true";

var trace = Path.Combine(Path.GetTempPath(), $"tekana-allocations-{pid}.nettrace");
try
{
    await Record(pid, seconds, trace, collections);
    if (collections)
    {
        ReportCollections(trace, seconds);
    }
    else
    {
        Report(trace, seconds, top);
    }
    return 0;
}
finally
{
    File.Delete(trace);
    File.Delete(Path.ChangeExtension(trace, ".etlx"));
}

static async Task Record(int pid, int seconds, string trace, bool collectionsOnly)
{
    // The allocation tick is a verbose event of the GC keyword; the rundown at the end names the JIT-compiled methods.
    // The collections themselves are informational events, and need neither.
    var gc = new EventPipeProvider(ClrTraceEventParser.ProviderName, collectionsOnly ? EventLevel.Informational : EventLevel.Verbose,
        (long)ClrTraceEventParser.Keywords.GC);
    using var session = await new DiagnosticsClient(pid).StartEventPipeSessionAsync([gc], requestRundown: !collectionsOnly, circularBufferMB: 256, CancellationToken.None);
    await using var output = File.Create(trace);
    var copy = session.EventStream.CopyToAsync(output);
    await Task.Delay(TimeSpan.FromSeconds(seconds));
    await session.StopAsync(CancellationToken.None);
    await copy;
}

static void Report(string trace, int seconds, int top)
{
    using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(trace));
    var byType = new Dictionary<string, double>();
    var byCaller = new Dictionary<string, double>();
    var byAssembly = new Dictionary<string, double>();
    double total = 0;
    foreach (var data in log.Events)
    {
        if (data is not GCAllocationTickTraceData tick)
        {
            continue;
        }
        double bytes = tick.AllocationAmount64;
        total += bytes;
        Add(byType, tick.TypeName, bytes);
        var (caller, assembly) = Caller(data.CallStack());
        Add(byCaller, caller, bytes);
        Add(byAssembly, assembly, bytes);
    }
    Console.WriteLine($"allocations sampled over {seconds} s: {total / 1e6:F0} MB ({total / 1e6 / seconds:F0} MB/s)");
    Print("by type", byType, total, top);
    Print("by the innermost frame outside the base class libraries (System.*)", byCaller, total, top);
    Print("by that frame's assembly", byAssembly, total, top);
}

// One line per generation: collections, their pauses (threads suspended to threads restarted; a background gen2
// collection pauses twice) and the mean bytes each promoted (survivors copied to an older generation, summed over
// the heaps).
static void ReportCollections(string trace, int seconds)
{
    using var source = new EventPipeEventSource(trace);
    var pauses = new List<(int Generation, double Ms)>();
    var collections = new List<(int Generation, long Promoted)>();
    int generation = 0;
    int? ended = null;
    (double At, bool BackgroundPrep)? suspended = null;
    // Each heap's GC thread reports the end of each marking stage: from one report to the next, on the same heap, is how
    // long that stage took there. Summed per stage over a collection's heaps, divided by the heaps.
    var marking = new Dictionary<(int Generation, string Stage), double>();
    var lastMark = new Dictionary<int, double>();
    var heaps = new HashSet<int>();
    double started = 0;
    source.Clr.GCStart += e =>
    {
        generation = e.Depth;
        started = e.TimeStampRelativeMSec;
        lastMark.Clear();
    };
    source.Clr.GCMarkWithType += e =>
    {
        var from = lastMark.GetValueOrDefault(e.HeapNum, started);
        lastMark[e.HeapNum] = e.TimeStampRelativeMSec;
        heaps.Add(e.HeapNum);
        var key = (generation, MarkStage(e.Type));
        marking[key] = marking.GetValueOrDefault(key) + e.TimeStampRelativeMSec - from;
    };
    // The threads are suspended before a collection starts and restarted after it ends; the suspension for a background
    // collection's final phase has no start of its own.
    source.Clr.GCSuspendEEStart += e => suspended = (e.TimeStampRelativeMSec, e.Reason == GCSuspendEEReason.SuspendForGCPrep);
    source.Clr.GCRestartEEStop += e =>
    {
        if (suspended is { } s)
        {
            pauses.Add((s.BackgroundPrep ? 2 : generation, e.TimeStampRelativeMSec - s.At));
        }
        suspended = null;
    };
    // A collection's heap statistics follow its end.
    source.Clr.GCStop += e => ended = e.Depth;
    source.Clr.GCHeapStats += e =>
    {
        if (ended is { } g)
        {
            collections.Add((g, e.TotalPromotedSize0 + e.TotalPromotedSize1 + e.TotalPromotedSize2 + e.TotalPromotedSize3));
        }
        ended = null;
    };
    source.Process();
    var total = pauses.Sum(p => p.Ms);
    Console.WriteLine($"collections in {seconds} s: {collections.Count}, paused {total:F0} ms ({total / (seconds * 10.0):F1} % of the window)");
    foreach (var g in collections.Select(c => c.Generation).Concat(pauses.Select(p => p.Generation)).Distinct().Order())
    {
        var ofGeneration = pauses.Where(p => p.Generation == g).Select(p => p.Ms).DefaultIfEmpty(0).ToList();
        var promoted = collections.Where(c => c.Generation == g).Select(c => c.Promoted).ToList();
        Console.WriteLine($"  gen{g}: {promoted.Count,4}   pause mean {ofGeneration.Average(),6:F1} ms, " +
            $"max {ofGeneration.Max(),6:F1} ms   promoted mean {promoted.DefaultIfEmpty(0).Average() / 1e6,6:F1} MB");
        var stages = marking.Where(m => m.Key.Generation == g).OrderByDescending(m => m.Value)
            .Select(m => $"{m.Key.Stage} {m.Value / Math.Max(1, promoted.Count) / Math.Max(1, heaps.Count):F1}");
        Console.WriteLine($"         marking per collection, ms on each heap: {string.Join(", ", stages)}");
    }
}

// The runtime's mark stages (gc.h, mark_root_type).
static string MarkStage(int type) => type switch
{
    0 => "stacks",
    1 => "finalization queue",
    2 => "handles",
    3 => "older generations (cards)",
    4 => "sized refs",
    5 => "overflow",
    6 => "dependent handles",
    7 => "new finalization queue",
    8 => "stolen work",
    9 => "background roots",
    _ => $"stage {type}",
};

// The first frame, from the allocation outwards, of code outside the base class libraries: a string or a task is
// allocated inside System.Private.CoreLib, but asked for by the code that called it.
static (string Caller, string Assembly) Caller(TraceCallStack? stack)
{
    for (var frame = stack; frame is not null; frame = frame.Caller)
    {
        var method = frame.CodeAddress.FullMethodName;
        var module = frame.CodeAddress.ModuleName;
        if (string.IsNullOrEmpty(method) || string.IsNullOrEmpty(module) || IsBaseLibrary(module))
        {
            continue;
        }
        return ($"[{module}] {method}", module);
    }
    return ("(base class libraries only)", "(base class libraries only)");
}

static bool IsBaseLibrary(string module) =>
    module.StartsWith("System", StringComparison.Ordinal) || module is "mscorlib" or "netstandard";

static void Add(Dictionary<string, double> totals, string key, double bytes) => totals[key] = totals.GetValueOrDefault(key) + bytes;

static void Print(string title, Dictionary<string, double> totals, double total, int top)
{
    Console.WriteLine();
    Console.WriteLine(title);
    foreach (var (key, bytes) in totals.OrderByDescending(p => p.Value).Take(top))
    {
        Console.WriteLine($"{bytes / total * 100,6:F1} %  {(key.Length > 190 ? key[..190] : key)}");
    }
}
