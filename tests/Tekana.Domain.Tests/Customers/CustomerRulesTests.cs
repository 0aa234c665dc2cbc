using Tekana.Domain.Customers;
using Tekana.Domain.Errors;

namespace Tekana.Domain.Tests.Customers;

public sealed class CustomerRulesTests
{
    private static DomainError? Validate(
        string? name = "Ada Lovelace", string? email = "ada@example.com", string? phone = "+250788123456",
        string? country = "RW", string? currency = "RWF", string? password = "correct horse") =>
        CustomerRules.Validate(name, email, phone, country, currency, password, out _);

    [Fact]
    public void A_valid_registration_is_normalised()
    {
        var error = CustomerRules.Validate("  Ada Lovelace ", " Ada@Example.COM ", "+250 788-123-456", "rw", "rwf", "correct horse", out var registration);

        Assert.Null(error);
        Assert.Equal(new NormalizedRegistration("Ada Lovelace", "ada@example.com", "+250788123456", "RW", "RWF"), registration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void A_blank_name_is_invalid(string? name) => AssertInvalid(Validate(name: name), "fullName");

    [Fact]
    public void A_name_over_200_characters_is_invalid() => AssertInvalid(Validate(name: new string('a', 201)), "fullName");

    [Fact]
    public void A_name_of_exactly_200_characters_is_valid() => Assert.Null(Validate(name: new string('a', 200)));

    [Theory]
    [InlineData("plainaddress")]
    [InlineData("@example.com")]
    [InlineData("ada@")]
    [InlineData("ada@example")]
    [InlineData("ada@@example.com")]
    [InlineData("Ada <ada@example.com>")]
    [InlineData("ada lovelace@example.com")]
    [InlineData("ada@example..com")]
    public void Malformed_emails_are_invalid(string email) => AssertInvalid(Validate(email: email), "email");

    [Theory]
    [InlineData("0788123456")]
    [InlineData("+0788123456")]
    [InlineData("+25078812345678901")]
    [InlineData("+2507881abc")]
    [InlineData("")]
    public void Phone_numbers_must_be_E164(string phone) => AssertInvalid(Validate(phone: phone), "phoneNumber");

    [Theory]
    [InlineData("XX")]
    [InlineData("RWA")]
    [InlineData("")]
    public void Countries_must_be_assigned_alpha2_codes(string country) => AssertInvalid(Validate(country: country), "country");

    [Fact]
    public void The_country_table_has_every_assigned_alpha2_code() => Assert.Equal(249, Countries.Count);

    [Fact]
    public void Unsupported_currencies_are_invalid() => AssertInvalid(Validate(currency: "ABC"), "currency");

    [Theory]
    [InlineData("short")]
    [InlineData(null)]
    public void Weak_passwords_are_invalid(string? password) => AssertInvalid(Validate(password: password), "password");

    [Fact]
    public void Every_invalid_field_is_reported_at_once()
    {
        var error = Validate(name: "", email: "x", phone: "1", country: "??", currency: "???", password: "");

        Assert.Equal(["country", "currency", "email", "fullName", "password", "phoneNumber"], error!.Fields!.Keys.Order());
    }

    [Fact]
    public void Suspended_customers_may_not_open_wallets_and_closed_ones_may_do_nothing()
    {
        Assert.Equal(ErrorKind.CustomerSuspended, CustomerTransitions.CanOpenWallet(CustomerStatus.Suspended)?.Code);
        Assert.Equal(ErrorKind.CustomerClosed, CustomerTransitions.CanSuspend(CustomerStatus.Closed)?.Code);
        Assert.Equal(ErrorKind.CustomerClosed, CustomerTransitions.CanChangeProfile(CustomerStatus.Closed)?.Code);
        Assert.Equal(ErrorKind.CustomerNotFound, CustomerTransitions.RequireExisting(CustomerStatus.Registering)?.Code);
        Assert.Null(CustomerTransitions.CanSuspend(CustomerStatus.Suspended));
    }

    private static void AssertInvalid(DomainError? error, string field)
    {
        Assert.NotNull(error);
        Assert.Equal(ErrorKind.Validation, error.Code);
        Assert.Contains(field, error.Fields!.Keys);
    }
}
