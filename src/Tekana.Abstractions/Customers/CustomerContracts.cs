using Tekana.Abstractions.Wallets;
using Tekana.Domain.Customers;

namespace Tekana.Abstractions.Customers;

[GenerateSerializer, Immutable]
public sealed record RegisterCustomer(
    [property: Id(0)] string FullName,
    [property: Id(1)] string Email,
    [property: Id(2)] string PhoneNumber,
    [property: Id(3)] string Country,
    [property: Id(4)] string Currency,
    [property: Id(5)] string Password);

/// <summary>A profile change; null fields stay as they are.</summary>
[GenerateSerializer, Immutable]
public sealed record UpdateProfile(
    [property: Id(0)] string? FullName,
    [property: Id(1)] string? PhoneNumber);

/// <summary>A customer as the outside world may see it: never the password hash.</summary>
[GenerateSerializer, Immutable]
public sealed record CustomerView(
    [property: Id(0)] string Id,
    [property: Id(1)] string FullName,
    [property: Id(2)] string Email,
    [property: Id(3)] string PhoneNumber,
    [property: Id(4)] string Country,
    [property: Id(5)] string DefaultCurrency,
    [property: Id(6)] CustomerStatus Status,
    [property: Id(7)] IReadOnlyList<WalletRef> Wallets,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateTimeOffset UpdatedAt);

/// <summary>Which wallet a customer holds in which currency.</summary>
[GenerateSerializer, Immutable]
public sealed record WalletRef(
    [property: Id(0)] string Currency,
    [property: Id(1)] string WalletId);

public enum SignInResult
{
    Succeeded = 1,
    Failed = 2,
    LockedOut = 3,
}
