using System.Buffers;
using System.Diagnostics;
using System.Globalization;
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
        // The SHA-256 of a text in which every field is length-prefixed ("<length>:<field>|", the length in UTF-16
        // units, -1 for none), so that no two different requests serialise to the same text. Records keep the hex
        // digest, so this form is fixed. It is written into pooled buffers: a fingerprint is taken for every movement.
        string[]? keys = null;
        var length = FieldSize(fromWalletId) + FieldSize(toWalletId) + FieldSize(currency) + FieldSize(externalReference)
            + FieldSize(description) + 2 * (FieldSize(null) + 20); // and the type and amount, each at most 20 digits
        if (metadata is { Count: > 0 })
        {
            keys = [.. metadata.Keys];
            Array.Sort(keys, StringComparer.Ordinal);
            foreach (var key in keys)
            {
                length += FieldSize(key) + FieldSize(metadata[key]);
            }
        }
        var text = ArrayPool<char>.Shared.Rent(length);
        byte[]? utf8 = null;
        try
        {
            var at = 0;
            Span<char> number = stackalloc char[20];
            Field(text, ref at, number[..Format((int)type, number)]);
            Field(text, ref at, fromWalletId);
            Field(text, ref at, toWalletId);
            Field(text, ref at, number[..Format(amount, number)]);
            Field(text, ref at, currency);
            Field(text, ref at, externalReference);
            Field(text, ref at, description);
            foreach (var key in keys ?? [])
            {
                Field(text, ref at, key);
                Field(text, ref at, metadata![key]);
            }
            utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(at));
            var bytes = Encoding.UTF8.GetBytes(text.AsSpan(0, at), utf8);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(utf8.AsSpan(0, bytes), hash);
            return Convert.ToHexStringLower(hash);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(text);
            if (utf8 is not null)
            {
                ArrayPool<byte>.Shared.Return(utf8);
            }
        }

        static int FieldSize(string? value) => 13 + (value?.Length ?? 0);

        static int Format(long value, Span<char> into) =>
            value.TryFormat(into, out var written, default, CultureInfo.InvariantCulture) ? written : throw new UnreachableException();
    }

    private static void Field(char[] text, ref int at, string? value)
    {
        if (value is null)
        {
            "-1:|".CopyTo(text.AsSpan(at));
            at += 4;
            return;
        }
        Field(text, ref at, value.AsSpan());
    }

    private static void Field(char[] text, ref int at, ReadOnlySpan<char> value)
    {
        value.Length.TryFormat(text.AsSpan(at), out var written, default, CultureInfo.InvariantCulture);
        at += written;
        text[at++] = ':';
        value.CopyTo(text.AsSpan(at));
        at += value.Length;
        text[at++] = '|';
    }

    private static bool IsCustomerWallet(string? walletId) =>
        WalletIds.IsWellFormed(walletId) && !WalletIds.TryParseHouse(walletId!, out _, out _);
}
