using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Tekana.Abstractions.Errors;

namespace Tekana.Grains.Hosting;

/// <summary>
/// A gracefully stopping silo's wallets take no more writes, and their transactions settle, before Orleans deactivates
/// them.
/// </summary>
/// <remarks>
/// Orleans deactivates every activation of a stopping silo at once, and a deactivating activation holds back every
/// message it receives until its running requests end. A wallet managing a commit runs that commit as a request, and
/// the commit waits for the wallet's earlier prepared transactions, whose outcomes arrive as messages from their own
/// managers. When two deactivating wallets each wait for the other's outcome, neither ever arrives: both held until the
/// host's 30 s shutdown timeout cancelled the stop, and with them every caller that needed them. That happened in one
/// graceful stop in five to ten under load (three CI runs of the cluster tests; two of ten in-process stops).
/// So the silo first stops taking writes (<see cref="WalletMovingException"/>: writers retry, and reach the wallet's next
/// activation on another silo once this one is gone), waits until the last transaction a wallet accepted has had time
/// to settle, and only then lets Orleans deactivate. A wallet whose own last write has settled leaves as soon as it
/// refuses one, so that a rarely used wallet serves again from another silo within a retry. Reads go on meanwhile. The
/// wait runs in the stage where the silo also tells the cluster it is shutting down; until the other silos have heard,
/// they may still place a new activation here, which refuses its first write and leaves at once.
/// What remains: a transaction whose commit takes longer than <see cref="SettleTime"/> (a storage write slower than
/// 0.5 s) can still meet a deactivating wallet, and is then bounded by the host's shutdown timeout as before.
/// </remarks>
public sealed class SiloDrain(TimeProvider clock, IOptions<TransactionalStateOptions> options, ILogger<SiloDrain> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private long _lastWriteAccepted = long.MinValue;
    private int _draining;
    private long _refused;

    /// <summary>
    /// How long after its acceptance a write's transaction has settled: its locks are broken after the transaction
    /// timeout, an unprepared participant fails the commit after the prepare timeout, and a prepared one asks its manager
    /// for the outcome after the ping period; the rest is room for the commit's storage write.
    /// </summary>
    public TimeSpan SettleTime { get; } = Max(options.Value.LockTimeout, LedgerTransactionAgent.LockTimeout)
        + options.Value.PrepareTimeout + options.Value.RemoteTransactionPingFrequency + TimeSpan.FromMilliseconds(500);

    public bool IsDraining => Volatile.Read(ref _draining) != 0;

    /// <summary>
    /// Called by a wallet before it joins a transaction as a writer: refuses the write once the silo drains, and
    /// otherwise returns the time it noted, for <see cref="HasSettled"/>.
    /// </summary>
    public long AcceptWrite(string walletId)
    {
        // The time is noted first, with a full fence, and the drain sets its flag before it reads the time: either
        // this write sees the flag, or the drain sees its time (or a later one).
        var now = clock.GetTimestamp();
        var last = Volatile.Read(ref _lastWriteAccepted);
        while (now > last && Interlocked.CompareExchange(ref _lastWriteAccepted, now, last) is var seen && seen != last)
        {
            last = seen;
        }
        Interlocked.MemoryBarrier();
        if (IsDraining)
        {
            Interlocked.Increment(ref _refused);
            throw new WalletMovingException(walletId);
        }
        return now;
    }

    /// <summary>Writes refused since the drain began.</summary>
    public long RefusedWrites => Interlocked.Read(ref _refused);

    /// <summary>
    /// Whether a transaction accepted at <paramref name="acceptedAt"/> (<see cref="long.MinValue"/>: none) has settled:
    /// a wallet whose last write has may leave a draining silo at once, without waiting for the silo's other wallets.
    /// </summary>
    public bool HasSettled(long acceptedAt) => acceptedAt == long.MinValue || clock.GetElapsedTime(acceptedAt) >= SettleTime;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloDrain), ServiceLifecycleStage.BecomeActive, _ => Task.CompletedTask, DrainAsync);

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _draining, 1);
        var last = Volatile.Read(ref _lastWriteAccepted);
        var left = last == long.MinValue ? TimeSpan.Zero : SettleTime - clock.GetElapsedTime(last);
        if (left > TimeSpan.Zero)
        {
            logger.LogInformation("Stopping: wallets refuse new writes, and their transactions get {Wait} to settle.", left);
            try
            {
                await Task.Delay(left, clock, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The host gave up waiting: Orleans deactivates now.
            }
        }
        logger.LogInformation("Drained: {Refused} writes refused, retried on other silos; the silo deactivates its grains.", RefusedWrites);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
