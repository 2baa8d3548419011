using System.Globalization;
using System.Reflection;
using Npgsql;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// Applies the embedded numbered scripts (<c>Storage/Postgres/Migrations/NNNN_name.sql</c>) in order, all in one
/// transaction guarded by <c>pg_advisory_xact_lock</c>, so any number of nodes may start at once: the first applies
/// what is missing, the others wait and then find nothing to do. Applied versions are recorded in schema_version.
/// </summary>
internal sealed class PostgresMigrator(NpgsqlDataSource dataSource) : IStorageInitializer
{
    private const string ResourceMarker = ".Storage.Postgres.Migrations.";

    /// <summary>The embedded scripts, ordered by version.</summary>
    public static IReadOnlyList<(int Version, string Name, string Sql)> Scripts { get; } = LoadScripts();

    async Task<string> IStorageInitializer.InitializeAsync(CancellationToken ct)
    {
        await MigrateAsync(ct);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var read = Command(connection, null, "SELECT store_id FROM store_identity");
        return (string?)await read.ExecuteScalarAsync(ct) ?? throw new InvalidOperationException("The store has no identity row.");
    }

    /// <summary>Brings the database to the latest schema; returns how many scripts were applied.</summary>
    public async Task<int> MigrateAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        // No command timeout for the lock or the scripts: a migration that builds an index on a large store takes as long
        // as its reads (44 s for migration 0019 on 100 M activities), and the other nodes starting meanwhile wait for it;
        // the default 30 s stopped every node of such a store at start. Stopping the host still cancels.
        await XactLockAsync(connection, transaction, MigrationLock, 0, ct, commandTimeout: 0);

        await using (var table = Command(connection, transaction,
            """
            CREATE TABLE IF NOT EXISTS schema_version (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """))
        {
            await table.ExecuteNonQueryAsync(ct);
        }

        var applied = new HashSet<int>();
        await using (var read = Command(connection, transaction, "SELECT version FROM schema_version"))
        await using (var reader = await read.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        var count = 0;
        foreach (var (version, name, sql) in Scripts)
        {
            if (applied.Contains(version))
            {
                continue;
            }

            await using (var script = Command(connection, transaction, sql))
            {
                script.CommandTimeout = 0;
                await script.ExecuteNonQueryAsync(ct);
            }

            await using (var record = Command(connection, transaction,
                "INSERT INTO schema_version (version, name) VALUES ($1, $2)", Int(version), Text(name)))
            {
                await record.ExecuteNonQueryAsync(ct);
            }

            count++;
        }

        await transaction.CommitAsync(ct);
        return count;
    }

    private static List<(int Version, string Name, string Sql)> LoadScripts()
    {
        var assembly = typeof(PostgresMigrator).Assembly;
        var scripts = new List<(int Version, string Name, string Sql)>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var at = resource.IndexOf(ResourceMarker, StringComparison.Ordinal);
            if (at < 0 || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var file = resource[(at + ResourceMarker.Length)..];
            var underscore = file.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(file.AsSpan(0, underscore), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"Migration resource '{resource}' is not named NNNN_name.sql.");
            }

            scripts.Add((version, file, Read(assembly, resource)));
        }

        scripts.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < scripts.Count; i++)
        {
            if (scripts[i].Version == scripts[i - 1].Version)
            {
                throw new InvalidOperationException($"Two migrations share version {scripts[i].Version}.");
            }
        }

        return scripts;
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Missing resource {resource}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
