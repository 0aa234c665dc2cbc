using System.Reflection;
using Orleans.TestingHost;

namespace Tekana.IntegrationTests.Infrastructure;

public static class TestClusters
{
    /// <summary>
    /// Lets the silos keep the grain directory their own configuration chose (<c>AddTekanaGrains</c>). By default the
    /// in-process test cluster replaces it with one shared in-memory directory, which would hide what a silo's death
    /// does to the directory in production. Orleans exposes the switch only internally.
    /// </summary>
    public static InProcessTestClusterBuilder WithSilosOwnGrainDirectory(this InProcessTestClusterBuilder builder)
    {
        var property = typeof(InProcessTestClusterOptions).GetProperty("UseTestClusterGrainDirectory", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("Orleans.TestingHost no longer has InProcessTestClusterOptions.UseTestClusterGrainDirectory.");
        property.SetValue(builder.Options, false);
        return builder;
    }
}
