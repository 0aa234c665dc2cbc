using Microsoft.Extensions.DependencyInjection;
using Orleans.Metadata;
using Orleans.Serialization.TypeSystem;
using Orleans.Transactions.Abstractions;
using Tekana.Abstractions;
using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Wallets;
using Tekana.Grains.Hosting;

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

    [Fact]
    public void Grain_interface_types_come_from_the_cache_first_and_are_the_ones_Orleans_resolves_on_its_own()
    {
        var silo = fixture.Cluster.GetActiveSilos().First().ServiceProvider;
        foreach (var services in new[] { silo, fixture.Client.ServiceProvider })
        {
            Assert.IsType<CachedGrainInterfaceTypes>(services.GetServices<IGrainInterfaceTypeProvider>().First());
            var orleans = new GrainInterfaceTypeResolver([new AttributeGrainInterfaceTypeProvider(services)], services.GetRequiredService<TypeConverter>());
            var resolver = services.GetRequiredService<GrainInterfaceTypeResolver>();
            foreach (var type in new[] { typeof(IWalletGrain), typeof(ICustomerGrain), typeof(ITransactionManagerExtension), typeof(ITransactionalResourceExtension), typeof(INamedInterface) })
            {
                Assert.Equal(orleans.GetGrainInterfaceType(type), resolver.GetGrainInterfaceType(type));
                Assert.Equal(orleans.GetGrainInterfaceType(type), resolver.GetGrainInterfaceType(type));
            }
            Assert.Equal("tekana.named", resolver.GetGrainInterfaceType(typeof(INamedInterface)).ToString());
        }
    }

    [GrainInterfaceType("tekana.named")]
    private interface INamedInterface;
}
