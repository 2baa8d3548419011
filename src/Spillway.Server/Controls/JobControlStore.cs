using Npgsql;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Embedded;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Controls;

/// <summary>A Queued job held back from the workers (its processing limit is <see cref="IJobControlStore.Held"/>): manual mode or a start latency.</summary>
public sealed record HeldJob(Guid ExportId, int SubscriptionId, DateTimeOffset? QueuedAt);

/// <summary>
/// The few job changes the controls make beside the lifecycle store. A job is held by enqueuing it with the processing
/// limit <see cref="Held"/> (no worker's claim can take it), released by giving it the subscription's limit back, and
/// started by hand under a lease of <see cref="ManualNode"/> that never expires (no worker takes it over).
/// </summary>
public interface IJobControlStore
{
    /// <summary>
    /// The processing limit that marks a held job. Not 0: a subscription may really allow 0 jobs in Processing, and its
    /// queued jobs must then stay queued, not be released as if the controls had held them.
    /// </summary>
    public const int Held = -1;

    /// <summary>The lease node of jobs started by hand.</summary>
    public const string ManualNode = "spillway-manual";

    /// <summary>When a manual lease expires: never, in practice.</summary>
    public static readonly DateTimeOffset FarFuture = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    Task<IReadOnlyList<HeldJob>> ListHeldAsync(int limit, CancellationToken ct);

    /// <summary>Gives a held job its processing limit back; false when it is no longer held.</summary>
    Task<bool> ReleaseAsync(Guid exportId, int maxProcessing, CancellationToken ct);

    /// <summary>Queued → Processing under a manual lease when the subscription has a free slot; null otherwise.</summary>
    Task<ExportLease?> StartManualAsync(Guid exportId, int maxProcessing, DateTimeOffset now, CancellationToken ct);

    /// <summary>The node holding the job's lease and its fencing token.</summary>
    Task<(string? LeaseNode, long FencingToken)?> LeaseOfAsync(Guid exportId, CancellationToken ct);
}

internal sealed class SqliteJobControlStore(SqliteDatabase db) : IJobControlStore
{
    public async Task<IReadOnlyList<HeldJob>> ListHeldAsync(int limit, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            "SELECT export_id, subscription_id, queued_at FROM export_job WHERE status = 'Queued' AND max_processing = -1 ORDER BY queued_at LIMIT $l")
            .With("$l", limit);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var held = new List<HeldJob>();
        while (await reader.ReadAsync(ct))
        {
            held.Add(new HeldJob(Guid.Parse(reader.GetString(0)), reader.GetInt32(1), reader.FromMs(2)));
        }

        return held;
    }

    public async Task<bool> ReleaseAsync(Guid exportId, int maxProcessing, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            "UPDATE export_job SET max_processing = $m WHERE export_id = $id AND status = 'Queued' AND max_processing = -1")
            .With("$m", Math.Max(0, maxProcessing)).With("$id", exportId.ToString("D"));
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<ExportLease?> StartManualAsync(Guid exportId, int maxProcessing, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = (Microsoft.Data.Sqlite.SqliteTransaction)await c.BeginTransactionAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, tx, """
            UPDATE export_job
               SET status = 'Processing', started_at = COALESCE(started_at, $now), lease_node = $node, lease_expires_at = $exp,
                   fencing_token = fencing_token + 1
             WHERE export_id = $id AND status = 'Queued'
               AND (SELECT COUNT(*) FROM export_job p WHERE p.subscription_id = export_job.subscription_id AND p.status = 'Processing') < $max
            RETURNING subscription_id, fencing_token
            """).With("$now", now.Ms()).With("$node", IJobControlStore.ManualNode).With("$exp", IJobControlStore.FarFuture.Ms())
            .With("$id", exportId.ToString("D")).With("$max", maxProcessing);
        ExportLease? lease = null;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            if (await reader.ReadAsync(ct))
            {
                lease = new ExportLease(exportId, reader.GetInt32(0), IJobControlStore.ManualNode, reader.GetInt64(1), IJobControlStore.FarFuture);
            }
        }

        await tx.CommitAsync(ct);
        return lease;
    }

    public async Task<(string? LeaseNode, long FencingToken)?> LeaseOfAsync(Guid exportId, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "SELECT lease_node, fencing_token FROM export_job WHERE export_id = $id")
            .With("$id", exportId.ToString("D"));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.StringOrNull(0), reader.GetInt64(1)) : null;
    }
}

internal sealed class PostgresJobControlStore(NpgsqlDataSource dataSource) : IJobControlStore
{
    public async Task<IReadOnlyList<HeldJob>> ListHeldAsync(int limit, CancellationToken ct)
    {
        await using var cmd = Command(dataSource,
            "SELECT export_id, subscription_id, queued_at FROM export_job WHERE status = 'Queued' AND max_processing = -1 ORDER BY queued_at LIMIT $1",
            Int(limit));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var held = new List<HeldJob>();
        while (await reader.ReadAsync(ct))
        {
            held.Add(new HeldJob(reader.GetGuid(0), reader.GetInt32(1), reader.GetNTime(2)));
        }

        return held;
    }

    public async Task<bool> ReleaseAsync(Guid exportId, int maxProcessing, CancellationToken ct)
    {
        await using var cmd = Command(dataSource,
            "UPDATE export_job SET max_processing = $2 WHERE export_id = $1 AND status = 'Queued' AND max_processing = -1",
            Uuid(exportId), Int(Math.Max(0, maxProcessing)));
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<ExportLease?> StartManualAsync(Guid exportId, int maxProcessing, DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        int subscriptionId;
        await using (var find = Command(connection, transaction, "SELECT subscription_id FROM export_job WHERE export_id = $1", Uuid(exportId)))
        {
            if (await find.ExecuteScalarAsync(ct) is not int id)
            {
                return null;
            }

            subscriptionId = id;
        }

        // The same lock the claim and the enqueue take: the count of Processing jobs holds until commit.
        await XactLockAsync(connection, transaction, SubscriptionQueueLock, subscriptionId, ct);
        ExportLease? lease = null;
        await using (var start = Command(connection, transaction, """
            UPDATE export_job
            SET status = 'Processing', started_at = coalesce(started_at, $2), lease_node = $3, lease_expires_at = $6,
                fencing_token = fencing_token + 1
            WHERE export_id = $1 AND status = 'Queued'
              AND (SELECT count(*) FROM export_job p WHERE p.subscription_id = $5 AND p.status = 'Processing') < $4
            RETURNING fencing_token
            """, Uuid(exportId), Time(now), Text(IJobControlStore.ManualNode), Int(maxProcessing), Int(subscriptionId), Time(IJobControlStore.FarFuture)))
        {
            if (await start.ExecuteScalarAsync(ct) is long token)
            {
                lease = new ExportLease(exportId, subscriptionId, IJobControlStore.ManualNode, token, IJobControlStore.FarFuture);
            }
        }

        await transaction.CommitAsync(ct);
        return lease;
    }

    public async Task<(string? LeaseNode, long FencingToken)?> LeaseOfAsync(Guid exportId, CancellationToken ct)
    {
        await using var cmd = Command(dataSource, "SELECT lease_node, fencing_token FROM export_job WHERE export_id = $1", Uuid(exportId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetNString(0), reader.GetInt64(1)) : null;
    }
}
