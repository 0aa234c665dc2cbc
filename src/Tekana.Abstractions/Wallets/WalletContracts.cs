using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;
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

/// <summary>One leg of a movement as a wallet sees it, with what its event needs to say.</summary>
[GenerateSerializer, Immutable]
public sealed record WalletEntry
{
    [Id(0)] public required string TransactionId { get; init; }
    [Id(1)] public required long Amount { get; init; }
    [Id(2)] public required string Currency { get; init; }
    /// <summary>When set, the debited wallet must belong to this customer.</summary>
    [Id(3)] public string? InitiatedBy { get; init; }
    [Id(4)] public required MovementType Type { get; init; }
    [Id(5)] public required string CounterpartyWalletId { get; init; }
    [Id(6)] public required string IdempotencyKey { get; init; }
    [Id(7)] public string? ExternalReference { get; init; }
    [Id(8)] public string? Description { get; init; }
    [Id(9)] public Dictionary<string, string> Metadata { get; init; } = [];
    [Id(10)] public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>
/// What a leg did to a wallet: its position in the wallet's sequence and the balance after it. The leg's event is in
/// the wallet's outbox, and goes out when the movement commits.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record EntryResult(
    [property: Id(0)] long Sequence,
    [property: Id(1)] long BalanceAfter);

/// <summary>A leg that was posted, or the reason it was refused (nothing changed).</summary>
[GenerateSerializer, Immutable]
public sealed record LegOutcome(
    [property: Id(0)] EntryResult? Posted,
    [property: Id(1)] ErrorKind? Refusal,
    [property: Id(2)] string? Message);
