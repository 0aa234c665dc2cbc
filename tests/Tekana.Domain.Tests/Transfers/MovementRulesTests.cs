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
