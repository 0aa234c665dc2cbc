using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;

namespace Tekana.Grains.Hosting;

/// <summary>
/// Orleans' transaction agent with two changes: every transaction starts with a lock timeout of <see cref="LockTimeout"/>
/// where Orleans gives each 10 s (a transaction's timeout is the span its locks may be held before they are broken),
/// and its commit is managed by the <em>last</em> writer to join it, where Orleans picks the first (<see cref="ManagedByLastWriter"/>).
/// </summary>
/// <remarks>
/// Each lock a transaction takes schedules a wake-up at its deadline, and Orleans keeps every pending wake-up of a silo
/// in lists that it walks 20 times a second, due or not. At about a thousand movements a second, 10 s deadlines kept
/// some 50,000 wake-ups pending, and walking them took a fifth of the silo's CPU; with 4 s deadlines, 9 % of its busy
/// samples, and with 2 s, 5 %. Every wake-up also lives until its deadline, long enough to be promoted by each
/// collection. Halving the three spans again (this one to 1 s, the prepare timeout and the ping period to 0.75 s, see
/// TekanaSiloBuilderExtensions) gave uniform transfers 1.10x the throughput (1.05, 1.22, 1.03 in three alternating
/// pairs) and 12 % less silo CPU per movement; the hot wallet, whose payers go through its batches, did not move. A
/// movement holds its locks for milliseconds: a whole request took at most 266 ms with 256 clients on the benchmark.
/// One still holding a lock after <see cref="LockTimeout"/> is aborted and retried under its
/// idempotency key, as after 10 s, only sooner. A gracefully stopping silo waits this span, with the others, before
/// it deactivates its wallets (<see cref="SiloDrain"/>). Under a debugger Orleans' own timeout stands.
/// </remarks>
internal sealed class LedgerTransactionAgent(ITransactionAgent orleans) : ITransactionAgent
{
    /// <summary>How long a transaction may hold a lock before the lock is broken and the transaction aborts.</summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(1);

    public Task<TransactionInfo> StartTransaction(bool readOnly, TimeSpan timeout) =>
        orleans.StartTransaction(readOnly, Debugger.IsAttached || timeout < LockTimeout ? timeout : LockTimeout);

    public Task<(TransactionalStatus Status, Exception? exception)> Resolve(TransactionInfo transactionInfo)
    {
        ManagedByLastWriter(transactionInfo.Participants);
        return orleans.Resolve(transactionInfo);
    }

    /// <summary>
    /// Puts the last writer to join first among <paramref name="participants"/> (which keep their join order), where
    /// Orleans looks for the transaction's manager.
    /// </summary>
    /// <remarks>
    /// The manager's storage writes the commit, and with it the movement's record (<see cref="Storage.MovementSettlements"/>),
    /// which needs both legs' outcomes. The last wallet a movement calls knows them both once it has posted its own leg, so
    /// it carries the record in that same call. With the first wallet managing, the record took a further call to it
    /// after the second leg, which also held the first wallet's lock for that round trip longer.
    /// </remarks>
    internal static void ManagedByLastWriter(Dictionary<ParticipantId, AccessCounter> participants)
    {
        KeyValuePair<ParticipantId, AccessCounter>? first = null, last = null;
        foreach (var participant in participants)
        {
            if (participant.Key.IsManager() && participant.Value.Writes > 0)
            {
                first ??= participant;
                last = participant;
            }
        }
        if (last is not { } manager || ParticipantId.Comparer.Equals(first!.Value.Key, manager.Key))
        {
            return;
        }
        // A dictionary that is cleared and refilled enumerates in the order of the refill.
        var others = participants.Where(p => !ParticipantId.Comparer.Equals(p.Key, manager.Key)).ToList();
        participants.Clear();
        participants.Add(manager.Key, manager.Value);
        foreach (var (id, counter) in others)
        {
            participants.Add(id, counter);
        }
    }

    public Task Abort(TransactionInfo transactionInfo) => orleans.Abort(transactionInfo);

    /// <summary>Wraps the agent <c>UseTransactions</c> registered (its type is internal to Orleans).</summary>
    public static void Decorate(IServiceCollection services)
    {
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(ITransactionAgent) && !d.IsKeyedService)
            ?? throw new InvalidOperationException("UseTransactions registers the transaction agent first.");
        var type = registered.ImplementationType
            ?? throw new InvalidOperationException($"The transaction agent is registered as {registered}, not by type.");
        services.Remove(registered);
        services.AddSingleton<ITransactionAgent>(sp =>
            new LedgerTransactionAgent((ITransactionAgent)ActivatorUtilities.CreateInstance(sp, type)));
    }
}
