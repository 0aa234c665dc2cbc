using Tekana.Abstractions.Events;

namespace Tekana.Grains.Events;

/// <summary>
/// Publishes one subject's events to the event stream strictly in number order, at least once. It only ever
/// publishes events known to be committed: handed over after their transaction committed, or read back from the
/// committed outbox. Events stay in the outbox until every sink acknowledged them; unacknowledged ones are
/// published again after <see cref="RetryAfter"/>.
/// </summary>
internal sealed class OutboxPublisher(Func<LedgerEvent, Task> publish, TimeProvider clock)
{
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(10);

    private readonly SortedDictionary<long, LedgerEvent> _ready = [];
    private readonly Dictionary<long, DateTimeOffset> _inFlight = [];
    private readonly SortedSet<long> _earlyAcks = [];

    /// <summary>Highest event number handed to the stream; -1 until the committed outbox has been read once.</summary>
    public long PublishedThrough { get; private set; } = -1;

    /// <summary>Every event up to this number is delivered and may leave the outbox.</summary>
    public long AckedThrough { get; private set; }

    public bool Known => PublishedThrough >= 0;

    /// <summary>Committed events waiting behind a missing one (its committer may have died): time to re-read the outbox.</summary>
    public bool HasGap => Known && _ready.Count > 0 && _ready.First().Key > PublishedThrough + 1;

    public bool HasPending => _ready.Count > 0 || _inFlight.Count > 0 || !Known;

    public bool HasOverdue => _inFlight.Values.Any(sent => clock.GetUtcNow() - sent > RetryAfter);

    public void Add(IEnumerable<LedgerEvent> events)
    {
        foreach (var e in events.Where(e => e.Number > AckedThrough))
        {
            _ready[e.Number] = e;
        }
    }

    /// <summary>
    /// Starts over from the committed outbox: everything in it not yet acknowledged is published again, in order.
    /// What is no longer in the outbox was acknowledged before (it is only pruned after acknowledgement).
    /// </summary>
    public void Reset(IReadOnlyCollection<LedgerEvent> outbox, long lastNumber)
    {
        var pruned = outbox.Count == 0 ? lastNumber : outbox.Min(e => e.Number) - 1;
        AckedThrough = Math.Max(AckedThrough, pruned);
        _inFlight.Clear();
        Add(outbox);
        var firstUnacked = outbox.Where(e => e.Number > AckedThrough).Select(e => e.Number).DefaultIfEmpty(lastNumber + 1).Min();
        PublishedThrough = firstUnacked - 1;
    }

    public async Task PublishReadyAsync()
    {
        if (!Known)
        {
            return;
        }
        while (_ready.Remove(PublishedThrough + 1, out var next))
        {
            await publish(next);
            _inFlight[next.Number] = clock.GetUtcNow();
            PublishedThrough = next.Number;
        }
        foreach (var stale in _ready.Keys.Where(n => n <= PublishedThrough).ToList())
        {
            _ready.Remove(stale);
        }
    }

    public void Acknowledge(IEnumerable<long> numbers)
    {
        foreach (var number in numbers)
        {
            _inFlight.Remove(number);
            if (number > AckedThrough)
            {
                _earlyAcks.Add(number);
            }
        }
        while (_earlyAcks.Remove(AckedThrough + 1))
        {
            AckedThrough++;
        }
    }
}
