using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Orleans.Transactions;
using Tekana.Abstractions.Wallets;
using Tekana.Grains.Hosting;

namespace Tekana.IntegrationTests.Wallets;

/// <summary>
/// What a wallet's part in a movement leaves behind once the movement is over. Its own cluster: the test watches the
/// transactional calls its wallets answer.
/// </summary>
public sealed class TransactionContextTests : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;

    /// <summary>A transactional call a wallet received, and the transaction context it ran in, held weakly.</summary>
    private sealed class Call(string method, TransactionInfo context)
    {
        public string Method { get; } = method;
        public WeakReference Context { get; } = new(context);
        public volatile bool Answered;
    }

    private readonly List<Call> _calls = [];

    public async Task InitializeAsync()
    {
        var connectionString = await TestDatabase.CreateAsync("txcontext");
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddTekanaGrains();
            silo.AddTekanaPostgresStorage(connectionString);
            silo.AddTekanaEvents(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(), connectionString);
            silo.Services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1_000);
            silo.AddIncomingGrainCallFilter(async context =>
            {
                var joined = context.Grain is IWalletGrain && context.Request is TransactionRequestBase { TransactionInfo: { } info }
                    ? Watch(context.InterfaceMethod?.Name, info)
                    : null;
                await context.Invoke();
                // A transaction the wallet started itself (a read outside any transaction) comes back with its answer.
                var started = joined is null && context.Grain is IWalletGrain && context.Response is TransactionResponse { TransactionInfo: { } own }
                    ? Watch(context.InterfaceMethod?.Name, own)
                    : null;
                (joined ?? started)?.Answered = true;
            });
        });
        builder.ConfigureClient(client => client.UseTransactions());
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    private Call Watch(string? method, TransactionInfo context)
    {
        var call = new Call(method ?? "?", context);
        lock (_calls)
        {
            _calls.Add(call);
        }
        return call;
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    /// <summary>
    /// Orleans' transaction lock schedules a check at the lock's deadline (a second on) whenever a transaction enters
    /// it. Had that check captured the wallet call's execution context, it would keep the call's transaction context,
    /// and everything it references, alive until then: long enough, under load, for the garbage collector to copy it
    /// into an older generation, once per leg.
    /// </summary>
    [Fact]
    public async Task A_wallet_keeps_no_transaction_context_alive_once_its_movements_are_over()
    {
        var client = _cluster.Client;
        var (_, payer) = await client.RegisterAsync();
        var (_, payee) = await client.RegisterAsync();
        await client.Execute(Ledger.Deposit(payer, 1_000));
        for (var i = 0; i < 5; i++)
        {
            await client.Execute(Ledger.Transfer(payer, payee, 10));
        }
        Assert.Equal((950L, 50L), (await client.Balance(payer), await client.Balance(payee)));

        // Inside the lock's one-second deadline, and after the last commit and its confirmations. Only calls answered
        // before the collection count: a wallet may still be answering one of its own (its outbox's recovery read).
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        List<Call> answered;
        lock (_calls)
        {
            answered = _calls.Where(c => c.Answered).ToList();
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // Two legs per transfer; which wallet manages a transaction (its leg ends "AndSettle") depends on who joined last.
        Assert.True(answered.Count(c => c.Method is "Debit" or "Credit" or "DebitAndSettle" or "CreditAndSettle") >= 10,
            $"the wallets answered {string.Join(", ", answered.Select(c => c.Method))}");
        var alive = answered.Where(c => c.Context.IsAlive).ToList();
        Assert.True(alive.Count == 0, $"{alive.Count} of {answered.Count} transaction contexts outlived their calls: " +
            string.Join(", ", alive.Select(c => c.Method)));
    }
}
