using System.Net.Mail;
using System.Text.RegularExpressions;
using Tekana.Domain.Errors;
using Tekana.Domain.Money;

namespace Tekana.Domain.Customers;

/// <summary>A registration after validation and normalisation: the form every later comparison uses.</summary>
public sealed record NormalizedRegistration(string FullName, string Email, string PhoneNumber, string Country, string Currency);

/// <summary>Validation and normalisation of customer data. Every rule lives here once.</summary>
public static partial class CustomerRules
{
    public const int MaxNameLength = 200;
    public const int MaxEmailLength = 254;
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 128;

    [GeneratedRegex(@"^\+[1-9][0-9]{6,14}$", RegexOptions.CultureInvariant)]
    private static partial Regex E164();

    public static DomainError? Validate(
        string? fullName, string? email, string? phoneNumber, string? country, string? currency, string? password,
        out NormalizedRegistration registration)
    {
        var errors = new ValidationErrors();
        var name = NormalizeName(fullName, errors);
        var normalizedEmail = NormalizeEmail(email, errors);
        var phone = NormalizePhone(phoneNumber, errors);
        var countryCode = country?.Trim().ToUpperInvariant();
        if (!Countries.IsAssigned(countryCode))
        {
            errors.Add("country", "The country must be an ISO 3166-1 alpha-2 code such as RW or KE.");
        }
        var currencyCode = currency?.Trim().ToUpperInvariant();
        if (!Currencies.IsSupported(currencyCode))
        {
            errors.Add("currency", "The currency must be a supported ISO 4217 code such as RWF or USD.");
        }
        ValidatePassword(password, errors);

        registration = new NormalizedRegistration(name, normalizedEmail, phone, countryCode ?? "", currencyCode ?? "");
        return errors.ToError();
    }

    public static string NormalizeName(string? fullName, ValidationErrors errors)
    {
        var name = fullName?.Trim() ?? "";
        if (name.Length is 0 or > MaxNameLength)
        {
            errors.Add("fullName", $"The full name must have 1 to {MaxNameLength} characters.");
        }
        else if (name.Any(char.IsControl))
        {
            errors.Add("fullName", "The full name must not contain control characters.");
        }
        return name;
    }

    public static string NormalizeEmail(string? email, ValidationErrors errors)
    {
        var value = email?.Trim().ToLowerInvariant() ?? "";
        if (!IsValidEmail(value))
        {
            errors.Add("email", "The email address is not valid.");
        }
        return value;
    }

    public static string NormalizePhone(string? phoneNumber, ValidationErrors errors)
    {
        // Spaces, dashes and parentheses are accepted on input; the stored form is strict E.164.
        var value = new string((phoneNumber ?? "").Where(c => c is not (' ' or '-' or '(' or ')' or '.')).ToArray());
        if (!E164().IsMatch(value))
        {
            errors.Add("phoneNumber", "The phone number must be in E.164 form, for example +250788123456.");
        }
        return value;
    }

    public static void ValidatePassword(string? password, ValidationErrors errors)
    {
        if (password is null || password.Length < MinPasswordLength || password.Length > MaxPasswordLength)
        {
            errors.Add("password", $"The password must have {MinPasswordLength} to {MaxPasswordLength} characters.");
        }
    }

    private static bool IsValidEmail(string value)
    {
        if (value.Length is 0 or > MaxEmailLength || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return false;
        }
        var at = value.LastIndexOf('@');
        if (at <= 0 || at == value.Length - 1)
        {
            return false;
        }
        var domain = value[(at + 1)..];
        if (!domain.Contains('.') || domain.StartsWith('.') || domain.EndsWith('.') || domain.Contains(".."))
        {
            return false;
        }
        // MailAddress accepts display-name forms ("A <a@b.c>"); only a bare address that round-trips is accepted.
        return MailAddress.TryCreate(value, out var parsed) && parsed.Address == value;
    }
}
