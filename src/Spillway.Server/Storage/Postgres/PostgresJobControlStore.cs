using Npgsql;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>The job controls' changes in PostgreSQL; the start takes the subscription's queue lock, like the claim.</summary>
internal sealed class PostgresJobControlStore(NpgsqlDataSource dataSource) : IJobControlStore
{
    public async Task<IReadOnlyList<HeldJob>> ListHeldAsync(int limit, CancellationToken ct)
    {
        await using var cmd = Command(dataSource,
            "SELECT export_id, subscription_id, queued_at FROM export_job WHERE status = 'Queued' AND held ORDER BY queued_at LIMIT $1",
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
            "UPDATE export_job SET held = false, max_processing = $2 WHERE export_id = $1 AND status = 'Queued' AND held",
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
            SET status = 'Processing', held = false, started_at = coalesce(started_at, $2), lease_node = $3, lease_expires_at = $6,
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
