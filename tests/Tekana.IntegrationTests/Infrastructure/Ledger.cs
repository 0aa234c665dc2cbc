using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Domain.Transfers;

namespace Tekana.IntegrationTests.Infrastructure;

/// <summary>Short-hands that keep the tests about rules rather than plumbing.</summary>
public static class Ledger
{
    private static int _sequence;

    public static string Unique() => $"{Interlocked.Increment(ref _sequence)}{Guid.NewGuid():N}"[..12];

    public static RegisterCustomer NewCustomer(string currency = "RWF")
    {
        var unique = Unique();
        var digits = string.Concat(unique.Select(c => (char)('0' + c % 10)))[..9];
        return new RegisterCustomer($"Customer {unique}", $"c{unique}@example.com", $"+2507{digits}", "RW", currency, "correct horse battery");
    }

    public static async Task<(CustomerView Customer, string WalletId)> RegisterAsync(this IClusterClient client, string currency = "RWF")
    {
        var command = NewCustomer(currency);
        var customer = await client.GetGrain<ICustomerGrain>(Domain.Ids.NewCustomerId()).Register(command);
        return (customer, customer.Wallets.Single().WalletId);
    }

    public static MovementRequest Deposit(string toWallet, long amount, string currency = "RWF", string? key = null) =>
        new(MovementType.Deposit, "operator:test", key ?? Unique(), null, null, toWallet, amount, currency, "psp-" + Unique(), null, null);

    public static MovementRequest Withdrawal(string fromWallet, long amount, string currency = "RWF", string? key = null) =>
        new(MovementType.Withdrawal, "operator:test", key ?? Unique(), null, fromWallet, null, amount, currency, "payout-" + Unique(), null, null);

    public static MovementRequest Transfer(string from, string to, long amount, string currency = "RWF", string? key = null, string? initiatedBy = null) =>
        new(MovementType.Transfer, initiatedBy ?? "operator:test", key ?? Unique(), initiatedBy, from, to, amount, currency, null, "test transfer", null);

    public static async Task<TransactionRecord> Execute(this IClusterClient client, MovementRequest request) =>
        (await client.GetGrain<ILedgerGrain>(0).Execute(request)).Record;

    public static Task<WalletView> Wallet(this IClusterClient client, string walletId) =>
        client.GetGrain<IWalletGrain>(walletId).Get();

    public static async Task<long> Balance(this IClusterClient client, string walletId) => (await client.Wallet(walletId)).Balance;
}

public static class RecordAssert
{
    /// <summary>Two records are the same movement: same id, outcome, legs and creation time.</summary>
    public static void Same(Tekana.Abstractions.Transfers.TransactionRecord expected, Tekana.Abstractions.Transfers.TransactionRecord actual)
    {
        Assert.Equal(expected, actual, new RecordComparer());
        Assert.Equal(expected.Metadata.OrderBy(e => e.Key), actual.Metadata.OrderBy(e => e.Key));
    }

    private sealed class RecordComparer : IEqualityComparer<Tekana.Abstractions.Transfers.TransactionRecord>
    {
        public bool Equals(Tekana.Abstractions.Transfers.TransactionRecord? x, Tekana.Abstractions.Transfers.TransactionRecord? y) =>
            x is not null && y is not null
            && (x.Id, x.Type, x.Status, x.Amount, x.Currency, x.FromWalletId, x.ToWalletId, x.FromSequence, x.ToSequence,
                x.FromBalanceAfter, x.ToBalanceAfter, x.CreatedAt, x.FailureCode, x.Fingerprint)
            == (y.Id, y.Type, y.Status, y.Amount, y.Currency, y.FromWalletId, y.ToWalletId, y.FromSequence, y.ToSequence,
                y.FromBalanceAfter, y.ToBalanceAfter, y.CreatedAt, y.FailureCode, y.Fingerprint);

        public int GetHashCode(Tekana.Abstractions.Transfers.TransactionRecord obj) => obj.Id.GetHashCode(StringComparison.Ordinal);
    }
}
