using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using System.Net;
using System.Net.NetworkInformation;

namespace Tekana.Grains.Hosting;

/// <summary>The <c>Orleans</c> configuration section: cluster identity and this silo's ports.</summary>
public sealed class TekanaClusterOptions
{
    public const string Section = "Orleans";

    [Required] public string ClusterId { get; set; } = "tekana";

    [Required] public string ServiceId { get; set; } = "tekana";

    [Range(1, 65535)] public int SiloPort { get; set; } = 11111;

    [Range(1, 65535)] public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// How soon a client spreads its calls over a silo that joined the cluster (scale out, or a silo back from a
    /// crash): it refreshes its list of gateways, and moves its movements to a fresh set of ledger ids, this often.
    /// An Orleans client otherwise keeps sending each grain id through the gateway it first chose.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ClientRebalancePeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The section's values, validated: a bad value stops the process at start.</summary>
    public static TekanaClusterOptions From(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<TekanaClusterOptions>() ?? new();
        Validator.ValidateObject(options, new(options), validateAllProperties: true);
        return options;
    }

    /// <summary>
    /// The address other silos and clients reach this silo at: an IP address, <c>auto</c> (this machine's first
    /// non-loopback IPv4 address: a container's own address, so that replicas need no per-instance setting), or,
    /// when unset, loopback.
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    public IPAddress ResolveAdvertisedAddress()
    {
        if (string.IsNullOrWhiteSpace(AdvertisedAddress))
        {
            return IPAddress.Loopback;
        }
        if (!string.Equals(AdvertisedAddress, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.TryParse(AdvertisedAddress, out var address)
                ? address
                : throw new ValidationException($"Orleans:AdvertisedAddress '{AdvertisedAddress}' is neither an IP address nor 'auto'.");
        }
        return NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? throw new ValidationException("Orleans:AdvertisedAddress is 'auto' but this machine has no non-loopback IPv4 address.");
    }
}
