using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization.Configuration;
using Orleans.Serialization.Cloning;
using Orleans.Serialization.Invocation;
using Orleans.Serialization.Serializers;
using OrleansCodeGen.Orleans;

namespace Tekana.Grains.Hosting;

/// <summary>
/// Copies the response of a transactional grain call without copying its <see cref="Orleans.Transactions.TransactionInfo"/>.
/// </summary>
/// <remarks>
/// Orleans deep-copies every response a grain returns, before it knows whether the caller is local. A transactional
/// call's response carries the callee's transaction info, and copying it builds a new one: a participant dictionary and
/// a 32-slot queue each time, about an eighth of what a silo allocates per transfer (bench/profile.sh --allocations).
/// The copy protects nothing. The info in the response is the one the request brought (Orleans' TransactionRequestBase
/// returns it once its call is over and touches it no more), and the caller only reads it: it queues it to join its
/// own info and unions the participants in. The response it wraps is still deep-copied, so a result object the grain
/// keeps is never shared.
/// </remarks>
public sealed class TransactionResponseCopier(ICodecProvider codecProvider) : IDeepCopier<TransactionResponse>
{
    private readonly IDeepCopier<Response> _inner = codecProvider.GetDeepCopier<Response>();

    public TransactionResponse? DeepCopy(TransactionResponse? original, CopyContext context)
    {
        if (context.TryGetCopy<TransactionResponse>(original, out var copy))
        {
            return copy;
        }
        copy = TransactionResponse.Create(_inner.DeepCopy(original.InnerResponse, context), original.TransactionInfo!);
        context.RecordCopy(original, copy);
        return copy;
    }

    object? IDeepCopier.DeepCopy(object? input, CopyContext context) => DeepCopy((TransactionResponse?)input, context);
}

public static class TransactionResponseCopying
{
    /// <summary>Puts <see cref="TransactionResponseCopier"/> in the place of the copier Orleans generates.</summary>
    /// <remarks>
    /// Orleans picks a type's copier from the copier types its manifest lists, so the generated one comes out of the list.
    /// After every other configuration, so that no manifest adds it back.
    /// </remarks>
    public static IServiceCollection AddTekanaTransactionResponseCopier(this IServiceCollection services) =>
        services.PostConfigure<TypeManifestOptions>(o =>
        {
            o.Copiers.Remove(typeof(Copier_TransactionResponse));
            o.Copiers.Add(typeof(TransactionResponseCopier));
        });
}
