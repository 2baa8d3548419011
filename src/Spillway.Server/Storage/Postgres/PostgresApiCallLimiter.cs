using System.Collections.Concurrent;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Spillway.Contracts;
using Spillway.Server.Hosting;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>
/// The API call limits (606, 607, 615) across every node sharing the database: calls per rolling window (606), calls in
/// flight (615) and calls per quota day (607), so N nodes admit exactly what one would. Refused calls are not counted.
/// An admission is one round trip: <c>spillway_admit_call</c> (migration 0004) checks and counts under the
/// subscription's row lock, held only for that statement. A release is one more (a counter decrement). Calls in
/// flight are counted per subscription and server process in a leased row that this process renews while it has
/// calls in flight, so a dead process's slots free themselves within <see cref="InFlightLease"/>.
/// </summary>
internal sealed class PostgresApiCallLimiter : IApiCallLimiter, IDisposable
{
    /// <summary>How long an in-flight slot lives without renewal (a node that died holds it at most this long).</summary>
    public static readonly TimeSpan InFlightLease = TimeSpan.FromMinutes(2);

    private const string AdmitSql = "SELECT code, epoch FROM spillway_admit_call($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

    private const string ReleaseSql =
        "UPDATE api_call_node SET in_flight = in_flight - 1 WHERE subscription_id = $1 AND node_id = $2 AND epoch = $3 AND in_flight > 0";

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _clock;

    // Per process, never the configured NodeId: a node restarted under the same name must not inherit the counter of
    // the calls its previous process had in flight when it died.
    private readonly string _nodeId = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    // This process's calls in flight per subscription: whose rows the renewal keeps alive.
    private readonly ConcurrentDictionary<int, int> _inFlight = new();

    // Releases that failed (the database was unreachable): retried by the renewal, since a counter, unlike a row per
    // call, would otherwise keep the slot while this process keeps renewing its row.
    private readonly ConcurrentQueue<(int Subscription, long Epoch)> _unreleased = new();
    private readonly ITimer _renewal;

    public PostgresApiCallLimiter(NpgsqlDataSource dataSource, TimeProvider? clock = null)
    {
        _dataSource = dataSource;
        _clock = clock ?? TimeProvider.System;
        var every = InFlightLease / 4;
        _renewal = _clock.CreateTimer(_ => _ = RenewAsync(), null, every, every);
    }

    /// <summary>This limiter's node id in <c>api_call_node</c> (tests read it).</summary>
    internal string NodeId => _nodeId;

    public async ValueTask<(CallPermit? Permit, MarketoError? Error)> TryAdmitAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var limits = caller.Limits;
        var subscriptionId = caller.SubscriptionId;

        int code;
        long epoch;
        await using (var connection = await _dataSource.OpenConnectionAsync(ct))
        await using (var command = Command(connection, null, AdmitSql,
            Int(subscriptionId), Text(caller.Email), Text(_nodeId), Long(now.UtcTicks), Time(now),
            P(SpillwayClock.QuotaDay(now), NpgsqlDbType.Date), Long(TimeSpan.FromSeconds(limits.RateLimitWindowSeconds).Ticks), Int(limits.RateLimitCalls),
            Int(limits.ConcurrentCalls), Long(limits.DailyCallQuota), P(InFlightLease, NpgsqlDbType.Interval)))
        {
            // Prepared once per pooled connection (Npgsql keeps it across opens): later calls skip parse and plan.
            await command.PrepareAsync(ct);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            code = reader.GetInt32(0);
            epoch = reader.IsDBNull(1) ? 0 : reader.GetInt64(1);
        }

        switch (code)
        {
            case 607:
                return (null, MarketoErrors.DailyQuotaReached);
            case 606:
                return (null, MarketoErrors.RateLimitExceeded(limits.RateLimitCalls, limits.RateLimitWindowSeconds));
            case 615:
                return (null, MarketoErrors.ConcurrentAccessLimit(limits.ConcurrentCalls));
        }

        _inFlight.AddOrUpdate(subscriptionId, 1, (_, n) => n + 1);
        return (new CallPermit(() => new ValueTask(ReleaseAsync(subscriptionId, epoch))), null);
    }

    public async ValueTask<UsageDay> UsageAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var day = SpillwayClock.QuotaDay(now);
        var users = new List<UsageByUser>();
        await using (var command = Command(_dataSource,
            "SELECT email, calls FROM api_call_day WHERE subscription_id = $1 AND day = $2",
            Int(caller.SubscriptionId), P(day, NpgsqlDbType.Date)))
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

    public async ValueTask<long> CallsInWindowAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var window = TimeSpan.FromSeconds(caller.Limits.RateLimitWindowSeconds).Ticks;
        await using var command = Command(_dataSource,
            "SELECT count(*) FROM api_call_stamp WHERE subscription_id = $1 AND at > $2 AND at <= $3",
            Int(caller.SubscriptionId), Long(now.UtcTicks - window), Long(now.UtcTicks));
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    public void Reset(int subscriptionId)
    {
        using var connection = _dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var batch = new NpgsqlBatch(connection, transaction))
        {
            // The state row first: it is the lock admissions take, so none runs between the deletes.
            batch.BatchCommands.Add(Batch("DELETE FROM api_call_state WHERE subscription_id = $1", Int(subscriptionId)));
            batch.BatchCommands.Add(Batch("DELETE FROM api_call_stamp WHERE subscription_id = $1", Int(subscriptionId)));
            batch.BatchCommands.Add(Batch("DELETE FROM api_call_day WHERE subscription_id = $1", Int(subscriptionId)));
            // Calls in flight now are forgotten, as by the single-node limiter; their releases find a new epoch.
            batch.BatchCommands.Add(Batch("DELETE FROM api_call_node WHERE subscription_id = $1", Int(subscriptionId)));
            batch.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    public void Dispose() => _renewal.Dispose();

    private async Task ReleaseAsync(int subscriptionId, long epoch)
    {
        _inFlight.AddOrUpdate(subscriptionId, 0, (_, n) => Math.Max(0, n - 1));
        if (!await TryReleaseAsync(subscriptionId, epoch))
        {
            _unreleased.Enqueue((subscriptionId, epoch));
        }
    }

    private async Task<bool> TryReleaseAsync(int subscriptionId, long epoch)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync();
            await using var command = Command(connection, null, ReleaseSql, Int(subscriptionId), Text(_nodeId), Long(epoch));
            await command.PrepareAsync();
            await command.ExecuteNonQueryAsync();
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    private async Task RenewAsync()
    {
        for (var pending = _unreleased.Count; pending > 0 && _unreleased.TryDequeue(out var release); pending--)
        {
            if (!await TryReleaseAsync(release.Subscription, release.Epoch))
            {
                _unreleased.Enqueue(release);
                break;
            }
        }

        var busy = _inFlight.Where(e => e.Value > 0).Select(e => e.Key).ToArray();
        var now = _clock.GetUtcNow();
        try
        {
            await using var batch = _dataSource.CreateBatch();
            if (busy.Length > 0)
            {
                // Never shortens a lease: an admission stamped with a subscription's own clock may have set it later.
                batch.BatchCommands.Add(Batch(
                    "UPDATE api_call_node SET expires_at = greatest(expires_at, $3) WHERE node_id = $1 AND subscription_id = ANY($2)",
                    Text(_nodeId), P(busy, NpgsqlDbType.Array | NpgsqlDbType.Integer), Time(now + InFlightLease)));
            }

            // Rows of processes that stopped renewing a lease ago: they count for nothing and only lengthen the sum.
            batch.BatchCommands.Add(Batch("DELETE FROM api_call_node WHERE node_id <> $1 AND expires_at < $2",
                Text(_nodeId), Time(now - InFlightLease)));
            await batch.ExecuteNonQueryAsync();
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
