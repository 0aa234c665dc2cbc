using System.Collections.Concurrent;
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
        var payee = (await Client.RegisterAsync("NGN")).WalletId;
        var payers = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            payers.Add((await Client.RegisterAsync("NGN")).WalletId);
        }
        var acknowledged = new ConcurrentBag<TransactionRecord>();
        foreach (var payer in payers.Take(9))
        {
            acknowledged.Add(await Client.Execute(Ledger.Deposit(payer, 1_000, "NGN")));
        }
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
        var twice = byKey.Where(x => x.IdempotencyKey == "batch-0").Select(x => x.Run.Record).ToList();
        RecordAssert.Same(twice[0], twice[1]);
        var again = byKey.Single(x => x.IdempotencyKey == "earlier").Run;
        Assert.True(again.Replayed);
        RecordAssert.Same(earlier, again.Record);

        foreach (var run in runs.DistinctBy(r => r!.Record.Id))
        {
            if (!run!.Replayed)
            {
                acknowledged.Add(run.Record);
            }
        }
        Assert.Equal(100 + 9 * 300, await Client.Balance(payee));
        await LedgerAudit.AssertConsistentAsync(Client, [payee, .. payers], acknowledged.ToList(), "NGN");
        foreach (var refused in byKey.Where(x => x.Run.Record.Status == MovementStatus.Failed))
        {
            RecordAssert.Same(refused.Run.Record, await Client.GetGrain<ILedgerGrain>(0).GetTransaction(refused.Run.Record.Id));
        }
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
        var runs = await Task.WhenAll(requests.Select(r => batcher.Submit(LedgerGrain.Pending(r, DateTimeOffset.UtcNow))));

        Assert.All(runs, Assert.Null);
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

        await Concurrently.ForEachAsync(Enumerable.Range(0, 600), 48, async i =>
            acknowledged.Add(await Client.Execute(Ledger.Transfer(pool[i % pool.Count], merchant, 1 + i % 97, "CDF"))));

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
}
