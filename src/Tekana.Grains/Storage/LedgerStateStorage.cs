using System.Globalization;
using Orleans.Serialization;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;

namespace Tekana.Grains.Storage;

/// <summary>
/// Transactional state storage for the ledger: each grain's Orleans transactional record (committed state, pending
/// prepares, metadata) as one row in Orleans' binary format, in the silo's <see cref="IStateRows"/> (PostgreSQL, or
/// memory on the embedded default). The ETag is the row's version.
/// </summary>
internal sealed class LedgerStateStorage<TState>(IStateRows rows, Serializer serializer, IGrainContext grain, string stateName)
    : ITransactionalStateStorage<TState> where TState : class, new()
{
    private readonly string _type = grain.GrainId.Type.ToString()!;
    private readonly string _key = grain.GrainId.Key.ToString()!;
    private TransactionalStateRecord<TState> _record = new();
    private long _version;

    public async Task<TransactionalStorageLoadResponse<TState>> Load()
    {
        grain.GetComponent<MovementSettlements>()?.Clear();
        if (await rows.ReadAsync(new StateRead(_type, _key, stateName)) is { } stored)
        {
            _version = stored.Version;
            _record = serializer.Deserialize<TransactionalStateRecord<TState>>(stored.Payload) ?? new();
        }
        else
        {
            _version = 0;
            _record = new();
        }
        return new TransactionalStorageLoadResponse<TState>(ETag, _record.CommittedState, _record.CommittedSequenceId, _record.Metadata, _record.PendingStates);
    }

    public async Task<string> Store(string? expectedETag, TransactionalStateMetaData metadata, List<PendingTransactionState<TState>>? statesToPrepare, long? commitUpTo, long? abortAfter)
    {
        if (expectedETag != ETag)
        {
            throw new ArgumentException($"ETag {expectedETag} does not match the stored {ETag}.", nameof(expectedETag));
        }
        // A failed write leaves this copy ahead of the database; the transaction queue reloads (Load) after any failure.
        var record = _record;
        record.Metadata = metadata;
        var pending = record.PendingStates;
        if (abortAfter is { } aborted)
        {
            pending.RemoveAll(p => p.SequenceId > aborted);
        }
        foreach (var prepared in statesToPrepare ?? [])
        {
            var at = pending.FindIndex(p => p.SequenceId >= prepared.SequenceId);
            if (at < 0)
            {
                pending.Add(prepared);
            }
            else if (pending[at].SequenceId == prepared.SequenceId)
            {
                pending[at] = prepared;
            }
            else
            {
                pending.Insert(at, prepared);
            }
        }
        if (commitUpTo is { } committed && committed > record.CommittedSequenceId)
        {
            var at = pending.FindIndex(p => p.SequenceId == committed);
            if (at < 0)
            {
                throw new InvalidOperationException($"No prepared state {committed} to commit for {_type}/{_key}.");
            }
            record.CommittedSequenceId = committed;
            record.CommittedState = pending[at].State;
            pending.RemoveRange(0, at + 1);
        }
        var settlements = grain.GetComponent<MovementSettlements>();
        var settled = settlements?.Due(metadata.CommitRecords, (statesToPrepare ?? []).Select(p => p.TransactionId)) ?? [];
        _version = await rows.WriteAsync(new StateWrite(_type, _key, stateName, _version, serializer.SerializeToArray(record))
        {
            Settled = [.. settled.Select(s => new SettledRecord(s.Record.Id, serializer.SerializeToArray(s.Record)))],
        });
        settlements?.Written(settled.Select(s => s.Transaction).Distinct());
        return ETag!;
    }

    private string? ETag => _version == 0 ? null : _version.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Creates <see cref="LedgerStateStorage{TState}"/> for the ledger's transactional states.</summary>
internal sealed class LedgerStateStorageFactory(IStateRows rows, Serializer serializer) : ITransactionalStateStorageFactory
{
    public ITransactionalStateStorage<TState> Create<TState>(string stateName, IGrainContext context) where TState : class, new() =>
        new LedgerStateStorage<TState>(rows, serializer, context, stateName);
}
