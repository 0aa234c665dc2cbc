using Microsoft.Extensions.Options;
using Tekana.Api.Errors;

namespace Tekana.Api.Hosting;

public sealed class BodySizeOptions
{
    public long MaxBytes { get; set; } = 64 * 1024;
}

/// <summary>
/// Refuses a declared oversized body up front with a 413 ProblemDetails, before any of it is read. Kestrel's own
/// limit (the same number) stops bodies that do not declare their length.
/// </summary>
public sealed class BodySizeLimit(RequestDelegate next, IOptions<BodySizeOptions> options)
{
    public async Task InvokeAsync(HttpContext http)
    {
        if (http.Request.ContentLength > options.Value.MaxBytes)
        {
            http.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await Results.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Type = Problems.TypeBase + "payload-too-large",
                Title = "Payload too large",
                Status = StatusCodes.Status413PayloadTooLarge,
                Detail = $"The request body must not exceed {options.Value.MaxBytes} bytes.",
            }).ExecuteAsync(http);
            return;
        }
        await next(http);
    }
}
