using System.Diagnostics;

namespace Tekana.Abstractions.Errors;

/// <summary>
/// A wallet refused a write because its silo is stopping (Tekana.Grains' SiloDrain, which tells the whole story). The
/// transaction it was asked to join aborts, so nothing of it commits; the wallet's next activation, on another silo,
/// takes the write within seconds, so every writer retries it (<see cref="RetryWhileMoving{T}"/>).
/// </summary>
[GenerateSerializer]
public sealed class WalletMovingException : Exception
{
    public WalletMovingException(string walletId)
        : base($"Wallet {walletId} is moving off a stopping silo; retry.")
    {
    }

    /// <summary>
    /// How long a caller waits for a moving wallet before it reports the failure: a silo drains for 3 s at most, and a
    /// new attempt started this late still ends well inside the API's 11 s attempt timeout.
    /// </summary>
    public static readonly TimeSpan RetryBudget = TimeSpan.FromSeconds(6);

    /// <summary>Between two attempts on a moving wallet: 100 ms to 200 ms.</summary>
    public static TimeSpan Backoff() => TimeSpan.FromMilliseconds(Random.Shared.Next(100, 200));

    /// <summary>Runs <paramref name="call"/> again while a wallet it writes is moving, for up to <see cref="RetryBudget"/>.</summary>
    public static async Task<T> RetryWhileMoving<T>(Func<Task<T>> call, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (Find(e) is not null && Stopwatch.GetElapsedTime(started) < RetryBudget)
            {
                await Task.Delay(Backoff(), cancellationToken);
            }
        }
    }

    /// <inheritdoc cref="RetryWhileMoving{T}"/>
    public static Task RetryWhileMoving(Func<Task> call, CancellationToken cancellationToken = default) =>
        RetryWhileMoving(async () =>
        {
            await call();
            return true;
        }, cancellationToken);

    /// <summary>The refusal behind a failed call (a transaction wraps it in its abort), or null.</summary>
    public static WalletMovingException? Find(Exception exception) => ExceptionChain.Find<WalletMovingException>(exception);
}
