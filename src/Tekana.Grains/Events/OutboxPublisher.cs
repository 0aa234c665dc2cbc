using System.Runtime.InteropServices;
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

    /// <summary>
    /// The events held until acknowledged, in number order. A subject has few in flight (one or two, mostly), so a
    /// sorted list does better than a tree: the publisher works on every event of every wallet, and a tree allocated
    /// a node per event and an enumerator with a stack per pass over it.
    /// </summary>
    private readonly List<Held> _events = [];

    /// <summary>Acknowledged numbers beyond <see cref="AckedThrough"/>, which a gap before them keeps from advancing it.</summary>
    private readonly SortedSet<long> _earlyAcks = [];

    /// <summary>An event held until acknowledged: when it was last sent (null: not yet) and how many times.</summary>
    private readonly record struct Held(LedgerEvent Event, DateTimeOffset? SentAt, int Sends)
    {
        public long Number => Event.Number;

        /// <summary>
        /// Known or presumed lost: sent again at the next check, whatever its retry delay, which starts over. The delay
        /// spares a pipeline that is slow to answer, and this event was lost, not slow.
        /// </summary>
        public Held Lost() => SentAt is null ? this : this with { SentAt = DateTimeOffset.MinValue, Sends = 0 };
    }

    /// <summary>Every event up to this number was sent; -1 until the committed outbox has been read.</summary>
    public long SentThrough { get; private set; } = -1;

    /// <summary>Every event up to this number is delivered and may leave the outbox.</summary>
    public long AckedThrough { get; private set; }

    public bool Known => SentThrough >= 0;

    public bool HasPending => !Known || _events.Count > 0;

    /// <summary>Events held and not yet acknowledged.</summary>
    public int PendingCount => _events.Count;

    /// <summary>Adds events known to be committed.</summary>
    public void Add(IReadOnlyList<LedgerEvent> events)
    {
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (e.Number > AckedThrough && Find(e.Number) is var at and < 0)
            {
                _events.Insert(~at, new Held(e, null, 0));
            }
        }
    }

    /// <summary>
    /// Takes in the committed outbox. What is no longer in it was acknowledged before (it is pruned only after
    /// acknowledgement); what is in it and unknown here is added.
    /// </summary>
    public void Merge(IReadOnlyList<LedgerEvent> outbox, long lastNumber)
    {
        var pruned = lastNumber;
        for (var i = 0; i < outbox.Count; i++)
        {
            pruned = Math.Min(pruned, outbox[i].Number - 1);
        }
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
            var at = Find(number);
            if (at < 0)
            {
                break;
            }
            var next = _events[at];
            (ready ??= []).Add(next.Event);
            _events[at] = next with { SentAt = now, Sends = next.Sends + 1 };
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
        foreach (var held in _events)
        {
            if (held.SentAt is { } sent && now - sent > Delay(held.Sends))
            {
                SentThrough = Math.Min(SentThrough, held.Number - 1);
                return;
            }
        }
    }

    private static TimeSpan Delay(int sends) =>
        TimeSpan.FromTicks(Math.Min(MaxRetryAfter.Ticks, RetryAfter.Ticks << Math.Min(Math.Max(sends - 1, 0), 16)));

    public void Acknowledge(IReadOnlyList<long> numbers)
    {
        // What was sent before the newest acknowledged event and is not acknowledged with it was lost on the way.
        var newest = numbers.Count > 0 ? numbers.Max() : long.MinValue;
        for (var i = 0; i < _events.Count && _events[i].Number < newest; i++)
        {
            if (!numbers.Contains(_events[i].Number))
            {
                _events[i] = _events[i].Lost();
            }
        }
        for (var i = 0; i < numbers.Count; i++)
        {
            var number = numbers[i];
            if (Find(number) is var at and >= 0)
            {
                _events.RemoveAt(at);
            }
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
        if (Find(number) is var at and >= 0 && _events[at].SentAt is { } sentAt)
        {
            for (var i = 0; i <= at; i++)
            {
                if (_events[i].SentAt <= sentAt)
                {
                    _events[i] = _events[i].Lost();
                }
            }
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
            for (var i = 0; i < _events.Count; i++)
            {
                _events[i] = _events[i].Lost();
            }
        }
    }

    private void Advance(long through)
    {
        if (through <= AckedThrough)
        {
            return;
        }
        AckedThrough = through;
        var done = 0;
        while (done < _events.Count && _events[done].Number <= through)
        {
            done++;
        }
        _events.RemoveRange(0, done);
        if (_earlyAcks.Count > 0 && _earlyAcks.Min <= through)
        {
            _earlyAcks.RemoveWhere(n => n <= through);
        }
        if (Known)
        {
            SentThrough = Math.Max(SentThrough, through);
        }
    }

    /// <summary>The index of event <paramref name="number"/> in <see cref="_events"/>, or the complement of where it would go.</summary>
    private int Find(long number) => CollectionsMarshal.AsSpan(_events).BinarySearch(new NumberOf(number));

    /// <summary>Orders held events against an event number, for <see cref="Find"/>.</summary>
    private readonly record struct NumberOf(long Number) : IComparable<Held>
    {
        public int CompareTo(Held other) => Number.CompareTo(other.Number);
    }
}
