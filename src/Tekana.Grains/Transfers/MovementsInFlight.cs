using System.Collections.Concurrent;

namespace Tekana.Grains.Transfers;

/// <summary>
/// The movements this silo is running, by id. A request that repeats one of them (a caller retrying before the first
/// answer came) waits for it to settle and then finds its record, rather than running the same legs alongside it:
/// only one of the two could commit, and the other's abort would also abort whatever read or wrote its wallets since.
/// Requests that reach two silos at once are still exact (the second record fails its transaction's commit), only
/// not as cheap.
/// </summary>
public sealed class MovementsInFlight
{
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);

    /// <summary>Waits until no other run of <paramref name="id"/> is in flight here, then holds it until disposed.</summary>
    public async Task<Running> EnterAsync(string id)
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        while (!_running.TryAdd(id, mine.Task))
        {
            if (_running.TryGetValue(id, out var other))
            {
                await other;
            }
        }
        return new Running(this, id, mine);
    }

    public readonly struct Running(MovementsInFlight owner, string id, TaskCompletionSource done) : IDisposable
    {
        public void Dispose()
        {
            owner._running.TryRemove(new KeyValuePair<string, Task>(id, done.Task));
            done.TrySetResult();
        }
    }
}
