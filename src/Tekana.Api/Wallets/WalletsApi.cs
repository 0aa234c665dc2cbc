using System.Security.Claims;
using Tekana.Abstractions;
using Tekana.Abstractions.Errors;
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
    internal static async Task<WalletView?> Visible(
        string id, ClaimsPrincipal user, IClusterClient cluster, WalletOwners owners, CancellationToken cancellationToken = default) =>
        MayName(id, user) ? await Load(id, user, cluster, owners, cancellationToken) : null;

    /// <summary>
    /// Whether the caller may see a wallet, as <see cref="Visible"/> decides, without loading it when its owner is known
    /// (<see cref="WalletOwners"/>).
    /// </summary>
    internal static async Task<bool> MaySee(
        string id, ClaimsPrincipal user, IClusterClient cluster, WalletOwners owners, CancellationToken cancellationToken = default)
    {
        if (!MayName(id, user))
        {
            return false;
        }
        return owners.Find(id) is { } owner
            ? Sees(owner, user)
            : await Load(id, user, cluster, owners, cancellationToken) is not null;
    }

    /// <summary>Loads a wallet whose id the caller may name, and remembers its owner: the wallet if the caller sees it.</summary>
    private static async Task<WalletView?> Load(
        string id, ClaimsPrincipal user, IClusterClient cluster, WalletOwners owners, CancellationToken cancellationToken)
    {
        var wallet = await ClusterRetry.Read(cluster.Reference<IWalletGrain>(id).Read, cancellationToken);
        owners.Remember(wallet);
        return Sees(wallet.OwnerId ?? "", user) ? wallet : null;
    }

    /// <summary>Whether a wallet id may name a wallet the caller can see: customers never see the house's.</summary>
    private static bool MayName(string id, ClaimsPrincipal user) =>
        WalletIds.IsWellFormed(id) && !(user.IsCustomer() && WalletIds.TryParseHouse(id, out _, out _));

    /// <summary>Whether the caller may see an existing wallet of <paramref name="ownerId"/> ("" for the house).</summary>
    private static bool Sees(string ownerId, ClaimsPrincipal user) =>
        user.IsStaff() || (user.IsCustomer() && ownerId == user.Subject());

    private static async Task<IResult> Get(string id, ClaimsPrincipal user, IClusterClient cluster, WalletOwners owners) =>
        await Visible(id, user, cluster, owners) is { } wallet
            ? Results.Ok(WalletResponse.From(wallet))
            : Problems.NotFound(ErrorKind.WalletNotFound);

    private static Task<IResult> Freeze(string id, IClusterClient cluster) => Change(id, cluster, w => w.Freeze());

    private static Task<IResult> Unfreeze(string id, IClusterClient cluster) => Change(id, cluster, w => w.Unfreeze());

    private static async Task<IResult> Change(string id, IClusterClient cluster, Func<IWalletGrain, Task<WalletView>> change) =>
        WalletIds.IsWellFormed(id)
            ? Results.Ok(WalletResponse.From(await WalletMovingException.RetryWhileMoving(() => change(cluster.Reference<IWalletGrain>(id)))))
            : Problems.NotFound(ErrorKind.WalletNotFound);
}
