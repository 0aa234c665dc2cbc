using Tekana.Abstractions.Transfers;
using Tekana.Domain.Errors;

namespace Tekana.Api.Transfers;

/// <summary>Money from one wallet to another, same currency. <c>amount</c> is an integer in minor units.</summary>
public sealed record TransferRequest(string? FromWalletId, string? ToWalletId, long Amount, string? Currency, string? Description, Dictionary<string, string>? Metadata);

/// <summary>A top-up from a payment provider into a customer wallet; <c>externalReference</c> is the provider's id.</summary>
public sealed record DepositRequest(string? ToWalletId, long Amount, string? Currency, string? ExternalReference, string? Description, Dictionary<string, string>? Metadata);

/// <summary>A payout out of a customer wallet.</summary>
public sealed record WithdrawalRequest(string? FromWalletId, long Amount, string? Currency, string? ExternalReference, string? Description, Dictionary<string, string>? Metadata);

/// <summary>A movement. Balances after each leg are shown only to those who may see that wallet.</summary>
public sealed record TransactionResponse(
    string Id, string Type, string Status, long Amount, string Currency, string FromWalletId, string ToWalletId,
    string? ExternalReference, string? Description, IReadOnlyDictionary<string, string> Metadata, string IdempotencyKey,
    DateTimeOffset CreatedAt, long? FromSequence, long? ToSequence, long? FromBalanceAfter, long? ToBalanceAfter,
    string? FailureCode, string? FailureMessage)
{
    public static TransactionResponse From(TransactionRecord r, bool showFrom = true, bool showTo = true) => new(
        r.Id, r.Type.ToString().ToLowerInvariant(), r.Status.ToString().ToLowerInvariant(), r.Amount, r.Currency,
        r.FromWalletId, r.ToWalletId, r.ExternalReference, r.Description, r.Metadata, r.IdempotencyKey, r.CreatedAt,
        showFrom && r.FromSequence > 0 ? r.FromSequence : null,
        showTo && r.ToSequence > 0 ? r.ToSequence : null,
        showFrom && r.FromSequence > 0 ? r.FromBalanceAfter : null,
        showTo && r.ToSequence > 0 ? r.ToBalanceAfter : null,
        r.FailureCode?.Slug(), r.FailureMessage);
}
