using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Tekana.Grains.Hosting;

/// <summary>Tekana's business metrics, on one meter that every process exports.</summary>
public static class TekanaMetrics
{
    public const string MeterName = "Tekana";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Movements = Meter.CreateCounter<long>("tekana.movements", "{movement}",
        "Movements settled, by type, outcome (completed, refused, busy) and refusal reason.");

    private static readonly Histogram<double> MovementDuration = Meter.CreateHistogram<double>("tekana.movement.duration", "ms",
        "Time to settle a movement inside the cluster, retries included.");

    private static readonly UpDownCounter<long> OutboxPending = Meter.CreateUpDownCounter<long>("tekana.outbox.pending", "{event}",
        "Events held in outboxes on this silo and not yet acknowledged by every sink.");

    private static readonly Histogram<double> DeliveryLag = Meter.CreateHistogram<double>("tekana.events.delivery_lag", "s",
        "Time from an event's commit to its acknowledgement by a sink (Kafka, read model).");

    private static readonly Counter<long> HeldBackEvents = Meter.CreateCounter<long>("tekana.events.held_back", "{event}",
        "Events a relay did not deliver because an earlier one of their subject had not arrived (sent again later).");

    private static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>("tekana.movement.batch_size", "{movement}",
        "Movements per batch to a busy payee (one transaction, one lock of the payee).");

    private static readonly Counter<long> BatchesFailed = Meter.CreateCounter<long>("tekana.movement.batches_failed", "{batch}",
        "Batches to a busy payee that did not run, by reason (the exception's type, or the ledger's refusal code); " +
        "each of their movements then ran alone.");

    private static readonly Counter<long> CommittedLegsKept = Meter.CreateCounter<long>("tekana.ledger.committed_legs_kept", "{leg}",
        "Prepared legs of committed transactions committed by the ledger storage itself, by where: abort (Orleans' recovery " +
        "was about to drop them: a write that would have was refused) or load (a wallet found them on loading, as after a " +
        "silo stops while their confirmations are on their way).");

    private static readonly Counter<long> CommitsPurgedTotal = Meter.CreateCounter<long>("tekana.ledger.commits_purged", "{transaction}",
        "Kept committed transactions deleted by the commit purge, once no prepared leg could need them.");

    public static void CommitsPurged(long transactions) => CommitsPurgedTotal.Add(transactions);

    public static void BatchRan(int movements) => BatchSize.Record(movements);

    public static void BatchFailed(string reason) => BatchesFailed.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public static void KeptCommittedLegs(string at, int legs) => CommittedLegsKept.Add(legs, new KeyValuePair<string, object?>("at", at));

    public static void MovementSettled(string type, string outcome, string? reason, TimeSpan elapsed)
    {
        var tags = new TagList { { "type", type }, { "outcome", outcome }, { "reason", reason ?? "none" } };
        Movements.Add(1, tags);
        MovementDuration.Record(elapsed.TotalMilliseconds, tags);
    }

    public static void OutboxPendingChanged(long delta)
    {
        if (delta != 0)
        {
            OutboxPending.Add(delta);
        }
    }

    public static void HeldBack(int events)
    {
        if (events > 0)
        {
            HeldBackEvents.Add(events);
        }
    }

    public static void Delivered(string sink, TimeSpan lag) => DeliveryLag.Record(Math.Max(0, lag.TotalSeconds), new KeyValuePair<string, object?>("sink", sink));
}
