using System.ComponentModel.DataAnnotations;

namespace Tekana.Grains.Hosting;

/// <summary>The <c>Orleans</c> configuration section: cluster identity and this silo's ports.</summary>
public sealed class TekanaClusterOptions
{
    public const string Section = "Orleans";

    [Required] public string ClusterId { get; set; } = "tekana";

    [Required] public string ServiceId { get; set; } = "tekana";

    [Range(1, 65535)] public int SiloPort { get; set; } = 11111;

    [Range(1, 65535)] public int GatewayPort { get; set; } = 30000;

    /// <summary>The address other silos and clients reach this silo at; loopback when unset.</summary>
    public string? AdvertisedAddress { get; set; }
}
