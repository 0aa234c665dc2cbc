using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Metadata;
using Orleans.Serialization.TypeSystem;

namespace Tekana.Grains.Hosting;

/// <summary>
/// Answers a grain interface's <see cref="GrainInterfaceType"/> from a cache, filled by asking Orleans' own resolution
/// (every other provider, then its naming convention) once per interface. The answer depends only on the interface
/// type, so it never goes stale. Generic interfaces are left to Orleans, which adds their type arguments itself.
/// </summary>
internal sealed class CachedGrainInterfaceTypes(IServiceProvider services) : IGrainInterfaceTypeProvider
{
    private readonly ConcurrentDictionary<Type, GrainInterfaceType> _known = new();

    // Built on first use: the resolver needs the other providers, and this one is among the services that list them.
    private GrainInterfaceTypeResolver? _orleans;

    public bool TryGetGrainInterfaceType(Type type, out GrainInterfaceType grainInterfaceType)
    {
        if (type.IsGenericType)
        {
            grainInterfaceType = default;
            return false;
        }
        grainInterfaceType = _known.GetOrAdd(type, Resolve);
        return true;
    }

    private GrainInterfaceType Resolve(Type type)
    {
        _orleans ??= new GrainInterfaceTypeResolver(
            services.GetServices<IGrainInterfaceTypeProvider>().Where(p => p is not CachedGrainInterfaceTypes),
            services.GetRequiredService<TypeConverter>());
        return _orleans.GetGrainInterfaceType(type);
    }
}
