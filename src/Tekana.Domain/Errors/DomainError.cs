namespace Tekana.Domain.Errors;

/// <summary>
/// A refused operation: a code, a human-readable message and, for validation, the offending fields.
/// Domain rules return these instead of throwing so that they stay free of any transport or actor type.
/// </summary>
public sealed record DomainError(ErrorKind Code, string Message, IReadOnlyDictionary<string, string[]>? Fields = null)
{
    public static DomainError Invalid(string field, string message) =>
        new(ErrorKind.Validation, "One or more fields are invalid.", new Dictionary<string, string[]> { [field] = [message] });
}

/// <summary>Collects field errors of one request so that the caller sees all of them at once.</summary>
public sealed class ValidationErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsEmpty => _errors.Count == 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }
        list.Add(message);
    }

    public DomainError? ToError() => IsEmpty
        ? null
        : new DomainError(ErrorKind.Validation, "One or more fields are invalid.",
            _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));
}
