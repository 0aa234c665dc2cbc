using Microsoft.Extensions.Hosting;

namespace Tekana.Grains.Events;

/// <summary>
/// Tells the silo's <see cref="EventHandOff"/> when the cluster's membership changed, since every change moves stream
/// queues between silos (see <see cref="EventHandOff.QueuesMovedAt"/>).
/// </summary>
internal sealed class ClusterChangeWatcher(IClusterMembershipService membership, EventHandOff handOff, TimeProvider clock) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        MembershipVersion? seen = null;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                // The first snapshot is the cluster as this silo found it, not a change.
                if (seen is { } earlier && snapshot.Version > earlier)
                {
                    handOff.QueuesMoved(clock.GetUtcNow());
                }
                seen = snapshot.Version;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
