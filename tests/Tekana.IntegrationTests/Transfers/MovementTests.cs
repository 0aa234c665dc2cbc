using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Transactions;
using Tekana.Abstractions.Errors;
using Tekana.Abstractions.Transfers;
using Tekana.Abstractions.Wallets;
using Tekana.Domain.Errors;
using Tekana.Domain.Transfers;
using Tekana.Domain.Wallets;
using Tekana.Grains.Storage;
using Tekana.Grains.Transfers;

namespace Tekana.IntegrationTests.Transfers;

[Collection(ClusterCollection.Name)]
public sealed class MovementTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task Deposit_moves_money_from_the_funding_house_wallet_to_the_customer()
    {
        var (_, wallet) = await Client.RegisterAsync();
        var fundingBefore = await Client.Balance(WalletIds.Funding("RWF"));

        var record = await Client.Execute(Ledger.Deposit(wallet, 5_000));

        Assert.Equal(MovementStatus.Completed, record.Status);
        Assert.Equal(MovementType.Deposit, record.Type);
        Assert.Equal(WalletIds.Funding("RWF"), record.FromWalletId);
        Assert.Equal(wallet, record.ToWalletId);
        Assert.Equal(5_000, record.ToBalanceAfter);
        Assert.Equal(1, record.ToSequence);
        Assert.StartsWith("psp-", record.ExternalReference);
        Assert.Equal(5_000, await Client.Balance(wallet));
        Assert.Equal(fundingBefore - 5_000, await Client.Balance(WalletIds.Funding("RWF")));
    }

    [Fact]
    public async Task House_legs_spread_over_the_house_wallets_shards_and_the_house_balance_is_their_sum()
    {
        // GBP is used by this test alone, so its house wallets see only these movements.
        var (_, wallet) = await Client.RegisterAsync("GBP");
        var deposits = await Task.WhenAll(Enumerable.Range(1, 40).Select(i => Client.Execute(Ledger.Deposit(wallet, i, "GBP"))));
        var withdrawals = await Task.WhenAll(Enumerable.Range(1, 10).Select(i => Client.Execute(Ledger.Withdrawal(wallet, i, "GBP"))));

        Assert.All(deposits.Concat(withdrawals), r => Assert.Equal(MovementStatus.Completed, r.Status));
        Assert.All(deposits, r => Assert.Equal(WalletIds.Funding("GBP"), r.FromWalletId));
        Assert.All(withdrawals, r => Assert.Equal(WalletIds.Payout("GBP"), r.ToWalletId));
        foreach (var (house, expected) in new[] { (WalletIds.Funding("GBP"), -820L), (WalletIds.Payout("GBP"), 55L) })
        {
            var shards = await Task.WhenAll(WalletIds.ShardsOf(house).Select(Client.Wallet));
            Assert.True(shards.Count(s => s.Balance != 0) > 1, $"{house}: every leg went to one shard");
            Assert.Equal(expected, shards.Sum(s => s.Balance));
            var view = await Client.Wallet(house);
            Assert.Equal(expected, view.Balance);
            Assert.Equal(shards.Sum(s => s.Sequence), view.Sequence);
        }
        Assert.Equal(820 - 55, await Client.Balance(wallet));
    }

    [Fact]
    public async Task Transfer_moves_money_between_customers_and_numbers_each_wallets_entries()
    {
        var (_, alice) = await Client.RegisterAsync();
        var (_, bob) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 1_000));

        var first = await Client.Execute(Ledger.Transfer(alice, bob, 300));
        var second = await Client.Execute(Ledger.Transfer(alice, bob, 200));

        Assert.Equal(MovementStatus.Completed, second.Status);
        Assert.Equal((2L, 3L), (first.FromSequence, second.FromSequence));
        Assert.Equal((1L, 2L), (first.ToSequence, second.ToSequence));
        Assert.Equal(500, second.FromBalanceAfter);
        Assert.Equal(500, second.ToBalanceAfter);
        Assert.Equal(500, await Client.Balance(alice));
        Assert.Equal(500, await Client.Balance(bob));
    }

    [Fact]
    public async Task Withdrawal_moves_money_to_the_payout_house_wallet()
    {
        var (_, wallet) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(wallet, 800));
        var payoutBefore = await Client.Balance(WalletIds.Payout("RWF"));

        var record = await Client.Execute(Ledger.Withdrawal(wallet, 300));

        Assert.Equal(MovementStatus.Completed, record.Status);
        Assert.Equal(WalletIds.Payout("RWF"), record.ToWalletId);
        Assert.Equal(500, await Client.Balance(wallet));
        Assert.Equal(payoutBefore + 300, await Client.Balance(WalletIds.Payout("RWF")));
    }

    [Fact]
    public async Task Transfer_with_insufficient_funds_is_refused_moves_nothing_and_replays_the_refusal()
    {
        var (_, alice) = await Client.RegisterAsync();
        var (_, bob) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 100));
        var request = Ledger.Transfer(alice, bob, 101);

        var refused = await Client.Execute(request);
        await Client.Execute(Ledger.Deposit(alice, 1_000));
        var replay = await Client.Execute(request);

        Assert.Equal(MovementStatus.Failed, refused.Status);
        Assert.Equal(ErrorKind.InsufficientFunds, refused.FailureCode);
        RecordAssert.Same(refused, replay);
        Assert.Equal(1_100, await Client.Balance(alice));
        Assert.Equal(0, await Client.Balance(bob));
        Assert.Equal(2, (await Client.Wallet(alice)).Sequence);
    }

    [Fact]
    public async Task Replaying_an_idempotency_key_returns_the_original_record_and_moves_money_once()
    {
        var (_, alice) = await Client.RegisterAsync();
        var (_, bob) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 1_000));
        var request = Ledger.Transfer(alice, bob, 250);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Client.Execute(request)));
        var later = await Client.Execute(request);

        Assert.All(results, r => RecordAssert.Same(results[0], r));
        RecordAssert.Same(results[0], later);
        Assert.Equal(750, await Client.Balance(alice));
        Assert.Equal(250, await Client.Balance(bob));
        RecordAssert.Same(results[0], await Client.GetGrain<ILedgerGrain>(0).GetTransaction(results[0].Id));
    }

    [Fact]
    public async Task A_record_kept_by_a_movement_record_grain_before_records_moved_still_answers_its_key()
    {
        var (_, alice) = await Client.RegisterAsync();
        var (_, bob) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 1_000));
        var request = Ledger.Transfer(alice, bob, 300);
        var kept = LedgerGrain.Pending(request, DateTimeOffset.UtcNow.AddDays(-1)) with { FromSequence = 9, ToSequence = 4, FromBalanceAfter = 1, ToBalanceAfter = 2 };

        // The row the record grain's transactional state left: the committed state of grain "transactionrecord/<id>".
        var silo = fixture.Cluster.GetActiveSilos().First().ServiceProvider;
        var payload = silo.GetRequiredService<Serializer>().SerializeToArray(new TransactionalStateRecord<TransactionRecordState>
        {
            CommittedState = new TransactionRecordState { Record = kept },
            CommittedSequenceId = 1,
        });
        await using (var database = NpgsqlDataSource.Create(fixture.ConnectionString))
        await using (var insert = database.CreateCommand(
            "INSERT INTO tekana_transactional_state (service_id, grain_type, grain_key, state_name, version, payload) VALUES ($1, 'transactionrecord', $2, 'record', 1, $3)"))
        {
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = silo.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = kept.Id });
            insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = payload });
            await insert.ExecuteNonQueryAsync();
        }
        // As when the silos start on a database that holds records of the earlier form.
        await EverySiloLooksForEarlierRecords();

        var replay = await Client.GetGrain<ILedgerGrain>(0).Execute(request);
        Assert.True(replay.Replayed);
        RecordAssert.Same(kept, replay.Record);
        RecordAssert.Same(kept, await Client.GetGrain<ILedgerGrain>(0).GetTransaction(kept.Id));
        Assert.Equal(1_000, await Client.Balance(alice));
        Assert.Equal(0, await Client.Balance(bob));

        // The cluster's database again holds none, as the other tests expect (MovementRecordsTests).
        await using (var database = NpgsqlDataSource.Create(fixture.ConnectionString))
        await using (var delete = database.CreateCommand($"DELETE FROM tekana_transactional_state WHERE grain_type = '{MovementRecords.EarlierGrainType}'"))
        {
            await delete.ExecuteNonQueryAsync();
        }
        await EverySiloLooksForEarlierRecords();
    }

    private async Task EverySiloLooksForEarlierRecords()
    {
        foreach (var silo in fixture.Cluster.GetActiveSilos())
        {
            await silo.ServiceProvider.GetRequiredService<MovementRecords>().LookForEarlierRecordsAsync();
        }
    }

    [Theory]
    [InlineData(251)]   // a request that could run
    [InlineData(5_000)] // one whose legs would be refused: the key's conflict still comes first
    public async Task The_same_key_with_a_different_request_is_an_idempotency_conflict(long amount)
    {
        var (_, alice) = await Client.RegisterAsync();
        var (_, bob) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 1_000));
        var original = Ledger.Transfer(alice, bob, 250);
        await Client.Execute(original);

        var conflict = await Refusal.Of(() => Client.Execute(original with { Amount = amount }));

        Assert.Equal(ErrorKind.IdempotencyConflict, conflict.Code);
        Assert.Equal(750, await Client.Balance(alice));
        Assert.Equal(250, await Client.Balance(bob));
    }

    [Fact]
    public async Task A_replay_returns_the_original_record_even_when_its_legs_would_now_be_refused()
    {
        var (_, alice) = await Client.RegisterAsync();
        var (_, bob) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 400));
        var request = Ledger.Transfer(alice, bob, 400);
        var original = await Client.Execute(request);
        await Client.GetGrain<IWalletGrain>(bob).Freeze();

        // Alice has nothing left and Bob's wallet is frozen: running the legs again would refuse twice over.
        var replay = await Client.Execute(request);

        Assert.Equal(MovementStatus.Completed, original.Status);
        RecordAssert.Same(original, replay);
        Assert.Equal(0, await Client.Balance(alice));
        Assert.Equal(400, await Client.Balance(bob));
        Assert.Equal((2L, 1L), ((await Client.Wallet(alice)).Sequence, (await Client.Wallet(bob)).Sequence));
    }

    [Fact]
    public async Task The_same_key_in_another_scope_is_another_movement()
    {
        var (_, alice) = await Client.RegisterAsync();
        var (_, bob) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 1_000, key: "shared-key"));

        var second = await Client.Execute(Ledger.Deposit(bob, 1_000, key: "shared-key") with { Scope = "operator:other" });

        Assert.Equal(MovementStatus.Completed, second.Status);
        Assert.Equal(1_000, await Client.Balance(bob));
    }

    [Fact]
    public async Task Currency_mismatch_is_refused()
    {
        var (_, rwf) = await Client.RegisterAsync("RWF");
        var (_, usd) = await Client.RegisterAsync("USD");
        await Client.Execute(Ledger.Deposit(rwf, 1_000));

        var deposit = await Client.Execute(Ledger.Deposit(usd, 1_000, "RWF"));
        var transfer = await Client.Execute(Ledger.Transfer(rwf, usd, 10, "RWF"));

        Assert.Equal(ErrorKind.CurrencyMismatch, deposit.FailureCode);
        Assert.Equal(ErrorKind.CurrencyMismatch, transfer.FailureCode);
        Assert.Equal(1_000, await Client.Balance(rwf));
        Assert.Equal(0, await Client.Balance(usd));
    }

    [Fact]
    public async Task Movements_to_an_unknown_wallet_are_refused_as_not_found()
    {
        var (_, alice) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(alice, 1_000));
        var nowhere = WalletIds.ForCustomer(Domain.Ids.NewCustomerId(), "RWF");

        var record = await Client.Execute(Ledger.Transfer(alice, nowhere, 10));

        Assert.Equal(ErrorKind.WalletNotFound, record.FailureCode);
        Assert.Equal(1_000, await Client.Balance(alice));
    }

    [Fact]
    public async Task A_customer_can_only_move_money_out_of_their_own_wallet()
    {
        var (alice, aliceWallet) = await Client.RegisterAsync();
        var (_, bobWallet) = await Client.RegisterAsync();
        await Client.Execute(Ledger.Deposit(bobWallet, 1_000));

        var record = await Client.Execute(Ledger.Transfer(bobWallet, aliceWallet, 10, initiatedBy: alice.Id));

        Assert.Equal(ErrorKind.WalletNotFound, record.FailureCode);
        Assert.Equal(1_000, await Client.Balance(bobWallet));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(long.MaxValue)]
    public async Task Invalid_amounts_are_rejected_before_anything_is_recorded(long amount)
    {
        var (_, alice) = await Client.RegisterAsync();
        var request = Ledger.Deposit(alice, amount);

        var error = await Refusal.Of(() => Client.Execute(request));

        Assert.Equal(ErrorKind.Validation, error.Code);
        Assert.Contains("amount", error.Fields!.Keys);
        var id = Domain.Ids.TransactionIdFor(request.Scope, request.IdempotencyKey);
        var missing = await Refusal.Of(() => Client.GetGrain<ILedgerGrain>(0).GetTransaction(id));
        Assert.Equal(ErrorKind.TransactionNotFound, missing.Code);
    }

    [Fact]
    public async Task A_transfer_to_the_same_wallet_is_rejected()
    {
        var (_, alice) = await Client.RegisterAsync();

        var error = await Refusal.Of(() => Client.Execute(Ledger.Transfer(alice, alice, 1)));

        Assert.Equal(ErrorKind.SameWallet, error.Code);
    }

    [Fact]
    public async Task A_movement_record_carries_description_metadata_and_creation_time()
    {
        var (_, alice) = await Client.RegisterAsync();
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var request = Ledger.Deposit(alice, 42) with
        {
            Description = "salary",
            Metadata = new Dictionary<string, string> { ["invoice"] = "INV-7", ["channel"] = "mobile" },
        };

        var record = await Client.Execute(request);
        var fetched = await Client.GetGrain<ILedgerGrain>(0).GetTransaction(record.Id);

        Assert.Equal("salary", fetched.Description);
        Assert.Equal("INV-7", fetched.Metadata["invoice"]);
        Assert.Equal(request.IdempotencyKey, fetched.IdempotencyKey);
        Assert.InRange(fetched.CreatedAt, before, DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.StartsWith("txn_", fetched.Id);
    }
}
