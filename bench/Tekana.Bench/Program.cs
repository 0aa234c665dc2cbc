using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

// tekana-bench setup --api URL --wallets N --out FILE
// tekana-bench run   --api URL --wallets-file FILE --scenario uniform|hot|mixed|deposits --clients C --seconds S --warmup W
// tekana-bench check --api URL --wallets-file FILE
var options = Options.Parse(args);
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
{
    BaseAddress = new Uri(options.Get("api", "http://127.0.0.1:8080")),
    Timeout = TimeSpan.FromSeconds(30),
};
var admin = await Token(http, options.Get("admin-id", "benchadmin"), options.Get("admin-secret", "bench-admin-secret"));
var @operator = await Token(http, options.Get("operator-id", "benchoperator"), options.Get("operator-secret", "bench-operator-secret"));

return options.Command switch
{
    "setup" => await Setup(),
    "run" => await Run(),
    "check" => await Check(),
    _ => throw new ArgumentException("command: setup | run | check"),
};

async Task<int> Setup()
{
    var count = int.Parse(options.Get("wallets", "10000"));
    var wallets = new string[count];
    var stopwatch = Stopwatch.StartNew();
    await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
    {
        var body = new
        {
            fullName = $"Bench Customer {i}",
            email = $"bench{i}@example.com",
            phoneNumber = $"+2507{i:D8}",
            country = "RW",
            currency = "RWF",
            password = "bench-password",
        };
        var registered = await Send(HttpMethod.Post, "/api/v1/customers", body, null, $"bench-register-{i}", ct);
        wallets[i] = registered["wallets"]![0]!["id"]!.GetValue<string>();
        await Send(HttpMethod.Post, "/api/v1/deposits",
            new { toWalletId = wallets[i], amount = 1_000_000, currency = "RWF", externalReference = $"bench-funding-{i}" }, @operator, $"bench-fund-{i}", ct);
    });
    await File.WriteAllLinesAsync(options.Get("out", "wallets.txt"), wallets);
    Console.Error.WriteLine($"setup: {count} customers registered and funded in {stopwatch.Elapsed.TotalSeconds:F0} s");
    return 0;
}

async Task<int> Run()
{
    var wallets = await File.ReadAllLinesAsync(options.Get("wallets-file", "wallets.txt"));
    var scenario = options.Get("scenario", "uniform");
    var clients = int.Parse(options.Get("clients", "64"));
    var seconds = double.Parse(options.Get("seconds", "20"), System.Globalization.CultureInfo.InvariantCulture);
    var warmup = double.Parse(options.Get("warmup", "5"), System.Globalization.CultureInfo.InvariantCulture);
    var merchant = wallets[0];
    // Kept apart by kind: in the mixed scenario one percentile over reads and movements together hides both.
    var latencies = new List<double>[clients];
    var movementLatencies = new List<double>[clients];
    var errors = new Dictionary<string, int>[clients];
    var transfers = new int[clients];
    var started = Stopwatch.StartNew();
    var measureFrom = TimeSpan.FromSeconds(warmup);
    var stopAt = TimeSpan.FromSeconds(warmup + seconds);
    var runId = Guid.NewGuid().ToString("N")[..8];
    var adminAuthorization = "Bearer " + admin;
    var operatorAuthorization = "Bearer " + @operator;

    await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
    {
        latencies[client] = [];
        movementLatencies[client] = [];
        errors[client] = [];
        var random = new Random(client * 7919 + 17);
        var json = new RequestBodies();
        var sink = new byte[16 * 1024];
        // The client's timeout covers a request only until its response's headers arrive; this covers the body too.
        var deadline = new CancellationTokenSource();
        for (var n = 0; started.Elapsed < stopAt; n++)
        {
            var from = wallets[random.Next(wallets.Length)];
            var to = scenario == "hot" ? merchant : wallets[random.Next(wallets.Length)];
            if (from == to)
            {
                continue;
            }
            var key = $"{runId}-{client}-{n}";
            var (method, path, body, authorization, isTransfer) = (scenario, random.Next(10)) switch
            {
                ("deposits", _) => (HttpMethod.Post, "/api/v1/deposits", json.Deposit(to, 100, key), operatorAuthorization, true),
                ("mixed", < 4) => (HttpMethod.Get, $"/api/v1/wallets/{from}", null, adminAuthorization, false),
                ("mixed", < 8) => (HttpMethod.Get, $"/api/v1/wallets/{from}/transactions?limit=20", null, adminAuthorization, false),
                _ => (HttpMethod.Post, "/api/v1/transfers", json.Transfer(from, to, 1 + random.Next(100)), adminAuthorization, true),
            };
            var measured = started.Elapsed >= measureFrom;
            var t0 = Stopwatch.GetTimestamp();
            string? error;
            TimeSpan? backOff = null;
            if (!deadline.TryReset())
            {
                deadline.Dispose();
                deadline = new CancellationTokenSource();
            }
            deadline.CancelAfter(http.Timeout);
            try
            {
                // Headers go in unparsed and bodies as ready bytes: the load generator shares the cores with what it
                // measures, so what it spends per request is taken from the stack under test.
                using var request = new HttpRequestMessage(method, path);
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
                if (body is not null)
                {
                    request.Content = new ByteArrayContent(body);
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
                    request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
                }
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
                if (response.IsSuccessStatusCode)
                {
                    // Read to the end, as a client would, into one buffer per client instead of a copy per response.
                    error = null;
                    await using var content = await response.Content.ReadAsStreamAsync(deadline.Token);
                    while (await content.ReadAsync(sink, deadline.Token) > 0)
                    {
                    }
                }
                else
                {
                    error = await ErrorKind(response, deadline.Token);
                    // A well-behaved client honours an overload answer's Retry-After instead of asking again at once.
                    backOff = response.Headers.RetryAfter?.Delta;
                }
            }
            catch (Exception e)
            {
                error = e.GetType().Name;
            }
            if (measured && started.Elapsed < stopAt)
            {
                var elapsed = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                latencies[client].Add(elapsed);
                if (isTransfer)
                {
                    movementLatencies[client].Add(elapsed);
                }
                if (error is not null)
                {
                    errors[client][error] = errors[client].GetValueOrDefault(error) + 1;
                }
                else if (isTransfer)
                {
                    transfers[client]++;
                }
            }
            await BackOff(backOff);
        }
    }));

    var all = latencies.SelectMany(l => l).Order().ToArray();
    var movements = movementLatencies.SelectMany(l => l).Order().ToArray();
    static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 2);
    var result = new JsonObject
    {
        ["scenario"] = scenario,
        ["clients"] = clients,
        ["seconds"] = seconds,
        ["requests"] = all.Length,
        ["requestsPerSecond"] = Math.Round(all.Length / seconds, 1),
        ["movementsPerSecond"] = Math.Round(transfers.Sum() / seconds, 1),
        ["p50Ms"] = Percentile(all, 0.50),
        ["p95Ms"] = Percentile(all, 0.95),
        ["p99Ms"] = Percentile(all, 0.99),
        ["maxMs"] = Math.Round(all.Length == 0 ? 0 : all[^1], 2),
        ["movementP50Ms"] = Percentile(movements, 0.50),
        ["movementP99Ms"] = Percentile(movements, 0.99),
        ["errors"] = new JsonObject(errors.SelectMany(e => e).GroupBy(e => e.Key)
            .Select(g => KeyValuePair.Create(g.Key, (JsonNode?)g.Sum(e => e.Value)))),
    };
    Console.WriteLine(result.ToJsonString());
    return 0;
}

async Task<int> Check()
{
    var wallets = await File.ReadAllLinesAsync(options.Get("wallets-file", "wallets.txt"));
    long total = 0, negative = 0;
    await Parallel.ForEachAsync(wallets, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, ct) =>
    {
        var balance = (await Send(HttpMethod.Get, $"/api/v1/wallets/{id}", null, admin, null, ct))["balance"]!.GetValue<long>();
        Interlocked.Add(ref total, balance);
        if (balance < 0)
        {
            Interlocked.Increment(ref negative);
        }
    });
    var funding = (await Send(HttpMethod.Get, "/api/v1/wallets/house_funding_RWF", null, admin, null, default))["balance"]!.GetValue<long>();
    var payout = (await Send(HttpMethod.Get, "/api/v1/wallets/house_payout_RWF", null, admin, null, default))["balance"]!.GetValue<long>();
    var conserved = total + funding + payout == 0;
    Console.WriteLine(new JsonObject
    {
        ["customerTotal"] = total, ["funding"] = funding, ["payout"] = payout, ["conserved"] = conserved, ["negativeWallets"] = negative,
    }.ToJsonString());
    return conserved && negative == 0 ? 0 : 1;
}

async Task<JsonNode> Send(HttpMethod method, string path, object? body, string? token, string? key, CancellationToken ct)
{
    for (var attempt = 1; ; attempt++)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }
        using var response = await http.SendAsync(request, ct);
        if (response.IsSuccessStatusCode)
        {
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!;
        }
        // Overload answers (429/503) ask for a retry; the idempotency key makes it safe.
        if ((int)response.StatusCode is 429 or 503 && attempt < 20)
        {
            await Task.Delay(200 * attempt, ct);
            continue;
        }
        throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }
}

static Task BackOff(TimeSpan? wait) => wait is { } delay && delay > TimeSpan.Zero ? Task.Delay(delay) : Task.CompletedTask;

static async Task<string> ErrorKind(HttpResponseMessage response, CancellationToken cancellationToken = default)
{
    try
    {
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var type = problem.GetProperty("type").GetString() ?? "";
        return $"{(int)response.StatusCode} {type[(type.LastIndexOf('/') + 1)..]}";
    }
    catch (Exception)
    {
        return ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

static async Task<string> Token(HttpClient http, string clientId, string secret)
{
    for (var attempt = 1; ; attempt++)
    {
        try
        {
            var response = await http.PostAsync("/api/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = clientId,
                ["client_secret"] = secret,
            }));
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
        }
        catch (HttpRequestException) when (attempt < 60)
        {
            await Task.Delay(1000);
        }
    }
}

internal sealed class Options(string command, Dictionary<string, string> values)
{
    public string Command { get; } = command;

    public string Get(string name, string fallback) => values.GetValueOrDefault(name, fallback);

    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }
        return new Options(args.Length > 0 ? args[0] : "", values);
    }
}

/// <summary>
/// One client's request bodies, written straight to UTF-8 with one reused writer: no reflection over anonymous types and
/// no intermediate strings per request.
/// </summary>
internal sealed class RequestBodies
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private readonly Utf8JsonWriter _writer;

    public RequestBodies() => _writer = new Utf8JsonWriter(_buffer);

    public byte[] Transfer(string from, string to, long amount)
    {
        var w = Start();
        w.WriteString("fromWalletId", from);
        w.WriteString("toWalletId", to);
        w.WriteNumber("amount", amount);
        w.WriteString("currency", "RWF");
        return End();
    }

    public byte[] Deposit(string to, long amount, string externalReference)
    {
        var w = Start();
        w.WriteString("toWalletId", to);
        w.WriteNumber("amount", amount);
        w.WriteString("currency", "RWF");
        w.WriteString("externalReference", externalReference);
        return End();
    }

    private Utf8JsonWriter Start()
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        return _writer;
    }

    private byte[] End()
    {
        _writer.WriteEndObject();
        _writer.Flush();
        return _buffer.WrittenSpan.ToArray();
    }
}
