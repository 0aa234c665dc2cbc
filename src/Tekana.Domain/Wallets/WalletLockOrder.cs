namespace Tekana.Domain.Wallets;

/// <summary>
/// The one order in which a transaction takes the locks of the wallets it touches: customer wallets by id, then the
/// per-currency house wallets (funding, then payout). Orleans ends a cycle of transactions that wait for each other's
/// locks only when a lock times out (seconds, while every transaction queued on those wallets waits too), so no two
/// transactions may take two wallets in opposite orders. The house wallets come last because every deposit or
/// withdrawal of their currency goes through them: a movement takes one only when it holds everything else, so it
/// holds it for the shortest time and never waits for another lock meanwhile.
/// </summary>
public sealed class WalletLockOrder : IComparer<string>
{
    public static readonly WalletLockOrder Instance = new();

    private WalletLockOrder()
    {
    }

    public int Compare(string? x, string? y)
    {
        var byRank = Rank(x).CompareTo(Rank(y));
        return byRank != 0 ? byRank : string.CompareOrdinal(x, y);
    }

    /// <summary>True when a movement from <paramref name="fromWalletId"/> takes its debit's lock before its credit's.</summary>
    public static bool DebitFirst(string fromWalletId, string toWalletId) => Instance.Compare(fromWalletId, toWalletId) <= 0;

    private static int Rank(string? walletId) =>
        walletId is not null && WalletIds.TryParseHouse(walletId, out var kind, out _)
            ? kind == WalletKind.HouseFunding ? 1 : 2
            : 0;
}
