namespace Tekana.Domain.Customers;

public enum CustomerStatus
{
    /// <summary>No customer under this id.</summary>
    None = 0,
    /// <summary>Registration started but has not finished claiming email, phone and first wallet.</summary>
    Registering = 1,
    Active = 2,
    /// <summary>Can receive money but can neither send nor withdraw.</summary>
    Suspended = 3,
    Closed = 4,
}
