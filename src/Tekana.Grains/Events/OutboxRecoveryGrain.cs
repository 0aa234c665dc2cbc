using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Grains.Transfers;

namespace Tekana.Grains.Events;

/// <summary>
/// Reads a wallet's committed outbox in a transaction of its own, from outside the wallet: a wallet cannot start a
/// transaction on itself, and only what a committed transaction read may be published.
/// </summary>
[StatelessWorker]
public sealed class OutboxRecoveryGrain(ITransactionClient transactions, ILogger<OutboxRecoveryGrain> log) : Grain, IOutboxRecoveryGrain
{
    public async Task Recover(string walletId)
    {
        var wallet = GrainFactory.GetGrain<IWalletGrain>(walletId);
        for (var attempt = 1; attempt <= TransientFailures.MaxAttempts; attempt++)
        {
            try
            {
                OutboxSnapshot? snapshot = null;
                await transactions.RunTransaction(TransactionOption.Create, async () => snapshot = await wallet.ReadOutbox());
                await wallet.Recovered(snapshot!);
                return;
            }
            catch (Exception e) when (TransientFailures.IsTransient(e) || LedgerException.Find(e) is not null)
            {
                await Task.Delay(TransientFailures.Backoff(attempt));
            }
        }
        // The wallet's outbox timer asks again later; nothing is lost, only delayed.
        log.LogWarning("Could not read the outbox of {WalletId}; it will be retried.", walletId);
    }
}
