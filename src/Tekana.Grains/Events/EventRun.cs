using Tekana.Abstractions.Events;

namespace Tekana.Grains.Events;

/// <summary>
/// One hand-over of one subject's events, in number order, as they travel to the relays. It carries the number
/// through which the publisher knew the subject's events delivered when it sent them: a relay that has not seen the
/// subject lately learns from it where the subject's next first delivery must start (<see cref="DeliveryOrder"/>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record EventRun
{
    /// <summary>Every event of the subject up to this number was delivered to every sink.</summary>
    [Id(0)] public required long DeliveredThrough { get; init; }

    [Id(1)] public required LedgerEvent[] Events { get; init; }

    public string Subject => Events[0].Subject;

    /// <summary>How many of the first runs make one batch: whole runs, until they hold <paramref name="events"/> events or more.</summary>
    public static int Fitting(List<EventRun> runs, int events)
    {
        var (count, held) = (0, 0);
        while (count < runs.Count && held < events)
        {
            held += runs[count++].Events.Length;
        }
        return count;
    }
}
