using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Tekana.Abstractions;
using Tekana.Abstractions.Customers;
using Tekana.Domain.Customers;
using Tekana.Domain.Errors;

namespace Tekana.Api.Auth;

public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("api/v1/auth").WithTags("Auth");
        group.MapPost("token", Token)
            .WithName("IssueToken")
            .WithSummary("OAuth2 token endpoint: password grant for customers, client_credentials for service accounts.")
            .DisableAntiforgery()
            .Accepts<IFormCollection>("application/x-www-form-urlencoded")
            .Produces<TokenResponse>()
            .Produces<TokenError>(StatusCodes.Status400BadRequest)
            .Produces<TokenError>(StatusCodes.Status401Unauthorized)
            .RequireRateLimiting(RateLimits.SignIn)
            .AllowAnonymous();
        return app;
    }

    private static async Task<IResult> Token(
        HttpContext http, IClusterClient cluster, TokenIssuer issuer, IOptions<AuthOptions> options, IHostEnvironment environment)
    {
        if (!http.Request.HasFormContentType)
        {
            return Error("invalid_request", "The request must be application/x-www-form-urlencoded.");
        }
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        return form["grant_type"].ToString() switch
        {
            "password" => await PasswordGrant(form, cluster, issuer),
            "client_credentials" => ClientCredentialsGrant(http, form, issuer, options.Value, environment),
            "" => Error("invalid_request", "grant_type is required."),
            _ => Error("unsupported_grant_type", "Supported grants: password, client_credentials."),
        };
    }

    private static async Task<IResult> PasswordGrant(IFormCollection form, IClusterClient cluster, TokenIssuer issuer)
    {
        var username = form["username"].ToString();
        var password = form["password"].ToString();
        if (username.Length == 0 || password.Length == 0)
        {
            return Error("invalid_request", "username and password are required.");
        }
        // The username is an email address or a phone number; either names exactly one customer.
        var errors = new ValidationErrors();
        var claim = username.Contains('@')
            ? IdentityClaims.ForEmail(CustomerRules.NormalizeEmail(username, errors))
            : IdentityClaims.ForPhone(CustomerRules.NormalizePhone(username, errors));
        var customerId = errors.IsEmpty ? await cluster.Reference<IIdentityClaimGrain>(claim).GetOwner() : null;
        var result = customerId is null
            ? SignInResult.Failed
            : await cluster.Reference<ICustomerGrain>(customerId).SignIn(password);
        return result switch
        {
            SignInResult.Succeeded => Results.Ok(issuer.Issue(customerId!, Roles.Customer)),
            SignInResult.LockedOut => Error("invalid_grant", "Too many failed sign-ins: the account is locked for a while."),
            _ => Error("invalid_grant", "The username or password is incorrect."),
        };
    }

    private static IResult ClientCredentialsGrant(
        HttpContext http, IFormCollection form, TokenIssuer issuer, AuthOptions options, IHostEnvironment environment)
    {
        var (clientId, secret) = BasicCredentials(http) ?? (form["client_id"].ToString(), form["client_secret"].ToString());
        if (!options.ServiceAccounts.TryGetValue(clientId, out var account)
            || (clientId.StartsWith(Roles.DevelopmentAccountPrefix, StringComparison.Ordinal) && !environment.IsDevelopment())
            || !FixedTimeEquals(secret, account.Secret)
            || account.Role is not (Roles.Operator or Roles.Admin))
        {
            return Results.Json(new TokenError("invalid_client", "Unknown client or wrong secret."), statusCode: StatusCodes.Status401Unauthorized);
        }
        return Results.Ok(issuer.Issue(clientId, account.Role));
    }

    private static (string, string)? BasicCredentials(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':');
            return colon < 0 ? null : (Uri.UnescapeDataString(decoded[..colon]), Uri.UnescapeDataString(decoded[(colon + 1)..]));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static bool FixedTimeEquals(string a, string b) =>
        a.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    private static IResult Error(string error, string description) =>
        Results.Json(new TokenError(error, description), statusCode: StatusCodes.Status400BadRequest);
}
