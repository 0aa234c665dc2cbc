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
