namespace Tekana.Abstractions.Transfers;

/// <summary>
/// The entry point for money movement. A stateless worker, local to the caller's silo, that starts one Orleans
/// transaction per movement across the wallets involved and the movement's record, and retries transient aborts
/// under the same idempotency key.
/// </summary>
public interface ILedgerGrain : IGrainWithIntegerKey
{
    /// <summary>Executes a deposit, withdrawal or transfer; a replay of the same key returns the original record.</summary>
    Task<MovementOutcome> Execute(MovementRequest request);

    /// <summary>A movement's record by transaction id.</summary>
    Task<TransactionRecord> GetTransaction(string transactionId);
}

/// <summary>A movement's record, and whether this call only replayed an earlier one.</summary>
[GenerateSerializer, Immutable]
public sealed record MovementOutcome(
    [property: Id(0)] TransactionRecord Record,
    [property: Id(1)] bool Replayed);

/// <summary>The record of one movement, keyed by transaction id. Its state commits with the wallets' balances.</summary>
public interface ITransactionRecordGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts a movement under this id: returns the existing record when the movement already happened (a replay),
    /// or null when it is new. Refuses a different request under the same key.
    /// </summary>
    [Transaction(TransactionOption.Join)]
    Task<TransactionRecord?> Begin(string fingerprint);

    /// <summary>Stores the completed movement, in the same transaction as its legs.</summary>
    [Transaction(TransactionOption.Join)]
    Task Complete(TransactionRecord record);

    /// <summary>Stores a refused movement unless something is stored already; returns what is stored.</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<TransactionRecord> RecordFailure(TransactionRecord record);

    /// <summary>The stored record, or null.</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<TransactionRecord?> Get();
}

/// <summary>Re-reads a wallet's committed outbox in a transaction of its own and hands it back for publication.</summary>
public interface IOutboxRecoveryGrain : IGrainWithIntegerKey
{
    [Orleans.Concurrency.OneWay]
    Task Recover(string walletId);
}
