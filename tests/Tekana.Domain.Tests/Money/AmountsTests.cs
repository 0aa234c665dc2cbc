using Tekana.Domain.Errors;
using Tekana.Domain.Money;

namespace Tekana.Domain.Tests.Money;

public sealed class AmountsTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(long.MinValue)]
    [InlineData(Amounts.MaxMovement + 1)]
    public void Non_positive_or_oversized_amounts_are_invalid(long amount)
    {
        var error = Amounts.ValidateMovement(amount);

        Assert.Equal(ErrorKind.Validation, error?.Code);
        Assert.Contains("amount", error!.Fields!.Keys);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(Amounts.MaxMovement)]
    public void Positive_amounts_up_to_the_cap_are_valid(long amount) => Assert.Null(Amounts.ValidateMovement(amount));

    [Fact]
    public void Addition_that_would_overflow_is_refused_not_wrapped()
    {
        Assert.False(Amounts.TryAdd(long.MaxValue, 1, out _));
        Assert.False(Amounts.TrySubtract(long.MinValue, 1, out _));
        Assert.True(Amounts.TryAdd(long.MaxValue - 1, 1, out var sum));
        Assert.Equal(long.MaxValue, sum);
    }

    [Theory]
    [InlineData("RWF", 0)]
    [InlineData("UGX", 0)]
    [InlineData("USD", 2)]
    [InlineData("EUR", 2)]
    [InlineData("KES", 2)]
    [InlineData("TZS", 2)]
    [InlineData("GBP", 2)]
    [InlineData("BHD", 3)]
    public void Currencies_carry_their_ISO_4217_exponent(string code, int exponent)
    {
        Assert.True(Currencies.TryGet(code, out var currency));
        Assert.Equal(exponent, currency.Exponent);
    }

    [Theory]
    [InlineData("usd")]
    [InlineData("XXX")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_or_non_canonical_currency_codes_are_not_supported(string? code) => Assert.False(Currencies.IsSupported(code));
}
