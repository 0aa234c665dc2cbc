using Microsoft.Extensions.DependencyInjection;
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
public sealed class CommittedLegTests(ClusterFixture fixture)
{
    private readonly IServiceProvider _silo = fixture.Cluster.GetActiveSilos().First().ServiceProvider;

    [Fact]
    public async Task A_credit_prepared_in_a_wallet_whose_transaction_committed_is_applied_when_the_wallet_activates()
    {
        var client = fixture.Client;
        var (_, payer) = await client.RegisterAsync();
        var (_, payee) = await client.RegisterAsync();
        await client.Execute(Ledger.Deposit(payer, 1_000));
        await client.Execute(Ledger.Transfer(payer, payee, 100));
        await UntilQuiet(payer, payee);

        // Transaction t moves 241 from the payer, which manages it, to the payee: the payer's write committed it (and
        // kept it as committed), its commit record is collected already, and the payee's leg is still prepared.
        var t = Guid.NewGuid();
        var rows = _silo.GetRequiredService<IStateRows>();
        var serializer = _silo.GetRequiredService<Serializer>();
        var (payerVersion, payerRecord) = await Row(payer);
        var (payeeVersion, payeeRecord) = await Row(payee);
        var debited = Copy(payerRecord.CommittedState, serializer);
        debited.Balance -= 241;
        debited.Sequence++;
        payerRecord.CommittedState = debited;
        payerRecord.CommittedSequenceId++;
        await rows.WriteAsync(new StateWrite("wallet", payer, "wallet", payerVersion, serializer.SerializeToArray(payerRecord)) { Commits = [t] });
        var credited = Copy(payeeRecord.CommittedState, serializer);
        credited.Balance += 241;
        credited.Sequence++;
        payeeRecord.PendingStates.Add(new PendingTransactionState<WalletState>
        {
            SequenceId = payeeRecord.CommittedSequenceId + 1,
            TransactionId = t.ToString(),
            TimeStamp = DateTime.UtcNow,
            TransactionManager = new ParticipantId("wallet", (GrainReference)_silo.GetRequiredService<IGrainFactory>().GetGrain<IWalletGrain>(payer),
                ParticipantId.Role.Resource | ParticipantId.Role.Manager),
            State = credited,
        });
        await rows.WriteAsync(new StateWrite("wallet", payee, "wallet", payeeVersion, serializer.SerializeToArray(payeeRecord)));
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
        var client = fixture.Client;
        var (_, payer) = await client.RegisterAsync();
        var (_, payee) = await client.RegisterAsync();
        await client.Execute(Ledger.Deposit(payer, 1_000));
        await client.Execute(Ledger.Transfer(payer, payee, 100));
        await UntilQuiet(payer, payee);

        // The payee's row holds a credit of 241 prepared for t. t's manager is out of reach (the reference is a customer
        // grain's, which has no transaction manager), so the payee, once active, holds the leg prepared and keeps asking.
        var t = Guid.NewGuid();
        var prepared = new DateTime(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);
        var rows = _silo.GetRequiredService<IStateRows>();
        var serializer = _silo.GetRequiredService<Serializer>();
        var (payeeVersion, payeeRecord) = await Row(payee);
        var credited = Copy(payeeRecord.CommittedState, serializer);
        credited.Balance += 241;
        credited.Sequence++;
        payeeRecord.PendingStates.Add(new PendingTransactionState<WalletState>
        {
            SequenceId = payeeRecord.CommittedSequenceId + 1,
            TransactionId = t.ToString(),
            TimeStamp = prepared,
            TransactionManager = new ParticipantId("wallet",
                (GrainReference)_silo.GetRequiredService<IGrainFactory>().GetGrain<ICustomerGrain>(Domain.Ids.NewCustomerId()),
                ParticipantId.Role.Resource | ParticipantId.Role.Manager),
            State = credited,
        });
        await rows.WriteAsync(new StateWrite("wallet", payee, "wallet", payeeVersion, serializer.SerializeToArray(payeeRecord)));
        await DeactivateIdleGrains();
        await client.GetGrain<IWalletGrain>(payee).GetIfSettled();
        Assert.Single((await Row(payee)).Record.PendingStates);

        // Then t commits: the payer's write debits it and keeps t as committed. The payee is told t aborted, as a
        // manager that has forgotten t tells it.
        var (payerVersion, payerRecord) = await Row(payer);
        var debited = Copy(payerRecord.CommittedState, serializer);
        debited.Balance -= 241;
        debited.Sequence++;
        payerRecord.CommittedState = debited;
        payerRecord.CommittedSequenceId++;
        await rows.WriteAsync(new StateWrite("wallet", payer, "wallet", payerVersion, serializer.SerializeToArray(payerRecord)) { Commits = [t] });
        await client.GetGrain<IWalletGrain>(payee).AsReference<ITransactionalResourceExtension>()
            .Cancel("wallet", t, prepared, TransactionalStatus.PresumedAbort);

        // The payee refuses to drop the leg, reloads and commits it (without the fix it drops it: 100).
        await UntilNothingIsPrepared(payee);
        var stored = (await Row(payee)).Record;
        Assert.Equal((341L, 2L), (stored.CommittedState.Balance, stored.CommittedState.Sequence));
        Assert.Equal((659L, 341L), (await client.Balance(payer), await client.Balance(payee)));
    }

    /// <summary>
    /// Waits until the wallets' rows hold no prepared leg and no commit record (the movement's confirmation and the
    /// collection of its record are written after the movement is answered), then deactivates them: the rows stay as
    /// they are until the next call to each wallet.
    /// </summary>
    private async Task UntilQuiet(params string[] wallets)
    {
        foreach (var wallet in wallets)
        {
            for (var waited = TimeSpan.Zero; (await Row(wallet)).Record is var r && (r.PendingStates.Count > 0 || r.Metadata.CommitRecords.Count > 0);
                 waited += TimeSpan.FromMilliseconds(100))
            {
                Assert.True(waited < TimeSpan.FromSeconds(10), $"{wallet} did not settle.");
                await Task.Delay(100);
            }
        }
        await DeactivateIdleGrains();
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
        var stored = await _silo.GetRequiredService<IStateRows>().ReadAsync(new StateRead("wallet", wallet, "wallet"));
        Assert.NotNull(stored);
        return (stored.Version, _silo.GetRequiredService<Serializer>().Deserialize<TransactionalStateRecord<WalletState>>(stored.Payload)!);
    }

    private static WalletState Copy(WalletState state, Serializer serializer) => serializer.Deserialize<WalletState>(serializer.SerializeToArray(state))!;

    /// <summary>Deactivates every idle activation of the cluster: the next call to a wallet loads its row.</summary>
    private Task DeactivateIdleGrains() =>
        fixture.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
}
