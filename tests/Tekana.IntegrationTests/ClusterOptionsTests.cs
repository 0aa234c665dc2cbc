using System.ComponentModel.DataAnnotations;
using System.Net;
using Tekana.Grains.Hosting;

namespace Tekana.IntegrationTests;

public sealed class ClusterOptionsTests
{
    [Fact]
    public void The_advertised_address_is_loopback_by_default_an_ip_when_given_and_this_machines_own_with_auto()
    {
        Assert.Equal(IPAddress.Loopback, new TekanaClusterOptions().ResolveAdvertisedAddress());
        Assert.Equal(IPAddress.Parse("10.1.2.3"), new TekanaClusterOptions { AdvertisedAddress = "10.1.2.3" }.ResolveAdvertisedAddress());

        var auto = new TekanaClusterOptions { AdvertisedAddress = "auto" }.ResolveAdvertisedAddress();
        Assert.Equal(System.Net.Sockets.AddressFamily.InterNetwork, auto.AddressFamily);
        Assert.False(IPAddress.IsLoopback(auto));

        Assert.Throws<ValidationException>(() => new TekanaClusterOptions { AdvertisedAddress = "silo-1.local" }.ResolveAdvertisedAddress());
    }
}
