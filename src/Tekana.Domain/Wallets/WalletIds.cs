namespace Tekana.Domain.Wallets;

/// <summary>
/// Wallet identifiers. A customer has at most one wallet per currency, so its wallet id is derived from the customer
/// id and the currency: opening the same wallet twice (a retried registration) lands on the same wallet, never a second.
/// </summary>
public static class WalletIds
{
    public const string CustomerPrefix = "wal_";
    private const string FundingPrefix = "house_funding_";
    private const string PayoutPrefix = "house_payout_";

    public static string ForCustomer(string customerId, string currency) =>
        CustomerPrefix + Ids.Digest($"wallet/{customerId}/{currency}");

    public static string Funding(string currency) => FundingPrefix + currency;

    public static string Payout(string currency) => PayoutPrefix + currency;

    /// <summary>Recognises the per-currency house wallets, which exist implicitly for every supported currency.</summary>
    public static bool TryParseHouse(string walletId, out WalletKind kind, out string currency)
    {
        if (walletId.StartsWith(FundingPrefix, StringComparison.Ordinal))
        {
            kind = WalletKind.HouseFunding;
            currency = walletId[FundingPrefix.Length..];
        }
        else if (walletId.StartsWith(PayoutPrefix, StringComparison.Ordinal))
        {
            kind = WalletKind.HousePayout;
            currency = walletId[PayoutPrefix.Length..];
        }
        else
        {
            kind = WalletKind.Customer;
            currency = "";
            return false;
        }
        return Money.Currencies.IsSupported(currency);
    }

    /// <summary>True when the id has the shape of some wallet id; anything else is not worth a grain activation.</summary>
    public static bool IsWellFormed(string? walletId) =>
        walletId is not null && (Ids.HasShape(walletId, CustomerPrefix) || TryParseHouse(walletId, out _, out _));
}
