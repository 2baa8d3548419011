using Npgsql;
using NpgsqlTypes;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// Export jobs in PostgreSQL, safe for many nodes sharing one database.
/// <list type="bullet">
/// <item>Enqueue and claim serialise per subscription with <c>pg_advisory_xact_lock(SubscriptionQueueLock, subscription)</c>,
/// then count under the lock: concurrent enqueues or claims through different nodes can never exceed the limits.</item>
/// <item>Lock order is always advisory lock first, row lock second, and a transaction holds at most one advisory lock,
/// so enqueue and claim cannot deadlock each other.</item>
/// <item>Every worker write is a compare-and-set on (export_id, status = Processing, fencing_token, lease_node).</item>
/// </list>
/// </summary>
internal sealed class PostgresExportJobStore(NpgsqlDataSource dataSource) : IExportJobStore
{
    /// <summary>The documented default (2 Processing), used only for a job stored Queued without going through enqueue.</summary>
    private const int DefaultMaxProcessing = 2;

    /// <summary>How many subscriptions one claim call tries before it gives up until the next poll.</summary>
    private const int ClaimAttempts = 16;

    private const string Columns =
        "export_id, subscription_id, api_user_id, format, status, spec_json, created_at, queued_at, started_at, " +
        "finished_at, number_of_records, file_size, file_checksum, error_msg, fencing_token, file_expired, kind";

    private const string LeaseColumns = "export_id, subscription_id, lease_node, fencing_token, lease_expires_at";

    public async Task CreateAsync(ExportJobRecord job, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(job);
        await using var command = Command(dataSource,
            $"""
            INSERT INTO export_job ({Columns})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
            """,
            Uuid(job.ExportId), Int(job.SubscriptionId), Int(job.ApiUserId), Text(job.Format.ToString()),
            Text(job.Status.ToString()), Text(job.SpecJson), Time(job.CreatedAt), NTime(job.QueuedAt), NTime(job.StartedAt),
            NTime(job.FinishedAt), NLong(job.NumberOfRecords), NLong(job.FileSize), Text(job.FileChecksum), Text(job.ErrorMsg),
            Long(job.FencingToken), P(job.FileExpired, NpgsqlDbType.Boolean), Text(job.Kind));
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<ExportJobRecord?> GetAsync(Guid exportId, int apiUserId, string kind, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"SELECT {Columns} FROM export_job WHERE export_id = $1 AND api_user_id = $2 AND kind = $3", Uuid(exportId), Int(apiUserId), Text(kind));
        return await PostgresIdentityStore.ReadOneAsync(command, ReadJob, ct);
    }

    public async Task<ExportJobRecord?> GetByIdAsync(Guid exportId, CancellationToken ct)
    {
        await using var command = Command(dataSource, $"SELECT {Columns} FROM export_job WHERE export_id = $1", Uuid(exportId));
        return await PostgresIdentityStore.ReadOneAsync(command, ReadJob, ct);
    }

    public async Task<JobPage> ListAsync(int apiUserId, string kind, DateTimeOffset createdSince, IReadOnlyCollection<ExportJobStatus>? statuses,
        int batchSize, JobListCursor? after, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var parameters = new List<NpgsqlParameter> { Int(apiUserId), Time(createdSince), Int(batchSize + 1), Text(kind) };
        var sql = $"SELECT {Columns} FROM export_job WHERE api_user_id = $1 AND kind = $4 AND created_at >= $2";
        if (statuses is { Count: > 0 })
        {
            parameters.Add(P(statuses.Select(s => s.ToString()).ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text));
            sql += $" AND status = ANY(${parameters.Count})";
        }

        if (after is not null)
        {
            parameters.Add(Time(after.CreatedAt));
            parameters.Add(Uuid(after.ExportId));
            sql += $" AND (created_at, export_id) > (${parameters.Count - 1}, ${parameters.Count})";
        }

        sql += " ORDER BY created_at, export_id LIMIT $3";
        await using var command = Command(dataSource, sql, [.. parameters]);
        var jobs = await PostgresIdentityStore.ReadAllAsync(command, ReadJob, ct);
        if (jobs.Count <= batchSize)
        {
            return new JobPage(jobs, null);
        }

        var page = jobs.Take(batchSize).ToList();
        var last = page[^1];
        return new JobPage(page, new JobListCursor(last.CreatedAt, last.ExportId));
    }

    public async Task<EnqueueOutcome> EnqueueAsync(Guid exportId, int apiUserId, string kind, QueuePolicy policy, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(policy);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        int subscriptionId;
        await using (var owner = Command(connection, transaction,
            "SELECT subscription_id FROM export_job WHERE export_id = $1 AND api_user_id = $2 AND kind = $3", Uuid(exportId), Int(apiUserId), Text(kind)))
        {
            var found = await owner.ExecuteScalarAsync(ct);
            if (found is not int id)
            {
                return EnqueueOutcome.NotFound;
            }

            subscriptionId = id;
        }

        // Advisory lock first, row lock second (the claim uses the same order).
        await XactLockAsync(connection, transaction, SubscriptionQueueLock, subscriptionId, ct);

        await using (var current = Command(connection, transaction,
            "SELECT status FROM export_job WHERE export_id = $1 FOR UPDATE", Uuid(exportId)))
        {
            var status = await current.ExecuteScalarAsync(ct) is string s ? Enum.Parse<ExportJobStatus>(s) : (ExportJobStatus?)null;
            switch (status)
            {
                case null:
                    return EnqueueOutcome.NotFound;
                case ExportJobStatus.Queued or ExportJobStatus.Processing:
                    return EnqueueOutcome.AlreadyQueued;
                case ExportJobStatus.Completed or ExportJobStatus.Failed or ExportJobStatus.Cancelled:
                    return EnqueueOutcome.Finished;
            }
        }

        long active, exportedBytes;
        await using (var usage = Command(connection, transaction,
            """
            SELECT (SELECT count(*) FROM export_job
                     WHERE subscription_id = $1 AND status IN ('Queued', 'Processing')),
                   (SELECT coalesce(sum(file_size), 0)::bigint FROM export_job
                     WHERE subscription_id = $1 AND status = 'Completed' AND finished_at >= $2)
            """,
            Int(subscriptionId), Time(policy.QuotaDayStart)))
        await using (var reader = await usage.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            active = reader.GetInt64(0);
            exportedBytes = reader.GetInt64(1);
        }

        // The quota is checked first: a subscription over its quota hears about the quota, whatever its queue.
        if (exportedBytes >= policy.DailyQuotaBytes)
        {
            return EnqueueOutcome.QuotaExceeded;
        }

        if (active >= policy.MaxQueuedJobs)
        {
            return EnqueueOutcome.QueueFull;
        }

        await using (var queue = Command(connection, transaction,
            "UPDATE export_job SET status = 'Queued', queued_at = $2, max_processing = $3, held = $4 WHERE export_id = $1 AND status = 'Created'",
            Uuid(exportId), Time(now), Int(policy.MaxProcessingJobs), P(policy.Hold, NpgsqlDbType.Boolean)))
        {
            await queue.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        return EnqueueOutcome.Enqueued;
    }

    public async Task<CancelOutcome> CancelAsync(Guid exportId, int apiUserId, string kind, DateTimeOffset now, CancellationToken ct)
    {
        // A cancelled job keeps the timestamps it reached; cancelled_at is internal bookkeeping.
        // Clearing lease_expires_at and the status change make every later renew/complete/fail of the lease fail.
        while (true)
        {
            await using (var cancel = Command(dataSource,
                """
                UPDATE export_job SET status = 'Cancelled', cancelled_at = $3, lease_node = NULL, lease_expires_at = NULL
                WHERE export_id = $1 AND api_user_id = $2 AND kind = $4 AND status IN ('Created', 'Queued', 'Processing')
                """,
                Uuid(exportId), Int(apiUserId), Time(now), Text(kind)))
            {
                if (await cancel.ExecuteNonQueryAsync(ct) > 0)
                {
                    return CancelOutcome.Cancelled;
                }
            }

            await using var read = Command(dataSource,
                "SELECT status FROM export_job WHERE export_id = $1 AND api_user_id = $2 AND kind = $3", Uuid(exportId), Int(apiUserId), Text(kind));
            switch (await read.ExecuteScalarAsync(ct) is string s ? Enum.Parse<ExportJobStatus>(s) : (ExportJobStatus?)null)
            {
                case null:
                    return CancelOutcome.NotFound;
                case ExportJobStatus.Cancelled:
                    return CancelOutcome.AlreadyCancelled;
                case ExportJobStatus.Completed or ExportJobStatus.Failed:
                    return CancelOutcome.Finished;
                default:
                    continue; // it moved between our two statements (e.g. a requeue): try again
            }
        }
    }

    public async Task<long> ExportedBytesSinceAsync(int subscriptionId, DateTimeOffset since, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            """
            SELECT coalesce(sum(file_size), 0)::bigint FROM export_job
            WHERE subscription_id = $1 AND status = 'Completed' AND finished_at >= $2
            """,
            Int(subscriptionId), Time(since));
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    public async Task<IReadOnlyDictionary<string, long>> CountByStatusAsync(CancellationToken ct)
    {
        await using var command = Command(dataSource, "SELECT status, count(*)::bigint FROM export_job GROUP BY status");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }

    public async Task<ExportLease?> TryClaimNextAsync(string nodeId, DateTimeOffset now, TimeSpan leaseDuration, CancellationToken ct)
    {
        var tried = new List<int>();
        for (var attempt = 0; attempt < ClaimAttempts; attempt++)
        {
            // 1. A candidate subscription, read without locks: the oldest Queued job that looks startable.
            int subscriptionId;
            await using (var candidate = Command(dataSource,
                $"""
                SELECT j.subscription_id FROM export_job j
                WHERE j.status = 'Queued' AND NOT j.held AND NOT (j.subscription_id = ANY($1))
                  AND (SELECT count(*) FROM export_job p
                        WHERE p.subscription_id = j.subscription_id AND p.status = 'Processing')
                      < coalesce(j.max_processing, {DefaultMaxProcessing})
                ORDER BY j.queued_at, j.export_id
                LIMIT 1
                """,
                P(tried.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Integer)))
            {
                if (await candidate.ExecuteScalarAsync(ct) is not int id)
                {
                    return null;
                }

                subscriptionId = id;
            }

            // 2. Under the subscription's lock (one claimer or enqueuer per subscription across all nodes),
            //    count its Processing jobs again and take its oldest Queued job that fits, skipping rows that
            //    a concurrent cancel holds.
            var lease = await TryClaimInSubscriptionAsync(subscriptionId, nodeId, now, leaseDuration, ct);
            if (lease is not null)
            {
                return lease;
            }

            tried.Add(subscriptionId);
        }

        return null;
    }

    private async Task<ExportLease?> TryClaimInSubscriptionAsync(int subscriptionId, string nodeId, DateTimeOffset now,
        TimeSpan leaseDuration, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await XactLockAsync(connection, transaction, SubscriptionQueueLock, subscriptionId, ct);

        long processing;
        await using (var count = Command(connection, transaction,
            "SELECT count(*) FROM export_job WHERE subscription_id = $1 AND status = 'Processing'", Int(subscriptionId)))
        {
            processing = (long)(await count.ExecuteScalarAsync(ct))!;
        }

        ExportLease? lease;
        // startedAt is never before queuedAt: a worker's "now" can be taken just before an enqueue commits the job it
        // then claims.
        await using (var claim = Command(connection, transaction,
            $"""
            UPDATE export_job j
            SET status = 'Processing', started_at = coalesce(j.started_at, greatest($3, j.queued_at)), lease_node = $4, lease_expires_at = $5,
                fencing_token = j.fencing_token + 1
            FROM (SELECT export_id FROM export_job
                  WHERE subscription_id = $1 AND status = 'Queued' AND NOT held
                    AND coalesce(max_processing, {DefaultMaxProcessing}) > $2
                  ORDER BY queued_at, export_id
                  LIMIT 1
                  FOR UPDATE SKIP LOCKED) c
            WHERE j.export_id = c.export_id
            RETURNING j.{LeaseColumns.Replace(", ", ", j.", StringComparison.Ordinal)}
            """,
            Int(subscriptionId), Long(processing), Time(now), Text(nodeId), Time(now + leaseDuration)))
        {
            lease = await ReadLeaseAsync(claim, ct);
        }

        await transaction.CommitAsync(ct);
        return lease;
    }

    public async Task<ExportLease?> TryClaimAbandonedAsync(string nodeId, DateTimeOffset now, TimeSpan leaseDuration, CancellationToken ct)
    {
        // The slot stays taken (the job is Processing throughout), so no subscription lock is needed; SKIP LOCKED
        // plus the re-checked condition make two nodes never take over the same job.
        await using var command = Command(dataSource,
            $"""
            UPDATE export_job j
            SET lease_node = $1, lease_expires_at = $3, fencing_token = j.fencing_token + 1
            FROM (SELECT export_id FROM export_job
                  WHERE status = 'Processing' AND lease_expires_at < $2
                  ORDER BY lease_expires_at, export_id
                  LIMIT 1
                  FOR UPDATE SKIP LOCKED) c
            WHERE j.export_id = c.export_id AND j.status = 'Processing' AND j.lease_expires_at < $2
            RETURNING j.{LeaseColumns.Replace(", ", ", j.", StringComparison.Ordinal)}
            """,
            Text(nodeId), Time(now), Time(now + leaseDuration));
        return await ReadLeaseAsync(command, ct);
    }

    public async Task<bool> RenewLeaseAsync(ExportLease lease, DateTimeOffset expiresAt, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            """
            UPDATE export_job SET lease_expires_at = $4
            WHERE export_id = $1 AND status = 'Processing' AND fencing_token = $2 AND lease_node = $3
            """,
            Uuid(lease.ExportId), Long(lease.FencingToken), Text(lease.NodeId), Time(expiresAt));
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    public async Task<bool> CompleteAsync(ExportLease lease, ExportFileInfo file, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(file);
        await using var command = Command(dataSource,
            """
            UPDATE export_job
            SET status = 'Completed', finished_at = $4, number_of_records = $5, file_size = $6, file_checksum = $7,
                lease_node = NULL, lease_expires_at = NULL
            WHERE export_id = $1 AND status = 'Processing' AND fencing_token = $2 AND lease_node = $3
            """,
            Uuid(lease.ExportId), Long(lease.FencingToken), Text(lease.NodeId), Time(now),
            Long(file.NumberOfRecords), Long(file.FileSize), Text(file.FileChecksum));
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    public async Task<bool> FailAsync(ExportLease lease, string errorMsg, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            """
            UPDATE export_job SET status = 'Failed', finished_at = $4, error_msg = $5, lease_node = NULL, lease_expires_at = NULL
            WHERE export_id = $1 AND status = 'Processing' AND fencing_token = $2 AND lease_node = $3
            """,
            Uuid(lease.ExportId), Long(lease.FencingToken), Text(lease.NodeId), Time(now),
            Text(errorMsg?.Replace('\0', '\uFFFD'))); // an exception message may quote activity text; text cannot hold NUL
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    public async Task<int> RequeueLeasesOfNodeAsync(string nodeId, CancellationToken ct)
    {
        // Back to Queued as if never started (queued_at kept, so it goes first again); the token moves on so the old
        // lease is dead at once.
        await using var command = Command(dataSource,
            """
            UPDATE export_job
            SET status = 'Queued', started_at = NULL, lease_node = NULL, lease_expires_at = NULL,
                fencing_token = fencing_token + 1
            WHERE status = 'Processing' AND lease_node = $1
            """,
            Text(nodeId));
        return await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<ExportJobRecord>> ListFilesToExpireAsync(int subscriptionId, DateTimeOffset finishedBefore, int limit,
        CancellationToken ct)
    {
        await using var command = Command(dataSource,
            $"""
            SELECT {Columns} FROM export_job
            WHERE subscription_id = $1 AND status = 'Completed' AND NOT file_expired AND finished_at < $2
            ORDER BY finished_at, export_id
            LIMIT $3
            """,
            Int(subscriptionId), Time(finishedBefore), Int(limit));
        return await PostgresIdentityStore.ReadAllAsync(command, ReadJob, ct);
    }

    public async Task MarkFileExpiredAsync(Guid exportId, CancellationToken ct)
    {
        await using var command = Command(dataSource, "UPDATE export_job SET file_expired = true WHERE export_id = $1", Uuid(exportId));
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<int> DeleteJobsBeforeAsync(int subscriptionId, DateTimeOffset before, CancellationToken ct)
    {
        await using var command = Command(dataSource,
            """
            DELETE FROM export_job
            WHERE subscription_id = $1 AND status NOT IN ('Queued', 'Processing') AND coalesce(finished_at, created_at) < $2
            """,
            Int(subscriptionId), Time(before));
        return await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<int> DeleteSubscriptionJobsAsync(int subscriptionId, CancellationToken ct)
    {
        await using var command = Command(dataSource, "DELETE FROM export_job WHERE subscription_id = $1", Int(subscriptionId));
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<ExportLease?> ReadLeaseAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }

        return new ExportLease(reader.GetGuid(0), reader.GetInt32(1), reader.GetString(2), reader.GetInt64(3), reader.GetTime(4));
    }

    private static ExportJobRecord ReadJob(NpgsqlDataReader r) => new()
    {
        ExportId = r.GetGuid(0),
        SubscriptionId = r.GetInt32(1),
        ApiUserId = r.GetInt32(2),
        Format = Enum.Parse<ExportFormat>(r.GetString(3)),
        Status = Enum.Parse<ExportJobStatus>(r.GetString(4)),
        SpecJson = r.GetString(5),
        CreatedAt = r.GetTime(6),
        QueuedAt = r.GetNTime(7),
        StartedAt = r.GetNTime(8),
        FinishedAt = r.GetNTime(9),
        NumberOfRecords = r.GetNLong(10),
        FileSize = r.GetNLong(11),
        FileChecksum = r.GetNString(12),
        ErrorMsg = r.GetNString(13),
        FencingToken = r.GetInt64(14),
        FileExpired = r.GetBoolean(15),
        Kind = r.GetString(16),
    };
}
