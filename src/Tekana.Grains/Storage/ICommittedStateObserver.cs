namespace Tekana.Grains.Storage;

/// <summary>
/// Told of every state that a write of the ledger storage commits, once the write has succeeded: the write that carries
/// a transaction's commit record when this grain manages it, or the one that follows its confirmation when not. A grain
/// sets it as a component of its context; the storage calls it on the grain's scheduler, within Orleans' storage work.
/// </summary>
internal interface ICommittedStateObserver<in TState>
{
    void Committed(TState state);
}
