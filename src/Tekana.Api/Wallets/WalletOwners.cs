using System.Collections.Concurrent;
using Tekana.Abstractions.Wallets;

namespace Tekana.Api.Wallets;

/// <summary>
/// The owner of each wallet this API instance has read, so that the history of a wallet, which comes from the read
/// model, does not also take a call to the wallet's grain to tell who may see it. Safe to keep without expiry: a wallet
/// exists from the moment a read finds it (none is ever removed) and its owner is set once, when it opens.
/// </summary>
internal sealed class WalletOwners
{
    /// <summary>Wallets remembered at most (about 200 bytes each, 20 MB in all); reaching it starts over from an empty set.</summary>
    public const int Capacity = 100_000;

    /// <summary>Wallet id to owner id, or to "" for a house wallet.</summary>
    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);
    private int _count;

    public void Remember(WalletView wallet)
    {
        if (_owners.TryAdd(wallet.Id, wallet.OwnerId ?? "") && Interlocked.Increment(ref _count) > Capacity)
        {
            // Rare and cheap to recover from: the wallets read next are remembered again.
            Interlocked.Exchange(ref _count, 0);
            _owners.Clear();
        }
    }

    /// <summary>The owner of a wallet known to exist ("" for a house wallet), or null when this instance has not read it.</summary>
    public string? Find(string walletId) => _owners.TryGetValue(walletId, out var owner) ? owner : null;
}
