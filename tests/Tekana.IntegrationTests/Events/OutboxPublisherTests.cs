using Tekana.Abstractions.Events;
using Tekana.Grains.Events;

namespace Tekana.IntegrationTests.Events;

public sealed class OutboxPublisherTests
{
    private readonly ManualClock _clock = new();
    private readonly List<long> _sent = [];
    private readonly List<EventRun> _runs = [];

    private OutboxPublisher NewPublisher() => new(run =>
    {
        _runs.Add(run);
        _sent.AddRange(run.Events.Select(e => e.Number));
    }, _clock);

    /// <summary>A publisher that sent events 1 to 3 and saw 1 acknowledged.</summary>
    private OutboxPublisher WithTwoOfThreeUnacknowledged()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1), E(2), E(3)], 3);
        publisher.PublishReady();
        publisher.Acknowledge([1]);
        return publisher;
    }

    /// <summary>The grain's check, <paramref name="after"/> this long.</summary>
    private void Check(OutboxPublisher publisher, TimeSpan after = default)
    {
        _clock.Now += after;
        publisher.ResendOverdue();
        publisher.PublishReady();
    }

    private static LedgerEvent E(long number) => new() { Id = $"evt_{number}", Type = "t", Subject = "s", Number = number, Time = default };

    [Fact]
    public void Nothing_is_sent_before_the_committed_outbox_was_read_once()
    {
        var publisher = NewPublisher();
        publisher.Add([E(1)]);

        publisher.PublishReady();
        publisher.Merge([E(1), E(2)], 2);
        publisher.PublishReady();

        Assert.Equal([1L, 2L], _sent);
    }

    [Fact]
    public void Events_ready_together_go_out_in_one_hand_over()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1), E(2)], 2);
        publisher.Add([E(3), E(4)]);

        publisher.PublishReady();
        publisher.PublishReady();

        Assert.Equal([1L, 2L, 3L, 4L], _sent);
        Assert.Single(_runs);
    }

    [Fact]
    public void Events_committed_while_a_hand_over_is_on_its_way_go_out_at_once_carrying_what_was_delivered()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1), E(2)], 2);
        publisher.PublishReady();

        publisher.Add([E(3)]);
        publisher.PublishReady();
        publisher.Acknowledge([1, 2]);
        publisher.Add([E(4)]);
        publisher.PublishReady();

        Assert.Equal([1L, 2L, 3L, 4L], _sent);
        Assert.Equal([0L, 0L, 2L], _runs.Select(r => r.DeliveredThrough));
        Assert.Equal(3, _runs.Count);
    }

    [Fact]
    public void Events_go_out_in_number_order_and_a_gap_holds_the_ones_behind_it()
    {
        var publisher = NewPublisher();
        publisher.Merge([], 0);

        publisher.Add([E(2), E(3)]);
        publisher.PublishReady();
        Assert.Empty(_sent);

        publisher.Add([E(1)]);
        publisher.PublishReady();
        Assert.Equal([1L, 2L, 3L], _sent);
    }

    [Fact]
    public void Unacknowledged_events_are_sent_again_in_order_after_the_retry_delay()
    {
        var publisher = WithTwoOfThreeUnacknowledged();

        Check(publisher, OutboxPublisher.RetryAfter + TimeSpan.FromSeconds(1));

        Assert.Equal([1L, 2L, 3L, 2L, 3L], _sent);
    }

    [Fact]
    public void Acknowledgements_advance_only_over_a_contiguous_prefix()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1), E(2), E(3)], 3);
        publisher.PublishReady();

        publisher.Acknowledge([2, 3]);
        Assert.Equal(0, publisher.AckedThrough);
        publisher.Acknowledge([1]);
        Assert.Equal(3, publisher.AckedThrough);
        Assert.False(publisher.HasPending);
    }

    [Fact]
    public void A_merged_outbox_treats_what_was_pruned_as_delivered()
    {
        var publisher = NewPublisher();

        publisher.Merge([E(5), E(6)], 6);
        publisher.PublishReady();

        Assert.Equal(4, publisher.AckedThrough);
        Assert.Equal([5L, 6L], _sent);
    }

    [Fact]
    public void Resending_steps_over_events_acknowledged_meanwhile_and_keeps_going()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1), E(2), E(3)], 3);
        publisher.PublishReady();
        _clock.Now += OutboxPublisher.RetryAfter + TimeSpan.FromSeconds(1);
        publisher.Acknowledge([2]);

        publisher.ResendOverdue();
        publisher.Add([E(4)]);
        publisher.PublishReady();

        Assert.Equal([1L, 2L, 3L, 1L, 3L, 4L], _sent);
    }

    [Fact]
    public void Each_further_send_of_an_unacknowledged_event_waits_twice_as_long()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1)], 1);
        publisher.PublishReady();

        foreach (var wait in new[] { 11, 21, 41, 81, 81 })
        {
            _clock.Now += TimeSpan.FromSeconds(wait - 2);
            publisher.ResendOverdue();
            publisher.PublishReady();
            var before = _sent.Count;
            _clock.Now += TimeSpan.FromSeconds(2);
            publisher.ResendOverdue();
            publisher.PublishReady();
            Assert.Equal(before + 1, _sent.Count); // not before its delay, right after it
        }
    }

    [Fact]
    public void What_a_relay_held_back_goes_out_again_at_once_and_its_retry_delay_starts_over()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1), E(2)], 2);
        publisher.PublishReady();
        foreach (var wait in new[] { 11, 21, 41 })
        {
            Check(publisher, TimeSpan.FromSeconds(wait));
        }
        Assert.Equal(8, _sent.Count); // the first send and three resends: the next waits 80 s

        publisher.HeldBack(2);
        Check(publisher);
        Assert.Equal(10, _sent.Count);

        Check(publisher, OutboxPublisher.RetryAfter + TimeSpan.FromSeconds(1));
        Assert.Equal([1L, 2L], _sent[^2..]);
        Assert.Equal(12, _sent.Count);
    }

    [Fact]
    public void A_held_back_event_that_was_acknowledged_or_never_sent_changes_nothing()
    {
        var publisher = WithTwoOfThreeUnacknowledged();
        Check(publisher, OutboxPublisher.RetryAfter + TimeSpan.FromSeconds(1)); // 2 and 3 again, now the latest sends

        publisher.HeldBack(4); // never sent: nothing to go by
        publisher.HeldBack(1); // acknowledged meanwhile
        Check(publisher);

        Assert.Equal([1L, 2L, 3L, 2L, 3L], _sent);
    }

    [Fact]
    public void What_was_sent_before_stream_queues_moved_goes_out_again_once_the_move_has_settled()
    {
        var publisher = WithTwoOfThreeUnacknowledged();
        _clock.Now += TimeSpan.FromSeconds(1);
        var moved = _clock.Now;

        publisher.QueuesMoved(moved);
        Check(publisher);
        Assert.Equal([1L, 2L, 3L], _sent); // the queues may still be moving

        _clock.Now += OutboxPublisher.QueueMoveSettle;
        publisher.QueuesMoved(moved);
        Check(publisher);
        publisher.QueuesMoved(moved);
        Check(publisher);

        Assert.Equal([1L, 2L, 3L, 2L, 3L], _sent); // once per move
    }

    [Fact]
    public void A_queue_move_before_the_publisher_existed_changes_nothing()
    {
        var moved = _clock.Now;
        _clock.Now += TimeSpan.FromSeconds(5);
        var publisher = WithTwoOfThreeUnacknowledged();

        publisher.QueuesMoved(moved);
        Check(publisher);

        Assert.Equal([1L, 2L, 3L], _sent);
    }
}
