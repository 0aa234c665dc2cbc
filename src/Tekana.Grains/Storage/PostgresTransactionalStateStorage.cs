using System.Globalization;
using Orleans.Serialization;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;

namespace Tekana.Grains.Storage;

/// <summary>
/// Transactional state storage for the ledger on PostgreSQL: each grain's Orleans transactional record (committed
/// state, pending prepares, metadata) as one row in Orleans' binary format, read through the silo's
/// <see cref="GroupReader"/> and written through its <see cref="GroupCommitWriter"/>. The ETag is the row's version.
/// </summary>
internal sealed class PostgresTransactionalStateStorage<TState>(
    GroupReader reader, GroupCommitWriter writer, Serializer serializer, GrainId grain, string stateName)
    : ITransactionalStateStorage<TState> where TState : class, new()
{
    private readonly string _type = grain.Type.ToString()!;
    private readonly string _key = grain.Key.ToString()!;
    private TransactionalStateRecord<TState> _record = new();
    private long _version;

    public async Task<TransactionalStorageLoadResponse<TState>> Load()
    {
        if (await reader.ReadAsync(new StateRead(_type, _key, stateName)) is { } stored)
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
        _version = await writer.WriteAsync(new StateWrite(_type, _key, stateName, _version, serializer.SerializeToArray(record)));
        return ETag!;
    }

    private string? ETag => _version == 0 ? null : _version.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Creates <see cref="PostgresTransactionalStateStorage{TState}"/> for the transactional states of one storage name.</summary>
internal sealed class PostgresTransactionalStateStorageFactory(
    GroupReader reader, GroupCommitWriter writer, Serializer serializer) : ITransactionalStateStorageFactory
{
    public ITransactionalStateStorage<TState> Create<TState>(string stateName, IGrainContext context) where TState : class, new() =>
        new PostgresTransactionalStateStorage<TState>(reader, writer, serializer, context.GrainId, stateName);
}
