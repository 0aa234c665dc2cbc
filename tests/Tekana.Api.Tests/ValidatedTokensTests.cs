using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tekana.Api.Auth;

namespace Tekana.Api.Tests;

public sealed class ValidatedTokensTests
{
    private static readonly SymmetricSecurityKey Key = new(Encoding.UTF8.GetBytes("a-test-signing-key-of-at-least-32-bytes"));
    private static readonly SymmetricSecurityKey OtherKey = new(Encoding.UTF8.GetBytes("another-signing-key-of-at-least-32-bytes"));

    private static readonly TokenValidationParameters Parameters = new()
    {
        ValidIssuer = "tekana",
        ValidAudience = "tekana-api",
        IssuerSigningKey = Key,
        NameClaimType = "sub",
        RoleClaimType = "role",
        ClockSkew = TimeSpan.Zero,
    };

    private static string Token(TimeSpan lifetime, SymmetricSecurityKey? key = null, string subject = "cus_1")
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "tekana",
            Audience = "tekana-api",
            IssuedAt = now - TimeSpan.FromSeconds(1),
            NotBefore = now - TimeSpan.FromSeconds(1),
            Expires = now + lifetime,
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("role", "customer")]),
            SigningCredentials = new SigningCredentials(key ?? Key, SecurityAlgorithms.HmacSha256),
        });
    }

    [Fact]
    public async Task A_remembered_token_gives_each_request_its_own_copy_of_the_same_claims()
    {
        var tokens = new ValidatedTokens();
        var token = Token(TimeSpan.FromMinutes(5));

        var first = await tokens.ValidateTokenAsync(token, Parameters);
        first.ClaimsIdentity.AddClaim(new Claim("role", "admin"));
        var second = await tokens.ValidateTokenAsync(token, Parameters);

        Assert.True(first.IsValid);
        Assert.True(second.IsValid);
        Assert.NotSame(first.ClaimsIdentity, second.ClaimsIdentity);
        Assert.Equal("cus_1", second.ClaimsIdentity.Name);
        Assert.Equal(["customer"], second.ClaimsIdentity.FindAll("role").Select(c => c.Value));
        Assert.True(second.ClaimsIdentity.IsAuthenticated);
        Assert.Equal(first.SecurityToken.ValidTo, second.SecurityToken.ValidTo);
    }

    [Fact]
    public async Task A_remembered_token_is_refused_once_it_expires()
    {
        var tokens = new ValidatedTokens();
        var token = Token(TimeSpan.FromSeconds(2));
        var validTo = new JsonWebToken(token).ValidTo;

        Assert.True((await tokens.ValidateTokenAsync(token, Parameters)).IsValid);
        Assert.True((await tokens.ValidateTokenAsync(token, Parameters)).IsValid);
        await Task.Delay(validTo - DateTime.UtcNow + TimeSpan.FromMilliseconds(100));

        var expired = await tokens.ValidateTokenAsync(token, Parameters);
        Assert.False(expired.IsValid);
        Assert.IsType<SecurityTokenExpiredException>(expired.Exception);
    }

    [Fact]
    public async Task A_token_that_fails_is_refused_every_time_and_does_not_pass_for_a_remembered_one()
    {
        var tokens = new ValidatedTokens();
        var genuine = Token(TimeSpan.FromMinutes(5));
        Assert.True((await tokens.ValidateTokenAsync(genuine, Parameters)).IsValid);

        // Same claims, signed with a key the API does not trust; and the genuine token with its signature altered.
        var forged = Token(TimeSpan.FromMinutes(5), OtherKey);
        var signature = genuine[(genuine.LastIndexOf('.') + 1)..];
        var altered = genuine[..(genuine.LastIndexOf('.') + 1)] + (signature[0] == 'A' ? 'B' : 'A') + signature[1..];
        foreach (var token in new[] { forged, forged, altered, altered })
        {
            Assert.False((await tokens.ValidateTokenAsync(token, Parameters)).IsValid);
        }
        Assert.False((await tokens.ValidateTokenAsync(Token(TimeSpan.FromMinutes(-1)), Parameters)).IsValid);
        Assert.True((await tokens.ValidateTokenAsync(genuine, Parameters)).IsValid);
    }
}
