using Orleans.Transactions.Abstractions;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Wallets;
using Tekana.Domain.Errors;
using Tekana.Domain.Wallets;
using Tekana.Grains.Hosting;

namespace Tekana.Grains.Wallets;

public sealed class WalletGrain(
    [TransactionalState("wallet", StorageNames.Ledger)] ITransactionalState<WalletState> state,
    TimeProvider clock) : Grain, IWalletGrain
{
    private string Id => this.GetPrimaryKeyString();

    public Task<WalletView> Open(string ownerId, string currency, bool ownerSuspended) => state.PerformUpdate(s =>
    {
        if (WalletIds.TryParseHouse(Id, out _, out _))
        {
            throw new LedgerException(ErrorKind.InvalidState, "House wallets are not opened by customers.");
        }
        var now = clock.GetUtcNow();
        if (s.Status != WalletStatus.None)
        {
            if (s.OwnerId != ownerId || s.Currency != currency)
            {
                throw new LedgerException(ErrorKind.WalletExists, "The wallet already exists.");
            }
            if (s.Status == WalletStatus.Closed)
            {
                // Reopening a closed wallet in the same currency brings the same wallet (and its history) back.
                s.Status = WalletStatus.Active;
                s.OwnerSuspended = ownerSuspended;
                s.UpdatedAt = now;
            }
            return View(s);
        }
        s.OwnerId = ownerId;
        s.Currency = currency;
        s.Kind = WalletKind.Customer;
        s.Status = WalletStatus.Active;
        s.OwnerSuspended = ownerSuspended;
        s.OpenedAt = now;
        s.UpdatedAt = now;
        return View(s);
    });

    public Task<WalletView> Get() => state.PerformRead(s =>
    {
        if (s.Status == WalletStatus.None && !WalletIds.TryParseHouse(Id, out _, out _))
        {
            throw NotFound();
        }
        return View(s);
    });

    public Task<EntryResult> Debit(WalletEntry entry) => state.PerformUpdate(s =>
    {
        EnsureHouseWallet(s);
        if (entry.InitiatedBy is not null && s.OwnerId != entry.InitiatedBy)
        {
            // Someone else's wallet looks exactly like a missing one: existence does not leak.
            throw NotFound();
        }
        LedgerException.ThrowIf(s.Position.Debit(entry.Currency, entry.Amount, out var balanceAfter));
        return Post(s, balanceAfter);
    });

    public Task<EntryResult> Credit(WalletEntry entry) => state.PerformUpdate(s =>
    {
        EnsureHouseWallet(s);
        LedgerException.ThrowIf(s.Position.Credit(entry.Currency, entry.Amount, out var balanceAfter));
        return Post(s, balanceAfter);
    });

    public Task<WalletView> Freeze() => ChangeStatus(WalletStatus.Frozen);

    public Task<WalletView> Unfreeze() => ChangeStatus(WalletStatus.Active);

    public Task<WalletView> Close() => state.PerformUpdate(s =>
    {
        LedgerException.ThrowIf(s.Position.CanClose());
        if (s.Status != WalletStatus.Closed)
        {
            s.Status = WalletStatus.Closed;
            s.UpdatedAt = clock.GetUtcNow();
        }
        return View(s);
    });

    public Task<WalletView> SetOwnerSuspended(bool suspended) => state.PerformUpdate(s =>
    {
        if (s.Status == WalletStatus.None)
        {
            throw NotFound();
        }
        if (s.OwnerSuspended != suspended)
        {
            s.OwnerSuspended = suspended;
            s.UpdatedAt = clock.GetUtcNow();
        }
        return View(s);
    });

    private Task<WalletView> ChangeStatus(WalletStatus target) => state.PerformUpdate(s =>
    {
        LedgerException.ThrowIf(s.Position.CanFreeze());
        if (s.Status != target)
        {
            s.Status = target;
            s.UpdatedAt = clock.GetUtcNow();
        }
        return View(s);
    });

    private EntryResult Post(WalletState s, long balanceAfter)
    {
        s.Balance = balanceAfter;
        s.Sequence++;
        s.UpdatedAt = clock.GetUtcNow();
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
            s.OpenedAt = clock.GetUtcNow();
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

    private static LedgerException NotFound() => new(ErrorKind.WalletNotFound, "The wallet does not exist.");
}
