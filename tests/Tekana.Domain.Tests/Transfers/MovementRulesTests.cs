using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;
using Tekana.Domain.Wallets;

namespace Tekana.Domain.Tests.Transfers;

public sealed class MovementRulesTests
{
    private static readonly string A = WalletIds.ForCustomer("cus_a", "RWF");
    private static readonly string B = WalletIds.ForCustomer("cus_b", "RWF");

    [Fact]
    public void A_valid_transfer_passes() =>
        Assert.Null(MovementRules.Validate(MovementType.Transfer, "key-1", A, B, 10, "RWF", null, null, null));

    [Fact]
    public void A_transfer_to_the_same_wallet_is_refused() =>
        Assert.Equal(ErrorKind.SameWallet, MovementRules.Validate(MovementType.Transfer, "k", A, A, 10, "RWF", null, null, null)?.Code);

    [Fact]
    public void A_deposit_needs_the_providers_reference()
    {
        var error = MovementRules.Validate(MovementType.Deposit, "k", null, B, 10, "RWF", null, null, null);

        Assert.Contains("externalReference", error!.Fields!.Keys);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("caf\u00e9")]
    public void Idempotency_keys_are_printable_ascii_without_spaces(string key) =>
        Assert.Contains("idempotencyKey", MovementRules.Validate(MovementType.Transfer, key, A, B, 10, "RWF", null, null, null)!.Fields!.Keys);

    [Fact]
    public void House_wallets_cannot_be_named_as_a_transfer_leg()
    {
        var error = MovementRules.Validate(MovementType.Transfer, "k", WalletIds.Funding("RWF"), B, 10, "RWF", null, null, null);

        Assert.Contains("fromWalletId", error!.Fields!.Keys);
    }

    /// <summary>The digest of the fields in their stored form: each "length:text|", the length in UTF-16 units, -1 for none.</summary>
    private static string StoredForm(params string?[] fields) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            string.Concat(fields.Select(f => $"{f?.Length ?? -1}:{f}|")))));

    [Fact]
    public void Fingerprints_keep_the_form_that_stored_records_were_made_with()
    {
        // A replay is compared with the fingerprint its record stored, perhaps by an earlier version.
        var transfer = ((int)MovementType.Transfer).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var deposit = ((int)MovementType.Deposit).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(StoredForm(transfer, A, B, "10", "RWF", null, null),
            MovementRules.Fingerprint(MovementType.Transfer, A, B, 10, "RWF", null, null, null));
        Assert.Equal(StoredForm(transfer, A, B, "10", "RWF", null, null),
            MovementRules.Fingerprint(MovementType.Transfer, A, B, 10, "RWF", null, null, new Dictionary<string, string>()));
        // Text beyond ASCII (a lone surrogate is encoded as U+FFFD, as it always was) and metadata in key order.
        Assert.Equal(StoredForm(deposit, null, B, "9223372036854775807", "USD", "caf\u00e9 \U0001F600", "\ud800x", "a", "1", "b", ""),
            MovementRules.Fingerprint(MovementType.Deposit, null, B, long.MaxValue, "USD", "caf\u00e9 \U0001F600", "\ud800x",
                new Dictionary<string, string> { ["b"] = "", ["a"] = "1" }));
        // The longest request the rules allow.
        var metadata = Enumerable.Range(0, MovementRules.MaxMetadataEntries).ToDictionary(
            i => $"k{i:D2}".PadRight(MovementRules.MaxMetadataKeyLength, '\u00e9'), i => "\U0001F600" + new string('v', MovementRules.MaxMetadataValueLength - 2));
        var description = new string('\u4e2d', MovementRules.MaxDescriptionLength);
        var reference = new string('r', MovementRules.MaxExternalReferenceLength);
        Assert.Equal(
            StoredForm([transfer, A, B, "1", "RWF", reference, description, .. metadata.OrderBy(e => e.Key, StringComparer.Ordinal).SelectMany(e => new[] { e.Key, e.Value })]),
            MovementRules.Fingerprint(MovementType.Transfer, A, B, 1, "RWF", reference, description, metadata));
    }

    [Fact]
    public void Fingerprints_differ_for_any_field_and_ignore_metadata_order()
    {
        var meta1 = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" };
        var meta2 = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" };
        var baseline = MovementRules.Fingerprint(MovementType.Transfer, A, B, 10, "RWF", null, "x", meta1);

        Assert.Equal(baseline, MovementRules.Fingerprint(MovementType.Transfer, A, B, 10, "RWF", null, "x", meta2));
        Assert.NotEqual(baseline, MovementRules.Fingerprint(MovementType.Transfer, A, B, 11, "RWF", null, "x", meta1));
        Assert.NotEqual(baseline, MovementRules.Fingerprint(MovementType.Transfer, B, A, 10, "RWF", null, "x", meta1));
        Assert.NotEqual(baseline, MovementRules.Fingerprint(MovementType.Transfer, A, B, 10, "RWF", "", "x", meta1));
        // Length prefixes keep field boundaries: moving text from one field to the next changes the digest.
        Assert.NotEqual(
            MovementRules.Fingerprint(MovementType.Transfer, A, B, 10, "RWF", "ab", "c", null),
            MovementRules.Fingerprint(MovementType.Transfer, A, B, 10, "RWF", "a", "bc", null));
    }

    [Fact]
    public void Transaction_ids_depend_on_scope_and_key()
    {
        Assert.Equal(Ids.TransactionIdFor("cus_1", "k"), Ids.TransactionIdFor("cus_1", "k"));
        Assert.NotEqual(Ids.TransactionIdFor("cus_1", "k"), Ids.TransactionIdFor("cus_2", "k"));
        Assert.True(Ids.IsTransactionId(Ids.TransactionIdFor("cus_1", "k")));
        Assert.False(Ids.IsTransactionId("txn_short"));
    }
}
