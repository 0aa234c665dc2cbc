namespace Tekana.Domain.Wallets;

public enum WalletKind
{
    Customer = 0,
    /// <summary>Per-currency source of deposits. Its balance is minus the money that ever entered the ledger.</summary>
    HouseFunding = 1,
    /// <summary>Per-currency sink of withdrawals. Its balance is the money that ever left the ledger.</summary>
    HousePayout = 2,
}

public enum WalletStatus
{
    /// <summary>No wallet under this id.</summary>
    None = 0,
    Active = 1,
    /// <summary>Neither sends nor receives.</summary>
    Frozen = 2,
    Closed = 3,
}
