using Orleans.Concurrency;
using Tekana.Abstractions;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Domain;
using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;
using Tekana.Domain.Wallets;
using Tekana.Grains.Hosting;
using Tekana.Grains.Storage;

namespace Tekana.Grains.Transfers;

/// <summary>
/// The ledger's stateless workers. Clients move to a fresh set of ledger ids every rebalance period
/// (<see cref="LedgerEntry"/>): the previous set's workers are idle from then on, and go after two idle minutes
/// instead of Orleans' fifteen.
/// </summary>
[StatelessWorker(MaxMovementsInFlight)]
[CollectionAgeLimit(Minutes = 2)]
public sealed class LedgerGrain(
    ITransactionClient transactions, MovementRecords records, MovementsInFlight running, TimeProvider clock, PayeeTraffic traffic)
    : Grain, ILedgerGrain
{
    /// <summary>
    /// Movements a silo runs at once for one ledger id (clients spread over <see cref="LedgerEntry.Keys"/> of them). A
    /// stateless worker takes one request at a time, and Orleans starts one worker per core by default, so a two-core
    /// silo ran two movements at a time while the rest queued; more in flight also fills the storage's group commits.
    /// The API's admission control caps what reaches the cluster.
    /// </summary>
    public const int MaxMovementsInFlight = 16;

    public async Task<MovementOutcome> Execute(MovementRequest request)
    {
        LedgerException.ThrowIf(MovementRules.Validate(
            request.Type, request.IdempotencyKey, request.FromWalletId, request.ToWalletId, request.Amount,
            request.Currency, request.ExternalReference, request.Description, request.Metadata));
        if (string.IsNullOrEmpty(request.Scope))
        {
            throw new LedgerException(DomainError.Invalid("scope", "A movement needs the scope of its idempotency key."));
        }

        var pending = Pending(request, clock.GetUtcNow());
        var started = clock.GetTimestamp();
        var type = request.Type.ToString().ToLowerInvariant();
        using var alone = await running.EnterAsync(pending.Id);
        using var payee = traffic.Enter(pending.ToWalletId);
        if (payee.Busy && await Batched(pending) is { } batched)
        {
            // The batch looks the key up itself (a recorded movement comes back as a replay), and records a refusal.
            return Settled(batched, retried: false, type, started);
        }
        if (await Retry(() => Recorded(pending)) is { } recorded)
        {
            return Settled(recorded, retried: false, type, started);
        }
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (attempt > 1 && await Recorded(pending) is { } earlier)
                {
                    // An earlier attempt committed after all (its outcome was in doubt), or a concurrent request under
                    // the same key did.
                    return Settled(earlier, retried: true, type, started);
                }
                var run = await InTransaction(() => Run(pending));
                return Settled(run, retried: attempt > 1, type, started);
            }
            catch (Exception e) when (LedgerException.Find(e) is { } refusal)
            {
                if (refusal.Code is ErrorKind.IdempotencyConflict or ErrorKind.Validation)
                {
                    throw refusal;
                }
                var failed = pending with
                {
                    Status = MovementStatus.Failed,
                    FailureCode = refusal.Code,
                    FailureMessage = refusal.Message,
                };
                var stored = await Retry(() => records.AddAsync(failed));
                EnsureSameRequest(stored, pending);
                // Another attempt under the same key may have stored its outcome first: that one is the answer.
                var replayed = stored.CreatedAt != failed.CreatedAt || stored.Status != failed.Status;
                if (!replayed)
                {
                    TekanaMetrics.MovementSettled(type, "refused", ErrorKinds.Slug(refusal.Code), clock.GetElapsedTime(started));
                }
                return new MovementOutcome(stored, Replayed: replayed);
            }
            catch (Exception e) when (WalletMovingException.Find(e) is { } moving)
            {
                // A wallet on a stopping silo refused its leg: the transaction aborted, so nothing of it committed, and
                // the wallet's next activation elsewhere takes the leg within seconds. Waiting for it is not a failed
                // attempt; waiting longer than a drain lasts is busy.
                if (clock.GetElapsedTime(started) >= WalletMovingException.RetryBudget)
                {
                    TekanaMetrics.MovementSettled(type, "busy", nameof(WalletMovingException), clock.GetElapsedTime(started));
                    throw Busy(moving);
                }
                attempt--;
                await Task.Delay(WalletMovingException.Backoff());
            }
            catch (Exception e) when (TransientFailures.IsTransient(e) && attempt < TransientFailures.MaxAttempts)
            {
                await Task.Delay(TransientFailures.Backoff(attempt));
            }
            catch (Exception e) when (TransientFailures.IsTransient(e))
            {
                TekanaMetrics.MovementSettled(type, "busy", e.GetType().Name, clock.GetElapsedTime(started));
                throw Busy(e);
            }
        }
    }

    /// <remarks>
    /// Both legs run from here, so that the transaction makes the fewest sequential calls: a wallet holds its lock from
    /// its leg until the transaction prepares, and every call in between is time a busy wallet waits. Locks are taken
    /// in <see cref="WalletLockOrder"/>. The second wallet called is the transaction's last writer, which manages its commit
    /// (<see cref="LedgerTransactionAgent"/>): its leg's call also hands it the movement's record, written in the same
    /// database commit as its state (<see cref="MovementSettlements"/>).
    /// </remarks>
    private async Task<MovementRun> Run(TransactionRecord pending)
    {
        // A house wallet's leg goes to one of its shards; the record and the other leg name the house wallet itself.
        var source = GrainFactory.Reference<IWalletGrain>(WalletIds.LegWallet(pending.FromWalletId, pending.Id));
        var destination = GrainFactory.Reference<IWalletGrain>(WalletIds.LegWallet(pending.ToWalletId, pending.Id));
        EntryResult debited, credited;
        if (WalletLockOrder.DebitFirst(pending.FromWalletId, pending.ToWalletId))
        {
            debited = await source.Debit(MovementLegs.Debit(pending));
            credited = await destination.CreditAndSettle(pending, debited);
        }
        else
        {
            credited = await destination.Credit(MovementLegs.Credit(pending));
            debited = await source.DebitAndSettle(pending, credited);
        }
        return new MovementRun(MovementLegs.Completed(pending, debited, credited), Replayed: false);
    }

    /// <summary>The movement's record when its key was used before: the same request's outcome, replayed.</summary>
    private async Task<MovementRun?> Recorded(TransactionRecord pending)
    {
        if (await records.FindAsync(pending.Id) is not { } existing)
        {
            return null;
        }
        EnsureSameRequest(existing, pending);
        return new MovementRun(existing, Replayed: true);
    }

    internal static void EnsureSameRequest(TransactionRecord stored, TransactionRecord request)
    {
        if (stored.Fingerprint != request.Fingerprint)
        {
            throw new LedgerException(ErrorKind.IdempotencyConflict, "This idempotency key was already used for a different request.");
        }
    }

    /// <summary>The record a valid request starts from: its id, its two wallets (a house wallet for money in or out) and its fingerprint.</summary>
    public static TransactionRecord Pending(MovementRequest request, DateTimeOffset now)
    {
        var (from, to) = request.Type switch
        {
            MovementType.Deposit => (WalletIds.Funding(request.Currency), request.ToWalletId!),
            MovementType.Withdrawal => (request.FromWalletId!, WalletIds.Payout(request.Currency)),
            _ => (request.FromWalletId!, request.ToWalletId!),
        };
        return new TransactionRecord
        {
            Id = Ids.TransactionIdFor(request.Scope, request.IdempotencyKey),
            Type = request.Type,
            Status = MovementStatus.Completed,
            Amount = request.Amount,
            Currency = request.Currency,
            FromWalletId = from,
            ToWalletId = to,
            ExternalReference = request.ExternalReference,
            Description = request.Description,
            Metadata = request.Metadata ?? [],
            IdempotencyKey = request.IdempotencyKey,
            Fingerprint = MovementRules.Fingerprint(request.Type, from, to, request.Amount, request.Currency,
                request.ExternalReference, request.Description, request.Metadata),
            InitiatedBy = request.InitiatedBy,
            CreatedAt = now,
        };
    }

    public async Task<TransactionRecord> GetTransaction(string transactionId)
    {
        if (!Ids.IsTransactionId(transactionId))
        {
            throw new LedgerException(ErrorKind.TransactionNotFound, "The transaction does not exist.");
        }
        var record = await Retry(() => records.FindAsync(transactionId));
        return record ?? throw new LedgerException(ErrorKind.TransactionNotFound, "The transaction does not exist.");
    }

    /// <summary>Runs a movement's calls in a transaction this worker starts and commits.</summary>
    private async Task<T> InTransaction<T>(Func<Task<T>> call)
    {
        T result = default!;
        await transactions.RunTransaction(TransactionOption.Create, async () => result = await call());
        return result;
    }

    /// <summary>
    /// A movement that ran, here or in its payee's batch: its outcome counted. Its legs' events went out as their
    /// wallets' storage committed them.
    /// </summary>
    private MovementOutcome Settled(MovementRun run, bool retried, string type, long started)
    {
        var record = run.Record;
        if ((run.Replayed || retried) && record.Status == MovementStatus.Completed)
        {
            // An earlier attempt's outcome was in doubt: a wallet whose write committed it without learning so (its
            // answer was lost) reads its events back from its committed outbox.
            GrainFactory.Reference<IWalletGrain>(record.FromWalletId).Wake().Ignore();
            GrainFactory.Reference<IWalletGrain>(record.ToWalletId).Wake().Ignore();
        }
        if (!run.Replayed)
        {
            var refused = record.Status == MovementStatus.Failed;
            TekanaMetrics.MovementSettled(type, refused ? "refused" : "completed",
                refused ? ErrorKinds.Slug(record.FailureCode!.Value) : null, clock.GetElapsedTime(started));
        }
        return new MovementOutcome(record, run.Replayed);
    }

    /// <summary>The movement run in its payee's batch, or null when it must run alone (the batch, or its grain, failed).</summary>
    private async Task<MovementRun?> Batched(TransactionRecord pending)
    {
        try
        {
            return await GrainFactory.Reference<IPayeeBatchGrain>(pending.ToWalletId).Submit(pending);
        }
        catch (Exception e) when (LedgerException.Find(e) is null)
        {
            // The call failed (the batch's silo went away, the call timed out): whether the batch committed or not,
            // running alone settles the movement once (its record is found if it did).
            return null;
        }
    }

    private static async Task<T> Retry<T>(Func<Task<T>> action)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await action();
            }
            catch (Exception e) when (LedgerException.Find(e) is { } refusal)
            {
                throw refusal;
            }
            catch (Exception e) when (TransientFailures.IsTransient(e) && attempt < TransientFailures.MaxAttempts)
            {
                await Task.Delay(TransientFailures.Backoff(attempt));
            }
            catch (Exception e) when (TransientFailures.IsTransient(e))
            {
                throw Busy(e);
            }
        }
    }

    private static LedgerException Busy(Exception cause) => new(ErrorKind.LedgerBusy,
        $"The ledger could not complete the operation in time ({cause.GetType().Name}); retry with the same idempotency key.");
}
