using Tekana.Abstractions.Wallets;

namespace Tekana.Api.Wallets;

/// <summary>A wallet. <c>balance</c> is an integer in the currency's minor unit (RWF: francs, USD: cents).</summary>
public sealed record WalletResponse(
    string Id, string? CustomerId, string Currency, long Balance, string Status, string Kind, long Sequence,
    DateTimeOffset OpenedAt, DateTimeOffset UpdatedAt)
{
    public static WalletResponse From(WalletView w) => new(
        w.Id, w.OwnerId, w.Currency, w.Balance, w.Status.ToString().ToLowerInvariant(), KindName(w.Kind), w.Sequence,
        w.OpenedAt, w.UpdatedAt);

    private static string KindName(Domain.Wallets.WalletKind kind) => kind switch
    {
        Domain.Wallets.WalletKind.HouseFunding => "house-funding",
        Domain.Wallets.WalletKind.HousePayout => "house-payout",
        _ => "customer",
    };
}
