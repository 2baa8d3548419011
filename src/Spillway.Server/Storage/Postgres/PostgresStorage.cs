using Npgsql;
using Spillway.Server.Storage.Embedded;

namespace Spillway.Server.Storage.Postgres;

/// <summary>Registers the PostgreSQL storage provider.</summary>
public static class PostgresStorage
{
    /// <summary>
    /// Registers one <see cref="NpgsqlDataSource"/> (the connection pool) and the three stores as singletons, plus the
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
        services.AddSingleton<IActivityStore, PostgresActivityStore>();
        return services;
    }

    /// <summary>Applies pending schema migrations (safe when several nodes start at once).</summary>
    public static Task<int> MigratePostgresStorageAsync(this IServiceProvider services, CancellationToken ct) =>
        services.GetRequiredService<PostgresMigrator>().MigrateAsync(ct);
}
