using System.Net;
using System.Text.Json.Nodes;
using Tekana.Abstractions.Wallets;
using Tekana.Api.Tests.Infrastructure;
using Tekana.Api.Wallets;
using Tekana.Domain.Wallets;

namespace Tekana.Api.Tests;

/// <summary>History and search come from the projected read model, which follows the ledger within moments.</summary>
[Collection(ApiCollection.Name)]
public sealed class HistoryTests(ApiFixture fixture)
{
    private ApiFactory Api => fixture.Factory;

    private static async Task<JsonNode> Eventually(Func<Task<JsonNode>> read, Func<JsonNode, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Wallet_history_pages_newest_first_with_an_opaque_cursor_and_filters()
    {
        var alice = await Api.RegisterAsync();
        var bob = await Api.RegisterAsync();
        var @operator = await Api.Operator();
        await @operator.PostIdempotent("/api/v1/deposits", new { toWalletId = alice.WalletId, amount = 1_000, currency = "RWF", externalReference = "psp-h1" });
        for (var i = 1; i <= 3; i++)
        {
            var sent = await alice.Http.PostIdempotent("/api/v1/transfers",
                new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = i * 10, currency = "RWF", description = $"t{i}" });
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }

        var all = await Eventually(
            async () => await (await alice.Http.GetAsync($"/api/v1/wallets/{alice.WalletId}/transactions")).Json(),
            page => page["items"]!.AsArray().Count == 4);
        var items = all["items"]!.AsArray();
        Assert.Equal([4L, 3L, 2L, 1L], items.Select(i => i!["sequence"]!.GetValue<long>()));
        Assert.Equal(-30, items[0]!["amount"]!.GetValue<long>());
        Assert.Equal(940, items[0]!["balanceAfter"]!.GetValue<long>());
        Assert.Equal(bob.WalletId, items[0]!["counterpartyWalletId"]!.GetValue<string>());

        var first = await (await alice.Http.GetAsync($"/api/v1/wallets/{alice.WalletId}/transactions?limit=2")).Json();
        var cursor = first["nextCursor"]!.GetValue<string>();
        var second = await (await alice.Http.GetAsync($"/api/v1/wallets/{alice.WalletId}/transactions?limit=2&cursor={cursor}")).Json();
        Assert.Equal([2L, 1L], second["items"]!.AsArray().Select(i => i!["sequence"]!.GetValue<long>()));
        var deposits = await (await alice.Http.GetAsync($"/api/v1/wallets/{alice.WalletId}/transactions?type=deposit")).Json();
        Assert.Equal("deposit", Assert.Single(deposits["items"]!.AsArray())!["type"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NotFound, (await bob.Http.GetAsync($"/api/v1/wallets/{alice.WalletId}/transactions")).StatusCode);
        await (await alice.Http.GetAsync($"/api/v1/wallets/{alice.WalletId}/transactions?limit=500")).AssertProblem(HttpStatusCode.BadRequest, "validation");
        await (await alice.Http.GetAsync($"/api/v1/wallets/{alice.WalletId}/transactions?cursor=not-a-cursor")).AssertProblem(HttpStatusCode.BadRequest, "validation");
    }

    [Fact]
    public async Task Who_may_see_a_history_does_not_depend_on_whether_its_wallet_was_read_before()
    {
        var alice = await Api.RegisterAsync();
        var bob = await Api.RegisterAsync();
        var admin = await Api.Admin();
        var aliceHistory = $"/api/v1/wallets/{alice.WalletId}/transactions";
        const string houseHistory = "/api/v1/wallets/house_funding_RWF/transactions";

        // Each request twice: first before this API has read the wallet (or after someone else's read), then after.
        Assert.Equal(HttpStatusCode.NotFound, (await bob.Http.GetAsync(aliceHistory)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.Http.GetAsync(aliceHistory)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.Http.GetAsync(aliceHistory)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(aliceHistory)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.Http.GetAsync(aliceHistory)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(houseHistory)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.Http.GetAsync(houseHistory)).StatusCode);
        for (var i = 0; i < 2; i++)
        {
            await (await admin.GetAsync("/api/v1/wallets/wal_0000000000000000000000000b/transactions"))
                .AssertProblem(HttpStatusCode.NotFound, "wallet-not-found");
        }
    }

    [Fact]
    public void Remembered_owners_start_over_when_they_reach_capacity()
    {
        var owners = new WalletOwners();
        for (var i = 0; i < WalletOwners.Capacity; i++)
        {
            owners.Remember(View($"wal_{i}", $"cus_{i}"));
        }
        Assert.Equal("cus_0", owners.Find("wal_0"));

        owners.Remember(View("wal_last", "cus_last"));
        owners.Remember(View("wal_house", null));

        Assert.Null(owners.Find("wal_0"));
        Assert.Equal("", owners.Find("wal_house"));
        Assert.Null(owners.Find("wal_never"));
    }

    private static WalletView View(string id, string? owner) =>
        new(id, owner, "RWF", WalletKind.Customer, WalletStatus.Active, 0, 0, false, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task Admins_search_customers_by_name_email_or_phone()
    {
        var alice = await Api.RegisterAsync();
        var admin = await Api.Admin();

        var byEmail = await Eventually(
            async () => await (await admin.GetAsync($"/api/v1/customers?query={Uri.EscapeDataString(alice.Email.ToUpperInvariant())}")).Json(),
            page => page["items"]!.AsArray().Count == 1);

        Assert.Equal(alice.Id, Assert.Single(byEmail["items"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.Http.GetAsync("/api/v1/customers?query=a")).StatusCode);
        Assert.Empty((await (await admin.GetAsync("/api/v1/customers?query=%25%25nobody-matches-this%25")).Json())["items"]!.AsArray());
    }
}
