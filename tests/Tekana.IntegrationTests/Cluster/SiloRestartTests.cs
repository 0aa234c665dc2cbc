using System.Collections.Concurrent;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Domain.Transfers;
using Tekana.Grains.Hosting;
using Xunit.Abstractions;

namespace Tekana.IntegrationTests.Cluster;

/// <summary>A silo dies in the middle of a run. Its own cluster and database, so the kill disturbs no other test.</summary>
public sealed class SiloRestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;

    private IClusterClient Client => _cluster.Client;

    public async Task InitializeAsync()
    {
        var connectionString = await TestDatabase.CreateAsync("restart");
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 3);
        builder.WithSilosOwnGrainDirectory();
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddTekanaGrains();
            silo.AddTekanaPostgresStorage(connectionString);
            silo.AddTekanaEvents(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(), connectionString);
            silo.Services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1_000);
        });
        builder.ConfigureClient(client => client.UseTransactions());
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Killing_a_silo_mid_run_loses_no_acknowledged_movement_and_retries_settle_exactly_once()
    {
        var (pool, acknowledged) = await FundedWalletsAsync(40, 10_000);

        var requests = Enumerable.Range(0, 600).Select(i =>
        {
            var from = pool[i % pool.Count];
            var to = pool[(i * 7 + 3) % pool.Count];
            return from == to ? null : Ledger.Transfer(from, to, 1 + i % 97);
        }).OfType<MovementRequest>().ToList();
        var failedCalls = 0;
        var victim = _cluster.Silos[^1];
        var killed = 0;

        await Concurrently.ForEachAsync(requests.Select((r, i) => (r, i)), 16, async item =>
        {
            if (item.i == requests.Count / 3 && Interlocked.Exchange(ref killed, 1) == 0)
            {
                await _cluster.KillSiloAsync(victim);
            }
            acknowledged.Add(await SettleAsync(item.r, 30, TimeSpan.FromMilliseconds(200), _ => Interlocked.Increment(ref failedCalls)));
        });
        await _cluster.StartAdditionalSiloAsync();

        output.WriteLine($"{requests.Count} transfers, {failedCalls} calls failed around the kill and were retried under the same key");
        await LedgerAudit.AssertConsistentAsync(Client, pool, acknowledged.ToList(), "RWF");
        var sample = acknowledged.Where(r => r.Type == MovementType.Transfer).Take(20).ToList();
        foreach (var record in sample)
        {
            var request = requests.Single(r => Domain.Ids.TransactionIdFor(r.Scope, r.IdempotencyKey) == record.Id);
            RecordAssert.Same(record, await Client.Execute(request));
        }
    }

    [Fact]
    public async Task A_dead_silo_deactivates_nothing_on_the_silos_that_survive()
    {
        // Orleans' default directory deactivates, on the survivors, every activation whose directory entry the dead
        // silo held; a wallet deactivating in the middle of a commit can then answer nothing for hours.
        var (pool, acknowledged) = await FundedWalletsAsync(60, 1_000);

        var victim = _cluster.Silos[^1];
        var survivors = _cluster.Silos.Take(_cluster.Silos.Count - 1).Select(s => s.SiloAddress).ToHashSet();
        var deactivated = new ConcurrentQueue<string>();
        using var subscription = GrainLifecycle.Watch(e =>
        {
            if (e is Orleans.Runtime.Diagnostics.GrainLifecycleEvents.Deactivating d && d.Reason.ReasonCode == DeactivationReasonCode.DirectoryFailure &&
                d.GrainContext.Address.SiloAddress is { } silo && survivors.Contains(silo))
            {
                deactivated.Enqueue($"{d.GrainContext.GrainId}: {d.Reason}");
            }
        });

        await _cluster.KillSiloAsync(victim);
        var management = Client.GetGrain<IManagementGrain>(0);
        while ((await management.GetHosts(onlyActive: true)).Count > survivors.Count)
        {
            await Task.Delay(200);
        }
        await Task.Delay(TimeSpan.FromSeconds(3)); // the survivors' directories act on the news within milliseconds
        // Every wallet still serves, those the dead silo hosted included (after its transactions time out).
        await Concurrently.ForEachAsync(pool.Select((w, i) => (w, i)), 8, async item =>
        {
            acknowledged.Add(await SettleAsync(
                Ledger.Transfer(item.w, pool[(item.i + 1) % pool.Count], 1, key: $"after-kill-{item.i}"), 60, TimeSpan.FromMilliseconds(250)));
        });

        Assert.True(deactivated.IsEmpty, $"{deactivated.Count} activations on surviving silos deactivated for the dead silo's directory:\n" + string.Join("\n", deactivated.Take(5)));
        await LedgerAudit.AssertConsistentAsync(Client, pool, acknowledged.ToList(), "RWF");
    }

    [Fact]
    public async Task Silos_stopped_gracefully_under_load_stop_within_seconds_and_no_movement_fails()
    {
        // Before the silo drained its wallets (SiloDrain), two of ten such stops stalled until the host's 30 s
        // shutdown timeout, and a run of this test without the drain failed so: five stops catch that two times in
        // three.
        var (pool, acknowledged) = await FundedWalletsAsync(60, 1_000_000);
        for (var round = 0; round < 5; round++)
        {
            using var stop = new CancellationTokenSource();
            var failed = new ConcurrentQueue<string>();
            var callers = Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
            {
                var random = new Random(round * 100 + c);
                while (!stop.IsCancellationRequested)
                {
                    var from = pool[random.Next(pool.Count)];
                    var to = pool[random.Next(pool.Count)];
                    if (from == to)
                    {
                        continue;
                    }
                    // A failure counts; the same key is retried so that the audit knows the outcome.
                    acknowledged.Add(await SettleAsync(Ledger.Transfer(from, to, 1 + random.Next(100)), 60, TimeSpan.FromMilliseconds(250), e =>
                    {
                        var text = $"{e.GetType().Name}: {e.Message}";
                        failed.Enqueue(text.Length > 200 ? text[..200] : text);
                    }));
                }
            })).ToList();
            await Task.Delay(TimeSpan.FromSeconds(3));
            // The silo hosting the most of the wallets under load, a third of them at least: the drain then has their
            // writes to turn away. A stopped silo's wallets move together, mostly to one silo, so a silo chosen
            // otherwise (a fixed one; the busiest but the first) could host none of them, and its drain, rightly,
            // waited for nothing.
            var (victim, hosting) = await BusiestSiloAsync(pool);
            var drain = victim.ServiceProvider.GetRequiredService<SiloDrain>();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await _cluster.StopSiloAsync(victim);
            var took = watch.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(1));
            await stop.CancelAsync();
            await Task.WhenAll(callers);
            var report = $"stop {round} of {victim.SiloAddress}: {took.TotalSeconds:F1} s, {drain.RefusedWrites} writes refused while draining, " +
                $"{failed.Count} failed calls; the wallets' directory entries before it: {hosting}";
            output.WriteLine(report);
            Assert.True(failed.IsEmpty, $"{report}: {string.Join("; ", failed.Take(3))}");
            // The drain (3 s at most) and the deactivations.
            Assert.True(took < TimeSpan.FromSeconds(10), report);
            // The load kept writing to the stopping silo's wallets: the drain turned writes away, and every one of them
            // went through elsewhere (no caller failed).
            Assert.True(drain.RefusedWrites > 0, report);
            await _cluster.StartAdditionalSiloAsync();
        }
        await LedgerAudit.AssertConsistentAsync(Client, pool, acknowledged.ToList(), "RWF");
    }

    [Fact]
    public async Task A_wallet_idle_on_a_draining_silo_serves_from_another_silo_before_the_drain_ends()
    {
        var victim = (InProcessSiloHandle)_cluster.Silos[1];
        var drain = victim.ServiceProvider.GetRequiredService<SiloDrain>();
        var management = Client.GetGrain<IManagementGrain>(0);
        var (pool, acknowledged) = await FundedWalletsAsync(12, 1_000);
        var onVictim = new List<string>();
        while (onVictim.Count < 3)
        {
            foreach (var id in pool.Except(onVictim).ToList())
            {
                if (await management.GetActivationAddress(Client.GetGrain<IWalletGrain>(id)) == victim.SiloAddress)
                {
                    onVictim.Add(id);
                }
            }
            if (onVictim.Count < 3)
            {
                var (more, deposits) = await FundedWalletsAsync(6, 1_000);
                pool.AddRange(more);
                deposits.ToList().ForEach(acknowledged.Add);
            }
        }
        var (idlePayer, idlePayee, busy) = (onVictim[0], onVictim[1], onVictim[2]);
        await Task.Delay(drain.SettleTime + TimeSpan.FromMilliseconds(500));
        // A write just before the stop: the silo's drain lasts its whole settle time.
        acknowledged.Add(await Client.Execute(Ledger.Deposit(busy, 10)));

        var stopping = _cluster.StopSiloAsync(victim);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!drain.IsDraining)
        {
            Assert.True(DateTime.UtcNow < deadline && !stopping.IsCompleted, "the silo never drained");
            await Task.Delay(5);
        }
        var watch = System.Diagnostics.Stopwatch.StartNew();
        acknowledged.Add(await Client.Execute(Ledger.Transfer(idlePayer, idlePayee, 7)));
        var took = watch.Elapsed;
        output.WriteLine($"an idle wallet on the draining silo took {took.TotalMilliseconds:F0} ms to serve a transfer from another silo; the drain lasts {drain.SettleTime.TotalSeconds} s");

        Assert.False(stopping.IsCompleted, $"the transfer waited {took.TotalSeconds:F1} s, until the silo had stopped");
        Assert.True(took < drain.SettleTime / 2, $"the transfer waited {took.TotalSeconds:F1} s, as for the whole drain");
        // The draining silo accepts no write, so both legs were taken by activations elsewhere. (Asking the management
        // grain where the payer lives now can answer from a cache filled by the lookups above.)
        Assert.True(drain.RefusedWrites > 0, "no write was refused: the transfer ran before the drain");
        await stopping;
        await LedgerAudit.AssertConsistentAsync(Client, pool, acknowledged.ToList(), "RWF");
    }

    /// <summary>
    /// Runs a movement as a client that saw no answer does: repeats it under its key until it settles, at most
    /// <paramref name="retries"/> times, <paramref name="pause"/> apart, telling <paramref name="failed"/> of each failure.
    /// </summary>
    private async Task<TransactionRecord> SettleAsync(MovementRequest request, int retries, TimeSpan pause, Action<Exception>? failed = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await Client.Execute(request);
            }
            catch (Exception e) when (attempt < retries)
            {
                failed?.Invoke(e);
                await Task.Delay(pause);
            }
        }
    }

    /// <summary>
    /// The silo whose directory entries hold the most of <paramref name="wallets"/>, with how many of them each silo's
    /// entries hold (for the test's report).
    /// </summary>
    private async Task<(InProcessSiloHandle Silo, string Hosting)> BusiestSiloAsync(IEnumerable<string> wallets)
    {
        var management = Client.GetGrain<IManagementGrain>(0);
        var hosts = await Task.WhenAll(wallets.Select(id => management.GetActivationAddress(Client.GetGrain<IWalletGrain>(id)).AsTask()));
        var hosting = string.Join(", ", hosts.GroupBy(host => host?.ToString() ?? "none").Select(g => $"{g.Key}: {g.Count()}"));
        return (_cluster.Silos.MaxBy(silo => hosts.Count(host => host == silo.SiloAddress))!, hosting);
    }

    /// <summary>Registers <paramref name="count"/> customers and deposits <paramref name="amount"/> into each wallet.</summary>
    private async Task<(List<string> Wallets, ConcurrentBag<TransactionRecord> Deposits)> FundedWalletsAsync(int count, long amount)
    {
        var wallets = new ConcurrentBag<string>();
        await Concurrently.ForEachAsync(Enumerable.Range(0, count), 8, async _ => wallets.Add((await Client.RegisterAsync()).WalletId));
        var pool = wallets.ToList();
        var deposits = new ConcurrentBag<TransactionRecord>();
        await Concurrently.ForEachAsync(pool, 8, async w => deposits.Add(await Client.Execute(Ledger.Deposit(w, amount))));
        return (pool, deposits);
    }
}
