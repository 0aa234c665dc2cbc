using Tekana.Abstractions.Events;

namespace Tekana.Grains.History;

/// <summary>
/// The read model of the embedded default (no PostgreSQL): same projection rules, held in this process. Like the
/// in-memory grain storage it lives as long as the process.
/// </summary>
public sealed class InMemoryHistoryStore : IHistoryStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SortedDictionary<long, LedgerEntry>> _entries = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, (CustomerRow Row, long Number)> _customers = new(StringComparer.Ordinal);

    public Task AppendAsync(IReadOnlyList<LedgerEvent> events, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            foreach (var e in events)
            {
                if (Projection.EntryOf(e) is { } entry)
                {
                    if (!_entries.TryGetValue(entry.WalletId, out var wallet))
                    {
                        _entries[entry.WalletId] = wallet = [];
                    }
                    wallet.TryAdd(entry.Sequence, entry);
                }
                if (Projection.CustomerOf(e) is { } customer
                    && (!_customers.TryGetValue(customer.Id, out var known) || known.Number < e.Number))
                {
                    _customers[customer.Id] = (customer, e.Number);
                }
            }
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<LedgerEntry>> EntriesAsync(string walletId, HistoryQuery query, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            IReadOnlyList<LedgerEntry> page = _entries.TryGetValue(walletId, out var wallet)
                ? wallet.Values.Reverse()
                    .Where(e => (query.Before is null || e.Sequence < query.Before)
                        && (query.From is null || e.OccurredAt >= query.From)
                        && (query.To is null || e.OccurredAt < query.To)
                        && (query.Type is null || e.Type == query.Type))
                    .Take(query.Limit).ToList()
                : [];
            return Task.FromResult(page);
        }
    }

    public Task<IReadOnlyList<CustomerRow>> SearchCustomersAsync(string? query, string? afterId, int limit, CancellationToken cancellationToken = default)
    {
        var needle = query?.Trim().ToLowerInvariant();
        lock (_lock)
        {
            IReadOnlyList<CustomerRow> page = _customers.Values.Select(c => c.Row)
                .Where(c => (afterId is null || string.CompareOrdinal(c.Id, afterId) > 0)
                    && (string.IsNullOrEmpty(needle) || $"{c.FullName.ToLowerInvariant()} {c.Email} {c.PhoneNumber}".Contains(needle, StringComparison.Ordinal)))
                .Take(limit).ToList();
            return Task.FromResult(page);
        }
    }
}
