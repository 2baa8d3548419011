using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Spillway.Server.Storage.Embedded;

/// <summary>Custom activity types in SQLite; every check-then-change runs in one <c>BEGIN IMMEDIATE</c> transaction.</summary>
internal sealed class SqliteActivityTypeStore(SqliteDatabase db) : IActivityTypeStore
{
    private const string Columns = "id, subscription_id, api_name, approved, draft, created_at, updated_at, revision";

    public async Task<IReadOnlyList<CustomActivityTypeRecord>> ListAsync(int subscriptionId, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, $"SELECT {Columns} FROM custom_activity_type WHERE subscription_id = $s ORDER BY id")
            .With("$s", subscriptionId);
        return await ReadAsync(cmd, ct);
    }

    public async Task<CustomActivityTypeRecord?> FindAsync(int subscriptionId, string apiName, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await FindAsync(c, null, subscriptionId, apiName, ct);
    }

    public async Task<(CreateTypeOutcome Outcome, CustomActivityTypeRecord? Type)> CreateAsync(int subscriptionId, string apiName,
        CustomActivityTypeVersion draft, int maxTypes, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct);
        if (await FindAsync(c, tx, subscriptionId, apiName, ct) is not null)
        {
            return (CreateTypeOutcome.DuplicateApiName, null);
        }

        await using (var count = SqliteDatabase.Command(c, tx, "SELECT COUNT(*) FROM custom_activity_type WHERE subscription_id = $s")
            .With("$s", subscriptionId))
        {
            if (Convert.ToInt64(await count.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture) >= maxTypes)
            {
                return (CreateTypeOutcome.LimitReached, null);
            }
        }

        long id;
        await using (var next = SqliteDatabase.Command(c, tx, """
            INSERT INTO custom_activity_type_seq (subscription_id, last_id) VALUES ($s, $first)
            ON CONFLICT (subscription_id) DO UPDATE SET last_id = last_id + 1
            RETURNING last_id
            """).With("$s", subscriptionId).With("$first", CustomActivityTypeRecord.FirstId))
        {
            id = Convert.ToInt64(await next.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
        }

        await using (var insert = SqliteDatabase.Command(c, tx, """
            INSERT INTO custom_activity_type (subscription_id, id, api_name, approved, draft, created_at, updated_at, revision)
            VALUES ($s, $id, $a, '', $d, $t, $t, 1)
            """).With("$s", subscriptionId).With("$id", id).With("$a", apiName).With("$d", CustomActivityTypeJson.Serialize(draft))
            .With("$t", now.Ms()))
        {
            await insert.ExecuteNonQueryAsync(ct);
        }

        var created = await FindAsync(c, tx, subscriptionId, apiName, ct);
        await tx.CommitAsync(ct);
        return (CreateTypeOutcome.Created, created);
    }

    public async Task<CustomActivityTypeRecord?> SaveAsync(int subscriptionId, string apiName, long expectedRevision,
        CustomActivityTypeVersion? approved, CustomActivityTypeVersion? draft, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct);
        await using (var update = SqliteDatabase.Command(c, tx, """
            UPDATE custom_activity_type SET approved = $ap, draft = $d, updated_at = $t, revision = revision + 1
             WHERE subscription_id = $s AND api_name = $a AND revision = $r
            """).With("$ap", CustomActivityTypeJson.Serialize(approved)).With("$d", CustomActivityTypeJson.Serialize(draft))
            .With("$t", now.Ms()).With("$s", subscriptionId).With("$a", apiName).With("$r", expectedRevision))
        {
            if (await update.ExecuteNonQueryAsync(ct) != 1)
            {
                return null;
            }
        }

        var saved = await FindAsync(c, tx, subscriptionId, apiName, ct);
        await tx.CommitAsync(ct);
        return saved;
    }

    public async Task<bool> DeleteAsync(int subscriptionId, string apiName, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "DELETE FROM custom_activity_type WHERE subscription_id = $s AND api_name = $a")
            .With("$s", subscriptionId).With("$a", apiName);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<int> DeleteSubscriptionTypesAsync(int subscriptionId, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "DELETE FROM custom_activity_type WHERE subscription_id = $s").With("$s", subscriptionId);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<CustomActivityTypeRecord?> FindAsync(SqliteConnection c, SqliteTransaction? tx, int subscriptionId, string apiName,
        CancellationToken ct)
    {
        await using var cmd = SqliteDatabase.Command(c, tx, $"SELECT {Columns} FROM custom_activity_type WHERE subscription_id = $s AND api_name = $a")
            .With("$s", subscriptionId).With("$a", apiName);
        return (await ReadAsync(cmd, ct)).FirstOrDefault();
    }

    private static async Task<IReadOnlyList<CustomActivityTypeRecord>> ReadAsync(SqliteCommand cmd, CancellationToken ct)
    {
        var list = new List<CustomActivityTypeRecord>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(new CustomActivityTypeRecord(
                r.GetInt32(0),
                r.GetInt32(1),
                r.GetString(2),
                CustomActivityTypeJson.Deserialize(r.GetString(3)),
                CustomActivityTypeJson.Deserialize(r.GetString(4)),
                SqliteExtensions.FromMs(r.GetInt64(5)),
                SqliteExtensions.FromMs(r.GetInt64(6)),
                r.GetInt64(7)));
        }

        return list;
    }
}
