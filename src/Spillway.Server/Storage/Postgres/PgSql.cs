using Npgsql;
using NpgsqlTypes;

namespace Spillway.Server.Storage.Postgres;

/// <summary>Small helpers shared by the PostgreSQL stores: parameters, UTC conversion, advisory lock keys.</summary>
internal static class PgSql
{
    /// <summary>
    /// First key of the two-key advisory locks (<c>pg_advisory_xact_lock(int, int)</c>); the second key is the
    /// subscription id, a hash of the client id, or 0. Distinct namespaces keep the lock families apart.
    /// </summary>
    public const int MigrationLock = 0x5350_0001;
    public const int SubscriptionQueueLock = 0x5350_0002;
    public const int ClientTokenLock = 0x5350_0003;
    public const int PartitionLock = 0x5350_0004;
    public const int ApiCallLock = 0x5350_0005; // the call limiter before migration 0004 (old nodes during an upgrade)
    public const int ActivityTypeLock = 0x5350_0006;
    public const int NewGuidLock = 0x5350_0007;

    /// <summary>Writes of a subscription's leads and list memberships, one transaction at a time (second key: the subscription id).</summary>
    public const int LeadWriteLock = 0x5350_00A0;

    public static NpgsqlParameter P(object? value, NpgsqlDbType type) =>
        new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };

    public static NpgsqlParameter Int(int value) => P(value, NpgsqlDbType.Integer);
    public static NpgsqlParameter Long(long value) => P(value, NpgsqlDbType.Bigint);
    public static NpgsqlParameter NLong(long? value) => P(value, NpgsqlDbType.Bigint);
    public static NpgsqlParameter Text(string? value) => P(value, NpgsqlDbType.Text);
    public static NpgsqlParameter Uuid(Guid value) => P(value, NpgsqlDbType.Uuid);

    /// <summary>An instant as timestamptz. Npgsql only writes offset-zero values to timestamptz.</summary>
    public static NpgsqlParameter Time(DateTimeOffset value) => P(value.ToUniversalTime(), NpgsqlDbType.TimestampTz);
    public static NpgsqlParameter NTime(DateTimeOffset? value) => P(value?.ToUniversalTime(), NpgsqlDbType.TimestampTz);

    public static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql,
        params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddRange(parameters);
        return command;
    }

    public static NpgsqlBatchCommand BatchCommand(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    public static NpgsqlCommand Command(NpgsqlDataSource dataSource, string sql, params NpgsqlParameter[] parameters)
    {
        var command = dataSource.CreateCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    public static DateTimeOffset GetTime(this NpgsqlDataReader reader, int ordinal) =>
        reader.GetFieldValue<DateTimeOffset>(ordinal).ToUniversalTime();

    public static DateTimeOffset? GetNTime(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal).ToUniversalTime();

    public static long? GetNLong(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    public static string? GetNString(this NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>
    /// Takes a transaction-scoped advisory lock (released at commit or rollback), waiting at most
    /// <paramref name="commandTimeout"/> seconds (0: as long as it takes; null: the connection's command timeout).
    /// </summary>
    public static async Task XactLockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int space, int key,
        CancellationToken ct, int? commandTimeout = null)
    {
        await using var command = Command(connection, transaction, "SELECT pg_advisory_xact_lock($1, $2)", Int(space), Int(key));
        command.CommandTimeout = commandTimeout ?? command.CommandTimeout;
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Takes a transaction-scoped advisory lock in shared mode (many holders; excludes the exclusive one).</summary>
    public static async Task XactLockSharedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int space, int key,
        CancellationToken ct)
    {
        await using var command = Command(connection, transaction, "SELECT pg_advisory_xact_lock_shared($1, $2)", Int(space), Int(key));
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Takes a transaction-scoped advisory lock keyed by a string (PostgreSQL's stable <c>hashtext</c>).</summary>
    public static async Task XactLockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int space, string key,
        CancellationToken ct)
    {
        await using var command = Command(connection, transaction, "SELECT pg_advisory_xact_lock($1, hashtext($2))", Int(space), Text(key));
        await command.ExecuteNonQueryAsync(ct);
    }
}
