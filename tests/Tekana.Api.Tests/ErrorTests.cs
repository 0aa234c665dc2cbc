using System.Net;
using System.Net.Http.Json;
using System.Text;
using Tekana.Api.Tests.Infrastructure;

namespace Tekana.Api.Tests;

/// <summary>Bad input gets a clear 4xx ProblemDetails with a stable type, and changes nothing.</summary>
[Collection(ApiCollection.Name)]
public sealed class ErrorTests(ApiFixture fixture)
{
    private ApiFactory Api => fixture.Factory;

    private async Task<(ApiClient.Registered Alice, ApiClient.Registered Bob)> FundedPair(long amount = 1_000)
    {
        var alice = await Api.RegisterAsync();
        var bob = await Api.RegisterAsync();
        var deposit = await (await Api.Operator()).PostIdempotent("/api/v1/deposits",
            new { toWalletId = alice.WalletId, amount, currency = "RWF", externalReference = "psp-" + ApiClient.Unique() });
        Assert.Equal(HttpStatusCode.Created, deposit.StatusCode);
        return (alice, bob);
    }

    private static StringContent Raw(string json) => new(json, Encoding.UTF8, "application/json");

    private static HttpRequestMessage Post(string path, HttpContent content, string? key = "k-" + "x")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key + ApiClient.Unique());
        }
        return request;
    }

    [Fact]
    public async Task Insufficient_funds_is_422_and_moves_nothing()
    {
        var (alice, bob) = await FundedPair(100);

        var response = await alice.Http.PostIdempotent("/api/v1/transfers",
            new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = 101, currency = "RWF" });

        var problem = await response.AssertProblem(HttpStatusCode.UnprocessableEntity, "insufficient-funds");
        Assert.StartsWith("txn_", problem["transactionId"]!.GetValue<string>());
        Assert.Equal(100, await alice.Http.Balance(alice.WalletId));
        Assert.Equal(0, await bob.Http.Balance(bob.WalletId));
    }

    [Fact]
    public async Task Currency_mismatch_is_422()
    {
        var (alice, _) = await FundedPair();
        var usd = await Api.RegisterAsync("USD");

        var response = await alice.Http.PostIdempotent("/api/v1/transfers",
            new { fromWalletId = alice.WalletId, toWalletId = usd.WalletId, amount = 1, currency = "RWF" });

        await response.AssertProblem(HttpStatusCode.UnprocessableEntity, "currency-mismatch");
        Assert.Equal(1_000, await alice.Http.Balance(alice.WalletId));
    }

    [Fact]
    public async Task A_frozen_wallet_is_422_wallet_frozen()
    {
        var (alice, bob) = await FundedPair();
        var admin = await Api.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/wallets/{bob.WalletId}/freeze", null)).StatusCode);

        var response = await alice.Http.PostIdempotent("/api/v1/transfers",
            new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = 1, currency = "RWF" });

        await response.AssertProblem(HttpStatusCode.UnprocessableEntity, "wallet-frozen");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/wallets/{bob.WalletId}/unfreeze", null)).StatusCode);
    }

    [Fact]
    public async Task A_suspended_customer_cannot_send()
    {
        var (alice, bob) = await FundedPair();
        var admin = await Api.Admin();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/customers/{alice.Id}/suspend", null)).StatusCode);

        var response = await alice.Http.PostIdempotent("/api/v1/transfers",
            new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = 1, currency = "RWF" });

        await response.AssertProblem(HttpStatusCode.UnprocessableEntity, "customer-suspended");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/customers/{alice.Id}/reactivate", null)).StatusCode);
    }

    [Fact]
    public async Task Replays_return_the_original_status_and_body_and_a_changed_body_is_a_conflict()
    {
        var (alice, bob) = await FundedPair();
        var key = "pay-" + ApiClient.Unique();
        var body = new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = 300, currency = "RWF" };

        var first = await alice.Http.PostIdempotent("/api/v1/transfers", body, key);
        var replay = await alice.Http.PostIdempotent("/api/v1/transfers", body, key);
        var changed = await alice.Http.PostIdempotent("/api/v1/transfers", body with { amount = 301 }, key);

        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        await changed.AssertProblem(HttpStatusCode.Conflict, "idempotency-conflict");
        Assert.Equal(700, await alice.Http.Balance(alice.WalletId));
    }

    [Fact]
    public async Task A_refusal_replays_as_the_same_refusal()
    {
        var (alice, bob) = await FundedPair(10);
        var key = "refused-" + ApiClient.Unique();
        var body = new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = 50, currency = "RWF" };

        var first = await alice.Http.PostIdempotent("/api/v1/transfers", body, key);
        var replay = await alice.Http.PostIdempotent("/api/v1/transfers", body, key);

        await first.AssertProblem(HttpStatusCode.UnprocessableEntity, "insufficient-funds");
        await replay.AssertProblem(HttpStatusCode.UnprocessableEntity, "insufficient-funds");
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
    }

    [Theory]
    [InlineData("{\"amount\": 0, \"currency\": \"RWF\"}", "amount")]
    [InlineData("{\"amount\": -5, \"currency\": \"RWF\"}", "amount")]
    [InlineData("{\"amount\": 10, \"currency\": \"XYZ\"}", "currency")]
    [InlineData("{\"amount\": 10, \"currency\": \"RWF\", \"toWalletId\": \"not-a-wallet\"}", "toWalletId")]
    public async Task Invalid_fields_are_400_with_an_errors_map(string partial, string field)
    {
        var (alice, bob) = await FundedPair();
        var json = partial.Replace("{", $"{{\"fromWalletId\": \"{alice.WalletId}\", " + (partial.Contains("toWalletId") ? "" : $"\"toWalletId\": \"{bob.WalletId}\", "));

        var response = await alice.Http.SendAsync(Post("/api/v1/transfers", Raw(json)));

        var problem = await response.AssertProblem(HttpStatusCode.BadRequest, "validation");
        Assert.NotNull(problem["errors"]![field]);
        Assert.Equal(1_000, await alice.Http.Balance(alice.WalletId));
    }

    [Theory]
    [InlineData("{\"amount\": ")]
    [InlineData("{\"amount\": \"ten\"}")]
    [InlineData("{\"amount\": 99999999999999999999999}")]
    [InlineData("[1,2,3]")]
    public async Task Malformed_or_mistyped_json_is_400(string json)
    {
        var alice = await Api.RegisterAsync();

        var response = await alice.Http.SendAsync(Post("/api/v1/transfers", Raw(json)));

        await response.AssertProblem(HttpStatusCode.BadRequest, "validation");
    }

    [Fact]
    public async Task A_missing_idempotency_key_is_400()
    {
        var (alice, bob) = await FundedPair();

        var response = await alice.Http.SendAsync(Post("/api/v1/transfers",
            JsonContent.Create(new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = 1, currency = "RWF" }), key: null));

        var problem = await response.AssertProblem(HttpStatusCode.BadRequest, "validation");
        Assert.NotNull(problem["errors"]!["Idempotency-Key"]);
        Assert.Equal(1_000, await alice.Http.Balance(alice.WalletId));
    }

    [Fact]
    public async Task An_oversized_body_is_413()
    {
        var alice = await Api.RegisterAsync();
        var huge = "{\"description\": \"" + new string('x', 200_000) + "\"}";

        var response = await alice.Http.SendAsync(Post("/api/v1/transfers", Raw(huge)));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Theory]
    [InlineData("/api/v1/wallets/nope")]
    [InlineData("/api/v1/wallets/wal_0000000000000000000000000a")]
    [InlineData("/api/v1/transactions/txn_0000000000000000000000000a")]
    [InlineData("/api/v1/transactions/%27%3B--")]
    [InlineData("/api/v1/customers/cus_0000000000000000000000000a")]
    public async Task Unknown_or_malformed_ids_are_404(string path)
    {
        var response = await (await Api.Admin()).GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Taken_email_is_409_and_invalid_registration_lists_every_field()
    {
        var alice = await Api.RegisterAsync();
        var anonymous = Api.CreateClient();

        var taken = await anonymous.PostAsJsonAsync("/api/v1/customers",
            new { fullName = "Mallory", email = alice.Email.ToUpperInvariant(), phoneNumber = "+250780000001", country = "RW", currency = "RWF", password = "long enough pw" });
        var invalid = await anonymous.PostAsJsonAsync("/api/v1/customers",
            new { fullName = "", email = "x", phoneNumber = "1", country = "ZZ", currency = "ABC", password = "" });

        await taken.AssertProblem(HttpStatusCode.Conflict, "email-taken");
        var problem = await invalid.AssertProblem(HttpStatusCode.BadRequest, "validation");
        Assert.Equal(6, problem["errors"]!.AsObject().Count);
    }

    [Fact]
    public async Task Token_endpoint_speaks_OAuth2_errors_and_locks_out_after_repeated_failures()
    {
        var alice = await Api.RegisterAsync();
        var http = Api.CreateClient();
        async Task<HttpResponseMessage> SignIn(string password) => await http.PostAsync("/api/v1/auth/token",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "password", ["username"] = alice.Email, ["password"] = password }));

        var wrong = await SignIn("wrong password");
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("invalid_grant", (await wrong.Json())["error"]!.GetValue<string>());
        for (var i = 0; i < 4; i++)
        {
            await SignIn("wrong password");
        }
        var locked = await SignIn("correct horse battery");
        Assert.Contains("locked", (await locked.Json())["error_description"]!.GetValue<string>());

        var badClient = await http.PostAsync("/api/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["grant_type"] = "client_credentials", ["client_id"] = "dev-operator", ["client_secret"] = "guess" }));
        Assert.Equal(HttpStatusCode.Unauthorized, badClient.StatusCode);
        var unsupported = await http.PostAsync("/api/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "implicit" }));
        Assert.Equal("unsupported_grant_type", (await unsupported.Json())["error"]!.GetValue<string>());
    }
}
