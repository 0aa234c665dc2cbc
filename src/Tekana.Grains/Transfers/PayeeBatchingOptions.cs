namespace Tekana.Grains.Transfers;

/// <summary>Whether movements to a busy payee run in batches (<see cref="PayeeBatchGrain"/>).</summary>
/// <remarks>
/// On by default: with 64 clients paying one merchant, the benchmark's silo ran about 650 movements/s with batching and
/// about 60 without (see the README). Off, every movement takes the payee's lock alone, which is the simpler path to
/// reason about when investigating a payee's history.
/// </remarks>
public sealed class PayeeBatchingOptions
{
    public const string Section = "Tekana:PayeeBatching";

    public bool Enabled { get; set; } = true;
}
