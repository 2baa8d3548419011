using System.Globalization;
using System.Net;
using Spillway.Server.Hosting;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Calls per window (606), calls in flight (615), calls per Central-time day (607), and usage.</summary>
public abstract class LimitsTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static Dictionary<string, string?> Limits(int rate = 1000, int window = 20, int concurrent = 10, int daily = 50_000) => new()
    {
        ["Spillway:Limits:RateLimitCalls"] = rate.ToString(CultureInfo.InvariantCulture),
        ["Spillway:Limits:RateLimitWindowSeconds"] = window.ToString(CultureInfo.InvariantCulture),
        ["Spillway:Limits:ConcurrentCalls"] = concurrent.ToString(CultureInfo.InvariantCulture),
        ["Spillway:Limits:DailyCallQuota"] = daily.ToString(CultureInfo.InvariantCulture),
    };

    private static Task<HttpResponseMessage> CallAsync(HttpClient client) => client.GetAsync("/rest/v1/activities/types.json");

    [Fact]
    public async Task The_call_after_the_rate_limit_is_606_until_the_window_has_passed()
    {
        await using var server = await StartAsync(Limits(rate: 5, window: 20));
        using var client = await server.AuthorizedClientAsync();

        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        await Marketo.StatusAsync(client, id);
        await Marketo.SuccessAsync(await client.GetAsync("/bulk/v1/activities/export.json"));
        await Marketo.SuccessAsync(await CallAsync(client));
        await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/stats/usage.json"));

        Assert.Equal("Max rate limit '5' exceeded with in '20' secs", await Marketo.ErrorAsync(await CallAsync(client), "606"));
        Assert.Equal("Max rate limit '5' exceeded with in '20' secs",
            await Marketo.ErrorAsync(await client.PostAsync($"/bulk/v1/activities/export/{id}/enqueue.json", null), "606"));

        // The identity endpoint is not counted and still answers.
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await server.TokenByQueryAsync(server.ClientId, server.ClientSecret)).StatusCode);
        }

        server.Clock.Advance(TimeSpan.FromSeconds(10));
        await Marketo.ErrorAsync(await CallAsync(client), "606");

        server.Clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal("Created", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString()); // the refused enqueue did nothing
        for (var i = 0; i < 4; i++)
        {
            await Marketo.SuccessAsync(await CallAsync(client));
        }

        Assert.Equal("Max rate limit '5' exceeded with in '20' secs", await Marketo.ErrorAsync(await CallAsync(client), "606"));
    }

    [Fact]
    public async Task The_rate_limit_is_shared_by_the_users_of_a_subscription_and_not_by_other_subscriptions()
    {
        await using var server = await StartAsync(Limits(rate: 3, window: 20));
        var (otherId, otherSecret) = await server.AddUserViaAdminAsync(SpillwayTestServer.MunchkinId, "second@example.com", "Read-Only Activity");
        await server.CreateSubscriptionViaAdminAsync("222-BBB-222");
        var (strangerId, strangerSecret) = await server.AddUserViaAdminAsync("222-BBB-222", "third@example.com", "Read-Only Activity");
        using var first = await server.AuthorizedClientAsync();
        using var second = await server.AuthorizedClientAsync(otherId, otherSecret);
        using var stranger = await server.AuthorizedClientAsync(strangerId, strangerSecret);

        await Marketo.SuccessAsync(await CallAsync(first));
        await Marketo.SuccessAsync(await CallAsync(second));
        await Marketo.SuccessAsync(await CallAsync(first));

        Assert.Equal("Max rate limit '3' exceeded with in '20' secs", await Marketo.ErrorAsync(await CallAsync(second), "606"));
        for (var i = 0; i < 3; i++)
        {
            await Marketo.SuccessAsync(await CallAsync(stranger));
        }
    }

    [Fact]
    public async Task Calls_beyond_the_concurrency_limit_are_615_while_others_are_in_flight()
    {
        await using var server = await StartAsync(Limits(concurrent: 2));
        using var client = await server.AuthorizedClientAsync();
        var body = Marketo.Window(Day, Day.AddDays(1));
        var held1 = new HeldContent(body);
        var held2 = new HeldContent(body);
        var before = await server.AdmittedCallsTodayAsync();
        var call1 = client.PostAsync("/bulk/v1/activities/export/create.json", held1);
        var call2 = client.PostAsync("/bulk/v1/activities/export/create.json", held2);

        // Both held calls are admitted (and no other call competes with them for a slot meanwhile).
        await server.WaitForAdmittedAsync(before + 2);
        var message = await Marketo.ErrorAsync(await CallAsync(client), "615");
        Assert.Equal("Concurrent access limit '2' reached", message);
        Assert.False(call1.IsCompleted);
        Assert.False(call2.IsCompleted);
        Assert.Equal("Concurrent access limit '2' reached", await Marketo.ErrorAsync(
            await client.GetAsync($"/bulk/v1/activities/export/{Guid.NewGuid()}/file.json"), "615"));
        Assert.Equal(HttpStatusCode.OK, (await server.TokenByQueryAsync(server.ClientId, server.ClientSecret)).StatusCode); // identity is not limited

        held1.Release();
        Assert.Equal("Created", Marketo.Job(await Marketo.SuccessAsync(await call1)).GetProperty("status").GetString());
        await ProbeUntilAsync(client, null);
        held2.Release();
        Assert.Equal("Created", Marketo.Job(await Marketo.SuccessAsync(await call2)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_single_slot_is_held_by_one_slow_call()
    {
        await using var server = await StartAsync(Limits(concurrent: 1));
        using var client = await server.AuthorizedClientAsync();
        var held = new HeldContent(Marketo.Window(Day, Day.AddDays(1)));
        var before = await server.AdmittedCallsTodayAsync();
        var call = client.PostAsync("/bulk/v1/activities/export/create.json", held);
        await server.WaitForAdmittedAsync(before + 1);

        Assert.Equal("Concurrent access limit '1' reached", await Marketo.ErrorAsync(await CallAsync(client), "615"));
        Assert.Equal("Concurrent access limit '1' reached", await Marketo.ErrorAsync(await client.GetAsync("/bulk/v1/activities/export.json"), "615"));

        held.Release();
        await Marketo.SuccessAsync(await call);
        await ProbeUntilAsync(client, null);
    }

    [Fact]
    public async Task A_file_download_holds_its_slot_until_the_body_has_been_sent()
    {
        await using var server = await StartAsync(Limits(concurrent: 1));
        using var client = await server.AuthorizedClientAsync();
        var now = server.Clock.GetUtcNow();
        var seedWatch = System.Diagnostics.Stopwatch.StartNew();
        await server.SeedAsync(60_000, daysBack: 2);
        var (_, job) = await Marketo.ExportAsync(client, Marketo.Window(now.AddDays(-3), now.AddDays(1)));
        var id = job.GetProperty("exportId").GetString()!;
        var size = job.GetProperty("fileSize").GetInt64();
        Assert.True(size > 12 * 1024 * 1024, $"the file ({size} bytes) must exceed what the socket buffers hold; seed+export took {seedWatch.Elapsed}");

        var download = await client.GetAsync($"/bulk/v1/activities/export/{id}/file.json", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);

        // The body is not read yet, so the server is still sending it: the only slot is taken.
        Assert.Equal("Concurrent access limit '1' reached", await Marketo.ErrorAsync(await CallAsync(client), "615"));
        await Task.Delay(200);
        Assert.Equal("Concurrent access limit '1' reached", await Marketo.ErrorAsync(await CallAsync(client), "615"));

        var body = await download.Content.ReadAsByteArrayAsync();
        Assert.Equal(size, body.Length);
        await ProbeUntilAsync(client, null);
    }

    [Fact]
    public async Task A_download_the_client_abandons_gives_its_slot_back()
    {
        await using var server = await StartAsync(Limits(concurrent: 1));
        using var client = await server.AuthorizedClientAsync();
        var now = server.Clock.GetUtcNow();
        await server.SeedAsync(60_000, daysBack: 2);
        var (_, job) = await Marketo.ExportAsync(client, Marketo.Window(now.AddDays(-3), now.AddDays(1)));
        var id = job.GetProperty("exportId").GetString()!;

        using (var downloader = await server.AuthorizedClientAsync())
        {
            var download = await downloader.GetAsync($"/bulk/v1/activities/export/{id}/file.json", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal("Concurrent access limit '1' reached", await Marketo.ErrorAsync(await CallAsync(client), "615"));
            download.Dispose(); // the client goes away mid-body
        }

        await ProbeUntilAsync(client, null);
    }

    [Fact]
    public async Task The_default_limits_are_100_calls_per_20_seconds_and_10_in_flight()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();

        var held = Enumerable.Range(0, 10).Select(_ => new HeldContent(Marketo.Window(Day, Day.AddDays(1)))).ToList();
        var before = await server.AdmittedCallsTodayAsync();
        var calls = held.Select(h => client.PostAsync("/bulk/v1/activities/export/create.json", h)).ToList();
        await server.WaitForAdmittedAsync(before + 10);
        Assert.Equal("Concurrent access limit '10' reached", await Marketo.ErrorAsync(await CallAsync(client), "615"));
        held.ForEach(h => h.Release());
        foreach (var call in calls)
        {
            await Marketo.SuccessAsync(await call);
        }

        // 10 creates and the probes that got through so far count towards the 100.
        var used = Marketo.Job(await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/stats/usage.json"))).GetProperty("total").GetInt64();
        for (var i = used; i < 100; i++)
        {
            await Marketo.SuccessAsync(await CallAsync(client));
        }

        Assert.Equal("Max rate limit '100' exceeded with in '20' secs", await Marketo.ErrorAsync(await CallAsync(client), "606"));

        var subscriptions = await server.Admin.GetStringAsync("/_spillway/admin/subscriptions");
        using var json = System.Text.Json.JsonDocument.Parse(subscriptions);
        var limits = json.RootElement[0].GetProperty("limits");
        Assert.Equal(50_000, limits.GetProperty("dailyCallQuota").GetInt32());
        Assert.Equal(3600, limits.GetProperty("tokenLifetimeSeconds").GetInt32());
    }

    [Fact]
    public async Task Limits_are_configurable_per_subscription_and_apply_at_once()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        await Marketo.SuccessAsync(await CallAsync(client));

        await server.SetLimitsAsync(new { rateLimitCalls = 3, rateLimitWindowSeconds = 60, dailyCallQuota = 1000 });
        await Marketo.SuccessAsync(await CallAsync(client));
        await Marketo.SuccessAsync(await CallAsync(client));
        Assert.Equal("Max rate limit '3' exceeded with in '60' secs", await Marketo.ErrorAsync(await CallAsync(client), "606"));

        // Overrides are replaced as a whole: the rate limit is back to 100, and 3 calls were admitted today.
        await server.SetLimitsAsync(new { dailyCallQuota = 3 });
        Assert.Equal("Daily quota reached", await Marketo.ErrorAsync(await CallAsync(client), "607"));
    }

    /// <summary>Calls types.json until it answers with <paramref name="code"/> (null: success); returns the error message.</summary>
    private static async Task<string?> ProbeUntilAsync(HttpClient client, string? code)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var (_, root) = await Wire.ReadJsonAsync(await CallAsync(client));
            if (code is null && root.GetProperty("success").GetBoolean())
            {
                return null;
            }

            if (code is not null && !root.GetProperty("success").GetBoolean())
            {
                var error = root.GetProperty("errors")[0];
                Assert.Equal(code, error.GetProperty("code").GetString());
                return error.GetProperty("message").GetString();
            }

            Assert.True(DateTime.UtcNow < deadline, $"no {code ?? "success"} within 10 s: {root}");
            await Task.Delay(10);
        }
    }

    [Theory]
    [InlineData("2026-07-01T05:00:00Z")] // midnight CDT (UTC-5)
    [InlineData("2026-01-15T06:00:00Z")] // midnight CST (UTC-6)
    public async Task The_daily_quota_is_607_and_resets_at_midnight_America_Chicago_not_UTC(string chicagoMidnightText)
    {
        var midnight = DateTimeOffset.Parse(chicagoMidnightText, CultureInfo.InvariantCulture);
        Assert.Equal(midnight, SpillwayClock.QuotaDayStart(midnight));
        await using var server = await StartAsync(Limits(daily: 3));
        server.Clock.SetNow(midnight.AddHours(-6).AddMinutes(-30)); // before UTC midnight on the previous Central day

        using var client = await server.AuthorizedClientAsync();
        for (var i = 0; i < 3; i++)
        {
            await Marketo.SuccessAsync(await CallAsync(client));
        }

        Assert.Equal("Daily quota reached", await Marketo.ErrorAsync(await CallAsync(client), "607"));
        Assert.Equal("Daily quota reached", await Marketo.ErrorAsync(
            await client.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json(Marketo.Window(Day, Day.AddDays(1)))), "607"));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await server.TokenByQueryAsync(server.ClientId, server.ClientSecret)).StatusCode);
        }

        // Past UTC midnight, still the same Central day.
        server.Clock.SetNow(midnight.AddMinutes(-1));
        using var later = await server.AuthorizedClientAsync();
        Assert.True(server.Clock.GetUtcNow().UtcDateTime.Date == midnight.UtcDateTime.Date);
        Assert.Equal("Daily quota reached", await Marketo.ErrorAsync(await CallAsync(later), "607"));

        server.Clock.SetNow(midnight.AddSeconds(2));
        for (var i = 0; i < 3; i++)
        {
            await Marketo.SuccessAsync(await CallAsync(later));
        }

        Assert.Equal("Daily quota reached", await Marketo.ErrorAsync(await CallAsync(later), "607"));
    }

    [Fact]
    public async Task Usage_reports_todays_total_and_per_user_counts()
    {
        await using var server = await StartAsync();
        var (otherId, otherSecret) = await server.AddUserViaAdminAsync(SpillwayTestServer.MunchkinId, "second@example.com", "Read-Only Lead");
        await server.CreateSubscriptionViaAdminAsync("222-BBB-222");
        var (strangerId, strangerSecret) = await server.AddUserViaAdminAsync("222-BBB-222", "third@example.com", "Read-Only Activity");
        using var first = await server.AuthorizedClientAsync();
        using var second = await server.AuthorizedClientAsync(otherId, otherSecret);
        using var stranger = await server.AuthorizedClientAsync(strangerId, strangerSecret);

        await Marketo.SuccessAsync(await CallAsync(first));
        await Marketo.SuccessAsync(await first.GetAsync("/bulk/v1/activities/export.json"));
        await Marketo.ErrorAsync(await first.GetAsync($"/bulk/v1/activities/export/{Guid.NewGuid()}/status.json"), "610");
        await Marketo.SuccessAsync(await second.GetAsync("/rest/v1/stats/usage.json"));
        await Marketo.SuccessAsync(await stranger.GetAsync("/rest/v1/activities/types.json"));
        await server.TokenByQueryAsync(server.ClientId, server.ClientSecret);
        await Marketo.ErrorAsync(await server.Http.GetAsync("/rest/v1/activities/types.json"), "601"); // not counted
        await Marketo.ErrorAsync(await first.PostAsync("/rest/v1/activities/types.json", null), "605"); // not counted

        var usage = Marketo.Job(await Marketo.SuccessAsync(await first.GetAsync("/rest/v1/stats/usage.json")));

        var today = SpillwayClock.QuotaDay(server.Clock.GetUtcNow()).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Assert.Equal(today, usage.GetProperty("date").GetString());
        Assert.Equal(5, usage.GetProperty("total").GetInt64());
        var users = usage.GetProperty("users").EnumerateArray()
            .ToDictionary(u => u.GetProperty("userId").GetString()!, u => u.GetProperty("count").GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["tester@example.com"] = 4, ["second@example.com"] = 1 }, users);

        var strangerUsage = Marketo.Job(await Marketo.SuccessAsync(await stranger.GetAsync("/rest/v1/stats/usage.json")));
        Assert.Equal(2, strangerUsage.GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Usage_starts_again_on_the_next_Central_day()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        await Marketo.SuccessAsync(await CallAsync(client));
        await Marketo.SuccessAsync(await CallAsync(client));

        var start = SpillwayClock.QuotaDayStart(server.Clock.GetUtcNow());
        server.Clock.SetNow(SpillwayClock.QuotaDayStart(start.AddHours(36)).AddSeconds(5));
        using var tomorrow = await server.AuthorizedClientAsync();
        var usage = Marketo.Job(await Marketo.SuccessAsync(await tomorrow.GetAsync("/rest/v1/stats/usage.json")));

        Assert.Equal(1, usage.GetProperty("total").GetInt64());
        Assert.Equal(SpillwayClock.QuotaDay(server.Clock.GetUtcNow()).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            usage.GetProperty("date").GetString());
        Assert.NotEqual(SpillwayClock.QuotaDay(start).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), usage.GetProperty("date").GetString());
    }
}

public sealed class LimitsTests_Embedded : LimitsTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class LimitsTests_Postgres : LimitsTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
