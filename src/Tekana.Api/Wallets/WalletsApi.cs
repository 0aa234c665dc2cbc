using System.Security.Claims;
using Tekana.Abstractions;
using Tekana.Abstractions.Wallets;
using Tekana.Api.Auth;
using Tekana.Api.Errors;
using Tekana.Api.Hosting;
using Tekana.Domain.Errors;
using Tekana.Domain.Wallets;

namespace Tekana.Api.Wallets;

public static class WalletsApi
{
    public static IEndpointRouteBuilder MapWalletsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("api/v1/wallets").WithTags("Wallets").RequireAuthorization();
        group.MapGet("{id}", Get)
            .WithName("GetWallet").WithSummary("A wallet with its balance in minor units.")
            .Produces<WalletResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("{id}/freeze", Freeze).RequireAuthorization(Policies.Admin)
            .WithName("FreezeWallet").WithSummary("Stops the wallet from sending and receiving.")
            .Produces<WalletResponse>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapPost("{id}/unfreeze", Unfreeze).RequireAuthorization(Policies.Admin)
            .WithName("UnfreezeWallet").WithSummary("Lifts a freeze.")
            .Produces<WalletResponse>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        return app;
    }

    /// <summary>Loads a wallet the caller may see: their own, or any for staff. Anything else is "not found".</summary>
    internal static async Task<WalletView?> Visible(string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken = default)
    {
        if (!WalletIds.IsWellFormed(id) || (user.IsCustomer() && WalletIds.TryParseHouse(id, out _, out _)))
        {
            return null;
        }
        var wallet = await ClusterRetry.Read(cluster.Reference<IWalletGrain>(id).Read, cancellationToken);
        return user.IsStaff() || (user.IsCustomer() && wallet.OwnerId == user.Subject()) ? wallet : null;
    }

    private static async Task<IResult> Get(string id, ClaimsPrincipal user, IClusterClient cluster) =>
        await Visible(id, user, cluster) is { } wallet
            ? Results.Ok(WalletResponse.From(wallet))
            : Problems.NotFound(ErrorKind.WalletNotFound);

    private static Task<IResult> Freeze(string id, IClusterClient cluster) => Change(id, cluster, w => w.Freeze());

    private static Task<IResult> Unfreeze(string id, IClusterClient cluster) => Change(id, cluster, w => w.Unfreeze());

    private static async Task<IResult> Change(string id, IClusterClient cluster, Func<IWalletGrain, Task<WalletView>> change) =>
        WalletIds.IsWellFormed(id)
            ? Results.Ok(WalletResponse.From(await change(cluster.Reference<IWalletGrain>(id))))
            : Problems.NotFound(ErrorKind.WalletNotFound);
}
