using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Postgres;

namespace Spillway.Server.Tests.Storage;

/// <summary>
/// Fresh, isolated PostgreSQL stores for tests: a new schema per store set (its own tables, partitions and
/// schema_version), reached through the server's own AddPostgresStorage and migrator.
/// </summary>
public static class PostgresTestDatabase
{
    public const string Variable = "SPILLWAY_TEST_POSTGRES";

    /// <summary>The server under test; the PostgreSQL tests fail (never skip) without it.</summary>
    public static string ConnectionString => FromEnvironment(Environment.GetEnvironmentVariable(Variable));

    public static string FromEnvironment(string? value) =>
        string.IsNullOrWhiteSpace(value)
            ? throw new InvalidOperationException(
                $"{Variable} is not set. The PostgreSQL tests need a server: run scripts/test.sh, which starts a private " +
                $"PostgreSQL and sets it, or set {Variable} to an Npgsql connection string " +
                "(e.g. Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres).")
            : value;

    /// <summary>
    /// Creates an empty database and returns its connection string (for a test server, or several server processes
    /// sharing it). Databases are not dropped: scripts/test.sh throws the whole cluster away.
    /// </summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var admin = ConnectionString;
        var name = "spillway_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync(admin, $"CREATE DATABASE {name}");
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    /// <summary>Creates an empty schema and returns a connection string whose search_path is that schema.</summary>
    public static async Task<(string ConnectionString, Func<ValueTask> Drop)> CreateSchemaAsync()
    {
        var admin = ConnectionString;
        var schema = "t_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync(admin, $"CREATE SCHEMA {schema}");
        var builder = new NpgsqlConnectionStringBuilder(admin) { SearchPath = schema, MaxPoolSize = 60 };
        return (builder.ConnectionString, () => new ValueTask(ExecuteAsync(admin, $"DROP SCHEMA {schema} CASCADE")));
    }

    /// <summary>A migrated, empty set of the three PostgreSQL stores in a new schema, dropped on dispose.</summary>
    public static async Task<(StoreSet Stores, string ConnectionString)> CreateStoresAsync()
    {
        var (connectionString, drop) = await CreateSchemaAsync();
        var services = new ServiceCollection().AddPostgresStorage(connectionString).BuildServiceProvider();
        await services.MigratePostgresStorageAsync(CancellationToken.None);
        return (Open(services, drop), connectionString);
    }

    /// <summary>Another node over an existing schema: its own data source (pool) and store instances.</summary>
    public static StoreSet OpenNode(string connectionString) =>
        Open(new ServiceCollection().AddPostgresStorage(connectionString).BuildServiceProvider(), null);

    private static StoreSet Open(ServiceProvider services, Func<ValueTask>? drop) => new(
        services.GetRequiredService<IIdentityStore>(),
        services.GetRequiredService<IExportJobStore>(),
        services.GetRequiredService<IActivityStore>(),
        async () =>
        {
            await services.DisposeAsync();
            if (drop is not null)
            {
                await drop();
            }
        },
        services.GetRequiredService<IActivityPageReader>(),
        services.GetRequiredService<IActivityWriter>(),
        services.GetRequiredService<IActivityTypeStore>(),
        services.GetRequiredService<IActivityWindowStreamer>());

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
