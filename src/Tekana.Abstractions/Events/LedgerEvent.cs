using Orleans.Concurrency;
using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;

namespace Tekana.Abstractions.Events;

/// <summary>
/// One committed fact, as it leaves a grain's outbox. <see cref="Id"/> is stable across retries and re-publication
/// (consumers de-duplicate by it); <see cref="Number"/> orders the events of one <see cref="Subject"/> (a wallet or a
/// customer) without gaps. A movement between two customer wallets is one logical event (one id, both legs) that
/// each wallet publishes under its own subject, so that every wallet's stream is complete and ordered.
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
    [Id(5)] public TransactionRecord? Movement { get; init; }
    [Id(6)] public CustomerView? Customer { get; init; }
    [Id(7)] public WalletView? Wallet { get; init; }

    public EventCategory Category => Movement is not null ? EventCategory.Transactions
        : Customer is not null ? EventCategory.Customers
        : EventCategory.Wallets;
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
}

/// <summary>A grain that publishes its outbox and hears back which events were delivered.</summary>
public interface IEventSourceGrain : IGrainWithStringKey
{
    /// <summary>Events (by number) that every sink has durably taken; they may leave the outbox.</summary>
    [OneWay]
    Task Acknowledge(long[] numbers);
}
