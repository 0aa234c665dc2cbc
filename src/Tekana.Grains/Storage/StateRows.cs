using Orleans.Storage;

namespace Tekana.Grains.Storage;

/// <summary>
/// The ledger's state rows: one per grain state or movement record, each write conditional on the version it read
/// (0: the row must not exist yet). A write's <see cref="StateWrite.Settled"/> records are stored with it or not at all,
/// and a record that already exists fails the write.
/// </summary>
internal interface IStateRows
{
    Task<StoredState?> ReadAsync(StateRead read);

    /// <summary>The row's new version; <see cref="InconsistentStateException"/> when the row moved on, or a record exists.</summary>
    Task<long> WriteAsync(StateWrite write);

    /// <summary>
    /// Which of <paramref name="transactions"/> committed: those a successful write named in its
    /// <see cref="StateWrite.Commits"/>. Orleans forgets a commit once every participant has acknowledged it; this does not.
    /// </summary>
    Task<IReadOnlySet<Guid>> CommittedAsync(IReadOnlyCollection<Guid> transactions);

    /// <summary>Whether any row of <paramref name="grainType"/> exists.</summary>
    Task<bool> AnyAsync(string grainType);
}

/// <summary>The rows in PostgreSQL, through the silo's group reads and group commits.</summary>
internal sealed class PostgresStateRows(GroupReader reader, GroupCommitWriter writer) : IStateRows
{
    public Task<StoredState?> ReadAsync(StateRead read) => reader.ReadAsync(read);

    public Task<long> WriteAsync(StateWrite write) => writer.WriteAsync(write);

    public Task<IReadOnlySet<Guid>> CommittedAsync(IReadOnlyCollection<Guid> transactions) => reader.CommittedAsync(transactions);

    public Task<bool> AnyAsync(string grainType) => reader.AnyAsync(grainType);
}

/// <summary>The rows in this process, for the embedded default: the same rules, gone when the process ends.</summary>
internal sealed class MemoryStateRows : IStateRows
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string, string, string), StoredState> _rows = [];
    private readonly HashSet<Guid> _commits = [];

    public Task<StoredState?> ReadAsync(StateRead read)
    {
        lock (_lock)
        {
            for (var candidate = 0; candidate < read.CandidateCount; candidate++)
            {
                if (_rows.TryGetValue((read.CandidateType(candidate), read.GrainKey, read.StateName), out var row))
                {
                    return Task.FromResult<StoredState?>(read.Answer(candidate, row));
                }
            }
            return Task.FromResult<StoredState?>(null);
        }
    }

    public Task<long> WriteAsync(StateWrite write)
    {
        lock (_lock)
        {
            var stored = _rows.GetValueOrDefault(write.Row)?.Version ?? 0;
            if (stored != write.ExpectedVersion)
            {
                return Task.FromException<long>(write.Stale());
            }
            var records = write.Settled.Select(r => (Row: (MovementRecords.GrainType, r.Id, MovementRecords.StateName), r.Payload)).ToList();
            if (write.Settled.Any(r => MovementRecords.RecordGrainTypes.Any(type => _rows.ContainsKey((type, r.Id, MovementRecords.StateName)))))
            {
                return Task.FromException<long>(write.AlreadyRecorded());
            }
            foreach (var (row, payload) in records)
            {
                _rows[row] = new StoredState(1, payload);
            }
            _rows[write.Row] = new StoredState(stored + 1, write.Payload);
            _commits.UnionWith(write.Commits);
            return Task.FromResult(stored + 1);
        }
    }

    public Task<IReadOnlySet<Guid>> CommittedAsync(IReadOnlyCollection<Guid> transactions)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlySet<Guid>>(transactions.Where(_commits.Contains).ToHashSet());
        }
    }

    public Task<bool> AnyAsync(string grainType)
    {
        lock (_lock)
        {
            return Task.FromResult(_rows.Keys.Any(row => row.Item1 == grainType));
        }
    }
}
