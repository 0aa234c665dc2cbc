using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Domain.Transfers;
using Tekana.Grains.Hosting;
using Xunit.Abstractions;

namespace Tekana.IntegrationTests.Transfers;

[Collection(ClusterCollection.Name)]
public sealed class LockTimeoutTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public void Every_silo_starts_transactions_through_the_ledger_agent()
    {
        foreach (var silo in fixture.Cluster.GetActiveSilos())
        {
            Assert.IsType<LedgerTransactionAgent>(silo.ServiceProvider.GetRequiredService<ITransactionAgent>());
            var options = silo.ServiceProvider.GetRequiredService<IOptions<TransactionalStateOptions>>().Value;
            Assert.Equal(LedgerTransactionAgent.LockTimeout, options.LockTimeout);
        }
    }

    [Fact]
    public void The_last_writer_to_join_is_put_first_where_Orleans_looks_for_the_manager()
    {
        var grains = fixture.Cluster.GetActiveSilos().First().ServiceProvider.GetRequiredService<IGrainFactory>();
        ParticipantId Wallet(string id, ParticipantId.Role roles = ParticipantId.Role.Resource | ParticipantId.Role.Manager) =>
            new("wallet", (GrainReference)grains.GetGrain<IWalletGrain>(id), roles);
        AccessCounter Writes = new() { Writes = 1 }, Reads = new() { Reads = 1 };
        var (a, b, c, d) = (Wallet("a"), Wallet("b"), Wallet("c"), Wallet("d", ParticipantId.Role.Resource));

        var participants = new Dictionary<ParticipantId, AccessCounter>(ParticipantId.Comparer) { [a] = Writes, [b] = Reads, [c] = Writes, [d] = Writes };
        LedgerTransactionAgent.ManagedByLastWriter(participants);
        // d writes last but cannot manage; b only reads. The others keep their order.
        Assert.Equal([c, a, b, d], participants.Keys, ParticipantId.Comparer);
        Assert.Equal([Writes, Writes, Reads, Writes], participants.Values);

        var alone = new Dictionary<ParticipantId, AccessCounter>(ParticipantId.Comparer) { [a] = Writes, [b] = Reads };
        LedgerTransactionAgent.ManagedByLastWriter(alone);
        Assert.Equal([a, b], alone.Keys, ParticipantId.Comparer);

        var readers = new Dictionary<ParticipantId, AccessCounter>(ParticipantId.Comparer) { [a] = Reads, [b] = Reads };
        LedgerTransactionAgent.ManagedByLastWriter(readers);
        Assert.Equal([a, b], readers.Keys, ParticipantId.Comparer);
    }

    [Fact]
    public async Task A_transaction_sitting_on_a_wallet_past_the_lock_timeout_loses_its_lock_and_the_movement_behind_it_goes_through()
    {
        // XOF is used by this test alone.
        var wallet = (await fixture.Client.RegisterAsync("XOF")).WalletId;
        var silo = fixture.Cluster.GetActiveSilos().First().ServiceProvider;
        var transactions = silo.GetRequiredService<ITransactionClient>();
        var grains = silo.GetRequiredService<IGrainFactory>();
        // Orleans' own timeout (10 s) would let the sitter keep the lock until it commits.
        var sitting = LedgerTransactionAgent.LockTimeout * 2;
        var locked = new TaskCompletionSource();
        var sitter = transactions.RunTransaction(TransactionOption.Create, async () =>
        {
            await grains.GetGrain<IWalletGrain>(wallet).Get();
            locked.SetResult();
            await Task.Delay(sitting);
        });
        await locked.Task;

        var started = Stopwatch.GetTimestamp();
        var deposit = await fixture.Client.Execute(Ledger.Deposit(wallet, 500, "XOF"));
        var waited = Stopwatch.GetElapsedTime(started);
        output.WriteLine($"the deposit waited {waited.TotalMilliseconds:F0} ms behind a transaction sitting {sitting.TotalSeconds} s");

        Assert.Equal(MovementStatus.Completed, deposit.Status);
        Assert.True(waited < sitting, $"the deposit waited {waited.TotalSeconds:F1} s: the sitter kept its lock");
        await Assert.ThrowsAnyAsync<OrleansTransactionException>(() => sitter);
        Assert.Equal(500, (await fixture.Client.GetGrain<IWalletGrain>(wallet).Get()).Balance);
    }
}
