using Tekana.Abstractions.Events;
using Tekana.Grains.Events;

namespace Tekana.IntegrationTests.Events;

public sealed class DeliveryOrderTests
{
    private static LedgerEvent E(string subject, long number) =>
        new() { Id = $"evt_{subject}_{number}", Type = "t", Subject = subject, Number = number, Time = default };

    private static EventRun Run(string subject, long deliveredThrough, params long[] numbers) =>
        new() { DeliveredThrough = deliveredThrough, Events = [.. numbers.Select(n => E(subject, n))] };

    private static long[] Numbers(IEnumerable<LedgerEvent> events) => [.. events.Select(e => e.Number)];

    /// <summary>Sorts the runs as a relay would, and records what it delivers as taken by every sink.</summary>
    private static DeliveryOrder.Plan Deliver(DeliveryOrder order, params EventRun[] runs)
    {
        var plan = order.Sort(runs);
        order.Delivered(plan.Deliver);
        return plan;
    }

    /// <summary>
    /// One publisher and one relay's order, joined as in the silo: the relay acknowledges what it delivered and, when
    /// <paramref name="tellsHeldBack"/> (its sinks take batches), tells the publisher the last event it held back.
    /// </summary>
    private sealed class Pipeline
    {
        private readonly bool _tellsHeldBack;

        public Pipeline(bool tellsHeldBack)
        {
            _tellsHeldBack = tellsHeldBack;
            Publisher = new OutboxPublisher(Runs.Add, Clock);
        }

        public ManualClock Clock { get; } = new();

        public DeliveryOrder Order { get; } = new(100);

        public List<EventRun> Runs { get; } = [];

        public List<long> Delivered { get; } = [];

        public OutboxPublisher Publisher { get; }

        /// <summary>The relay takes the last hand-over.</summary>
        public void RelayTakesLast()
        {
            var plan = Deliver(Order, Runs[^1]);
            Delivered.AddRange(Numbers(plan.Deliver));
            Publisher.Acknowledge([.. Numbers(plan.Deliver), .. Numbers(plan.DeliveredBefore)]);
            if (_tellsHeldBack && plan.HeldBack.Count > 0)
            {
                Publisher.HeldBack(plan.HeldBack.Max(e => e.Number));
            }
        }

        /// <summary>Event 1 is lost on the way; event 2, a second later, reaches the relay, which holds it back.</summary>
        public void LoseTheFirstOfTwo()
        {
            Publisher.Merge([E("s", 1)], 1);
            Publisher.PublishReady();
            Clock.Now += TimeSpan.FromSeconds(1);
            Publisher.Add([E("s", 2)]);
            Publisher.PublishReady();
            RelayTakesLast();
        }

        /// <summary>The publisher's check <paramref name="after"/> this long.</summary>
        public void CheckAfter(TimeSpan after)
        {
            Clock.Now += after;
            Publisher.ResendOverdue();
            Publisher.PublishReady();
        }
    }

    [Fact]
    public void A_hand_over_lost_on_the_way_is_never_overtaken_by_later_events()
    {
        // A relay whose sinks refused its last batch tells nothing: the publisher's retry delay brings the resend.
        var pipeline = new Pipeline(tellsHeldBack: false);

        pipeline.LoseTheFirstOfTwo();
        Assert.Empty(pipeline.Delivered);
        pipeline.CheckAfter(TimeSpan.FromSeconds(2));
        Assert.Single(pipeline.Runs, r => r.Events.Any(e => e.Number == 1));
        pipeline.CheckAfter(OutboxPublisher.RetryAfter);
        pipeline.RelayTakesLast();

        Assert.Equal([1L, 2L], pipeline.Delivered);
        Assert.Equal(2, pipeline.Publisher.AckedThrough);
        Assert.False(pipeline.Publisher.HasPending);
    }

    [Fact]
    public void A_relay_that_holds_back_an_event_has_the_lost_one_sent_again_without_waiting_for_the_retry_delay()
    {
        var pipeline = new Pipeline(tellsHeldBack: true);

        pipeline.LoseTheFirstOfTwo();
        Assert.Empty(pipeline.Delivered);
        pipeline.CheckAfter(TimeSpan.FromSeconds(2)); // the grain's next check, well inside the retry delay
        pipeline.RelayTakesLast();

        Assert.Equal([1L, 2L], pipeline.Delivered);
        Assert.False(pipeline.Publisher.HasPending);
    }

    [Fact]
    public void A_subject_the_relay_does_not_know_continues_from_the_number_its_run_carries()
    {
        var order = new DeliveryOrder(100);

        var plan = order.Sort([Run("a", 4, 5, 6), Run("b", 0, 2, 3)]);

        Assert.Equal([5L, 6L], Numbers(plan.Deliver));
        Assert.Equal([2L, 3L], Numbers(plan.HeldBack));
    }

    [Fact]
    public void Runs_that_follow_one_another_in_a_batch_go_out_together_and_a_gap_holds_back_what_is_behind_it()
    {
        var order = new DeliveryOrder(100);

        var plan = order.Sort([Run("a", 0, 1, 2), Run("a", 0, 3), Run("a", 0, 5, 6), Run("a", 0, 4)]);

        Assert.Equal([1L, 2L, 3L, 4L], Numbers(plan.Deliver));
        Assert.Equal([5L, 6L], Numbers(plan.HeldBack));
    }

    [Fact]
    public void Events_delivered_before_are_acknowledged_without_going_out_again()
    {
        var order = new DeliveryOrder(100);
        Deliver(order, Run("a", 0, 1, 2, 3));

        var plan = order.Sort([Run("a", 0, 2, 3, 4), Run("a", 0, 4, 5)]);

        Assert.Equal([2L, 3L], Numbers(plan.DeliveredBefore));
        Assert.Equal([4L, 5L], Numbers(plan.Deliver));
        Assert.Empty(plan.HeldBack);
    }

    [Fact]
    public void A_batch_the_sinks_refused_holds_back_what_follows_it_until_it_is_sent_again()
    {
        var order = new DeliveryOrder(100);
        var refused = order.Sort([Run("a", 0, 1, 2)]);
        Assert.Equal([1L, 2L], Numbers(refused.Deliver)); // the sinks fail: nothing is recorded

        var behind = Deliver(order, Run("a", 0, 3));
        var resent = Deliver(order, Run("a", 0, 1, 2, 3));

        Assert.Empty(behind.Deliver);
        Assert.Equal([3L], Numbers(behind.HeldBack));
        Assert.Equal([1L, 2L, 3L], Numbers(resent.Deliver));
    }

    [Fact]
    public void A_forgotten_subject_holds_back_events_until_its_run_carries_where_it_stands()
    {
        var order = new DeliveryOrder(1);
        Deliver(order, Run("a", 0, 1));
        Deliver(order, Run("b", 0, 1));
        Deliver(order, Run("c", 0, 1)); // two generations of one subject: "a" is forgotten

        var early = Deliver(order, Run("a", 0, 2));
        var caughtUp = Deliver(order, Run("a", 1, 2));
        var remembered = Deliver(order, Run("c", 0, 2));

        Assert.Empty(early.Deliver);
        Assert.Equal([2L], Numbers(caughtUp.Deliver));
        Assert.Equal([2L], Numbers(remembered.Deliver));
    }
}
