using Tekana.Domain.Errors;

namespace Tekana.Domain.Customers;

/// <summary>Which lifecycle changes a customer in a given status allows.</summary>
public static class CustomerTransitions
{
    public static DomainError? RequireExisting(CustomerStatus status) => status is CustomerStatus.None or CustomerStatus.Registering
        ? new DomainError(ErrorKind.CustomerNotFound, "The customer does not exist.")
        : null;

    public static DomainError? CanSuspend(CustomerStatus status) => RequireExisting(status) ?? status switch
    {
        CustomerStatus.Closed => Closed(),
        _ => null, // suspending a suspended customer is a no-op, so retries are safe
    };

    public static DomainError? CanReactivate(CustomerStatus status) => RequireExisting(status) ?? status switch
    {
        CustomerStatus.Closed => Closed(),
        _ => null,
    };

    public static DomainError? CanChangeProfile(CustomerStatus status) => RequireExisting(status) ?? status switch
    {
        CustomerStatus.Closed => Closed(),
        _ => null,
    };

    public static DomainError? CanOpenWallet(CustomerStatus status) => RequireExisting(status) ?? status switch
    {
        CustomerStatus.Closed => Closed(),
        CustomerStatus.Suspended => new DomainError(ErrorKind.CustomerSuspended, "A suspended customer cannot open wallets."),
        _ => null,
    };

    public static DomainError? CanClose(CustomerStatus status) => RequireExisting(status);

    private static DomainError Closed() => new(ErrorKind.CustomerClosed, "The customer is closed.");
}
