using System.Security.Claims;

namespace Tekana.Api.Auth;

/// <summary>Who is calling, as the endpoints need it.</summary>
public static class Caller
{
    public static string Subject(this ClaimsPrincipal user) =>
        user.FindFirstValue("sub") ?? user.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("No subject.");

    public static bool IsCustomer(this ClaimsPrincipal user) => user.IsInRole(Roles.Customer);

    public static bool IsAdmin(this ClaimsPrincipal user) => user.IsInRole(Roles.Admin);

    public static bool IsStaff(this ClaimsPrincipal user) => user.IsInRole(Roles.Admin) || user.IsInRole(Roles.Operator);

    /// <summary>The idempotency scope: keys of different callers never collide.</summary>
    public static string IdempotencyScope(this ClaimsPrincipal user) =>
        (user.IsCustomer() ? "customer:" : "client:") + user.Subject();

    /// <summary>True when the caller may see the customer: the customer themself or staff.</summary>
    public static bool MaySee(this ClaimsPrincipal user, string customerId) =>
        user.IsStaff() || (user.IsCustomer() && user.Subject() == customerId);
}
