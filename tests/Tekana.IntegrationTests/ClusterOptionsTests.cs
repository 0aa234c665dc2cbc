using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Configuration;
using Tekana.Abstractions.Transfers;
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

    [Theory]
    [InlineData(null, 60)]
    [InlineData("00:00:03", 3)]
    public void The_client_rebalance_period_is_a_minute_unless_set(string? configured, int seconds)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(configured is null ? [] : [KeyValuePair.Create<string, string?>("Orleans:ClientRebalancePeriod", configured)])
            .Build();
        Assert.Equal(TimeSpan.FromSeconds(seconds), TekanaClusterOptions.From(configuration).ClientRebalancePeriod);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("02:00:00")]
    public void A_bad_client_rebalance_period_stops_the_process_at_start(string configured)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([KeyValuePair.Create<string, string?>("Orleans:ClientRebalancePeriod", configured)])
            .Build();
        Assert.Throws<ValidationException>(() => TekanaClusterOptions.From(configuration));
    }

    [Fact]
    public void A_client_calls_its_ledger_ids_in_turn_and_takes_a_fresh_set_every_rotation()
    {
        var rotation = TimeSpan.FromMinutes(1);
        var now = DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        List<long> Ids(DateTimeOffset at, int calls) => [.. Enumerable.Range(0, calls).Select(i => LedgerEntry.IdAt(at, rotation, (uint)i))];

        var first = Ids(now, 3 * LedgerEntry.Keys);
        Assert.Equal(LedgerEntry.Keys, first.Distinct().Count());
        Assert.Equal(first.Take(LedgerEntry.Keys), first.Skip(LedgerEntry.Keys).Take(LedgerEntry.Keys));
        Assert.Equal(first, Ids(now.AddSeconds(59), 3 * LedgerEntry.Keys));

        var next = Ids(now.AddMinutes(1), LedgerEntry.Keys);
        Assert.Equal(LedgerEntry.Keys, next.Distinct().Count());
        Assert.Empty(next.Intersect(first));

        // The call counter wraps around without a negative id.
        Assert.InRange(LedgerEntry.IdAt(now, rotation, uint.MaxValue), 0, long.MaxValue);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LedgerEntry(null!, TimeProvider.System, TimeSpan.Zero));
    }
}
