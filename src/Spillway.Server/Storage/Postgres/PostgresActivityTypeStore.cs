using Npgsql;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// Custom activity types in PostgreSQL. Creation checks the limit and the name and takes the next id under a
/// per-subscription advisory lock (the unique name index backs it up); every save is one compare-and-set UPDATE on
/// revision. Instants are kept to the millisecond, as in the embedded store.
/// </summary>
internal sealed class PostgresActivityTypeStore(NpgsqlDataSource dataSource) : IActivityTypeStore
{
    private const string Columns = "id, subscription_id, api_name, approved, draft, created_at, updated_at, revision";

    public async Task<IReadOnlyList<CustomActivityTypeRecord>> ListAsync(int subscriptionId, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"SELECT {Columns} FROM custom_activity_type WHERE subscription_id = $1 ORDER BY id", Int(subscriptionId));
        return await ReadAsync(command, ct);
    }

    public async Task<CustomActivityTypeRecord?> FindAsync(int subscriptionId, string apiName, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await FindAsync(connection, null, subscriptionId, apiName, ct);
    }

    public async Task<(CreateTypeOutcome Outcome, CustomActivityTypeRecord? Type)> CreateAsync(int subscriptionId, string apiName,
        CustomActivityTypeVersion draft, int maxTypes, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(apiName);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await XactLockAsync(connection, transaction, ActivityTypeLock, subscriptionId, ct);
        if (await FindAsync(connection, transaction, subscriptionId, apiName, ct) is not null)
        {
            return (CreateTypeOutcome.DuplicateApiName, null);
        }

        await using (var count = Command(connection, transaction,
            "SELECT count(*) FROM custom_activity_type WHERE subscription_id = $1", Int(subscriptionId)))
        {
            if ((long)(await count.ExecuteScalarAsync(ct))! >= maxTypes)
            {
                return (CreateTypeOutcome.LimitReached, null);
            }
        }

        CustomActivityTypeRecord? created;
        await using (var insert = Command(connection, transaction,
            $"""
            WITH next AS (
                INSERT INTO custom_activity_type_seq AS q (subscription_id, last_id) VALUES ($1, $2)
                ON CONFLICT (subscription_id) DO UPDATE SET last_id = greatest(q.last_id + 1, $2)
                RETURNING last_id
            )
            INSERT INTO custom_activity_type (subscription_id, id, api_name, approved, draft, created_at, updated_at, revision)
            SELECT $1, last_id, $3, '', $4, $5, $5, 1 FROM next
            RETURNING {Columns}
            """,
            Int(subscriptionId), Int(CustomActivityTypeRecord.FirstId), Text(apiName), Text(CustomActivityTypeJson.Serialize(draft)),
            Time(ToMillisecond(now))))
        {
            created = (await ReadAsync(insert, ct)).Single();
        }

        await transaction.CommitAsync(ct);
        return (CreateTypeOutcome.Created, created);
    }

    public async Task<CustomActivityTypeRecord?> SaveAsync(int subscriptionId, string apiName, long expectedRevision,
        CustomActivityTypeVersion? approved, CustomActivityTypeVersion? draft, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(apiName);
        await using var command = Command(dataSource,
            $"""
            UPDATE custom_activity_type SET approved = $1, draft = $2, updated_at = $3, revision = revision + 1
             WHERE subscription_id = $4 AND lower(api_name) = lower($5) AND revision = $6
            RETURNING {Columns}
            """,
            Text(CustomActivityTypeJson.Serialize(approved)), Text(CustomActivityTypeJson.Serialize(draft)), Time(ToMillisecond(now)),
            Int(subscriptionId), Text(apiName), Long(expectedRevision));
        return (await ReadAsync(command, ct)).SingleOrDefault();
    }

    public async Task<bool> DeleteAsync(int subscriptionId, string apiName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(apiName);
        await using var command = Command(dataSource,
            "DELETE FROM custom_activity_type WHERE subscription_id = $1 AND lower(api_name) = lower($2)",
            Int(subscriptionId), Text(apiName));
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<int> DeleteSubscriptionTypesAsync(int subscriptionId, CancellationToken ct)
    {
        // The id sequence row stays: ids of deleted types are never reused.
        await using var command = Command(dataSource, "DELETE FROM custom_activity_type WHERE subscription_id = $1", Int(subscriptionId));
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<CustomActivityTypeRecord?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        int subscriptionId, string apiName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(apiName);
        await using var command = Command(connection, transaction,
            $"SELECT {Columns} FROM custom_activity_type WHERE subscription_id = $1 AND lower(api_name) = lower($2)",
            Int(subscriptionId), Text(apiName));
        return (await ReadAsync(command, ct)).FirstOrDefault();
    }

    private static async Task<IReadOnlyList<CustomActivityTypeRecord>> ReadAsync(NpgsqlCommand command, CancellationToken ct)
    {
        var list = new List<CustomActivityTypeRecord>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(new CustomActivityTypeRecord(
                reader.GetInt32(0),
                reader.GetInt32(1),
                reader.GetString(2),
                CustomActivityTypeJson.Deserialize(reader.GetString(3)),
                CustomActivityTypeJson.Deserialize(reader.GetString(4)),
                reader.GetTime(5),
                reader.GetTime(6),
                reader.GetInt64(7)));
        }

        return list;
    }

    private static DateTimeOffset ToMillisecond(DateTimeOffset value) => DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds());
}
