using Tekana.Abstractions.Events;
using Tekana.Grains.Events;

namespace Tekana.IntegrationTests.Events;

public sealed class OutboxPublisherTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private readonly ManualClock _clock = new();
    private readonly List<long> _sent = [];

    private OutboxPublisher NewPublisher() => new(e => { _sent.Add(e.Number); return Task.CompletedTask; }, _clock);

    private static LedgerEvent E(long number) => new() { Id = $"evt_{number}", Type = "t", Subject = "s", Number = number, Time = default };

    [Fact]
    public async Task Nothing_is_sent_before_the_committed_outbox_was_read_once()
    {
        var publisher = NewPublisher();
        publisher.Add([E(1)]);

        await publisher.PublishReadyAsync();
        publisher.Merge([E(1), E(2)], 2);
        await publisher.PublishReadyAsync();

        Assert.Equal([1L, 2L], _sent);
    }

    [Fact]
    public async Task Events_go_out_in_number_order_and_a_gap_holds_the_ones_behind_it()
    {
        var publisher = NewPublisher();
        publisher.Merge([], 0);

        publisher.Add([E(2), E(3)]);
        await publisher.PublishReadyAsync();
        Assert.Empty(_sent);
        Assert.True(publisher.HasGap);

        publisher.Add([E(1)]);
        await publisher.PublishReadyAsync();
        Assert.Equal([1L, 2L, 3L], _sent);
        Assert.False(publisher.HasGap);
    }

    [Fact]
    public async Task Unacknowledged_events_are_sent_again_in_order_after_the_retry_delay()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1), E(2), E(3)], 3);
        await publisher.PublishReadyAsync();
        publisher.Acknowledge([1]);

        _clock.Now += OutboxPublisher.RetryAfter + TimeSpan.FromSeconds(1);
        publisher.ResendOverdue();
        await publisher.PublishReadyAsync();

        Assert.Equal([1L, 2L, 3L, 2L, 3L], _sent);
    }

    [Fact]
    public async Task Acknowledgements_advance_only_over_a_contiguous_prefix()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1), E(2), E(3)], 3);
        await publisher.PublishReadyAsync();

        publisher.Acknowledge([2, 3]);
        Assert.Equal(0, publisher.AckedThrough);
        publisher.Acknowledge([1]);
        Assert.Equal(3, publisher.AckedThrough);
        Assert.False(publisher.HasPending);
    }

    [Fact]
    public async Task A_merged_outbox_treats_what_was_pruned_as_delivered()
    {
        var publisher = NewPublisher();

        publisher.Merge([E(5), E(6)], 6);
        await publisher.PublishReadyAsync();

        Assert.Equal(4, publisher.AckedThrough);
        Assert.Equal([5L, 6L], _sent);
    }

    [Fact]
    public async Task Resending_steps_over_events_acknowledged_meanwhile_and_keeps_going()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1), E(2), E(3)], 3);
        await publisher.PublishReadyAsync();
        _clock.Now += OutboxPublisher.RetryAfter + TimeSpan.FromSeconds(1);
        publisher.Acknowledge([2]);

        publisher.ResendOverdue();
        publisher.Add([E(4)]);
        await publisher.PublishReadyAsync();

        Assert.Equal([1L, 2L, 3L, 1L, 3L, 4L], _sent);
        Assert.False(publisher.HasGap);
    }

    [Fact]
    public async Task Each_further_send_of_an_unacknowledged_event_waits_twice_as_long()
    {
        var publisher = NewPublisher();
        publisher.Merge([E(1)], 1);
        await publisher.PublishReadyAsync();

        foreach (var wait in new[] { 11, 21, 41, 81, 81 })
        {
            _clock.Now += TimeSpan.FromSeconds(wait - 2);
            publisher.ResendOverdue();
            await publisher.PublishReadyAsync();
            var before = _sent.Count;
            _clock.Now += TimeSpan.FromSeconds(2);
            publisher.ResendOverdue();
            await publisher.PublishReadyAsync();
            Assert.Equal(before + 1, _sent.Count); // not before its delay, right after it
        }
    }
}
