using Orleans.Concurrency;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Events;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Domain;
using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;
using Tekana.Domain.Wallets;
using Tekana.Grains.Hosting;

namespace Tekana.Grains.Transfers;

[StatelessWorker]
public sealed class LedgerGrain(ITransactionClient transactions, TimeProvider clock) : Grain, ILedgerGrain
{
    public async Task<MovementOutcome> Execute(MovementRequest request)
    {
        LedgerException.ThrowIf(MovementRules.Validate(
            request.Type, request.IdempotencyKey, request.FromWalletId, request.ToWalletId, request.Amount,
            request.Currency, request.ExternalReference, request.Description, request.Metadata));
        if (string.IsNullOrEmpty(request.Scope))
        {
            throw new LedgerException(DomainError.Invalid("scope", "A movement needs the scope of its idempotency key."));
        }

        var (from, to) = request.Type switch
        {
            MovementType.Deposit => (WalletIds.Funding(request.Currency), request.ToWalletId!),
            MovementType.Withdrawal => (request.FromWalletId!, WalletIds.Payout(request.Currency)),
            _ => (request.FromWalletId!, request.ToWalletId!),
        };
        var pending = new TransactionRecord
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
            CreatedAt = clock.GetUtcNow(),
        };

        var record = GrainFactory.GetGrain<ITransactionRecordGrain>(pending.Id);
        var started = clock.GetTimestamp();
        var type = request.Type.ToString().ToLowerInvariant();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var outcome = await Move(record, pending, recordFirst: attempt > 1);
                if ((outcome.Replayed || attempt > 1) && outcome.Record.Status == MovementStatus.Completed)
                {
                    // An earlier attempt may have committed without handing its events over (its outcome was in
                    // doubt): the wallets read them back from their committed outboxes.
                    GrainFactory.GetGrain<IWalletGrain>(outcome.Record.FromWalletId).Wake().Ignore();
                    GrainFactory.GetGrain<IWalletGrain>(outcome.Record.ToWalletId).Wake().Ignore();
                }
                if (!outcome.Replayed)
                {
                    TekanaMetrics.MovementSettled(type, "completed", null, clock.GetElapsedTime(started));
                }
                return outcome;
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
                var stored = await Retry(() => record.RecordFailure(failed));
                // Another attempt under the same key may have stored its outcome first: that one is the answer.
                var replayed = stored.CreatedAt != failed.CreatedAt || stored.Status != failed.Status;
                if (!replayed)
                {
                    TekanaMetrics.MovementSettled(type, "refused", ErrorKinds.Slug(refusal.Code), clock.GetElapsedTime(started));
                }
                return new MovementOutcome(stored, Replayed: replayed);
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

    public async Task<TransactionRecord> GetTransaction(string transactionId)
    {
        if (!Ids.IsTransactionId(transactionId))
        {
            throw new LedgerException(ErrorKind.TransactionNotFound, "The transaction does not exist.");
        }
        var record = await Retry(() => GrainFactory.GetGrain<ITransactionRecordGrain>(transactionId).Get());
        return record ?? throw new LedgerException(ErrorKind.TransactionNotFound, "The transaction does not exist.");
    }

    private async Task<MovementOutcome> Move(ITransactionRecordGrain record, TransactionRecord pending, bool recordFirst)
    {
        MovementOutcome? result = null;
        LedgerEvent[] committed = [];
        try
        {
            await transactions.RunTransaction(TransactionOption.Create, async () =>
            {
                // The record's replay check and both legs run at once: a movement holds each wallet's lock from its leg
                // until the transaction prepares, so every sequential call before the commit is time a busy (hot) wallet
                // waits. A replay is rare; when the record already exists, the transaction aborts and undoes the legs.
                // A retry takes the record first: duplicates of one request that arrive together then queue on the
                // record instead of locking its wallets in different orders until a lock times out.
                var begin = record.Begin(pending.Fingerprint);
                if (recordFirst && await begin is { } found)
                {
                    result = new MovementOutcome(found, Replayed: true);
                    return;
                }
                var debit = GrainFactory.GetGrain<IWalletGrain>(pending.FromWalletId).Debit(Leg(pending, pending.ToWalletId, pending.InitiatedBy));
                var credit = GrainFactory.GetGrain<IWalletGrain>(pending.ToWalletId).Credit(Leg(pending, pending.FromWalletId, null));
                try
                {
                    await Task.WhenAll(begin, debit, credit);
                }
                catch when (begin.IsCompletedSuccessfully && begin.Result is not null)
                {
                    // A leg refused a movement that already happened (its money moved then): the record is the answer.
                }
                // The record's answer comes first: an existing record (or a different request under its key) outranks a leg's refusal.
                if (await begin is not null)
                {
                    throw new MovementReplayedException();
                }
                var (debited, credited) = (await debit, await credit);
                var completed = pending with
                {
                    FromSequence = debited.Sequence,
                    FromBalanceAfter = debited.BalanceAfter,
                    ToSequence = credited.Sequence,
                    ToBalanceAfter = credited.BalanceAfter,
                };
                await record.Complete(completed);
                committed = [.. new[] { debited.Event, credited.Event }.OfType<LedgerEvent>()];
                result = new MovementOutcome(completed, Replayed: false);
            });
        }
        catch (Exception e) when (FindReplay(e))
        {
            // The record this transaction saw may be one that another movement has prepared but not committed (Orleans
            // lets a transaction read prepared state), and this one aborted without waiting for it. Only a read that
            // commits may answer with it; if that movement aborted after all, the record-first order starts over.
            if (await Retry(record.Get) is { } stored && stored.Fingerprint == pending.Fingerprint)
            {
                return new MovementOutcome(stored, Replayed: true);
            }
            return await Move(record, pending, recordFirst: true);
        }
        // Committed: the wallets may publish their legs' events. If this hand-over is lost, they find them in their outbox.
        foreach (var e in committed)
        {
            GrainFactory.GetGrain<IWalletGrain>(e.Subject).Committed([e]).Ignore();
        }
        return result!;
    }

    private static bool FindReplay(Exception e)
    {
        for (Exception? cause = e; cause is not null; cause = cause.InnerException)
        {
            if (cause is MovementReplayedException)
            {
                return true;
            }
        }
        return false;
    }

    private static WalletEntry Leg(TransactionRecord movement, string counterparty, string? initiatedBy) => new()
    {
        TransactionId = movement.Id,
        Amount = movement.Amount,
        Currency = movement.Currency,
        InitiatedBy = initiatedBy,
        Type = movement.Type,
        CounterpartyWalletId = counterparty,
        IdempotencyKey = movement.IdempotencyKey,
        ExternalReference = movement.ExternalReference,
        Description = movement.Description,
        Metadata = movement.Metadata,
        CreatedAt = movement.CreatedAt,
    };

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

/// <summary>
/// Aborts a transaction whose movement had already happened, undoing the legs it ran meanwhile. The transaction
/// carries it as its abort cause, so it is serializable.
/// </summary>
[GenerateSerializer]
public sealed class MovementReplayedException() : Exception("The movement already happened under this idempotency key.");
