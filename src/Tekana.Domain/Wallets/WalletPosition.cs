using Tekana.Domain.Errors;
using Tekana.Domain.Money;

namespace Tekana.Domain.Wallets;

/// <summary>What the money rules need to know about one wallet at the moment of a movement.</summary>
public readonly record struct WalletPosition(WalletKind Kind, WalletStatus Status, bool OwnerSuspended, string Currency, long Balance)
{
    /// <summary>House wallets are the only ones allowed below zero: the funding wallet mirrors all money that entered.</summary>
    public bool MayGoNegative => Kind != WalletKind.Customer;

    /// <summary>Checks that <paramref name="amount"/> may leave this wallet and computes the balance after.</summary>
    public DomainError? Debit(string currency, long amount, out long balanceAfter)
    {
        balanceAfter = Balance;
        if (CommonChecks(currency, amount) is { } error)
        {
            return error;
        }
        if (OwnerSuspended)
        {
            return new DomainError(ErrorKind.CustomerSuspended, "The wallet's owner is suspended and cannot send or withdraw money.");
        }
        if (!Amounts.TrySubtract(Balance, amount, out var after))
        {
            return new DomainError(ErrorKind.AmountOverflow, "The movement would overflow the wallet's balance.");
        }
        if (after < 0 && !MayGoNegative)
        {
            return new DomainError(ErrorKind.InsufficientFunds, "The wallet's balance is lower than the amount.");
        }
        balanceAfter = after;
        return null;
    }

    /// <summary>Checks that <paramref name="amount"/> may enter this wallet and computes the balance after.</summary>
    public DomainError? Credit(string currency, long amount, out long balanceAfter)
    {
        balanceAfter = Balance;
        if (CommonChecks(currency, amount) is { } error)
        {
            return error;
        }
        if (!Amounts.TryAdd(Balance, amount, out var after))
        {
            return new DomainError(ErrorKind.AmountOverflow, "The movement would overflow the wallet's balance.");
        }
        balanceAfter = after;
        return null;
    }

    public DomainError? CanFreeze() => Status switch
    {
        WalletStatus.None => NotFound(),
        WalletStatus.Closed => new DomainError(ErrorKind.WalletClosed, "The wallet is closed."),
        _ when Kind != WalletKind.Customer => new DomainError(ErrorKind.InvalidState, "House wallets cannot be frozen."),
        _ => null,
    };

    public DomainError? CanClose() => Status switch
    {
        WalletStatus.None => NotFound(),
        _ when Kind != WalletKind.Customer => new DomainError(ErrorKind.InvalidState, "House wallets cannot be closed."),
        _ when Balance != 0 => new DomainError(ErrorKind.WalletNotEmpty, "Only a wallet with a zero balance can be closed."),
        _ => null,
    };

    private DomainError? CommonChecks(string currency, long amount)
    {
        if (Status == WalletStatus.None)
        {
            return NotFound();
        }
        if (Amounts.ValidateMovement(amount) is { } invalid)
        {
            return invalid;
        }
        if (!string.Equals(Currency, currency, StringComparison.Ordinal))
        {
            return new DomainError(ErrorKind.CurrencyMismatch, $"The wallet holds {Currency}, not {currency}.");
        }
        return Status switch
        {
            WalletStatus.Frozen => new DomainError(ErrorKind.WalletFrozen, "The wallet is frozen."),
            WalletStatus.Closed => new DomainError(ErrorKind.WalletClosed, "The wallet is closed."),
            _ => null,
        };
    }

    private static DomainError NotFound() => new(ErrorKind.WalletNotFound, "The wallet does not exist.");
}
