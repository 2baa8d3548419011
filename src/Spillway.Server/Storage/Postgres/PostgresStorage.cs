using Npgsql;
using Spillway.Server.Limits;
using Spillway.Server.Storage.Embedded;

namespace Spillway.Server.Storage.Postgres;

/// <summary>Registers the PostgreSQL storage provider.</summary>
public static class PostgresStorage
{
    /// <summary>
    /// Registers one <see cref="NpgsqlDataSource"/> (the connection pool), the stores (identity, jobs, activities with their page reader and
    /// writer, custom activity types) and the cluster-wide
    /// <see cref="IApiCallLimiter"/> as singletons, plus the
    /// <c>PostgresMigrator</c>, also as an <see cref="IStorageInitializer"/> so <c>SpillwayApp.InitializeAsync</c>
    /// applies the migrations before the server answers.
    /// </summary>
    public static IServiceCollection AddPostgresStorage(this IServiceCollection services, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton<PostgresMigrator>();
        services.AddSingleton<IStorageInitializer>(sp => sp.GetRequiredService<PostgresMigrator>());
        services.AddSingleton<IIdentityStore, PostgresIdentityStore>();
        services.AddSingleton<IExportJobStore, PostgresExportJobStore>();
        services.AddSingleton<PostgresActivityStore>();
        services.AddSingleton<IActivityStore>(sp => sp.GetRequiredService<PostgresActivityStore>());
        services.AddSingleton<IActivityWindowStreamer>(sp => sp.GetRequiredService<PostgresActivityStore>());
        services.AddSingleton<IActivityPageReader>(sp => sp.GetRequiredService<PostgresActivityStore>());
        services.AddSingleton<IActivityWriter>(sp => sp.GetRequiredService<PostgresActivityStore>());
        services.AddSingleton<IActivityTypeStore, PostgresActivityTypeStore>();
        // Cluster-wide 606/615/607. Takes effect where the app registers its in-memory limiter with TryAdd.
        services.AddSingleton<IApiCallLimiter>(sp =>
            new PostgresApiCallLimiter(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetService<TimeProvider>()));
        return services;
    }

    /// <summary>Applies pending schema migrations (safe when several nodes start at once).</summary>
    public static Task<int> MigratePostgresStorageAsync(this IServiceProvider services, CancellationToken ct) =>
        services.GetRequiredService<PostgresMigrator>().MigrateAsync(ct);
}
