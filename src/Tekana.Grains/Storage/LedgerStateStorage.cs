using System.Globalization;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;
using Tekana.Grains.Hosting;

namespace Tekana.Grains.Storage;

/// <summary>
/// Transactional state storage for the ledger: each grain's Orleans transactional record (committed state, pending
/// prepares, metadata) as one row in Orleans' binary format, in the silo's <see cref="IStateRows"/> (PostgreSQL, or
/// memory on the embedded default). The ETag is the row's version.
/// </summary>
/// <remarks>
/// <para>
/// A committed transaction is kept as committed for good (<see cref="StateWrite.Commits"/>), and a prepared leg of it is
/// never dropped: a write that would abort it is refused, and a reload commits it. Orleans' own recovery can lose it.
/// The manager of a transaction forgets it once each participant has acknowledged the commit, and from then on answers
/// a participant that asks about it "presumed aborted". A participant acknowledges a commit it does not know, however,
/// as one it has already applied; so when a wallet has two activations for a moment (a silo stopping hands its grains
/// over), the activation that loaded the row before the leg was prepared acknowledges it for the one that holds it.
/// That one, which never saw the commit, asks, and would drop a credit whose movement was reported completed. An
/// activation of the manager that loaded its row before the commit gives the same answer.
/// </para>
/// <para>
/// A load that finds prepared legs of committed transactions is common after a silo stops or fails (their
/// confirmations were on their way, or were not written: see <see cref="OnlyRebuildable"/>); committing them then
/// does what the manager's confirmation did or would do. A refused abort is not common: it means Orleans' recovery was
/// about to drop a committed leg.
/// </para>
/// <para>
/// Only a write that drops prepared legs, and a reload that finds some, ask which of their transactions committed;
/// neither happens while movements go through. The cost on the way through is one row per committed transaction, in
/// the same statement as its commit record; it also spares the confirmations' writes.
/// </para>
/// </remarks>
internal sealed class LedgerStateStorage<TState>(
    IStateRows rows,
    Serializer serializer,
    GrainId grain,
    string stateName,
    Func<MovementSettlements?> settlements,
    Func<ICommittedStateObserver<TState>?> observer,
    ILogger log)
    : ITransactionalStateStorage<TState>, IDeferredWrites, ICommittedState<TState> where TState : class, new()
{
    private readonly string _type = grain.Type.ToString()!;
    private readonly string _key = grain.Key.ToString()!;

    /// <summary>
    /// The record as last read or written: what the row holds at <see cref="_version"/>, or ahead of it by writes left
    /// unmade (<see cref="_deferred"/>).
    /// </summary>
    private TransactionalStateRecord<TState> _record = new();
    private long _version;

    public TState Committed => _record.CommittedState;

    /// <summary>
    /// The transactions whose commit records the row holds. A copy: Orleans hands every write the same metadata, which it
    /// changes in place, so the record's own metadata cannot tell which commit records a write adds.
    /// </summary>
    private readonly HashSet<Guid> _commitRecords = [];

    /// <summary>The transactions whose prepared legs the row holds (they may have committed in memory since).</summary>
    private readonly HashSet<string> _storedLegs = [];

    /// <summary>The metadata's timestamp as the row holds it; a copy, for the same reason.</summary>
    private DateTime _timeStamp;

    /// <summary>
    /// Set when a write or a load fails, cleared by a successful <see cref="Load"/>. After a failed write Orleans reloads the
    /// state; when that reload fails too (the database still away), its next batch can still reach <see cref="Store"/>
    /// with metadata that carries the failed write's commit records (a confirmation's collect does not wait for the
    /// reload). Storing it would persist a commit without its state and movement records, or apply a movement the
    /// ledger has already retried. So every write is refused until a reload has succeeded; the refusal is a conflict,
    /// which makes Orleans reload and deactivate the grain.
    /// </summary>
    private bool _reloadNeeded;

    /// <summary>Set while a write of <see cref="Store"/> is on its way.</summary>
    private bool _storing;

    /// <summary>Set when a write was left unmade (<see cref="OnlyRebuildable"/>), cleared by the next write.</summary>
    private bool _deferred;

    public async Task<TransactionalStorageLoadResponse<TState>> Load()
    {
        // Until this load succeeds, nothing is known to be current; what was deferred, the load rebuilds.
        _reloadNeeded = true;
        _deferred = false;
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
        HoldLegsOf(_record);
        var recovered = await CommitPreparedLegsOfCommittedTransactions();
        KeepCommitRecords(_record.Metadata);
        _timeStamp = _record.Metadata.TimeStamp;
        _reloadNeeded = false;
        TellSettled();
        if (recovered)
        {
            observer()?.Committed(_record.CommittedState);
        }
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
        _storing = true;
        try
        {
            if (abortAfter is { } aborted)
            {
                await RefuseToAbortCommitted(aborted);
            }
            record = Next(metadata, statesToPrepare, commitUpTo, abortAfter);
            var movements = settlements();
            var settled = movements is { HasPending: true }
                ? movements.Due(metadata.CommitRecords, (statesToPrepare ?? []).Select(p => p.TransactionId))
                : [];
            var commits = AddedCommitRecords(metadata);
            if (OnlyRebuildable(metadata, statesToPrepare, abortAfter, commits, settled.Count))
            {
                _deferred = true;
            }
            else
            {
                await WriteRowAsync(record, settled.Count == 0 ? null : [.. settled.Select(s => new SettledRecord(s.Record.Id, serializer.SerializeToArray(s.Record)))], commits);
                KeepCommitRecords(metadata);
                _timeStamp = metadata.TimeStamp;
                _deferred = false;
                if (settled.Count > 0)
                {
                    movements?.Written(settled.Select(s => s.Transaction).Distinct());
                }
            }
        }
        catch
        {
            _reloadNeeded = true;
            observer()?.Settled(null);
            throw;
        }
        finally
        {
            _storing = false;
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

    /// <summary>
    /// Refuses a write that would drop a prepared leg of a committed transaction (see remarks). The refusal is a conflict:
    /// Orleans reloads the state, and the reload commits the leg.
    /// </summary>
    private async Task RefuseToAbortCommitted(long abortAfter)
    {
        var dropped = TransactionsOf(_record.PendingStates.Where(p => p.SequenceId > abortAfter));
        if (dropped.Count > 0 && await rows.CommittedAsync(dropped) is { Count: > 0 } committed)
        {
            TekanaMetrics.KeptCommittedLegs("abort", committed.Count);
            log.LogWarning("{Grain} was asked to abort the prepared legs of {Transactions}, which committed: refused, the state reloads and commits them",
                $"{_type}/{_key}", string.Join(", ", committed));
            throw new InconsistentStateException(
                $"{_type}/{_key} was asked to abort transaction {string.Join(", ", committed)}, which committed; its leg is kept and the state reloads.",
                ETag, ETag);
        }
    }

    /// <summary>
    /// Commits the prepared legs that a reload finds of transactions that committed (see remarks), up to the last of
    /// them: Orleans commits a participant's prepares in order, so every earlier one committed too. True when it did.
    /// </summary>
    private async Task<bool> CommitPreparedLegsOfCommittedTransactions()
    {
        var pending = _record.PendingStates;
        if (pending.Count == 0)
        {
            return false;
        }
        var committed = await rows.CommittedAsync(TransactionsOf(pending));
        var last = pending.FindLastIndex(p => IdOf(p) is { } transaction && committed.Contains(transaction));
        if (last < 0)
        {
            return false;
        }
        var record = new TransactionalStateRecord<TState>
        {
            CommittedState = pending[last].State,
            CommittedSequenceId = pending[last].SequenceId,
            Metadata = _record.Metadata,
            PendingStates = pending[(last + 1)..],
        };
        await WriteRowAsync(record);
        _record = record;
        // Common after a silo stops: the manager's confirmations were on their way, and it will still send them. So it is
        // counted, and logged at debug level only: after a silo fails, every wallet whose row it left holding a leg whose
        // confirmation was not written (most wallets that moved money, see remarks) loads one, and a line each at
        // information level was thousands of lines saying that recovery worked.
        TekanaMetrics.KeptCommittedLegs("load", last + 1);
        if (log.IsEnabled(LogLevel.Debug))
        {
            log.LogDebug("{Grain} loaded {Legs} prepared legs of committed transactions ({Transactions}) and committed them",
                $"{_type}/{_key}", last + 1, string.Join(", ", committed));
        }
        return true;
    }

    /// <summary>
    /// Writes <paramref name="record"/> over the row as last read or written, telling the row whether the prepared legs it
    /// will hold are new to it (<see cref="StateWrite.Prepared"/>).
    /// </summary>
    private async Task WriteRowAsync(TransactionalStateRecord<TState> record, IReadOnlyList<SettledRecord>? settled = null, IReadOnlyList<Guid>? commits = null)
    {
        var legs = record.PendingStates;
        _version = await rows.WriteAsync(new StateWrite(_type, _key, stateName, _version, serializer.SerializeToArray(record))
        {
            Settled = settled ?? [],
            Commits = commits ?? [],
            Prepared = legs.Count == 0 ? PreparedLegs.None
                : legs.Exists(p => _storedLegs.Contains(p.TransactionId)) ? PreparedLegs.SomeHeldBefore
                : PreparedLegs.AllNew,
        });
        HoldLegsOf(record);
    }

    /// <summary>Notes the prepared legs the row holds: those of <paramref name="record"/>, just read or written.</summary>
    private void HoldLegsOf(TransactionalStateRecord<TState> record)
    {
        _storedLegs.Clear();
        foreach (var leg in record.PendingStates)
        {
            _storedLegs.Add(leg.TransactionId);
        }
    }

    private static List<Guid> TransactionsOf(IEnumerable<PendingTransactionState<TState>> prepared) =>
        [.. prepared.Select(IdOf).OfType<Guid>()];

    private static Guid? IdOf(PendingTransactionState<TState> prepared) =>
        Guid.TryParse(prepared.TransactionId, out var transaction) ? transaction : null;

    /// <summary>
    /// True for a write that changes nothing a load cannot rebuild, which is left unmade: the next write stores it with
    /// its own changes, and so does the grain when it stops (<see cref="WriteDeferredAsync"/>). Two kinds of write qualify,
    /// together or alone:
    /// <list type="bullet">
    /// <item>Orleans' collection of a transaction this grain managed, once every participant has acknowledged its commit:
    /// the commit record leaves the metadata. A commit record the row still holds at the next load (after a crash) only
    /// makes Orleans confirm that transaction again, which every participant acknowledges at once.</item>
    /// <item>A confirmation: prepared legs of transactions managed elsewhere commit. A manager confirms only once its own
    /// write has committed the transaction, and that write kept the transaction as committed (<see cref="StateWrite.Commits"/>),
    /// so a load that finds those legs still prepared commits them (<see cref="CommitPreparedLegsOfCommittedTransactions"/>).
    /// The grain serves them as committed meanwhile; they are.</item>
    /// </list>
    /// Anything else is written: a prepare, an abort, a commit record added (this grain's own commits), movement records,
    /// a later timestamp (a transaction read the state, and the row must not fall behind what was read). These were two
    /// row writes of four per movement (bench/run.sh, uniform: 4.00 state row updates per movement, then 2.00).
    /// </summary>
    private bool OnlyRebuildable(TransactionalStateMetaData metadata, List<PendingTransactionState<TState>>? statesToPrepare, long? abortAfter,
        IReadOnlyList<Guid> addedCommitRecords, int movementRecords) =>
        statesToPrepare is not { Count: > 0 } && abortAfter is null && addedCommitRecords.Count == 0 && movementRecords == 0
        && metadata.TimeStamp == _timeStamp;

    /// <summary>
    /// Makes the writes left unmade (<see cref="OnlyRebuildable"/>), once the grain has stopped: so that an idle wallet's
    /// next activation neither confirms its last transactions again (activating their other wallets to acknowledge) nor
    /// looks its prepared legs up. What Orleans has put in the metadata since the last write and not stored (a commit
    /// record, a later timestamp) stays out. Best effort: what it cannot write, the next load rebuilds.
    /// Nothing is written once <paramref name="stopping"/> is canceled: Orleans has given up on this activation (a silo
    /// stopping ungracefully, or a deactivation past its timeout) and may already have activated the grain elsewhere, whose
    /// load the write would overtake; the version check keeps it from losing anything, but that activation's next write
    /// would fail and take its batch's transactions with it.
    /// </summary>
    public async Task WriteDeferredAsync(CancellationToken stopping)
    {
        if (!_deferred || _reloadNeeded || _storing)
        {
            return;
        }
        if (stopping.IsCancellationRequested)
        {
            log.LogDebug("{Grain} stopped after Orleans gave up waiting for it; its next load rebuilds what it deferred", $"{_type}/{_key}");
            return;
        }
        var metadata = _record.Metadata;
        var record = new TransactionalStateRecord<TState>
        {
            CommittedState = _record.CommittedState,
            CommittedSequenceId = _record.CommittedSequenceId,
            PendingStates = _record.PendingStates,
            Metadata = new TransactionalStateMetaData
            {
                TimeStamp = _timeStamp,
                CommitRecords = metadata.CommitRecords.Where(r => _commitRecords.Contains(r.Key)).ToDictionary(),
            },
        };
        try
        {
            await WriteRowAsync(record);
            _record = record;
            KeepCommitRecords(record.Metadata);
            _deferred = false;
        }
        catch (Exception e)
        {
            _reloadNeeded = true;
            log.LogInformation(e, "{Grain} could not make the writes it deferred; its next load rebuilds them", $"{_type}/{_key}");
        }
    }

    /// <summary>The transactions whose commit records this write adds to the row.</summary>
    private IReadOnlyList<Guid> AddedCommitRecords(TransactionalStateMetaData metadata)
    {
        List<Guid>? added = null;
        foreach (var transaction in metadata.CommitRecords.Keys)
        {
            if (!_commitRecords.Contains(transaction))
            {
                (added ??= []).Add(transaction);
            }
        }
        return added ?? [];
    }

    private void KeepCommitRecords(TransactionalStateMetaData metadata)
    {
        _commitRecords.Clear();
        _commitRecords.UnionWith(metadata.CommitRecords.Keys);
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
        // Plain loops rather than predicates: this runs for every write of every wallet, and each predicate capturing a
        // sequence number was an allocation. Prepared states go in sequence order, as they always did.
        var pending = record.PendingStates;
        if (abortAfter is { } aborted)
        {
            for (var i = pending.Count - 1; i >= 0; i--)
            {
                if (pending[i].SequenceId > aborted)
                {
                    pending.RemoveAt(i);
                }
            }
        }
        foreach (var prepared in statesToPrepare ?? [])
        {
            var at = FirstAtOrAfter(pending, prepared.SequenceId);
            if (at == pending.Count)
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
            var at = pending.Count - 1;
            while (at >= 0 && pending[at].SequenceId != committed)
            {
                at--;
            }
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

    /// <summary>The index of the first pending state numbered <paramref name="sequenceId"/> or later (the count if none is).</summary>
    private static int FirstAtOrAfter(List<PendingTransactionState<TState>> pending, long sequenceId)
    {
        var at = 0;
        while (at < pending.Count && pending[at].SequenceId < sequenceId)
        {
            at++;
        }
        return at;
    }

    private string? ETag => _version == 0 ? null : _version.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Creates <see cref="LedgerStateStorage{TState}"/> for the ledger's transactional states.</summary>
internal sealed class LedgerStateStorageFactory(IStateRows rows, Serializer serializer, ILogger<LedgerStateStorageFactory> log) : ITransactionalStateStorageFactory
{
    public ITransactionalStateStorage<TState> Create<TState>(string stateName, IGrainContext context) where TState : class, new()
    {
        var storage = new LedgerStateStorage<TState>(
            rows, serializer, context.GrainId, stateName, context.GetComponent<MovementSettlements>, context.GetComponent<ICommittedStateObserver<TState>>, log);
        context.SetComponent<IDeferredWrites>(storage);
        context.SetComponent<ICommittedState<TState>>(storage);
        return storage;
    }
}

/// <summary>
/// What a grain's ledger storage has left unwritten (<see cref="LedgerStateStorage{TState}"/>), a component of the grain's
/// context: the grain has it written once Orleans' transactional state has stopped (<see cref="LifecycleStage"/>).
/// </summary>
internal interface IDeferredWrites
{
    /// <summary>The grain lifecycle stage to stop at: just below the one where Orleans' transactional state stops its storage work.</summary>
    const int LifecycleStage = GrainLifecycleStage.SetupState - 1;

    Task WriteDeferredAsync(CancellationToken stopping);
}

/// <summary>
/// The committed state as a grain's ledger storage holds it (<see cref="LedgerStateStorage{TState}"/>), a component of the
/// grain's context: the object Orleans' transaction queue holds as its stable state, current across reloads.
/// </summary>
internal interface ICommittedState<out TState> where TState : class
{
    TState Committed { get; }
}
