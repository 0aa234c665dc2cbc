using System.Security.Cryptography;
using System.Text;
using Tekana.Domain.Errors;
using Tekana.Domain.Money;
using Tekana.Domain.Wallets;

namespace Tekana.Domain.Transfers;

/// <summary>Validation of money-movement requests, before any wallet is touched.</summary>
public static class MovementRules
{
    public const int MaxIdempotencyKeyLength = 255;
    public const int MaxDescriptionLength = 500;
    public const int MaxExternalReferenceLength = 200;
    public const int MaxMetadataEntries = 20;
    public const int MaxMetadataKeyLength = 40;
    public const int MaxMetadataValueLength = 500;

    public static DomainError? Validate(
        MovementType type, string? idempotencyKey, string? fromWalletId, string? toWalletId, long amount, string? currency,
        string? externalReference, string? description, IReadOnlyDictionary<string, string>? metadata)
    {
        var errors = new ValidationErrors();
        if (!IsValidIdempotencyKey(idempotencyKey))
        {
            errors.Add("idempotencyKey", $"The idempotency key must have 1 to {MaxIdempotencyKeyLength} printable ASCII characters.");
        }
        if (Amounts.ValidateMovement(amount) is { Fields: { } amountErrors })
        {
            foreach (var message in amountErrors["amount"])
            {
                errors.Add("amount", message);
            }
        }
        if (!Currencies.IsSupported(currency))
        {
            errors.Add("currency", "The currency must be a supported ISO 4217 code such as RWF or USD.");
        }
        if (type is MovementType.Transfer or MovementType.Withdrawal && !IsCustomerWallet(fromWalletId))
        {
            errors.Add("fromWalletId", "The source must be a customer wallet id.");
        }
        if (type is MovementType.Transfer or MovementType.Deposit && !IsCustomerWallet(toWalletId))
        {
            errors.Add("toWalletId", "The destination must be a customer wallet id.");
        }
        if (type == MovementType.Deposit && string.IsNullOrWhiteSpace(externalReference))
        {
            errors.Add("externalReference", "A deposit must carry the payment provider's reference.");
        }
        if (externalReference is { Length: > MaxExternalReferenceLength })
        {
            errors.Add("externalReference", $"The external reference must not exceed {MaxExternalReferenceLength} characters.");
        }
        if (description is { Length: > MaxDescriptionLength })
        {
            errors.Add("description", $"The description must not exceed {MaxDescriptionLength} characters.");
        }
        if (metadata is not null)
        {
            if (metadata.Count > MaxMetadataEntries)
            {
                errors.Add("metadata", $"At most {MaxMetadataEntries} metadata entries are allowed.");
            }
            if (metadata.Any(e => e.Key.Length is 0 or > MaxMetadataKeyLength || (e.Value?.Length ?? 0) > MaxMetadataValueLength))
            {
                errors.Add("metadata", $"Metadata keys must have 1 to {MaxMetadataKeyLength} characters and values at most {MaxMetadataValueLength}.");
            }
        }
        if (errors.IsEmpty && type == MovementType.Transfer && fromWalletId == toWalletId)
        {
            return new DomainError(ErrorKind.SameWallet, "A transfer needs two different wallets.");
        }
        return errors.ToError();
    }

    public static bool IsValidIdempotencyKey(string? key) =>
        key is { Length: > 0 and <= MaxIdempotencyKeyLength } && key.All(c => c is >= '!' and <= '~');

    /// <summary>
    /// A digest of everything that defines a movement. Two requests under the same idempotency key are "the same"
    /// exactly when their fingerprints match.
    /// </summary>
    public static string Fingerprint(
        MovementType type, string? fromWalletId, string? toWalletId, long amount, string currency,
        string? externalReference, string? description, IReadOnlyDictionary<string, string>? metadata)
    {
        // Every field is length-prefixed so that no two different requests can serialise to the same text.
        var text = new StringBuilder();
        void Field(string? value) => text.Append(value?.Length ?? -1).Append(':').Append(value).Append('|');
        Field(((int)type).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field(fromWalletId);
        Field(toWalletId);
        Field(amount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field(currency);
        Field(externalReference);
        Field(description);
        foreach (var (key, value) in (metadata ?? new Dictionary<string, string>()).OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            Field(key);
            Field(value);
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static bool IsCustomerWallet(string? walletId) =>
        WalletIds.IsWellFormed(walletId) && !WalletIds.TryParseHouse(walletId!, out _, out _);
}
