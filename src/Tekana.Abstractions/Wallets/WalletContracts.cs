using Tekana.Domain.Wallets;

namespace Tekana.Abstractions.Wallets;

[GenerateSerializer, Immutable]
public sealed record WalletView(
    [property: Id(0)] string Id,
    [property: Id(1)] string? OwnerId,
    [property: Id(2)] string Currency,
    [property: Id(3)] WalletKind Kind,
    [property: Id(4)] WalletStatus Status,
    [property: Id(5)] long Balance,
    [property: Id(6)] long Sequence,
    [property: Id(7)] bool OwnerSuspended,
    [property: Id(8)] DateTimeOffset OpenedAt,
    [property: Id(9)] DateTimeOffset UpdatedAt);

/// <summary>One leg of a movement as a wallet sees it.</summary>
[GenerateSerializer, Immutable]
public sealed record WalletEntry(
    [property: Id(0)] string TransactionId,
    [property: Id(1)] long Amount,
    [property: Id(2)] string Currency,
    [property: Id(3)] string? InitiatedBy);

/// <summary>What a leg did to a wallet: its position in the wallet's sequence and the balance after it.</summary>
[GenerateSerializer, Immutable]
public sealed record EntryResult(
    [property: Id(0)] long Sequence,
    [property: Id(1)] long BalanceAfter);
