using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Metadata;
using Orleans.Serialization.Codecs;

namespace Tekana.Grains.Hosting;

/// <summary>
/// Work Orleans repeats by reflection on every call, done once per type instead. Silo and client register the same.
/// </summary>
public static class ReflectionCaches
{
    public static IServiceCollection AddTekanaReflectionCaches(this IServiceCollection services)
    {
        // A generated grain reference asks the service provider, in its constructor, for the copiers of its methods'
        // array and list arguments (a wallet's reference four, Orleans' transaction manager's one). Unregistered, each
        // is built by ActivatorUtilities.CreateInstance, which reflects over the type's constructors and attributes
        // every time: about 2% of a silo's busy time under load (measured). Copiers hold no per-call state, so one
        // instance serves every reference.
        services.TryAddSingleton(typeof(ArrayCopier<>));
        services.TryAddSingleton(typeof(ListCopier<>));

        // Resolving a grain interface's type reads the interface's attributes and, finding none, formats its name.
        // Orleans does that on every commit and every confirmation (references to the transaction manager and
        // participant extensions); the cache answers before the attribute reader, so it has to be first.
        if (!services.Any(d => d.ServiceType == typeof(IGrainInterfaceTypeProvider) && d.ImplementationType == typeof(CachedGrainInterfaceTypes)))
        {
            services.Insert(0, ServiceDescriptor.Singleton<IGrainInterfaceTypeProvider, CachedGrainInterfaceTypes>());
        }
        return services;
    }
}
