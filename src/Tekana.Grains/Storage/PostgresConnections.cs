using System.Data.Common;
using Npgsql;

namespace Tekana.Grains.Storage;

/// <summary>
/// The connection settings every PostgreSQL connection of the product gets unless its connection string sets them:
/// <list type="bullet">
/// <item><c>Max Auto Prepare</c>: the ledger sends the same few statements thousands of times a second. Unprepared,
/// PostgreSQL planned the group-commit statement on every call, and planning cost more than executing (0.31 against
/// 0.21 ms per call, measured with pg_stat_statements).</item>
/// <item><c>No Reset On Close</c>: with prepared statements, resetting a pooled connection takes three statements
/// (unlock advisory locks, reset the session and its settings) on every return to the pool. The product keeps no
/// session state on its connections (no <c>SET</c>, advisory locks, <c>LISTEN</c> or temporary tables), so there is
/// nothing to reset.</item>
/// <item><c>Maximum Pool Size</c>: a silo has two pools (its own data source and the ADO.NET providers'), and
/// Npgsql's default of 100 each let one silo take 200 connections, more than PostgreSQL's default limit, when the
/// outbox sweeper woke thousands of wallets at start-up; other processes were then refused. Group commit and the
/// grouped reads of grain state have sessions of their own (<see cref="CreateCustomPlanDataSource"/>); 32 serve the
/// history and read-model writes.</item>
/// </list>
/// </summary>
public static class PostgresConnections
{
    public const int MaxAutoPrepare = 64;

    public const int MaxPoolSize = 32;

    public static string WithDefaults(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var keys = given.Keys.Cast<string>().Select(k => k.Replace(" ", "", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var tuned = new NpgsqlConnectionStringBuilder(connectionString);
        if (!keys.Contains("MaxAutoPrepare"))
        {
            tuned.MaxAutoPrepare = MaxAutoPrepare;
        }
        if (!keys.Contains("NoResetOnClose"))
        {
            tuned.NoResetOnClose = true;
        }
        if (!keys.Contains("MaximumPoolSize") && !keys.Contains("MaxPoolSize"))
        {
            tuned.MaxPoolSize = MaxPoolSize;
        }
        return tuned.ConnectionString;
    }

    public static NpgsqlDataSource CreateDataSource(string connectionString) =>
        new NpgsqlDataSourceBuilder(WithDefaults(connectionString)).Build();

    /// <summary>The key of the silo's <see cref="CreateCustomPlanDataSource"/>, which group commit and group reads share.</summary>
    public const string CustomPlans = "tekana-custom-plans";

    /// <summary>
    /// Sessions that plan every statement for its own arguments (<c>plan_cache_mode=force_custom_plan</c>): those of the
    /// grain state storages (group commit, group reads, and the ADO.NET provider's customers and identity claims) and
    /// of the silo's clustering, which shares the provider's pool.
    /// </summary>
    /// <remarks>
    /// PostgreSQL plans a prepared statement for its arguments five times, then may settle on a generic plan costed
    /// with the table's statistics of that moment, and keeps it until the table is analysed again. On a fresh database
    /// the group commit settled while the state table held a few rows, hashed the whole table into every join as it
    /// grew (a commit of 78 writes took 21 ms instead of under 1) and movements ran at half their rate until autovacuum
    /// analysed the table (measured with pg_stat_statements). A primary-key lookup prepared against an empty table
    /// settles on a sequential scan the same way (1.4 ms per lookup at 6,000 rows against 0.05, reproduced in psql). A
    /// custom plan sees each table's current size; planning costs a fraction of a millisecond per statement.
    /// </remarks>
    public static string WithCustomPlans(string connectionString)
    {
        var settings = new NpgsqlConnectionStringBuilder(WithDefaults(connectionString));
        if (settings.Options?.Contains("plan_cache_mode", StringComparison.Ordinal) != true)
        {
            settings.Options = string.Join(' ', new[] { settings.Options, "-c plan_cache_mode=force_custom_plan" }.Where(o => !string.IsNullOrWhiteSpace(o)));
        }
        return settings.ConnectionString;
    }

    /// <summary>A data source of <see cref="WithCustomPlans"/> sessions, at most <paramref name="maxConnections"/>.</summary>
    public static NpgsqlDataSource CreateCustomPlanDataSource(string connectionString, int maxConnections) =>
        new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(WithCustomPlans(connectionString)) { MaxPoolSize = maxConnections }.ConnectionString).Build();
}
