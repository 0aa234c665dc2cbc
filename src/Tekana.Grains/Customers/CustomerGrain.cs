using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Identity;
using SignInResult = Tekana.Abstractions.Customers.SignInResult;
using Tekana.Abstractions;
using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Events;
using Tekana.Abstractions.Wallets;
using Tekana.Domain;
using Tekana.Domain.Customers;
using Tekana.Domain.Errors;
using Tekana.Domain.Money;
using Tekana.Domain.Wallets;
using Tekana.Grains.Events;
using Tekana.Grains.Hosting;

namespace Tekana.Grains.Customers;

public sealed class CustomerGrain : Grain, ICustomerGrain
{
    private readonly IPersistentState<CustomerState> state;
    private readonly IPasswordHasher<string> passwordHasher;
    private readonly ITransactionClient transactions;
    private readonly TimeProvider clock;
    private readonly OutboxPump _outbox;

    public CustomerGrain(
        [PersistentState("customer", StorageNames.Customers)] IPersistentState<CustomerState> state,
        IPasswordHasher<string> passwordHasher,
        ITransactionClient transactions,
        EventHandOff handOff,
        TimeProvider clock)
    {
        this.state = state;
        this.passwordHasher = passwordHasher;
        this.transactions = transactions;
        this.clock = clock;
        // A customer's outbox is its own plain state, read on activation: it needs no separate read.
        _outbox = new OutboxPump(this, handOff, clock, TimeSpan.FromSeconds(5), sendRecovery: null);
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Events a previous activation wrote but never saw delivered go out again.
        _outbox.Merge(S.Outbox, S.EventNumber);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _outbox.Release();
        return Task.CompletedTask;
    }

    public Task Acknowledge(long[] numbers)
    {
        _outbox.Acknowledge(numbers);
        return Task.CompletedTask;
    }

    public Task HeldBack(long number)
    {
        _outbox.Publisher.HeldBack(number);
        return Task.CompletedTask;
    }

    public Task Wake() => Task.CompletedTask; // activation did the work

    /// <summary>How long an unfinished registration keeps its email and phone from others.</summary>
    private static readonly TimeSpan RegistrationHold = TimeSpan.FromMinutes(2);

    /// <summary>Failed sign-ins in a row that lock the account, and for how long.</summary>
    private const int MaxFailedSignIns = 5;
    private static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    private string Id => this.GetPrimaryKeyString();

    private CustomerState S => state.State;

    public async Task<CustomerView> Register(RegisterCustomer command)
    {
        LedgerException.ThrowIf(CustomerRules.Validate(command.FullName, command.Email, command.PhoneNumber,
            command.Country, command.Currency, command.Password, out var registration));
        var fingerprint = Fingerprint(registration);

        if (S.Status != CustomerStatus.None)
        {
            // Same id again: a retry of the same registration resumes or returns it; anything else is a conflict.
            if (S.RegistrationFingerprint != fingerprint || !PasswordMatches(command.Password))
            {
                throw new LedgerException(ErrorKind.IdempotencyConflict,
                    "A different registration was already made under this idempotency key.");
            }
            if (S.Status != CustomerStatus.Registering)
            {
                return View();
            }
        }
        else
        {
            var now = clock.GetUtcNow();
            state.State = new CustomerState
            {
                Status = CustomerStatus.Registering,
                FullName = registration.FullName,
                Email = registration.Email,
                PhoneNumber = registration.PhoneNumber,
                Country = registration.Country,
                DefaultCurrency = registration.Currency,
                PasswordHash = passwordHasher.HashPassword(Id, command.Password),
                Wallets = new() { [registration.Currency] = WalletIds.ForCustomer(Id, registration.Currency) },
                CreatedAt = now,
                UpdatedAt = now,
                RegistrationFingerprint = fingerprint,
            };
            await state.WriteStateAsync();
        }

        var email = IdentityClaims.ForEmail(S.Email);
        var phone = IdentityClaims.ForPhone(S.PhoneNumber);
        if (!await Claim(email))
        {
            await AbandonRegistration();
            throw new LedgerException(ErrorKind.EmailTaken, "Another customer already uses this email address.");
        }
        if (!await Claim(phone))
        {
            await Release(email);
            await AbandonRegistration();
            throw new LedgerException(ErrorKind.PhoneTaken, "Another customer already uses this phone number.");
        }
        // The wallet id is derived from customer and currency, so a resumed registration reopens the same wallet.
        await WalletMovingException.RetryWhileMoving(() => Wallet(S.DefaultCurrency).Open(Id, S.DefaultCurrency, ownerSuspended: false));

        S.Status = CustomerStatus.Active;
        S.UpdatedAt = clock.GetUtcNow();
        await SaveAsync(EventTypes.CustomerRegistered);
        return View();
    }

    public Task<CustomerView> Get()
    {
        LedgerException.ThrowIf(CustomerTransitions.RequireExisting(S.Status));
        return Task.FromResult(View());
    }

    public async Task<CustomerView> UpdateProfile(UpdateProfile command)
    {
        LedgerException.ThrowIf(CustomerTransitions.CanChangeProfile(S.Status));
        var errors = new ValidationErrors();
        var name = command.FullName is null ? S.FullName : CustomerRules.NormalizeName(command.FullName, errors);
        var phone = command.PhoneNumber is null ? S.PhoneNumber : CustomerRules.NormalizePhone(command.PhoneNumber, errors);
        LedgerException.ThrowIf(errors.ToError());

        var oldPhone = S.PhoneNumber;
        if (phone != oldPhone && !await Claim(IdentityClaims.ForPhone(phone)))
        {
            throw new LedgerException(ErrorKind.PhoneTaken, "Another customer already uses this phone number.");
        }
        if (name != S.FullName || phone != oldPhone)
        {
            S.FullName = name;
            S.PhoneNumber = phone;
            S.UpdatedAt = clock.GetUtcNow();
            await SaveAsync(EventTypes.CustomerUpdated);
        }
        if (phone != oldPhone)
        {
            await Release(IdentityClaims.ForPhone(oldPhone));
        }
        return View();
    }

    public async Task<CustomerView> Suspend()
    {
        LedgerException.ThrowIf(CustomerTransitions.CanSuspend(S.Status));
        // Wallets first: if this stops half-way the customer looks active but cannot send, the safe side; a retry completes it.
        await Task.WhenAll(S.Wallets.Values.Select(id => SetOwnerSuspended(id, true)));
        if (S.Status != CustomerStatus.Suspended)
        {
            S.Status = CustomerStatus.Suspended;
            S.UpdatedAt = clock.GetUtcNow();
            await SaveAsync(EventTypes.CustomerSuspended);
        }
        return View();
    }

    public async Task<CustomerView> Reactivate()
    {
        LedgerException.ThrowIf(CustomerTransitions.CanReactivate(S.Status));
        // Customer first, wallets after: a half-done reactivation leaves wallets blocked, never the reverse.
        if (S.Status != CustomerStatus.Active)
        {
            S.Status = CustomerStatus.Active;
            S.UpdatedAt = clock.GetUtcNow();
            await SaveAsync(EventTypes.CustomerReactivated);
        }
        await Task.WhenAll(S.Wallets.Values.Select(id => SetOwnerSuspended(id, false)));
        return View();
    }

    /// <summary>A wallet moving off a stopping silo takes the change at its next activation: the call is repeated until then.</summary>
    private Task<WalletView> SetOwnerSuspended(string walletId, bool suspended) =>
        WalletMovingException.RetryWhileMoving(() => GrainFactory.Reference<IWalletGrain>(walletId).SetOwnerSuspended(suspended));

    public async Task<CustomerView> Close()
    {
        LedgerException.ThrowIf(CustomerTransitions.CanClose(S.Status));
        if (S.Status == CustomerStatus.Closed)
        {
            return View();
        }
        // All wallets close in one transaction: either every balance is zero and all close, or none does.
        try
        {
            // One wallet after the other, in the ledger's lock order, so that this transaction never waits for a
            // wallet while holding another that a movement waits for.
            await WalletMovingException.RetryWhileMoving(() => transactions.RunTransaction(TransactionOption.Create, async () =>
            {
                foreach (var id in S.Wallets.Values.Order(WalletLockOrder.Instance))
                {
                    await GrainFactory.Reference<IWalletGrain>(id).Close();
                }
            }));
        }
        catch (Exception e) when (LedgerException.Find(e) is { } refusal)
        {
            throw refusal.Code == ErrorKind.WalletNotEmpty
                ? new LedgerException(ErrorKind.CustomerNotEmpty, "Every wallet must be at zero before the customer can be closed.")
                : refusal;
        }
        S.Status = CustomerStatus.Closed;
        S.UpdatedAt = clock.GetUtcNow();
        await SaveAsync(EventTypes.CustomerClosed);
        await Release(IdentityClaims.ForEmail(S.Email));
        await Release(IdentityClaims.ForPhone(S.PhoneNumber));
        return View();
    }

    public async Task<WalletView> OpenWallet(string currency)
    {
        LedgerException.ThrowIf(CustomerTransitions.CanOpenWallet(S.Status));
        if (!Currencies.IsSupported(currency))
        {
            throw new LedgerException(ErrorKind.UnsupportedCurrency, $"The currency '{currency}' is not supported.");
        }
        if (S.Wallets.ContainsKey(currency))
        {
            var existing = await Wallet(currency).Get();
            if (existing.Status != WalletStatus.Closed)
            {
                throw new LedgerException(ErrorKind.WalletExists, $"The customer already has a {currency} wallet.");
            }
        }
        // The wallet opens before the customer lists it: a crash in between is repaired by the retry, which finds
        // the same (derived) wallet already open for this owner.
        var wallet = await WalletMovingException.RetryWhileMoving(() => Wallet(currency).Open(Id, currency, ownerSuspended: false));
        if (!S.Wallets.ContainsKey(currency))
        {
            S.Wallets[currency] = wallet.Id;
            S.UpdatedAt = clock.GetUtcNow();
            await SaveAsync();
        }
        return wallet;
    }

    public async Task<IReadOnlyList<WalletView>> GetWallets()
    {
        LedgerException.ThrowIf(CustomerTransitions.RequireExisting(S.Status));
        var wallets = await Task.WhenAll(S.Wallets.OrderBy(w => w.Key, StringComparer.Ordinal)
            .Select(w => GrainFactory.Reference<IWalletGrain>(w.Value).Read()));
        return wallets;
    }

    public async Task<SignInResult> SignIn(string password)
    {
        if (S.Status is not (CustomerStatus.Active or CustomerStatus.Suspended))
        {
            // Same answer as a wrong password: sign-in does not reveal which customers exist.
            return SignInResult.Failed;
        }
        var now = clock.GetUtcNow();
        if (S.LockedOutUntil > now)
        {
            return SignInResult.LockedOut;
        }
        var verdict = passwordHasher.VerifyHashedPassword(Id, S.PasswordHash, password ?? "");
        if (verdict == PasswordVerificationResult.Failed)
        {
            S.FailedSignIns++;
            if (S.FailedSignIns >= MaxFailedSignIns)
            {
                S.FailedSignIns = 0;
                S.LockedOutUntil = now + LockoutDuration;
            }
            await SaveAsync();
            return S.LockedOutUntil > now ? SignInResult.LockedOut : SignInResult.Failed;
        }
        if (verdict == PasswordVerificationResult.SuccessRehashNeeded || S.FailedSignIns != 0 || S.LockedOutUntil is not null)
        {
            if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
            {
                S.PasswordHash = passwordHasher.HashPassword(Id, password!);
            }
            S.FailedSignIns = 0;
            S.LockedOutUntil = null;
            await SaveAsync();
        }
        return SignInResult.Succeeded;
    }

    public Task<bool> HoldsIdentity(string claimKey)
    {
        var mine = claimKey == IdentityClaims.ForEmail(S.Email) || claimKey == IdentityClaims.ForPhone(S.PhoneNumber);
        var holding = S.Status switch
        {
            CustomerStatus.Active or CustomerStatus.Suspended => true,
            CustomerStatus.Registering => clock.GetUtcNow() - S.CreatedAt < RegistrationHold,
            _ => false,
        };
        return Task.FromResult(mine && holding);
    }

    /// <summary>Writes the state; with an event type, the event goes into the outbox in the same write.</summary>
    private async Task SaveAsync(string? eventType = null)
    {
        S.Outbox.RemoveAll(e => e.Number <= _outbox.Publisher.AckedThrough);
        if (eventType is not null)
        {
            S.EventNumber++;
            S.Outbox.Add(new LedgerEvent
            {
                Id = Ids.EventIdFor(Id, S.EventNumber),
                Type = eventType,
                Subject = Id,
                Number = S.EventNumber,
                Time = S.UpdatedAt,
                Customer = View(),
            });
        }
        await state.WriteStateAsync();
        _outbox.Merge(S.Outbox, S.EventNumber);
    }

    private IWalletGrain Wallet(string currency) =>
        GrainFactory.Reference<IWalletGrain>(S.Wallets.TryGetValue(currency, out var id) ? id : WalletIds.ForCustomer(Id, currency));

    private Task<bool> Claim(string claimKey) => GrainFactory.Reference<IIdentityClaimGrain>(claimKey).TryClaim(Id);

    private Task Release(string claimKey) => GrainFactory.Reference<IIdentityClaimGrain>(claimKey).Release(Id);

    private async Task AbandonRegistration() => await state.ClearStateAsync();

    private bool PasswordMatches(string? password)
    {
        if (string.IsNullOrEmpty(password) || string.IsNullOrEmpty(S.PasswordHash))
        {
            return false;
        }
        return passwordHasher.VerifyHashedPassword(Id, S.PasswordHash, password) != PasswordVerificationResult.Failed;
    }

    private static string Fingerprint(NormalizedRegistration r) => Convert.ToHexStringLower(SHA256.HashData(
        Encoding.UTF8.GetBytes(string.Join('\u001f', r.FullName, r.Email, r.PhoneNumber, r.Country, r.Currency))));

    private CustomerView View() => new(Id, S.FullName, S.Email, S.PhoneNumber, S.Country, S.DefaultCurrency, S.Status,
        S.Wallets.OrderBy(w => w.Key, StringComparer.Ordinal).Select(w => new WalletRef(w.Key, w.Value)).ToList(),
        S.CreatedAt, S.UpdatedAt);
}
