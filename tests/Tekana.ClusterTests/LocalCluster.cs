using System.Diagnostics;

namespace Tekana.ClusterTests;

/// <summary>The topology of deploy/local-cluster.sh, started once for the cluster tests and driven through that script.</summary>
public sealed class LocalCluster : IAsyncLifetime
{
    public const int Silos = 3;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "tekana-cluster-" + Guid.NewGuid().ToString("N")[..8]);

    public static string Root { get; } = FindRoot();

    public Uri ApiUrl { get; private set; } = null!;

    public string AdminSecret { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Run("start", _dir, Silos.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var settings = File.ReadAllLines(Path.Combine(_dir, "cluster.sh"))
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        ApiUrl = new Uri(settings["API_URL"]);
        AdminSecret = settings["ADMIN_SECRET"];
    }

    public async Task DisposeAsync() => await Run("stop", _dir);

    public Task KillSilo(int silo) => Run("kill-silo", _dir, silo.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public Task TerminateSilo(int silo) => Run("term-silo", _dir, silo.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public Task StartSilo(int silo) => Run("start-silo", _dir, silo.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public Task RestartPostgres(TimeSpan down) => Run("restart-postgres", _dir, ((int)down.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture));

    public Uri SiloUrl(int silo) => new($"http://127.0.0.1:{PortBase + 300 + silo}");

    public string SiloLog(int silo) => File.ReadAllText(Path.Combine(_dir, $"silo-{silo}.log"));

    /// <summary>
    /// The warnings and errors every process logged since <paramref name="since"/>, alike ones folded into one line with
    /// their count and the second of the first, for a test to show what the cluster did when it fails.
    /// </summary>
    public string Warnings(DateTimeOffset since)
    {
        var groups = new Dictionary<string, (string File, double First, int Count, string Text)>();
        foreach (var path in Directory.GetFiles(_dir, "*.log").Order(StringComparer.Ordinal))
        {
            var file = Path.GetFileNameWithoutExtension(path);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                if (!line.StartsWith('{') || !(line.Contains("\"LogLevel\":\"Warning\"", StringComparison.Ordinal)
                    || line.Contains("\"LogLevel\":\"Error\"", StringComparison.Ordinal) || line.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal)))
                {
                    continue;
                }
                using var entry = System.Text.Json.JsonDocument.Parse(line);
                var root = entry.RootElement;
                var at = root.GetProperty("Timestamp").GetDateTimeOffset();
                if (at < since)
                {
                    continue;
                }
                var text = $"{root.GetProperty("LogLevel").GetString()} {root.GetProperty("Category").GetString()}: {root.GetProperty("Message").GetString()}";
                text = text.Length > 240 ? text[..240] : text;
                var key = file + " " + System.Text.RegularExpressions.Regex.Replace(text, "[0-9a-fA-F]{2,}|[0-9]", "#");
                groups[key] = groups.TryGetValue(key, out var seen)
                    ? seen with { Count = seen.Count + 1 }
                    : (file, (at - since).TotalSeconds, 1, text.ReplaceLineEndings(" "));
            }
        }
        var lines = groups.Values.OrderBy(g => g.First).Take(80)
            .Select(g => $"  {g.File} at {g.First:F1} s, {g.Count}x: {g.Text}").ToList();
        return lines.Count == 0 ? "  no warnings" : string.Join('\n', lines);
    }

    // Below Linux's ephemeral range (32768 up): a listener there can find its port taken by some outgoing connection.
    private static int PortBase { get; } = 20000 + Random.Shared.Next(0, 24) * 500;

    private async Task Run(params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(Root, "deploy", "local-cluster.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["TEKANA_KEEP_LOGS"] = Path.Combine(AppContext.BaseDirectory, "cluster-logs");
        start.Environment["TEKANA_PORT_BASE"] = PortBase.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Registration is setup here, not what is measured: a cheaper password hash keeps it short.
        start.Environment["TEKANA_PASSWORD_ITERATIONS"] = "1000";
        // A silo that joins gets the API's movements within seconds, not the production minute.
        start.Environment["TEKANA_CLIENT_REBALANCE"] = "00:00:03";
        if (File.Exists(Path.Combine(Root, "src", "Tekana.Silo", "bin", "Release", "net10.0", "Tekana.Silo.dll")) &&
            File.Exists(Path.Combine(Root, "src", "Tekana.Api", "bin", "Release", "net10.0", "Tekana.Api.dll")))
        {
            start.Environment["TEKANA_NO_BUILD"] = "1"; // the test script built the solution already
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"local-cluster.sh {string.Join(' ', args)} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        }
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Tekana.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Tekana.sln not found above the test binaries.");
    }
}

[CollectionDefinition(Name)]
public sealed class LocalClusterCollection : ICollectionFixture<LocalCluster>
{
    public const string Name = "local-cluster";
}
