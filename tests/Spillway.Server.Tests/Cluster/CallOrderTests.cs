using Npgsql;
using Spillway.Server.Identity;
using Spillway.Server.Limits;
using Spillway.Server.Storage;
using Spillway.Server.Storage.Postgres;

namespace Spillway.Server.Tests.Cluster;

/// <summary>
/// Each node stamps a call with its own clock before it waits for the subscription's lock, so calls reach the counters
/// out of time order (found by <see cref="MultiNodeTests"/>: 30 concurrent calls over 3 nodes admitted 25 of 20).
/// A call stamped later that got the lock first must still count for the calls stamped earlier.
/// </summary>
public sealed class CallOrderTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 15, 18, 0, 0, TimeSpan.Zero);
    private static readonly Subscription Sub = new(9, "999-ORD-999", "Order", SubscriptionLimitOverrides.None, T0);

    private NpgsqlDataSource? _dataSource;
    private Func<ValueTask>? _drop;

    public async Task InitializeAsync()
    {
        var (connectionString, drop) = await Storage.PostgresTestDatabase.CreateSchemaAsync();
        _drop = drop;
        await Storage.PostgresTestDatabase.MigrateAsync(connectionString);

        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        if (_drop is not null)
        {
            await _drop();
        }
    }

    [Fact]
    public async Task Calls_stamped_later_but_counted_first_still_fill_the_window()
    {
        using var ahead = new PostgresApiCallLimiter(_dataSource!);
        using var behind = new PostgresApiCallLimiter(_dataSource!);
        var caller = new ApiCaller(new ApiUser(1, Sub.Id, "a@example.com", ["Read-Only Activity"], T0), Sub,
            new EffectiveLimits(2, 10, 500, 7, 30, 7, 31, 5, 20, 1000, 50_000, 3600));

        for (var i = 0; i < 5; i++)
        {
            await (await ahead.TryAdmitAsync(caller, T0.AddMilliseconds(300 + i), CancellationToken.None)).Permit!.DisposeAsync();
        }

        // A call stamped 300 ms earlier (a node whose clock is behind, or a call that waited for the lock).
        var (permit, error) = await behind.TryAdmitAsync(caller, T0, CancellationToken.None);
        Assert.Null(permit);
        Assert.Equal("606", error!.Code);

        // Calls far ahead of the window (a clock that was set back) still stop counting.
        var later = T0.AddSeconds(-60);
        Assert.NotNull((await behind.TryAdmitAsync(caller, later, CancellationToken.None)).Permit);
    }
}
