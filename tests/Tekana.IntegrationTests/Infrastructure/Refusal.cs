using Tekana.Abstractions.Errors;

namespace Tekana.IntegrationTests.Infrastructure;

public static class Refusal
{
    /// <summary>
    /// The business refusal of a call. Transactional grain methods called outside a transaction report refusals
    /// wrapped in the transaction's abort exception, exactly as the REST front end sees them.
    /// </summary>
    public static async Task<LedgerException> Of(Func<Task> call)
    {
        var error = await Record.ExceptionAsync(call);
        Assert.NotNull(error);
        return LedgerException.Find(error) ?? throw new Xunit.Sdk.XunitException($"Expected a refusal, got {error}");
    }
}
