using System.Collections.Concurrent;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Spillway.Contracts;
using Spillway.Server.Hosting;
using Spillway.Server.Identity;
using Spillway.Server.Limits;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// The API call limits of decision 26 across every node sharing the database: calls per rolling window (606), calls in
/// flight (615) and calls per quota day (607), checked and counted in one transaction under the subscription's
/// advisory lock, so N nodes admit exactly what one would. Refused calls are not counted. A call in flight holds a
/// leased row that this node renews while the call runs; a dead node's slots free themselves within
/// <see cref="InFlightLease"/>.
/// </summary>
internal sealed class PostgresApiCallLimiter : IApiCallLimiter, IDisposable
{
    /// <summary>How long an in-flight slot lives without renewal (a node that died holds it at most this long).</summary>
    public static readonly TimeSpan InFlightLease = TimeSpan.FromMinutes(2);

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _clock;
    private readonly string _nodeId = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<Guid, byte> _held = new();
    private readonly ITimer _renewal;

    public PostgresApiCallLimiter(NpgsqlDataSource dataSource, TimeProvider? clock = null)
    {
        _dataSource = dataSource;
        _clock = clock ?? TimeProvider.System;
        var every = InFlightLease / 4;
        _renewal = _clock.CreateTimer(_ => _ = RenewAsync(), null, every, every);
    }

    public async ValueTask<(CallPermit? Permit, MarketoError? Error)> TryAdmitAsync(ApiCaller caller, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var limits = caller.Limits;
        var subscriptionId = caller.Subscription.Id;
        var day = SpillwayClock.QuotaDay(now);
        var window = TimeSpan.FromSeconds(limits.RateLimitWindowSeconds);
        var windowStart = now - window;
        // A call stamped later than this one may have taken the lock first (another node, or this one under load):
        // it still counts. Only calls more than a window ahead are left out (a clock that was set back).
        var windowEnd = now + window;

        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await XactLockAsync(connection, transaction, ApiCallLock, subscriptionId, ct);

        long dayTotal, recent, inFlight;
        await using (var read = Command(connection, transaction,
            """
            SELECT (SELECT coalesce(sum(calls), 0)::bigint FROM api_call_day WHERE subscription_id = $1 AND day = $2),
                   (SELECT count(*) FROM api_call_recent WHERE subscription_id = $1 AND at > $3 AND at <= $5),
                   (SELECT count(*) FROM api_call_in_flight WHERE subscription_id = $1 AND expires_at > $4)
            """,
            Int(subscriptionId), P(day, NpgsqlDbType.Date), Time(windowStart), Time(now), Time(windowEnd)))
        await using (var reader = await read.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            dayTotal = reader.GetInt64(0);
            recent = reader.GetInt64(1);
            inFlight = reader.GetInt64(2);
        }

        // The same order as the single-node limiter: 607, then 606, then 615.
        if (dayTotal >= limits.DailyCallQuota)
        {
            return (null, MarketoErrors.DailyQuotaReached);
        }

        if (recent >= limits.RateLimitCalls)
        {
            return (null, MarketoErrors.RateLimitExceeded(limits.RateLimitCalls, limits.RateLimitWindowSeconds));
        }

        if (inFlight >= limits.ConcurrentCalls)
        {
            return (null, MarketoErrors.ConcurrentAccessLimit(limits.ConcurrentCalls));
        }

        var id = Guid.NewGuid();
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(Batch("DELETE FROM api_call_recent WHERE subscription_id = $1 AND at <= $2",
                Int(subscriptionId), Time(windowStart)));
            batch.BatchCommands.Add(Batch("DELETE FROM api_call_in_flight WHERE subscription_id = $1 AND expires_at <= $2",
                Int(subscriptionId), Time(now)));
            batch.BatchCommands.Add(Batch("INSERT INTO api_call_recent (subscription_id, at) VALUES ($1, $2)",
                Int(subscriptionId), Time(now)));
            batch.BatchCommands.Add(Batch(
                """
                INSERT INTO api_call_day (subscription_id, day, email, calls) VALUES ($1, $2, $3, 1)
                ON CONFLICT (subscription_id, day, email) DO UPDATE SET calls = api_call_day.calls + 1
                """,
                Int(subscriptionId), P(day, NpgsqlDbType.Date), Text(caller.User.Email)));
            batch.BatchCommands.Add(Batch(
                "INSERT INTO api_call_in_flight (id, subscription_id, node_id, expires_at) VALUES ($1, $2, $3, $4)",
                Uuid(id), Int(subscriptionId), Text(_nodeId), Time(now + InFlightLease)));
            await batch.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        _held[id] = 0;
        return (new CallPermit(() => new ValueTask(ReleaseAsync(id))), null);
    }

    public async ValueTask<UsageDay> UsageAsync(ApiCaller caller, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var day = SpillwayClock.QuotaDay(now);
        var users = new List<UsageByUser>();
        await using (var command = Command(_dataSource,
            "SELECT email, calls FROM api_call_day WHERE subscription_id = $1 AND day = $2",
            Int(caller.Subscription.Id), P(day, NpgsqlDbType.Date)))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                users.Add(new UsageByUser(reader.GetString(0), reader.GetInt64(1)));
            }
        }

        return new UsageDay
        {
            Date = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Total = users.Sum(u => u.Count),
            Users = [.. users.OrderBy(u => u.UserId, StringComparer.Ordinal)],
        };
    }

    public void Reset(int subscriptionId)
    {
        using var connection = _dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(Batch("SELECT pg_advisory_xact_lock($1, $2)", Int(ApiCallLock), Int(subscriptionId)));
            batch.BatchCommands.Add(Batch("DELETE FROM api_call_recent WHERE subscription_id = $1", Int(subscriptionId)));
            batch.BatchCommands.Add(Batch("DELETE FROM api_call_day WHERE subscription_id = $1", Int(subscriptionId)));
            batch.BatchCommands.Add(Batch("DELETE FROM api_call_in_flight WHERE subscription_id = $1", Int(subscriptionId)));
            batch.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    public void Dispose() => _renewal.Dispose();

    private async Task ReleaseAsync(Guid id)
    {
        _held.TryRemove(id, out _);
        try
        {
            await using var command = Command(_dataSource, "DELETE FROM api_call_in_flight WHERE id = $1", Uuid(id));
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // The slot frees itself when its lease runs out.
        }
    }

    private async Task RenewAsync()
    {
        var ids = _held.Keys.ToArray();
        if (ids.Length == 0)
        {
            return;
        }

        try
        {
            await using var command = Command(_dataSource, "UPDATE api_call_in_flight SET expires_at = $2 WHERE id = ANY($1)",
                P(ids, NpgsqlDbType.Array | NpgsqlDbType.Uuid), Time(_clock.GetUtcNow() + InFlightLease));
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // Retried at the next tick; a slot whose lease ran out meanwhile only stops counting.
        }
    }

    private static NpgsqlBatchCommand Batch(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }
}
