namespace Spillway.Server.Storage.Embedded;

/// <summary>The job controls' changes in SQLite; the start checks the processing slots in the same statement.</summary>
internal sealed class SqliteJobControlStore(SqliteDatabase db) : IJobControlStore
{
    public async Task<IReadOnlyList<HeldJob>> ListHeldAsync(int limit, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            "SELECT export_id, subscription_id, queued_at FROM export_job WHERE status = 'Queued' AND held = 1 ORDER BY queued_at LIMIT $l")
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
            "UPDATE export_job SET held = 0, max_processing = $m WHERE export_id = $id AND status = 'Queued' AND held = 1")
            .With("$m", Math.Max(0, maxProcessing)).With("$id", exportId.ToString("D"));
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<ExportLease?> StartManualAsync(Guid exportId, int maxProcessing, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = (Microsoft.Data.Sqlite.SqliteTransaction)await c.BeginTransactionAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, tx, """
            UPDATE export_job
               SET status = 'Processing', held = 0, started_at = COALESCE(started_at, $now), lease_node = $node, lease_expires_at = $exp,
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
