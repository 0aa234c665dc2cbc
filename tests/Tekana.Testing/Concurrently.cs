namespace Tekana.Testing;

public static class Concurrently
{
    /// <summary>Runs <paramref name="body"/> over the items with at most <paramref name="parallelism"/> calls in flight.</summary>
    public static Task ForEachAsync<T>(IEnumerable<T> items, int parallelism, Func<T, Task> body) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (item, _) => await body(item));
}
