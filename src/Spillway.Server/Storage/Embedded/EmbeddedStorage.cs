using Spillway.Server.Hosting;

namespace Spillway.Server.Storage.Embedded;

/// <summary>
/// The default store: one data folder holding <c>metadata.db</c> (SQLite: identity and jobs, transactional and small)
/// and <c>activities.duckdb</c> (DuckDB: the activities, columnar). See docs/performance.md for why two engines.
/// One process owns the folder (<see cref="DataFolderLock"/>), so the node is solo and counts API calls in memory.
/// </summary>
public sealed class EmbeddedStorage : StorageProvider
{
    public override string Name => "Embedded";

    public override bool Solo => true;

    protected override string DefaultNodeId => "local";

    public override IEnumerable<string> Validate(SpillwayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!DuckDbActivityStore.IsMemoryLimit(options.DuckDbMemoryLimit))
        {
            yield return $"Spillway:DuckDbMemoryLimit must be a size such as 64MB or 1GB (got '{options.DuckDbMemoryLimit}').";
        }
    }

    protected override void AddConnection(IServiceCollection services, SpillwayOptions options)
    {
        var root = Path.GetFullPath(options.DataPath);
        DataFolder.Prepare(root);
        var chunk = TimeSpan.FromHours(options.Worker.ChunkHours);
        services.AddSingleton(_ => new DataFolderLock(root));
        services.AddSingleton(sp =>
        {
            sp.GetRequiredService<DataFolderLock>();
            return new SqliteDatabase(Path.Combine(root, "metadata.db"));
        });
        services.AddSingleton(sp =>
        {
            sp.GetRequiredService<DataFolderLock>();
            var temp = Path.Combine(root, "duckdb-tmp");
            Directory.CreateDirectory(temp);
            var path = Path.Combine(root, "activities.duckdb");
            try
            {
                return new DuckDbActivityStore(path, temp, chunk, options.DuckDbMemoryLimit);
            }
            catch (DuckDB.NET.Data.DuckDBException ex)
            {
                // Whoever opens the store first (start-up or a background service) reports it the same way.
                throw EmbeddedInitializer.Unreadable(path, ex);
            }
        });
    }

    protected override IStorageInitializer Initializer(IServiceProvider services) => new EmbeddedInitializer(services);

    protected override IIdentityStore Identity(IServiceProvider services) => new SqliteIdentityStore(services.GetRequiredService<SqliteDatabase>());

    protected override IExportJobStore ExportJobs(IServiceProvider services) => new SqliteExportJobStore(services.GetRequiredService<SqliteDatabase>());

    protected override IJobControlStore JobControls(IServiceProvider services) => new SqliteJobControlStore(services.GetRequiredService<SqliteDatabase>());

    protected override ILeadStore Leads(IServiceProvider services) => new SqliteLeadStore(services.GetRequiredService<SqliteDatabase>());

    protected override IListStore Lists(IServiceProvider services) => new SqliteListStore(services.GetRequiredService<SqliteDatabase>());

    protected override IActivityStore Activities(IServiceProvider services) => services.GetRequiredService<DuckDbActivityStore>();

    protected override IActivityPageReader ActivityPages(IServiceProvider services) => services.GetRequiredService<DuckDbActivityStore>();

    protected override IActivityWriter ActivityWriter(IServiceProvider services) => services.GetRequiredService<DuckDbActivityStore>();

    protected override IActivityWindowStreamer ActivityWindows(IServiceProvider services) => services.GetRequiredService<DuckDbActivityStore>();

    protected override IActivityTypeStore ActivityTypes(IServiceProvider services) => new SqliteActivityTypeStore(services.GetRequiredService<SqliteDatabase>());

    protected override IApiCallLimiter ApiCallLimiter(IServiceProvider services) => new InMemoryApiCallLimiter();

    protected override IStoreSnapshot Snapshot(IServiceProvider services) =>
        new EmbeddedSnapshot(services.GetRequiredService<SqliteDatabase>(), services.GetRequiredService<DuckDbActivityStore>());

    protected override IProgramMemberStore ProgramMembers(IServiceProvider services) => new SqliteProgramMemberStore(services.GetRequiredService<SqliteDatabase>());

    /// <summary>
    /// SQLite's <c>VACUUM INTO</c> writes metadata.db as one read transaction sees it; DuckDB's <c>COPY FROM DATABASE</c>
    /// copies activities.duckdb the same way. Neither blocks writers for long: both read a snapshot.
    /// </summary>
    private sealed class EmbeddedSnapshot(SqliteDatabase metadata, DuckDbActivityStore activities) : IStoreSnapshot
    {
        public string? Unsupported => null;

        public async Task SaveAsync(string targetFolder, CancellationToken ct)
        {
            await metadata.CopyToAsync(Path.Combine(targetFolder, "metadata.db"), ct);
            await activities.CopyToAsync(Path.Combine(targetFolder, "activities.duckdb"), ct);
        }
    }

    /// <summary>
    /// Migrates metadata.db and reads both files once, so a store that cannot be read stops the start with one line
    /// instead of a server that reports Healthy and then fails every call.
    /// </summary>
    private sealed class EmbeddedInitializer(IServiceProvider services) : IStorageInitializer
    {
        public async Task<string> InitializeAsync(CancellationToken ct)
        {
            var db = services.GetRequiredService<SqliteDatabase>();
            string storeId;
            try
            {
                await db.MigrateAsync(ct);
                await db.CheckReadableAsync(ct);
                storeId = await db.ReadStoreIdAsync(ct);
            }
            catch (Microsoft.Data.Sqlite.SqliteException ex)
            {
                throw Unreadable(db.Path, ex);
            }

            try
            {
                await services.GetRequiredService<DuckDbActivityStore>().CheckReadableAsync(ct);
            }
            catch (Exception ex) when (ex is DuckDB.NET.Data.DuckDBException or InvalidOperationException or IOException)
            {
                var path = Path.Combine(Path.GetDirectoryName(db.Path)!, "activities.duckdb");
                throw Unreadable(path, ex);
            }

            return storeId;
        }

        internal static StartupFailureException Unreadable(string path, Exception ex) => new(
            ServerExitCodes.Environment,
            $"The store file '{path}' cannot be read ({FirstLine(ex.Message)}); restore it from a backup or move it away to start empty.",
            ex);
    }

    internal static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.TrimEnd('.');
    }
}

/// <summary>Makes sure the data folder exists and can be written before any store opens a file in it.</summary>
internal static class DataFolder
{
    public static void Prepare(string root)
    {
        try
        {
            Directory.CreateDirectory(root);
            // A probe write, because permissions do not stop root and a read-only mount only shows on write.
            var probe = Path.Combine(root, $".write-probe-{Environment.ProcessId}");
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupFailureException(
                ServerExitCodes.Environment,
                $"The data folder '{root}' cannot be used ({EmbeddedStorage.FirstLine(ex.Message)}); make it a writable folder, or choose another with --Spillway:DataPath.",
                ex);
        }
    }
}

/// <summary>
/// One process owns a data folder: a second server (or a <c>spillway</c> command that writes) pointed at the same folder
/// fails fast with a clear message instead of corrupting it.
/// </summary>
public sealed class DataFolderLock : IDisposable
{
    private readonly FileStream _lock;

    public DataFolderLock(string root)
    {
        var path = Path.Combine(root, "spillway.lock");
        try
        {
            _lock = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException ex)
        {
            throw new StartupFailureException(
                ServerExitCodes.Environment,
                $"The data folder '{root}' is in use by another Spillway process; stop it, or choose another folder with --Spillway:DataPath.", ex);
        }
    }

    public void Dispose() => _lock.Dispose();
}
