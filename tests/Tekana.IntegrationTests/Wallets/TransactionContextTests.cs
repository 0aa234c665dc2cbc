using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Orleans.Transactions;
using Tekana.Abstractions.Wallets;
using Tekana.Grains.Hosting;

namespace Tekana.IntegrationTests.Wallets;

/// <summary>
/// What a wallet's part in a movement leaves behind once the movement is over. Its own cluster: the test watches every
/// transactional call its wallets receive.
/// </summary>
public sealed class TransactionContextTests : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;

    /// <summary>The transaction contexts the wallets' transactional calls ran in, as the wallets received them, by method.</summary>
    private readonly List<(string Method, WeakReference Context)> _contexts = [];

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
            silo.AddIncomingGrainCallFilter(context =>
            {
                if (context.Grain is IWalletGrain && context.Request is TransactionRequestBase { TransactionInfo: { } info })
                {
                    lock (_contexts)
                    {
                        _contexts.Add((context.InterfaceMethod?.Name ?? "?", new WeakReference(info)));
                    }
                }
                return context.Invoke();
            });
        });
        builder.ConfigureClient(client => client.UseTransactions());
        _cluster = builder.Build();
        await _cluster.DeployAsync();
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

        // Well inside the lock's one-second deadline, and long after the last commit and its confirmations.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        int seen, alive;
        string detail;
        lock (_contexts)
        {
            seen = _contexts.Count;
            alive = _contexts.Count(c => c.Context.IsAlive);
            detail = string.Join(", ", _contexts.Select(c => $"{c.Method} {(c.Context.IsAlive ? "alive" : "collected")}"));
        }
        Assert.True(seen >= 12, $"the wallets received {seen} transactional calls");
        Assert.True(alive == 0, $"{alive} of {seen} transaction contexts outlived their movements: {detail}");
    }
}
