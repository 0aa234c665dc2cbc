using Tekana.Abstractions.Events;
using Tekana.Domain.Wallets;

namespace Tekana.Grains.Wallets;

/// <summary>A wallet's transactional state. Kept small: it is copied and stored on every movement.</summary>
[GenerateSerializer]
public sealed class WalletState
{
    [Id(0)] public string? OwnerId { get; set; }
    [Id(1)] public string Currency { get; set; } = "";
    [Id(2)] public WalletKind Kind { get; set; }
    [Id(3)] public WalletStatus Status { get; set; }
    [Id(4)] public long Balance { get; set; }
    /// <summary>Number of entries ever posted; each debit or credit takes the next value.</summary>
    [Id(5)] public long Sequence { get; set; }
    [Id(6)] public bool OwnerSuspended { get; set; }
    [Id(7)] public DateTimeOffset OpenedAt { get; set; }
    [Id(8)] public DateTimeOffset UpdatedAt { get; set; }
    /// <summary>Number of events this wallet ever emitted; each takes the next value.</summary>
    [Id(9)] public long EventNumber { get; set; }
    /// <summary>Events committed with the state and not yet acknowledged by every sink (the transactional outbox).</summary>
    [Id(10)] public List<LedgerEvent> Outbox { get; set; } = [];

    public WalletPosition Position => new(Kind, Status, OwnerSuspended, Currency, Balance);
}
