using System.Security.Claims;
using Tekana.Abstractions;
using Tekana.Abstractions.Customers;
using Tekana.Abstractions.Transfers;
using Tekana.Api.Auth;
using Tekana.Api.Errors;
using Tekana.Api.Hosting;
using Tekana.Domain;
using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;

namespace Tekana.Api.Transfers;

public static class MovementsApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";

    public static IEndpointRouteBuilder MapMovementsApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("api/v1").RequireAuthorization();
        v1.MapPost("transfers", Transfer).WithTags("Transfers")
            .WithName("CreateTransfer").WithSummary("Moves money between two wallets of the same currency. Requires an Idempotency-Key header.")
            .Produces<TransactionResponse>(StatusCodes.Status201Created).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        v1.MapPost("deposits", Deposit).WithTags("Deposits").RequireAuthorization(Policies.Operator)
            .WithName("CreateDeposit").WithSummary("Credits a customer wallet with money received by a payment provider (operators). Requires an Idempotency-Key header.")
            .Produces<TransactionResponse>(StatusCodes.Status201Created).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        v1.MapPost("withdrawals", Withdraw).WithTags("Withdrawals")
            .WithName("CreateWithdrawal").WithSummary("Pays money out of a customer wallet (the customer or an operator). Requires an Idempotency-Key header.")
            .Produces<TransactionResponse>(StatusCodes.Status201Created).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        v1.MapGet("transactions/{id}", GetTransaction).WithTags("Transactions")
            .WithName("GetTransaction").WithSummary("A movement by id, completed or refused.")
            .Produces<TransactionResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static Task<IResult> Transfer(TransferRequest body, HttpContext http, LedgerEntry ledger)
    {
        var user = http.User;
        if (!user.IsCustomer() && !user.IsAdmin())
        {
            return Task.FromResult(Results.Forbid());
        }
        return Execute(http, ledger, key => new MovementRequest(MovementType.Transfer, user.IdempotencyScope(), key,
            user.IsCustomer() ? user.Subject() : null, body.FromWalletId, body.ToWalletId, body.Amount, body.Currency ?? "",
            null, body.Description, body.Metadata));
    }

    private static Task<IResult> Deposit(DepositRequest body, HttpContext http, LedgerEntry ledger) =>
        Execute(http, ledger, key => new MovementRequest(MovementType.Deposit, http.User.IdempotencyScope(), key, null,
            null, body.ToWalletId, body.Amount, body.Currency ?? "", body.ExternalReference, body.Description, body.Metadata));

    private static Task<IResult> Withdraw(WithdrawalRequest body, HttpContext http, LedgerEntry ledger)
    {
        var user = http.User;
        if (!user.IsCustomer() && !user.IsStaff())
        {
            return Task.FromResult(Results.Forbid());
        }
        return Execute(http, ledger, key => new MovementRequest(MovementType.Withdrawal, user.IdempotencyScope(), key,
            user.IsCustomer() ? user.Subject() : null, body.FromWalletId, null, body.Amount, body.Currency ?? "",
            body.ExternalReference, body.Description, body.Metadata));
    }

    /// <summary>
    /// The one idempotency mechanism: the key, scoped to the caller, names the transaction; the ledger stores the
    /// outcome with the movement, so a replay gets the original status and body back, marked as replayed.
    /// </summary>
    private static async Task<IResult> Execute(HttpContext http, LedgerEntry ledger, Func<string, MovementRequest> request)
    {
        var key = http.Request.Headers[IdempotencyKeyHeader].ToString();
        if (!MovementRules.IsValidIdempotencyKey(key))
        {
            return Problems.Invalid(IdempotencyKeyHeader,
                $"An {IdempotencyKeyHeader} header of 1 to {MovementRules.MaxIdempotencyKeyLength} printable ASCII characters is required.");
        }
        var movement = request(key);
        var outcome = await ClusterRetry.Idempotent(() => ledger.Next().Execute(movement), http.RequestAborted);
        if (outcome.Replayed)
        {
            http.Response.Headers[ReplayedHeader] = "true";
        }
        var record = outcome.Record;
        if (record.Status == MovementStatus.Failed)
        {
            var problem = Problems.For(record.FailureCode!.Value, record.FailureMessage ?? "The movement was refused.");
            problem.Extensions["transactionId"] = record.Id;
            return Results.Problem(problem);
        }
        return Results.Created($"/api/v1/transactions/{record.Id}", TransactionResponse.From(record));
    }

    private static async Task<IResult> GetTransaction(string id, ClaimsPrincipal user, IClusterClient cluster, LedgerEntry ledger, CancellationToken cancellationToken)
    {
        if (!Ids.IsTransactionId(id))
        {
            return Problems.NotFound(ErrorKind.TransactionNotFound);
        }
        var record = await ClusterRetry.Idempotent(() => ledger.Next().GetTransaction(id), cancellationToken);
        if (user.IsStaff())
        {
            return Results.Ok(TransactionResponse.From(record));
        }
        // A customer sees a movement that touched one of their wallets, with only their own side's balance.
        var mine = (await cluster.Reference<ICustomerGrain>(user.Subject()).Get()).Wallets.Select(w => w.WalletId).ToHashSet();
        var (from, to) = (mine.Contains(record.FromWalletId), mine.Contains(record.ToWalletId));
        return from || to || record.InitiatedBy == user.Subject()
            ? Results.Ok(TransactionResponse.From(record, from, to))
            : Problems.NotFound(ErrorKind.TransactionNotFound);
    }
}
