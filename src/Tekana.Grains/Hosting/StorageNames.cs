namespace Tekana.Grains.Hosting;

/// <summary>Names of the grain storages. Both live in the same PostgreSQL table; the names keep their rows apart.</summary>
public static class StorageNames
{
    /// <summary>Wallet balances and transaction records: transactional state.</summary>
    public const string Ledger = "ledger";

    /// <summary>Customer profiles and identity claims: plain grain state.</summary>
    public const string Customers = "customers";
}
