using Tekana.Domain.Errors;
using Tekana.Domain.Wallets;

namespace Tekana.Domain.Tests.Wallets;

public sealed class WalletPositionTests
{
    private static WalletPosition Customer(long balance, WalletStatus status = WalletStatus.Active, bool suspended = false) =>
        new(WalletKind.Customer, status, suspended, "RWF", balance);

    [Fact]
    public void A_debit_within_the_balance_lowers_it()
    {
        Assert.Null(Customer(100).Debit("RWF", 100, out var after));
        Assert.Equal(0, after);
    }

    [Fact]
    public void A_customer_wallet_never_goes_below_zero() =>
        Assert.Equal(ErrorKind.InsufficientFunds, Customer(100).Debit("RWF", 101, out _)?.Code);

    [Fact]
    public void The_funding_house_wallet_may_go_below_zero()
    {
        var funding = new WalletPosition(WalletKind.HouseFunding, WalletStatus.Active, false, "RWF", 0);

        Assert.Null(funding.Debit("RWF", 500, out var after));
        Assert.Equal(-500, after);
    }

    [Fact]
    public void Frozen_wallets_neither_send_nor_receive()
    {
        Assert.Equal(ErrorKind.WalletFrozen, Customer(100, WalletStatus.Frozen).Debit("RWF", 1, out _)?.Code);
        Assert.Equal(ErrorKind.WalletFrozen, Customer(100, WalletStatus.Frozen).Credit("RWF", 1, out _)?.Code);
    }

    [Fact]
    public void Closed_and_missing_wallets_take_no_money()
    {
        Assert.Equal(ErrorKind.WalletClosed, Customer(0, WalletStatus.Closed).Credit("RWF", 1, out _)?.Code);
        Assert.Equal(ErrorKind.WalletNotFound, Customer(0, WalletStatus.None).Credit("RWF", 1, out _)?.Code);
    }

    [Fact]
    public void A_suspended_owner_can_receive_but_not_send()
    {
        Assert.Null(Customer(100, suspended: true).Credit("RWF", 1, out _));
        Assert.Equal(ErrorKind.CustomerSuspended, Customer(100, suspended: true).Debit("RWF", 1, out _)?.Code);
    }

    [Fact]
    public void Currencies_must_match() => Assert.Equal(ErrorKind.CurrencyMismatch, Customer(100).Debit("USD", 1, out _)?.Code);

    [Fact]
    public void A_credit_that_would_overflow_is_refused() =>
        Assert.Equal(ErrorKind.AmountOverflow, Customer(long.MaxValue).Credit("RWF", 1, out _)?.Code);

    [Fact]
    public void Only_empty_customer_wallets_close()
    {
        Assert.Equal(ErrorKind.WalletNotEmpty, Customer(1).CanClose()?.Code);
        Assert.Null(Customer(0).CanClose());
        Assert.Equal(ErrorKind.InvalidState, new WalletPosition(WalletKind.HousePayout, WalletStatus.Active, false, "RWF", 0).CanClose()?.Code);
    }

    [Fact]
    public void Customer_wallet_ids_are_derived_from_customer_and_currency()
    {
        var customer = Ids.NewCustomerId();

        Assert.Equal(WalletIds.ForCustomer(customer, "RWF"), WalletIds.ForCustomer(customer, "RWF"));
        Assert.NotEqual(WalletIds.ForCustomer(customer, "RWF"), WalletIds.ForCustomer(customer, "USD"));
        Assert.True(WalletIds.IsWellFormed(WalletIds.ForCustomer(customer, "RWF")));
        Assert.True(WalletIds.IsWellFormed(WalletIds.Funding("USD")));
        Assert.False(WalletIds.IsWellFormed("wal_../../etc"));
        Assert.False(WalletIds.IsWellFormed(WalletIds.Funding("XYZ")));
    }
}
