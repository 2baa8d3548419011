using System.Collections.Concurrent;
using System.Diagnostics;
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
/// An admission through the database is one round trip: <c>spillway_admit_call_granted</c> (migrations 0004, 0017)
/// checks and counts under the subscription's row lock, held only for that statement. A release is one more (a
/// counter decrement). Calls in flight are counted per subscription and server process in a leased row that this
/// process renews while it has calls in flight, so a dead process's slots free themselves within
/// <see cref="InFlightLease"/>. While a subscription is far from its limits, a node holds a grant (a few hundred
/// calls and a few dozen slots, for about a second) and admits and releases calls on its own, reporting them in the
/// background: see <c>PostgresApiCallLimiter.Grants.cs</c>.
/// </summary>
internal sealed partial class PostgresApiCallLimiter : IApiCallLimiter, IDisposable
{
    /// <summary>How long an in-flight slot lives without renewal (a node that died holds it at most this long).</summary>
    public static readonly TimeSpan InFlightLease = TimeSpan.FromMinutes(2);

    private const string AdmitSql =
        "SELECT code, epoch, grant_id, grant_expires FROM spillway_admit_call_granted($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

    private const string ReleaseSql =
        "UPDATE api_call_node SET in_flight = in_flight - $4 WHERE subscription_id = $1 AND node_id = $2 AND epoch = $3 AND in_flight >= $4";

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _clock;

    // Per process, never the configured NodeId: a node restarted under the same name must not inherit the counter of
    // the calls its previous process had in flight when it died.
    private readonly string _nodeId = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";

    // This process's calls in flight per subscription that the database counts in its row: whose rows the renewal
    // keeps alive.
    private readonly ConcurrentDictionary<int, int> _inFlight = new();

    // Releases that failed (the database was unreachable): retried by the renewal, since a counter, unlike a row per
    // call, would otherwise keep the slot while this process keeps renewing its row.
    private readonly ConcurrentQueue<(int Subscription, long Epoch, int Calls)> _unreleased = new();
    private readonly ITimer _renewal;

    public PostgresApiCallLimiter(NpgsqlDataSource dataSource, TimeProvider? clock = null, CallGrantOptions? grants = null)
    {
        _dataSource = dataSource;
        _clock = clock ?? TimeProvider.System;
        var every = InFlightLease / 4;
        _renewal = _clock.CreateTimer(_ => _ = RenewAsync(), null, every, every);
        _grantOptions = grants ?? CallGrantOptions.Default;
        if (_grantOptions.Enabled)
        {
            _reporter = Task.Run(ReportLoopAsync);
        }
    }

    /// <summary>This limiter's node id in <c>api_call_node</c> (tests read it).</summary>
    internal string NodeId => _nodeId;

    /// <summary>
    /// Calls this node took to the database, how many of those found grants in the way, and how many calls it admitted
    /// under a grant (tests and the bench read them).
    /// </summary>
    internal (long Admissions, long Recalls, long Granted) Counters =>
        (Interlocked.Read(ref _admissions), Interlocked.Read(ref _recalls), Interlocked.Read(ref _granted));

    private long _admissions;
    private long _recalls;
    private long _granted;

    public async ValueTask<(CallPermit? Permit, MarketoError? Error)> TryAdmitAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var day = SpillwayClock.QuotaDay(now);
        if (_current.TryGetValue(caller.SubscriptionId, out var grant) && TryTake(grant, caller, day, now.UtcTicks) is { } permit)
        {
            return (permit, null);
        }

        return await AdmitThroughDatabaseAsync(caller, now, day, ct);
    }

    private async ValueTask<(CallPermit? Permit, MarketoError? Error)> AdmitThroughDatabaseAsync(
        CallerCallLimits caller, DateTimeOffset now, DateOnly day, CancellationToken ct)
    {
        var limits = caller.Limits;
        var subscriptionId = caller.SubscriptionId;
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            // Another grant only when this node holds none it can still use (one whose slots are all busy still counts).
            var ask = _current.TryGetValue(subscriptionId, out var held) && !held.Retired ? (0, 0) : GrantSize(limits);
            Interlocked.Increment(ref _admissions);
            var answer = await AdmitAsync(caller.SubscriptionId, caller.Email, limits, now, day, true, ask, ct);
            if (answer.Code == 1)
            {
                Interlocked.Increment(ref _recalls);
                // Only grants' unreported calls stand between this call and its answer; they are recalled. This node's
                // own are reported at once, the others' at their nodes' next report (every few milliseconds).
                RetireGrants(subscriptionId);
                _wake.Release();
                if (Stopwatch.GetElapsedTime(started) > _grantOptions.RecallTimeout)
                {
                    // Only a database that stays unreachable to the grants' nodes gets here: grants of a dead node are
                    // dropped after their life and grace. A 615 is what a client retries.
                    return (null, MarketoErrors.ConcurrentAccessLimit(limits.ConcurrentCalls));
                }

                await Task.Delay(_grantOptions.ReportEvery / 4, ct);
                continue;
            }

            switch (answer.Code)
            {
                case 607:
                    return (null, MarketoErrors.DailyQuotaReached);
                case 606:
                    return (null, MarketoErrors.RateLimitExceeded(limits.RateLimitCalls, limits.RateLimitWindowSeconds));
                case 615:
                    return (null, MarketoErrors.ConcurrentAccessLimit(limits.ConcurrentCalls));
            }

            _inFlight.AddOrUpdate(subscriptionId, 1, (_, n) => n + 1);
            var epoch = answer.Epoch;
            return (new CallPermit(() => new ValueTask(ReleaseAsync(subscriptionId, epoch, 1))), null);
        }
    }

    private async Task<AdmitAnswer> AdmitAsync(int subscriptionId, string email, CallLimits limits, DateTimeOffset now, DateOnly day, bool call,
        (int Calls, int Slots) grant, CancellationToken ct)
    {
        var asked = Stopwatch.GetTimestamp();
        AdmitAnswer answer;
        await using (var connection = await _dataSource.OpenConnectionAsync(ct))
        await using (var command = Command(connection, null, AdmitSql,
            Int(subscriptionId), Text(email), Text(_nodeId), Long(now.UtcTicks), Time(now),
            P(day, NpgsqlDbType.Date), Long(TimeSpan.FromSeconds(limits.RateLimitWindowSeconds).Ticks), Int(limits.RateLimitCalls),
            Int(limits.ConcurrentCalls), Long(limits.DailyCallQuota), P(InFlightLease, NpgsqlDbType.Interval),
            P(call, NpgsqlDbType.Boolean), Int(grant.Calls), Int(grant.Slots),
            P(_grantOptions.Life, NpgsqlDbType.Interval), P(_grantOptions.Grace, NpgsqlDbType.Interval)))
        {
            // Prepared once per pooled connection (Npgsql keeps it across opens): later calls skip parse and plan.
            await command.PrepareAsync(ct);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            answer = new AdmitAnswer(reader.GetInt32(0), reader.IsDBNull(1) ? 0 : reader.GetInt64(1), reader.GetNLong(2));
        }

        if (answer.GrantId is { } id)
        {
            Install(new CallGrant(id, subscriptionId, day, limits, now.UtcTicks, grant.Calls, grant.Slots,
                asked + (long)(_grantOptions.Life.TotalSeconds * _grantOptions.UsableShare * Stopwatch.Frequency)));
        }

        return answer;
    }

    private readonly record struct AdmitAnswer(int Code, long Epoch, long? GrantId);

    public async ValueTask<UsageDay> UsageAsync(CallerCallLimits caller, DateTimeOffset now, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        // This node's calls under a grant first, so a client reading its usage from the node it called sees every call.
        await ReportGrantsAsync(caller.SubscriptionId, ct);
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
        await ReportGrantsAsync(caller.SubscriptionId, ct);
        var window = TimeSpan.FromSeconds(caller.Limits.RateLimitWindowSeconds).Ticks;
        await using var command = Command(_dataSource,
            "SELECT count(*) FROM api_call_stamp WHERE subscription_id = $1 AND at > $2 AND at <= $3",
            Int(caller.SubscriptionId), Long(now.UtcTicks - window), Long(now.UtcTicks));
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    public void Reset(int subscriptionId)
    {
        // After a report in progress has landed, so that nothing reported afterwards predates the reset.
        ForgetGrants(subscriptionId);
        using var connection = _dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var batch = new NpgsqlBatch(connection, transaction))
        {
            // The state row first: it is the lock admissions take, so none runs between the deletes.
            batch.BatchCommands.Add(BatchCommand("DELETE FROM api_call_state WHERE subscription_id = $1", Int(subscriptionId)));
            batch.BatchCommands.Add(BatchCommand("DELETE FROM api_call_stamp WHERE subscription_id = $1", Int(subscriptionId)));
            batch.BatchCommands.Add(BatchCommand("DELETE FROM api_call_day WHERE subscription_id = $1", Int(subscriptionId)));
            // Calls in flight now are forgotten, as by the single-node limiter; their releases find a new epoch.
            batch.BatchCommands.Add(BatchCommand("DELETE FROM api_call_node WHERE subscription_id = $1", Int(subscriptionId)));
            // Other nodes' grants: their next report finds them gone and they stop admitting on their own.
            batch.BatchCommands.Add(BatchCommand("DELETE FROM api_call_grant WHERE subscription_id = $1", Int(subscriptionId)));
            batch.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    public void Dispose()
    {
        _renewal.Dispose();
        StopReporting();
    }

    private async Task ReleaseAsync(int subscriptionId, long epoch, int calls)
    {
        _inFlight.AddOrUpdate(subscriptionId, 0, (_, n) => Math.Max(0, n - calls));
        if (!await TryReleaseAsync(subscriptionId, epoch, calls))
        {
            _unreleased.Enqueue((subscriptionId, epoch, calls));
        }
    }

    private async Task<bool> TryReleaseAsync(int subscriptionId, long epoch, int calls)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync();
            await using var command = Command(connection, null, ReleaseSql, Int(subscriptionId), Text(_nodeId), Long(epoch), Int(calls));
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
            if (!await TryReleaseAsync(release.Subscription, release.Epoch, release.Calls))
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
                batch.BatchCommands.Add(BatchCommand(
                    "UPDATE api_call_node SET expires_at = greatest(expires_at, $3) WHERE node_id = $1 AND subscription_id = ANY($2)",
                    Text(_nodeId), P(busy, NpgsqlDbType.Array | NpgsqlDbType.Integer), Time(now + InFlightLease)));
            }

            // Rows of processes that stopped renewing a lease ago: they count for nothing and only lengthen the sum.
            batch.BatchCommands.Add(BatchCommand("DELETE FROM api_call_node WHERE node_id <> $1 AND expires_at < $2",
                Text(_nodeId), Time(now - InFlightLease)));
            await batch.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // Retried at the next tick; a slot whose lease ran out meanwhile only stops counting.
        }
    }
}
