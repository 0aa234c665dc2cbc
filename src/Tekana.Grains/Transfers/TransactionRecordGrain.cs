using Orleans.Placement;
using Orleans.Transactions.Abstractions;
using Tekana.Abstractions;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Events;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Domain.Errors;
using Tekana.Domain.Wallets;
using Tekana.Grains.Hosting;

namespace Tekana.Grains.Transfers;

[GenerateSerializer]
public sealed class TransactionRecordState
{
    [Id(0)] public TransactionRecord? Record { get; set; }
}

/// <remarks>
/// A record is touched by its movement and by replays shortly after, then rarely: it is placed on the silo of the
/// ledger worker that creates it (no remote hop inside the transaction) and deactivated after 15 idle seconds rather
/// than Orleans' fifteen minutes, so that a silo does not keep every recent movement's transactional machinery in
/// memory. A replay after the record went reactivates it from storage and answers the same outcome. The limit is
/// given as text because the attribute's Minutes property rounds anything under a minute up to one.
/// </remarks>
[PreferLocalPlacement]
[CollectionAgeLimit("00:00:15")]
public sealed class TransactionRecordGrain(
    [TransactionalState("record", StorageNames.Ledger)] ITransactionalState<TransactionRecordState> state)
    : Grain, ITransactionRecordGrain
{
    /// <remarks>
    /// The record runs both legs itself, so that the transaction makes the fewest sequential calls: a wallet holds its
    /// lock from its leg until the transaction prepares, and every call in between is time a busy wallet waits. Being
    /// the transaction's first participant, the record also manages its commit. Locks are taken in one order, the
    /// record's first (so duplicates of a request queue on it, holding nothing), then the wallets' in
    /// <see cref="WalletLockOrder"/>. The record's write lock is taken up front: upgrading a read lock under contention
    /// aborts the transaction.
    /// </remarks>
    public async Task<MovementRun> Run(TransactionRecord pending)
    {
        var existing = await Open(pending);
        if (existing is not null)
        {
            return new MovementRun(existing, Replayed: true, []);
        }

        // A house wallet's leg goes to one of its shards; the record and the other leg name the house wallet itself.
        var debit = () => GrainFactory.Reference<IWalletGrain>(WalletIds.LegWallet(pending.FromWalletId, pending.Id))
            .Debit(DebitLeg(pending));
        var credit = () => GrainFactory.Reference<IWalletGrain>(WalletIds.LegWallet(pending.ToWalletId, pending.Id))
            .Credit(CreditLeg(pending));
        EntryResult debited, credited;
        if (WalletLockOrder.DebitFirst(pending.FromWalletId, pending.ToWalletId))
        {
            debited = await debit();
            credited = await credit();
        }
        else
        {
            credited = await credit();
            debited = await debit();
        }
        var completed = pending with
        {
            FromSequence = debited.Sequence,
            FromBalanceAfter = debited.BalanceAfter,
            ToSequence = credited.Sequence,
            ToBalanceAfter = credited.BalanceAfter,
        };
        await Settle(completed);
        return new MovementRun(completed, Replayed: false, [.. new[] { debited.Event, credited.Event }.OfType<LedgerEvent>()]);
    }

    public Task<TransactionRecord?> Open(TransactionRecord pending) => state.PerformUpdate(s =>
    {
        EnsureSameRequest(s.Record, pending);
        return s.Record;
    });

    public Task Settle(TransactionRecord record) => state.PerformUpdate(s => s.Record = record);

    public Task<TransactionRecord> RecordFailure(TransactionRecord record) => state.PerformUpdate(s =>
    {
        EnsureSameRequest(s.Record, record);
        return s.Record ??= record;
    });

    public Task<TransactionRecord?> Get() => state.PerformRead(s => s.Record);

    private static void EnsureSameRequest(TransactionRecord? stored, TransactionRecord request)
    {
        if (stored is not null && stored.Fingerprint != request.Fingerprint)
        {
            throw new LedgerException(ErrorKind.IdempotencyConflict, "This idempotency key was already used for a different request.");
        }
    }

    /// <summary>The debit leg of a movement, as its source wallet sees it.</summary>
    internal static WalletEntry DebitLeg(TransactionRecord movement) => Leg(movement, movement.ToWalletId, movement.InitiatedBy);

    /// <summary>The credit leg of a movement, as its destination wallet sees it.</summary>
    internal static WalletEntry CreditLeg(TransactionRecord movement) => Leg(movement, movement.FromWalletId, null);

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
