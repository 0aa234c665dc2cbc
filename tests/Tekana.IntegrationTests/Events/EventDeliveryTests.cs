using System.Collections.Concurrent;
using Orleans.Runtime.Diagnostics;
using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Domain.Transfers;
using Xunit.Abstractions;

namespace Tekana.IntegrationTests.Events;

[Collection(EventsCollection.Name)]
public sealed class EventDeliveryTests(EventsFixture fixture, ITestOutputHelper output)
{
    private IClusterClient Client => fixture.Client;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Every_event_type_reaches_its_topic_keyed_by_subject_with_its_data()
    {
        var (alice, aliceWallet) = await Client.RegisterAsync();
        var (bob, bobWallet) = await Client.RegisterAsync();
        var aliceGrain = Client.GetGrain<ICustomerGrain>(alice.Id);
        var deposit = await Client.Execute(Ledger.Deposit(aliceWallet, 1_000));
        var transfer = await Client.Execute(Ledger.Transfer(aliceWallet, bobWallet, 300));
        await Client.Execute(Ledger.Withdrawal(bobWallet, 300));
        await aliceGrain.UpdateProfile(new UpdateProfile("Alice Renamed", null));
        await aliceGrain.Suspend();
        await aliceGrain.Reactivate();
        await Client.GetGrain<IWalletGrain>(bobWallet).Freeze();
        await Client.GetGrain<IWalletGrain>(bobWallet).Unfreeze();
        await Client.GetGrain<ICustomerGrain>(bob.Id).Close();

        var customers = fixture.Kafka.Read("tekana.customers", r => r.Count(e => e.Subject == alice.Id) >= 4 && r.Any(e => e.Subject == bob.Id && e.Type == "tekana.customer.closed"), Patience)
            .Where(e => e.Subject == alice.Id || e.Subject == bob.Id).ToList();
        var wallets = fixture.Kafka.Read("tekana.wallets", r => r.Any(e => e.Subject == bobWallet && e.Type == "tekana.wallet.closed"), Patience)
            .Where(e => e.Subject == aliceWallet || e.Subject == bobWallet).ToList();
        var money = fixture.Kafka.Read("tekana.transactions", r => r.Count(e => e.Subject == aliceWallet || e.Subject == bobWallet) >= 4, Patience)
            .Where(e => e.Subject == aliceWallet || e.Subject == bobWallet).ToList();

        Assert.Equal(["tekana.customer.registered", "tekana.customer.updated", "tekana.customer.suspended", "tekana.customer.reactivated"],
            customers.Where(e => e.Subject == alice.Id).OrderBy(e => e.Sequence).Select(e => e.Type).Distinct());
        Assert.Contains(customers, e => e.Subject == bob.Id && e.Type == "tekana.customer.closed");
        Assert.All(customers, e => Assert.Equal(e.Subject, e.Key));
        Assert.Equal("Alice Renamed", customers.Where(e => e.Type == "tekana.customer.updated").Select(e => e.Data.GetProperty("fullName").GetString()).First());
        Assert.Equal(["tekana.wallet.opened", "tekana.wallet.frozen", "tekana.wallet.unfrozen", "tekana.wallet.closed"],
            wallets.Where(e => e.Subject == bobWallet).OrderBy(e => e.Sequence).Select(e => e.Type).Distinct());

        var aliceLegs = money.Where(e => e.Subject == aliceWallet).DistinctBy(e => e.Id).OrderBy(e => e.Sequence).ToList();
        Assert.Equal(["tekana.deposit.completed", "tekana.transfer.completed"], aliceLegs.Select(e => e.Type));
        Assert.All(money, e => Assert.Equal(e.Subject, e.Key));
        var depositLeg = aliceLegs[0].Data;
        Assert.Equal(deposit.Id, depositLeg.GetProperty("transactionId").GetString());
        Assert.Equal(1_000, depositLeg.GetProperty("amount").GetInt64());
        Assert.Equal("RWF", depositLeg.GetProperty("currency").GetString());
        Assert.Equal(1, depositLeg.GetProperty("sequence").GetInt64());
        Assert.Equal(1_000, depositLeg.GetProperty("balanceAfter").GetInt64());
        Assert.Equal(deposit.IdempotencyKey, depositLeg.GetProperty("idempotencyKey").GetString());
        var transferLeg = aliceLegs[1].Data;
        Assert.Equal((transfer.Id, -300L, 700L, "debit"),
            (transferLeg.GetProperty("transactionId").GetString(), transferLeg.GetProperty("amount").GetInt64(),
             transferLeg.GetProperty("balanceAfter").GetInt64(), transferLeg.GetProperty("direction").GetString()));
        var bobLegs = money.Where(e => e.Subject == bobWallet).DistinctBy(e => e.Id).OrderBy(e => e.Sequence).ToList();
        Assert.Equal(["tekana.transfer.completed", "tekana.withdrawal.completed"], bobLegs.Select(e => e.Type));
        Assert.Equal("1.0", aliceLegs[0].Event.GetProperty("specversion").GetString());
        Assert.Equal("/tekana/ledger", aliceLegs[0].Event.GetProperty("source").GetString());
    }

    [Fact]
    public async Task Replaying_an_idempotency_key_produces_no_second_event()
    {
        var (_, wallet) = await Client.RegisterAsync();
        var request = Ledger.Deposit(wallet, 50);
        var first = await Client.Execute(request);
        await Client.Execute(request);
        await Client.Execute(request);
        var marker = await Client.Execute(Ledger.Deposit(wallet, 1));

        var events = fixture.Kafka.Read("tekana.transactions", r => r.Any(e => e.Data.GetProperty("transactionId").GetString() == marker.Id), Patience);

        Assert.Single(events.Where(e => e.Data.GetProperty("transactionId").GetString() == first.Id).DistinctBy(e => e.Id));
        Assert.Equal(2, events.Where(e => e.Subject == wallet).DistinctBy(e => e.Id).Count());
    }

    [Fact]
    public async Task A_wallet_stops_its_outbox_timer_as_its_events_are_acknowledged_without_waiting_for_a_tick()
    {
        // Each wallet runs a timer while anything in its outbox waits for an acknowledgement (or its outbox is being read
        // back): it sends overdue events again every 2 s. Events acknowledged within that period leave it nothing to do.
        var timers = new ConcurrentDictionary<IGrainTimer, string>();
        var ticks = new ConcurrentQueue<string>();
        using var watching = GrainLifecycle.WatchTimers(e =>
        {
            switch (e)
            {
                case GrainTimerEvents.Created when e.GrainContext.GrainId.Type.ToString() == "wallet":
                    timers[e.Timer] = e.GrainContext.GrainId.Key.ToString()!;
                    break;
                case GrainTimerEvents.TickStart when timers.TryGetValue(e.Timer, out var wallet):
                    ticks.Enqueue(wallet);
                    break;
                case GrainTimerEvents.Disposed:
                    timers.TryRemove(e.Timer, out _);
                    break;
            }
        });
        var (_, payer) = await Client.RegisterAsync();
        var (_, payee) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(payer, 1_000));
        await UntilNoTimerRuns(timers, payer, payee);
        ticks.Clear();

        var transfer = await Client.Execute(Ledger.Transfer(payer, payee, 300));
        fixture.Kafka.Read("tekana.transactions", r => r.Count(e => e.Data.GetProperty("transactionId").GetString() == transfer.Id) >= 2, Patience);

        // The timer each wallet started for its leg's event stops as the acknowledgement arrives: none ticked (each would
        // have, 2 s after it started), and none is left.
        await UntilNoTimerRuns(timers, payer, payee);
        Assert.DoesNotContain(ticks, wallet => wallet == payer || wallet == payee);
    }

    [Fact]
    public async Task A_wallet_drops_acknowledged_events_from_its_outbox_without_a_movement_and_keeps_the_undelivered()
    {
        var (_, payer) = await Client.RegisterAsync();
        var (_, payee) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(payer, 1_000));
        var wallet = Client.GetGrain<IWalletGrain>(payer);
        await UntilOutboxEmpty(wallet);

        // Refused by a sink: the leg's event stays until every sink has it.
        var (transfer, held) = await WhileSinksRefuse(async () =>
        {
            var record = await Client.Execute(Ledger.Transfer(payer, payee, 300));
            await Task.Delay(TimeSpan.FromSeconds(1));
            return (record, await wallet.ReadOutbox());
        });
        var kept = Assert.Single(held.Events);
        Assert.Equal((transfer.Id, held.LastNumber), (kept.Movement?.TransactionId, kept.Number));

        // Delivered and acknowledged: it leaves the state that transactions start from, with no movement since.
        fixture.Kafka.Read("tekana.transactions", r => r.Any(e => e.Subject == payer && e.Data.GetProperty("transactionId").GetString() == transfer.Id), Patience);
        await UntilOutboxEmpty(wallet);
        var view = await wallet.Get();
        Assert.Equal((700L, 2L), (view.Balance, view.Sequence));
        Assert.Equal(held.LastNumber, (await wallet.ReadOutbox()).LastNumber);

        // The next movement's outbox holds only its own event, numbered next.
        var (next, after) = await WhileSinksRefuse(async () =>
        {
            var record = await Client.Execute(Ledger.Transfer(payer, payee, 100));
            return (record, await wallet.ReadOutbox());
        });
        var only = Assert.Single(after.Events);
        Assert.Equal((next.Id, held.LastNumber + 1, held.LastNumber + 1), (only.Movement?.TransactionId, only.Number, after.LastNumber));
        await UntilOutboxEmpty(wallet);
    }

    private static async Task<T> WhileSinksRefuse<T>(Func<Task<T>> action)
    {
        Outage.Instance.Down = true;
        try
        {
            return await action();
        }
        finally
        {
            Outage.Instance.Down = false;
        }
    }

    private static async Task UntilOutboxEmpty(IWalletGrain wallet)
    {
        for (var waited = TimeSpan.Zero; (await wallet.ReadOutbox()).Events.Length > 0; waited += TimeSpan.FromMilliseconds(50))
        {
            Assert.True(waited < Patience, "acknowledged events are still in the wallet's outbox");
            await Task.Delay(50);
        }
    }

    private static async Task UntilNoTimerRuns(ConcurrentDictionary<IGrainTimer, string> timers, params string[] wallets)
    {
        for (var waited = TimeSpan.Zero; timers.Values.Any(wallets.Contains); waited += TimeSpan.FromMilliseconds(50))
        {
            Assert.True(waited < TimeSpan.FromSeconds(10), "a wallet's outbox timer still runs with everything acknowledged");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Ten_thousand_concurrent_transfers_produce_one_event_per_leg_and_gapless_wallet_streams()
    {
        const int transfers = 10_000;
        var wallets = new ConcurrentBag<string>();
        await Concurrently.ForEachAsync(Enumerable.Range(0, 100), 16, async _ => wallets.Add((await Client.RegisterAsync("TZS")).WalletId));
        var pool = wallets.ToList();
        await Concurrently.ForEachAsync(pool, 16, async w => await Client.Execute(Ledger.Deposit(w, 1_000_000, "TZS")));
        var completed = new ConcurrentBag<TransactionRecord>();
        var started = DateTime.UtcNow;
        await Concurrently.ForEachAsync(Enumerable.Range(0, transfers), 48, async i =>
        {
            var from = pool[i % pool.Count];
            var to = pool[(i * 31 + 7) % pool.Count];
            if (from == to)
            {
                to = pool[(i + 1) % pool.Count];
            }
            var record = await Client.Execute(Ledger.Transfer(from, to, 1 + i % 50, "TZS"));
            Assert.Equal(MovementStatus.Completed, record.Status);
            completed.Add(record);
        });
        var committedIn = DateTime.UtcNow - started;
        var ids = completed.Select(r => r.Id).ToHashSet();

        var events = fixture.Kafka.Read("tekana.transactions",
            r => r.Where(e => e.Type == "tekana.transfer.completed" && ids.Contains(e.Data.GetProperty("transactionId").GetString()!)).DistinctBy(e => e.Id).Count() >= 2 * transfers,
            TimeSpan.FromMinutes(3));
        var drainedIn = DateTime.UtcNow - started;
        output.WriteLine($"{transfers} transfers committed in {committedIn.TotalSeconds:F1} s; all {2 * transfers} leg events on Kafka after {drainedIn.TotalSeconds:F1} s");

        var legs = events.Where(e => e.Type == "tekana.transfer.completed" && ids.Contains(e.Data.GetProperty("transactionId").GetString()!)).DistinctBy(e => e.Id).ToList();
        Assert.Equal(transfers, legs.Select(e => e.Data.GetProperty("transactionId").GetString()).Distinct().Count());
        Assert.Equal(2 * transfers, legs.Count);
        foreach (var wallet in events.Where(e => pool.Contains(e.Subject)).GroupBy(e => e.Subject))
        {
            // Each wallet's money stream: entry sequences 1..N without gaps or repeats, first deliveries in order.
            var distinct = wallet.DistinctBy(e => e.Id).ToList();
            Assert.Equal(Enumerable.Range(1, distinct.Count).Select(i => (long)i), distinct.Select(e => e.Data.GetProperty("sequence").GetInt64()).Order());
            AssertFirstDeliveriesInOrder(wallet);
            Assert.Single(wallet.Select(e => e.Partition).Distinct());
        }
        var rows = await TestDatabase.ScalarAsync<long>(fixture.ConnectionString,
            $"SELECT count(*) FROM ledger_entries WHERE currency = 'TZS' AND type = 'transfer'");
        Assert.Equal(2 * transfers, rows);
        // The read model's lag behind each movement (from its start, commit included) at this rate.
        output.WriteLine($"{2 * transfers / drainedIn.TotalSeconds:F0} leg events/s from commit to Kafka; read-model lag {await TransferLagAsync("TZS")}");
    }

    [Fact]
    public async Task While_Kafka_is_away_events_wait_in_the_outboxes_and_all_arrive_when_it_returns()
    {
        var (_, alice) = await Client.RegisterAsync();
        var (_, bob) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 10_000));
        Outage.Instance.Refused.Clear();
        Outage.Instance.Down = true;
        List<TransactionRecord> during;
        try
        {
            during = [];
            for (var i = 0; i < 20; i++)
            {
                during.Add(await Client.Execute(Ledger.Transfer(alice, bob, 10)));
            }
            await Task.Delay(TimeSpan.FromSeconds(2));
            var early = fixture.Kafka.Read("tekana.transactions", _ => false, TimeSpan.FromSeconds(2));
            Assert.DoesNotContain(early, e => e.Data.GetProperty("transactionId").GetString() == during[^1].Id);
            // Within the publishers' first retry delay nothing is sent twice: what the relays hold back behind a refused
            // batch is not asked for again while the sinks refuse.
            Assert.Equal(1, Outage.Instance.Refused.Values.Max());
        }
        finally
        {
            Outage.Instance.Down = false;
        }
        // Movements right after Kafka's return: their events must not overtake those still waiting to be sent again.
        List<TransactionRecord> after = [];
        for (var i = 0; i < 5; i++)
        {
            after.Add(await Client.Execute(Ledger.Transfer(alice, bob, 10)));
        }

        var ids = during.Concat(after).Select(r => r.Id).ToHashSet();
        var arrived = fixture.Kafka.Read("tekana.transactions",
            r => r.Where(e => ids.Contains(e.Data.GetProperty("transactionId").GetString()!)).DistinctBy(e => e.Id).Count() >= 50, Patience);

        Assert.Equal(50, arrived.Where(e => ids.Contains(e.Data.GetProperty("transactionId").GetString()!)).DistinctBy(e => e.Id).Count());
        foreach (var wallet in new[] { alice, bob })
        {
            AssertFirstDeliveriesInOrder(arrived.Where(e => e.Subject == wallet));
        }
    }

    [Fact]
    public async Task While_Kafka_is_away_grains_holding_undelivered_events_are_not_collected_as_idle()
    {
        // Only an activation sends its outbox: a grain collected with events undelivered would hold them until its next
        // request. Its outbox timer keeps it active instead, for as long as anything waits.
        var (customer, payer) = await Client.RegisterAsync();
        var (_, payee) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(payer, 1_000));
        var watched = new[] { customer.Id, payer, payee };
        var deactivated = new ConcurrentQueue<string>();
        using var watching = GrainLifecycle.Watch(e =>
        {
            if (e is GrainLifecycleEvents.Deactivating d && watched.Contains(d.GrainContext.GrainId.Key.ToString()))
            {
                deactivated.Enqueue($"{d.GrainContext.GrainId}: {d.Reason}");
            }
        });
        Outage.Instance.Down = true;
        TransactionRecord transfer;
        try
        {
            transfer = await Client.Execute(Ledger.Transfer(payer, payee, 300));
            await Client.GetGrain<ICustomerGrain>(customer.Id).UpdateProfile(new UpdateProfile("Held Back", null));
            // Idle for longer than the age collected below, the outbox timers' periods (2 s and 5 s) excepted.
            await Task.Delay(TimeSpan.FromSeconds(7));
            await Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.FromSeconds(6));
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        finally
        {
            Outage.Instance.Down = false;
        }

        Assert.True(deactivated.IsEmpty, "collected with events undelivered: " + string.Join("; ", deactivated));
        var arrived = fixture.Kafka.Read("tekana.transactions",
            r => r.Where(e => e.Data.GetProperty("transactionId").GetString() == transfer.Id).DistinctBy(e => e.Subject).Count() >= 2, Patience);
        Assert.Equal(2, arrived.Where(e => e.Data.GetProperty("transactionId").GetString() == transfer.Id).DistinctBy(e => e.Subject).Count());
    }

    /// <summary>One subject's events on its partition: each one's first delivery comes in number order (whatever comes out of order is a copy of an earlier delivery).</summary>
    private static void AssertFirstDeliveriesInOrder(IEnumerable<KafkaMock.Received> subject)
    {
        var firstSeen = subject.GroupBy(e => e.Id).Select(g => g.MinBy(e => e.Offset)!).OrderBy(e => e.Offset).Select(e => e.Sequence).ToList();
        Assert.Equal(firstSeen.Order(), firstSeen);
    }

    /// <summary>The read model's lag behind the transfers in one currency (from each movement's start): p50, p99 and max.</summary>
    private Task<string> TransferLagAsync(string currency) =>
        TestDatabase.ScalarAsync<string>(fixture.ConnectionString,
            $"""
            SELECT format('p50 %s ms, p99 %s ms, max %s ms', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)), round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)), round(max(l)))
              FROM (SELECT extract(epoch FROM recorded_at - occurred_at) * 1000 AS l FROM ledger_entries WHERE currency = '{currency}' AND type = 'transfer') s
            """);

    /// <summary>Names each acknowledged leg that never reached Kafka, with what the wallet and the read model hold of it.</summary>
    private async Task ReportMissingLegs(IEnumerable<TransactionRecord> acknowledged, IReadOnlyList<KafkaMock.Received> events)
    {
        var seen = events.Select(e => (e.Subject, e.Data.GetProperty("transactionId").GetString())).ToHashSet();
        foreach (var record in acknowledged)
        {
            foreach (var wallet in new[] { record.FromWalletId, record.ToWalletId }.Where(w => !seen.Contains((w, record.Id))))
            {
                var view = await Client.Wallet(wallet);
                var rows = await TestDatabase.ScalarAsync<long>(fixture.ConnectionString,
                    $"SELECT count(*) FROM ledger_entries WHERE wallet_id = '{wallet}' AND transaction_id = '{record.Id}'");
                var numbers = string.Join(",", events.Where(e => e.Subject == wallet).Select(e => e.Sequence).Distinct().Order());
                output.WriteLine($"missing on Kafka: the {record.Id} leg of {wallet} (wallet at entry {view.Sequence}, read-model rows {rows}, Kafka has {numbers})");
            }
        }
    }

    [Fact]
    public async Task A_silo_killed_between_commit_and_delivery_loses_no_event_and_no_history_row()
    {
        var wallets = new ConcurrentBag<string>();
        await Concurrently.ForEachAsync(Enumerable.Range(0, 30), 8, async _ => wallets.Add((await Client.RegisterAsync("ZMW")).WalletId));
        var pool = wallets.ToList();
        await Concurrently.ForEachAsync(pool, 8, async w => await Client.Execute(Ledger.Deposit(w, 100_000, "ZMW")));
        var acknowledged = new ConcurrentBag<TransactionRecord>();
        var requests = Enumerable.Range(0, 400).Select(i => Ledger.Transfer(pool[i % 30], pool[(i * 7 + 1) % 30] == pool[i % 30] ? pool[(i + 1) % 30] : pool[(i * 7 + 1) % 30], 5, "ZMW")).ToList();
        var victim = fixture.Cluster.Silos[^1];
        var killed = 0;
        var killedAt = DateTime.MinValue;

        await Concurrently.ForEachAsync(requests.Select((r, i) => (r, i)), 16, async item =>
        {
            if (item.i == 150 && Interlocked.Exchange(ref killed, 1) == 0)
            {
                killedAt = DateTime.UtcNow;
                await fixture.Cluster.KillSiloAsync(victim);
            }
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    acknowledged.Add(await Client.Execute(item.r));
                    return;
                }
                catch (Exception) when (attempt < 30)
                {
                    await Task.Delay(200);
                }
            }
        });
        var allAcknowledged = DateTime.UtcNow;
        await fixture.Cluster.StartAdditionalSiloAsync();

        var completed = acknowledged.Where(r => r.Status == MovementStatus.Completed).ToList();
        var ids = completed.Select(r => r.Id).ToHashSet();
        var events = fixture.Kafka.Read("tekana.transactions",
            r => r.Where(e => ids.Contains(e.Data.GetProperty("transactionId").GetString()!)).DistinctBy(e => e.Id).Count() >= 2 * ids.Count,
            TimeSpan.FromMinutes(2));
        output.WriteLine($"Kafka read ended {(DateTime.UtcNow - allAcknowledged).TotalSeconds:F1} s after the last acknowledgement ({(allAcknowledged - killedAt).TotalSeconds:F1} s after the kill)");
        output.WriteLine($"read-model lag of the transfers' entries: {await TransferLagAsync("ZMW")}");
        await ReportMissingLegs(completed, events);
        Assert.Equal(2 * ids.Count, events.Where(e => ids.Contains(e.Data.GetProperty("transactionId").GetString()!)).DistinctBy(e => e.Id).Count());

        // The projector wrote every wallet entry exactly once: sequences 1..N per wallet, no gap, no duplicate.
        foreach (var wallet in pool)
        {
            var view = await Client.Wallet(wallet);
            var rows = await TestDatabase.ScalarAsync<long>(fixture.ConnectionString, $"SELECT count(*) FROM ledger_entries WHERE wallet_id = '{wallet}'");
            var max = await TestDatabase.ScalarAsync<long>(fixture.ConnectionString, $"SELECT coalesce(max(sequence), 0) FROM ledger_entries WHERE wallet_id = '{wallet}'");
            Assert.Equal((view.Sequence, view.Sequence), (rows, max));
        }
    }
}
