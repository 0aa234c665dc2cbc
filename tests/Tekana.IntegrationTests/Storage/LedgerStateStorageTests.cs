using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;
using Tekana.Grains.Storage;
using Tekana.Grains.Wallets;

namespace Tekana.IntegrationTests.Storage;

/// <summary>
/// The ledger's transactional storage when the database fails under it: a row only ever holds what Orleans wrote
/// in one successful write, whatever Orleans asks of the storage between a failed write and a successful reload.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LedgerStateStorageTests(ClusterFixture fixture)
{
    private static readonly GrainId Wallet = GrainId.Create("wallet", "w1");

    private readonly FlakyRows _rows = new();
    private readonly Messages _log = new();
    // The silo's own serializer: a transactional record holds grain references, which only a runtime can encode.
    private readonly Serializer _serializer = fixture.Cluster.GetActiveSilos().First().ServiceProvider.GetRequiredService<Serializer>();

    [Fact]
    public async Task After_a_failed_write_and_a_failed_reload_nothing_is_written_until_a_reload_succeeds()
    {
        var (storage, etag) = await WithBalance(100);

        // The database goes away during the write that commits transaction t (managed here), and stays away for the reload.
        var t = Guid.NewGuid();
        _rows.Down = true;
        await Assert.ThrowsAsync<IOException>(() => storage.Store(etag, Metadata(t), [Prepared(2, 60, t)], 2, null));
        await Assert.ThrowsAsync<IOException>(storage.Load);

        // Back again, Orleans' next batch (a confirmation's collect, which does not wait for the reload) still carries
        // t's commit record: writing it would commit t without its state, or with it although t was reported failed.
        _rows.Down = false;
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.Store(etag, Metadata(t), null, null, null));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.Store(etag, Metadata(), [Prepared(2, 70)], 2, null));
        var stored = await Stored();
        Assert.Equal((1L, 1L, 100L), (stored.Version, stored.Record.CommittedSequenceId, stored.Record.CommittedState.Balance));
        Assert.Empty(stored.Record.Metadata.CommitRecords);

        // A reload answers what is stored, and writes go on from there.
        var loaded = await storage.Load();
        Assert.Equal((etag, 1L, 100L), (loaded.ETag, loaded.CommittedSequenceId, loaded.CommittedState.Balance));
        Assert.Empty(loaded.PendingStates);
        Assert.Empty(loaded.Metadata.CommitRecords);
        Assert.Equal("2", await storage.Store(etag, Metadata(), [Prepared(2, 70)], 2, null));
        stored = await Stored();
        Assert.Equal((2L, 2L, 70L), (stored.Version, stored.Record.CommittedSequenceId, stored.Record.CommittedState.Balance));
    }

    [Fact]
    public async Task A_write_that_committed_but_lost_its_answer_is_what_the_reload_finds()
    {
        var (storage, etag) = await WithBalance(100);

        var t = Guid.NewGuid();
        _rows.LoseAnswers = true;
        await Assert.ThrowsAsync<IOException>(() => storage.Store(etag, Metadata(t), [Prepared(2, 60, t)], 2, null));
        _rows.LoseAnswers = false;
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.Store(etag, Metadata(), null, null, null));

        var loaded = await storage.Load();
        Assert.Equal(("2", 2L, 60L), (loaded.ETag, loaded.CommittedSequenceId, loaded.CommittedState.Balance));
        Assert.Equal([t], loaded.Metadata.CommitRecords.Keys);
    }

    [Fact]
    public async Task A_write_refused_for_its_version_leaves_the_storage_to_reload()
    {
        var (storage, etag) = await WithBalance(100);

        // Another activation of the same wallet wrote meanwhile: this one's write fails alone, and so does its next.
        var other = Storage();
        await other.Load();
        await other.Store(etag, Metadata(), [Prepared(2, 40)], 2, null);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.Store(etag, Metadata(), [Prepared(2, 60)], 2, null));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.Store(etag, Metadata(), [Prepared(2, 60)], 2, null));

        var loaded = await storage.Load();
        Assert.Equal(("2", 40L), (loaded.ETag, loaded.CommittedState.Balance));
    }

    [Fact]
    public async Task The_grain_is_told_of_each_state_a_successful_write_commits_and_of_nothing_else()
    {
        var committed = new CommittedBalances();
        var storage = Storage(committed);
        await storage.Load();

        var etag = await storage.Store(null, Metadata(), [Prepared(1, 100)], 1, null);
        etag = await storage.Store(etag, Metadata(), [Prepared(2, 60)], null, null);
        Assert.Equal([100L], committed.Balances);

        // A commit whose write fails is not one: the grain hears of it only from the write that succeeds after a reload.
        _rows.Down = true;
        await Assert.ThrowsAsync<IOException>(() => storage.Store(etag, Metadata(), null, 2, null));
        _rows.Down = false;
        Assert.Equal([100L], committed.Balances);
        await storage.Load();
        await storage.Store(etag, Metadata(), null, 2, null);
        Assert.Equal([100L, 60L], committed.Balances);
    }

    [Fact]
    public async Task The_grain_is_told_its_committed_state_is_current_only_while_nothing_is_prepared()
    {
        var observer = new CommittedBalances();
        var storage = Storage(observer);
        await storage.Load();
        var etag = await storage.Store(null, Metadata(), [Prepared(1, 100)], 1, null); // managed here: committed at once
        etag = await storage.Store(etag, Metadata(), [Prepared(2, 60)], null, null); // prepared; its manager may commit it any time
        etag = await storage.Store(etag, Metadata(), null, 2, null); // its confirmation
        Assert.Equal([null, 0L, 100L, null, 60L], observer.Settled);

        // A failed write leaves nothing to answer from, until a reload tells again.
        _rows.Down = true;
        await Assert.ThrowsAsync<IOException>(() => storage.Store(etag, Metadata(), [Prepared(3, 50)], 3, null));
        _rows.Down = false;
        await storage.Load();
        Assert.Equal([null, null, 60L], observer.Settled[^3..]); // the failed write, then the reload's start and end

        // A reload that finds a prepared state does not answer either.
        await storage.Store(etag, Metadata(), [Prepared(3, 40)], null, null);
        await storage.Load();
        Assert.Equal([null, null, null], observer.Settled[^3..]);
    }

    [Fact]
    public async Task A_prepared_leg_of_a_committed_transaction_is_never_aborted_and_a_reload_commits_it()
    {
        var observer = new CommittedBalances();
        var (storage, etag, t, _, manager, managerETag) = await CreditPreparedAndCommitted(observer);

        // t's confirmation reaches some other activation of w1, which acknowledges it, and m forgets t.
        await manager.Store(managerETag, Metadata(), null, null, null);

        // m, asked about t, presumes it aborted: w1 does not drop its leg, and reloads.
        var refused = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.Store(etag, Metadata(), null, null, 1));
        Assert.Contains(t.ToString(), refused.Message);
        var stored = await Stored();
        Assert.Equal((2L, 1L), (stored.Version, stored.Record.CommittedSequenceId));
        Assert.Equal(t.ToString(), Assert.Single(stored.Record.PendingStates).TransactionId);

        // The reload commits the leg, stores it so, and tells the grain (its outbox goes out).
        var loaded = await storage.Load();
        Assert.Equal(("3", 2L, 341L), (loaded.ETag, loaded.CommittedSequenceId, loaded.CommittedState.Balance));
        Assert.Empty(loaded.PendingStates);
        stored = await Stored();
        Assert.Equal((3L, 2L, 341L), (stored.Version, stored.Record.CommittedSequenceId, stored.Record.CommittedState.Balance));
        Assert.Empty(stored.Record.PendingStates);
        Assert.Equal([100L, 341L], observer.Balances);
        Assert.Equal(341L, observer.Settled[^1]);

        // The refused abort is a warning; the commit on loading, common after a silo fails, is counted and logged at debug
        // level. Both name the wallet and the transaction.
        Assert.Equal([LogLevel.Warning, LogLevel.Debug], _log.Logged.Select(m => m.Level));
        Assert.All(_log.Logged, m => Assert.Contains("wallet/w1", m.Text));
        Assert.All(_log.Logged, m => Assert.Contains(t.ToString(), m.Text));
    }

    [Fact]
    public async Task A_reload_commits_up_to_the_last_prepared_leg_that_committed_and_keeps_the_rest_prepared()
    {
        var (storage, etag) = await WithBalance(100);
        var (first, second, third) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        etag = await storage.Store(etag, Metadata(), [Prepared(2, 90, first), Prepared(3, 80, second), Prepared(4, 70, third)], null, null);
        var manager = await Manager();
        await manager.Store(null, Metadata(second), [Prepared(1, 5, second)], 1, null);

        // A new activation finds three legs prepared, the second one's transaction committed: so was the first's.
        var loaded = await Storage().Load();
        Assert.Equal((3L, 80L), (loaded.CommittedSequenceId, loaded.CommittedState.Balance));
        Assert.Equal([third.ToString()], loaded.PendingStates.Select(p => p.TransactionId));
    }

    [Fact]
    public async Task A_prepared_leg_of_a_transaction_that_did_not_commit_is_aborted_as_before()
    {
        var (storage, etag) = await WithBalance(100);
        var u = Guid.NewGuid();
        etag = await storage.Store(etag, Metadata(), [Prepared(2, 341, u)], null, null);

        // Its manager's write of the commit record failed: nothing keeps u as committed.
        var manager = await Manager();
        _rows.Down = true;
        await Assert.ThrowsAsync<IOException>(() => manager.Store(null, Metadata(u), [Prepared(1, 900, u)], 1, null));
        _rows.Down = false;

        Assert.Equal("3", await storage.Store(etag, Metadata(), null, null, 1));
        Assert.Empty(_log.Logged);
        var loaded = await Storage().Load();
        Assert.Equal((1L, 100L), (loaded.CommittedSequenceId, loaded.CommittedState.Balance));
        Assert.Empty(loaded.PendingStates);
    }

    [Fact]
    public async Task Only_a_write_that_adds_a_commit_record_keeps_its_transaction_as_committed()
    {
        var (manager, t, metadata, etag) = await Committed();
        var u = Guid.NewGuid();
        Assert.Equal([t], _rows.Commits.Select(c => c.Single()));

        // Orleans hands every write the same metadata, changed in place: t's record stays in it until collected.
        metadata.CommitRecords.Add(u, new CommitRecord { Timestamp = DateTime.UtcNow, WriteParticipants = [] });
        etag = await manager.Store(etag, metadata, [Prepared(2, 20, u)], 2, null);
        metadata.CommitRecords.Remove(t);
        etag = await manager.Store(etag, metadata, [Prepared(3, 30)], null, null);
        Assert.Equal([[t], [u], []], _rows.Commits);

        // A reload finds u's record in the row: it is kept already.
        await manager.Load();
        await manager.Store(etag, metadata, [Prepared(4, 40)], null, null);
        Assert.Equal(4, _rows.Commits.Count);
        Assert.Empty(_rows.Commits[^1]);
    }

    [Fact]
    public async Task A_write_that_only_forgets_a_commit_record_is_not_made_and_the_next_write_stores_it()
    {
        var (manager, t, metadata, etag) = await Collected();

        var stored = await Stored();
        Assert.Equal(1L, stored.Version);
        Assert.Equal([t], stored.Record.Metadata.CommitRecords.Keys);
        Assert.Single(_rows.Commits);

        // The next write that changes anything stores the metadata as it is by then.
        etag = await manager.Store(etag, metadata, [Prepared(2, 20)], null, null);
        stored = await Stored();
        Assert.Equal((2L, 0, 1), (stored.Version, stored.Record.Metadata.CommitRecords.Count, stored.Record.PendingStates.Count));
        Assert.Equal("2", etag);
    }

    [Fact]
    public async Task A_commit_record_forgotten_without_a_write_is_loaded_again_and_forgotten_again()
    {
        var (_, t, _, _) = await Collected();

        // The grain deactivates before its next write: its next activation finds t's commit record, confirms t again
        // (each participant acknowledges at once) and collects it, again without a write. t stays kept as committed.
        var again = Storage();
        var loaded = await again.Load();
        Assert.Equal("1", loaded.ETag);
        Assert.Equal([t], loaded.Metadata.CommitRecords.Keys);
        loaded.Metadata.CommitRecords.Remove(t);
        Assert.Equal("1", await again.Store(loaded.ETag, loaded.Metadata, null, null, null));
        Assert.Single(_rows.Commits);
        Assert.Equal([t], await _rows.CommittedAsync([t]));
    }

    [Fact]
    public async Task A_stopped_grain_writes_the_commit_records_it_collected_and_nothing_that_was_not_stored()
    {
        var (manager, t, metadata, _) = await Collected();
        var (u, stamped) = (Guid.NewGuid(), metadata.TimeStamp);

        // Orleans has begun a batch that commits u (its commit record and a later timestamp are in the metadata) when the
        // grain stops: that batch is never stored, and the deferred write leaves it out.
        metadata.CommitRecords.Add(u, new CommitRecord { Timestamp = DateTime.UtcNow, WriteParticipants = [] });
        metadata.TimeStamp = stamped.AddSeconds(1);
        await ((IDeferredWrites)manager).WriteDeferredAsync(CancellationToken.None);

        var stored = await Stored();
        Assert.Equal((2L, 1L, 10L, 0), (stored.Version, stored.Record.CommittedSequenceId, stored.Record.CommittedState.Balance, stored.Record.PendingStates.Count));
        Assert.Empty(stored.Record.Metadata.CommitRecords);
        Assert.Equal(stamped, stored.Record.Metadata.TimeStamp);
        Assert.Equal([[t], []], _rows.Commits);

        // Nothing is left to write.
        await ((IDeferredWrites)manager).WriteDeferredAsync(CancellationToken.None);
        Assert.Equal(2L, (await Stored()).Version);
    }

    [Fact]
    public async Task A_confirmation_is_not_written_and_a_load_commits_the_leg_of_the_kept_transaction()
    {
        var (storage, etag, observer, metadata) = await ConfirmedWithoutAWrite();

        // w1 served its leg as committed without a write.
        Assert.Equal([100L, 341L], observer.Balances);
        Assert.Equal(341L, observer.Settled[^1]);
        var stored = await Stored();
        Assert.Equal((2L, 1L, 1), (stored.Version, stored.Record.CommittedSequenceId, stored.Record.PendingStates.Count));

        // w1's silo fails: the next activation's load commits the leg, t being kept as committed.
        var loaded = await Storage().Load();
        Assert.Equal((2L, 341L, 0), (loaded.CommittedSequenceId, loaded.CommittedState.Balance, loaded.PendingStates.Count));
        Assert.Equal((3L, 0), ((await Stored()).Version, (await Stored()).Record.PendingStates.Count));
    }

    [Fact]
    public async Task A_confirmation_not_written_is_written_when_the_grain_stops()
    {
        var (storage, _, _, _) = await ConfirmedWithoutAWrite();

        await ((IDeferredWrites)storage).WriteDeferredAsync(CancellationToken.None);

        var stored = await Stored();
        Assert.Equal((3L, 2L, 341L, 0), (stored.Version, stored.Record.CommittedSequenceId, stored.Record.CommittedState.Balance, stored.Record.PendingStates.Count));
    }

    [Fact]
    public async Task A_grain_whose_stop_was_canceled_writes_nothing_it_deferred()
    {
        // An activation Orleans gave up on may already live on another silo, whose next write must not find the row moved.
        var (storage, _, _, _) = await ConfirmedWithoutAWrite();

        await ((IDeferredWrites)storage).WriteDeferredAsync(new CancellationToken(canceled: true));
        Assert.Equal((2L, 1), ((await Stored()).Version, (await Stored()).Record.PendingStates.Count));

        // Nothing else kept it from writing.
        await ((IDeferredWrites)storage).WriteDeferredAsync(CancellationToken.None);
        Assert.Equal((3L, 0), ((await Stored()).Version, (await Stored()).Record.PendingStates.Count));
    }

    [Fact]
    public async Task A_confirmation_not_written_is_written_with_the_next_write()
    {
        var (storage, etag, _, metadata) = await ConfirmedWithoutAWrite();

        Assert.Equal("3", await storage.Store(etag, metadata, [Prepared(3, 300)], null, null));

        var stored = await Stored();
        Assert.Equal((2L, 341L), (stored.Record.CommittedSequenceId, stored.Record.CommittedState.Balance));
        Assert.Equal([3L], stored.Record.PendingStates.Select(p => p.SequenceId));
    }

    /// <summary>
    /// Wallet w1 as the manager of t: its write committed t (a balance of 10), and once every participant acknowledged
    /// the commit, Orleans collected t's commit record, a write left unmade. Its storage, t, Orleans' metadata, the ETag.
    /// </summary>
    private async Task<(LedgerStateStorage<WalletState> Storage, Guid T, TransactionalStateMetaData Metadata, string ETag)> Collected()
    {
        var (manager, t, metadata, etag) = await Committed();
        metadata.CommitRecords.Remove(t);
        Assert.Equal(etag, await manager.Store(etag, metadata, null, null, null));
        return (manager, t, metadata, etag);
    }

    /// <summary>Wallet w1 as the manager of t, whose write committed t: a balance of 10, and t's commit record.</summary>
    private async Task<(LedgerStateStorage<WalletState> Storage, Guid T, TransactionalStateMetaData Metadata, string ETag)> Committed()
    {
        var manager = Storage();
        await manager.Load();
        var t = Guid.NewGuid();
        var metadata = Metadata(t);
        return (manager, t, metadata, await manager.Store(null, metadata, [Prepared(1, 10, t)], 1, null));
    }

    /// <summary>
    /// Wallet w1 as <see cref="CreditPreparedAndCommitted"/> leaves it, once m confirmed t: a confirmation w1 did not
    /// write. Its storage, ETag, observer, and the metadata Orleans hands its writes.
    /// </summary>
    private async Task<(LedgerStateStorage<WalletState> Storage, string ETag, CommittedBalances Observer, TransactionalStateMetaData Metadata)>
        ConfirmedWithoutAWrite()
    {
        var observer = new CommittedBalances();
        var (storage, etag, _, metadata, _, _) = await CreditPreparedAndCommitted(observer);

        Assert.Equal(etag, await storage.Store(etag, metadata, null, 2, null));
        return (storage, etag, observer, metadata);
    }

    /// <summary>
    /// Wallet w1 with a balance of 100 committed and a credit to 341 prepared for t, which wallet m manages and has
    /// committed (keeping it as committed): w1's storage, ETag, t, the metadata Orleans hands w1's writes, and m's storage
    /// and ETag.
    /// </summary>
    private async Task<(LedgerStateStorage<WalletState> Storage, string ETag, Guid T, TransactionalStateMetaData Metadata,
        LedgerStateStorage<WalletState> Manager, string ManagerETag)> CreditPreparedAndCommitted(CommittedBalances observer)
    {
        var storage = Storage(observer);
        await storage.Load();
        var metadata = Metadata();
        var etag = await storage.Store(null, metadata, [Prepared(1, 100)], 1, null);
        var t = Guid.NewGuid();
        etag = await storage.Store(etag, metadata, [Prepared(2, 341, t)], null, null);
        var manager = await Manager();
        var managerETag = await manager.Store(null, Metadata(t), [Prepared(1, 900, t)], 1, null);
        return (storage, etag, t, metadata, manager, managerETag);
    }

    [Fact]
    public async Task A_stopped_grain_that_deferred_nothing_writes_nothing()
    {
        var (storage, _) = await WithBalance(100);

        await ((IDeferredWrites)storage).WriteDeferredAsync(CancellationToken.None);

        Assert.Equal(1L, (await Stored()).Version);
        Assert.Single(_rows.Commits);
    }

    [Fact]
    public async Task Each_write_tells_its_row_whether_the_prepared_legs_it_holds_are_new_to_it()
    {
        var storage = Storage();
        await storage.Load();

        var etag = await storage.Store(null, Metadata(), [Prepared(1, 100)], null, null);
        etag = await storage.Store(etag, Metadata(), [Prepared(2, 200)], null, null);
        etag = await storage.Store(etag, Metadata(), null, 2, null);
        await storage.Store(etag, Metadata(), [Prepared(3, 300)], null, null);

        Assert.Equal([PreparedLegs.AllNew, PreparedLegs.SomeHeldBefore, PreparedLegs.None, PreparedLegs.AllNew], _rows.Prepared);
        // A load knows what the row holds: the leg it finds is not new to the row.
        var reloaded = Storage();
        var loaded = await reloaded.Load();
        await reloaded.Store(loaded.ETag, loaded.Metadata, [Prepared(4, 400)], null, null);
        Assert.Equal(PreparedLegs.SomeHeldBefore, _rows.Prepared[^1]);
    }

    [Fact]
    public async Task A_write_that_forgets_a_commit_record_and_moves_the_timestamp_on_is_made()
    {
        var (manager, t, metadata, etag) = await Committed();

        // A transaction read the state in the same batch: the row's timestamp must not fall behind what was read.
        metadata.CommitRecords.Remove(t);
        metadata.TimeStamp = metadata.TimeStamp.AddMilliseconds(5);
        Assert.Equal("2", await manager.Store(etag, metadata, null, null, null));
        var stored = await Stored();
        Assert.Equal((metadata.TimeStamp, 0), (stored.Record.Metadata.TimeStamp, stored.Record.Metadata.CommitRecords.Count));
    }

    private sealed class CommittedBalances : ICommittedStateObserver<WalletState>
    {
        public List<long> Balances { get; } = [];

        /// <summary>Each answer the storage allowed, as the balance it holds (null: none).</summary>
        public List<long?> Settled { get; } = [];

        public void Committed(WalletState state) => Balances.Add(state.Balance);

        void ICommittedStateObserver<WalletState>.Settled(WalletState? state) => Settled.Add(state?.Balance);
    }

    /// <summary>A loaded storage that has written one committed state, and that state's ETag.</summary>
    private async Task<(LedgerStateStorage<WalletState> Storage, string ETag)> WithBalance(long balance)
    {
        var storage = Storage();
        await storage.Load();
        return (storage, await storage.Store(null, Metadata(), [Prepared(1, balance)], 1, null));
    }

    /// <summary>The loaded storage of wallet m, which manages the transactions whose legs w1 holds prepared.</summary>
    private async Task<LedgerStateStorage<WalletState>> Manager()
    {
        var manager = Storage(grain: GrainId.Create("wallet", "m"));
        await manager.Load();
        return manager;
    }

    private LedgerStateStorage<WalletState> Storage(ICommittedStateObserver<WalletState>? observer = null, GrainId? grain = null) =>
        new(_rows, _serializer, grain ?? Wallet, "wallet", () => null, () => observer, _log);

    private async Task<(long Version, TransactionalStateRecord<WalletState> Record)> Stored()
    {
        var row = await _rows.ReadAsync(new StateRead(Wallet.Type.ToString()!, Wallet.Key.ToString()!, "wallet"));
        Assert.NotNull(row);
        return (row.Version, _serializer.Deserialize<TransactionalStateRecord<WalletState>>(row.Payload)!);
    }

    private static TransactionalStateMetaData Metadata(params Guid[] committing) => new()
    {
        TimeStamp = DateTime.UtcNow,
        CommitRecords = committing.ToDictionary(t => t, _ => new CommitRecord { Timestamp = DateTime.UtcNow, WriteParticipants = [] }),
    };

    private static PendingTransactionState<WalletState> Prepared(long sequence, long balance, Guid? transaction = null) => new()
    {
        SequenceId = sequence,
        TransactionId = (transaction ?? Guid.NewGuid()).ToString(),
        TimeStamp = DateTime.UtcNow,
        State = new WalletState { Balance = balance },
    };

    /// <summary>What the storage logs, at debug level and above.</summary>
    private sealed class Messages : ILogger
    {
        public List<(LogLevel Level, string Text)> Logged { get; } = [];

        public IDisposable? BeginScope<TScope>(TScope state) where TScope : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TScope>(LogLevel logLevel, EventId eventId, TScope state, Exception? exception, Func<TScope, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Debug)
            {
                Logged.Add((logLevel, formatter(state, exception)));
            }
        }
    }

    /// <summary>The embedded rows, with a database that can be away, or lose the answer of a write that committed.</summary>
    private sealed class FlakyRows : IStateRows
    {
        private readonly MemoryStateRows _rows = new();

        public bool Down { get; set; }

        public bool LoseAnswers { get; set; }

        /// <summary>The transactions each write that reached the rows named as committed, in order.</summary>
        public List<Guid[]> Commits { get; } = [];

        /// <summary>What each write that reached the rows told of the prepared legs its row holds, in order.</summary>
        public List<PreparedLegs> Prepared { get; } = [];

        public Task<StoredState?> ReadAsync(StateRead read) => Down ? Task.FromException<StoredState?>(Away()) : _rows.ReadAsync(read);

        public async Task<long> WriteAsync(StateWrite write)
        {
            if (Down)
            {
                throw Away();
            }
            Commits.Add([.. write.Commits]);
            Prepared.Add(write.Prepared);
            var version = await _rows.WriteAsync(write);
            return LoseAnswers ? throw Away() : version;
        }

        public Task<IReadOnlySet<Guid>> CommittedAsync(IReadOnlyCollection<Guid> transactions) =>
            Down ? Task.FromException<IReadOnlySet<Guid>>(Away()) : _rows.CommittedAsync(transactions);

        public Task<bool> AnyAsync(string grainType) => Down ? Task.FromException<bool>(Away()) : _rows.AnyAsync(grainType);

        private static IOException Away() => new("The database is away.");
    }
}
