using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Invocation;
using Orleans.Serialization.Serializers;
using Orleans.Transactions;
using Tekana.Grains.Hosting;

namespace Tekana.IntegrationTests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class TransactionResponseCopyTests(ClusterFixture fixture)
{
    private DeepCopier<Response> SiloCopier() =>
        fixture.Cluster.GetActiveSilos().First().ServiceProvider.GetRequiredService<DeepCopier<Response>>();

    [Fact]
    public void A_silo_copies_a_transactional_response_with_its_own_copier()
    {
        var services = fixture.Cluster.GetActiveSilos().First().ServiceProvider;

        Assert.IsType<TransactionResponseCopier>(services.GetRequiredService<ICodecProvider>().GetDeepCopier(typeof(TransactionResponse)));
    }

    [Fact]
    public void The_copy_shares_the_transaction_info_and_copies_the_result()
    {
        var info = new TransactionInfo(Guid.NewGuid(), DateTime.UtcNow, DateTime.UtcNow);
        var result = new List<long> { 241, 100 };
        var original = TransactionResponse.Create(Response.FromResult(result), info);

        var copy = Assert.IsType<TransactionResponse>(SiloCopier().Copy(original));

        Assert.NotSame(original, copy);
        Assert.Same(info, copy.TransactionInfo);
        var copied = copy.GetResult<List<long>>();
        Assert.NotSame(result, copied);
        Assert.Equal(result, copied);
    }

    [Fact]
    public void The_copy_keeps_the_failure_of_the_call()
    {
        var info = new TransactionInfo(Guid.NewGuid(), DateTime.UtcNow, DateTime.UtcNow);
        var original = TransactionResponse.Create(Response.FromException(new InvalidOperationException("insufficient funds")), info);

        var copy = Assert.IsType<TransactionResponse>(SiloCopier().Copy(original));

        Assert.Null(copy.Exception);
        Assert.Equal("insufficient funds", Assert.IsType<InvalidOperationException>(copy.GetException()).Message);
        Assert.Same(info, copy.TransactionInfo);
    }
}
