using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Errors;
using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;
using Tekana.Domain.Wallets;

namespace Tekana.IntegrationTests.Wallets;

[Collection(ClusterCollection.Name)]
public sealed class WalletTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task A_customer_holds_one_wallet_per_currency()
    {
        var (alice, _) = await Client.RegisterAsync("RWF");
        var grain = Client.GetGrain<ICustomerGrain>(alice.Id);

        var eur = await grain.OpenWallet("EUR");
        var again = await Refusal.Of(() => grain.OpenWallet("EUR"));
        var unsupported = await Refusal.Of(() => grain.OpenWallet("XXX"));
        var wallets = await grain.GetWallets();

        Assert.Equal(("EUR", alice.Id), (eur.Currency, eur.OwnerId));
        Assert.Equal(ErrorKind.WalletExists, again.Code);
        Assert.Equal(ErrorKind.UnsupportedCurrency, unsupported.Code);
        Assert.Equal(["EUR", "RWF"], wallets.Select(w => w.Currency));
    }

    [Fact]
    public async Task With_nothing_prepared_a_wallet_answers_from_its_committed_state_as_a_transaction_would()
    {
        var (_, alice) = await Client.RegisterAsync();
        var (_, bob) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 1_000));
        await Client.Execute(Ledger.Transfer(alice, bob, 300));
        var wallets = new[] { alice, bob }.Select(id => Client.GetGrain<Abstractions.Wallets.IWalletGrain>(id)).ToArray();

        // The wallet that did not manage the transfer answers once its confirmation is stored, shortly after the transfer's.
        var settled = await Task.WhenAll(wallets.Select(w => w.GetIfSettled()));
        for (var waited = 0; settled.Any(v => v is null) && waited < 250; waited++)
        {
            await Task.Delay(20);
            settled = await Task.WhenAll(wallets.Select(w => w.GetIfSettled()));
        }

        Assert.Equal([(700L, 2L), (300L, 1L)], settled.Select(v => (v!.Balance, v.Sequence)));
        Assert.Equal(await Task.WhenAll(wallets.Select(w => w.Get())), settled);
        // A house wallet's balance is its shards' too, which only a transaction reads as one.
        Assert.Null(await Client.GetGrain<Abstractions.Wallets.IWalletGrain>(WalletIds.Funding("RWF")).GetIfSettled());
    }

    [Fact]
    public async Task A_frozen_wallet_neither_sends_nor_receives_until_unfrozen()
    {
        var (_, alice) = await Client.RegisterAsync();
        var (_, bob) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 1_000));
        await Client.Execute(Ledger.Deposit(bob, 1_000));

        await Client.GetGrain<Abstractions.Wallets.IWalletGrain>(alice).Freeze();
        var send = await Client.Execute(Ledger.Transfer(alice, bob, 1));
        var receive = await Client.Execute(Ledger.Transfer(bob, alice, 1));
        var deposit = await Client.Execute(Ledger.Deposit(alice, 1));
        await Client.GetGrain<Abstractions.Wallets.IWalletGrain>(alice).Unfreeze();
        var afterwards = await Client.Execute(Ledger.Transfer(alice, bob, 1));

        Assert.Equal([ErrorKind.WalletFrozen, ErrorKind.WalletFrozen, ErrorKind.WalletFrozen],
            new[] { send.FailureCode, receive.FailureCode, deposit.FailureCode });
        Assert.Equal(MovementStatus.Completed, afterwards.Status);
        Assert.Equal(999, await Client.Balance(alice));
        Assert.Equal(1_001, await Client.Balance(bob));
    }

    [Fact]
    public async Task A_wallet_closes_only_at_zero_and_then_takes_no_money()
    {
        var (alice, rwf) = await Client.RegisterAsync();
        var wallet = Client.GetGrain<Abstractions.Wallets.IWalletGrain>(rwf);
        await Client.Execute(Ledger.Deposit(rwf, 5));

        var refused = await Refusal.Of(() => wallet.Close());
        await Client.Execute(Ledger.Withdrawal(rwf, 5));
        var closed = await wallet.Close();
        var deposit = await Client.Execute(Ledger.Deposit(rwf, 5));

        Assert.Equal(ErrorKind.WalletNotEmpty, refused.Code);
        Assert.Equal(WalletStatus.Closed, closed.Status);
        Assert.Equal(ErrorKind.WalletClosed, deposit.FailureCode);
        Assert.Equal(0, await Client.Balance(rwf));
        Assert.NotNull(alice);
    }

    [Fact]
    public async Task Unknown_wallets_are_not_found()
    {
        var error = await Refusal.Of(() => Client.Wallet(WalletIds.ForCustomer(Domain.Ids.NewCustomerId(), "RWF")));

        Assert.Equal(ErrorKind.WalletNotFound, error.Code);
    }
}
