using Tekana.Abstractions.Events;

namespace Tekana.Grains.Events;

/// <summary>
/// Publishes one subject's events strictly in number order, at least once. It only ever publishes events known to be
/// committed: those of a committed outbox, as a storage write committed it or a read transaction saw it. It keeps every event until all sinks acknowledged it, and sends again, in order, what stays
/// unacknowledged for longer than <see cref="RetryAfter"/>, doubling that delay for each further send of the same event
/// (up to <see cref="MaxRetryAfter"/>): a pipeline that is merely behind must not be flooded with copies. An event left
/// unacknowledged behind a later one that was acknowledged is lost (each subject's events are delivered in order)
/// and goes out again at the next check, and so does what a relay held back (<see cref="HeldBack"/>) and what was
/// sent before stream queues moved between silos (<see cref="QueuesMoved"/>).
/// </summary>
/// <remarks>
/// Each hand-over goes out as soon as its events are committed, whatever earlier ones are still on their way, and
/// carries <see cref="AckedThrough"/>: the relays deliver a subject's event only right after the one before it
/// (<see cref="DeliveryOrder"/>), so an event sent behind a hand-over that was lost waits for that one's resend
/// instead of overtaking it. The relay says so, and the resend comes at the next check: waiting out the retry delay
/// instead held a subject's whole stream back 10 s after a silo failure, and each loss of the resend doubled that.
/// </remarks>
internal sealed class OutboxPublisher(Action<EventRun> send, TimeProvider clock)
{
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(80);

    /// <summary>How long stream queues take to settle on their new silos after the cluster changed (measured: 0.1 s).</summary>
    public static readonly TimeSpan QueueMoveSettle = TimeSpan.FromSeconds(1);

    /// <summary>The last queue move this publisher sent everything again for (moves before it existed concern it not).</summary>
    private DateTimeOffset _movedThrough = clock.GetUtcNow();

    private readonly SortedDictionary<long, (LedgerEvent Event, DateTimeOffset? SentAt, int Sends)> _events = [];
    private readonly SortedSet<long> _earlyAcks = [];

    /// <summary>Every event up to this number was sent; -1 until the committed outbox has been read.</summary>
    public long SentThrough { get; private set; } = -1;

    /// <summary>Every event up to this number is delivered and may leave the outbox.</summary>
    public long AckedThrough { get; private set; }

    public bool Known => SentThrough >= 0;

    public bool HasPending => !Known || _events.Count > 0;

    /// <summary>Events held and not yet acknowledged.</summary>
    public int PendingCount => _events.Count;

    /// <summary>Adds events known to be committed.</summary>
    public void Add(IEnumerable<LedgerEvent> events)
    {
        foreach (var e in events)
        {
            if (e.Number > AckedThrough && !_events.ContainsKey(e.Number))
            {
                _events[e.Number] = (e, null, 0);
            }
        }
    }

    /// <summary>
    /// Takes in the committed outbox. What is no longer in it was acknowledged before (it is pruned only after
    /// acknowledgement); what is in it and unknown here is added.
    /// </summary>
    public void Merge(IReadOnlyCollection<LedgerEvent> outbox, long lastNumber)
    {
        var pruned = outbox.Count == 0 ? lastNumber : outbox.Min(e => e.Number) - 1;
        Advance(pruned);
        Add(outbox);
        SentThrough = Math.Max(SentThrough, AckedThrough);
    }

    /// <summary>Sends, in one call, every event that is next in number order.</summary>
    public void PublishReady()
    {
        if (!Known)
        {
            return;
        }
        List<LedgerEvent>? ready = null;
        var now = clock.GetUtcNow();
        while (true)
        {
            var number = SentThrough + 1;
            if (number <= AckedThrough || _earlyAcks.Contains(number))
            {
                // Delivered already (acknowledged out of order while an earlier one was being sent again).
                SentThrough = number;
                continue;
            }
            if (!_events.TryGetValue(number, out var next))
            {
                break;
            }
            (ready ??= []).Add(next.Event);
            _events[number] = (next.Event, now, next.Sends + 1);
            SentThrough = number;
        }
        if (ready is not null)
        {
            send(new EventRun { DeliveredThrough = AckedThrough, Events = [.. ready] });
        }
    }

    /// <summary>Sends again, in order, everything from the oldest event unacknowledged for too long.</summary>
    public void ResendOverdue()
    {
        var now = clock.GetUtcNow();
        var overdue = _events.Where(e => e.Value.SentAt is { } sent && now - sent > Delay(e.Value.Sends)).Select(e => e.Key).DefaultIfEmpty(-1).Min();
        if (overdue > 0)
        {
            SentThrough = Math.Min(SentThrough, overdue - 1);
        }
    }

    private static TimeSpan Delay(int sends) =>
        TimeSpan.FromTicks(Math.Min(MaxRetryAfter.Ticks, RetryAfter.Ticks << Math.Min(Math.Max(sends - 1, 0), 16)));

    public void Acknowledge(IEnumerable<long> numbers)
    {
        var acknowledged = numbers.ToList();
        if (acknowledged.Count > 0)
        {
            var newest = acknowledged.Max();
            MarkLost((number, _) => number < newest && !acknowledged.Contains(number));
        }
        foreach (var number in acknowledged)
        {
            _events.Remove(number);
            if (number > AckedThrough)
            {
                _earlyAcks.Add(number);
            }
        }
        var through = AckedThrough;
        while (_earlyAcks.Remove(through + 1))
        {
            through++;
        }
        Advance(through);
    }

    /// <summary>
    /// A relay held back event <paramref name="number"/> because one before it never reached the relay (the relay
    /// delivers a subject's events only in order). What was sent no later than that event and is still unacknowledged,
    /// the event included, was lost on the way or dropped behind the gap.
    /// </summary>
    public void HeldBack(long number)
    {
        if (_events.TryGetValue(number, out var held) && held.SentAt is { } sentAt)
        {
            MarkLost((n, sent) => n <= number && sent <= sentAt);
        }
    }

    /// <summary>
    /// Stream queues moved at <paramref name="movedAt"/> (see <see cref="EventHandOff.QueuesMovedAt"/>): once the move
    /// has settled, everything sent and not yet acknowledged goes out again, once per move.
    /// </summary>
    public void QueuesMoved(DateTimeOffset? movedAt)
    {
        if (movedAt is { } moved && moved > _movedThrough && clock.GetUtcNow() - moved >= QueueMoveSettle)
        {
            _movedThrough = moved;
            MarkLost((_, _) => true);
        }
    }

    /// <summary>
    /// Sent events known or presumed lost go out again at the next check, whatever their retry delay, which starts
    /// over: the delay spares a pipeline that is slow to answer, and these were lost, not slow.
    /// </summary>
    private void MarkLost(Func<long, DateTimeOffset, bool> lost)
    {
        foreach (var (number, held) in _events.Where(e => e.Value.SentAt is { } sent && lost(e.Key, sent)).ToList())
        {
            _events[number] = held with { SentAt = DateTimeOffset.MinValue, Sends = 0 };
        }
    }

    private void Advance(long through)
    {
        if (through <= AckedThrough)
        {
            return;
        }
        AckedThrough = through;
        foreach (var done in _events.Keys.Where(n => n <= through).ToList())
        {
            _events.Remove(done);
        }
        _earlyAcks.RemoveWhere(n => n <= through);
        if (Known)
        {
            SentThrough = Math.Max(SentThrough, through);
        }
    }
}
