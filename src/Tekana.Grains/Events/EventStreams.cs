using Tekana.Abstractions.Events;

namespace Tekana.Grains.Events;

/// <summary>
/// Where events travel inside the cluster: an Orleans stream per partition, one relay grain per partition. A subject
/// always maps to the same partition, and each subject publishes in order, so per-subject order holds end to end.
/// Each item on a stream is a batch of events (<see cref="EventHandOff"/>).
/// </summary>
public static class EventStreams
{
    public const string Provider = "events";
    public const string Namespace = "ledger";
    public const int Partitions = 16;

    public static StreamId For(int partition) =>
        StreamId.Create(Namespace, partition.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static int Partition(string subject)
    {
        // A stable hash (string.GetHashCode is randomised per process).
        var hash = 2166136261u;
        foreach (var c in subject)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)(hash % Partitions);
    }
}
