namespace Tekana.Abstractions.Errors;

/// <summary>
/// A wallet refused a write because its silo is stopping. The wallet's next activation, on another silo, takes it
/// within seconds: retrying is safe and soon succeeds.
/// </summary>
[GenerateSerializer]
public sealed class WalletMovingException : Exception
{
    public WalletMovingException(string walletId)
        : base($"Wallet {walletId} is moving off a stopping silo; retry.")
    {
    }

    /// <summary>The refusal behind a failed call (a transaction wraps it in its abort), or null.</summary>
    public static WalletMovingException? Find(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is WalletMovingException moving)
            {
                return moving;
            }
        }
        return null;
    }
}
