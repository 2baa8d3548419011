using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Spillway.Server.Storage.Embedded;

/// <summary>
/// The default store: one data folder holding <c>metadata.db</c> (SQLite: identity and jobs, transactional and small)
/// and <c>activities.duckdb</c> (DuckDB: the activities, columnar). See docs/performance.md for why two engines.
/// </summary>
public static class EmbeddedStorage
{
    public static IServiceCollection AddEmbeddedStorage(this IServiceCollection services, string dataPath, TimeSpan exportChunk, string duckDbMemoryLimit)
    {
        var root = Path.GetFullPath(dataPath);
        Directory.CreateDirectory(root);
        services.TryAddSingleton(_ => new DataFolderLock(root));
        services.TryAddSingleton(sp =>
        {
            sp.GetRequiredService<DataFolderLock>();
            return new SqliteDatabase(Path.Combine(root, "metadata.db"));
        });
        services.TryAddSingleton<IIdentityStore, SqliteIdentityStore>();
        services.TryAddSingleton<IExportJobStore, SqliteExportJobStore>();
        services.TryAddSingleton(sp =>
        {
            sp.GetRequiredService<DataFolderLock>();
            var temp = Path.Combine(root, "duckdb-tmp");
            Directory.CreateDirectory(temp);
            return new DuckDbActivityStore(Path.Combine(root, "activities.duckdb"), temp, exportChunk, duckDbMemoryLimit);
        });
        services.TryAddSingleton<IActivityStore>(sp => sp.GetRequiredService<DuckDbActivityStore>());
        services.TryAddSingleton<IActivityWindowStreamer>(sp => sp.GetRequiredService<DuckDbActivityStore>());
        services.TryAddSingleton<IActivityPageReader>(sp => sp.GetRequiredService<DuckDbActivityStore>());
        services.TryAddSingleton<IActivityWriter>(sp => sp.GetRequiredService<DuckDbActivityStore>());
        services.TryAddSingleton<IActivityTypeStore, SqliteActivityTypeStore>();
        services.AddSingleton<IStorageInitializer>(sp => new EmbeddedInitializer(sp.GetRequiredService<SqliteDatabase>()));
        return services;
    }

    private sealed class EmbeddedInitializer(SqliteDatabase db) : IStorageInitializer
    {
        public Task InitializeAsync(CancellationToken ct) => db.MigrateAsync(ct);
    }
}

/// <summary>Runs a provider's schema migrations before the server answers.</summary>
public interface IStorageInitializer
{
    Task InitializeAsync(CancellationToken ct);
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
            throw new InvalidOperationException(
                $"The data folder '{root}' is in use by another Spillway process. Stop it, or choose another folder with --Spillway:DataPath.", ex);
        }
    }

    public void Dispose() => _lock.Dispose();
}
