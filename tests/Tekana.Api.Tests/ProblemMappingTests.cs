using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Transactions;
using Tekana.Abstractions.Errors;
using Tekana.Api.Errors;

namespace Tekana.Api.Tests;

/// <summary>Failures that reach the API's exception handler without passing through a running cluster.</summary>
public sealed class ProblemMappingTests
{
    [Fact]
    public async Task A_wallet_moving_off_a_stopping_silo_is_503_with_Retry_After()
    {
        // A change sent straight to a wallet (freeze, close) that its stopping silo refused: it comes back wrapped in
        // the aborted transaction, and nothing ran.
        var (handled, http) = await HandleAsync(new OrleansTransactionAbortedException("tx", new WalletMovingException("wal_x")));

        Assert.True(handled);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, http.Response.StatusCode);
        Assert.Equal("1", http.Response.Headers.RetryAfter.ToString());
        http.Response.Body.Position = 0;
        using var body = await JsonDocument.ParseAsync(http.Response.Body);
        Assert.Equal(Problems.TypeBase + "cluster-unavailable", body.RootElement.GetProperty("type").GetString());
    }

    [Fact]
    public async Task An_unknown_failure_is_left_to_the_default_handler()
    {
        var (handled, _) = await HandleAsync(new InvalidOperationException("bug"));
        Assert.False(handled);
    }

    private static async Task<(bool Handled, HttpContext Http)> HandleAsync(Exception exception)
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var http = new DefaultHttpContext { RequestServices = services };
        http.Response.Body = new MemoryStream();
        var handler = new ProblemExceptionHandler(services.GetRequiredService<IProblemDetailsService>());
        return (await handler.TryHandleAsync(http, exception, CancellationToken.None), http);
    }
}
