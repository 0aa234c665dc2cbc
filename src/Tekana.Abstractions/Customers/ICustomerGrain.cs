using Orleans.Concurrency;
using Tekana.Abstractions.Events;
using Tekana.Abstractions.Wallets;

namespace Tekana.Abstractions.Customers;

/// <summary>A customer: profile, lifecycle and the list of wallets. Keyed by customer id.</summary>
public interface ICustomerGrain : IEventSourceGrain
{
    /// <summary>Registers the customer and opens the first wallet. Safe to retry with the same data under the same id.</summary>
    Task<CustomerView> Register(RegisterCustomer command);

    /// <summary>The customer's profile.</summary>
    Task<CustomerView> Get();

    /// <summary>Changes name and/or phone number (the new phone must be unique).</summary>
    Task<CustomerView> UpdateProfile(UpdateProfile command);

    /// <summary>Stops the customer from sending or withdrawing; receiving still works.</summary>
    Task<CustomerView> Suspend();

    /// <summary>Lifts a suspension.</summary>
    Task<CustomerView> Reactivate();

    /// <summary>Closes the customer and all wallets; only when every wallet is at zero.</summary>
    Task<CustomerView> Close();

    /// <summary>Opens a wallet in another currency (one per currency).</summary>
    Task<WalletView> OpenWallet(string currency);

    /// <summary>The customer's wallets with their balances.</summary>
    Task<IReadOnlyList<WalletView>> GetWallets();

    /// <summary>
    /// Checks a password against the stored hash (which never leaves the grain). Repeated failures lock sign-in
    /// for a while.
    /// </summary>
    Task<SignInResult> SignIn(string password);

    /// <summary>
    /// Whether this customer still holds an identity claim (email or phone). Asked by a claim grain before it
    /// hands the identity to someone else, so that an abandoned registration does not hold an email forever.
    /// </summary>
    [AlwaysInterleave]
    Task<bool> HoldsIdentity(string claimKey);
}
