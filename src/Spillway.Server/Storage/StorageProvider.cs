using Spillway.Server.Hosting;

namespace Spillway.Server.Storage;

/// <summary>
/// A storage engine: one folder under <c>Storage/</c> and one subclass of this. <see cref="Register"/> is the one
/// registration shape every provider shares: every role below as a singleton, in this order, so two providers can
/// never differ in what they register or how. A provider supplies each role; one object may fill several (an
/// activity store is usually its own page reader, writer and window streamer). See docs/storage-providers.md.
/// </summary>
public abstract class StorageProvider
{
    /// <summary>The value of <c>Spillway:Provider</c> that selects this provider (compared without case).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Whether this process owns the store alone. A solo node requeues its own interrupted jobs at start; a node that
    /// shares its store with others leaves them to lease expiry.
    /// </summary>
    public abstract bool Solo { get; }

    /// <summary>This node's name in leases when <c>Spillway:NodeId</c> is not set.</summary>
    protected abstract string DefaultNodeId { get; }

    /// <summary>One line per problem with the settings only this provider reads; none when they are usable.</summary>
    public abstract IEnumerable<string> Validate(SpillwayOptions options);

    /// <summary>Registers this provider's roles. Call through <see cref="StorageProviders.AddSpillwayStorage"/>, which validates first.</summary>
    public void Register(IServiceCollection services, SpillwayOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(new NodeIdentity(options.NodeId ?? DefaultNodeId, Solo));
        AddConnection(services, options);
        services.AddSingleton<IStorageInitializer>(Initializer);
        services.AddSingleton<IIdentityStore>(Identity);
        services.AddSingleton<IExportJobStore>(ExportJobs);
        services.AddSingleton<IJobControlStore>(JobControls);
        services.AddSingleton<IActivityStore>(Activities);
        services.AddSingleton<IActivityPageReader>(ActivityPages);
        services.AddSingleton<IActivityWriter>(ActivityWriter);
        services.AddSingleton<IActivityWindowStreamer>(ActivityWindows);
        services.AddSingleton<IActivityTypeStore>(ActivityTypes);
        services.AddSingleton<ILeadStore>(Leads);
        services.AddSingleton(s => (ILeadWindowStreamer)s.GetRequiredService<ILeadStore>());
        services.AddSingleton(s => (ILeadFieldStore)s.GetRequiredService<ILeadStore>());
        services.AddSingleton<IApiCallLimiter>(ApiCallLimiter);
        services.AddSingleton<IStoreSnapshot>(Snapshot);
        services.AddSingleton<IListStore>(Lists);
        services.AddSingleton<IProgramMemberStore>(ProgramMembers);
        AddSharedControls(services);
    }

    /// <summary>
    /// Registers what the roles share (a connection pool, a database file, a folder lock), as singletons of the
    /// provider's own types; the role factories below resolve them.
    /// </summary>
    protected abstract void AddConnection(IServiceCollection services, SpillwayOptions options);

    /// <summary>Brings the schema up to date; <c>SpillwayApp.InitializeAsync</c> runs it before the server answers.</summary>
    protected abstract IStorageInitializer Initializer(IServiceProvider services);

    /// <summary>Subscriptions, API users, credentials and tokens.</summary>
    protected abstract IIdentityStore Identity(IServiceProvider services);

    /// <summary>Export jobs: the queue, leases, quota and retention.</summary>
    protected abstract IExportJobStore ExportJobs(IServiceProvider services);

    /// <summary>The few job changes the test rig makes beside the lifecycle: hold, release, start by hand.</summary>
    protected abstract IJobControlStore JobControls(IServiceProvider services);

    /// <summary>Activities: append, count and the general window read.</summary>
    protected abstract IActivityStore Activities(IServiceProvider services);

    /// <summary>The paging read of the activity endpoints.</summary>
    protected abstract IActivityPageReader ActivityPages(IServiceProvider services);

    /// <summary>Single activity writes (the activity and custom activity endpoints).</summary>
    protected abstract IActivityWriter ActivityWriter(IServiceProvider services);

    /// <summary>The export fast path: a window's rows as UTF-8 spans, in export order.</summary>
    protected abstract IActivityWindowStreamer ActivityWindows(IServiceProvider services);

    /// <summary>Custom activity types.</summary>
    protected abstract IActivityTypeStore ActivityTypes(IServiceProvider services);

    /// <summary>Leads: point reads, searches by field, atomic syncs and deletes.</summary>
    protected abstract ILeadStore Leads(IServiceProvider services);

    /// <summary>
    /// The counters behind 606, 607 and 615: in memory when this node is the only one, in the shared store when the
    /// nodes of a cluster must count together.
    /// </summary>
    protected abstract IApiCallLimiter ApiCallLimiter(IServiceProvider services);

    /// <summary>How the store is copied while it runs (<c>spillway snapshot save</c>).</summary>
    protected abstract IStoreSnapshot Snapshot(IServiceProvider services);

    /// <summary>Static lists and their members, and smart lists.</summary>
    protected abstract IListStore Lists(IServiceProvider services);
    /// <summary>Program membership, beside the leads it belongs to.</summary>
    protected abstract IProgramMemberStore ProgramMembers(IServiceProvider services);

    /// <summary>
    /// Registers the store of the controls the nodes share (<see cref="ISharedControlStore"/>), for a provider whose
    /// store several nodes can reach; a solo store has none and its node keeps its controls in memory.
    /// </summary>
    protected virtual void AddSharedControls(IServiceCollection services)
    {
    }
}
