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

/// <summary>The history projector: wallet entries and the customer search table.</summary>
public sealed class ReadModelSink(IHistoryStore store) : IEventSink
{
    public string Name => "read_model";

    public Task WriteAsync(IReadOnlyList<LedgerEvent> events, CancellationToken cancellationToken) => store.AppendAsync(events, cancellationToken);
}
