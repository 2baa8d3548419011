using System.Diagnostics.CodeAnalysis;
using Microsoft.Data.Sqlite;

namespace Spillway.Server.Storage.Embedded;

/// <summary>
/// Export jobs in SQLite. Each check-then-change runs in one <c>BEGIN IMMEDIATE</c> transaction, so the queue limit,
/// the quota and the processing slots hold under any concurrency inside this (single) process.
/// </summary>
internal sealed class SqliteExportJobStore(SqliteDatabase db) : IExportJobStore
{
    private const string Columns =
        "export_id, subscription_id, api_user_id, format, status, spec, created_at, queued_at, started_at, finished_at, " +
        "number_of_records, file_size, file_checksum, error_msg, fencing_token, file_expired, kind";

    public async Task CreateAsync(ExportJobRecord job, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            "INSERT INTO export_job (export_id, subscription_id, api_user_id, format, status, spec, created_at, kind) VALUES ($id, $s, $u, $f, $st, $spec, $t, $k)")
            .With("$id", Id(job.ExportId)).With("$s", job.SubscriptionId).With("$u", job.ApiUserId).With("$f", (int)job.Format)
            .With("$st", job.Status.ToString()).With("$spec", job.SpecJson).With("$t", job.CreatedAt.Ms()).With("$k", job.Kind);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<ExportJobRecord?> GetAsync(Guid exportId, int apiUserId, string kind, CancellationToken ct)
    {
        var job = await GetByIdAsync(exportId, ct);
        return IsCallers(job, apiUserId, kind) ? job : null;
    }

    public async Task<ExportJobRecord?> GetByIdAsync(Guid exportId, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await GetAsync(c, null, exportId, ct);
    }

    public async Task<JobPage> ListAsync(int apiUserId, string kind, DateTimeOffset createdSince, IReadOnlyCollection<ExportJobStatus>? statuses,
        int batchSize, JobListCursor? after, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var sql = $"SELECT {Columns} FROM export_job WHERE api_user_id = $u AND kind = $k AND created_at >= $since";
        if (statuses is { Count: > 0 })
        {
            // Enum names only: never user text.
            sql += " AND status IN (" + string.Join(",", statuses.Select(s => $"'{s}'")) + ")";
        }

        if (after is not null)
        {
            sql += " AND (created_at > $ac OR (created_at = $ac AND export_id > $aid))";
        }

        sql += " ORDER BY created_at, export_id LIMIT $n";
        await using var cmd = SqliteDatabase.Command(c, null, sql).With("$u", apiUserId).With("$k", kind).With("$since", createdSince.Ms()).With("$n", batchSize + 1);
        if (after is not null)
        {
            cmd.With("$ac", after.CreatedAt.Ms()).With("$aid", Id(after.ExportId));
        }

        var jobs = await ReadAsync(cmd, ct);
        if (jobs.Count <= batchSize)
        {
            return new JobPage(jobs, null);
        }

        jobs.RemoveAt(jobs.Count - 1);
        var last = jobs[^1];
        return new JobPage(jobs, new JobListCursor(last.CreatedAt, last.ExportId));
    }

    public async Task<EnqueueOutcome> EnqueueAsync(Guid exportId, int apiUserId, string kind, QueuePolicy policy, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct);
        var job = await GetAsync(c, tx, exportId, ct);
        if (!IsCallers(job, apiUserId, kind))
        {
            return EnqueueOutcome.NotFound;
        }

        switch (job.Status)
        {
            case ExportJobStatus.Queued or ExportJobStatus.Processing:
                return EnqueueOutcome.AlreadyQueued;
            case not ExportJobStatus.Created:
                return EnqueueOutcome.Finished;
        }

        await using (var used = SqliteDatabase.Command(c, tx,
            "SELECT COALESCE(SUM(file_size), 0) FROM export_job WHERE subscription_id = $s AND status = 'Completed' AND finished_at >= $since")
            .With("$s", job.SubscriptionId).With("$since", policy.QuotaDayStart.Ms()))
        {
            if ((long)(await used.ExecuteScalarAsync(ct))! >= policy.DailyQuotaBytes)
            {
                return EnqueueOutcome.QuotaExceeded;
            }
        }

        await using (var queued = SqliteDatabase.Command(c, tx,
            "SELECT COUNT(*) FROM export_job WHERE subscription_id = $s AND status IN ('Queued', 'Processing')").With("$s", job.SubscriptionId))
        {
            if ((long)(await queued.ExecuteScalarAsync(ct))! >= policy.MaxQueuedJobs)
            {
                return EnqueueOutcome.QueueFull;
            }
        }

        await using var update = SqliteDatabase.Command(c, tx,
            "UPDATE export_job SET status = 'Queued', queued_at = $now, max_processing = $max, held = $held WHERE export_id = $id AND status = 'Created'")
            .With("$now", now.Ms()).With("$max", policy.MaxProcessingJobs).With("$held", policy.Hold ? 1 : 0).With("$id", Id(exportId));
        await update.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return EnqueueOutcome.Enqueued;
    }

    public async Task<CancelOutcome> CancelAsync(Guid exportId, int apiUserId, string kind, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct);
        var job = await GetAsync(c, tx, exportId, ct);
        if (!IsCallers(job, apiUserId, kind))
        {
            return CancelOutcome.NotFound;
        }

        switch (job.Status)
        {
            case ExportJobStatus.Cancelled:
                return CancelOutcome.AlreadyCancelled;
            case ExportJobStatus.Completed or ExportJobStatus.Failed:
                return CancelOutcome.Finished;
        }

        await using var update = SqliteDatabase.Command(c, tx,
            "UPDATE export_job SET status = 'Cancelled', lease_node = NULL, lease_expires_at = NULL WHERE export_id = $id AND status = $old")
            .With("$id", Id(exportId)).With("$old", job.Status.ToString());
        await update.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return CancelOutcome.Cancelled;
    }

    public async Task<long> ExportedBytesSinceAsync(int subscriptionId, DateTimeOffset since, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            "SELECT COALESCE(SUM(file_size), 0) FROM export_job WHERE subscription_id = $s AND status = 'Completed' AND finished_at >= $since")
            .With("$s", subscriptionId).With("$since", since.Ms());
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public async Task<IReadOnlyDictionary<string, long>> CountByStatusAsync(CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "SELECT status, COUNT(*) FROM export_job GROUP BY status");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    public async Task<ExportLease?> TryClaimNextAsync(string nodeId, DateTimeOffset now, TimeSpan leaseDuration, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct);
        // startedAt is never before queuedAt: a worker's "now" can be taken just before an enqueue commits the job it
        // then claims.
        await using var claim = SqliteDatabase.Command(c, tx, """
            UPDATE export_job
               SET status = 'Processing', started_at = COALESCE(started_at, MAX($now, queued_at)), lease_node = $node, lease_expires_at = $exp,
                   fencing_token = fencing_token + 1
             WHERE export_id = (
                   SELECT j.export_id FROM export_job j
                    WHERE j.status = 'Queued' AND j.held = 0
                      AND (SELECT COUNT(*) FROM export_job p WHERE p.subscription_id = j.subscription_id AND p.status = 'Processing') < j.max_processing
                    ORDER BY j.queued_at, j.export_id LIMIT 1)
               AND status = 'Queued'
            RETURNING export_id, subscription_id, fencing_token
            """).With("$now", now.Ms()).With("$node", nodeId).With("$exp", (now + leaseDuration).Ms());
        var lease = await ReadLeaseAsync(claim, nodeId, now + leaseDuration, ct);
        await tx.CommitAsync(ct);
        return lease;
    }

    public async Task<ExportLease?> TryClaimAbandonedAsync(string nodeId, DateTimeOffset now, TimeSpan leaseDuration, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await c.BeginTransactionAsync(ct);
        await using var claim = SqliteDatabase.Command(c, tx, """
            UPDATE export_job
               SET lease_node = $node, lease_expires_at = $exp, fencing_token = fencing_token + 1
             WHERE export_id = (
                   SELECT export_id FROM export_job WHERE status = 'Processing' AND lease_expires_at < $now ORDER BY lease_expires_at LIMIT 1)
               AND status = 'Processing' AND lease_expires_at < $now
            RETURNING export_id, subscription_id, fencing_token
            """).With("$now", now.Ms()).With("$node", nodeId).With("$exp", (now + leaseDuration).Ms());
        var lease = await ReadLeaseAsync(claim, nodeId, now + leaseDuration, ct);
        await tx.CommitAsync(ct);
        return lease;
    }

    public async Task<bool> RenewLeaseAsync(ExportLease lease, DateTimeOffset expiresAt, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            "UPDATE export_job SET lease_expires_at = $exp WHERE export_id = $id AND status = 'Processing' AND fencing_token = $t")
            .With("$exp", expiresAt.Ms()).With("$id", Id(lease.ExportId)).With("$t", lease.FencingToken);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<bool> CompleteAsync(ExportLease lease, ExportFileInfo file, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, """
            UPDATE export_job
               SET status = 'Completed', finished_at = $now, number_of_records = $n, file_size = $size, file_checksum = $sum,
                   lease_node = NULL, lease_expires_at = NULL
             WHERE export_id = $id AND status = 'Processing' AND fencing_token = $t
            """).With("$now", now.Ms()).With("$n", file.NumberOfRecords).With("$size", file.FileSize).With("$sum", file.FileChecksum)
            .With("$id", Id(lease.ExportId)).With("$t", lease.FencingToken);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<bool> FailAsync(ExportLease lease, string errorMsg, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, """
            UPDATE export_job SET status = 'Failed', finished_at = $now, error_msg = $e, lease_node = NULL, lease_expires_at = NULL
             WHERE export_id = $id AND status = 'Processing' AND fencing_token = $t
            """).With("$now", now.Ms()).With("$e", errorMsg).With("$id", Id(lease.ExportId)).With("$t", lease.FencingToken);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<int> RequeueLeasesOfNodeAsync(string nodeId, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, """
            UPDATE export_job SET status = 'Queued', started_at = NULL, lease_node = NULL, lease_expires_at = NULL,
                   fencing_token = fencing_token + 1
             WHERE status = 'Processing' AND lease_node = $node
            """).With("$node", nodeId);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<ExportJobRecord>> ListFilesToExpireAsync(int subscriptionId, DateTimeOffset finishedBefore, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            $"SELECT {Columns} FROM export_job WHERE subscription_id = $s AND status = 'Completed' AND file_expired = 0 AND finished_at < $b LIMIT $n")
            .With("$s", subscriptionId).With("$b", finishedBefore.Ms()).With("$n", limit);
        return await ReadAsync(cmd, ct);
    }

    public async Task MarkFileExpiredAsync(Guid exportId, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "UPDATE export_job SET file_expired = 1 WHERE export_id = $id").With("$id", Id(exportId));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<int> DeleteJobsBeforeAsync(int subscriptionId, DateTimeOffset before, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null,
            "DELETE FROM export_job WHERE subscription_id = $s AND status NOT IN ('Queued', 'Processing') AND COALESCE(finished_at, created_at) < $b")
            .With("$s", subscriptionId).With("$b", before.Ms());
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<int> DeleteSubscriptionJobsAsync(int subscriptionId, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var cmd = SqliteDatabase.Command(c, null, "DELETE FROM export_job WHERE subscription_id = $s").With("$s", subscriptionId);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private static string Id(Guid id) => id.ToString("D");

    private static bool IsCallers([NotNullWhen(true)] ExportJobRecord? job, int apiUserId, string kind) =>
        job is not null && job.ApiUserId == apiUserId && string.Equals(job.Kind, kind, StringComparison.Ordinal);

    private static async Task<ExportLease?> ReadLeaseAsync(SqliteCommand claim, string nodeId, DateTimeOffset expiresAt, CancellationToken ct)
    {
        await using var r = await claim.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct))
        {
            return null;
        }

        return new ExportLease(Guid.Parse(r.GetString(0)), r.GetInt32(1), nodeId, r.GetInt64(2), SqliteExtensions.FromMs(expiresAt.Ms()));
    }

    private static async Task<ExportJobRecord?> GetAsync(SqliteConnection c, SqliteTransaction? tx, Guid exportId, CancellationToken ct)
    {
        await using var cmd = SqliteDatabase.Command(c, tx, $"SELECT {Columns} FROM export_job WHERE export_id = $id").With("$id", Id(exportId));
        return (await ReadAsync(cmd, ct)).FirstOrDefault();
    }

    private static async Task<List<ExportJobRecord>> ReadAsync(SqliteCommand cmd, CancellationToken ct)
    {
        var list = new List<ExportJobRecord>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            list.Add(new ExportJobRecord
            {
                ExportId = Guid.Parse(r.GetString(0)),
                SubscriptionId = r.GetInt32(1),
                ApiUserId = r.GetInt32(2),
                Format = (ExportFormat)r.GetInt32(3),
                Status = Enum.Parse<ExportJobStatus>(r.GetString(4)),
                SpecJson = r.GetString(5),
                CreatedAt = SqliteExtensions.FromMs(r.GetInt64(6)),
                QueuedAt = r.FromMs(7),
                StartedAt = r.FromMs(8),
                FinishedAt = r.FromMs(9),
                NumberOfRecords = r.Int64OrNull(10),
                FileSize = r.Int64OrNull(11),
                FileChecksum = r.StringOrNull(12),
                ErrorMsg = r.StringOrNull(13),
                FencingToken = r.GetInt64(14),
                FileExpired = r.GetInt64(15) != 0,
                Kind = r.GetString(16),
            });
        }

        return list;
    }
}
