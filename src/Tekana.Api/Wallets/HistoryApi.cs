using System.Security.Claims;
using System.Text;
using Tekana.Api.Auth;
using Tekana.Api.Errors;
using Tekana.Domain.Errors;
using Tekana.Grains.History;

namespace Tekana.Api.Wallets;

/// <summary>A page of results; pass <c>nextCursor</c> back as <c>cursor</c> for the next page (absent on the last).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>One wallet entry. <c>amount</c> is signed (negative when money left the wallet), in minor units.</summary>
public sealed record HistoryEntryResponse(
    long Sequence, string TransactionId, string Type, long Amount, string Currency, long BalanceAfter,
    string CounterpartyWalletId, string? Description, DateTimeOffset OccurredAt);

public sealed record CustomerSummaryResponse(
    string Id, string FullName, string Email, string PhoneNumber, string Country, string Status, DateTimeOffset CreatedAt);

/// <summary>
/// Reads of the projected read model. It is eventually consistent: an entry appears shortly after its movement
/// commits (see the README for the measured lag).
/// </summary>
public static class HistoryApi
{
    public const int MaxLimit = 200;
    private static readonly string[] Types = ["deposit", "withdrawal", "transfer"];

    public static IEndpointRouteBuilder MapHistoryApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("api/v1/wallets/{id}/transactions", WalletHistory).WithTags("Wallets").RequireAuthorization()
            .WithName("ListWalletTransactions")
            .WithSummary("The wallet's entries, newest first (eventually consistent: a movement appears shortly after it commits).")
            .WithDescription("Read from the history read model, which the event stream feeds. Measured while 10,000 " +
                "concurrent transfers ran (about 230 entries/s): an entry is in the read model 75 ms (p50) to 145 ms (p99) " +
                "after its movement started. After a sink outage or a silo crash, entries catch up once events are " +
                "redelivered (within seconds). The wallet's own balance (GET /api/v1/wallets/{id}) is always current.")
            .Produces<Page<HistoryEntryResponse>>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        app.MapGet("api/v1/customers", SearchCustomers).WithTags("Customers").RequireAuthorization(Policies.Admin)
            .WithName("SearchCustomers")
            .WithSummary("Admin search of customers by name, email or phone (eventually consistent).")
            .Produces<Page<CustomerSummaryResponse>>().ProducesValidationProblem();
        return app;
    }

    private static async Task<IResult> WalletHistory(
        string id, string? cursor, int? limit, DateTimeOffset? from, DateTimeOffset? to, string? type,
        ClaimsPrincipal user, IClusterClient cluster, WalletOwners owners, IHistoryStore history, CancellationToken cancellationToken)
    {
        if (!await WalletsApi.MaySee(id, user, cluster, owners, cancellationToken))
        {
            return Problems.NotFound(ErrorKind.WalletNotFound);
        }
        if (Validate(limit, cursor, out var before) is { } invalid)
        {
            return invalid;
        }
        if (type is not null && !Types.Contains(type))
        {
            return Problems.Invalid("type", "The type must be deposit, withdrawal or transfer.");
        }
        long? beforeSequence = null;
        if (before is not null)
        {
            if (!long.TryParse(before, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
            {
                return Problems.Invalid("cursor", "The cursor is not one this API returned.");
            }
            beforeSequence = parsed;
        }
        var size = limit ?? 50;
        var entries = await history.EntriesAsync(id, new HistoryQuery(beforeSequence, size, from, to, type), cancellationToken);
        var next = entries.Count == size ? Encode(entries[^1].Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null;
        return Results.Ok(new Page<HistoryEntryResponse>(
            entries.Select(e => new HistoryEntryResponse(e.Sequence, e.TransactionId, e.Type, e.Amount, e.Currency, e.BalanceAfter, e.Counterparty, e.Description, e.OccurredAt)).ToList(),
            next));
    }

    private static async Task<IResult> SearchCustomers(string? query, string? cursor, int? limit, IHistoryStore history, CancellationToken cancellationToken)
    {
        if (Validate(limit, cursor, out var after) is { } invalid)
        {
            return invalid;
        }
        var size = limit ?? 50;
        var rows = await history.SearchCustomersAsync(query, after, size, cancellationToken);
        return Results.Ok(new Page<CustomerSummaryResponse>(
            rows.Select(c => new CustomerSummaryResponse(c.Id, c.FullName, c.Email, c.PhoneNumber, c.Country, c.Status, c.CreatedAt)).ToList(),
            rows.Count == size ? Encode(rows[^1].Id) : null));
    }

    private static IResult? Validate(int? limit, string? cursor, out string? position)
    {
        position = null;
        if (limit is < 1 or > MaxLimit)
        {
            return Problems.Invalid("limit", $"The limit must be between 1 and {MaxLimit}.");
        }
        if (cursor is not null && (position = Decode(cursor)) is null)
        {
            return Problems.Invalid("cursor", "The cursor is not one this API returned.");
        }
        return null;
    }

    // Cursors are opaque to clients: a versioned, base64url-encoded position.
    private static string Encode(string position) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes("v1:" + position)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string? Decode(string cursor)
    {
        try
        {
            var padded = cursor.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - padded.Length % 4) % 4);
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(padded));
            return text.StartsWith("v1:", StringComparison.Ordinal) && text.Length > 3 ? text[3..] : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
