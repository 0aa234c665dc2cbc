using System.ComponentModel.DataAnnotations;

namespace Tekana.Api.Auth;

/// <summary>The <c>Auth</c> section: token signing and the service accounts allowed the client_credentials grant.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>HMAC-SHA256 key for access tokens, at least 32 bytes. Comes from configuration, never the repository.</summary>
    [Required, MinLength(32)] public string SigningKey { get; set; } = "";

    [Required] public string Issuer { get; set; } = "tekana";

    [Required] public string Audience { get; set; } = "tekana-api";

    [Range(1, 1440)] public int TokenLifetimeMinutes { get; set; } = 15;

    /// <summary>Service accounts by client id.</summary>
    public Dictionary<string, ServiceAccount> ServiceAccounts { get; set; } = [];
}

public sealed class ServiceAccount
{
    public string Secret { get; set; } = "";

    /// <summary><c>operator</c> (payment gateways, back office) or <c>admin</c>.</summary>
    public string Role { get; set; } = "";
}

public static class Roles
{
    public const string Customer = "customer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    /// <summary>Development service accounts shipped in appsettings.Development.json; refused in any other environment.</summary>
    public const string DevelopmentAccountPrefix = "dev-";
}

public static class Policies
{
    public const string Customer = "customer";
    public const string Operator = "operator";
    public const string Admin = "admin";
}
