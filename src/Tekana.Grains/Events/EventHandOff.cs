using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.Internal;
using Orleans.Streams;
using Tekana.Abstractions.Events;

namespace Tekana.Grains.Events;

/// <summary>
/// One per silo: takes the events its grains publish and puts them on the event streams in batches, one per
/// partition every <see cref="Linger"/> at most. Each item on a stream used to be one event: an enqueue call to the
/// stream's queue and a delivery call to its relay per event, about a fifth of a silo's CPU under load. A publisher
/// hands its events over and goes on (a grain no longer waits for the enqueue in its turn); what never reaches a relay
/// is not acknowledged, and its publisher sends it again.
/// </summary>
/// <remarks>
/// A subject always maps to the same partition, its publisher hands its events over in number order, and a
/// partition's batches go out one at a time, in the order they were filled. A batch that is lost on the way is
/// what the relays' order check is for (<see cref="DeliveryOrder"/>).
/// </remarks>
public sealed class EventHandOff(IServiceProvider services, ILogger<EventHandOff> log) : IAsyncDisposable
{
    /// <summary>The longest an event waits to join its partition's next batch. Relays take batches as they come.</summary>
    public static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// The most events in one stream item, give or take one hand-over (a hand-over is never split); a relay hands
    /// about this many to its sinks at once as well.
    /// </summary>
    public const int MaxBatch = 1_000;

    private readonly Lock _lock = new();
    private readonly List<EventRun>[] _waiting = [.. Enumerable.Range(0, EventStreams.Partitions).Select(_ => new List<EventRun>())];
    private readonly Task[] _sending = [.. Enumerable.Repeat(Task.CompletedTask, EventStreams.Partitions)];
    private readonly CancellationTokenSource _stopping = new();
    private IStreamProvider? _streams;
    private Task? _loop;
    private long _queuesMovedAt;

    /// <summary>
    /// When the cluster's membership last changed (a silo joined, left or was declared dead): each change moves stream
    /// queues between silos, and what a queue or its relay held as it moved is lost. Publishers send again, once the
    /// move has settled, what they have not seen acknowledged (<see cref="OutboxPublisher.QueuesMoved"/>): an event
    /// lost that way with nothing after it waited out its retry delay (about 10 s after a silo was killed or started).
    /// </summary>
    public DateTimeOffset? QueuesMovedAt =>
        Interlocked.Read(ref _queuesMovedAt) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    internal void QueuesMoved(DateTimeOffset at) => Interlocked.Exchange(ref _queuesMovedAt, at.UtcTicks);

    /// <summary>Takes one hand-over of a subject's events for the next batch of the subject's partition.</summary>
    public void Send(EventRun run)
    {
        if (run.Events.Length == 0)
        {
            return;
        }
        var partition = EventStreams.Partition(run.Subject);
        lock (_lock)
        {
            _waiting[partition].Add(run);
            if (_loop is null)
            {
                // Started from some grain's turn: its ambient context (request context, trace) stays behind.
                using var suppressed = new ExecutionContextSuppressor();
                _loop = Task.Run(RunAsync);
            }
        }
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Linger);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                SendWaiting();
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The silo stops: what waits here is still in its publishers' outboxes.
        }
    }

    private void SendWaiting()
    {
        // Only this loop touches _sending; publishers fill _waiting under the lock.
        for (var partition = 0; partition < EventStreams.Partitions; partition++)
        {
            if (!_sending[partition].IsCompleted)
            {
                // The previous batch is still on its way: this one goes after it, at a later tick.
                continue;
            }
            EventRun[] batch;
            lock (_lock)
            {
                var waiting = _waiting[partition];
                if (waiting.Count == 0)
                {
                    continue;
                }
                var count = EventRun.Fitting(waiting, MaxBatch);
                batch = [.. waiting.GetRange(0, count)];
                waiting.RemoveRange(0, count);
            }
            _sending[partition] = SendAsync(partition, batch);
        }
    }

    private async Task SendAsync(int partition, EventRun[] batch)
    {
        try
        {
            _streams ??= services.GetRequiredKeyedService<IStreamProvider>(EventStreams.Provider);
            await _streams.GetStream<EventRun[]>(EventStreams.For(partition)).OnNextAsync(batch);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not put {Count} events on partition {Partition}; their publishers will send them again.", batch.Sum(r => r.Events.Length), partition);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
        _stopping.Dispose();
    }
}
