using System.Security.Claims;
using Tekana.Abstractions;
using Tekana.Abstractions.Customers;
using Tekana.Api.Auth;
using Tekana.Api.Errors;
using Tekana.Api.Wallets;
using Tekana.Domain;
using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;

namespace Tekana.Api.Customers;

public static class CustomersApi
{
    public static IEndpointRouteBuilder MapCustomersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("api/v1/customers").WithTags("Customers").RequireAuthorization();

        group.MapPost("", Register).AllowAnonymous().RequireRateLimiting(RateLimits.Registration)
            .WithName("RegisterCustomer").WithSummary("Registers a customer and opens the first wallet.")
            .Produces<CustomerResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapGet("me", Me).RequireAuthorization(Policies.Customer)
            .WithName("GetCurrentCustomer").WithSummary("The signed-in customer.")
            .Produces<CustomerResponse>();
        group.MapGet("{id}", Get)
            .WithName("GetCustomer").WithSummary("A customer with their wallets.")
            .Produces<CustomerResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPatch("{id}", Update)
            .WithName("UpdateCustomer").WithSummary("Changes name and/or phone number.")
            .Produces<CustomerResponse>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("{id}/suspend", Suspend).RequireAuthorization(Policies.Admin)
            .WithName("SuspendCustomer").WithSummary("Stops the customer from sending or withdrawing; receiving still works.")
            .Produces<CustomerResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("{id}/reactivate", Reactivate).RequireAuthorization(Policies.Admin)
            .WithName("ReactivateCustomer").WithSummary("Lifts a suspension.")
            .Produces<CustomerResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("{id}/close", Close).RequireAuthorization(Policies.Admin)
            .WithName("CloseCustomer").WithSummary("Closes the customer and every wallet; only when all balances are zero.")
            .Produces<CustomerResponse>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapGet("{id}/wallets", Wallets)
            .WithName("ListCustomerWallets").WithSummary("The customer's wallets with balances.")
            .Produces<IReadOnlyList<WalletResponse>>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("{id}/wallets", OpenWallet)
            .WithName("OpenWallet").WithSummary("Opens a wallet in another currency (one per currency).")
            .Produces<WalletResponse>(StatusCodes.Status201Created).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> Register(RegisterCustomerRequest body, HttpRequest request, IClusterClient cluster)
    {
        // With an Idempotency-Key the customer id is derived from it, so a retried registration finds the first one.
        var key = request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 0 && !MovementRules.IsValidIdempotencyKey(key))
        {
            return Problems.Invalid("Idempotency-Key", $"The key must have 1 to {MovementRules.MaxIdempotencyKeyLength} printable ASCII characters.");
        }
        var id = key.Length > 0 ? Ids.CustomerIdFor(key) : Ids.NewCustomerId();
        var customer = await cluster.Reference<ICustomerGrain>(id).Register(new RegisterCustomer(
            body.FullName ?? "", body.Email ?? "", body.PhoneNumber ?? "", body.Country ?? "", body.Currency ?? "", body.Password ?? ""));
        var wallets = await cluster.Reference<ICustomerGrain>(id).GetWallets();
        return Results.Created($"/api/v1/customers/{id}", CustomerResponse.From(customer, wallets));
    }

    private static Task<IResult> Me(ClaimsPrincipal user, IClusterClient cluster) => Get(user.Subject(), user, cluster);

    private static async Task<IResult> Get(string id, ClaimsPrincipal user, IClusterClient cluster)
    {
        if (!Visible(id, user))
        {
            return Problems.NotFound(ErrorKind.CustomerNotFound);
        }
        var grain = cluster.Reference<ICustomerGrain>(id);
        var customer = await grain.Get();
        return Results.Ok(CustomerResponse.From(customer, await grain.GetWallets()));
    }

    private static async Task<IResult> Update(string id, UpdateCustomerRequest body, ClaimsPrincipal user, IClusterClient cluster)
    {
        if (!Visible(id, user) || (!user.IsCustomer() && !user.IsAdmin()))
        {
            return Problems.NotFound(ErrorKind.CustomerNotFound);
        }
        var grain = cluster.Reference<ICustomerGrain>(id);
        var customer = await grain.UpdateProfile(new UpdateProfile(body.FullName, body.PhoneNumber));
        return Results.Ok(CustomerResponse.From(customer, await grain.GetWallets()));
    }

    private static Task<IResult> Suspend(string id, IClusterClient cluster) => Lifecycle(id, cluster, g => g.Suspend());

    private static Task<IResult> Reactivate(string id, IClusterClient cluster) => Lifecycle(id, cluster, g => g.Reactivate());

    private static Task<IResult> Close(string id, IClusterClient cluster) => Lifecycle(id, cluster, g => g.Close());

    private static async Task<IResult> Lifecycle(string id, IClusterClient cluster, Func<ICustomerGrain, Task<CustomerView>> change)
    {
        if (!Ids.IsCustomerId(id))
        {
            return Problems.NotFound(ErrorKind.CustomerNotFound);
        }
        var grain = cluster.Reference<ICustomerGrain>(id);
        var customer = await change(grain);
        return Results.Ok(CustomerResponse.From(customer, await grain.GetWallets()));
    }

    private static async Task<IResult> Wallets(string id, ClaimsPrincipal user, IClusterClient cluster)
    {
        if (!Visible(id, user))
        {
            return Problems.NotFound(ErrorKind.CustomerNotFound);
        }
        var wallets = await cluster.Reference<ICustomerGrain>(id).GetWallets();
        return Results.Ok(wallets.Select(WalletResponse.From).ToList());
    }

    private static async Task<IResult> OpenWallet(string id, OpenWalletRequest body, ClaimsPrincipal user, IClusterClient cluster)
    {
        if (!Visible(id, user) || (!user.IsCustomer() && !user.IsAdmin()))
        {
            return Problems.NotFound(ErrorKind.CustomerNotFound);
        }
        if (!Domain.Money.Currencies.IsSupported(body.Currency))
        {
            return Problems.Invalid("currency", "The currency must be a supported ISO 4217 code such as RWF or USD.");
        }
        var wallet = await cluster.Reference<ICustomerGrain>(id).OpenWallet(body.Currency!);
        return Results.Created($"/api/v1/wallets/{wallet.Id}", WalletResponse.From(wallet));
    }

    /// <summary>Another customer's record looks exactly like a missing one.</summary>
    private static bool Visible(string id, ClaimsPrincipal user) => Ids.IsCustomerId(id) && user.MaySee(id);
}
