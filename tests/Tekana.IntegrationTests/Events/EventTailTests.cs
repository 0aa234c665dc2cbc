using System.Text.Json;
using Tekana.Cli.Events;

namespace Tekana.IntegrationTests.Events;

[Collection(EventsCollection.Name)]
public sealed class EventTailTests(EventsFixture fixture)
{
    [Fact]
    public async Task The_tail_command_prints_each_event_once_and_summarises_money_moved()
    {
        var (_, wallet) = await fixture.Client.RegisterAsync("GHS");
        var deposit = Ledger.Deposit(wallet, 4_321, "GHS");
        await fixture.Client.Execute(deposit);
        fixture.Kafka.Read("tekana.transactions", r => r.Any(e => e.Subject == wallet), TimeSpan.FromSeconds(60));

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var lines = new StopWhenSeen(wallet, stop);
        EventTail.Run(new TailOptions(fixture.Kafka.BootstrapServers, ["tekana.transactions"], FromBeginning: true, Summary: false, Max: null), lines, stop.Token);
        using var summary = new StringWriter();
        using var stopSummary = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        EventTail.Run(new TailOptions(fixture.Kafka.BootstrapServers, ["tekana.transactions"], FromBeginning: true, Summary: true, Max: null), summary, stopSummary.Token);

        var events = lines.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(events.Count, events.Select(e => e.GetProperty("id").GetString()).Distinct().Count());
        Assert.Contains(events, e => e.GetProperty("subject").GetString() == wallet && e.GetProperty("data").GetProperty("amount").GetInt64() == 4_321);
        Assert.Matches(@"tekana\.deposit\.completed\s+\d+", summary.ToString());
        Assert.Matches(@"credited GHS \(minor units\)\s+4321", summary.ToString());
    }

    /// <summary>Collects the printed lines and stops the tail once the wallet's event was printed.</summary>
    private sealed class StopWhenSeen(string needle, CancellationTokenSource stop) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(needle, StringComparison.Ordinal) == true)
            {
                stop.Cancel();
            }
        }
    }
}
