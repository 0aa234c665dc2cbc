using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Transfers;
using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;
using Tekana.Grains.Transfers;
using Xunit.Abstractions;

namespace Tekana.IntegrationTests.Transfers;

[Collection(ClusterCollection.Name)]
public sealed class PayeeBatchTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task A_batch_pays_the_payee_once_per_movement_refuses_only_payers_short_of_funds_and_replays_what_already_happened()
    {
        // NGN is used by this test alone, so its house wallets see only its movements.
        var (payee, payers, funding) = await PayeeAndPayersAsync("NGN", payers: 12, funded: 9);
        var acknowledged = new ConcurrentBag<TransactionRecord>(funding);
        var earlier = await Client.Execute(Ledger.Transfer(payers[0], payee, 100, "NGN", key: "earlier"));
        acknowledged.Add(earlier);

        // Every payer pays 300 (the last three have nothing); the first payer's request is sent twice, and the earlier
        // movement is asked for again.
        var requests = payers.Select((p, i) => Ledger.Transfer(p, payee, 300, "NGN", key: $"batch-{i}"))
            .Append(Ledger.Transfer(payers[0], payee, 300, "NGN", key: "batch-0"))
            .Append(Ledger.Transfer(payers[0], payee, 100, "NGN", key: "earlier"))
            .ToList();
        var batcher = Client.GetGrain<IPayeeBatchGrain>(payee);
        var runs = await Task.WhenAll(requests.Select(r => batcher.Submit(LedgerGrain.Pending(r, DateTimeOffset.UtcNow))));

        Assert.All(runs, Assert.NotNull);
        var byKey = requests.Zip(runs, (r, run) => (r.IdempotencyKey, Run: run!)).ToList();
        foreach (var (key, run) in byKey.Where(x => x.IdempotencyKey.StartsWith("batch-", StringComparison.Ordinal)))
        {
            var funded = int.Parse(key["batch-".Length..], System.Globalization.CultureInfo.InvariantCulture) < 9;
            Assert.Equal(funded ? MovementStatus.Completed : MovementStatus.Failed, run.Record.Status);
            Assert.Equal(funded ? null : ErrorKind.InsufficientFunds, run.Record.FailureCode);
        }
        // The request sent twice ran once; the copy is answered as a replay.
        var twice = byKey.Where(x => x.IdempotencyKey == "batch-0").Select(x => x.Run).ToList();
        RecordAssert.Same(twice[0].Record, twice[1].Record);
        Assert.Single(twice, r => !r.Replayed);
        var again = byKey.Single(x => x.IdempotencyKey == "earlier").Run;
        Assert.True(again.Replayed);
        RecordAssert.Same(earlier, again.Record);

        foreach (var run in runs.Where(r => !r!.Replayed))
        {
            acknowledged.Add(run!.Record);
        }
        Assert.Equal(100 + 9 * 300, await Client.Balance(payee));
        await LedgerAudit.AssertConsistentAsync(Client, [payee, .. payers], acknowledged.ToList(), "NGN");
        foreach (var refused in byKey.Where(x => x.Run.Record.Status == MovementStatus.Failed))
        {
            RecordAssert.Same(refused.Run.Record, await Client.GetGrain<ILedgerGrain>(0).GetTransaction(refused.Run.Record.Id));
        }
    }

    [Fact]
    public async Task Deposits_batched_from_the_house_shards_never_wait_on_each_other_and_a_conflicting_copy_runs_alone()
    {
        // MWK is used by this test alone. Two payees' batches of deposits run at once, each deposit's leg taking one of
        // the funding wallet's shards: batches that took shards in different orders would deadlock until a lock
        // timeout, and both would fall back to running their movements alone.
        var payees = new[] { (await Client.RegisterAsync("MWK")).WalletId, (await Client.RegisterAsync("MWK")).WalletId };
        var deposits = Enumerable.Range(0, 128).Select(i => Ledger.Deposit(payees[i % 2], 100 + i, "MWK", key: $"deposit-{i}")).ToList();
        // The same key with another amount, sent together with the first: whichever arrives second finds the first in
        // the batcher and is left to run alone.
        deposits.Insert(1, Ledger.Deposit(payees[0], 5, "MWK", key: "deposit-0"));

        using var failures = FailedBatches();
        var runs = await Task.WhenAll(deposits.Select(r =>
            Client.GetGrain<IPayeeBatchGrain>(r.ToWalletId!).Submit(LedgerGrain.Pending(r, DateTimeOffset.UtcNow))));

        var ran = deposits.Zip(runs).Where(x => x.Second is not null).ToList();
        output.WriteLine($"failed batches: {failures}");
        Assert.True(ran.Count == 128, $"{ran.Count} of 128 deposits ran in batches; failed batches: {failures}");
        Assert.All(ran, x => Assert.Equal((MovementStatus.Completed, false), (x.Second!.Record.Status, x.Second.Replayed)));
        var alone = deposits.Zip(runs).Single(x => x.Second is null).First;
        Assert.Equal("deposit-0", alone.IdempotencyKey);
        var refusal = await Assert.ThrowsAsync<LedgerException>(() => Client.Execute(alone));
        Assert.Equal(ErrorKind.IdempotencyConflict, refusal.Code);
        foreach (var payee in payees)
        {
            Assert.Equal(ran.Where(x => x.First.ToWalletId == payee).Sum(x => x.First.Amount), await Client.Balance(payee));
        }
        await LedgerAudit.AssertConsistentAsync(Client, payees, [.. ran.Select(x => x.Second!.Record)], "MWK");
    }

    [Fact]
    public async Task A_batch_holding_a_recorded_key_under_another_body_moves_nothing_and_leaves_each_movement_to_run_alone()
    {
        // ETB is used by this test alone. A key already recorded, sent again with another amount among fresh
        // movements: the batch that holds it must move nothing, and its movements then run alone.
        var (payee, payers, acknowledged) = await PayeeAndPayersAsync("ETB", payers: 4, funded: 4);
        acknowledged.Add(await Client.Execute(Ledger.Transfer(payers[0], payee, 100, "ETB", key: "recorded")));

        var requests = payers.Select((p, i) => Ledger.Transfer(p, payee, 200, "ETB", key: $"fresh-{i}"))
            .Append(Ledger.Transfer(payers[0], payee, 150, "ETB", key: "recorded"))
            .ToList();
        var batcher = Client.GetGrain<IPayeeBatchGrain>(payee);
        using var failures = FailedBatches();
        var runs = await Task.WhenAll(requests.Select(r => batcher.Submit(LedgerGrain.Pending(r, DateTimeOffset.UtcNow))));

        // Whichever batch held the conflicting copy failed whole, and is counted; the others may have run.
        Assert.Null(runs[^1]);
        Assert.Contains(nameof(ErrorKind.IdempotencyConflict), failures.Tags);
        Assert.All(runs, run => Assert.True(run is null || run.Record.Status == MovementStatus.Completed));
        for (var i = 0; i < requests.Count - 1; i++)
        {
            acknowledged.Add(runs[i]?.Record ?? await Client.Execute(requests[i]));
        }
        var conflict = await Assert.ThrowsAsync<LedgerException>(() => Client.Execute(requests[^1]));
        Assert.Equal(ErrorKind.IdempotencyConflict, conflict.Code);
        // Each payer paid each of its movements once: nothing moved in the failed batch stayed.
        Assert.Equal(100 + 4 * 200, await Client.Balance(payee));
        Assert.Equal(new long[] { 700, 800, 800, 800 }, await Task.WhenAll(payers.Select(p => Client.Balance(p))));
        await LedgerAudit.AssertConsistentAsync(Client, [payee, .. payers], acknowledged, "ETB");
    }

    [Fact]
    public async Task A_batch_the_payee_refuses_moves_nothing_and_leaves_each_movement_to_run_alone()
    {
        var payee = (await Client.RegisterAsync("ZAR")).WalletId;
        var payer = (await Client.RegisterAsync("ZAR")).WalletId;
        await Client.Execute(Ledger.Deposit(payer, 1_000, "ZAR"));
        await Client.GetGrain<Tekana.Abstractions.Wallets.IWalletGrain>(payee).Freeze();

        var requests = Enumerable.Range(0, 4).Select(i => Ledger.Transfer(payer, payee, 10, "ZAR")).ToList();
        var batcher = Client.GetGrain<IPayeeBatchGrain>(payee);
        using var failures = FailedBatches();
        var runs = await Task.WhenAll(requests.Select(r => batcher.Submit(LedgerGrain.Pending(r, DateTimeOffset.UtcNow))));

        Assert.All(runs, Assert.Null);
        output.WriteLine($"failed batches: {failures}");
        Assert.Contains(nameof(ErrorKind.WalletFrozen), failures.Tags);
        Assert.Equal(1_000, await Client.Balance(payer));
        foreach (var request in requests)
        {
            var alone = await Client.Execute(request);
            Assert.Equal((MovementStatus.Failed, ErrorKind.WalletFrozen), (alone.Status, alone.FailureCode));
        }
    }

    [Fact]
    public async Task Many_callers_paying_one_merchant_at_once_conserve_money_and_number_its_entries_without_gaps()
    {
        // CDF is used by this test alone. Busy enough for the ledger to batch the merchant's payments.
        var merchant = (await Client.RegisterAsync("CDF")).WalletId;
        var payers = new ConcurrentBag<string>();
        await Concurrently.ForEachAsync(Enumerable.Range(0, 40), 16, async _ => payers.Add((await Client.RegisterAsync("CDF")).WalletId));
        var pool = payers.ToList();
        var acknowledged = new ConcurrentBag<TransactionRecord>();
        await Concurrently.ForEachAsync(pool.Take(30), 16, async p => acknowledged.Add(await Client.Execute(Ledger.Deposit(p, 2_000, "CDF"))));

        using var batches = new Measurements<int>("tekana.movement.batch_size");
        await Concurrently.ForEachAsync(Enumerable.Range(0, 600), 48, async i =>
            acknowledged.Add(await Client.Execute(Ledger.Transfer(pool[i % pool.Count], merchant, 1 + i % 97, "CDF"))));
        var batched = batches.Recorded.Sum(b => b.Value);
        output.WriteLine($"{batched} of 600 movements ran in batches");
        Assert.True(batched > 0, "no movement went through the merchant's batches");

        var refused = acknowledged.Where(r => r.Status == MovementStatus.Failed).ToList();
        output.WriteLine($"completed {acknowledged.Count - refused.Count}, refused {refused.Count}");
        Assert.All(refused, r => Assert.Equal(ErrorKind.InsufficientFunds, r.FailureCode));
        Assert.Contains(refused, r => pool.IndexOf(r.FromWalletId) >= 30);
        await LedgerAudit.AssertConsistentAsync(Client, [merchant, .. pool], acknowledged.ToList(), "CDF");

        // Every leg's event reaches the read model once: the merchant's entries 1..N, no gap, no duplicate.
        var entries = (await Client.Wallet(merchant)).Sequence;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await RowsAsync() < entries && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        Assert.Equal((entries, entries, entries), (await RowsAsync(),
            await TestDatabase.ScalarAsync<long>(fixture.ConnectionString, $"SELECT count(DISTINCT sequence) FROM ledger_entries WHERE wallet_id = '{merchant}'"),
            await TestDatabase.ScalarAsync<long>(fixture.ConnectionString, $"SELECT coalesce(max(sequence), 0) FROM ledger_entries WHERE wallet_id = '{merchant}'")));

        Task<long> RowsAsync() =>
            TestDatabase.ScalarAsync<long>(fixture.ConnectionString, $"SELECT count(*) FROM ledger_entries WHERE wallet_id = '{merchant}'");
    }

    /// <summary>Failed batches counted while it listens, by reason.</summary>
    private static Measurements<long> FailedBatches() => new("tekana.movement.batches_failed", tag: "reason");

    /// <summary>
    /// What one of Tekana's instruments records while it listens, from every process of the test cluster (silos and
    /// client share this process): each value, with the value of <paramref name="tag"/> if one is named.
    /// </summary>
    private sealed class Measurements<T> : IDisposable where T : struct
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(T Value, string? Tag)> _recorded = new();

        public Measurements(string instrument, string? tag = null)
        {
            _listener.InstrumentPublished = (published, listener) =>
            {
                if (published.Name == instrument)
                {
                    listener.EnableMeasurementEvents(published);
                }
            };
            _listener.SetMeasurementEventCallback<T>((_, value, tags, _) =>
            {
                string? tagged = null;
                foreach (var t in tags)
                {
                    if (t.Key == tag)
                    {
                        tagged = t.Value as string ?? "";
                    }
                }
                _recorded.Enqueue((value, tagged));
            });
            _listener.Start();
        }

        public IReadOnlyCollection<(T Value, string? Tag)> Recorded => _recorded;

        public IReadOnlyList<string> Tags => [.. _recorded.Select(r => r.Tag ?? "")];

        public override string ToString() => _recorded.IsEmpty ? "none" : string.Join(", ", Tags);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>A payee and its payers, the first <paramref name="funded"/> of them given 1,000 each by deposit.</summary>
    private async Task<(string Payee, List<string> Payers, List<TransactionRecord> Funding)> PayeeAndPayersAsync(string currency, int payers, int funded)
    {
        var payee = (await Client.RegisterAsync(currency)).WalletId;
        var wallets = new List<string>();
        for (var i = 0; i < payers; i++)
        {
            wallets.Add((await Client.RegisterAsync(currency)).WalletId);
        }
        var funding = new List<TransactionRecord>();
        foreach (var payer in wallets.Take(funded))
        {
            funding.Add(await Client.Execute(Ledger.Deposit(payer, 1_000, currency)));
        }
        return (payee, wallets, funding);
    }
}
