using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Runtime.Diagnostics;
using Orleans.Serialization;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;
using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Wallets;
using Tekana.Grains.Storage;
using Tekana.Grains.Wallets;

namespace Tekana.IntegrationTests.Transfers;

/// <summary>
/// A wallet that holds a prepared leg of a transaction its manager committed and has since forgotten: the state a wallet
/// is left in when, during a hand-over between silos, another activation of it acknowledged the commit. Orleans' recovery
/// would ask the manager, be told "presumed aborted", and drop the leg.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CommittedLegTests : IDisposable
{
    private readonly ClusterFixture _fixture;
    private readonly IServiceProvider _silo;

    /// <summary>How many lifecycle events each wallet's activations have had in the test silos, and whether it is active.</summary>
    private readonly ConcurrentDictionary<string, (int Events, bool Active)> _lifecycles = new();
    private readonly IDisposable _watching;

    public CommittedLegTests(ClusterFixture fixture)
    {
        _fixture = fixture;
        _silo = fixture.Cluster.GetActiveSilos().First().ServiceProvider;
        _watching = GrainLifecycle.Watch(e =>
        {
            if (e.GrainContext.GrainId.Type.ToString() == "wallet")
            {
                _lifecycles.AddOrUpdate(e.GrainContext.GrainId.Key.ToString()!, (1, e is not GrainLifecycleEvents.Deactivated),
                    (_, seen) => (seen.Events + 1, e is not GrainLifecycleEvents.Deactivated));
            }
        });
    }

    public void Dispose() => _watching.Dispose();

    private IStateRows Rows => _silo.GetRequiredService<IStateRows>();

    // The silo's own connections to the cluster's database.
    private NpgsqlDataSource Database => _silo.GetRequiredService<NpgsqlDataSource>();

    // The silo's own serializer: a transactional record holds grain references, which only a runtime can encode.
    private Serializer Serializer => _silo.GetRequiredService<Serializer>();

    private IGrainFactory Grains => _silo.GetRequiredService<IGrainFactory>();

    [Fact]
    public async Task A_credit_prepared_in_a_wallet_whose_transaction_committed_is_applied_when_the_wallet_activates()
    {
        var client = _fixture.Client;
        var (payer, payee) = await PaidOnce();

        // Transaction t moves 241 from the payer, which manages it, to the payee: the payer's write committed it (and
        // kept it as committed), its commit record is collected already, and the payee's leg is still prepared.
        var t = Guid.NewGuid();
        await CommitDebit(payer, t);
        await PrepareCredit(payee, t, DateTime.UtcNow, Grains.GetGrain<IWalletGrain>(payer));
        await DeactivateIdleGrains();

        // The payee activates and settles its leg (without the fix: asks the payer, is told "presumed aborted", and
        // drops it). Once nothing is prepared, its leg committed, and no money left the system.
        await client.GetGrain<IWalletGrain>(payee).GetIfSettled();
        await UntilNothingIsPrepared(payee);
        // Longer than the manager takes to answer a recovery ping (its period is 0.75 s).
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal((659L, 341L), (await client.Balance(payer), await client.Balance(payee)));
        Assert.Equal((3L, 2L), ((await client.Wallet(payer)).Sequence, (await client.Wallet(payee)).Sequence));
        var stored = (await Row(payee)).Record;
        Assert.Equal((341L, 2L), (stored.CommittedState.Balance, stored.CommittedState.Sequence));
        Assert.Empty(stored.PendingStates);
    }

    [Fact]
    public async Task An_active_wallet_told_that_a_committed_transaction_aborted_keeps_its_leg()
    {
        var client = _fixture.Client;
        var (payer, payee) = await PaidOnce();

        // The payee's row holds a credit of 241 prepared for t. t's manager is out of reach (the reference is a customer
        // grain's, which has no transaction manager), so the payee, once active, holds the leg prepared and keeps asking.
        var t = Guid.NewGuid();
        var prepared = new DateTime(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);
        await PrepareCredit(payee, t, prepared, Grains.GetGrain<ICustomerGrain>(Domain.Ids.NewCustomerId()));
        await DeactivateIdleGrains();
        await client.GetGrain<IWalletGrain>(payee).GetIfSettled();
        Assert.Single((await Row(payee)).Record.PendingStates);

        // Then t commits: the payer's write debits it and keeps t as committed. The payee is told t aborted, as a
        // manager that has forgotten t tells it.
        await CommitDebit(payer, t);
        await client.GetGrain<IWalletGrain>(payee).AsReference<ITransactionalResourceExtension>()
            .Cancel("wallet", t, prepared, TransactionalStatus.PresumedAbort);

        // The payee refuses to drop the leg, reloads and commits it (without the fix it drops it: 100).
        await UntilNothingIsPrepared(payee);
        var stored = (await Row(payee)).Record;
        Assert.Equal((341L, 2L), (stored.CommittedState.Balance, stored.CommittedState.Sequence));
        Assert.Equal((659L, 341L), (await client.Balance(payer), await client.Balance(payee)));
    }

    /// <summary>Two wallets after a deposit of 1,000 to the payer and a transfer of 100 to the payee, both deactivated.</summary>
    private async Task<(string Payer, string Payee)> PaidOnce()
    {
        var (payer, payee) = await Paid();
        await UntilQuiet(payer, payee);
        return (payer, payee);
    }

    /// <summary>Two wallets after a deposit of 1,000 to the payer and a transfer of 100 to the payee.</summary>
    private async Task<(string Payer, string Payee)> Paid()
    {
        var client = _fixture.Client;
        var (_, payer) = await client.RegisterAsync();
        var (_, payee) = await client.RegisterAsync();
        await client.Execute(Ledger.Deposit(payer, 1_000));
        await client.Execute(Ledger.Transfer(payer, payee, 100));
        return (payer, payee);
    }

    /// <summary>Rewrites the payer's row as t's manager commits it: 241 debited, and t kept as committed.</summary>
    private async Task CommitDebit(string payer, Guid t)
    {
        var (version, record) = await Row(payer);
        var debited = Copy(record.CommittedState);
        debited.Balance -= 241;
        debited.Sequence++;
        record.CommittedState = debited;
        record.CommittedSequenceId++;
        await Rows.WriteAsync(new StateWrite("wallet", payer, "wallet", version, Serializer.SerializeToArray(record))
        {
            Commits = [t],
            Prepared = record.PendingStates.Count == 0 ? PreparedLegs.None : PreparedLegs.SomeHeldBefore,
        });
    }

    /// <summary>Rewrites the payee's row as t's prepare leaves it: a credit of 241 prepared, managed by <paramref name="manager"/>.</summary>
    private async Task PrepareCredit(string payee, Guid t, DateTime timestamp, IAddressable manager)
    {
        var (version, record) = await Row(payee);
        var credited = Copy(record.CommittedState);
        credited.Balance += 241;
        credited.Sequence++;
        record.PendingStates.Add(new PendingTransactionState<WalletState>
        {
            SequenceId = record.CommittedSequenceId + 1,
            TransactionId = t.ToString(),
            TimeStamp = timestamp,
            TransactionManager = new ParticipantId("wallet", (GrainReference)manager, ParticipantId.Role.Resource | ParticipantId.Role.Manager),
            State = credited,
        });
        await Rows.WriteAsync(new StateWrite("wallet", payee, "wallet", version, Serializer.SerializeToArray(record))
        {
            Prepared = record.PendingStates.Count == 1 ? PreparedLegs.AllNew : PreparedLegs.SomeHeldBefore,
        });
    }

    [Fact]
    public async Task A_wallet_writes_what_it_left_unwritten_when_it_deactivates()
    {
        var client = _fixture.Client;
        var (payer, payee) = await Paid();
        await UntilSettled(payer, payee);

        // The transfer's manager wrote its commit record; the other wallet's confirmation and the manager's collection
        // of that record, which followed, were not written.
        var rows = new[] { (await Row(payer)).Record, (await Row(payee)).Record };
        Assert.Single(rows, r => r.Metadata.CommitRecords.Count > 0);
        Assert.Single(rows, r => r.PendingStates.Count > 0);
        // The row that holds the leg says since when (the database's time of its write), for the commit purge; the other
        // holds none.
        var since = new[] { await Database.PreparedSinceAsync(payer), await Database.PreparedSinceAsync(payee) };
        Assert.InRange(Assert.Single(since.OfType<DateTime>()), DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));

        // The rows are written as the wallets stop: the next activation has nothing to confirm or look up.
        await UntilQuiet(payer, payee);
        Assert.Equal((900L, 100L), (await client.Balance(payer), await client.Balance(payee)));
        Assert.Equal([null, null], new[] { await Database.PreparedSinceAsync(payer), await Database.PreparedSinceAsync(payee) });
    }

    [Fact]
    public async Task A_wallet_that_holds_a_leg_past_the_margin_is_woken_to_settle_it_and_only_then_is_its_transaction_purged()
    {
        var (payer, payee) = await PaidOnce();

        // t moves 241 from the payer, which committed it three hours ago; the payee has held its credit since just
        // before, its silo gone, and nobody has called it since.
        var t = Guid.NewGuid();
        await CommitDebit(payer, t);
        await PrepareCredit(payee, t, DateTime.UtcNow, Grains.GetGrain<IWalletGrain>(payer));
        await DeactivateIdleGrains();
        await Sql("UPDATE tekana_transactional_state SET prepared_since = now() - interval '3 hours' WHERE grain_type = 'wallet' AND grain_key = @p", payee);
        await Sql("UPDATE tekana_transaction_commits SET committed_at = now() - interval '179 minutes' WHERE transaction_id = @p", t);

        // The purge keeps t, and wakes the payee, whose load commits the leg from t. Then no row holds it, and the next
        // purge deletes t.
        var purger = ActivatorUtilities.CreateInstance<CommitPurger>(_silo, Options.Create(new CommitPurgeOptions { Margin = TimeSpan.FromMinutes(1) }));
        var (_, _, woken) = await purger.PurgeAsync(CancellationToken.None);
        Assert.True(woken >= 1);
        await UntilNothingIsPrepared(payee);
        Assert.Null(await Database.PreparedSinceAsync(payee));
        await purger.PurgeAsync(CancellationToken.None);
        Assert.False(await IsStored(t));
        Assert.Equal((659L, 341L), (await _fixture.Client.Balance(payer), await _fixture.Client.Balance(payee)));
    }

    private async Task<bool> IsStored(Guid transaction) =>
        (await Rows.CommittedAsync([transaction])).Contains(transaction);

    private async Task Sql(string statement, object parameter)
    {
        await using var command = Database.CreateCommand(statement);
        command.Parameters.AddWithValue("p", parameter);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    /// <summary>
    /// Waits until the wallets hold nothing prepared (a participant learns of the commit after the movement is answered),
    /// and are deactivated with rows that hold no prepared leg and no commit record (a confirmation and a collection are
    /// written as the wallet stops): the rows stay as they are until the next call to each wallet.
    /// </summary>
    /// <remarks>
    /// Quiet holds for a while before it counts: a wallet can activate again right after it deactivated, and the new
    /// activation writes its row, under a test that rewrites it. Seen a few milliseconds after the deactivation, with no
    /// call from the test; most likely the last messages of the read of its outbox that its activation started, in a
    /// transaction of its own (<see cref="Grains.Events.OutboxRecoveryGrain"/>).
    /// </remarks>
    private async Task UntilQuiet(params string[] wallets)
    {
        await UntilSettled(wallets);
        var settle = TimeSpan.FromMilliseconds(300);
        for (var waited = TimeSpan.Zero; ; waited += settle)
        {
            Assert.True(waited < TimeSpan.FromSeconds(10), $"{string.Join(", ", wallets)} did not stay deactivated with quiet rows.");
            await DeactivateIdleGrains();
            var before = await Quiet(wallets);
            await Task.Delay(settle);
            var after = await Quiet(wallets);
            if (before is not null && after is not null && before.SequenceEqual(after))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Each wallet's row version and lifecycle event count, when none is active and no row holds a prepared leg or a
    /// commit record; otherwise null.
    /// </summary>
    private async Task<(long Version, int Events)[]?> Quiet(string[] wallets)
    {
        var seen = new List<(long, int)>();
        foreach (var wallet in wallets)
        {
            var (version, record) = await Row(wallet);
            var lifecycle = _lifecycles.GetValueOrDefault(wallet);
            if (lifecycle.Active || record.PendingStates.Count > 0 || record.Metadata.CommitRecords.Count > 0)
            {
                return null;
            }
            seen.Add((version, lifecycle.Events));
        }
        return [.. seen];
    }

    /// <summary>Waits until each wallet answers from its committed state: nothing is prepared in it.</summary>
    private async Task UntilSettled(params string[] wallets)
    {
        foreach (var wallet in wallets)
        {
            for (var waited = TimeSpan.Zero; await _fixture.Client.GetGrain<IWalletGrain>(wallet).GetIfSettled() is null;
                 waited += TimeSpan.FromMilliseconds(100))
            {
                Assert.True(waited < TimeSpan.FromSeconds(10), $"{wallet} did not settle.");
                await Task.Delay(100);
            }
        }
    }

    private async Task UntilNothingIsPrepared(string wallet)
    {
        for (var waited = TimeSpan.Zero; (await Row(wallet)).Record.PendingStates.Count > 0; waited += TimeSpan.FromMilliseconds(100))
        {
            Assert.True(waited < TimeSpan.FromSeconds(10), $"{wallet}'s leg stayed prepared.");
            await Task.Delay(100);
        }
    }

    private async Task<(long Version, TransactionalStateRecord<WalletState> Record)> Row(string wallet)
    {
        var stored = await Rows.ReadAsync(new StateRead("wallet", wallet, "wallet"));
        Assert.NotNull(stored);
        return (stored.Version, Serializer.Deserialize<TransactionalStateRecord<WalletState>>(stored.Payload)!);
    }

    private WalletState Copy(WalletState state) => Serializer.Deserialize<WalletState>(Serializer.SerializeToArray(state))!;

    /// <summary>Deactivates every idle activation of the cluster: the next call to a wallet loads its row.</summary>
    private Task DeactivateIdleGrains() =>
        _fixture.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
}
