using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;
using Tekana.Abstractions.Transfers;
using Tekana.Grains.Transfers;

namespace Tekana.Grains.Storage;

/// <summary>
/// Movement records, one row each, keyed by the movement's id (its scope and idempotency key). A completed movement's
/// record is written in the commit of its transaction (<see cref="MovementSettlements"/>); a refused one's on its own,
/// once: the first record stored under an id is the answer for every later request with that key.
/// </summary>
public sealed class MovementRecords : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly IStateRows _rows;
    private readonly Serializer _serializer;
    private readonly ILogger _log;

    /// <summary>
    /// Whether records of the earlier form (<see cref="EarlierGrainType"/>) may exist, so that a lookup also reads that
    /// form: until a look at the database (<see cref="LookForEarlierRecordsAsync"/>, when the silo starts) found none.
    /// None found stays none: nothing writes that form any more, and silos of the versions that did cannot share a cluster
    /// with this one. Every movement looks its id up, and the second form was half of each lookup's statements.
    /// </summary>
    private volatile bool _earlierMayExist = true;

    internal MovementRecords(IStateRows rows, Serializer serializer, ILogger<MovementRecords> log)
    {
        _rows = rows;
        _serializer = serializer;
        _log = log;
    }

    internal bool EarlierRecordsMayExist => _earlierMayExist;

    public const string GrainType = "movement";
    public const string StateName = "record";

    /// <summary>
    /// Where a movement's record was kept before records were written with their transaction: its grain's state, under
    /// the same key and state name. A record there also fails a second run's commit.
    /// </summary>
    internal const string EarlierGrainType = "transactionrecord";

    private static readonly string[] FormerGrainTypes = [EarlierGrainType];

    /// <summary>Every grain type whose state under a movement's id means the movement is already recorded.</summary>
    internal static readonly string[] RecordGrainTypes = [GrainType, .. FormerGrainTypes];

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(MovementRecords), ServiceLifecycleStage.ApplicationServices, _ => LookForEarlierRecordsAsync());

    /// <summary>Looks whether records of the earlier form exist; when the database cannot say, lookups keep reading them.</summary>
    internal async Task LookForEarlierRecordsAsync()
    {
        try
        {
            _earlierMayExist = await _rows.AnyAsync(EarlierGrainType);
        }
        catch (Exception e)
        {
            _log.LogWarning(e, "Could not tell whether movement records of the earlier form exist; every lookup reads both forms.");
        }
    }

    public async Task<TransactionRecord?> FindAsync(string id) =>
        await _rows.ReadAsync(new StateRead(GrainType, id, StateName) { FormerGrainTypes = _earlierMayExist ? FormerGrainTypes : [] }) switch
        {
            null => null,
            { FormerGrainType: null } stored => _serializer.Deserialize<TransactionRecord>(stored.Payload),
            var kept => _serializer.Deserialize<TransactionalStateRecord<TransactionRecordState>>(kept.Payload)?.CommittedState?.Record,
        };

    /// <summary>Stores a refused movement's record unless the id already has one; returns the one that stands.</summary>
    public async Task<TransactionRecord> AddAsync(TransactionRecord record)
    {
        try
        {
            await _rows.WriteAsync(new StateWrite(GrainType, record.Id, StateName, 0, _serializer.SerializeToArray(record)));
            return record;
        }
        catch (InconsistentStateException)
        {
            return await FindAsync(record.Id) ?? throw new InvalidOperationException($"The record of {record.Id} exists and cannot be read.");
        }
    }
}
