namespace Tekana.Grains.Storage;

/// <summary>
/// Told of every state that a write of the ledger storage commits, once the write has succeeded: the write that carries
/// a transaction's commit record when this grain manages it, or the one that follows its confirmation when not. A grain
/// sets it as a component of its context; the storage calls it on the grain's scheduler, within Orleans' storage work.
/// </summary>
internal interface ICommittedStateObserver<in TState> where TState : class
{
    void Committed(TState state);

    /// <summary>
    /// Told after every load and write what a read outside any transaction may answer: the committed state while no
    /// prepared transaction waits here, else null. A prepared transaction may already have committed at its manager,
    /// and a grain that does not manage it learns so only from its confirmation; until then only a transaction reads
    /// the state as it is. Every transaction that writes here prepares here first, so with nothing prepared the
    /// committed state is the latest.
    /// </summary>
    void Settled(TState? state);
}
