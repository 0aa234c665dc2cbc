using Orleans.Runtime;
using Orleans.Transactions;
using Tekana.Abstractions.Errors;

namespace Tekana.Grains.Transfers;

/// <summary>
/// Which failures of a movement may be retried under the same idempotency key. Retrying is safe even when the
/// outcome is in doubt: a movement's record commits with its legs, and every attempt looks for it first, so an attempt
/// that did commit is found by the next.
/// </summary>
internal static class TransientFailures
{
    public const int MaxAttempts = 6;

    public static bool IsTransient(Exception exception) =>
        LedgerException.Find(exception) is null && exception is
            OrleansTransactionAbortedException or
            OrleansTransactionInDoubtException or
            OrleansTransactionOverloadException or
            OrleansStartTransactionFailedException or
            OrleansTransactionServiceNotAvailableException or
            OrleansBrokenTransactionLockException or
            TimeoutException or
            SiloUnavailableException or
            GatewayTooBusyException or
            Npgsql.NpgsqlException;

    /// <summary>Exponential backoff with full jitter: 10 ms, 20 ms, ... capped at 320 ms.</summary>
    public static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Random.Shared.Next(5, 10 << Math.Min(attempt, 5)));
}
