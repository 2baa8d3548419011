using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Spillway.Server.Hosting;
using static Spillway.Server.Storage.Postgres.PgSql;

namespace Spillway.Server.Storage.Postgres;

/// <summary>How a node holds call grants (see <see cref="PostgresApiCallLimiter"/>).</summary>
/// <param name="Enabled">Whether nodes take grants at all (off: every call is one admission and one release in the database).</param>
/// <param name="Life">How long a grant lives in the database before it counts as its node's that died.</param>
/// <param name="UsableShare">The share of <paramref name="Life"/> the node admits calls under it (the rest is margin for its final report).</param>
/// <param name="Grace">How long after its life an unreported grant still counts before it is dropped.</param>
/// <param name="ReportEvery">How often a node reports the calls it admitted under its grants and learns of recalls.</param>
/// <param name="RecallTimeout">How long an admission waits for recalled grants before it answers 615.</param>
/// <param name="MaxCalls">The most calls one grant holds.</param>
/// <param name="MaxSlots">The most calls in flight one grant holds.</param>
internal sealed record CallGrantOptions(bool Enabled, TimeSpan Life, double UsableShare, TimeSpan Grace, TimeSpan ReportEvery,
    TimeSpan RecallTimeout, int MaxCalls, int MaxSlots)
{
    public static readonly CallGrantOptions Default = new(true, TimeSpan.FromSeconds(1), 0.75, TimeSpan.FromSeconds(2),
        TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(10), 256, 64);

    public static readonly CallGrantOptions Off = Default with { Enabled = false };
}

/// <summary>
/// Call grants: while a subscription is far from its limits, the database grants a node a few hundred calls and a few
/// dozen slots for about a second (<c>spillway_admit_call_granted</c>, migration 0017), and the node admits and
/// releases calls under it in memory, with no round trip. It reports what it admitted every
/// <see cref="CallGrantOptions.ReportEvery"/>; until then the database counts a grant's calls as admitted in every
/// window and its slots as taken, so no other node admits a call one node would refuse. Grants are made only with
/// four grants' worth of room left under each limit; a refusal that only unreported grant calls would cause recalls
/// the grants and waits for their reports, so no node refuses a call one node would admit. Under Marketo's default
/// limits (100 calls per 20 s, 10 in flight) a grant would be too small to be worth it, and every call goes to the
/// database as before.
/// </summary>
internal sealed partial class PostgresApiCallLimiter
{
    private const string ReportSql =
        "SELECT recalled, epoch FROM spillway_report_calls($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

    private readonly CallGrantOptions _grantOptions;
    private readonly ConcurrentDictionary<int, CallGrant> _current = new();
    private readonly ConcurrentDictionary<long, CallGrant> _open = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly SemaphoreSlim _reporting = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task? _reporter;

    /// <summary>Reports every grant's calls now (tests compare the database with the single-node limiter after it).</summary>
    internal Task ReportGrantsNowAsync() => ReportGrantsAsync(null, CancellationToken.None);

    private (int Calls, int Slots) GrantSize(CallLimits limits)
    {
        if (!_grantOptions.Enabled)
        {
            return (0, 0);
        }

        var calls = (int)Math.Min(_grantOptions.MaxCalls, Math.Min(limits.RateLimitCalls, limits.DailyCallQuota) / 16L);
        var slots = Math.Min(_grantOptions.MaxSlots, limits.ConcurrentCalls / 8);
        return calls >= 16 && slots >= 4 ? (calls, slots) : (0, 0);
    }

    private CallPermit? TryTake(CallGrant grant, CallerCallLimits caller, DateOnly day, long at)
    {
        lock (grant)
        {
            if (!grant.Retired && grant.Calls > 0 && grant.Limits == caller.Limits && grant.Day == day
                && Math.Abs(at - grant.IssuedAt) <= TimeSpan.FromSeconds(grant.Limits.RateLimitWindowSeconds).Ticks
                && Stopwatch.GetTimestamp() < grant.UsableUntil)
            {
                if (grant.FreeSlots == 0)
                {
                    return null;
                }

                grant.Calls--;
                grant.FreeSlots--;
                grant.InFlight++;
                grant.Stamps.Add(at);
                grant.ByUser[caller.Email] = grant.ByUser.GetValueOrDefault(caller.Email) + 1;
                grant.LastAt = Math.Max(grant.LastAt, at);
                Interlocked.Increment(ref _granted);
                return new CallPermit(() => ReleaseGranted(grant));
            }

            // Used up, expired, or for other limits, another quota day or a clock that jumped: reported and ended at
            // the next report.
            grant.Retired = true;
        }

        _current.TryRemove(KeyValuePair.Create(grant.Subscription, grant));
        return null;
    }

    private ValueTask ReleaseGranted(CallGrant grant)
    {
        long epoch;
        lock (grant)
        {
            grant.InFlight--;
            if (grant.Forgotten)
            {
                return ValueTask.CompletedTask;
            }

            if (!grant.Settling)
            {
                grant.FreeSlots++;
                return ValueTask.CompletedTask;
            }

            if (grant.Epoch is not { } known)
            {
                // The final report is on its way with this call counted in flight: it is released once the row is known.
                grant.LateReleases++;
                return ValueTask.CompletedTask;
            }

            epoch = known;
        }

        return new ValueTask(ReleaseAsync(grant.Subscription, epoch, 1));
    }

    private void Install(CallGrant grant)
    {
        _open[grant.Id] = grant;
        CallGrant? replaced = null;
        _current.AddOrUpdate(grant.Subscription, grant, (_, previous) =>
        {
            replaced = previous;
            return grant;
        });

        if (replaced is not null && !ReferenceEquals(replaced, grant))
        {
            lock (replaced)
            {
                replaced.Retired = true;
            }
        }
    }

    private void RetireGrants(int subscriptionId)
    {
        foreach (var grant in _open.Values.Where(g => g.Subscription == subscriptionId))
        {
            lock (grant)
            {
                grant.Retired = true;
            }

            _current.TryRemove(KeyValuePair.Create(subscriptionId, grant));
        }
    }

    private void ForgetGrants(int subscriptionId)
    {
        _reporting.Wait();
        try
        {
            foreach (var grant in _open.Values.Where(g => g.Subscription == subscriptionId))
            {
                lock (grant)
                {
                    // As the single-node limiter forgets a reset subscription's calls, in flight ones included.
                    grant.Retired = grant.Settling = grant.Forgotten = true;
                    grant.Stamps.Clear();
                    grant.ByUser.Clear();
                }

                _open.TryRemove(grant.Id, out _);
                _current.TryRemove(KeyValuePair.Create(subscriptionId, grant));
            }
        }
        finally
        {
            _reporting.Release();
        }
    }

    private async Task ReportLoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(_grantOptions.ReportEvery, ct);
                await ReportGrantsAsync(null, ct);
                await RefillAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                // The database is unreachable: the next round retries. Grants stay conservative meanwhile.
            }
        }
    }

    private async Task ReportGrantsAsync(int? subscriptionId, CancellationToken ct)
    {
        if (_open.IsEmpty)
        {
            return;
        }

        await _reporting.WaitAsync(ct);
        try
        {
            foreach (var grant in _open.Values)
            {
                if (subscriptionId is null || grant.Subscription == subscriptionId)
                {
                    await ReportAsync(grant, ct);
                }
            }
        }
        finally
        {
            _reporting.Release();
        }
    }

    private async Task ReportAsync(CallGrant grant, CancellationToken ct)
    {
        // A report that learns of a recall is followed at once by the final one.
        for (var round = 0; round < 2; round++)
        {
            long[] stamps;
            string[] emails;
            long[] counts;
            bool final;
            int moved;
            lock (grant)
            {
                if (grant.Forgotten)
                {
                    _open.TryRemove(grant.Id, out _);
                    return;
                }

                final = grant.Retired || grant.Calls == 0 || Stopwatch.GetTimestamp() >= grant.UsableUntil;
                if (final)
                {
                    grant.Retired = grant.Settling = true;
                    grant.LateReleases = 0;
                }

                stamps = [.. grant.Stamps];
                emails = [.. grant.ByUser.Keys];
                counts = [.. grant.ByUser.Values];
                grant.Stamps.Clear();
                grant.ByUser.Clear();
                moved = grant.InFlight;
            }

            if (final)
            {
                _current.TryRemove(KeyValuePair.Create(grant.Subscription, grant));
            }

            bool recalled;
            long? epoch;
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(ct);
                await using var command = Command(connection, null, ReportSql,
                    Int(grant.Subscription), Text(_nodeId), Long(grant.Id), P(stamps, NpgsqlDbType.Array | NpgsqlDbType.Bigint),
                    P(emails, NpgsqlDbType.Array | NpgsqlDbType.Text), P(counts, NpgsqlDbType.Array | NpgsqlDbType.Bigint),
                    P(grant.Day, NpgsqlDbType.Date), Int(grant.Limits.RateLimitCalls),
                    Long(TimeSpan.FromSeconds(grant.Limits.RateLimitWindowSeconds).Ticks), P(final, NpgsqlDbType.Boolean), Int(moved),
                    Time(new DateTimeOffset(grant.LastAt, TimeSpan.Zero)), P(InFlightLease, NpgsqlDbType.Interval));
                await command.PrepareAsync(ct);
                await using var reader = await command.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                recalled = reader.GetBoolean(0);
                epoch = reader.GetNLong(1);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException)
            {
                lock (grant)
                {
                    // Nothing landed: the calls are reported next time, and a final report then moves the calls in
                    // flight at that moment (releases meanwhile have already left InFlight).
                    grant.Stamps.InsertRange(0, stamps);
                    for (var i = 0; i < emails.Length; i++)
                    {
                        grant.ByUser[emails[i]] = grant.ByUser.GetValueOrDefault(emails[i]) + counts[i];
                    }

                    grant.LateReleases = 0;
                }

                if (ex is OperationCanceledException)
                {
                    throw;
                }

                return;
            }

            if (final)
            {
                int late;
                lock (grant)
                {
                    grant.Epoch = epoch ?? 0;
                    late = grant.LateReleases;
                }

                _open.TryRemove(grant.Id, out _);
                if (moved > 0)
                {
                    _inFlight.AddOrUpdate(grant.Subscription, moved, (_, n) => n + moved);
                }

                if (late > 0 && epoch is { } row)
                {
                    await ReleaseAsync(grant.Subscription, row, late);
                }

                return;
            }

            if (!recalled)
            {
                return;
            }

            lock (grant)
            {
                grant.Retired = true;
            }
        }
    }

    // A busy node asks for its next grant before the current one runs out, so its calls rarely wait for the database.
    private async Task RefillAsync(CancellationToken ct)
    {
        foreach (var grant in _current.Values)
        {
            bool due;
            lock (grant)
            {
                due = !grant.Retired && grant.Refills == 0 && grant.TakenSinceIssue > 0
                    && (grant.Calls < grant.Size / 2 || Stopwatch.GetTimestamp() >= grant.RefillAfter);
                if (due)
                {
                    grant.Refills++;
                }
            }

            if (due)
            {
                await AdmitAsync(grant.Subscription, "", grant.Limits, new DateTimeOffset(grant.LastAt, TimeSpan.Zero), grant.Day, false,
                    GrantSize(grant.Limits), ct);
            }
        }
    }

    private void StopReporting()
    {
        if (_reporter is null)
        {
            return;
        }

        _stop.Cancel();
        try
        {
            _reporter.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Stopped with an error: the final reports below still run.
        }

        foreach (var grant in _open.Values)
        {
            lock (grant)
            {
                grant.Retired = true;
            }
        }

        // A node that stops reports what it admitted and gives its grants back, so the others need not wait them out.
        try
        {
            ReportGrantsAsync(null, CancellationToken.None).Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Unreachable database: the grants run out after their life and grace.
        }

        _stop.Dispose();
    }

    /// <summary>A grant as its node holds it. Every field is guarded by the object's lock.</summary>
    private sealed class CallGrant(long id, int subscription, DateOnly day, CallLimits limits, long issuedAt, int calls, int slots,
        long usableUntil)
    {
        public readonly long Id = id;
        public readonly int Subscription = subscription;
        public readonly DateOnly Day = day;
        public readonly CallLimits Limits = limits;
        public readonly long IssuedAt = issuedAt;
        public readonly int Size = calls;
        public readonly long UsableUntil = usableUntil;
        public readonly long RefillAfter = usableUntil - (usableUntil - Stopwatch.GetTimestamp()) / 2;
        public readonly List<long> Stamps = [];
        public readonly Dictionary<string, long> ByUser = new(StringComparer.Ordinal);

        public int Calls = calls;
        public int FreeSlots = slots;
        public int InFlight;
        public int TakenSinceIssue => Size - Calls;
        public int Refills;
        public long LastAt = issuedAt;
        public volatile bool Retired;
        public bool Settling;
        public bool Forgotten;
        public long? Epoch;
        public int LateReleases;
    }
}
