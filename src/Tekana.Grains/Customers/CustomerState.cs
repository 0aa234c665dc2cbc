using Tekana.Abstractions.Events;
using Tekana.Domain.Customers;

namespace Tekana.Grains.Customers;

[GenerateSerializer]
public sealed class CustomerState
{
    [Id(0)] public CustomerStatus Status { get; set; }
    [Id(1)] public string FullName { get; set; } = "";
    [Id(2)] public string Email { get; set; } = "";
    [Id(3)] public string PhoneNumber { get; set; } = "";
    [Id(4)] public string Country { get; set; } = "";
    [Id(5)] public string DefaultCurrency { get; set; } = "";
    [Id(6)] public string PasswordHash { get; set; } = "";
    /// <summary>Wallet id by currency code.</summary>
    [Id(7)] public Dictionary<string, string> Wallets { get; set; } = [];
    [Id(8)] public DateTimeOffset CreatedAt { get; set; }
    [Id(9)] public DateTimeOffset UpdatedAt { get; set; }
    /// <summary>Digest of the normalised registration, so that a retried registration can be told from a different one.</summary>
    [Id(10)] public string RegistrationFingerprint { get; set; } = "";
    /// <summary>Consecutive failed sign-ins since the last success or lockout.</summary>
    [Id(11)] public int FailedSignIns { get; set; }
    [Id(12)] public DateTimeOffset? LockedOutUntil { get; set; }
    [Id(13)] public long EventNumber { get; set; }
    /// <summary>Events written with the state and not yet acknowledged by every sink (the outbox).</summary>
    [Id(14)] public List<LedgerEvent> Outbox { get; set; } = [];
}

[GenerateSerializer]
public sealed class IdentityClaimState
{
    [Id(0)] public string? OwnerId { get; set; }
}
