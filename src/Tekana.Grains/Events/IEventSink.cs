using Tekana.Abstractions.Events;
using Tekana.Grains.History;

namespace Tekana.Grains.Events;

/// <summary>Somewhere events must reach before their outbox lets go of them. Writing the same event twice is harmless.</summary>
public interface IEventSink
{
    /// <summary>The sink's name in metrics.</summary>
    string Name { get; }

    Task WriteAsync(IReadOnlyList<LedgerEvent> events, CancellationToken cancellationToken);
}

/// <summary>
/// The history projector: wallet entries and the customer search table. The relays of a silo (one per stream
/// partition) hand their batches over at the same time; batches that arrive while a write is under way go together
/// in the next one, so that the read model costs one statement per round instead of one per relay. A failed write
/// fails every batch in it, and their relays leave those events in the outboxes to be sent again.
/// </summary>
public sealed class ReadModelSink(IHistoryStore store) : IEventSink
{
    /// <summary>Events per write; more wait for the next one.</summary>
    public const int MaxEvents = 4_000;

    private readonly Lock _gate = new();
    private readonly Queue<(IReadOnlyList<LedgerEvent> Events, TaskCompletionSource Done)> _waiting = new();
    private bool _writing;

    public string Name => "read_model";

    public Task WriteAsync(IReadOnlyList<LedgerEvent> events, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiting.Enqueue((events, done));
            if (_writing)
            {
                return done.Task;
            }
            _writing = true;
        }
        // Off the calling relay's activation: the writes serve every relay of the silo.
        _ = Task.Run(WriteAllAsync, CancellationToken.None);
        return done.Task;
    }

    private async Task WriteAllAsync()
    {
        while (true)
        {
            var round = new List<(IReadOnlyList<LedgerEvent> Events, TaskCompletionSource Done)>();
            lock (_gate)
            {
                var count = 0;
                while (_waiting.TryPeek(out var next) && (round.Count == 0 || count + next.Events.Count <= MaxEvents))
                {
                    round.Add(_waiting.Dequeue());
                    count += next.Events.Count;
                }
                if (round.Count == 0)
                {
                    _writing = false;
                    return;
                }
            }
            try
            {
                await store.AppendAsync(round.Count == 1 ? round[0].Events : [.. round.SelectMany(r => r.Events)], CancellationToken.None);
                round.ForEach(r => r.Done.TrySetResult());
            }
            catch (Exception e)
            {
                round.ForEach(r => r.Done.TrySetException(e));
            }
        }
    }
}
