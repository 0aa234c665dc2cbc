using System.Security.Cryptography;
using System.Text;

namespace Tekana.Domain;

/// <summary>Opaque identifiers: a short prefix naming the kind, then 26 lower-case base-32 characters.</summary>
public static class Ids
{
    public const string CustomerPrefix = "cus_";
    public const string TransactionPrefix = "txn_";
    private const int BodyLength = 26;
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    public static string NewCustomerId() => CustomerPrefix + Encode(RandomNumberGenerator.GetBytes(16));

    /// <summary>A customer id derived from a client-chosen idempotency key, so a retried registration lands on the same customer.</summary>
    public static string CustomerIdFor(string idempotencyKey) => CustomerPrefix + Digest($"customer/{idempotencyKey}");

    /// <summary>
    /// A transaction id derived from who asked and their idempotency key. The same key from the same caller always
    /// names the same transaction, which is what makes replays find the original result.
    /// </summary>
    public static string TransactionIdFor(string scope, string idempotencyKey) =>
        TransactionPrefix + Digest($"transaction/{scope}/{idempotencyKey}");

    public const string EventPrefix = "evt_";

    /// <summary>The id of one leg's event: derived from the transaction, so every retry and re-publication carries the same id.</summary>
    public static string EventIdForLeg(string transactionId, bool debit) => EventPrefix + Digest($"leg/{transactionId}/{(debit ? "debit" : "credit")}");

    /// <summary>The id of the <paramref name="number"/>th event of a subject (customer or wallet lifecycle events).</summary>
    public static string EventIdFor(string subject, long number) => EventPrefix + Digest($"event/{subject}/{number}");

    public static bool IsCustomerId(string? id) => id is not null && HasShape(id, CustomerPrefix);

    public static bool IsTransactionId(string? id) => id is not null && HasShape(id, TransactionPrefix);

    internal static string Digest(string text) => Encode(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 16));

    internal static bool HasShape(string id, string prefix) =>
        id.Length == prefix.Length + BodyLength
        && id.StartsWith(prefix, StringComparison.Ordinal)
        && id.AsSpan(prefix.Length).IndexOfAnyExcept(Alphabet) < 0;

    private static string Encode(ReadOnlySpan<byte> bytes)
    {
        // Crockford base 32 of 128 bits: 26 characters, case-insensitive-safe and URL-safe.
        Span<char> chars = stackalloc char[BodyLength];
        var buffer = new UInt128(
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
        for (var i = BodyLength - 1; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(buffer & 31)];
            buffer >>= 5;
        }
        return new string(chars);
    }
}
