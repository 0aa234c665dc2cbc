using Tekana.Abstractions.Events;
using Tekana.Grains.Hosting;

namespace Tekana.Grains.Events;

/// <summary>
/// Keeps one grain's outbox moving: publishes what is ready through an <see cref="OutboxPublisher"/>, and while
/// anything is pending runs a timer that sends overdue events again and asks for a read of the committed outbox while
/// the grain does not know what it holds (a read that failed). The grain supplies that read, if it has one.
/// </summary>
internal sealed class OutboxPump
{
    private readonly Grain _grain;
    private readonly EventHandOff _handOff;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _period;
    private readonly Action? _sendRecovery;
    private IGrainTimer? _timer;
    private int _reportedPending;

    // A read of the committed outbox that is under way, and whether another one is needed once it answers. A read
    // requested while one is in flight may concern a commit that read already missed, so it is never folded into it.
    private DateTimeOffset? _recoverySentAt;
    private bool _recoverAgain;

    /// <param name="sendRecovery">Sends a request to read the committed outbox; the answer comes to <see cref="Recovered"/>.</param>
    public OutboxPump(Grain grain, EventHandOff handOff, TimeProvider clock, TimeSpan period, Action? sendRecovery)
    {
        _grain = grain;
        _handOff = handOff;
        _clock = clock;
        _period = period;
        _sendRecovery = sendRecovery;
        Publisher = new OutboxPublisher(handOff.Send, clock);
    }

    public OutboxPublisher Publisher { get; }

    private bool Recovering => _recoverySentAt is not null || _recoverAgain;

    /// <summary>Events every sink took: they may leave the outbox (nothing waits for an acknowledgement to go out).</summary>
    public void Acknowledge(IReadOnlyList<long> numbers)
    {
        Publisher.Acknowledge(numbers);
        ReportPending();
        StopTimerWhenIdle();
    }

    /// <summary>Publishes what is ready; keeps the timer running while anything is pending.</summary>
    public void Publish()
    {
        Publisher.PublishReady();
        // What is sent stays pending until acknowledged: the timer sends it again if it never is.
        if (Publisher.HasPending)
        {
            EnsureTimer();
        }
        else
        {
            StopTimerWhenIdle();
        }
        ReportPending();
    }

    /// <summary>The grain deactivates: what it held is no longer held here (its outbox still has it).</summary>
    public void Release()
    {
        _timer?.Dispose();
        _timer = null;
        TekanaMetrics.OutboxPendingChanged(-_reportedPending);
        _reportedPending = 0;
    }

    private void ReportPending()
    {
        var pending = Publisher.PendingCount;
        TekanaMetrics.OutboxPendingChanged(pending - _reportedPending);
        _reportedPending = pending;
    }

    /// <summary>Asks for a read of the committed outbox (after activation, or when a commit may have gone unseen).</summary>
    public void RequestRecovery()
    {
        if (_sendRecovery is null)
        {
            return;
        }
        if (_recoverySentAt is null)
        {
            _recoverySentAt = _clock.GetUtcNow();
            _sendRecovery();
        }
        else
        {
            _recoverAgain = true;
        }
        EnsureTimer();
    }

    /// <summary>Takes in the committed outbox (see <see cref="OutboxPublisher.Merge"/>) and publishes what is ready.</summary>
    public void Merge(IReadOnlyList<LedgerEvent> outbox, long lastNumber)
    {
        Publisher.Merge(outbox, lastNumber);
        Publish();
    }

    /// <summary>The committed outbox as a read transaction saw it.</summary>
    public void Recovered(IReadOnlyList<LedgerEvent> outbox, long lastNumber)
    {
        _recoverySentAt = null;
        if (_recoverAgain)
        {
            _recoverAgain = false;
            RequestRecovery();
        }
        Merge(outbox, lastNumber);
    }

    /// <summary>
    /// The timer keeps the grain active while it runs. Only an activation sends its outbox, and a grain collected as idle
    /// with events undelivered (Kafka away longer than the grain's collection age) would otherwise hold them until its
    /// next request, which for a customer may be weeks away: the outbox sweeper wakes only grains a dead silo hosted.
    /// </summary>
    private void EnsureTimer() => _timer ??= _grain.RegisterGrainTimer(CheckAsync, new GrainTimerCreationOptions(_period, _period) { KeepAlive = true });

    /// <summary>
    /// Stops the timer when it has nothing left to do: nothing pending and no read under way. At once, not at its next
    /// tick: every movement publishes its legs' events, and each leg's wallet then ticked once, a period later, for nothing.
    /// </summary>
    private bool StopTimerWhenIdle()
    {
        if (Publisher.HasPending || Recovering)
        {
            return false;
        }
        _timer?.Dispose();
        _timer = null;
        return true;
    }

    private Task CheckAsync()
    {
        if (StopTimerWhenIdle())
        {
            return Task.CompletedTask;
        }
        // Undelivered for too long (a sink or the stream lost them, Kafka away), or sent before stream queues moved:
        // send them again, in order.
        Publisher.QueuesMoved(_handOff.QueuesMovedAt);
        Publisher.ResendOverdue();
        Publisher.PublishReady();
        ReportPending();

        // A read that did not answer within two periods failed (its transaction timed out on a busy lock): ask again.
        if (_recoverySentAt is { } sent && _clock.GetUtcNow() - sent > 2 * _period)
        {
            _recoverySentAt = null;
            _recoverAgain = true;
        }
        if (_recoverySentAt is null && (!Publisher.Known || _recoverAgain))
        {
            _recoverAgain = false;
            RequestRecovery();
        }
        return Task.CompletedTask;
    }
}
