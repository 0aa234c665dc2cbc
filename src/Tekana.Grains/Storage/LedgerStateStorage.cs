using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;

namespace Tekana.Grains.Storage;

/// <summary>
/// Transactional state storage for the ledger: each grain's Orleans transactional record (committed state, pending
/// prepares, metadata) as one row in Orleans' binary format, in the silo's <see cref="IStateRows"/> (PostgreSQL, or
/// memory on the embedded default). The ETag is the row's version.
/// </summary>
internal sealed class LedgerStateStorage<TState>(
    IStateRows rows,
    Serializer serializer,
    GrainId grain,
    string stateName,
    Func<MovementSettlements?> settlements,
    Func<ICommittedStateObserver<TState>?> observer)
    : ITransactionalStateStorage<TState> where TState : class, new()
{
    private readonly string _type = grain.Type.ToString()!;
    private readonly string _key = grain.Key.ToString()!;

    /// <summary>The record as last read or written: always what the row holds at <see cref="_version"/>.</summary>
    private TransactionalStateRecord<TState> _record = new();
    private long _version;

    /// <summary>
    /// Set when a write fails, cleared by a successful <see cref="Load"/>. After a failed write Orleans reloads the
    /// state; when that reload fails too (the database still away), its next batch can still reach <see cref="Store"/>
    /// with metadata that carries the failed write's commit records (a confirmation's collect does not wait for the
    /// reload). Storing it would persist a commit without its state and movement records, or apply a movement the
    /// ledger has already retried. So every write is refused until a reload has succeeded; the refusal is a conflict,
    /// which makes Orleans reload and deactivate the grain.
    /// </summary>
    private bool _reloadNeeded;

    public async Task<TransactionalStorageLoadResponse<TState>> Load()
    {
        settlements()?.Clear();
        observer()?.Settled(null);
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
        _reloadNeeded = false;
        TellSettled();
        return new TransactionalStorageLoadResponse<TState>(ETag, _record.CommittedState, _record.CommittedSequenceId, _record.Metadata, _record.PendingStates);
    }

    public async Task<string> Store(string? expectedETag, TransactionalStateMetaData metadata, List<PendingTransactionState<TState>>? statesToPrepare, long? commitUpTo, long? abortAfter)
    {
        if (_reloadNeeded)
        {
            throw new InconsistentStateException($"A write of {_type}/{_key} failed and the state has not been reloaded since.", ETag, expectedETag);
        }
        if (expectedETag != ETag)
        {
            throw new ArgumentException($"ETag {expectedETag} does not match the stored {ETag}.", nameof(expectedETag));
        }
        TransactionalStateRecord<TState> record;
        try
        {
            record = Next(metadata, statesToPrepare, commitUpTo, abortAfter);
            var movements = settlements();
            var settled = movements?.Due(metadata.CommitRecords, (statesToPrepare ?? []).Select(p => p.TransactionId)) ?? [];
            _version = await rows.WriteAsync(new StateWrite(_type, _key, stateName, _version, serializer.SerializeToArray(record))
            {
                Settled = [.. settled.Select(s => new SettledRecord(s.Record.Id, serializer.SerializeToArray(s.Record)))],
            });
            movements?.Written(settled.Select(s => s.Transaction).Distinct());
        }
        catch
        {
            _reloadNeeded = true;
            observer()?.Settled(null);
            throw;
        }
        var committed = record.CommittedSequenceId > _record.CommittedSequenceId;
        _record = record;
        if (committed)
        {
            observer()?.Committed(record.CommittedState);
        }
        TellSettled();
        return ETag!;
    }

    private void TellSettled() => observer()?.Settled(_record.PendingStates.Count == 0 ? _record.CommittedState : null);

    /// <summary>The record this write stores: a new one, so that a failed write leaves <see cref="_record"/> as stored.</summary>
    private TransactionalStateRecord<TState> Next(
        TransactionalStateMetaData metadata, List<PendingTransactionState<TState>>? statesToPrepare, long? commitUpTo, long? abortAfter)
    {
        var record = new TransactionalStateRecord<TState>
        {
            CommittedState = _record.CommittedState,
            CommittedSequenceId = _record.CommittedSequenceId,
            Metadata = metadata,
            PendingStates = [.. _record.PendingStates],
        };
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
        return record;
    }

    private string? ETag => _version == 0 ? null : _version.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Creates <see cref="LedgerStateStorage{TState}"/> for the ledger's transactional states.</summary>
internal sealed class LedgerStateStorageFactory(IStateRows rows, Serializer serializer) : ITransactionalStateStorageFactory
{
    public ITransactionalStateStorage<TState> Create<TState>(string stateName, IGrainContext context) where TState : class, new() =>
        new LedgerStateStorage<TState>(
            rows, serializer, context.GrainId, stateName, context.GetComponent<MovementSettlements>, context.GetComponent<ICommittedStateObserver<TState>>);
}
