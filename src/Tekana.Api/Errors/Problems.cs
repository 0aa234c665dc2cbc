using Tekana.Api.Hosting;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Tekana.Abstractions.Errors;
using Tekana.Domain.Errors;

namespace Tekana.Api.Errors;

/// <summary>
/// The one mapping from refusals to RFC 9457 ProblemDetails: a stable <c>type</c> URI and an HTTP status per
/// <see cref="ErrorKind"/>, field errors under <c>errors</c>.
/// </summary>
public static class Problems
{
    public const string TypeBase = "https://tekana.dev/problems/";

    public static int Status(ErrorKind kind) => kind switch
    {
        ErrorKind.Validation => StatusCodes.Status400BadRequest,
        ErrorKind.CustomerNotFound or ErrorKind.WalletNotFound or ErrorKind.TransactionNotFound => StatusCodes.Status404NotFound,
        ErrorKind.EmailTaken or ErrorKind.PhoneTaken or ErrorKind.WalletExists or ErrorKind.IdempotencyConflict => StatusCodes.Status409Conflict,
        ErrorKind.LedgerBusy => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status422UnprocessableEntity,
    };

    public static ProblemDetails For(ErrorKind kind, string detail, IDictionary<string, string[]>? fields = null)
    {
        var problem = fields is null
            ? new ProblemDetails()
            : new HttpValidationProblemDetails(fields);
        problem.Type = TypeBase + kind.Slug();
        problem.Title = Title(kind);
        problem.Status = Status(kind);
        problem.Detail = detail;
        return problem;
    }

    public static IResult Result(ErrorKind kind, string detail, IDictionary<string, string[]>? fields = null) =>
        Results.Problem(For(kind, detail, fields));

    public static IResult Invalid(string field, string message) =>
        Result(ErrorKind.Validation, "One or more fields are invalid.", new Dictionary<string, string[]> { [field] = [message] });

    public static IResult NotFound(ErrorKind kind) => Result(kind, "The resource does not exist.");

    private static string Title(ErrorKind kind) => kind.Slug().Replace('-', ' ') switch
    {
        var words => char.ToUpperInvariant(words[0]) + words[1..],
    };
}

/// <summary>Turns refusals thrown anywhere below an endpoint into their ProblemDetails, and bad requests into 400/413.</summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails? problem = null;
        if (LedgerException.Find(exception) is { } refusal)
        {
            problem = Problems.For(refusal.Code, refusal.Message, refusal.Fields);
        }
        else if (exception is BadHttpRequestException bad)
        {
            problem = bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? new ProblemDetails { Type = Problems.TypeBase + "payload-too-large", Title = "Payload too large", Status = 413, Detail = "The request body is too large." }
                : Problems.For(ErrorKind.Validation, bad.InnerException is System.Text.Json.JsonException json
                    ? $"The request body is not valid JSON for this operation (at {json.Path ?? "$"})."
                    : "The request is malformed.");
            problem.Status = bad.StatusCode == 413 ? 413 : StatusCodes.Status400BadRequest;
        }
        else if (WalletMovingException.Find(exception) is not null)
        {
            // A wallet on a stopping silo refused the change before it ran: it serves from another silo within seconds.
            problem = Unavailable(http, "cluster-unavailable", "A wallet was moving to another server");
        }
        else if (ClusterRetry.IsLostAttempt(exception))
        {
            // The cluster could not answer in time (a silo went away and the retries ran out): try again shortly.
            problem = Unavailable(http, "cluster-unavailable", "The cluster could not complete the request in time");
        }
        else if (IsStorageFailure(exception))
        {
            // PostgreSQL was away or dropped the connection (a restart): nothing to fix in the request, try again shortly.
            problem = Unavailable(http, "storage-unavailable", "The database could not complete the request");
        }
        if (problem is null)
        {
            return false;
        }
        http.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    private static ProblemDetails Unavailable(HttpContext http, string type, string what)
    {
        http.Response.Headers.RetryAfter = "1";
        return new ProblemDetails
        {
            Type = Problems.TypeBase + type,
            Title = "Service unavailable",
            Status = StatusCodes.Status503ServiceUnavailable,
            Detail = what + "; repeat it shortly (with the same Idempotency-Key for movements).",
        };
    }

    private static bool IsStorageFailure(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is System.Data.Common.DbException)
            {
                return true;
            }
        }
        return false;
    }
}
