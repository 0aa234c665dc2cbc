using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Tekana.Grains.Storage;

/// <summary>One grain's request to the state table, answered when the round trip that carries it completes.</summary>
internal abstract record StateRequest(string GrainType, string GrainKey, string StateName)
{
    /// <summary>The row this request targets.</summary>
    public (string Type, string Key, string Name) Row => (GrainType, GrainKey, StateName);

    /// <summary>Completes the request with the failure of its whole round trip.</summary>
    public abstract void Fail(Exception failure);
}

/// <summary>
/// The queue behind group reads and group commits: requests queued by any grain while a round trip is under way go
/// together in the next one. One round trip at a time (each holds one connection), at most <see cref="MaxBatch"/>
/// requests in it. A round trip that throws fails each of its requests, and the next one starts with whatever has
/// queued.
/// </summary>
internal abstract class GroupedRoundTrips<TRequest> : IAsyncDisposable where TRequest : StateRequest
{
    /// <summary>Round trips in flight at once: while one runs, the requests that arrive form the next.</summary>
    public const int MaxConcurrentRoundTrips = 1;

    /// <summary>Requests per round trip; more wait for the next one.</summary>
    public const int MaxBatch = 512;

    private readonly bool _oneRequestPerRow;
    private readonly string _operation;
    private readonly ILogger _log;
    private readonly Channel<TRequest> _queue = Channel.CreateUnbounded<TRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _inFlight = new(MaxConcurrentRoundTrips);
    private readonly Task _pump;

    /// <param name="oneRequestPerRow">When set, a second request for a row already in the batch waits for the next one.</param>
    /// <param name="operation">What a round trip does, for the log ("group read").</param>
    protected GroupedRoundTrips(bool oneRequestPerRow, string operation, ILogger log)
    {
        _oneRequestPerRow = oneRequestPerRow;
        _operation = operation;
        _log = log;
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>Queues a request; the caller awaits the request's own completion.</summary>
    protected void Enqueue(TRequest request)
    {
        if (!_queue.Writer.TryWrite(request))
        {
            throw new ObjectDisposedException(GetType().Name);
        }
    }

    /// <summary>Runs one round trip for a non-empty batch and completes each request; throwing fails them all.</summary>
    protected abstract Task RunAsync(List<TRequest> batch);

    private async Task PumpAsync()
    {
        var reader = _queue.Reader;
        var deferred = new Queue<TRequest>();
        while (deferred.Count > 0 || await reader.WaitToReadAsync())
        {
            await _inFlight.WaitAsync();
            // The pump is the channel's only reader, and a deferred request always joins an empty batch: a batch is
            // never empty.
            var batch = new List<TRequest>();
            var rows = _oneRequestPerRow ? new HashSet<(string, string, string)>() : null;
            var later = new List<TRequest>();
            while (batch.Count < MaxBatch && (deferred.TryDequeue(out var request) || reader.TryRead(out request)))
            {
                if (rows is null || rows.Add(request.Row))
                {
                    batch.Add(request);
                }
                else
                {
                    later.Add(request);
                }
            }
            later.ForEach(deferred.Enqueue);
            _ = RunBatchAsync(batch);
        }
    }

    private async Task RunBatchAsync(List<TRequest> batch)
    {
        try
        {
            await RunAsync(batch);
        }
        catch (Exception e)
        {
            _log.LogWarning(e, "A {Operation} of {Count} grain states failed; each request reports the failure.", _operation, batch.Count);
            foreach (var request in batch)
            {
                request.Fail(e);
            }
        }
        finally
        {
            _inFlight.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _pump;
    }
}
