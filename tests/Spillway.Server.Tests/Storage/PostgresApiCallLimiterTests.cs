using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Spillway.Contracts;
using Spillway.Server.Identity;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Postgres;

namespace Spillway.Server.Tests.Storage;

/// <summary>Decision 26 across nodes: 606, 615 and 607 hold for several limiters sharing one database.</summary>
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
        await using (var services = new ServiceCollection().AddPostgresStorage(connectionString).BuildServiceProvider())
        {
            await services.MigratePostgresStorageAsync(None);
        }

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
}
