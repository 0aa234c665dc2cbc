using Microsoft.Extensions.Logging;
using Orleans.Streams;
using Orleans.Streams.Core;
using Tekana.Abstractions;
using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Events;
using Tekana.Abstractions.Wallets;
using Tekana.Domain;
using Tekana.Grains.Hosting;

namespace Tekana.Grains.Events;

/// <summary>
/// One per stream partition: takes events off the stream, hands them in batches to every sink (read model, Kafka)
/// and, once all sinks took a batch, acknowledges each event to its publisher so it may leave the outbox. A batch
/// that fails is simply not acknowledged: its publishers send it again. An event that does not directly follow its
/// subject's last delivery waits for that resend too (<see cref="DeliveryOrder"/>), so no first delivery overtakes an
/// earlier one.
/// </summary>
[ImplicitStreamSubscription(EventStreams.Namespace)]
public sealed class EventRelayGrain(IEnumerable<IEventSink> sinks, TimeProvider clock, ILogger<EventRelayGrain> log)
    : Grain, IEventRelayGrain, IStreamSubscriptionObserver, IAsyncObserver<EventRun[]>
{
    /// <summary>Subjects whose last delivery a relay remembers, per generation (see <see cref="DeliveryOrder"/>).</summary>
    public const int RememberedSubjects = 50_000;

    private readonly List<EventRun> _buffer = [];
    private readonly DeliveryOrder _order = new(RememberedSubjects);
    private Task _delivering = Task.CompletedTask;

    /// <summary>
    /// Whether the sinks took the last batch. Only then are publishers told what was held back: a gap left by a batch
    /// the sinks refused (Kafka away) is sent again after the publishers' retry delay, which grows while the sinks keep
    /// refusing, instead of at every publisher's next check.
    /// </summary>
    private bool _sinksTaking = true;

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<EventRun[]>().ResumeAsync(this);

    public Task OnNextAsync(EventRun[] batch, StreamSequenceToken? token = null)
    {
        _buffer.AddRange(batch);
        // Events arriving while a batch is being delivered form the next batch (group commit to the sinks).
        if (_delivering.IsCompleted)
        {
            _delivering = DeliverAll();
        }
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex)
    {
        log.LogWarning(ex, "Event stream error.");
        return Task.CompletedTask;
    }

    private async Task DeliverAll()
    {
        while (_buffer.Count > 0)
        {
            var runs = EventRun.Fitting(_buffer, EventHandOff.MaxBatch);
            var plan = _order.Sort(_buffer.Take(runs));
            _buffer.RemoveRange(0, runs);
            TekanaMetrics.HeldBack(plan.HeldBack.Count);
            Acknowledge(plan.DeliveredBefore);
            var batch = plan.Deliver;
            if (batch.Count == 0)
            {
                TellHeldBack(plan);
                continue;
            }
            try
            {
                foreach (var sink in sinks)
                {
                    await sink.WriteAsync(batch, CancellationToken.None);
                    var now = clock.GetUtcNow();
                    foreach (var e in batch)
                    {
                        TekanaMetrics.Delivered(sink.Name, now - e.Time);
                    }
                }
            }
            catch (Exception e)
            {
                _sinksTaking = false;
                log.LogWarning(e, "Could not deliver {Count} events; their publishers will send them again.", batch.Count);
                continue;
            }
            _sinksTaking = true;
            _order.Delivered(batch);
            Acknowledge(batch);
            TellHeldBack(plan);
        }
    }

    /// <summary>Tells each publisher the last of its events this plan held back (after the acknowledgements it sent).</summary>
    private void TellHeldBack(DeliveryOrder.Plan plan)
    {
        if (!_sinksTaking)
        {
            return;
        }
        foreach (var subject in plan.HeldBack.GroupBy(e => e.Subject))
        {
            Source(subject.Key).HeldBack(subject.Max(e => e.Number)).Ignore();
        }
    }

    private void Acknowledge(List<LedgerEvent> events)
    {
        foreach (var subject in events.GroupBy(e => e.Subject))
        {
            Source(subject.Key).Acknowledge([.. subject.Select(e => e.Number)]).Ignore();
        }
    }

    private IEventSourceGrain Source(string subject) =>
        Ids.IsCustomerId(subject) ? GrainFactory.Reference<ICustomerGrain>(subject) : GrainFactory.Reference<IWalletGrain>(subject);
}

/// <summary>Marker interface of the relay grains (one per stream partition, keyed by partition number).</summary>
public interface IEventRelayGrain : IGrainWithStringKey;
