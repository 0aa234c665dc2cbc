using Orleans.Runtime.Internal;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;
using Tekana.Abstractions;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Events;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Domain;
using Tekana.Domain.Errors;
using Tekana.Domain.Wallets;
using Tekana.Grains.Events;
using Tekana.Grains.Hosting;
using Tekana.Grains.Storage;
using Tekana.Grains.Transfers;

namespace Tekana.Grains.Wallets;

/// <summary>
/// A wallet (<see cref="IWalletGrain"/>). Its storage tells it of each state it commits: the grain is a component of its
/// own context, so the storage finds it as <see cref="ICommittedStateObserver{TState}"/>.
/// </summary>
public sealed class WalletGrain : Grain, IWalletGrain, ICommittedStateObserver<WalletState>
{
    private readonly ITransactionalState<WalletState> _state;
    private readonly TimeProvider _clock;
    private readonly OutboxPump _outbox;
    private readonly MovementSettlements _settlements;
    private readonly SiloDrain _drain;

    /// <summary>When this activation last joined a transaction as a writer (<see cref="SiloDrain.AcceptWrite"/>).</summary>
    private long _lastWrite = long.MinValue;

    /// <summary>What <see cref="GetIfSettled"/> may answer from, as the storage last told (null: ask a transaction).</summary>
    private WalletState? _settled;

    public WalletGrain(
        [TransactionalState("wallet", StorageNames.Ledger)] ITransactionalState<WalletState> state, EventHandOff handOff, TimeProvider clock,
        SiloDrain drain)
    {
        _state = state;
        _drain = drain;
        _clock = clock;
        _settlements = new MovementSettlements(clock);
        _outbox = new OutboxPump(this, handOff, clock, TimeSpan.FromSeconds(2),
            () => GrainFactory.GetGrain<IOutboxRecoveryGrain>(0).Recover(Id).Ignore());
        // Once the transactional state has stopped writing, what its storage left unwritten goes out.
        GrainContext.ObservableLifecycle.Subscribe(nameof(WalletGrain), IDeferredWrites.LifecycleStage, _ => Task.CompletedTask,
            stopping => GrainContext.GetComponent<IDeferredWrites>()?.WriteDeferredAsync(stopping) ?? Task.CompletedTask);
    }

    private string Id => this.GetPrimaryKeyString();

    private bool IsHouse => WalletIds.TryParseHouse(Id, out _, out _);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        GrainContext.SetComponent(_settlements);
        // Whatever a previous activation left unpublished is read back from the committed outbox.
        RequestRecovery();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _outbox.Release();
        return Task.CompletedTask;
    }

    public Task<WalletView> Open(string ownerId, string currency, bool ownerSuspended) => Change(s =>
    {
        if (IsHouse)
        {
            throw new LedgerException(ErrorKind.InvalidState, "House wallets are not opened by customers.");
        }
        var now = _clock.GetUtcNow();
        if (s.Status != WalletStatus.None)
        {
            if (s.OwnerId != ownerId || s.Currency != currency)
            {
                throw new LedgerException(ErrorKind.WalletExists, "The wallet already exists.");
            }
            if (s.Status != WalletStatus.Closed)
            {
                return null;
            }
            // Reopening a closed wallet in the same currency brings the same wallet (and its history) back.
            s.Status = WalletStatus.Active;
            s.OwnerSuspended = ownerSuspended;
            s.UpdatedAt = now;
            return EventTypes.WalletOpened;
        }
        s.OwnerId = ownerId;
        s.Currency = currency;
        s.Kind = WalletKind.Customer;
        s.Status = WalletStatus.Active;
        s.OwnerSuspended = ownerSuspended;
        s.OpenedAt = now;
        s.UpdatedAt = now;
        return EventTypes.WalletOpened;
    });

    /// <summary>A house wallet itself (not a shard): its balance is its own plus its shards'.</summary>
    private bool IsHouseTotal => IsHouse && !WalletIds.IsHouseShard(Id);

    public async Task<WalletView> Get()
    {
        var view = await InLock(() => _state.PerformRead(Found));
        if (!IsHouseTotal)
        {
            return view;
        }
        // A house wallet holds its money in its shards: their reads join this transaction, so the sum is one snapshot.
        var shards = await Task.WhenAll(WalletIds.ShardsOf(Id).Select(id => GrainFactory.Reference<IWalletGrain>(id).Get()));
        return view with
        {
            Balance = shards.Aggregate(view.Balance, (sum, shard) => checked(sum + shard.Balance)),
            Sequence = shards.Aggregate(view.Sequence, (sum, shard) => checked(sum + shard.Sequence)),
        };
    }

    public Task<WalletView?> GetIfSettled() =>
        Task.FromResult(_settled is { } s && !IsHouseTotal ? Found(s) : null);

    /// <summary>The wallet's view, or not found for a customer wallet never opened (house wallets exist implicitly).</summary>
    private WalletView Found(WalletState s) => s.Status == WalletStatus.None && !IsHouse ? throw NotFound() : View(s);

    public Task<EntryResult> Debit(WalletEntry entry) => Update(s =>
    {
        var (posted, refusal) = PostDebit(s, entry);
        LedgerException.ThrowIf(refusal);
        return posted!;
    });

    public Task<LegOutcome> TryDebit(WalletEntry entry) => Update(s =>
    {
        var (posted, refusal) = PostDebit(s, entry);
        return new LegOutcome(posted, refusal?.Code, refusal?.Message);
    });

    public Task<EntryResult> Credit(WalletEntry entry) => Update(s => PostCredit(s, entry));

    public Task<EntryResult[]> CreditMany(WalletEntry[] entries) => Update(s =>
    {
        EnsureHouseWallet(s);
        return entries.Select(entry => PostCredit(s, entry)).ToArray();
    });

    public async Task<EntryResult> DebitAndSettle(TransactionRecord movement, EntryResult credited)
    {
        var debited = await Debit(MovementLegs.Debit(movement));
        Carry([MovementLegs.Completed(movement, debited, credited)]);
        return debited;
    }

    public async Task<EntryResult> CreditAndSettle(TransactionRecord movement, EntryResult debited)
    {
        var credited = await Credit(MovementLegs.Credit(movement));
        Carry([MovementLegs.Completed(movement, debited, credited)]);
        return credited;
    }

    public Task Settle(TransactionRecord[] records)
    {
        Carry(records);
        return Task.CompletedTask;
    }

    /// <summary>
    /// This wallet joined the transaction last: it manages the transaction's commit (<see cref="LedgerTransactionAgent"/>),
    /// and its storage writes the records with it.
    /// </summary>
    private void Carry(TransactionRecord[] records) =>
        _settlements.Add(TransactionContext.GetRequiredTransactionInfo().TransactionId, records);

    public Task<WalletView> Freeze() => Change(s => SetStatus(s, WalletStatus.Frozen) ? EventTypes.WalletFrozen : null);

    public Task<WalletView> Unfreeze() => Change(s => SetStatus(s, WalletStatus.Active) ? EventTypes.WalletUnfrozen : null);

    public Task<WalletView> Close() => Change(s =>
    {
        LedgerException.ThrowIf(s.Position.CanClose());
        if (s.Status == WalletStatus.Closed)
        {
            return null;
        }
        s.Status = WalletStatus.Closed;
        s.UpdatedAt = _clock.GetUtcNow();
        return EventTypes.WalletClosed;
    });

    public Task<WalletView> SetOwnerSuspended(bool suspended) => Change(s =>
    {
        if (s.Status == WalletStatus.None)
        {
            throw NotFound();
        }
        if (s.OwnerSuspended != suspended)
        {
            s.OwnerSuspended = suspended;
            s.UpdatedAt = _clock.GetUtcNow();
        }
        return null; // the customer's own event says it
    });

    /// <summary>
    /// Every change of the wallet's state: it joins the caller's transaction as a writer, unless the silo is stopping
    /// (<see cref="SiloDrain"/>).
    /// </summary>
    private Task<T> Update<T>(Func<WalletState, T> change)
    {
        try
        {
            _lastWrite = _drain.AcceptWrite(Id);
        }
        catch (WalletMovingException) when (_drain.HasSettled(_lastWrite))
        {
            // Nothing this activation accepted can still wait on a message: it may deactivate now, without the rest
            // of the silo, and the caller's retry reaches its next activation elsewhere.
            this.DeactivateOnIdle();
            throw;
        }
        return InLock(() => _state.PerformUpdate(change));
    }

    /// <summary>
    /// Starts a read or write of the transactional state without flowing this call's execution context into Orleans'
    /// transaction lock. The lock schedules a check at its deadline each time a transaction enters it, and that pending
    /// check would capture the context, keeping the call's transaction context (and all it references) alive for up to
    /// the lock timeout (1 s) after the leg entered the lock: long enough under load for the garbage collector to copy
    /// it into an older generation, once per leg (with the context kept, each gen0 collection of the silo promoted 2 to
    /// 3 MB more).
    /// Nothing inside the lock reads the transaction context: the state reads it before entering, and the operation
    /// runs on what it is given. What the lock's own work starts (storage writes, its logs) carries no trace context.
    /// The operation is only started here, never awaited (the suppressor is a ref struct, which an async method cannot
    /// hold): the caller's await captures the context again, so its code after the read or write still runs in its
    /// transaction.
    /// </summary>
    private static Task<T> InLock<T>(Func<Task<T>> operation)
    {
        using var suppressed = new ExecutionContextSuppressor();
        return operation();
    }

    public Task<OutboxSnapshot> ReadOutbox() => InLock(() => _state.PerformRead(s => new OutboxSnapshot([.. s.Outbox], s.EventNumber)));

    /// <summary>
    /// A storage write committed this state: the events in its outbox are committed, and go out. This is how a leg's
    /// event leaves, with no call from the movement's runner (<see cref="ICommittedStateObserver{TState}"/>).
    /// </summary>
    void ICommittedStateObserver<WalletState>.Committed(WalletState state)
    {
        _outbox.Merge(state.Outbox, state.EventNumber);
        ReleaseDelivered(state);
    }

    void ICommittedStateObserver<WalletState>.Settled(WalletState? state) => _settled = state;

    public Task Recovered(OutboxSnapshot snapshot)
    {
        _outbox.Recovered(snapshot.Events, snapshot.LastNumber);
        return Task.CompletedTask;
    }

    public Task Acknowledge(long[] numbers)
    {
        _outbox.Acknowledge(numbers);
        ReleaseDelivered(GrainContext.GetComponent<ICommittedState<WalletState>>()?.Committed);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Takes the events every sink acknowledged out of <paramref name="state"/>'s outbox, which is in number order, so
    /// that they are a prefix of it. A write appending an event does so on its transaction's copy (<see cref="Append"/>).
    /// An acknowledgement, and a commit, do so on the committed state in memory (the object Orleans' transaction queue
    /// serves reads from and copies for the transactions that start from it). No write is made for that: the row keeps
    /// them until its next write, whatever that write is for, and a load before then publishes them again, which
    /// consumers de-duplicate. Left in place until the wallet's next movement, each leg's event, with its movement's
    /// strings, lived seconds at the benchmark's rate, long enough for a garbage collection to find it alive and promote
    /// it: the events and what they hold were 30 % of what the silo's gen0 collections promoted (bench/profile.sh
    /// --survivors, uniform). Now they go as soon as every sink has them.
    /// The committed state is changed in place, in this grain's turn: a transaction that writes works on its own copy, a
    /// read runs within one turn, and every write serializes its record synchronously, within one turn. A transaction
    /// prepared before the acknowledgement keeps the events in its copy, which is pruned as it commits.
    /// </summary>
    private void ReleaseDelivered(WalletState? state)
    {
        if (state is null)
        {
            return;
        }
        var delivered = 0;
        while (delivered < state.Outbox.Count && state.Outbox[delivered].Number <= _outbox.Publisher.AckedThrough)
        {
            delivered++;
        }
        state.Outbox.RemoveRange(0, delivered);
    }

    public Task HeldBack(long number)
    {
        _outbox.Publisher.HeldBack(number);
        return Task.CompletedTask;
    }

    public Task Wake()
    {
        // An active wallet may have missed a commit of its own (its write's answer was lost): the committed outbox has it.
        RequestRecovery();
        return Task.CompletedTask;
    }

    private void RequestRecovery()
    {
        if (!IsHouse && WalletIds.IsWellFormed(Id))
        {
            _outbox.RequestRecovery();
        }
    }

    /// <summary>
    /// A lifecycle change: applies it, and when it changed something, records its event in the outbox. The event goes
    /// out when its transaction commits here, however large that transaction is.
    /// </summary>
    private Task<WalletView> Change(Func<WalletState, string?> change) => Update(s =>
    {
        if (change(s) is { } type && s.Kind == WalletKind.Customer)
        {
            Append(s, new LedgerEvent
            {
                Id = "",
                Type = type,
                Subject = Id,
                Time = s.UpdatedAt,
                Wallet = View(s),
            });
        }
        return View(s);
    });

    private void Append(WalletState s, LedgerEvent e)
    {
        ReleaseDelivered(s);
        s.EventNumber++;
        s.Outbox.Add(e with
        {
            Id = e.Id.Length > 0 ? e.Id : Ids.EventIdFor(Id, s.EventNumber),
            Subject = Id,
            Number = s.EventNumber,
        });
    }

    private bool SetStatus(WalletState s, WalletStatus target)
    {
        LedgerException.ThrowIf(s.Position.CanFreeze());
        if (s.Status == target)
        {
            return false;
        }
        s.Status = target;
        s.UpdatedAt = _clock.GetUtcNow();
        return true;
    }

    private (EntryResult? Posted, DomainError? Refusal) PostDebit(WalletState s, WalletEntry entry)
    {
        EnsureHouseWallet(s);
        if (entry.InitiatedBy is not null && s.OwnerId != entry.InitiatedBy)
        {
            // Someone else's wallet looks exactly like a missing one: existence does not leak.
            return (null, NotFoundError);
        }
        var refusal = s.Position.Debit(entry.Currency, entry.Amount, out var balanceAfter);
        return refusal is null ? (Post(s, entry, -entry.Amount, balanceAfter), null) : (null, refusal);
    }

    private EntryResult PostCredit(WalletState s, WalletEntry entry)
    {
        EnsureHouseWallet(s);
        LedgerException.ThrowIf(s.Position.Credit(entry.Currency, entry.Amount, out var balanceAfter));
        return Post(s, entry, entry.Amount, balanceAfter);
    }

    /// <summary>Posts one leg: the balance, the entry's sequence number and, for customer wallets, the leg's event (it goes out at commit).</summary>
    private EntryResult Post(WalletState s, WalletEntry entry, long signedAmount, long balanceAfter)
    {
        s.Balance = balanceAfter;
        s.Sequence++;
        s.UpdatedAt = _clock.GetUtcNow();
        if (s.Kind != WalletKind.Customer)
        {
            return new EntryResult(s.Sequence, balanceAfter);
        }
        Append(s, new LedgerEvent
        {
            Id = Ids.EventIdForLeg(entry.TransactionId, signedAmount < 0),
            Type = EventTypes.For(entry.Type),
            Subject = Id,
            Time = entry.CreatedAt,
            Movement = new MovementLeg
            {
                TransactionId = entry.TransactionId,
                Type = entry.Type,
                Amount = signedAmount,
                Currency = entry.Currency,
                WalletId = Id,
                CounterpartyWalletId = entry.CounterpartyWalletId,
                Sequence = s.Sequence,
                BalanceAfter = balanceAfter,
                IdempotencyKey = entry.IdempotencyKey,
                ExternalReference = entry.ExternalReference,
                Description = entry.Description,
                Metadata = entry.Metadata,
                InitiatedBy = entry.InitiatedBy,
                CreatedAt = entry.CreatedAt,
            },
        });
        return new EntryResult(s.Sequence, balanceAfter);
    }

    /// <summary>House wallets exist for every supported currency from the first movement on; nobody opens them.</summary>
    private void EnsureHouseWallet(WalletState s)
    {
        if (s.Status == WalletStatus.None && WalletIds.TryParseHouse(Id, out var kind, out var currency))
        {
            s.Kind = kind;
            s.Currency = currency;
            s.Status = WalletStatus.Active;
            s.OpenedAt = _clock.GetUtcNow();
        }
    }

    private WalletView View(WalletState s)
    {
        if (s.Status == WalletStatus.None && WalletIds.TryParseHouse(Id, out var kind, out var currency))
        {
            return new WalletView(Id, null, currency, kind, WalletStatus.Active, 0, 0, false, default, default);
        }
        return new WalletView(Id, s.OwnerId, s.Currency, s.Kind, s.Status, s.Balance, s.Sequence, s.OwnerSuspended, s.OpenedAt, s.UpdatedAt);
    }

    private static readonly DomainError NotFoundError = new(ErrorKind.WalletNotFound, "The wallet does not exist.");

    private static LedgerException NotFound() => new(NotFoundError);
}
