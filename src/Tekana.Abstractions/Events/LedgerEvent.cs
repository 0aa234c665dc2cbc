using Orleans.Concurrency;
using Tekana.Abstractions.Customers;
using Tekana.Domain.Transfers;
using Tekana.Abstractions.Wallets;

namespace Tekana.Abstractions.Events;

/// <summary>
/// One committed fact, as it leaves a grain's outbox. <see cref="Id"/> is stable across retries and re-publication
/// (consumers de-duplicate by it); <see cref="Number"/> orders the events of one <see cref="Subject"/> (a wallet or a
/// customer) without gaps. Money events are per leg: each customer wallet a movement touched emits one event about
/// its own entry (sequence, balance after), so that every wallet's stream is complete, ordered and private to it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record LedgerEvent
{
    [Id(0)] public required string Id { get; init; }
    /// <summary>CloudEvents type, e.g. <c>tekana.transfer.completed</c>.</summary>
    [Id(1)] public required string Type { get; init; }
    [Id(2)] public required string Subject { get; init; }
    [Id(3)] public long Number { get; init; }
    [Id(4)] public required DateTimeOffset Time { get; init; }
    [Id(5)] public MovementLeg? Movement { get; init; }
    [Id(6)] public CustomerView? Customer { get; init; }
    [Id(7)] public WalletView? Wallet { get; init; }

    public EventCategory Category => Movement is not null ? EventCategory.Transactions
        : Customer is not null ? EventCategory.Customers
        : EventCategory.Wallets;
}

/// <summary>One wallet's side of a committed movement.</summary>
[GenerateSerializer, Immutable]
public sealed record MovementLeg
{
    [Id(0)] public required string TransactionId { get; init; }
    [Id(1)] public required MovementType Type { get; init; }
    /// <summary>Signed amount in minor units: negative when money left the wallet.</summary>
    [Id(2)] public required long Amount { get; init; }
    [Id(3)] public required string Currency { get; init; }
    [Id(4)] public required string WalletId { get; init; }
    [Id(5)] public required string CounterpartyWalletId { get; init; }
    /// <summary>The entry's position in the wallet's sequence.</summary>
    [Id(6)] public required long Sequence { get; init; }
    [Id(7)] public required long BalanceAfter { get; init; }
    [Id(8)] public required string IdempotencyKey { get; init; }
    [Id(9)] public string? ExternalReference { get; init; }
    [Id(10)] public string? Description { get; init; }
    [Id(11)] public Dictionary<string, string> Metadata { get; init; } = [];
    [Id(12)] public string? InitiatedBy { get; init; }
    [Id(13)] public required DateTimeOffset CreatedAt { get; init; }
}

public enum EventCategory
{
    Customers = 1,
    Wallets = 2,
    Transactions = 3,
}

/// <summary>The names of every event type.</summary>
public static class EventTypes
{
    public const string CustomerRegistered = "tekana.customer.registered";
    public const string CustomerUpdated = "tekana.customer.updated";
    public const string CustomerSuspended = "tekana.customer.suspended";
    public const string CustomerReactivated = "tekana.customer.reactivated";
    public const string CustomerClosed = "tekana.customer.closed";
    public const string WalletOpened = "tekana.wallet.opened";
    public const string WalletFrozen = "tekana.wallet.frozen";
    public const string WalletUnfrozen = "tekana.wallet.unfrozen";
    public const string WalletClosed = "tekana.wallet.closed";
    public const string DepositCompleted = "tekana.deposit.completed";
    public const string WithdrawalCompleted = "tekana.withdrawal.completed";
    public const string TransferCompleted = "tekana.transfer.completed";

    public static string For(MovementType type) => type switch
    {
        MovementType.Deposit => DepositCompleted,
        MovementType.Withdrawal => WithdrawalCompleted,
        _ => TransferCompleted,
    };
}

/// <summary>A grain that publishes its outbox and hears back which events were delivered.</summary>
public interface IEventSourceGrain : IGrainWithStringKey
{
    /// <summary>Events (by number) that every sink has durably taken; they may leave the outbox.</summary>
    [OneWay]
    Task Acknowledge([Immutable] long[] numbers);

    /// <summary>
    /// A relay held back this event: an earlier one never reached it. What was sent no later than this event and is
    /// still unacknowledged goes out again at the grain's next check, without waiting for its retry delay.
    /// </summary>
    [OneWay]
    Task HeldBack(long number);

    /// <summary>Activates the grain, which then publishes whatever its outbox still holds (used by the sweeper).</summary>
    [OneWay]
    Task Wake();
}
