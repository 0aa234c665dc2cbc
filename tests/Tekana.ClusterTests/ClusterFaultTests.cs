using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Tekana.ClusterTests;

/// <summary>
/// Faults under load on the real topology: three silo processes and the API on loopback, PostgreSQL underneath.
/// Each test ends with every unknown outcome settled by an idempotent retry and an audit of every balance against
/// what the callers were told.
/// </summary>
[Collection(LocalClusterCollection.Name)]
public sealed class ClusterFaultTests(LocalCluster cluster, ITestOutputHelper output)
{
    private const int Callers = 16;

    /// <summary>
    /// How long after a killed silo is started again the cluster may serve nothing. When the new silo joins (1 s to 5 s
    /// after its start here) it learns that its former incarnation was declared dead, owned no range in any view it
    /// saw, and so Orleans' distributed directory holds registrations in every range the new silo owns under a lease
    /// (30 s less the failure detection time: 6 s here) lest the dead one still runs activations. Only activations wait
    /// on it: while every movement registered a new record grain, callers all waited and traffic resumed 8 s to 11 s
    /// after the start. Records are now written with their commit and the test's wallets are all active, and traffic
    /// went on through the rejoin; the bound stays for a wallet whose first activation falls in a held range.
    /// A graceful stop leaves no lease.
    /// </summary>
    private static readonly TimeSpan RejoinStall = TimeSpan.FromSeconds(14);

    [Fact]
    public async Task A_killed_silo_loses_no_acknowledged_transfer_and_the_cluster_keeps_serving()
    {
        var bank = await Bank.OpenAsync(cluster, customers: 60);

        var traffic = await bank.DriveAsync(Callers, TimeSpan.FromSeconds(44),
            (TimeSpan.FromSeconds(6), () => cluster.KillSilo(2)),
            (TimeSpan.FromSeconds(22), () => cluster.StartSilo(2)));
        output.WriteLine("SIGKILL: " + traffic.Describe());

        // The two remaining silos serve on their own before the restart. The stall after the kill is bounded by
        // the 1 s lock timeout (LedgerTransactionAgent.LockTimeout), after which the locks that dead transactions held
        // are broken, and by the API's 11 s attempt timeout for the calls that were in flight through the dead silo's
        // gateway (the Orleans client does not fail them when the connection drops). With 60 wallets nearly every one
        // is locked by some dead transaction, so the whole load waits. It resumed by 17 s in every observed run; 19 s
        // to 22 s alone was too narrow (one run in ten served nothing in it, then resumed).
        AssertServed(traffic, TimeSpan.FromSeconds(16), TimeSpan.FromSeconds(22));
        // The restarted silo stalls the cluster once more: see RejoinStall.
        AssertServed(traffic, TimeSpan.FromSeconds(22) + RejoinStall, TimeSpan.FromSeconds(44));
        output.WriteLine($"settled {await bank.SettleAsync(TimeSpan.FromSeconds(90))} unknown outcomes by retry");
        await bank.AuditAsync();
    }

    [Fact]
    public async Task A_silo_killed_while_most_payments_go_to_one_merchant_loses_nothing_acknowledged()
    {
        var bank = await Bank.OpenAsync(cluster, customers: 40);
        bank.MerchantShare = 0.8;

        var traffic = await bank.DriveAsync(Callers, TimeSpan.FromSeconds(40),
            (TimeSpan.FromSeconds(6), () => cluster.KillSilo(1)),
            (TimeSpan.FromSeconds(20), () => cluster.StartSilo(1)));
        output.WriteLine("SIGKILL, merchant traffic: " + traffic.Describe());

        AssertServed(traffic, TimeSpan.FromSeconds(20) + RejoinStall, TimeSpan.FromSeconds(40));
        output.WriteLine($"settled {await bank.SettleAsync(TimeSpan.FromSeconds(90))} unknown outcomes by retry");
        await bank.AuditAsync();
        // Payee batching is on by default: the merchant's payments did go through its batches on the surviving silos.
        using var http = new HttpClient();
        long batches = 0;
        foreach (var silo in new[] { 2, 3 })
        {
            var metrics = await http.GetStringAsync(new Uri(cluster.SiloUrl(silo), "/metrics"));
            batches += Regex.Matches(metrics, @"^tekana_movement_batch_size\S*_count(?:\{[^}]*\})? (\d+)", RegexOptions.Multiline)
                .Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        output.WriteLine($"batches run on the surviving silos: {batches}");
        Assert.True(batches > 0, "no movement ran in a batch");
    }

    [Fact]
    public async Task A_gracefully_stopped_silo_fails_no_request_and_a_new_one_takes_load()
    {
        var bank = await Bank.OpenAsync(cluster, customers: 60);

        // Before the silo drained its wallets first (SiloDrain), the cluster served next to nothing from 2 s after
        // SIGTERM until about 30 s later in one such stop in five to ten, and callers were left without an outcome.
        var problem = await GracefulStopAsync(bank, "SIGTERM");
        Assert.True(problem is null, problem);
        await bank.SettleAsync(TimeSpan.FromSeconds(30));
        await bank.AuditAsync();
    }

    /// <summary>One graceful stop of silo 3 and its replacement under traffic: what went wrong, or null.</summary>
    private async Task<string?> GracefulStopAsync(Bank bank, string label)
    {
        // The silo drains for 5 s to 12 s after SIGTERM. Its replacement is asked for at 12 s, as an orchestrator would
        // replace it, and starts once the old process has exited: a new silo on the same address would declare the
        // draining one dead (see deploy/local-cluster.sh). Starting takes 9 s to 17 s here. Traffic runs on long
        // enough for the API to send movements to it once it is back.
        var traffic = await bank.DriveAsync(Callers, TimeSpan.FromSeconds(44),
            (TimeSpan.FromSeconds(6), () => cluster.TerminateSilo(3)),
            (TimeSpan.FromSeconds(12), () => cluster.StartSilo(3)));
        output.WriteLine(label + ": " + traffic.Describe());

        var problems = new List<string>();
        if (traffic.Failed != 0)
        {
            problems.Add($"{traffic.Failed} requests failed");
        }
        problems.AddRange(new[]
        {
            Unserved(traffic, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(24)),
            Unserved(traffic, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(44)),
        }.OfType<string>());
        // The restarted silo hosts grains again (placement spreads new activations over every active silo), and runs
        // movements: the API moves to fresh ledger ids every rebalance period, and binds them over every live gateway.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri(cluster.SiloUrl(3), "/metrics"));
        if (!Regex.IsMatch(metrics, "orleans_catalog_activations\\S* [1-9]"))
        {
            problems.Add("the new silo hosts no activation");
        }
        if (!Regex.IsMatch(metrics, "tekana_movements_total\\{[^}]*outcome=\"completed\"[^}]*\\} [1-9]"))
        {
            problems.Add("the new silo completed no movement");
        }
        return problems.Count == 0 ? null
            : $"{label}: {string.Join("; ", problems)}\n{Explain(traffic)}";
    }

    /// <summary>What to report when nothing completed from <paramref name="from"/> to <paramref name="to"/>, or null.</summary>
    private static string? Unserved(Traffic traffic, TimeSpan from, TimeSpan to) =>
        traffic.CompletedBetween(from, to) > 0 ? null : $"nothing completed from {from.TotalSeconds} s to {to.TotalSeconds} s";

    /// <summary>Fails unless something completed from <paramref name="from"/> to <paramref name="to"/>; the logs are read only then.</summary>
    private void AssertServed(Traffic traffic, TimeSpan from, TimeSpan to)
    {
        if (Unserved(traffic, from, to) is { } problem)
        {
            Assert.Fail($"{problem}\n{Explain(traffic)}");
        }
    }

    private string Explain(Traffic traffic) =>
        $"{traffic.Describe()}\nwarnings and errors since the traffic started:\n{cluster.Warnings(traffic.StartedAt)}";

    [Fact]
    public async Task A_postgres_restart_under_load_heals_by_itself_and_loses_nothing_acknowledged()
    {
        var bank = await Bank.OpenAsync(cluster, customers: 60);

        var traffic = await bank.DriveAsync(Callers, TimeSpan.FromSeconds(36),
            (TimeSpan.FromSeconds(6), () => cluster.RestartPostgres(TimeSpan.FromSeconds(3))));
        output.WriteLine("PostgreSQL restart: " + traffic.Describe());

        // Nobody restarted a silo or the API: the service came back on its own. While PostgreSQL was away, callers were
        // told to retry (503), never that the server failed.
        AssertServed(traffic, TimeSpan.FromSeconds(28), TimeSpan.FromSeconds(36));
        if (bank.ServerErrors != 0)
        {
            Assert.Fail($"{bank.ServerErrors} server errors\n{Explain(traffic)}");
        }
        output.WriteLine($"settled {await bank.SettleAsync(TimeSpan.FromSeconds(90))} unknown outcomes by retry");
        await bank.AuditAsync();
    }
}
