namespace Tekana.Abstractions.Customers;

/// <summary>
/// The single owner of one unique identity (an email address or a phone number), keyed by <see cref="IdentityClaims"/>.
/// One activation per identity and an ETag-checked write make the uniqueness race-free across the cluster.
/// </summary>
public interface IIdentityClaimGrain : IGrainWithStringKey
{
    /// <summary>Claims the identity for a customer; true when it now belongs to that customer.</summary>
    Task<bool> TryClaim(string customerId);

    /// <summary>Gives the identity up, if the customer holds it.</summary>
    Task Release(string customerId);

    /// <summary>The customer holding the identity, if any (sign-in looks customers up this way).</summary>
    Task<string?> GetOwner();
}

public static class IdentityClaims
{
    public static string ForEmail(string normalizedEmail) => "email/" + normalizedEmail;

    public static string ForPhone(string normalizedPhone) => "phone/" + normalizedPhone;
}
