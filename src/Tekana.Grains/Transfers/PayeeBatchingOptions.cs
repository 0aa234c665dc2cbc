namespace Tekana.Grains.Transfers;

/// <summary>Whether movements to a busy payee run in batches (<see cref="PayeeBatchGrain"/>).</summary>
/// <remarks>
/// Off by default. Batching triples the throughput of payments to one merchant, but in two of nine cluster-test runs
/// that killed a silo under traffic, wallets that had taken part in batches answered no transactional call for minutes;
/// until that is understood, a silo kill must not be able to wedge wallets in production.
/// </remarks>
public sealed class PayeeBatchingOptions
{
    public const string Section = "Tekana:PayeeBatching";

    public bool Enabled { get; set; }
}
