using System.Collections.Concurrent;
using System.Net;
using Tekana.Api.Tests.Infrastructure;

namespace Tekana.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class WalletReadTests(ApiFixture fixture)
{
    private ApiFactory Api => fixture.Factory;

    /// <summary>
    /// A wallet read answers from the committed state when nothing is prepared there. Of a transfer's two wallets, the
    /// one that did not manage its transaction learns of the commit only at its confirmation, which may come after the
    /// client has its answer: a read in that gap must still show the transfer.
    /// </summary>
    [Fact]
    public async Task A_wallet_read_right_after_a_transfer_shows_it_on_both_sides()
    {
        var admin = await Api.Admin();
        var @operator = await Api.Operator();
        var wallets = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var customer = await Api.RegisterAsync();
            var deposit = await @operator.PostIdempotent("/api/v1/deposits",
                new { toWalletId = customer.WalletId, amount = 100_000, currency = "RWF", externalReference = "momo-" + ApiClient.Unique() });
            Assert.Equal(HttpStatusCode.Created, deposit.StatusCode);
            wallets.Add(customer.WalletId);
        }

        var stale = new ConcurrentBag<string>();
        await Concurrently.ForEachAsync(Enumerable.Range(0, wallets.Count), wallets.Count, async chain =>
        {
            for (var round = 0; round < 25; round++)
            {
                var (from, to) = (wallets[chain], wallets[(chain + 1 + round % (wallets.Count - 1)) % wallets.Count]);
                var transfer = await admin.PostIdempotent("/api/v1/transfers",
                    new { fromWalletId = from, toWalletId = to, amount = 1, currency = "RWF" });
                Assert.Equal(HttpStatusCode.Created, transfer.StatusCode);
                var json = await transfer.Json();
                var legs = new[] { (Wallet: from, Sequence: json["fromSequence"]!.GetValue<long>()), (Wallet: to, Sequence: json["toSequence"]!.GetValue<long>()) };
                var seen = await Task.WhenAll(legs.Select(async leg =>
                    (await (await admin.GetAsync($"/api/v1/wallets/{leg.Wallet}")).Json())["sequence"]!.GetValue<long>()));
                for (var i = 0; i < legs.Length; i++)
                {
                    if (seen[i] < legs[i].Sequence)
                    {
                        stale.Add($"{legs[i].Wallet}: read sequence {seen[i]} after its entry {legs[i].Sequence} was acknowledged");
                    }
                }
            }
        });

        Assert.Empty(stale);
        var total = 0L;
        foreach (var wallet in wallets)
        {
            total += await admin.Balance(wallet);
        }
        Assert.Equal(8 * 100_000, total);
    }
}
