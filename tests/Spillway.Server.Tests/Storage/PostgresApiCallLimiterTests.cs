using Npgsql;
using Spillway.Contracts;
using Spillway.Server.Identity;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Postgres;

namespace Spillway.Server.Tests.Storage;

/// <summary>The API call limits across nodes: 606, 615 and 607 hold for several limiters sharing one database.</summary>
public sealed class PostgresApiCallLimiterTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 15, 18, 0, 0, TimeSpan.Zero); // noon in Chicago
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly Subscription Sub = new(7, "777-SUB-777", "Limits", SubscriptionLimitOverrides.None, T0);

    private readonly List<PostgresApiCallLimiter> _nodes = [];
    private NpgsqlDataSource? _dataSource;
    private Func<ValueTask>? _drop;

    public async Task InitializeAsync()
    {
        var (connectionString, drop) = await PostgresTestDatabase.CreateSchemaAsync();
        _drop = drop;
        await PostgresTestDatabase.MigrateAsync(connectionString);

        _dataSource = NpgsqlDataSource.Create(connectionString);
        for (var i = 0; i < 3; i++)
        {
            _nodes.Add(new PostgresApiCallLimiter(_dataSource));
        }
    }

    public async Task DisposeAsync()
    {
        _nodes.ForEach(n => n.Dispose());
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        if (_drop is not null)
        {
            await _drop();
        }
    }

    private static ApiCaller Caller(string email = "a@example.com", int calls = 1000, int window = 20, int concurrent = 1000, int daily = 50_000) =>
        new(new ApiUser(1, Sub.Id, email, ["Read-Only Activity"], T0), Sub,
            new EffectiveLimits(2, 10, 500, 7, 30, 7, 31, calls, window, concurrent, daily, 3600));

    [Fact]
    public async Task Rate_limit_counts_the_calls_of_every_node_in_the_rolling_window()
    {
        var caller = Caller(calls: 10, window: 20);
        for (var i = 0; i < 10; i++)
        {
            var (permit, error) = await _nodes[i % 3].TryAdmitAsync(caller, T0.AddMilliseconds(i), None);
            Assert.Null(error);
            await permit!.DisposeAsync();
        }

        var (refused, code) = await _nodes[1].TryAdmitAsync(caller, T0.AddSeconds(1), None);
        Assert.Null(refused);
        Assert.Equal("606", code!.Code);
        Assert.Equal("Max rate limit '10' exceeded with in '20' secs", code.Message);

        // The first call leaves the window 20 s after it was made; refused calls never count.
        Assert.Equal("606", (await _nodes[2].TryAdmitAsync(caller, T0.AddSeconds(20).AddMilliseconds(-1), None)).Error?.Code);
        Assert.NotNull((await _nodes[2].TryAdmitAsync(caller, T0.AddSeconds(20), None)).Permit);
        Assert.Equal("606", (await _nodes[0].TryAdmitAsync(caller, T0.AddSeconds(20), None)).Error?.Code);
    }

    [Fact]
    public async Task Parallel_calls_through_several_nodes_are_admitted_exactly_up_to_the_limit()
    {
        var caller = Caller(calls: 12);
        var results = await Task.WhenAll(Enumerable.Range(0, 36).Select(i => Task.Run(async () =>
            await _nodes[i % 3].TryAdmitAsync(caller, T0, None))));
        Assert.Equal(12, results.Count(r => r.Permit is not null));
        Assert.All(results.Where(r => r.Permit is null), r => Assert.Equal("606", r.Error!.Code));
        Assert.Equal(12, (await _nodes[0].UsageAsync(caller, T0, None)).Total);
    }

    [Fact]
    public async Task Calls_in_flight_are_limited_across_nodes_and_freed_on_release_or_lease_expiry()
    {
        var caller = Caller(concurrent: 3);
        var held = new List<CallPermit>();
        for (var i = 0; i < 3; i++)
        {
            held.Add((await _nodes[i].TryAdmitAsync(caller, T0, None)).Permit!);
        }

        var (none, error) = await _nodes[0].TryAdmitAsync(caller, T0, None);
        Assert.Null(none);
        Assert.Equal("615", error!.Code);
        Assert.Equal("Concurrent access limit '3' reached", error.Message);

        await held[1].DisposeAsync();
        CallPermit? next = null;
        for (var attempt = 0; attempt < 100 && next is null; attempt++)
        {
            next = (await _nodes[2].TryAdmitAsync(caller, T0, None)).Permit;
            if (next is null)
            {
                await Task.Delay(20);
            }
        }

        Assert.NotNull(next);
        Assert.Equal("615", (await _nodes[2].TryAdmitAsync(caller, T0, None)).Error?.Code);

        // A node that died never releases: its slots free themselves when their lease runs out.
        var later = T0 + PostgresApiCallLimiter.InFlightLease + TimeSpan.FromSeconds(1);
        Assert.NotNull((await _nodes[0].TryAdmitAsync(caller, later, None)).Permit);
    }

    [Fact]
    public async Task Daily_quota_counts_every_user_of_the_subscription_until_the_quota_day_ends()
    {
        var a = Caller("a@example.com", daily: 5);
        var b = Caller("b@example.com", daily: 5);
        foreach (var (caller, node) in new[] { (a, 0), (b, 1), (a, 2), (b, 0), (a, 1) })
        {
            await (await _nodes[node].TryAdmitAsync(caller, T0, None)).Permit!.DisposeAsync();
        }

        var (refused, error) = await _nodes[2].TryAdmitAsync(b, T0.AddMinutes(1), None);
        Assert.Null(refused);
        Assert.Equal("607", error!.Code);

        var usage = await _nodes[0].UsageAsync(a, T0, None);
        Assert.Equal("2026-01-15", usage.Date);
        Assert.Equal(5, usage.Total);
        Assert.Equal([new UsageByUser("a@example.com", 3), new UsageByUser("b@example.com", 2)], usage.Users);

        // Midnight in Chicago (06:00 UTC in January) starts a new quota day.
        var nextDay = new DateTimeOffset(2026, 1, 16, 6, 0, 0, TimeSpan.Zero);
        Assert.Equal("607", (await _nodes[0].TryAdmitAsync(a, nextDay.AddSeconds(-1), None)).Error?.Code);
        Assert.NotNull((await _nodes[0].TryAdmitAsync(a, nextDay, None)).Permit);
        Assert.Equal(1, (await _nodes[1].UsageAsync(a, nextDay, None)).Total);
    }

    [Fact]
    public async Task Reset_forgets_the_subscriptions_counters()
    {
        var caller = Caller(calls: 1, daily: 1);
        Assert.NotNull((await _nodes[0].TryAdmitAsync(caller, T0, None)).Permit);
        Assert.NotNull((await _nodes[1].TryAdmitAsync(caller, T0, None)).Error);
        _nodes[2].Reset(Sub.Id);
        Assert.Equal(0, (await _nodes[0].UsageAsync(caller, T0, None)).Total);
        Assert.NotNull((await _nodes[1].TryAdmitAsync(caller, T0, None)).Permit);
    }

    [Fact]
    public async Task Decisions_match_the_single_node_limiter_call_for_call_at_the_window_edges()
    {
        // A seeded random walk of calls over three nodes, compared with InMemoryApiCallLimiter: times land exactly on
        // a window edge, one tick before and after it; limits change midway (the stamp log keeps only the newest
        // RateLimitCalls); calls are held and released; a Chicago midnight is crossed.
        var midnight = new DateTimeOffset(2026, 1, 16, 6, 0, 0, TimeSpan.Zero);
        await WalkAsync(new Walk(26, 400, midnight.AddSeconds(-30), (5, 2, 3, 60),
            step => step switch { 150 => (3, 2, 3, 60), 250 => (8, 3, 3, 60), _ => null }, // 150: lowered below what the window holds
            (random, now, edge) => random.Next(6) switch
            {
                0 when edge > now => edge.Value,
                1 when edge > now => edge.Value.AddTicks(-1),
                2 when edge > now => edge.Value.AddTicks(1),
                3 => now,
                _ => now.AddMilliseconds(random.Next(1, 700)),
            },
            ReleaseOneIn: 3, HoldOneIn: 4));
    }

    [Fact]
    public async Task The_stamp_log_holds_at_most_the_limit_and_nothing_older_than_two_windows()
    {
        var low = Caller(calls: 4, window: 20);
        for (var i = 0; i < 30; i++)
        {
            var (permit, _) = await _nodes[i % 3].TryAdmitAsync(low, T0.AddSeconds(6 * i), None);
            Assert.NotNull(permit);
            await permit!.DisposeAsync();
        }

        Assert.Equal(4L, await StampsAsync());

        var high = Caller(calls: 1_000_000, window: 1);
        var start = T0.AddHours(1);
        for (var i = 0; i < 50; i++)
        {
            await (await _nodes[i % 3].TryAdmitAsync(high, start.AddMilliseconds(100 * i), None)).Permit!.DisposeAsync();
        }

        // At 4.9 s, stamps up to 2.9 s are gone: 20 remain (3.0 .. 4.9 s). Calls admitted under grants land when reported.
        await ReportAllAsync();
        Assert.Equal(20L, await StampsAsync());
        Assert.Equal(20, await ScalarAsync<int>("SELECT stamps FROM api_call_state WHERE subscription_id = 7"));
    }

    [Fact]
    public async Task A_dead_nodes_calls_in_flight_free_their_slots_when_the_lease_runs_out_and_not_before()
    {
        var caller = Caller(concurrent: 2);
        var dead = new PostgresApiCallLimiter(_dataSource!);
        Assert.NotNull((await dead.TryAdmitAsync(caller, T0, None)).Permit);
        Assert.NotNull((await dead.TryAdmitAsync(caller, T0, None)).Permit);
        dead.Dispose(); // stops renewing, never releases: a process killed with its calls in flight

        var lease = PostgresApiCallLimiter.InFlightLease;
        Assert.Equal("615", (await _nodes[0].TryAdmitAsync(caller, T0 + lease - TimeSpan.FromTicks(1), None)).Error?.Code);
        var first = (await _nodes[1].TryAdmitAsync(caller, T0 + lease, None)).Permit;
        Assert.NotNull(first);
        Assert.NotNull((await _nodes[2].TryAdmitAsync(caller, T0 + lease, None)).Permit);
        Assert.Equal("615", (await _nodes[0].TryAdmitAsync(caller, T0 + lease, None)).Error?.Code);
    }

    [Fact]
    public async Task A_live_node_renews_the_lease_of_a_long_call()
    {
        var clock = new ManualClock(T0);
        using var live = new PostgresApiCallLimiter(_dataSource!, clock);
        var caller = Caller(concurrent: 1);
        var permit = (await live.TryAdmitAsync(caller, T0, None)).Permit;
        Assert.NotNull(permit);

        // Three lease periods pass while the call runs (a long download); the node's timer renews its row.
        var later = T0 + 3 * PostgresApiCallLimiter.InFlightLease;
        clock.Now = later - PostgresApiCallLimiter.InFlightLease / 2;
        clock.Fire();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await ScalarAsync<DateTime>($"SELECT expires_at FROM api_call_node WHERE node_id = '{live.NodeId}'") <= later.UtcDateTime)
        {
            Assert.True(DateTime.UtcNow < deadline, "the renewal did not move the lease");
            await Task.Delay(20);
        }

        Assert.Equal("615", (await _nodes[0].TryAdmitAsync(caller, later, None)).Error?.Code);
        await permit!.DisposeAsync();
        Assert.NotNull((await _nodes[0].TryAdmitAsync(caller, later, None)).Permit);
    }

    [Fact]
    public async Task A_release_from_before_a_reset_does_not_free_a_newer_calls_slot()
    {
        var caller = Caller(concurrent: 1);
        var before = (await _nodes[0].TryAdmitAsync(caller, T0, None)).Permit!;
        _nodes[1].Reset(Sub.Id);
        var after = (await _nodes[0].TryAdmitAsync(caller, T0, None)).Permit;
        Assert.NotNull(after); // the reset forgot the call in flight, as the single-node limiter does

        await before.DisposeAsync();
        Assert.Equal("615", (await _nodes[2].TryAdmitAsync(caller, T0, None)).Error?.Code);
        await after!.DisposeAsync();
        Assert.NotNull((await _nodes[2].TryAdmitAsync(caller, T0, None)).Permit);
    }

    [Fact]
    public async Task Far_from_the_limits_nodes_admit_under_grants_and_every_call_is_counted_once_reported()
    {
        var caller = Caller(calls: 100_000, window: 20, concurrent: 1000, daily: 1_000_000);
        for (var i = 0; i < 900; i++)
        {
            var (permit, error) = await _nodes[i % 3].TryAdmitAsync(caller, T0.AddMilliseconds(i), None);
            Assert.Null(error);
            await permit!.DisposeAsync();
        }

        // A grant holds 256 calls: a handful of the 900 went to the database, the rest were admitted in memory.
        Assert.InRange(_nodes.Sum(n => n.Counters.Admissions), 3, 30);
        Assert.Equal(900 - _nodes.Sum(n => n.Counters.Admissions), _nodes.Sum(n => n.Counters.Granted));

        await ReportAllAsync();
        Assert.Equal(900, (await _nodes[1].UsageAsync(caller, T0, None)).Total);
        Assert.Equal(900L, await _nodes[2].CallsInWindowAsync(caller.CallLimits(), T0.AddMilliseconds(900), None));
        Assert.Equal(900L, await StampsAsync());
        Assert.Equal(900, await ScalarAsync<int>("SELECT stamps FROM api_call_state WHERE subscription_id = 7"));

        // Released calls under grants left nothing in flight: the whole concurrency limit is free on every node.
        var held = new List<CallPermit>();
        for (var i = 0; i < 1000; i++)
        {
            var (permit, error) = await _nodes[i % 3].TryAdmitAsync(caller, T0.AddSeconds(1), None);
            Assert.True(permit is not null, $"call {i}: {error?.Code}");
            held.Add(permit!);
        }

        Assert.Equal("615", (await _nodes[0].TryAdmitAsync(caller, T0.AddSeconds(1), None)).Error?.Code);
        foreach (var permit in held)
        {
            await permit.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_grants_in_play_decisions_still_match_the_single_node_limiter_call_for_call()
    {
        // As the walk above, with limits high enough for grants (25 calls, 8 slots each): nodes admit in memory far
        // from the limits, and near them every refusal is decided after the grants in the way were recalled.
        var midnight = new DateTimeOffset(2026, 1, 16, 6, 0, 0, TimeSpan.Zero);
        var decisions = await WalkAsync(new Walk(17, 4_000, midnight.AddSeconds(-5), (400, 2, 64, 1_200),
            step => step == 2_500 ? (320, 2, 64, 1_200) : null,
            (random, now, edge) => random.Next(40) switch
            {
                0 when edge > now => edge.Value,
                1 when edge > now => edge.Value.AddTicks(-1),
                2 when edge > now => edge.Value.AddTicks(1),
                < 20 => now,
                _ => now.AddMilliseconds(random.Next(1, 6)),
            },
            ReleaseOneIn: 5, HoldOneIn: 3));

        // Both paths were taken: calls admitted in memory under grants, and the rest in the database.
        var granted = _nodes.Sum(n => n.Counters.Granted);
        Assert.True(granted > decisions["admitted"] / 10, $"{granted} of {decisions["admitted"]} admitted calls under grants");
    }

    /// <summary>A seeded random walk of calls: its limits (calls, window s, in flight, daily), when they change, how time moves.</summary>
    private sealed record Walk(int Seed, int Steps, DateTimeOffset Start, (int Calls, int Window, int Concurrent, int Daily) Limits,
        Func<int, (int, int, int, int)?> ChangeAt, Func<Random, DateTimeOffset, DateTimeOffset?, DateTimeOffset> Next,
        int ReleaseOneIn, int HoldOneIn);

    /// <summary>
    /// Plays a walk over the three nodes and the single-node limiter side by side, requiring the same answer for every
    /// call, every outcome reached, and the same usage per user at the end. Returns how often each answer came.
    /// </summary>
    private async Task<Dictionary<string, int>> WalkAsync(Walk walk)
    {
        var random = new Random(walk.Seed);
        var single = new InMemoryApiCallLimiter();
        var now = walk.Start;
        var admitted = new List<DateTimeOffset>();
        var held = new List<(CallPermit Pg, CallPermit Single)>();
        var (calls, window, concurrent, daily) = walk.Limits;
        var decisions = new Dictionary<string, int>();
        for (var step = 0; step < walk.Steps; step++)
        {
            if (walk.ChangeAt(step) is { } changed)
            {
                (calls, window, concurrent, daily) = changed;
            }

            var edge = admitted.Count >= calls ? admitted[^calls].AddSeconds(window) : (DateTimeOffset?)null;
            now = walk.Next(random, now, edge);
            if (held.Count > 0 && random.Next(walk.ReleaseOneIn) == 0)
            {
                var (pg, one) = held[random.Next(held.Count)];
                held.Remove((pg, one));
                await pg.DisposeAsync();
                await one.DisposeAsync();
                continue;
            }

            var caller = Caller(random.Next(2) == 0 ? "a@example.com" : "b@example.com", calls, window, concurrent, daily);
            var expected = await single.TryAdmitAsync(caller, now, None);
            var actual = await _nodes[step % 3].TryAdmitAsync(caller, now, None);
            Assert.True(expected.Error?.Code == actual.Error?.Code,
                $"step {step} at {now:O}: single node {expected.Error?.Code ?? "admitted"}, PostgreSQL {actual.Error?.Code ?? "admitted"}");
            var key = expected.Error?.Code ?? "admitted";
            decisions[key] = decisions.GetValueOrDefault(key) + 1;
            if (expected.Permit is not null)
            {
                admitted.Add(now);
                admitted.Sort();
                if (random.Next(walk.HoldOneIn) == 0)
                {
                    held.Add((actual.Permit!, expected.Permit));
                }
                else
                {
                    await actual.Permit!.DisposeAsync();
                    await expected.Permit.DisposeAsync();
                }
            }
        }

        // The walk must have reached every outcome for the comparison to mean something.
        Assert.All(new[] { "admitted", "606", "607", "615" }, code => Assert.True(decisions.GetValueOrDefault(code) > 0, $"no {code}: {string.Join(", ", decisions)}"));
        await ReportAllAsync();
        var (single1, pg1) = (await single.UsageAsync(Caller(), now, None), await _nodes[0].UsageAsync(Caller(), now, None));
        Assert.Equal(single1.Total, pg1.Total);
        Assert.Equal(single1.Users, pg1.Users);
        return decisions;
    }

    [Fact]
    public async Task A_refusal_that_only_a_grant_would_cause_recalls_it_and_the_call_is_admitted()
    {
        // Node a holds a grant of 25 calls and uses none of them; node b takes no grants. At 375 calls of a 400 quota,
        // b's call would be refused only if a's grant were used up: the grant is recalled, a reports, b is admitted.
        // a's grant lives an hour: with the default second, a slow machine's 400 admissions of b outlived it, a gave it
        // back unused, and b never met it.
        using var a = new PostgresApiCallLimiter(_dataSource!, grants: CallGrantOptions.Default with { Life = TimeSpan.FromHours(1) });
        using var b = new PostgresApiCallLimiter(_dataSource!, grants: CallGrantOptions.Off);
        var caller = Caller(calls: 100_000, concurrent: 64, daily: 400);
        await (await a.TryAdmitAsync(caller, T0, None)).Permit!.DisposeAsync();
        Assert.Equal(1, await ScalarAsync<long>("SELECT count(*) FROM api_call_grant WHERE subscription_id = 7"));

        var answered = 1;
        while ((await b.TryAdmitAsync(caller, T0, None)).Permit is { } permit)
        {
            await permit.DisposeAsync();
            answered++;
        }

        Assert.Equal(400, answered);
        Assert.True(b.Counters.Recalls > 0, "b never met the grant");
        Assert.Equal(0, await ScalarAsync<long>("SELECT count(*) FROM api_call_grant WHERE subscription_id = 7"));
        Assert.Equal("607", (await a.TryAdmitAsync(caller, T0, None)).Error?.Code);
        Assert.Equal(400, (await b.UsageAsync(caller, T0, None)).Total);
    }

    [Fact]
    public async Task A_grant_whose_node_died_stops_counting_after_its_life_and_grace()
    {
        // A node that never reports (killed): its grant of 25 calls is counted as used until it runs out.
        var options = CallGrantOptions.Default with { Life = TimeSpan.FromMilliseconds(300), Grace = TimeSpan.FromMilliseconds(300), ReportEvery = TimeSpan.FromHours(1) };
        using var dead = new PostgresApiCallLimiter(_dataSource!, grants: options);
        var caller = Caller(calls: 100_000, concurrent: 64, daily: 400);
        Assert.NotNull((await dead.TryAdmitAsync(caller, T0, None)).Permit);
        Assert.Equal(1, await ScalarAsync<long>("SELECT count(*) FROM api_call_grant WHERE subscription_id = 7"));

        // The others admit up to the quota: the last calls wait for the dead grant to run out, then are answered.
        var answered = 0;
        var started = DateTime.UtcNow;
        while ((await _nodes[answered % 3].TryAdmitAsync(caller, T0, None)).Permit is { } permit)
        {
            await permit.DisposeAsync();
            answered++;
        }

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(8), "an admission waited past the dead grant's life and grace");
        Assert.Equal(399, answered);
        Assert.Equal(0, await ScalarAsync<long>("SELECT count(*) FROM api_call_grant WHERE subscription_id = 7 AND node_id = '" + dead.NodeId + "'"));
    }

    private async Task ReportAllAsync()
    {
        foreach (var node in _nodes)
        {
            await node.ReportGrantsNowAsync();
        }
    }

    private Task<long> StampsAsync() => ScalarAsync<long>("SELECT count(*) FROM api_call_stamp WHERE subscription_id = 7");

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = _dataSource!.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A clock whose timers fire only when told, so a test can run the lease renewal at a chosen "now".</summary>
    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        private readonly List<TimerCallback> _callbacks = [];

        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            _callbacks.Add(callback);
            return new Idle();
        }

        public void Fire() => _callbacks.ForEach(c => c(null));

        private sealed class Idle : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
