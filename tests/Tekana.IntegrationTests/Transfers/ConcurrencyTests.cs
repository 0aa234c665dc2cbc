using System.Collections.Concurrent;
using System.Diagnostics;
using Tekana.Abstractions.Transfers;
using Tekana.Domain.Transfers;
using Xunit.Abstractions;

namespace Tekana.IntegrationTests.Transfers;

[Collection(ClusterCollection.Name)]
public sealed class ConcurrencyTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task Thousands_of_concurrent_transfers_conserve_money_and_record_each_movement_once()
    {
        // KES and UGX are used by this test alone, so their house wallets see only its movements.
        const int walletsPerCurrency = 120, transfers = 3_000, callers = 48;
        var kes = await RegisterMany("KES", walletsPerCurrency);
        var ugx = await RegisterMany("UGX", walletsPerCurrency / 2);
        var acknowledged = new ConcurrentBag<TransactionRecord>();
        await Concurrently.ForEachAsync(kes.Concat(ugx), 16, async wallet =>
            acknowledged.Add(await Client.Execute(Ledger.Deposit(wallet, Random.Shared.Next(500, 5_000), kes.Contains(wallet) ? "KES" : "UGX"))));

        // A few hot wallets take a large share of the traffic, as a merchant would.
        var hot = kes.Take(3).ToArray();
        var stopwatch = Stopwatch.StartNew();
        await Concurrently.ForEachAsync(Enumerable.Range(0, transfers), callers, async i =>
        {
            var (pool, currency) = i % 4 == 0 ? (ugx, "UGX") : (kes, "KES");
            var from = pool[Random.Shared.Next(pool.Count)];
            var to = i % 5 == 0 && currency == "KES" ? hot[Random.Shared.Next(hot.Length)] : pool[Random.Shared.Next(pool.Count)];
            if (from == to)
            {
                return;
            }
            var request = i % 50 == 0
                ? Ledger.Withdrawal(from, Random.Shared.Next(1, 300), currency)
                : Ledger.Transfer(from, to, Random.Shared.Next(1, 1_500), currency);
            acknowledged.Add(await Client.Execute(request));
        });
        stopwatch.Stop();

        var completed = acknowledged.Count(r => r.Status == MovementStatus.Completed);
        output.WriteLine($"{transfers} movements from {callers} callers in {stopwatch.Elapsed.TotalSeconds:F1} s " +
            $"({transfers / stopwatch.Elapsed.TotalSeconds:F0}/s); completed {completed}, " +
            $"refused {acknowledged.Count(r => r.Status == MovementStatus.Failed)}");
        Assert.True(completed > transfers / 2, "most movements should complete");
        await LedgerAudit.AssertConsistentAsync(Client, kes.Concat(ugx).ToList(), acknowledged.ToList(), "KES", "UGX");
    }

    [Fact]
    public async Task Movements_crossing_the_same_wallets_in_opposite_directions_never_wait_out_a_lock_timeout()
    {
        // Orleans ends a cycle of transactions that wait for each other's locks only when a lock times out (after
        // LedgerTransactionAgent.LockTimeout), and every movement queued on those wallets waits with them. Payments
        // both ways between two customers, and deposits and withdrawals on both at the same moment, are what such
        // cycles are made of when legs lock their wallets in any other order than one. BIF is used by this test alone.
        var ada = (await Client.RegisterAsync("BIF")).WalletId;
        var bob = (await Client.RegisterAsync("BIF")).WalletId;
        var acknowledged = new ConcurrentBag<TransactionRecord>
        {
            await Client.Execute(Ledger.Deposit(ada, 100_000, "BIF")),
            await Client.Execute(Ledger.Deposit(bob, 100_000, "BIF")),
        };
        var slowest = TimeSpan.Zero;
        await Concurrently.ForEachAsync(Enumerable.Range(0, 240), 32, async i =>
        {
            var (one, other) = i % 2 == 0 ? (ada, bob) : (bob, ada);
            var request = (i / 2 % 3) switch
            {
                0 => Ledger.Transfer(one, other, 7, "BIF"),
                1 => Ledger.Deposit(one, 5, "BIF"),
                _ => Ledger.Withdrawal(one, 3, "BIF"),
            };
            var started = Stopwatch.GetTimestamp();
            acknowledged.Add(await Client.Execute(request));
            var elapsed = Stopwatch.GetElapsedTime(started);
            lock (acknowledged)
            {
                slowest = elapsed > slowest ? elapsed : slowest;
            }
        });

        output.WriteLine($"slowest movement: {slowest.TotalMilliseconds:F0} ms");
        Assert.All(acknowledged, r => Assert.Equal(MovementStatus.Completed, r.Status));
        Assert.True(slowest < Tekana.Grains.Hosting.LedgerTransactionAgent.LockTimeout,
            $"a movement took {slowest.TotalSeconds:F1} s: it waited for a lock that a cycle of transactions held");
        await LedgerAudit.AssertConsistentAsync(Client, [ada, bob], acknowledged.ToList(), "BIF");
    }

    private async Task<List<string>> RegisterMany(string currency, int count)
    {
        var wallets = new ConcurrentBag<string>();
        await Concurrently.ForEachAsync(Enumerable.Range(0, count), 16, async _ => wallets.Add((await Client.RegisterAsync(currency)).WalletId));
        return wallets.ToList();
    }
}
