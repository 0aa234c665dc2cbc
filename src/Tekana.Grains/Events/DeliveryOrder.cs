using Tekana.Abstractions.Events;

namespace Tekana.Grains.Events;

/// <summary>
/// A relay's rule for per-subject order: an event goes to the sinks only if it directly follows the last one of its
/// subject that went there. Publishers send each commit's events at once, with earlier hand-overs still on their
/// way; one of those can be lost (a stream enqueue that failed, a batch the sinks refused), and the ones behind it
/// must then not reach a consumer first. Such events are held back: not delivered, not acknowledged, so their
/// publisher sends them again, after the lost ones.
/// </summary>
/// <remarks>
/// The relay remembers the last delivered number of the subjects it saw lately, in two generations of at most
/// <c>capacity</c> subjects each. Forgetting is safe: a subject it does not remember continues from the number its
/// run carries (<see cref="EventRun.DeliveredThrough"/>), which at worst holds back events that could have gone, until
/// their publisher sends them again. The same number also moves a remembered subject forward, since everything up to
/// it was delivered, whichever relay did it.
/// </remarks>
internal sealed class DeliveryOrder(int capacity)
{
    private Dictionary<string, long> _recent = new(StringComparer.Ordinal);
    private Dictionary<string, long> _older = new(StringComparer.Ordinal);

    /// <summary>What to do with some runs, in the order they arrived.</summary>
    public sealed class Plan
    {
        /// <summary>Events to hand to the sinks, in order; acknowledge them once every sink took them.</summary>
        public List<LedgerEvent> Deliver { get; } = [];

        /// <summary>Events every sink took before: acknowledge them without delivering them again.</summary>
        public List<LedgerEvent> DeliveredBefore { get; } = [];

        /// <summary>
        /// Events that do not follow their subject's last delivery: neither delivered nor acknowledged. While the sinks
        /// take batches their publishers are told (the last held back per subject), and send again what the relay is
        /// missing.
        /// </summary>
        public List<LedgerEvent> HeldBack { get; } = [];
    }

    public Plan Sort(IEnumerable<EventRun> runs)
    {
        var plan = new Plan();
        // How far each subject gets with this plan's deliveries (recorded only once the sinks took them).
        var planned = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var run in runs)
        {
            var subject = run.Subject;
            var remembered = Last(subject);
            var through = Math.Max(planned.TryGetValue(subject, out var p) ? p : remembered ?? 0, run.DeliveredThrough);
            var deliveredBefore = Math.Max(remembered ?? 0, run.DeliveredThrough);
            foreach (var e in run.Events)
            {
                if (e.Number <= deliveredBefore)
                {
                    plan.DeliveredBefore.Add(e);
                }
                else if (e.Number <= through)
                {
                    // A copy of an event this plan delivers already (an original and its resend, side by side).
                }
                else if (e.Number == through + 1)
                {
                    plan.Deliver.Add(e);
                    through = e.Number;
                }
                else
                {
                    plan.HeldBack.Add(e);
                }
            }
            planned[subject] = through;
        }
        return plan;
    }

    /// <summary>Every sink took these events (a plan's <see cref="Plan.Deliver"/>).</summary>
    public void Delivered(IEnumerable<LedgerEvent> events)
    {
        foreach (var e in events)
        {
            if (e.Number > (Last(e.Subject) ?? 0))
            {
                Remember(e.Subject, e.Number);
            }
        }
    }

    private long? Last(string subject) =>
        _recent.TryGetValue(subject, out var last) || _older.TryGetValue(subject, out last) ? last : null;

    private void Remember(string subject, long number)
    {
        if (!_recent.ContainsKey(subject) && _recent.Count >= capacity)
        {
            // The older generation is forgotten; subjects still in use come back into the recent one as they deliver.
            _older = _recent;
            _recent = new Dictionary<string, long>(capacity, StringComparer.Ordinal);
        }
        _recent[subject] = number;
    }
}
