using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Spillway.Server.Storage.Embedded;

/// <summary>
/// The SQLite file that holds identity and export jobs. Writes take the database lock up front
/// (<c>BEGIN IMMEDIATE</c>), which makes every check-then-update of a job atomic on this single-node store.
/// </summary>
internal sealed class SqliteDatabase
{
    private readonly string _connectionString;

    public string Path { get; }

    /// <summary>A cheap read of every page SQLite needs to answer (schema and job index), for start and readiness.</summary>
    public async Task CheckReadableAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA quick_check(1); SELECT count(*) FROM subscription; SELECT count(*) FROM export_job;";
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (await reader.ReadAsync(ct) && reader.GetString(0) != "ok")
        {
            throw new SqliteException($"integrity check failed: {reader.GetString(0)}", 11);
        }
    }

    /// <summary>The store's identity, made by the migration that created its table.</summary>
    public async Task<string> ReadStoreIdAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT store_id FROM store_identity";
        return (string?)await command.ExecuteScalarAsync(ct) ?? throw new SqliteException("the store has no identity row", 11);
    }

    public SqliteDatabase(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>
    /// The native handles whose per-connection settings are applied. Pooling hands the same handle out again, and the
    /// settings stay with it, so they run once per physical connection instead of parsing and running two statements on
    /// every call (every status poll opens a connection); a handle the pool drops is collected with its entry.
    /// </summary>
    private readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> _configured = new();

    /// <summary>Writes a copy of the database as one read transaction sees it (SQLite's <c>VACUUM INTO</c>).</summary>
    public async Task CopyToAsync(string path, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "VACUUM INTO $path";
        command.Parameters.AddWithValue("$path", path);
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        var handle = connection.Handle!;
        if (!_configured.TryGetValue(handle, out _))
        {
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
            await pragma.ExecuteNonQueryAsync(ct);
            _configured.AddOrUpdate(handle, handle);
        }

        return connection;
    }

    public async Task MigrateAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            await wal.ExecuteNonQueryAsync(ct);
        }

        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        await Exec(connection, tx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)", ct);
        var applied = new HashSet<int>();
        await using (var read = Command(connection, tx, "SELECT version FROM schema_version"))
        await using (var reader = await read.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        var assembly = typeof(SqliteDatabase).Assembly;
        foreach (var (version, name) in Migrations(assembly))
        {
            if (applied.Contains(version))
            {
                continue;
            }

            await using var stream = assembly.GetManifestResourceStream(name)!;
            using var text = new StreamReader(stream);
            await Exec(connection, tx, await text.ReadToEndAsync(ct), ct);
            await using var record = Command(connection, tx, "INSERT INTO schema_version (version, applied_at) VALUES ($v, $t)");
            record.Parameters.AddWithValue("$v", version);
            record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await record.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
    }

    private static IEnumerable<(int Version, string Resource)> Migrations(Assembly assembly) =>
        assembly.GetManifestResourceNames()
            .Where(n => n.Contains(".Storage.Embedded.Migrations.", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => (Version: int.Parse(n.Split(".Migrations.")[1][..4], System.Globalization.CultureInfo.InvariantCulture), Resource: n))
            .OrderBy(m => m.Version);

    public static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? tx, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        return command;
    }

    private static async Task Exec(SqliteConnection connection, SqliteTransaction tx, string sql, CancellationToken ct)
    {
        await using var command = Command(connection, tx, sql);
        await command.ExecuteNonQueryAsync(ct);
    }
}

internal static class SqliteExtensions
{
    public static SqliteCommand With(this SqliteCommand command, string name, object? value)
    {
        command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    public static long Ms(this DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    public static DateTimeOffset? FromMs(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public static long? Int64OrNull(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    public static string? StringOrNull(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
