using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Transactions;

namespace Tekana.Grains.Hosting;

/// <summary>
/// Orleans' transaction agent, starting every transaction with a lock timeout of <see cref="LockTimeout"/> where
/// Orleans gives each 10 s (a transaction's timeout is the span its locks may be held before they are broken).
/// </summary>
/// <remarks>
/// Each lock a transaction takes schedules a wake-up at its deadline, and Orleans keeps every pending wake-up of a silo
/// in lists that it walks 20 times a second, due or not. At about a thousand movements a second, 10 s deadlines kept
/// some 50,000 wake-ups pending, and walking them took a fifth of the silo's CPU; with 4 s deadlines, 9 % of its busy
/// samples, and with 2 s, 5 %. A movement holds its locks for milliseconds (at most 659 ms with 256 clients on the
/// benchmark). One still holding a lock after <see cref="LockTimeout"/> is aborted and retried under its
/// idempotency key, as after 10 s, only sooner. The same span bounds how long a gracefully stopping silo takes to
/// deactivate its wallets: a deactivating wallet holds back the transaction messages that its running requests wait
/// for, until their locks time out. Under a debugger Orleans' own timeout stands.
/// </remarks>
internal sealed class ShortLockTransactionAgent(ITransactionAgent orleans) : ITransactionAgent
{
    /// <summary>How long a transaction may hold a lock before the lock is broken and the transaction aborts.</summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(2);

    public Task<TransactionInfo> StartTransaction(bool readOnly, TimeSpan timeout) =>
        orleans.StartTransaction(readOnly, Debugger.IsAttached || timeout < LockTimeout ? timeout : LockTimeout);

    public Task<(TransactionalStatus Status, Exception? exception)> Resolve(TransactionInfo transactionInfo) =>
        orleans.Resolve(transactionInfo);

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
            new ShortLockTransactionAgent((ITransactionAgent)ActivatorUtilities.CreateInstance(sp, type)));
    }
}
