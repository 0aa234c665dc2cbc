using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;

namespace Tekana.Grains.Transfers;

/// <summary>A movement's two legs, as its wallets see them.</summary>
internal static class MovementLegs
{
    /// <summary>The debit leg of a movement, as its source wallet sees it.</summary>
    public static WalletEntry Debit(TransactionRecord movement) => Leg(movement, movement.ToWalletId, movement.InitiatedBy);

    /// <summary>The credit leg of a movement, as its destination wallet sees it.</summary>
    public static WalletEntry Credit(TransactionRecord movement) => Leg(movement, movement.FromWalletId, null);

    /// <summary>The record of a movement whose legs both posted.</summary>
    public static TransactionRecord Completed(TransactionRecord movement, EntryResult debited, EntryResult credited) => movement with
    {
        FromSequence = debited.Sequence,
        FromBalanceAfter = debited.BalanceAfter,
        ToSequence = credited.Sequence,
        ToBalanceAfter = credited.BalanceAfter,
    };

    private static WalletEntry Leg(TransactionRecord movement, string counterparty, string? initiatedBy) => new()
    {
        TransactionId = movement.Id,
        Amount = movement.Amount,
        Currency = movement.Currency,
        InitiatedBy = initiatedBy,
        Type = movement.Type,
        CounterpartyWalletId = counterparty,
        IdempotencyKey = movement.IdempotencyKey,
        ExternalReference = movement.ExternalReference,
        Description = movement.Description,
        Metadata = movement.Metadata,
        CreatedAt = movement.CreatedAt,
    };
}
