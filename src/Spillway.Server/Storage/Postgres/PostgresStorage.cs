using Npgsql;
using Spillway.Server.Hosting;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// The PostgreSQL provider: one <see cref="NpgsqlDataSource"/> (the connection pool) behind every role, and one activity store
/// behind the four activity roles. Several
/// nodes may share the database, so a node is never solo and the API call counters live in the database.
/// </summary>
public sealed class PostgresStorage : StorageProvider
{
    public override string Name => "Postgres";

    public override bool Solo => false;

    // Unique per process, so a restarted node never mistakes its previous process's leases for its own.
    protected override string DefaultNodeId => $"{Environment.MachineName}-{Environment.ProcessId}";

    public override IEnumerable<string> Validate(SpillwayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            yield return "Spillway:ConnectionString is required when Spillway:Provider is Postgres.";
        }
    }

    protected override void AddConnection(IServiceCollection services, SpillwayOptions options)
    {
        var connectionString = options.ConnectionString;
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton<PostgresActivityStore>();
    }

    // Safe when several nodes start at once: the migrator serializes them on an advisory lock.
    protected override IStorageInitializer Initializer(IServiceProvider services) => new PostgresMigrator(DataSource(services));

    protected override IIdentityStore Identity(IServiceProvider services) => new PostgresIdentityStore(DataSource(services));

    protected override IExportJobStore ExportJobs(IServiceProvider services) => new PostgresExportJobStore(DataSource(services));

    protected override IJobControlStore JobControls(IServiceProvider services) => new PostgresJobControlStore(DataSource(services));

    protected override ILeadStore Leads(IServiceProvider services) => new PostgresLeadStore(DataSource(services));

    protected override IListStore Lists(IServiceProvider services) => new PostgresListStore(DataSource(services));

    protected override IActivityStore Activities(IServiceProvider services) => ActivityStore(services);

    protected override IActivityPageReader ActivityPages(IServiceProvider services) => ActivityStore(services);

    protected override IActivityWriter ActivityWriter(IServiceProvider services) => ActivityStore(services);

    protected override IActivityWindowStreamer ActivityWindows(IServiceProvider services) => ActivityStore(services);

    protected override IActivityTypeStore ActivityTypes(IServiceProvider services) => new PostgresActivityTypeStore(DataSource(services));

    // The nodes of a cluster answer 606, 607 and 615 from counters they share.
    protected override IApiCallLimiter ApiCallLimiter(IServiceProvider services) =>
        new PostgresApiCallLimiter(DataSource(services), services.GetService<TimeProvider>(),
            services.GetService<Microsoft.Extensions.Options.IOptions<SpillwayOptions>>()?.Value.CallGrants == false ? CallGrantOptions.Off : CallGrantOptions.Default);

    protected override IStoreSnapshot Snapshot(IServiceProvider services) =>
        new NoStoreSnapshot("A snapshot copies the embedded store; back up a PostgreSQL store with pg_dump, and the export folder with it.");

    protected override IProgramMemberStore ProgramMembers(IServiceProvider services) => new PostgresProgramMemberStore(DataSource(services));

    // Clock, progression, fault rules and the request log: set through one node, they apply on every node.
    protected override void AddSharedControls(IServiceCollection services) =>
        services.AddSingleton<ISharedControlStore>(s => new PostgresControlStore(DataSource(s)));

    private static NpgsqlDataSource DataSource(IServiceProvider services) => services.GetRequiredService<NpgsqlDataSource>();

    private static PostgresActivityStore ActivityStore(IServiceProvider services) => services.GetRequiredService<PostgresActivityStore>();
}

/// <summary>Runs the PostgreSQL migrations of an already registered provider and says how many scripts it applied.</summary>
internal static class PostgresMigrations
{
    public static Task<int> MigratePostgresStorageAsync(this IServiceProvider services, CancellationToken ct) =>
        services.GetServices<IStorageInitializer>().OfType<PostgresMigrator>().Single().MigrateAsync(ct);
}
