using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Tekana.ClusterTests;

/// <summary>
/// Customers with funded wallets, traffic over HTTP, and the client's own account of every transfer it sent: what was
/// acknowledged, what was refused, and what is still unknown (a failed or timed-out request). Settling retries the
/// unknown ones under their idempotency keys; the audit then compares every balance with the client's account.
/// </summary>
public sealed class Bank
{
    private const long Funding = 1_000_000;

    private readonly HttpClient _admin;
    private readonly HttpClient _operator;
    private readonly List<string> _wallets = [];
    private readonly ConcurrentDictionary<string, Transfer> _transfers = new();

    private Bank(HttpClient admin, HttpClient @operator)
    {
        _admin = admin;
        _operator = @operator;
    }

    public static async Task<Bank> OpenAsync(LocalCluster cluster, int customers)
    {
        var bank = new Bank(await Client(cluster, "clusteradmin"), await Client(cluster, "clusteroperator"));
        var anonymous = new HttpClient { BaseAddress = cluster.ApiUrl };
        await Parallel.ForEachAsync(Enumerable.Range(0, customers), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, ct) =>
        {
            // A test before this one may have restarted PostgreSQL: a pooled connection it broke fails its first use
            // with 503 storage-unavailable, which a client repeats after Retry-After.
            var registered = await WhileUnavailable(() =>
            {
                var unique = Guid.NewGuid().ToString("N")[..12];
                var digits = string.Concat(unique.Select(c => (char)('0' + c % 10)))[..9];
                return anonymous.PostAsJsonAsync("/api/v1/customers", new
                {
                    fullName = "Cluster " + unique,
                    email = $"c{unique}@example.com",
                    phoneNumber = "+2507" + digits,
                    country = "RW",
                    currency = "RWF",
                    password = "cluster test password",
                }, ct);
            });
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
            var wallet = (await registered.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("wallets")[0].GetProperty("id").GetString()!;
            var deposit = await WhileUnavailable(() => Send(bank._operator, "/api/v1/deposits", "fund-" + wallet,
                new { toWalletId = wallet, amount = Funding, currency = "RWF", externalReference = "fund-" + wallet }));
            Assert.Equal(HttpStatusCode.Created, deposit.StatusCode);
            lock (bank._wallets)
            {
                bank._wallets.Add(wallet);
            }
        });
        return bank;
    }

    /// <summary>The share of transfers paid to one merchant (the first customer) instead of a random customer.</summary>
    public double MerchantShare { get; set; }

    /// <summary>Answers other than success, a refusal or 503 (a retryable overload or outage): server errors.</summary>
    public int ServerErrors => _serverErrors;

    private int _serverErrors;

    /// <summary>Sends transfers from <paramref name="clients"/> concurrent callers for <paramref name="duration"/>.</summary>
    public async Task<Traffic> DriveAsync(int clients, TimeSpan duration, params (TimeSpan At, Func<Task> Fault)[] faults)
    {
        var traffic = new Traffic(DateTimeOffset.UtcNow);
        var clock = Stopwatch.StartNew();
        var faulting = Task.WhenAll(faults.Select(async f =>
        {
            await Task.Delay(f.At);
            traffic.Mark(clock.Elapsed, "fault");
            await f.Fault();
            traffic.Mark(clock.Elapsed, "fault done");
        }));
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                // A merchant only receives.
                var from = _wallets[Random.Shared.Next(MerchantShare > 0 ? 1 : 0, _wallets.Count)];
                var to = _wallets[0];
                if (Random.Shared.NextDouble() >= MerchantShare)
                {
                    do
                    {
                        to = _wallets[Random.Shared.Next(_wallets.Count)];
                    }
                    while (to == from);
                }
                var transfer = new Transfer(Guid.NewGuid().ToString("N"), from, to, Random.Shared.Next(1, 500));
                _transfers[transfer.Key] = transfer;
                var sent = clock.Elapsed;
                var outcome = await AttemptAsync(transfer);
                traffic.Record(sent, clock.Elapsed, outcome);
                if (outcome is Outcome.Unknown)
                {
                    await Task.Delay(200); // a failing cluster is not hammered by the same caller
                }
            }
        }));
        await faulting;
        return traffic;
    }

    /// <summary>Retries every transfer whose outcome the client does not know, under its key, until each one is settled.</summary>
    public async Task<int> SettleAsync(TimeSpan patience)
    {
        var deadline = Stopwatch.StartNew();
        var unknown = _transfers.Values.Where(t => t.Outcome is Outcome.Unknown).ToList();
        var count = unknown.Count;
        while (unknown.Count > 0)
        {
            Assert.True(deadline.Elapsed < patience, $"{unknown.Count} transfers still unsettled after {patience}");
            foreach (var transfer in unknown)
            {
                await AttemptAsync(transfer);
            }
            unknown = [.. unknown.Where(t => t.Outcome is Outcome.Unknown)];
            if (unknown.Count > 0)
            {
                await Task.Delay(1000);
            }
        }
        return count;
    }

    /// <summary>
    /// Every balance equals its funding plus what the client was told arrived minus what it was told left: nothing
    /// acknowledged is lost, nothing is applied twice, no balance is negative, and money is conserved.
    /// </summary>
    public async Task AuditAsync()
    {
        var expected = _wallets.ToDictionary(w => w, _ => Funding);
        var completed = _transfers.Values.Where(t => t.Outcome is Outcome.Completed).ToList();
        foreach (var t in completed)
        {
            expected[t.From] -= t.Amount;
            expected[t.To] += t.Amount;
        }
        long total = 0;
        var mismatches = new List<string>();
        foreach (var wallet in _wallets)
        {
            var json = await GetJson($"/api/v1/wallets/{wallet}");
            var balance = json.GetProperty("balance").GetInt64();
            Assert.True(balance >= 0, $"{wallet} is negative: {balance}");
            if (balance != expected[wallet])
            {
                mismatches.Add(Mismatch(wallet, balance, expected[wallet], completed));
            }
            total += balance;
        }
        // Every wallet that is off, and whether money left the system or only moved: a lost leg shows as a total short
        // by its amount, a leg applied twice on both sides as a total that still adds up.
        Assert.True(mismatches.Count == 0,
            $"{mismatches.Count} wallets off; all balances total {total}, funded {Funding * _wallets.Count}:\n{string.Join("\n", mismatches)}");
        Assert.Equal(Funding * _wallets.Count, total);
        // Each acknowledged transfer is recorded once, as completed, under the id it was acknowledged with.
        foreach (var t in completed.OrderBy(_ => Random.Shared.Next()).Take(200))
        {
            var record = await GetJson($"/api/v1/transactions/{t.TransactionId}");
            Assert.Equal("completed", record.GetProperty("status").GetString());
            Assert.Equal(t.Amount, record.GetProperty("amount").GetInt64());
        }
    }

    /// <summary>A wallet whose balance is off: what the client was told about it, and the transfers of the difference.</summary>
    private string Mismatch(string wallet, long balance, long expected, List<Transfer> completed)
    {
        var difference = Math.Abs(expected - balance);
        var candidates = _transfers.Values.Where(t => (t.From == wallet || t.To == wallet) && t.Amount == difference)
            .Select(t => $"{t.TransactionId} {t.Outcome} {(t.From == wallet ? "out" : "in")} after {t.Attempts} request(s)");
        return $"{wallet} holds {balance}, expected {expected}: {completed.Count(t => t.From == wallet)} completed transfers out, " +
            $"{completed.Count(t => t.To == wallet)} in; transfers of {difference} that touch it: {string.Join(", ", candidates)}";
    }

    private async Task<Outcome> AttemptAsync(Transfer transfer)
    {
        Interlocked.Increment(ref transfer.Attempts);
        try
        {
            using var response = await Send(_admin, "/api/v1/transfers", transfer.Key,
                new { fromWalletId = transfer.From, toWalletId = transfer.To, amount = transfer.Amount, currency = "RWF" });
            if ((int)response.StatusCode >= 500 && response.StatusCode != HttpStatusCode.ServiceUnavailable)
            {
                Interlocked.Increment(ref _serverErrors);
            }
            if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.UnprocessableEntity)
            {
                var json = await response.Content.ReadFromJsonAsync<JsonElement>();
                transfer.TransactionId = json.TryGetProperty("id", out var id) ? id.GetString() : json.GetProperty("transactionId").GetString();
                transfer.Outcome = response.StatusCode is HttpStatusCode.Created ? Outcome.Completed : Outcome.Refused;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // Unknown: the transfer may or may not have happened; settling finds out.
        }
        return transfer.Outcome;
    }

    private async Task<JsonElement> GetJson(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await _admin.GetAsync(path);
                response.EnsureSuccessStatusCode();
                return await response.Content.ReadFromJsonAsync<JsonElement>();
            }
            catch (Exception) when (attempt < 10)
            {
                await Task.Delay(1000);
            }
        }
    }

    private static async Task<HttpResponseMessage> WhileUnavailable(Func<Task<HttpResponseMessage>> send)
    {
        for (var attempt = 1; ; attempt++)
        {
            var response = await send();
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 10)
            {
                return response;
            }
            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
            response.Dispose();
            await Task.Delay(wait);
        }
    }

    private static Task<HttpResponseMessage> Send(HttpClient http, string path, string key, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return http.SendAsync(request);
    }

    private static async Task<HttpClient> Client(LocalCluster cluster, string clientId)
    {
        var http = new HttpClient { BaseAddress = cluster.ApiUrl, Timeout = TimeSpan.FromSeconds(30) };
        var response = await http.PostAsync("/api/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = cluster.AdminSecret,
        }));
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private sealed class Transfer(string key, string from, string to, long amount)
    {
        public string Key { get; } = key;
        public string From { get; } = from;
        public string To { get; } = to;
        public long Amount { get; } = amount;
        public string? TransactionId { get; set; }
        public Outcome Outcome { get; set; } = Outcome.Unknown;
        /// <summary>Requests sent for it: more than one when an outcome was unknown and the transfer was retried.</summary>
        public int Attempts;
    }
}

public enum Outcome
{
    Unknown,
    Completed,
    Refused,
}

/// <summary>What the callers saw, second by second.</summary>
public sealed class Traffic(DateTimeOffset startedAt)
{
    private readonly ConcurrentBag<(TimeSpan Sent, TimeSpan Done, Outcome Outcome)> _requests = [];
    private readonly ConcurrentQueue<(TimeSpan At, string What)> _marks = new();

    /// <summary>When the traffic started, to line the processes' logs up with its seconds.</summary>
    public DateTimeOffset StartedAt { get; } = startedAt;

    public void Record(TimeSpan sent, TimeSpan done, Outcome outcome) => _requests.Add((sent, done, outcome));

    public void Mark(TimeSpan at, string what) => _marks.Enqueue((at, what));

    public int Completed => _requests.Count(r => r.Outcome is Outcome.Completed);

    public int Failed => _requests.Count(r => r.Outcome is Outcome.Unknown);

    /// <summary>From the first failed request's start to the last one's end.</summary>
    public TimeSpan ErrorWindow => Failed == 0 ? TimeSpan.Zero
        : _requests.Where(r => r.Outcome is Outcome.Unknown).Max(r => r.Done) - _requests.Where(r => r.Outcome is Outcome.Unknown).Min(r => r.Sent);

    /// <summary>Completed transfers per second, by the second they completed in.</summary>
    public int[] PerSecond()
    {
        var seconds = (int)Math.Ceiling(_requests.Max(r => r.Done).TotalSeconds);
        var counts = new int[seconds];
        foreach (var r in _requests.Where(r => r.Outcome is Outcome.Completed))
        {
            counts[Math.Min(seconds - 1, (int)r.Done.TotalSeconds)]++;
        }
        return counts;
    }

    /// <summary>The longest run of whole seconds in which no transfer completed.</summary>
    public int LongestStall()
    {
        int longest = 0, current = 0;
        foreach (var count in PerSecond())
        {
            current = count == 0 ? current + 1 : 0;
            longest = Math.Max(longest, current);
        }
        return longest;
    }

    public int CompletedBetween(TimeSpan from, TimeSpan to) => _requests.Count(r => r.Outcome is Outcome.Completed && r.Done >= from && r.Done < to);

    public string Describe() =>
        $"completed {Completed}, failed {Failed}, error window {ErrorWindow.TotalSeconds:F1} s, longest stall {LongestStall()} s; " +
        $"marks: {string.Join(", ", _marks.Select(m => $"{m.What} at {m.At.TotalSeconds:F1} s"))}; " +
        $"completed per second: {string.Join(' ', PerSecond())}";
}
