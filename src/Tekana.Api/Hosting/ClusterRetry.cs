using System.Diagnostics;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;
using Orleans.Transactions;
using Tekana.Abstractions.Errors;

namespace Tekana.Api.Hosting;

/// <summary>
/// Calls into the cluster that are safe to repeat (a movement under its idempotency key, a read) are tried again when
/// an attempt was lost with a silo: a crashed silo takes its in-flight requests with it, and their callers would
/// otherwise wait for Orleans' response timeout. A repeat reaches a live silo and finds, or makes, the one outcome.
/// </summary>
public static class ClusterRetry
{
    /// <summary>
    /// Longer than any healthy call under load (p99 is well under a second) and than an Orleans transaction's own
    /// 10 s limit, short next to a client's patience.
    /// </summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(11);

    /// <summary>Past this, the caller gets 503 with Retry-After and may repeat the request itself.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(25);

    public static async Task<T> Idempotent<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call().WaitAsync(AttemptTimeout, cancellationToken);
            }
            catch (Exception e) when (IsLostAttempt(e) && Stopwatch.GetElapsedTime(started) + AttemptTimeout < Budget)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken);
            }
        }
    }

    /// <summary>
    /// A read in a transaction of its own, tried again when that transaction aborts: a read that saw a wallet's
    /// prepared write aborts with it (a cascading abort), and a movement's second run under a key that another silo
    /// is running aborts in its commit. Nothing was changed, so another attempt is always safe.
    /// </summary>
    public static async Task<T> Read<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await Idempotent(call, cancellationToken);
            }
            catch (OrleansTransactionAbortedException) when (attempt < MaxReadAttempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20 * attempt), cancellationToken);
            }
        }
    }

    private const int MaxReadAttempts = 5;

    /// <summary>The attempt's fate is unknown or it never ran: a silo or connection went away, or no answer came.</summary>
    public static bool IsLostAttempt(Exception e) => LedgerException.Find(e) is null && e is
        TimeoutException or SiloUnavailableException or OrleansMessageRejectionException or ConnectionFailedException;
}
