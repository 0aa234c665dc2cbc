using System.Diagnostics;
using Orleans.Runtime.Diagnostics;
using Tekana.Abstractions.Transfers;
using Tekana.Domain;
using Xunit.Abstractions;

namespace Tekana.IntegrationTests.Transfers;

[Collection(ClusterCollection.Name)]
public sealed class RecordLifetimeTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task A_movements_record_goes_once_idle_and_a_replay_still_answers_its_outcome()
    {
        // XAF is used by this test alone.
        var wallet = (await fixture.Client.RegisterAsync("XAF")).WalletId;
        var request = Ledger.Deposit(wallet, 700, "XAF");
        var recordId = fixture.Client.GetGrain<ITransactionRecordGrain>(Ids.TransactionIdFor(request.Scope, request.IdempotencyKey)).GetGrainId();
        var gone = new TaskCompletionSource<DeactivationReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = GrainLifecycle.Watch(e =>
        {
            if (e is GrainLifecycleEvents.Deactivated d && d.GrainContext.GrainId == recordId)
            {
                gone.TrySetResult(d.Reason);
            }
        });

        var first = await fixture.Client.GetGrain<ILedgerGrain>(0).Execute(request);
        var started = Stopwatch.GetTimestamp();
        var reason = await gone.Task.WaitAsync(Patience);
        output.WriteLine($"the record went {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s after its movement: {reason}");

        // An idle record goes within about twice its 15 s limit (the collector looks at it 15 s after it is created, and
        // again 15 s later if it was busy meanwhile), where the waiting above would time out at Orleans' defaults or at
        // the one-minute floor of CollectionAgeLimitAttribute.Minutes.
        Assert.Equal(DeactivationReasonCode.ActivationIdle, reason.ReasonCode);
        var again = await fixture.Client.GetGrain<ILedgerGrain>(0).Execute(request);
        Assert.False(first.Replayed);
        Assert.True(again.Replayed);
        RecordAssert.Same(first.Record, again.Record);
        Assert.Equal(700, await fixture.Client.Balance(wallet));
    }
}
