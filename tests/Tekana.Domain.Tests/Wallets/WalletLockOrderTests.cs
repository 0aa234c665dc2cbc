using Tekana.Domain.Wallets;

namespace Tekana.Domain.Tests.Wallets;

public sealed class WalletLockOrderTests
{
    private const string Ada = "wal_1aaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string Bob = "wal_2bbbbbbbbbbbbbbbbbbbbbbbbb";

    [Fact]
    public void Customer_wallets_come_first_by_id_then_funding_wallets_then_payout_wallets()
    {
        string[] wallets = [WalletIds.Payout("RWF"), Bob, WalletIds.Funding("USD"), Ada, WalletIds.Funding("RWF"), WalletIds.Payout("USD")];

        Assert.Equal(
            [Ada, Bob, WalletIds.Funding("RWF"), WalletIds.Funding("USD"), WalletIds.Payout("RWF"), WalletIds.Payout("USD")],
            wallets.Order(WalletLockOrder.Instance));
    }

    [Fact]
    public void Two_movements_between_the_same_wallets_lock_them_in_the_same_order_whatever_their_direction()
    {
        Assert.True(WalletLockOrder.DebitFirst(Ada, Bob));
        Assert.False(WalletLockOrder.DebitFirst(Bob, Ada));
    }

    [Fact]
    public void Deposits_and_withdrawals_take_their_house_wallet_last()
    {
        Assert.False(WalletLockOrder.DebitFirst(WalletIds.Funding("RWF"), Bob));
        Assert.True(WalletLockOrder.DebitFirst(Ada, WalletIds.Payout("RWF")));
    }

    [Fact]
    public void An_id_that_only_looks_like_a_house_wallet_ranks_as_an_ordinary_id() =>
        Assert.True(WalletLockOrder.Instance.Compare("house_payout_XXX", Ada) < 0);
}
