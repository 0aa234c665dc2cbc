using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Transactions;
using Tekana.Abstractions;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Domain.Transfers;
using Tekana.Domain.Wallets;
using Tekana.Grains.Hosting;
using Tekana.Grains.Storage;

namespace Tekana.Grains.Transfers;

/// <remarks>
/// <para>
/// A wallet that many pay at once (a merchant) takes one movement at a time: each holds the payee's lock from its
/// credit until its transaction prepares, a chain of several grain calls. A batch takes that lock once for up to
/// <see cref="MaxBatch"/> movements. Its transaction keeps the ledger's lock order: the payers one after the other and
/// the payee at its place among them, by <see cref="WalletLockOrder"/>; the first of them carries the records. Locks taken
/// at once could make a batch wait for a wallet while holding one that comes after it, which another transaction may be
/// waiting for.
/// </para>
/// <para>
/// A payer's refusal (insufficient funds, a frozen wallet) is returned by <see cref="IWalletGrain.TryDebit"/> without
/// aborting the batch: that movement is recorded as refused and the others go on. Anything else that fails (the payee
/// refuses, an idempotency conflict, a transient abort) aborts the whole batch, and each of its movements then runs
/// alone, where the ledger retries and records refusals as usual. Two batches may run at once: the second takes the
/// payers ahead of the payee while the first still holds the payee.
/// </para>
/// <para>
/// A request that arrives again while its movement waits or runs here (a caller's retry) shares that movement's outcome,
/// as a replay; under the same key with a different body it is left to run alone, where it is refused as a conflict.
/// So no movement is ever in two batches at once.
/// </para>
/// </remarks>
[Reentrant]
public sealed class PayeeBatchGrain(ITransactionClient transactions, MovementRecords records, ILogger<PayeeBatchGrain> log)
    : Grain, IPayeeBatchGrain
{
    public const int MaxBatch = 32;
    private const int MaxRunning = 2;

    private readonly Queue<Waiting> _queue = new();
    private readonly Dictionary<string, Waiting> _inFlight = new(StringComparer.Ordinal);
    private int _running;

    private string PayeeId => this.GetPrimaryKeyString();

    public Task<MovementRun?> Submit(TransactionRecord pending)
    {
        if (WalletIds.TryParseHouse(PayeeId, out _, out _) || pending.ToWalletId != PayeeId)
        {
            // House wallets spread their legs over shards instead.
            return Task.FromResult<MovementRun?>(null);
        }
        if (_inFlight.TryGetValue(pending.Id, out var earlier))
        {
            return earlier.Pending.Fingerprint == pending.Fingerprint ? AsReplay(earlier.Done.Task) : Task.FromResult<MovementRun?>(null);
        }
        var waiting = new Waiting(pending);
        _inFlight.Add(pending.Id, waiting);
        _queue.Enqueue(waiting);
        StartBatches();
        return waiting.Done.Task;
    }

    private static async Task<MovementRun?> AsReplay(Task<MovementRun?> original) =>
        await original is { } run ? run with { Replayed = true } : null;

    private void StartBatches()
    {
        while (_running < MaxRunning && _queue.Count > 0)
        {
            var batch = new List<Waiting>();
            while (batch.Count < MaxBatch && _queue.TryDequeue(out var next))
            {
                batch.Add(next);
            }
            _running++;
            RunAsync(batch).Ignore();
        }
    }

    private async Task RunAsync(List<Waiting> batch)
    {
        try
        {
            var runs = await RunBatchAsync([.. batch.Select(w => w.Pending)]);
            TekanaMetrics.BatchRan(batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Done.TrySetResult(runs[i]);
            }
        }
        catch (Exception e)
        {
            // Correct, but each movement then takes the payee's lock alone: a rate of these is a busy payee slowing down.
            TekanaMetrics.BatchFailed(FailureReason(e));
            log.LogDebug(e, "A batch of {Count} movements to {Payee} did not run; each runs alone.", batch.Count, PayeeId);
            batch.ForEach(w => w.Done.TrySetResult(null));
        }
        finally
        {
            batch.ForEach(w => _inFlight.Remove(w.Pending.Id));
            _running--;
            StartBatches();
        }
    }

    /// <summary>
    /// The ledger's refusal code, or the type of the exception that aborted the transaction: Orleans wraps what a
    /// participant threw in a plain <see cref="OrleansTransactionAbortedException"/>, and names its own causes (a lock
    /// broken, a prepare timed out) by the abort's subtype.
    /// </summary>
    private static string FailureReason(Exception e)
    {
        if (LedgerException.Find(e) is { } refused)
        {
            return refused.Code.ToString();
        }
        while (e.GetType() == typeof(OrleansTransactionAbortedException) && e.InnerException is { } inner)
        {
            e = inner;
        }
        return e.GetType().Name;
    }

    private async Task<MovementRun[]> RunBatchAsync(List<TransactionRecord> movements)
    {
        // A movement recorded meanwhile (a request under the same key that ran alone) is replayed, not run again;
        // under a different body the whole batch fails, and that movement, run alone, is refused as a conflict.
        var existing = await Task.WhenAll(movements.Select(m => records.FindAsync(m.Id)));
        for (var i = 0; i < movements.Count; i++)
        {
            if (existing[i] is { } stored)
            {
                LedgerGrain.EnsureSameRequest(stored, movements[i]);
            }
        }
        var runs = new MovementRun[movements.Count];
        await transactions.RunTransaction(TransactionOption.Create, async () =>
        {
            var debits = new LegOutcome?[movements.Count];
            var credits = new EntryResult?[movements.Count];
            var toCredit = new List<int>();
            var payee = GrainFactory.Reference<IWalletGrain>(PayeeId);
            var payeeLocked = false;
            // The last wallet to join manages the transaction's commit and carries the movements' records
            // (LedgerTransactionAgent). A payer may be called twice, the payee early and again at the end: each joins once.
            IWalletGrain? manager = null;
            var joined = new HashSet<string>();
            void Joined(string id, IWalletGrain wallet)
            {
                if (joined.Add(id))
                {
                    manager = wallet;
                }
            }

            async Task CreditAsync()
            {
                var posted = await payee.CreditMany([.. toCredit.Select(i => MovementLegs.Credit(movements[i]))]);
                for (var k = 0; k < toCredit.Count; k++)
                {
                    credits[toCredit[k]] = posted[k];
                }
                toCredit.Clear();
                payeeLocked = true;
                Joined(PayeeId, payee);
            }

            // The wallets whose locks are taken: a house payer's leg goes to one of its shards.
            var payers = movements.Select(m => WalletIds.LegWallet(m.FromWalletId, m.Id)).ToList();
            var fresh = Enumerable.Range(0, movements.Count).Where(i => existing[i] is null)
                .OrderBy(i => payers[i], WalletLockOrder.Instance);
            foreach (var i in fresh)
            {
                if (!payeeLocked && WalletLockOrder.Instance.Compare(PayeeId, payers[i]) < 0)
                {
                    // The payee comes before this payer: take its lock now, crediting what is ready.
                    await CreditAsync();
                }
                var payer = GrainFactory.Reference<IWalletGrain>(payers[i]);
                debits[i] = await payer.TryDebit(MovementLegs.Debit(movements[i]));
                Joined(payers[i], payer);
                if (debits[i]!.Posted is not null)
                {
                    toCredit.Add(i);
                }
            }
            if (!payeeLocked || toCredit.Count > 0)
            {
                await CreditAsync();
            }

            var settled = new List<TransactionRecord>();
            for (var i = 0; i < movements.Count; i++)
            {
                if (existing[i] is { } replayed)
                {
                    runs[i] = new MovementRun(replayed, Replayed: true);
                    continue;
                }
                var movement = movements[i];
                var outcome = debits[i]!;
                var record = outcome.Posted is { } debited && credits[i] is { } credited
                    ? MovementLegs.Completed(movement, debited, credited)
                    : movement with { Status = MovementStatus.Failed, FailureCode = outcome.Refusal, FailureMessage = outcome.Message };
                settled.Add(record);
                runs[i] = new MovementRun(record, Replayed: false);
            }
            await manager!.Settle([.. settled]);
        });
        return runs;
    }

    private sealed record Waiting(TransactionRecord Pending)
    {
        public TaskCompletionSource<MovementRun?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
