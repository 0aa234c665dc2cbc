namespace Tekana.Domain.Errors;

/// <summary>Every way a ledger operation can be refused. Each code maps to one stable ProblemDetails type.</summary>
public enum ErrorKind
{
    Validation = 1,
    UnsupportedCurrency,
    CustomerNotFound,
    WalletNotFound,
    TransactionNotFound,
    EmailTaken,
    PhoneTaken,
    CustomerSuspended,
    CustomerClosed,
    CustomerNotEmpty,
    WalletExists,
    WalletFrozen,
    WalletClosed,
    WalletNotEmpty,
    InsufficientFunds,
    CurrencyMismatch,
    SameWallet,
    AmountOverflow,
    IdempotencyConflict,
    InvalidState,
    LedgerBusy,
}

/// <summary>Stable, URL-friendly names of error codes, used as ProblemDetails <c>type</c> suffixes and in stored records.</summary>
public static class ErrorKinds
{
    public static string Slug(this ErrorKind code) => code switch
    {
        ErrorKind.Validation => "validation",
        ErrorKind.UnsupportedCurrency => "unsupported-currency",
        ErrorKind.CustomerNotFound => "customer-not-found",
        ErrorKind.WalletNotFound => "wallet-not-found",
        ErrorKind.TransactionNotFound => "transaction-not-found",
        ErrorKind.EmailTaken => "email-taken",
        ErrorKind.PhoneTaken => "phone-taken",
        ErrorKind.CustomerSuspended => "customer-suspended",
        ErrorKind.CustomerClosed => "customer-closed",
        ErrorKind.CustomerNotEmpty => "customer-not-empty",
        ErrorKind.WalletExists => "wallet-exists",
        ErrorKind.WalletFrozen => "wallet-frozen",
        ErrorKind.WalletClosed => "wallet-closed",
        ErrorKind.WalletNotEmpty => "wallet-not-empty",
        ErrorKind.InsufficientFunds => "insufficient-funds",
        ErrorKind.CurrencyMismatch => "currency-mismatch",
        ErrorKind.SameWallet => "same-wallet",
        ErrorKind.AmountOverflow => "amount-overflow",
        ErrorKind.IdempotencyConflict => "idempotency-conflict",
        ErrorKind.InvalidState => "invalid-state",
        ErrorKind.LedgerBusy => "ledger-busy",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, null),
    };
}
