using Tekana.Abstractions;
using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Wallets;

namespace Tekana.IntegrationTests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class GrainReferencesTests(ClusterFixture fixture)
{
    [Fact]
    public void A_reference_is_the_one_Orleans_gives_for_the_key_on_first_and_later_calls()
    {
        foreach (var key in new[] { "wal_first", "wal_second", "wal_third" })
        {
            var ours = (GrainReference)fixture.Client.Reference<IWalletGrain>(key);
            var orleans = (GrainReference)fixture.Client.GetGrain<IWalletGrain>(key);

            Assert.Equal(orleans.GrainId, ours.GrainId);
            Assert.Equal(orleans.InterfaceType, ours.InterfaceType);
            Assert.Equal(orleans, ours);
        }
        // Types are resolved per interface, never shared between two.
        var customer = (GrainReference)fixture.Client.Reference<ICustomerGrain>("wal_first");
        Assert.Equal(((GrainReference)fixture.Client.GetGrain<ICustomerGrain>("wal_first")).GrainId, customer.GrainId);
        Assert.NotEqual(((GrainReference)fixture.Client.Reference<IWalletGrain>("wal_first")).GrainId, customer.GrainId);
    }

    [Fact]
    public async Task A_reference_reaches_its_grain()
    {
        var (customer, wallet) = await fixture.Client.RegisterAsync("RWF");

        var state = await fixture.Client.Reference<IWalletGrain>(wallet).Get();

        Assert.Equal((wallet, customer.Id, "RWF"), (state.Id, state.OwnerId, state.Currency));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public void A_blank_key_is_refused(string key) =>
        Assert.Throws<ArgumentException>(() => fixture.Client.Reference<IWalletGrain>(key));
}
