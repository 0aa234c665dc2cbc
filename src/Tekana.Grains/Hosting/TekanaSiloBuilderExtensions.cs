using System.Data.Common;
using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Orleans.Configuration;
using Tekana.Grains.Events;
using Tekana.Grains.History;
using Tekana.Grains.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Transactions.Abstractions;

namespace Tekana.Grains.Hosting;

public static class TekanaSiloBuilderExtensions
{
    public const string PostgresConnectionStringName = "Postgres";
    public const string NpgsqlInvariant = "Npgsql";

    /// <summary>
    /// Configures a Tekana silo from configuration: with <c>ConnectionStrings:Postgres</c>, PostgreSQL storage and
    /// ADO.NET clustering; without it, in-memory storage and localhost clustering so that the product starts with
    /// zero setup.
    /// </summary>
    public static ISiloBuilder AddTekana(this ISiloBuilder builder, IConfiguration configuration)
    {
        var cluster = TekanaClusterOptions.From(configuration);
        var configured = configuration.GetConnectionString(PostgresConnectionStringName);
        var connectionString = string.IsNullOrWhiteSpace(configured) ? null : PostgresConnections.WithDefaults(configured);
        builder.Services.Configure<PasswordHasherOptions>(configuration.GetSection("Security:PasswordHashing"));
        builder.Services.Configure<Transfers.PayeeBatchingOptions>(configuration.GetSection(Transfers.PayeeBatchingOptions.Section));
        builder.Services.Configure<CommitPurgeOptions>(configuration.GetSection(CommitPurgeOptions.Section));

        if (string.IsNullOrWhiteSpace(connectionString))
        {
            builder.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, null, cluster.ServiceId, cluster.ClusterId);
            builder.AddTekanaGrains();
            builder.AddMemoryGrainStorage(StorageNames.Ledger);
            builder.AddMemoryGrainStorage(StorageNames.Customers);
            builder.Services.AddSingleton<IStateRows, MemoryStateRows>();
            builder.AddTekanaLedgerStorage();
            builder.AddTekanaEvents(configuration, connectionString: null);
            return builder;
        }

        builder.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        var advertised = cluster.ResolveAdvertisedAddress();
        builder.ConfigureEndpoints(advertised, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(advertised));
        builder.UseAdoNetClustering(o =>
        {
            o.Invariant = NpgsqlInvariant;
            // The grain storage's connection string: both ADO.NET providers draw on one pool.
            o.ConnectionString = PostgresConnections.WithCustomPlans(connectionString);
        });
        // A crashed silo stalls every transaction touching its grains until it is declared dead, so detection is
        // faster than Orleans' default (5 s probes, about 15 s): 2 s probes, about 6 s. Orleans:Membership overrides.
        builder.Configure<ClusterMembershipOptions>(o => o.ProbeTimeout = TimeSpan.FromSeconds(2));
        builder.Services.Configure<ClusterMembershipOptions>(configuration.GetSection("Orleans:Membership"));
        builder.AddTekanaGrains();
        builder.AddTekanaPostgresStorage(connectionString);
        builder.AddTekanaEvents(configuration, connectionString);
        return builder;
    }

    /// <summary>
    /// The event pipeline: an in-cluster stream per partition (a trigger only: the durable copy of every event is
    /// its grain's outbox), relays that feed the read model and, with <c>Kafka:BootstrapServers</c> set, Kafka.
    /// </summary>
    public static ISiloBuilder AddTekanaEvents(this ISiloBuilder builder, IConfiguration configuration, string? connectionString)
    {
        builder.AddMemoryStreams(EventStreams.Provider, stream => stream.ConfigureCacheEviction(options => options.Configure(o =>
        {
            // Orleans keeps a stream's events in its silo's cache until they are at least 5 minutes old and 30 minutes
            // behind the newest: under load, half an hour of events (gigabytes) that nobody reads again, since the
            // relays take each event as it arrives and a publisher sends again whatever was not acknowledged. Kept
            // that long they filled the old generation and made every collection slower.
            o.DataMinTimeInCache = TimeSpan.FromSeconds(10);
            o.DataMaxAgeInCache = TimeSpan.FromSeconds(30);
            o.MetadataMinTimeInCache = TimeSpan.FromMinutes(1);
        })));
        builder.AddMemoryGrainStorage("PubSubStore");
        builder.Services.AddSingleton<EventHandOff>();
        builder.Services.AddHostedService<ClusterChangeWatcher>();
        builder.Services.AddTekanaHistory(connectionString);
        builder.Services.AddSingleton<IEventSink, ReadModelSink>();
        var kafka = configuration.GetSection(KafkaOptions.Section);
        builder.Services.AddOptions<KafkaOptions>().Bind(kafka);
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            builder.Services.AddHostedService<OutboxSweeper>();
        }
        if (!string.IsNullOrWhiteSpace(kafka[nameof(KafkaOptions.BootstrapServers)]))
        {
            builder.Services.AddSingleton<IEventSink, KafkaSink>();
        }
        return builder;
    }

    /// <summary>The read model: PostgreSQL when configured, otherwise held in this process (embedded default).</summary>
    public static IServiceCollection AddTekanaHistory(this IServiceCollection services, string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            services.TryAddSingleton<IHistoryStore, InMemoryHistoryStore>();
        }
        else
        {
            services.TryAddSingleton(_ => PostgresConnections.CreateDataSource(connectionString));
            services.TryAddSingleton<IHistoryStore, PostgresHistoryStore>();
        }
        return services;
    }

    /// <summary>Everything the grains need apart from clustering and storage (tests supply their own).</summary>
    public static ISiloBuilder AddTekanaGrains(this ISiloBuilder builder)
    {
        builder.UseTransactions();
        LedgerTransactionAgent.Decorate(builder.Services);
        // Orleans' default directory deactivates, on every surviving silo, the activations whose directory entries a
        // dead silo held. A deactivating wallet holds all incoming messages (the transaction protocol's Cancel
        // included) until its running requests end, and a running commit can wait for exactly such a Cancel: the
        // wallet then answers nothing until Orleans declares it stuck (2 h). The distributed directory recovers a
        // dead silo's entries from the silos that host the activations instead of deactivating them.
#pragma warning disable ORLEANSEXP003 // experimental in Orleans 10; the alternative wedges wallets when a silo dies
        builder.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        builder.Services.AddTekanaExceptionSerialization().AddTekanaReflectionCaches().AddTekanaTransactionResponseCopier();
        builder.Services.Configure<TransactionalStateOptions>(o =>
        {
            // A participant whose confirmation write failed (storage briefly away) blocks its wallet's commit queue
            // until the coordinator confirms again: every second, not Orleans' 30 s. Confirming is idempotent.
            o.ConfirmationRetryDelay = TimeSpan.FromSeconds(1);
            // Each of the three below keeps a wake-up pending per lock or commit for its whole span, and Orleans walks
            // every pending wake-up 20 times a second (see LedgerTransactionAgent): short spans cost less CPU.
            // A lock is broken after the longer of this and its transaction's timeout: both are the agent's 1 s, where
            // Orleans has 8 s and 10 s.
            o.LockTimeout = LedgerTransactionAgent.LockTimeout;
            // A coordinator gives up on participants that do not prepare (their silo stopped) after 0.75 s, not 20 s.
            o.PrepareTimeout = TimeSpan.FromSeconds(0.75);
            // A prepared participant asks a silent coordinator for the outcome every 0.75 s, not 60 s. The coordinator
            // answers "aborted" only for a transaction it has neither queued to commit nor is confirming, so asking
            // early costs at most the abort of a transaction not yet decided, never a committed one.
            o.RemoteTransactionPingFrequency = TimeSpan.FromSeconds(0.75);
        });
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<Transfers.PayeeBatchingOptions>();
        builder.Services.TryAddSingleton<Transfers.PayeeTraffic>();
        builder.Services.TryAddSingleton<Transfers.MovementsInFlight>();
        builder.Services.TryAddSingleton<SiloDrain>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SiloDrain>());
        builder.Services.TryAddSingleton<IPasswordHasher<string>, PasswordHasher<string>>();
        builder.Services.AddOptions<PasswordHasherOptions>();
        return builder;
    }

    /// <summary>
    /// Storage on PostgreSQL: the ledger's transactional states (wallets, movement records) through Tekana's group-commit
    /// storage; plain grain state (customers, identity claims) through the ADO.NET provider and the scripts in <c>sql/</c>.
    /// </summary>
    public static ISiloBuilder AddTekanaPostgresStorage(this ISiloBuilder builder, string connectionString)
    {
        RegisterNpgsql();
        connectionString = PostgresConnections.WithDefaults(connectionString);
        builder.Services.TryAddSingleton(_ => PostgresConnections.CreateDataSource(connectionString));
        builder.Services.AddKeyedSingleton(PostgresConnections.CustomPlans, (_, _) => PostgresConnections.CreateCustomPlanDataSource(
            connectionString, GroupCommitWriter.MaxConcurrentRoundTrips));
        builder.Services.AddKeyedSingleton(PostgresConnections.PointLookups, (_, _) => PostgresConnections.CreatePointLookupDataSource(
            connectionString, GroupReader.MaxConcurrentRoundTrips));
        builder.Services.AddSingleton(sp => new GroupCommitWriter(sp.GetRequiredKeyedService<NpgsqlDataSource>(PostgresConnections.CustomPlans),
            sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId, sp.GetRequiredService<ILogger<GroupCommitWriter>>()));
        builder.Services.AddSingleton(sp => new GroupReader(sp.GetRequiredKeyedService<NpgsqlDataSource>(PostgresConnections.PointLookups),
            sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId, sp.GetRequiredService<ILogger<GroupReader>>()));
        builder.Services.AddSingleton<IStateRows>(sp => new PostgresStateRows(sp.GetRequiredService<GroupReader>(), sp.GetRequiredService<GroupCommitWriter>()));
        builder.AddTekanaLedgerStorage();
        builder.Services.AddOptions<CommitPurgeOptions>()
            .Validate(o => o.IsValid(), $"{CommitPurgeOptions.Section}: Interval must be positive and at most 49 days, Margin at least a minute.").ValidateOnStart();
        builder.Services.AddSingleton<CommitPurger>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CommitPurger>());
        foreach (var name in new[] { StorageNames.Ledger, StorageNames.Customers })
        {
            builder.AddAdoNetGrainStorage(name, o =>
            {
                o.Invariant = NpgsqlInvariant;
                o.ConnectionString = PostgresConnections.WithCustomPlans(connectionString);
            });
        }
        return builder;
    }

    /// <summary>The ledger's transactional states and movement records, in the silo's <see cref="IStateRows"/>.</summary>
    private static ISiloBuilder AddTekanaLedgerStorage(this ISiloBuilder builder)
    {
        builder.Services.AddKeyedSingleton<ITransactionalStateStorageFactory>(StorageNames.Ledger, (sp, _) => new LedgerStateStorageFactory(
            sp.GetRequiredService<IStateRows>(), sp.GetRequiredService<Orleans.Serialization.Serializer>(),
            sp.GetRequiredService<ILogger<LedgerStateStorageFactory>>()));
        builder.Services.AddSingleton(sp => new MovementRecords(sp.GetRequiredService<IStateRows>(), sp.GetRequiredService<Orleans.Serialization.Serializer>(),
            sp.GetRequiredService<ILogger<MovementRecords>>()));
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<MovementRecords>());
        return builder;
    }

    /// <summary>The ADO.NET providers look the Npgsql factory up by its invariant name.</summary>
    public static void RegisterNpgsql()
    {
        if (!DbProviderFactories.TryGetFactory(NpgsqlInvariant, out _))
        {
            DbProviderFactories.RegisterFactory(NpgsqlInvariant, NpgsqlFactory.Instance);
        }
    }
}
