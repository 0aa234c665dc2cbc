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
/// grouped reads of grain state have sessions of their own (<see cref="CreateCustomPlanDataSource"/>,
/// <see cref="CreatePointLookupDataSource"/>); 32 serve the history and read-model writes.</item>
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

    /// <summary>The key of the silo's <see cref="CreateCustomPlanDataSource"/>, which group commit uses.</summary>
    public const string CustomPlans = "tekana-custom-plans";

    /// <summary>The key of the silo's <see cref="CreatePointLookupDataSource"/>, which group reads use.</summary>
    public const string PointLookups = "tekana-point-lookups";

    /// <summary>
    /// Sessions that plan every statement for its own arguments (<c>plan_cache_mode=force_custom_plan</c>): those of
    /// the ADO.NET provider's grain storage (customers and identity claims), of the silo's clustering, which shares the
    /// provider's pool, and of group commit, whose one statement calls a function that plans its own statements
    /// (<c>tekana_group_commit</c>, sql/040_transactional_state.sql).
    /// </summary>
    /// <remarks>
    /// PostgreSQL plans a prepared statement for its arguments five times, then may settle on a generic plan costed
    /// with the table's statistics of that moment, and keeps it until the table is analysed again. On a fresh database
    /// a set-based group commit statement settled while the state table held a few rows, hashed the whole table into
    /// every join as it grew (a commit of 78 writes took 21 ms instead of under 1) and movements ran at half their rate
    /// until autovacuum analysed the table (measured with pg_stat_statements). A primary-key lookup prepared against an
    /// empty table settles on a sequential scan the same way (1.4 ms per lookup at 6,000 rows against 0.05, reproduced
    /// in psql). A custom plan sees each table's current size; planning costs a fraction of a millisecond per statement.
    /// </remarks>
    public static string WithCustomPlans(string connectionString) =>
        WithPlanning(connectionString, "-c plan_cache_mode=force_custom_plan");

    /// <summary>
    /// Sessions for statements that find rows by their whole primary key (group reads): a statement is planned once,
    /// when it is prepared, and keeps that plan (<c>plan_cache_mode=force_generic_plan</c>), with sequential scans
    /// ruled out (<c>enable_seqscan=off</c>).
    /// </summary>
    /// <remarks>
    /// Planned for its arguments on every call (<see cref="WithCustomPlans"/>), the read of a movement's record spent
    /// twice as long in the planner as in the executor (1.09 s against 0.50 s for the 31,941 reads of one benchmark run,
    /// pg_stat_statements). A plan kept from a nearly empty table would scan the table as it grows; without sequential
    /// scans, every plan left for a whole-key lookup goes through the key, at any table size.
    /// </remarks>
    public static string WithPointLookupPlans(string connectionString) =>
        WithPlanning(connectionString, "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off");

    /// <summary>A data source of <see cref="WithCustomPlans"/> sessions, at most <paramref name="maxConnections"/>.</summary>
    public static NpgsqlDataSource CreateCustomPlanDataSource(string connectionString, int maxConnections) =>
        Pool(WithCustomPlans(connectionString), maxConnections);

    /// <summary>A data source of <see cref="WithPointLookupPlans"/> sessions, at most <paramref name="maxConnections"/>.</summary>
    public static NpgsqlDataSource CreatePointLookupDataSource(string connectionString, int maxConnections) =>
        Pool(WithPointLookupPlans(connectionString), maxConnections);

    private static NpgsqlDataSource Pool(string connectionString, int maxConnections) =>
        new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = maxConnections }.ConnectionString).Build();

    /// <summary>The tuned settings with these planner options, unless the connection string chooses a plan cache mode itself.</summary>
    private static string WithPlanning(string connectionString, string options)
    {
        var settings = new NpgsqlConnectionStringBuilder(WithDefaults(connectionString));
        if (settings.Options?.Contains("plan_cache_mode", StringComparison.Ordinal) != true)
        {
            settings.Options = string.Join(' ', new[] { settings.Options, options }.Where(o => !string.IsNullOrWhiteSpace(o)));
        }
        return settings.ConnectionString;
    }
}
