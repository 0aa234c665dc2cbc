namespace Tekana.Abstractions.Errors;

/// <summary>Where a failure's cause sits: Orleans wraps a call's exception (a transaction's abort, an aggregate).</summary>
internal static class ExceptionChain
{
    /// <summary>The first <typeparamref name="T"/> in <paramref name="exception"/> or its inner exceptions, or null.</summary>
    public static T? Find<T>(Exception exception) where T : Exception
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is T found)
            {
                return found;
            }
        }
        return null;
    }
}
