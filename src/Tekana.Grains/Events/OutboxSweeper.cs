using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Tekana.Abstractions;
using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Events;
using Tekana.Abstractions.Wallets;
using Tekana.Domain;
using Tekana.Domain.Wallets;
using Tekana.Grains.Hosting;

namespace Tekana.Grains.Events;

/// <summary>
/// Makes sure that events left in outboxes by a crash do not wait for the customer's next request. Every grain
/// that may hold undelivered events was written shortly before the failure, so after a silo is declared dead (and
/// when the cluster starts) the oldest silo wakes every wallet and customer written in that window; on activation
/// each publishes whatever its outbox still holds. Grains that stayed active send again what the failure may have
/// lost in the streams (see <see cref="EventHandOff.QueuesMovedAt"/>).
/// </summary>
public sealed class OutboxSweeper(
    NpgsqlDataSource database,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    IGrainFactory grains,
    IOptions<ClusterOptions> cluster,
    TimeProvider clock,
    ILogger<OutboxSweeper> log) : BackgroundService
{
    /// <summary>How far back a sweep looks before the failure (a silo is declared dead some seconds after it stopped).</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromMinutes(2);

    /// <summary>At cluster start, the window covers a whole-cluster outage of this length.</summary>
    public static readonly TimeSpan StartupWindow = TimeSpan.FromMinutes(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var dead = new HashSet<SiloAddress>();
        var sweptStartup = false;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                var newlyDead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead && dead.Add(m.SiloAddress)).ToList();
                if (!snapshot.IsLeader(silo.SiloAddress))
                {
                    continue;
                }
                if (!sweptStartup)
                {
                    sweptStartup = true;
                    await SweepAsync(clock.GetUtcNow() - StartupWindow, stoppingToken);
                }
                else if (newlyDead.Count > 0)
                {
                    await SweepAsync(clock.GetUtcNow() - Margin, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task<int> SweepAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        var woken = 0;
        try
        {
            // Wallets live in the transactional state table, customers in the ADO.NET grain state table (whose
            // extension key column holds the grain's string key).
            await using var command = database.CreateCommand(
                """
                SELECT grain_key FROM tekana_transactional_state
                 WHERE service_id = @service AND grain_type = 'wallet' AND modified_at >= @since
                UNION ALL
                SELECT grain_id_ext FROM orleans_storage
                 WHERE service_id = @service AND grain_type = 'customer' AND modified_at >= @since
                """);
            command.Parameters.AddWithValue("service", cluster.Value.ServiceId);
            command.Parameters.AddWithValue("since", since);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var ids = new List<string>();
            while (await reader.ReadAsync(cancellationToken))
            {
                ids.Add(reader.GetString(0));
            }
            foreach (var key in ids)
            {
                IEventSourceGrain? source = Ids.IsCustomerId(key) ? grains.Reference<ICustomerGrain>(key)
                    : WalletIds.IsWellFormed(key) ? grains.Reference<IWalletGrain>(key)
                    : null;
                if (source is not null)
                {
                    await source.Wake();
                    woken++;
                }
            }
            log.LogInformation("Outbox sweep since {Since}: woke {Count} grains.", since, woken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "Outbox sweep failed; overdue events are still re-published by their grains.");
        }
        return woken;
    }
}
