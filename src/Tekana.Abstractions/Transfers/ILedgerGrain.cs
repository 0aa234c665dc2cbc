
namespace Tekana.Abstractions.Transfers;

/// <summary>
/// The entry point for money movement. A stateless worker, local to the caller's silo, that has each movement run
/// by its record as one Orleans transaction across the record and the two wallets involved, and retries transient
/// aborts under the same idempotency key.
/// </summary>
public interface ILedgerGrain : IGrainWithIntegerKey
{
    /// <summary>Executes a deposit, withdrawal or transfer; a replay of the same key returns the original record.</summary>
    Task<MovementOutcome> Execute(MovementRequest request);

    /// <summary>A movement's record by transaction id.</summary>
    Task<TransactionRecord> GetTransaction(string transactionId);
}

/// <summary>
/// How a client picks the ledger worker it calls: round robin over <see cref="Keys"/> ledger ids, a fresh set of them
/// every <c>rotation</c>.
/// </summary>
/// <remarks>
/// An Orleans client sends every call for one grain id through one gateway, and a stateless worker runs on the silo
/// that receives the call. With a single id, one API's whole traffic went through one silo, at most one id's workers
/// ran its movements, and when that silo died every call in flight waited out its timeout. The client binds an id to
/// a gateway the first time it calls it and keeps it there until that connection breaks, so a fixed set of ids would
/// never reach a silo that joined later (scale out, or a crashed silo back): ids of a new rotation are bound over the
/// gateways live at that time. The previous rotation's workers are collected once idle.
/// </remarks>
public sealed class LedgerEntry(IGrainFactory grains, TimeProvider clock, TimeSpan rotation)
{
    /// <summary>Ledger ids a client spreads its calls over at any time.</summary>
    public const int Keys = 16;

    private readonly TimeSpan _rotation = rotation >= TimeSpan.FromMilliseconds(1)
        ? rotation
        : throw new ArgumentOutOfRangeException(nameof(rotation), rotation, "The rotation of ledger ids must be positive.");

    private int _next;

    /// <summary>The worker for the next call.</summary>
    public ILedgerGrain Next() => grains.GetGrain<ILedgerGrain>(IdAt(clock.GetUtcNow(), _rotation, (uint)Interlocked.Increment(ref _next)));

    /// <summary>The ledger id of a client's <paramref name="call"/>th call at <paramref name="now"/>.</summary>
    public static long IdAt(DateTimeOffset now, TimeSpan rotation, uint call) =>
        now.ToUnixTimeMilliseconds() / (long)rotation.TotalMilliseconds * Keys + call % Keys;
}

/// <summary>A movement's record, and whether this call only replayed an earlier one.</summary>
[GenerateSerializer, Immutable]
public sealed record MovementOutcome(
    [property: Id(0)] TransactionRecord Record,
    [property: Id(1)] bool Replayed);

/// <summary>What a run of a movement's transaction produced: the record, and whether it was only replayed.</summary>
[GenerateSerializer, Immutable]
public sealed record MovementRun(
    [property: Id(0)] TransactionRecord Record,
    [property: Id(1)] bool Replayed);

/// <summary>Re-reads a wallet's committed outbox in a transaction of its own and hands it back for publication.</summary>
public interface IOutboxRecoveryGrain : IGrainWithIntegerKey
{
    [Orleans.Concurrency.OneWay]
    Task Recover(string walletId);
}

/// <summary>
/// Runs the movements that pay one wallet in batches, when many arrive at once: one transaction for up to a batch of
/// them, so that the payee's lock is taken once per batch instead of once per movement. Keyed by the payee's wallet id.
/// </summary>
public interface IPayeeBatchGrain : IGrainWithStringKey
{
    /// <summary>
    /// Runs the movement in the next batch: its record, or null when the batch could not run as a whole (a refusal
    /// that only the payee can give, or a transient abort), in which case the caller runs the movement alone.
    /// </summary>
    Task<MovementRun?> Submit(TransactionRecord pending);
}
