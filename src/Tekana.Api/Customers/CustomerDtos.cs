using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Wallets;
using Tekana.Api.Wallets;

namespace Tekana.Api.Customers;

/// <summary>A new customer. The first wallet opens in <c>currency</c>.</summary>
public sealed record RegisterCustomerRequest(string? FullName, string? Email, string? PhoneNumber, string? Country, string? Currency, string? Password);

/// <summary>A profile change; omitted fields stay as they are.</summary>
public sealed record UpdateCustomerRequest(string? FullName, string? PhoneNumber);

/// <summary>A wallet to open in another currency.</summary>
public sealed record OpenWalletRequest(string? Currency);

public sealed record CustomerResponse(
    string Id, string FullName, string Email, string PhoneNumber, string Country, string DefaultCurrency, string Status,
    IReadOnlyList<WalletResponse> Wallets, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static CustomerResponse From(CustomerView c, IReadOnlyList<WalletView> wallets) => new(
        c.Id, c.FullName, c.Email, c.PhoneNumber, c.Country, c.DefaultCurrency, c.Status.ToString().ToLowerInvariant(),
        wallets.Select(WalletResponse.From).ToList(), c.CreatedAt, c.UpdatedAt);
}
