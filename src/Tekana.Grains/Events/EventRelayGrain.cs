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
/// that fails is simply not acknowledged: its publishers send it again.
/// </summary>
[ImplicitStreamSubscription(EventStreams.Namespace)]
public sealed class EventRelayGrain(IEnumerable<IEventSink> sinks, TimeProvider clock, ILogger<EventRelayGrain> log)
    : Grain, IEventRelayGrain, IStreamSubscriptionObserver, IAsyncObserver<LedgerEvent[]>
{
    private readonly List<LedgerEvent> _buffer = [];
    private Task _delivering = Task.CompletedTask;

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<LedgerEvent[]>().ResumeAsync(this);

    public Task OnNextAsync(LedgerEvent[] batch, StreamSequenceToken? token = null)
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
            var batch = _buffer.Take(EventHandOff.MaxBatch).ToList();
            _buffer.RemoveRange(0, batch.Count);
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
                log.LogWarning(e, "Could not deliver {Count} events; their publishers will send them again.", batch.Count);
                continue;
            }
            foreach (var subject in batch.GroupBy(e => e.Subject))
            {
                var numbers = subject.Select(e => e.Number).ToArray();
                IEventSourceGrain source = Ids.IsCustomerId(subject.Key)
                    ? GrainFactory.Reference<ICustomerGrain>(subject.Key)
                    : GrainFactory.Reference<IWalletGrain>(subject.Key);
                source.Acknowledge(numbers).Ignore();
            }
        }
    }
}

/// <summary>Marker interface of the relay grains (one per stream partition, keyed by partition number).</summary>
public interface IEventRelayGrain : IGrainWithStringKey;
