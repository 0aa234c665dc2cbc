using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Tekana.Abstractions;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Grains.Transfers;

namespace Tekana.Grains.Events;

/// <summary>
/// Reads a wallet's committed outbox in a transaction of its own, from outside the wallet: a wallet cannot start a
/// transaction on itself, and only what a committed transaction read may be published.
/// </summary>
/// <remarks>
/// Every wallet that activates asks for a read, so thousands may ask at once (a burst of registrations, a silo's
/// restart). One reentrant worker per silo takes every request at once and runs at most
/// <see cref="MaxConcurrentReads"/> reads, the rest waiting in order; a wallet that asks again while its earlier request
/// still waits is answered by that one, whose read starts later. Requests queued in Orleans instead, behind two
/// non-reentrant workers, cost the silo time to scan on every arrival, and wallets whose answer took long asked again,
/// which made the queue longer still (measured: a silo at 1.6 cores with no traffic after 10,000 registrations).
/// </remarks>
[StatelessWorker(1)]
[Reentrant]
public sealed class OutboxRecoveryGrain(ITransactionClient transactions, ILogger<OutboxRecoveryGrain> log) : Grain, IOutboxRecoveryGrain
{
    public const int MaxConcurrentReads = 32;

    private readonly SemaphoreSlim _reads = new(MaxConcurrentReads);
    private readonly HashSet<string> _waiting = [];

    public async Task Recover(string walletId)
    {
        if (!_waiting.Add(walletId))
        {
            return;
        }
        await _reads.WaitAsync();
        _waiting.Remove(walletId);
        try
        {
            await ReadAndHandOver(walletId);
        }
        finally
        {
            _reads.Release();
        }
    }

    private async Task ReadAndHandOver(string walletId)
    {
        var wallet = GrainFactory.Reference<IWalletGrain>(walletId);
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
