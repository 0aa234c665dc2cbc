using System.Net;
using System.Net.Http.Json;
using Tekana.Api.Tests.Infrastructure;

namespace Tekana.Api.Tests;

/// <summary>Customer A against customer B's resources, operators, admins and anonymous callers.</summary>
[Collection(ApiCollection.Name)]
public sealed class AuthorizationTests(ApiFixture fixture)
{
    private ApiFactory Api => fixture.Factory;

    [Fact]
    public async Task Anonymous_callers_get_401_everywhere_but_registration_sign_in_health_and_docs()
    {
        var alice = await Api.RegisterAsync();
        var anonymous = Api.CreateClient();

        foreach (var path in new[] { "/api/v1/customers/me", $"/api/v1/customers/{alice.Id}", $"/api/v1/wallets/{alice.WalletId}", $"/api/v1/customers/{alice.Id}/wallets" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostIdempotent("/api/v1/transfers", new { amount = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/openapi/v1.json")).StatusCode);
    }

    [Fact]
    public async Task A_customer_cannot_see_or_move_another_customers_money_and_learns_nothing_about_it()
    {
        var alice = await Api.RegisterAsync();
        var bob = await Api.RegisterAsync();
        var @operator = await Api.Operator();
        var deposit = await @operator.PostIdempotent("/api/v1/deposits",
            new { toWalletId = bob.WalletId, amount = 500, currency = "RWF", externalReference = "psp-" + ApiClient.Unique() });
        var bobsDeposit = (await deposit.Json())["id"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.NotFound, (await alice.Http.GetAsync($"/api/v1/customers/{bob.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.Http.GetAsync($"/api/v1/wallets/{bob.WalletId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.Http.GetAsync($"/api/v1/customers/{bob.Id}/wallets")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.Http.GetAsync($"/api/v1/transactions/{bobsDeposit}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.Http.PatchAsJsonAsync($"/api/v1/customers/{bob.Id}", new { fullName = "Hacked" })).StatusCode);
        var steal = await alice.Http.PostIdempotent("/api/v1/transfers",
            new { fromWalletId = bob.WalletId, toWalletId = alice.WalletId, amount = 100, currency = "RWF" });
        await steal.AssertProblem(HttpStatusCode.NotFound, "wallet-not-found");
        var withdraw = await alice.Http.PostIdempotent("/api/v1/withdrawals",
            new { fromWalletId = bob.WalletId, amount = 100, currency = "RWF" });
        await withdraw.AssertProblem(HttpStatusCode.NotFound, "wallet-not-found");

        Assert.Equal(500, await bob.Http.Balance(bob.WalletId));
    }

    [Fact]
    public async Task Customers_cannot_deposit_or_administrate()
    {
        var alice = await Api.RegisterAsync();

        Assert.Equal(HttpStatusCode.Forbidden, (await alice.Http.PostIdempotent("/api/v1/deposits",
            new { toWalletId = alice.WalletId, amount = 1_000_000, currency = "RWF", externalReference = "self" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.Http.PostAsync($"/api/v1/wallets/{alice.WalletId}/freeze", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.Http.PostAsync($"/api/v1/customers/{alice.Id}/suspend", null)).StatusCode);
        Assert.Equal(0, await alice.Http.Balance(alice.WalletId));
    }

    [Fact]
    public async Task Operators_move_money_and_read_but_do_not_administrate_or_transfer()
    {
        var alice = await Api.RegisterAsync();
        var bob = await Api.RegisterAsync();
        var @operator = await Api.Operator();

        Assert.Equal(HttpStatusCode.Created, (await @operator.PostIdempotent("/api/v1/deposits",
            new { toWalletId = alice.WalletId, amount = 100, currency = "RWF", externalReference = "psp-1" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await @operator.PostIdempotent("/api/v1/withdrawals",
            new { fromWalletId = alice.WalletId, amount = 40, currency = "RWF", externalReference = "bank-1" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await @operator.GetAsync($"/api/v1/customers/{alice.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await @operator.PostIdempotent("/api/v1/transfers",
            new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = 1, currency = "RWF" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await @operator.PostAsync($"/api/v1/customers/{alice.Id}/suspend", null)).StatusCode);
        Assert.Equal(60, await @operator.Balance(alice.WalletId));
    }

    [Fact]
    public async Task Admins_administrate_but_do_not_deposit()
    {
        var alice = await Api.RegisterAsync();
        var admin = await Api.Admin();

        var suspended = await admin.PostAsync($"/api/v1/customers/{alice.Id}/suspend", null);
        var reactivated = await admin.PostAsync($"/api/v1/customers/{alice.Id}/reactivate", null);
        var deposit = await admin.PostIdempotent("/api/v1/deposits",
            new { toWalletId = alice.WalletId, amount = 1, currency = "RWF", externalReference = "x" });

        Assert.Equal("suspended", (await suspended.Json())["status"]!.GetValue<string>());
        Assert.Equal("active", (await reactivated.Json())["status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, deposit.StatusCode);
    }
}
