using Tekana.Abstractions.Events;

namespace Tekana.Grains.History;

/// <summary>One wallet entry as history shows it. <see cref="Amount"/> is signed: negative when money left.</summary>
public sealed record LedgerEntry(
    string WalletId, long Sequence, string TransactionId, string Type, long Amount, string Currency, long BalanceAfter,
    string Counterparty, string? Description, DateTimeOffset OccurredAt);

public sealed record HistoryQuery(long? Before, int Limit, DateTimeOffset? From, DateTimeOffset? To, string? Type);

public sealed record CustomerRow(
    string Id, string FullName, string Email, string PhoneNumber, string Country, string Status, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>
/// The read model: wallet history and customer search, projected from the event stream. Appending is idempotent
/// (keyed by wallet and sequence, and by customer event number), so replays and duplicates change nothing.
/// </summary>
public interface IHistoryStore
{
    Task AppendAsync(IReadOnlyList<LedgerEvent> events, CancellationToken cancellationToken = default);

    /// <summary>Entries of one wallet, newest first, strictly before sequence <see cref="HistoryQuery.Before"/>.</summary>
    Task<IReadOnlyList<LedgerEntry>> EntriesAsync(string walletId, HistoryQuery query, CancellationToken cancellationToken = default);

    /// <summary>Customers whose name, email or phone contains <paramref name="query"/>, ordered by id, after <paramref name="afterId"/>.</summary>
    Task<IReadOnlyList<CustomerRow>> SearchCustomersAsync(string? query, string? afterId, int limit, CancellationToken cancellationToken = default);
}

/// <summary>How a movement event becomes the subject wallet's history entry.</summary>
public static class Projection
{
    public static LedgerEntry? EntryOf(LedgerEvent e) => e.Movement is { } leg
        ? new LedgerEntry(leg.WalletId, leg.Sequence, leg.TransactionId, leg.Type.ToString().ToLowerInvariant(), leg.Amount,
            leg.Currency, leg.BalanceAfter, leg.CounterpartyWalletId, leg.Description, leg.CreatedAt)
        : null;

    public static CustomerRow? CustomerOf(LedgerEvent e) => e.Customer is { } c
        ? new CustomerRow(c.Id, c.FullName, c.Email, c.PhoneNumber, c.Country, c.Status.ToString().ToLowerInvariant(), c.CreatedAt, c.UpdatedAt)
        : null;
}
