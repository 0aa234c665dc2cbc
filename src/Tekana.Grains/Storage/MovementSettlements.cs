using Tekana.Abstractions.Transfers;

namespace Tekana.Grains.Storage;

/// <summary>
/// The movement records a wallet carries for the transactions it manages, handed from the grain to its ledger storage
/// (one per activation, a component of the grain's context). The storage writes a transaction's records in the same
/// database commit as that transaction's commit record, the write that commits it: a movement's record exists exactly
/// when its legs committed, and a record already stored under the same id fails that write, which aborts the
/// transaction (<see cref="MovementRecords"/>). Records stay out of the wallet's state, which every movement copies.
/// </summary>
internal sealed class MovementSettlements(TimeProvider clock)
{
    /// <summary>
    /// How long the records of a transaction that never committed here are kept. Its commit would have come within its
    /// prepare timeout (0.75 s, TekanaSiloBuilderExtensions) of its last call; a reload of the state (after any storage
    /// failure) drops them all.
    /// </summary>
    private static readonly TimeSpan Abandoned = TimeSpan.FromMinutes(2);

    private readonly Dictionary<Guid, (TransactionRecord[] Records, DateTimeOffset Since)> _pending = [];

    /// <summary>Whether any transaction's records wait here.</summary>
    public bool HasPending => _pending.Count > 0;

    public void Add(Guid transaction, TransactionRecord[] records)
    {
        if (records.Length == 0)
        {
            return;
        }
        var now = clock.GetUtcNow();
        foreach (var (id, pending) in _pending)
        {
            // Removing while enumerating is allowed for a Dictionary; it is rare, and spares a list per movement.
            if (now - pending.Since > Abandoned)
            {
                _pending.Remove(id);
            }
        }
        _pending[transaction] = _pending.TryGetValue(transaction, out var earlier)
            ? ([.. earlier.Records, .. records], earlier.Since)
            : (records, now);
    }

    /// <summary>
    /// The records to write with a state whose metadata holds <paramref name="commitRecords"/>: those of the transactions
    /// this write commits. A transaction prepared here without its commit record is managed elsewhere, and its records
    /// would never be written: that prepare fails, and the transaction aborts.
    /// </summary>
    public IReadOnlyList<(Guid Transaction, TransactionRecord Record)> Due(
        IReadOnlyDictionary<Guid, Orleans.Transactions.Abstractions.CommitRecord> commitRecords, IEnumerable<string> prepared)
    {
        if (_pending.Count == 0)
        {
            return [];
        }
        foreach (var id in prepared)
        {
            if (Guid.TryParse(id, out var transaction) && _pending.ContainsKey(transaction) && !commitRecords.ContainsKey(transaction))
            {
                throw new InvalidOperationException($"Transaction {transaction} carries movement records to a wallet that does not manage its commit.");
            }
        }
        List<(Guid, TransactionRecord)>? due = null;
        foreach (var (transaction, pending) in _pending)
        {
            if (commitRecords.ContainsKey(transaction))
            {
                due ??= [];
                foreach (var record in pending.Records)
                {
                    due.Add((transaction, record));
                }
            }
        }
        return due ?? [];
    }

    /// <summary>The records of these transactions are stored.</summary>
    public void Written(IEnumerable<Guid> transactions)
    {
        foreach (var transaction in transactions)
        {
            _pending.Remove(transaction);
        }
    }

    /// <summary>The state was reloaded: whatever was pending either committed with its records or aborted.</summary>
    public void Clear() => _pending.Clear();
}
