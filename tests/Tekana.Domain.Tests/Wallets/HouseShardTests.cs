using Tekana.Domain.Transfers;
using Tekana.Domain.Wallets;

namespace Tekana.Domain.Tests.Wallets;

public sealed class HouseShardTests
{
    [Fact]
    public void A_house_wallet_has_a_fixed_set_of_shards_that_are_house_wallets_of_the_same_kind_and_currency()
    {
        var shards = WalletIds.ShardsOf(WalletIds.Funding("USD")).ToList();

        Assert.Equal(WalletIds.HouseShards, shards.Distinct().Count());
        Assert.All(shards, shard =>
        {
            Assert.True(WalletIds.TryParseHouse(shard, out var kind, out var currency));
            Assert.Equal((WalletKind.HouseFunding, "USD"), (kind, currency));
            Assert.True(WalletIds.IsHouseShard(shard));
            Assert.True(WalletIds.IsWellFormed(shard));
        });
        Assert.False(WalletIds.IsHouseShard(WalletIds.Funding("USD")));
    }

    [Theory]
    [InlineData("house_funding_USD.32")]
    [InlineData("house_funding_USD.-1")]
    [InlineData("house_funding_USD.01")]
    [InlineData("house_funding_USD.")]
    [InlineData("house_funding_USD.1.2")]
    [InlineData("house_payout_XYZ.1")]
    public void Anything_else_after_a_house_wallet_id_is_no_wallet(string id)
    {
        Assert.False(WalletIds.TryParseHouse(id, out _, out _));
        Assert.False(WalletIds.IsWellFormed(id));
    }

    [Fact]
    public void A_house_leg_goes_to_the_same_shard_for_a_transaction_and_the_legs_of_many_spread_over_all_shards()
    {
        var payout = WalletIds.Payout("RWF");
        var transactions = Enumerable.Range(0, 2_000).Select(i => Ids.TransactionIdFor("operator:psp", $"key-{i}")).ToList();

        Assert.All(transactions, t => Assert.Equal(WalletIds.LegWallet(payout, t), WalletIds.LegWallet(payout, t)));
        var perShard = transactions.GroupBy(t => WalletIds.LegWallet(payout, t)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(WalletIds.ShardsOf(payout).Order(), perShard.Keys.Order());
        Assert.All(perShard.Values, count => Assert.InRange(count, 2_000 / WalletIds.HouseShards / 2, 2_000 / WalletIds.HouseShards * 2));
    }

    [Fact]
    public void Customer_wallets_and_shards_carry_their_own_legs()
    {
        var customer = WalletIds.ForCustomer(Ids.NewCustomerId(), "RWF");
        var shard = WalletIds.ShardsOf(WalletIds.Funding("RWF")).Last();

        Assert.Equal(customer, WalletIds.LegWallet(customer, "txn_x"));
        Assert.Equal(shard, WalletIds.LegWallet(shard, "txn_x"));
    }

    [Fact]
    public void A_shard_is_no_more_a_movement_endpoint_than_its_house_wallet()
    {
        var customer = WalletIds.ForCustomer(Ids.NewCustomerId(), "RWF");
        var shard = WalletIds.ShardsOf(WalletIds.Funding("RWF")).First();

        Assert.NotNull(MovementRules.Validate(MovementType.Transfer, "k", shard, customer, 10, "RWF", null, null, null));
        Assert.NotNull(MovementRules.Validate(MovementType.Transfer, "k", customer, shard, 10, "RWF", null, null, null));
    }

    [Fact]
    public void Shards_lock_with_their_house_wallet_after_every_customer_wallet()
    {
        var customer = WalletIds.ForCustomer(Ids.NewCustomerId(), "RWF");

        Assert.True(WalletLockOrder.DebitFirst(customer, WalletIds.ShardsOf(WalletIds.Payout("RWF")).First()));
        Assert.False(WalletLockOrder.DebitFirst(WalletIds.ShardsOf(WalletIds.Funding("RWF")).First(), customer));
    }
}
