using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Tekana.Abstractions.Errors;
using Tekana.Grains.Hosting;

namespace Tekana.IntegrationTests.Cluster;

/// <summary>The drain of a stopping silo on its own, on a fake clock (the cluster-level behaviour is in SiloRestartTests).</summary>
public sealed class SiloDrainTests
{
    private readonly FakeTimeProvider _clock = new();
    private readonly SiloDrain _drain;
    private readonly RecordingLifecycle _lifecycle = new();

    public SiloDrainTests()
    {
        _drain = new SiloDrain(_clock, Options.Create(new TransactionalStateOptions
        {
            LockTimeout = TimeSpan.FromSeconds(1),
            PrepareTimeout = TimeSpan.FromSeconds(0.75),
            RemoteTransactionPingFrequency = TimeSpan.FromSeconds(0.75),
        }), NullLogger<SiloDrain>.Instance);
        _drain.Participate(_lifecycle);
    }

    [Fact]
    public void It_waits_out_the_transaction_timeouts_and_stops_before_Orleans_deactivates_grains()
    {
        Assert.Equal(TimeSpan.FromSeconds(3), _drain.SettleTime);
        var (stage, _) = Assert.Single(_lifecycle.Observers);
        Assert.True(stage > ServiceLifecycleStage.GrainDeactivation, "the drain must stop before the grains deactivate");
        Assert.Equal(ServiceLifecycleStage.BecomeActive, stage);
    }

    [Fact]
    public async Task A_silo_that_accepted_no_write_stops_at_once()
    {
        await StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(_drain.IsDraining);
        Assert.Throws<WalletMovingException>(() => _drain.AcceptWrite("wal_x"));
    }

    [Fact]
    public async Task Writes_are_refused_from_the_start_and_the_stop_waits_until_the_last_accepted_one_has_settled()
    {
        var a = _drain.AcceptWrite("wal_a");
        _clock.Advance(TimeSpan.FromSeconds(1));
        var b = _drain.AcceptWrite("wal_b");
        Assert.True(_drain.HasSettled(long.MinValue));
        Assert.False(_drain.HasSettled(a));

        var stopping = StopAsync(CancellationToken.None);
        var refused = Assert.Throws<WalletMovingException>(() => _drain.AcceptWrite("wal_c"));
        Assert.Contains("wal_c", refused.Message, StringComparison.Ordinal);
        Assert.Same(refused, WalletMovingException.Find(new AggregateException(new InvalidOperationException("wrapped", refused))));

        _clock.Advance(_drain.SettleTime - TimeSpan.FromMilliseconds(1));
        await Task.Delay(50);
        Assert.False(stopping.IsCompleted, "stopped before wal_b's transaction had time to settle");
        // wal_a's write has settled: that wallet may leave before the silo's drain ends.
        Assert.True(_drain.HasSettled(a));
        Assert.False(_drain.HasSettled(b));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await stopping.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(_drain.HasSettled(b));
    }

    [Fact]
    public async Task A_host_that_gives_up_waiting_ends_the_drain()
    {
        _drain.AcceptWrite("wal_a");
        using var giveUp = new CancellationTokenSource();
        var stopping = StopAsync(giveUp.Token);
        await Task.Delay(50);
        Assert.False(stopping.IsCompleted);
        await giveUp.CancelAsync();
        await stopping.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Writers_retry_a_moving_wallet_until_it_takes_the_write_and_nothing_else()
    {
        var calls = 0;
        var result = await WalletMovingException.RetryWhileMoving(() => ++calls < 3
            ? throw new Orleans.Transactions.OrleansTransactionAbortedException("tx", new WalletMovingException("wal_a"))
            : Task.FromResult(calls));
        Assert.Equal(3, result);

        calls = 0;
        await Assert.ThrowsAsync<InvalidOperationException>(() => WalletMovingException.RetryWhileMoving(() =>
        {
            calls++;
            throw new InvalidOperationException("not a move");
        }));
        Assert.Equal(1, calls);
    }

    private Task StopAsync(CancellationToken cancellationToken) => _lifecycle.Observers.Single().Observer.OnStop(cancellationToken);

    private sealed class RecordingLifecycle : ISiloLifecycle
    {
        public List<(int Stage, ILifecycleObserver Observer)> Observers { get; } = [];

        public int HighestCompletedStage => ServiceLifecycleStage.Active;

        public int LowestStoppedStage => ServiceLifecycleStage.Last;

        public IDisposable Subscribe(string observerName, int stage, ILifecycleObserver observer)
        {
            Observers.Add((stage, observer));
            return new CancellationTokenSource();
        }
    }
}
