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

    [Fact]
    public void A_hand_over_lost_on_the_way_is_never_overtaken_by_later_events()
    {
        var clock = new ManualClock();
        var order = new DeliveryOrder(100);
        var delivered = new List<long>();
        var runs = new List<EventRun>();
        var publisher = new OutboxPublisher(runs.Add, clock);
        void RelayTakes(EventRun run)
        {
            var plan = Deliver(order, run);
            delivered.AddRange(Numbers(plan.Deliver));
            publisher.Acknowledge([.. Numbers(plan.Deliver), .. Numbers(plan.DeliveredBefore)]);
        }

        publisher.Merge([E("s", 1)], 1);
        publisher.PublishReady(); // lost on the way: never reaches the relay
        publisher.Add([E("s", 2)]);
        publisher.PublishReady();
        RelayTakes(runs[^1]);
        Assert.Empty(delivered);

        clock.Now += OutboxPublisher.RetryAfter + TimeSpan.FromSeconds(1);
        publisher.ResendOverdue();
        publisher.PublishReady();
        RelayTakes(runs[^1]);

        Assert.Equal([1L, 2L], delivered);
        Assert.Equal(2, publisher.AckedThrough);
        Assert.False(publisher.HasPending);
    }

    [Fact]
    public void A_relay_that_holds_back_an_event_has_the_lost_one_sent_again_without_waiting_for_the_retry_delay()
    {
        var clock = new ManualClock();
        var order = new DeliveryOrder(100);
        var delivered = new List<long>();
        var runs = new List<EventRun>();
        var publisher = new OutboxPublisher(runs.Add, clock);
        void RelayTakes(EventRun run)
        {
            var plan = Deliver(order, run);
            delivered.AddRange(Numbers(plan.Deliver));
            publisher.Acknowledge([.. Numbers(plan.Deliver), .. Numbers(plan.DeliveredBefore)]);
            foreach (var held in plan.HeldBack.GroupBy(e => e.Subject))
            {
                publisher.HeldBack(held.Max(e => e.Number));
            }
        }

        publisher.Merge([E("s", 1)], 1);
        publisher.PublishReady(); // lost on the way: never reaches the relay
        clock.Now += TimeSpan.FromSeconds(1);
        publisher.Add([E("s", 2)]);
        publisher.PublishReady();
        RelayTakes(runs[^1]);
        Assert.Empty(delivered);

        clock.Now += TimeSpan.FromSeconds(2); // the grain's next check, well inside the retry delay
        publisher.ResendOverdue();
        publisher.PublishReady();
        RelayTakes(runs[^1]);

        Assert.Equal([1L, 2L], delivered);
        Assert.False(publisher.HasPending);
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
