using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Errors;
using Tekana.Domain;
using Tekana.Domain.Customers;
using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;
using Tekana.Domain.Wallets;

namespace Tekana.IntegrationTests.Customers;

[Collection(ClusterCollection.Name)]
public sealed class CustomerTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task Registration_normalises_the_profile_and_opens_the_first_wallet()
    {
        var id = Ids.NewCustomerId();
        var command = Ledger.NewCustomer("USD") with { FullName = "  Grace Hopper ", Email = " Grace.Hopper" + Ledger.Unique() + "@Example.com" };

        var customer = await Client.GetGrain<ICustomerGrain>(id).Register(command);

        Assert.Equal("Grace Hopper", customer.FullName);
        Assert.Equal(command.Email.Trim().ToLowerInvariant(), customer.Email);
        Assert.Equal(CustomerStatus.Active, customer.Status);
        var wallet = Assert.Single(customer.Wallets);
        Assert.Equal(("USD", WalletIds.ForCustomer(id, "USD")), (wallet.Currency, wallet.WalletId));
        var view = await Client.Wallet(wallet.WalletId);
        Assert.Equal((id, "USD", 0L, WalletStatus.Active), (view.OwnerId, view.Currency, view.Balance, view.Status));
    }

    [Fact]
    public async Task Concurrent_registrations_with_the_same_email_have_exactly_one_winner()
    {
        var email = $"race{Ledger.Unique()}@example.com";
        var attempts = Enumerable.Range(0, 8).Select(async _ =>
        {
            try
            {
                await Client.GetGrain<ICustomerGrain>(Ids.NewCustomerId()).Register(Ledger.NewCustomer() with { Email = email });
                return (ErrorKind?)null;
            }
            catch (LedgerException e)
            {
                return e.Code;
            }
        });

        var outcomes = await Task.WhenAll(attempts);

        Assert.Equal(1, outcomes.Count(o => o is null));
        Assert.All(outcomes.Where(o => o is not null), o => Assert.Equal(ErrorKind.EmailTaken, o));
    }

    [Fact]
    public async Task A_phone_number_belongs_to_one_customer()
    {
        var first = Ledger.NewCustomer();
        await Client.GetGrain<ICustomerGrain>(Ids.NewCustomerId()).Register(first);

        var error = await Refusal.Of(() =>
            Client.GetGrain<ICustomerGrain>(Ids.NewCustomerId()).Register(Ledger.NewCustomer() with { PhoneNumber = first.PhoneNumber }));

        Assert.Equal(ErrorKind.PhoneTaken, error.Code);
    }

    [Fact]
    public async Task A_refused_registration_leaves_the_email_free_for_others()
    {
        var taken = Ledger.NewCustomer();
        await Client.GetGrain<ICustomerGrain>(Ids.NewCustomerId()).Register(taken);
        var email = $"free{Ledger.Unique()}@example.com";

        await Refusal.Of(() => Client.GetGrain<ICustomerGrain>(Ids.NewCustomerId())
            .Register(Ledger.NewCustomer() with { Email = email, PhoneNumber = taken.PhoneNumber }));
        var winner = await Client.GetGrain<ICustomerGrain>(Ids.NewCustomerId()).Register(Ledger.NewCustomer() with { Email = email });

        Assert.Equal(email, winner.Email);
    }

    [Fact]
    public async Task Retrying_a_registration_returns_the_same_customer_with_one_wallet()
    {
        var id = Ids.CustomerIdFor("registration-" + Ledger.Unique());
        var command = Ledger.NewCustomer();

        var first = await Client.GetGrain<ICustomerGrain>(id).Register(command);
        var retries = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Client.GetGrain<ICustomerGrain>(id).Register(command)));

        Assert.All(retries, r => Assert.Equal(first.Wallets.Single(), r.Wallets.Single()));
        Assert.Single(await Client.GetGrain<ICustomerGrain>(id).GetWallets());
        var conflict = await Refusal.Of(() =>
            Client.GetGrain<ICustomerGrain>(id).Register(command with { FullName = "Someone Else" }));
        Assert.Equal(ErrorKind.IdempotencyConflict, conflict.Code);
    }

    [Fact]
    public async Task Invalid_registrations_report_every_field_and_create_nothing()
    {
        var id = Ids.NewCustomerId();

        var error = await Refusal.Of(() => Client.GetGrain<ICustomerGrain>(id)
            .Register(new RegisterCustomer("", "not-an-email", "123", "ZZ", "XXX", "pw")));

        Assert.Equal(ErrorKind.Validation, error.Code);
        Assert.Equal(6, error.Fields!.Count);
        var missing = await Refusal.Of(() => Client.GetGrain<ICustomerGrain>(id).Get());
        Assert.Equal(ErrorKind.CustomerNotFound, missing.Code);
    }

    [Fact]
    public async Task Changing_the_phone_number_moves_its_claim()
    {
        var (alice, _) = await Client.RegisterAsync();
        var (bob, _) = await Client.RegisterAsync();
        var grain = Client.GetGrain<ICustomerGrain>(alice.Id);

        var taken = await Refusal.Of(() => grain.UpdateProfile(new UpdateProfile(null, bob.PhoneNumber)));
        var newPhone = "+2547" + string.Concat(Ledger.Unique().Select(c => (char)('0' + c % 10)))[..8];
        var updated = await grain.UpdateProfile(new UpdateProfile("Alice Renamed", newPhone));

        Assert.Equal(ErrorKind.PhoneTaken, taken.Code);
        Assert.Equal(("Alice Renamed", newPhone), (updated.FullName, updated.PhoneNumber));
        Assert.Equal(alice.Id, await Client.GetGrain<IIdentityClaimGrain>(IdentityClaims.ForPhone(newPhone)).GetOwner());
        Assert.Null(await Client.GetGrain<IIdentityClaimGrain>(IdentityClaims.ForPhone(alice.PhoneNumber)).GetOwner());
    }

    [Fact]
    public async Task A_suspended_customer_can_receive_but_not_send_until_reactivated()
    {
        var (alice, aliceWallet) = await Client.RegisterAsync();
        var (_, bobWallet) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(aliceWallet, 1_000));
        await Client.Execute(Ledger.Deposit(bobWallet, 1_000));
        var grain = Client.GetGrain<ICustomerGrain>(alice.Id);

        Assert.Equal(CustomerStatus.Suspended, (await grain.Suspend()).Status);
        var send = await Client.Execute(Ledger.Transfer(aliceWallet, bobWallet, 10));
        var withdraw = await Client.Execute(Ledger.Withdrawal(aliceWallet, 10));
        var receive = await Client.Execute(Ledger.Transfer(bobWallet, aliceWallet, 10));
        await grain.Reactivate();
        var afterReactivation = await Client.Execute(Ledger.Transfer(aliceWallet, bobWallet, 10));

        Assert.Equal(ErrorKind.CustomerSuspended, send.FailureCode);
        Assert.Equal(ErrorKind.CustomerSuspended, withdraw.FailureCode);
        Assert.Equal(MovementStatus.Completed, receive.Status);
        Assert.Equal(MovementStatus.Completed, afterReactivation.Status);
        Assert.Equal(1_000, await Client.Balance(aliceWallet));
    }

    [Fact]
    public async Task A_customer_closes_only_when_every_wallet_is_at_zero()
    {
        var (alice, rwf) = await Client.RegisterAsync();
        var grain = Client.GetGrain<ICustomerGrain>(alice.Id);
        var usd = await grain.OpenWallet("USD");
        await Client.Execute(Ledger.Deposit(usd.Id, 100, "USD"));

        var refused = await Refusal.Of(() => grain.Close());
        var rwfAfterRefusal = await Client.Wallet(rwf);
        await Client.Execute(Ledger.Withdrawal(usd.Id, 100, "USD"));
        var closed = await grain.Close();

        Assert.Equal(ErrorKind.CustomerNotEmpty, refused.Code);
        Assert.Equal(WalletStatus.Active, rwfAfterRefusal.Status);
        Assert.Equal(CustomerStatus.Closed, closed.Status);
        Assert.All(await grain.GetWallets(), w => Assert.Equal(WalletStatus.Closed, w.Status));
        Assert.Equal(ErrorKind.WalletClosed, (await Client.Execute(Ledger.Deposit(rwf, 1))).FailureCode);
        Assert.Equal(SignInResult.Failed, await grain.SignIn("correct horse battery"));
    }

    [Fact]
    public async Task Passwords_are_verified_against_a_slow_hash_that_never_leaves_the_grain()
    {
        var (alice, _) = await Client.RegisterAsync();
        var grain = Client.GetGrain<ICustomerGrain>(alice.Id);

        Assert.Equal(SignInResult.Succeeded, await grain.SignIn("correct horse battery"));
        Assert.Equal(SignInResult.Failed, await grain.SignIn("wrong password"));
        Assert.DoesNotContain(typeof(CustomerView).GetProperties(), p => p.Name.Contains("Password", StringComparison.OrdinalIgnoreCase));
        var stored = await TestDatabase.ScalarAsync<byte[]>(fixture.ConnectionString,
            $"SELECT payload FROM orleans_storage WHERE grain_type = 'customer' AND grain_id_ext LIKE '%{alice.Id}'");
        var json = System.Text.Encoding.UTF8.GetString(stored);
        Assert.Contains("AQAAAA", json); // ASP.NET Core Identity v3 hash format marker (PBKDF2, base64)
        Assert.DoesNotContain("correct horse battery", json);
    }

    [Fact]
    public async Task Five_wrong_passwords_in_a_row_lock_sign_in_even_for_the_right_one()
    {
        var (alice, _) = await Client.RegisterAsync();
        var grain = Client.GetGrain<ICustomerGrain>(alice.Id);

        var attempts = new List<SignInResult>();
        for (var i = 0; i < 5; i++)
        {
            attempts.Add(await grain.SignIn("wrong password"));
        }

        Assert.Equal([.. Enumerable.Repeat(SignInResult.Failed, 4), SignInResult.LockedOut], attempts);
        Assert.Equal(SignInResult.LockedOut, await grain.SignIn("correct horse battery"));
    }
}
