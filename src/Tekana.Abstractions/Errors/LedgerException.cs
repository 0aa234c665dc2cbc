using Orleans.Transactions;
using Tekana.Domain.Errors;

namespace Tekana.Abstractions.Errors;

/// <summary>
/// A ledger operation refused by a business rule. It crosses grain and client boundaries intact (code, message and
/// field errors), so that the REST front end can map it to one ProblemDetails type without guessing.
/// </summary>
[GenerateSerializer]
public sealed class LedgerException : Exception
{
    public LedgerException(ErrorKind code, string message, Dictionary<string, string[]>? fields = null)
        : base(message)
    {
        Code = code;
        Fields = fields;
    }

    public LedgerException(DomainError error)
        : this(error.Code, error.Message, error.Fields?.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal))
    {
    }

    [Id(0)]
    public ErrorKind Code { get; private set; }

    [Id(1)]
    public Dictionary<string, string[]>? Fields { get; private set; }

    /// <summary>Throws when a domain rule refused the operation.</summary>
    public static void ThrowIf(DomainError? error)
    {
        if (error is not null)
        {
            throw new LedgerException(error);
        }
    }

    /// <summary>
    /// Finds the business refusal behind a failed call. A refusal inside an Orleans transaction aborts it and reaches
    /// the caller wrapped in <see cref="OrleansTransactionAbortedException"/>.
    /// </summary>
    public static LedgerException? Find(Exception exception) => ExceptionChain.Find<LedgerException>(exception);
}
