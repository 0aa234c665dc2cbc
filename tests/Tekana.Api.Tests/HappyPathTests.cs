using System.Net;
using System.Net.Http.Json;
using Tekana.Api.Tests.Infrastructure;

namespace Tekana.Api.Tests;

[Collection(ApiCollection.Name)]
public sealed class HappyPathTests(ApiFixture fixture)
{
    private ApiFactory Api => fixture.Factory;

    [Fact]
    public async Task Register_deposit_transfer_look_up_and_withdraw()
    {
        var alice = await Api.RegisterAsync();
        var bob = await Api.RegisterAsync();
        var @operator = await Api.Operator();

        var deposit = await @operator.PostIdempotent("/api/v1/deposits",
            new { toWalletId = alice.WalletId, amount = 10_000, currency = "RWF", externalReference = "momo-" + ApiClient.Unique() });
        Assert.Equal(HttpStatusCode.Created, deposit.StatusCode);

        var transfer = await alice.Http.PostIdempotent("/api/v1/transfers",
            new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = 2_500, currency = "RWF", description = "rent" });
        Assert.Equal(HttpStatusCode.Created, transfer.StatusCode);
        var transferJson = await transfer.Json();
        Assert.Equal("completed", transferJson["status"]!.GetValue<string>());
        Assert.Equal(7_500, transferJson["fromBalanceAfter"]!.GetValue<long>());
        Assert.Equal(transfer.Headers.Location!.ToString(), $"/api/v1/transactions/{transferJson["id"]}");

        var seenByBob = await (await bob.Http.GetAsync(transfer.Headers.Location)).Json();
        Assert.Equal("rent", seenByBob["description"]!.GetValue<string>());
        Assert.Null(seenByBob["fromBalanceAfter"]); // Bob sees his own side only
        Assert.Equal(2_500, seenByBob["toBalanceAfter"]!.GetValue<long>());

        var withdrawal = await bob.Http.PostIdempotent("/api/v1/withdrawals",
            new { fromWalletId = bob.WalletId, amount = 1_000, currency = "RWF", externalReference = "bank-1" });
        Assert.Equal(HttpStatusCode.Created, withdrawal.StatusCode);

        Assert.Equal(7_500, await alice.Http.Balance(alice.WalletId));
        Assert.Equal(1_500, await bob.Http.Balance(bob.WalletId));
        var me = await (await alice.Http.GetAsync("/api/v1/customers/me")).Json();
        Assert.Equal(alice.Id, me["id"]!.GetValue<string>());
        Assert.Equal(7_500, me["wallets"]![0]!["balance"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_customer_opens_a_second_currency_and_lists_wallets()
    {
        var alice = await Api.RegisterAsync();

        var opened = await alice.Http.PostAsJsonAsync($"/api/v1/customers/{alice.Id}/wallets", new { currency = "USD" });
        var list = await (await alice.Http.GetAsync($"/api/v1/customers/{alice.Id}/wallets")).Json();

        Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        Assert.Equal(["RWF", "USD"], list.AsArray().Select(w => w!["currency"]!.GetValue<string>()).Order());
    }

    [Fact]
    public async Task A_customer_updates_their_profile()
    {
        var alice = await Api.RegisterAsync();

        var response = await alice.Http.PatchAsJsonAsync($"/api/v1/customers/{alice.Id}", new { fullName = "Alice Cooper" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Alice Cooper", (await response.Json())["fullName"]!.GetValue<string>());
    }

    [Fact]
    public async Task Health_endpoints_report_live_and_ready()
    {
        var http = Api.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        var ready = await http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Registration_with_an_idempotency_key_is_replayable()
    {
        var http = Api.CreateClient();
        var body = ApiClient.NewCustomer();
        var key = "reg-" + ApiClient.Unique();

        var first = await http.PostIdempotent("/api/v1/customers", body, key);
        var second = await http.PostIdempotent("/api/v1/customers", body, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal((await first.Json())["id"]!.GetValue<string>(), (await second.Json())["id"]!.GetValue<string>());
    }
}
