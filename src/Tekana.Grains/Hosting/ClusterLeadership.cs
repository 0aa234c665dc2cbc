namespace Tekana.Grains.Hosting;

/// <summary>Which silo runs the cluster's background work that one silo does for all (sweeps, purges).</summary>
internal static class ClusterLeadership
{
    /// <summary>
    /// True when <paramref name="silo"/> is the oldest active silo of <paramref name="snapshot"/> (the first active address
    /// in Orleans' order): every silo that sees the same snapshot names the same one.
    /// </summary>
    public static bool IsLeader(this ClusterMembershipSnapshot snapshot, SiloAddress silo)
    {
        var active = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToList();
        return active.Count > 0 && active.Min()!.Equals(silo);
    }
}
