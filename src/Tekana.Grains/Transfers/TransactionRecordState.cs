using Tekana.Abstractions.Transfers;

namespace Tekana.Grains.Transfers;

/// <summary>
/// The state of a movement's record grain, which kept each record before records were written with their transaction:
/// read back (<see cref="Storage.MovementRecords"/>) so that requests repeating a key from then still find their answer.
/// </summary>
[GenerateSerializer]
public sealed class TransactionRecordState
{
    [Id(0)] public TransactionRecord? Record { get; set; }
}
