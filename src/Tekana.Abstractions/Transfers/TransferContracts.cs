using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;

namespace Tekana.Abstractions.Transfers;

/// <summary>
/// A request to move money. <paramref name="Scope"/> names who asked (a customer or a service account): the
/// idempotency key is unique within it. <paramref name="InitiatedBy"/>, when set, must own the source wallet.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record MovementRequest(
    [property: Id(0)] MovementType Type,
    [property: Id(1)] string Scope,
    [property: Id(2)] string IdempotencyKey,
    [property: Id(3)] string? InitiatedBy,
    [property: Id(4)] string? FromWalletId,
    [property: Id(5)] string? ToWalletId,
    [property: Id(6)] long Amount,
    [property: Id(7)] string Currency,
    [property: Id(8)] string? ExternalReference,
    [property: Id(9)] string? Description,
    [property: Id(10)] Dictionary<string, string>? Metadata);

/// <summary>The durable record of a movement, completed or refused. Fetched by id; replays return it unchanged.</summary>
[GenerateSerializer, Immutable]
public sealed record TransactionRecord
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required MovementType Type { get; init; }
    [Id(2)] public required MovementStatus Status { get; init; }
    [Id(3)] public required long Amount { get; init; }
    [Id(4)] public required string Currency { get; init; }
    [Id(5)] public required string FromWalletId { get; init; }
    [Id(6)] public required string ToWalletId { get; init; }
    [Id(7)] public string? ExternalReference { get; init; }
    [Id(8)] public string? Description { get; init; }
    [Id(9)] public Dictionary<string, string> Metadata { get; init; } = [];
    [Id(10)] public required string IdempotencyKey { get; init; }
    [Id(11)] public required string Fingerprint { get; init; }
    [Id(12)] public string? InitiatedBy { get; init; }
    [Id(13)] public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>Position of the debit leg in the source wallet's sequence (0 when refused).</summary>
    [Id(14)] public long FromSequence { get; init; }
    /// <summary>Position of the credit leg in the destination wallet's sequence (0 when refused).</summary>
    [Id(15)] public long ToSequence { get; init; }
    [Id(16)] public long FromBalanceAfter { get; init; }
    [Id(17)] public long ToBalanceAfter { get; init; }
    [Id(18)] public ErrorKind? FailureCode { get; init; }
    [Id(19)] public string? FailureMessage { get; init; }
}
