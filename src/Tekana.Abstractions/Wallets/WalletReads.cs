namespace Tekana.Abstractions.Wallets;

public static class WalletReads
{
    /// <summary>
    /// The wallet as <see cref="IWalletGrain.Get"/> answers it, outside any transaction: from its committed state when
    /// that is known to be current (most wallets, most of the time), else in a read transaction of its own. Not for use
    /// inside a transaction, whose reads must all come from its own snapshot.
    /// </summary>
    public static async Task<WalletView> Read(this IWalletGrain wallet) => await wallet.GetIfSettled() ?? await wallet.Get();
}
