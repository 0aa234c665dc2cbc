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

    /// <summary>
    /// A house wallet's money is spread over this many shards (<c>house_funding_RWF.0</c> … <c>.31</c>), each a wallet
    /// of its own: every deposit or withdrawal of a currency goes through its house wallet, and one wallet takes one
    /// movement at a time. The house wallet's balance is its own plus its shards'. The number only ever grows.
    /// </summary>
    public const int HouseShards = 32;

    private const char ShardSeparator = '.';

    /// <summary>
    /// Recognises the per-currency house wallets and their shards, which exist implicitly for every supported currency.
    /// </summary>
    public static bool TryParseHouse(string walletId, out WalletKind kind, out string currency)
    {
        string rest;
        if (walletId.StartsWith(FundingPrefix, StringComparison.Ordinal))
        {
            kind = WalletKind.HouseFunding;
            rest = walletId[FundingPrefix.Length..];
        }
        else if (walletId.StartsWith(PayoutPrefix, StringComparison.Ordinal))
        {
            kind = WalletKind.HousePayout;
            rest = walletId[PayoutPrefix.Length..];
        }
        else
        {
            kind = WalletKind.Customer;
            currency = "";
            return false;
        }
        var separator = rest.IndexOf(ShardSeparator, StringComparison.Ordinal);
        currency = separator < 0 ? rest : rest[..separator];
        return Money.Currencies.IsSupported(currency) && (separator < 0 || TryParseShard(rest[(separator + 1)..], out _));
    }

    /// <summary>True for a shard of a house wallet, false for the house wallet itself and every other id.</summary>
    public static bool IsHouseShard(string walletId) =>
        TryParseHouse(walletId, out _, out _) && walletId.Contains(ShardSeparator, StringComparison.Ordinal);

    /// <summary>The shards of a house wallet.</summary>
    public static IEnumerable<string> ShardsOf(string houseWalletId) =>
        Enumerable.Range(0, HouseShards).Select(shard => $"{houseWalletId}{ShardSeparator}{shard}");

    /// <summary>
    /// The wallet that carries a movement's leg on <paramref name="walletId"/>: the wallet itself, or for a house wallet
    /// one of its shards, always the same one for a transaction.
    /// </summary>
    public static string LegWallet(string walletId, string transactionId)
    {
        if (!TryParseHouse(walletId, out _, out _) || IsHouseShard(walletId))
        {
            return walletId;
        }
        // FNV-1a: stable across processes and runs, unlike string.GetHashCode.
        var hash = 2166136261u;
        foreach (var c in transactionId)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return $"{walletId}{ShardSeparator}{hash % HouseShards}";
    }

    private static bool TryParseShard(string text, out int shard) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out shard)
        && shard < HouseShards && text == shard.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True when the id has the shape of some wallet id; anything else is not worth a grain activation.</summary>
    public static bool IsWellFormed(string? walletId) =>
        walletId is not null && (Ids.HasShape(walletId, CustomerPrefix) || TryParseHouse(walletId, out _, out _));
}
