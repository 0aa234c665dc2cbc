using Orleans.Concurrency;
using Tekana.Abstractions.Events;
using Tekana.Abstractions.Transfers;

namespace Tekana.Abstractions.Wallets;

/// <summary>
/// A wallet: one balance in one currency, held in transactional state so that both legs of a movement commit or
/// neither does. Keyed by wallet id; house wallets (<c>house_funding_USD</c>, <c>house_payout_USD</c>) and their shards
/// (<c>house_funding_USD.0</c> …), which carry their movements, exist implicitly.
/// </summary>
/// <remarks>
/// Array parameters marked <c>[Immutable]</c> travel without Orleans' defensive copy: every caller builds a fresh array
/// of immutable elements for the call and never touches it again, and the wallet never changes it.
/// </remarks>
public interface IWalletGrain : IEventSourceGrain
{
    /// <summary>Opens the wallet for an owner, or returns it when that owner already has it open.</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<WalletView> Open(string ownerId, string currency, bool ownerSuspended);

    /// <summary>The wallet with its balance (for a house wallet, its shards' included).</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<WalletView> Get();

    /// <summary>
    /// The wallet as <see cref="Get"/> would answer, without a transaction, when its last committed state is known to be
    /// current: no movement of it is prepared and waiting for its outcome. Null when only <see cref="Get"/> can tell
    /// (something prepared, the state not loaded, a house wallet's total).
    /// </summary>
    [AlwaysInterleave]
    [ReadOnly]
    Task<WalletView?> GetIfSettled();

    /// <summary>Takes money out, as one leg of a movement.</summary>
    [Transaction(TransactionOption.Join)]
    Task<EntryResult> Debit(WalletEntry entry);

    /// <summary>
    /// Takes money out as one leg of a movement in a batch, or says why not and changes nothing: a refusal returned,
    /// unlike one thrown, does not abort the transaction that the batch's other movements share.
    /// </summary>
    /// <remarks>
    /// A batch may call a wallet twice. A call that waits for the wallet's lock occupies a non-reentrant grain, so the
    /// batch's second call, which holds that lock, must not queue behind it: batch calls interleave.
    /// </remarks>
    [Transaction(TransactionOption.Join)]
    [AlwaysInterleave]
    Task<LegOutcome> TryDebit(WalletEntry entry);

    /// <summary>Puts money in, as one leg of a movement.</summary>
    [Transaction(TransactionOption.Join)]
    Task<EntryResult> Credit(WalletEntry entry);

    /// <summary>
    /// Takes money out as the second leg of <paramref name="movement"/>, whose credit leg already posted as
    /// <paramref name="credited"/>, and carries the completed movement's record like <see cref="Settle"/>: the last
    /// writer to join a transaction manages its commit.
    /// </summary>
    [Transaction(TransactionOption.Join)]
    Task<EntryResult> DebitAndSettle(TransactionRecord movement, EntryResult credited);

    /// <summary>Puts money in as the second leg of <paramref name="movement"/>, as <see cref="DebitAndSettle"/> takes it out.</summary>
    [Transaction(TransactionOption.Join)]
    Task<EntryResult> CreditAndSettle(TransactionRecord movement, EntryResult debited);

    /// <summary>Puts money in for several movements of one transaction, in order, with consecutive sequence numbers.</summary>
    /// <remarks>Interleaves, as <see cref="TryDebit"/> does.</remarks>
    [Transaction(TransactionOption.Join)]
    [AlwaysInterleave]
    Task<EntryResult[]> CreditMany([Immutable] WalletEntry[] entries);

    /// <summary>
    /// Carries the records of the movements this transaction settles, written in the same commit as this wallet's
    /// state. Called on the last wallet to join the transaction, which manages its commit.
    /// </summary>
    /// <remarks>The wallet's lock is already this transaction's: the call interleaves, as <see cref="TryDebit"/> does.</remarks>
    [Transaction(TransactionOption.Join)]
    [AlwaysInterleave]
    Task Settle([Immutable] TransactionRecord[] records);

    /// <summary>Stops the wallet from sending and receiving.</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<WalletView> Freeze();

    /// <summary>Lifts a freeze.</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<WalletView> Unfreeze();

    /// <summary>Closes the wallet; only at zero balance.</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<WalletView> Close();

    /// <summary>Mirrors the owner's suspension so that movements can check it without calling the customer.</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<WalletView> SetOwnerSuspended(bool suspended);

    /// <summary>The wallet's committed outbox and its last event number (for re-publication after a crash).</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<OutboxSnapshot> ReadOutbox();

    /// <summary>The committed outbox, read in a transaction that has committed: publish everything not yet delivered.</summary>
    [OneWay]
    Task Recovered(OutboxSnapshot snapshot);
}

[GenerateSerializer, Immutable]
public sealed record OutboxSnapshot(
    [property: Id(0)] LedgerEvent[] Events,
    [property: Id(1)] long LastNumber);
