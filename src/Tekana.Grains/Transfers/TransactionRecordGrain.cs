using Orleans.Placement;
using Orleans.Transactions.Abstractions;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Transfers;
using Tekana.Domain.Errors;
using Tekana.Grains.Hosting;

namespace Tekana.Grains.Transfers;

[GenerateSerializer]
public sealed class TransactionRecordState
{
    [Id(0)] public TransactionRecord? Record { get; set; }
}

/// <remarks>
/// A record is touched by its movement and by replays shortly after, then rarely: it is placed on the silo of the
/// ledger worker that creates it (no remote hop inside the transaction) and deactivated after two idle minutes rather
/// than Orleans' fifteen, so that a silo does not keep every recent movement's transactional machinery in memory.
/// </remarks>
[PreferLocalPlacement]
[CollectionAgeLimit(Minutes = 2)]
public sealed class TransactionRecordGrain(
    [TransactionalState("record", StorageNames.Ledger)] ITransactionalState<TransactionRecordState> state)
    : Grain, ITransactionRecordGrain
{
    // The write lock is taken up front: a new movement writes the record later in the same transaction, and
    // upgrading a read lock under contention aborts the transaction.
    public Task<TransactionRecord?> Begin(string fingerprint) => state.PerformUpdate(s =>
    {
        if (s.Record is { } existing && existing.Fingerprint != fingerprint)
        {
            throw new LedgerException(ErrorKind.IdempotencyConflict,
                "This idempotency key was already used for a different request.");
        }
        return s.Record;
    });

    public Task Complete(TransactionRecord record) => state.PerformUpdate(s => s.Record = record);

    public Task<TransactionRecord> RecordFailure(TransactionRecord record) => state.PerformUpdate(s =>
    {
        if (s.Record is { } existing && existing.Fingerprint != record.Fingerprint)
        {
            throw new LedgerException(ErrorKind.IdempotencyConflict,
                "This idempotency key was already used for a different request.");
        }
        return s.Record ??= record;
    });

    public Task<TransactionRecord?> Get() => state.PerformRead(s => s.Record);
}
