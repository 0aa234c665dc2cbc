using Tekana.Abstractions.Transfers;
using Tekana.Domain.Transfers;
using Tekana.Domain.Wallets;

namespace Tekana.IntegrationTests.Infrastructure;

/// <summary>
/// Checks the money invariants over a set of wallets after a run: conservation per currency (house wallets
/// included), no negative customer balance, and every acknowledged movement present exactly once, which shows as
/// each wallet's entry sequence being exactly 1..N over the acknowledged legs, without gaps or repeats.
/// </summary>
public static class LedgerAudit
{
    public static async Task AssertConsistentAsync(
        IClusterClient client, IReadOnlyCollection<string> customerWallets, IReadOnlyCollection<TransactionRecord> acknowledged, params string[] currencies)
    {
        var views = await Task.WhenAll(customerWallets.Select(client.Wallet));
        foreach (var currency in currencies)
        {
            var customerTotal = views.Where(v => v.Currency == currency).Sum(v => v.Balance);
            var house = await client.Balance(WalletIds.Funding(currency)) + await client.Balance(WalletIds.Payout(currency));
            Assert.True(customerTotal + house == 0, $"{currency}: customers hold {customerTotal}, house wallets {house}: money was created or destroyed.");
        }
        Assert.All(views, v => Assert.True(v.Balance >= 0, $"{v.Id} is negative: {v.Balance}"));

        var completed = acknowledged.Where(r => r.Status == MovementStatus.Completed).ToList();
        Assert.Equal(completed.Count, completed.Select(r => r.Id).Distinct().Count());
        var legs = completed.Select(r => (Wallet: r.FromWalletId, r.FromSequence))
            .Concat(completed.Select(r => (Wallet: r.ToWalletId, Sequence: r.ToSequence)))
            .Where(l => !WalletIds.TryParseHouse(l.Wallet, out _, out _))
            .ToLookup(l => l.Wallet, l => l.Item2);
        foreach (var view in views)
        {
            var sequences = legs[view.Id].Order().ToList();
            Assert.Equal(Enumerable.Range(1, (int)view.Sequence).Select(i => (long)i), sequences);
        }

        var ledger = client.GetGrain<ILedgerGrain>(0);
        foreach (var record in completed.Take(200))
        {
            var stored = await ledger.GetTransaction(record.Id);
            RecordAssert.Same(record, stored);
        }
    }
}
