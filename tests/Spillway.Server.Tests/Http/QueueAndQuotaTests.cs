using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Admin;
using Spillway.Server.Hosting;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Per-subscription limits: 2 Processing, 10 Queued+Processing, and the daily export quota.</summary>
public abstract partial class QueueAndQuotaTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [GeneratedRegex(@"^Export daily quota \d+MB exceeded")]
    private static partial Regex QuotaMessage();

    [Fact]
    public async Task Ten_jobs_may_wait_and_the_eleventh_enqueue_is_1029_Too_many_jobs_in_queue()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        using var client = await server.AuthorizedClientAsync();
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add(await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1))));
        }

        // Created jobs are not in the queue: 12 exist, 10 can be enqueued.
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("Queued", (await Marketo.EnqueueAsync(client, ids[i])).GetProperty("status").GetString());
        }

        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, ids[10]), "1029"));
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, ids[11]), "1029"));
        Assert.Equal(["exportId", "format", "status", "createdAt"],
            (await Marketo.StatusAsync(client, ids[10])).EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal("Created", (await Marketo.StatusAsync(client, ids[10])).GetProperty("status").GetString());

        // A place frees when a queued job is cancelled.
        await Marketo.CancelAsync(client, ids[0]);
        Assert.Equal("Queued", (await Marketo.EnqueueAsync(client, ids[10])).GetProperty("status").GetString());
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, ids[11]), "1029"));
    }

    [Fact]
    public async Task Concurrent_enqueues_never_overfill_the_queue()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        using var client = await server.AuthorizedClientAsync();
        var ids = new List<string>();
        for (var i = 0; i < 16; i++)
        {
            ids.Add(await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1))));
        }

        var responses = await Task.WhenAll(ids.Select(id => Marketo.PostEnqueueAsync(client, id)));

        var outcomes = new List<string>();
        foreach (var response in responses)
        {
            var envelope = await Marketo.EnvelopeAsync(response);
            outcomes.Add(envelope.GetProperty("success").GetBoolean()
                ? Marketo.Job(envelope).GetProperty("status").GetString()!
                : await Marketo.ErrorAsync(response, "1029"));
        }

        Assert.Equal(10, outcomes.Count(o => o == "Queued"));
        Assert.Equal(6, outcomes.Count(o => o == "Too many jobs in queue"));
        var statuses = new List<string>();
        foreach (var id in ids)
        {
            statuses.Add((await Marketo.StatusAsync(client, id)).GetProperty("status").GetString()!);
        }

        Assert.Equal(10, statuses.Count(s => s == "Queued"));
        Assert.Equal(6, statuses.Count(s => s == "Created"));
    }

    [Fact]
    public async Task The_queue_is_shared_by_every_API_user_of_the_subscription()
    {
        await using var server = await StartWithRoomAsync(PausedWorker);
        var (otherId, otherSecret) = await server.CreateApiUserAsync("other@example.com", "Read-Only Activity");
        using var first = await server.AuthorizedClientAsync();
        using var second = await server.AuthorizedClientAsync(otherId, otherSecret);
        for (var i = 0; i < 10; i++)
        {
            var client = i % 2 == 0 ? first : second;
            await Marketo.EnqueueAsync(client, await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1))));
        }

        foreach (var client in new[] { first, second })
        {
            var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
            Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, id), "1029"));
        }
    }

    [Fact]
    public async Task Never_more_than_two_jobs_Processing_and_Processing_jobs_count_toward_the_queue()
    {
        await using var server = await StartWithRoomAsync(new Dictionary<string, string?> { ["Spillway:Worker:ChunkHours"] = "1" });
        await server.SeedAsync(100_000, 30);
        var now = server.Clock.GetUtcNow();
        var body = Marketo.Window(now.AddDays(-30), now.AddDays(1));
        using var client = await server.AuthorizedClientAsync();
        var ids = new List<string>();
        for (var i = 0; i < 11; i++)
        {
            ids.Add(await Marketo.CreateAsync(client, body));
        }

        // Held (manual progression) so that two of the ten are Processing when the eleventh comes, however fast a run is.
        var progression = $"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/progression";
        (await server.Admin.PutAsJsonAsync(progression, new { mode = "manual" })).EnsureSuccessStatusCode();
        for (var i = 0; i < 10; i++)
        {
            await Marketo.EnqueueAsync(client, ids[i]);
        }

        foreach (var id in ids.Take(2))
        {
            (await server.Admin.PostAsync($"/_spillway/admin/jobs/{id}/start", null)).EnsureSuccessStatusCode();
            Assert.Equal("Processing", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
        }

        // Two Processing and eight Queued: the queue is full.
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, ids[10]), "1029"));

        // Hand the two back as finished, and let the workers take the other eight.
        foreach (var id in ids.Take(2))
        {
            (await server.Admin.PostAsync($"/_spillway/admin/jobs/{id}/complete", null)).EnsureSuccessStatusCode();
        }

        (await server.Admin.PutAsJsonAsync(progression, new { mode = "immediate" })).EnsureSuccessStatusCode();

        // Statuses are read one call at a time, so one pass is no snapshot: a job read as Processing may have completed
        // (and freed its slot) before the next job is read. Two passes fix that: a job seen Processing in both passes was
        // Processing during the whole gap between the end of the first pass and the start of the second (a job never
        // returns to Processing), so the jobs Processing in both passes were Processing at the same time.
        async Task<List<string>> PassAsync()
        {
            var statuses = new List<string>();
            foreach (var id in ids.Take(10))
            {
                statuses.Add((await Marketo.StatusAsync(client, id)).GetProperty("status").GetString()!);
            }

            return statuses;
        }

        var maxProcessing = 0;
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (true)
        {
            var first = await PassAsync();
            var second = await PassAsync();
            var together = Enumerable.Range(0, 10).Count(i => first[i] == "Processing" && second[i] == "Processing");
            Assert.True(together <= 2, $"{together} jobs Processing at once: {string.Join(",", first)} then {string.Join(",", second)}");
            maxProcessing = Math.Max(maxProcessing, together);
            if (second.All(s => s == "Completed"))
            {
                break;
            }

            Assert.DoesNotContain("Failed", second);
            Assert.True(DateTime.UtcNow < deadline, "The ten jobs did not complete in 180 s: " + string.Join(",", second));
            await Task.Delay(20);
        }

        // The observation saw the limit reached, so the bound above was really exercised.
        Assert.Equal(2, maxProcessing);
    }

    [Fact]
    public async Task The_daily_export_quota_blocks_create_and_enqueue_until_midnight_in_Chicago_but_queued_jobs_finish()
    {
        await using var server = await StartWithRoomAsync(limits: new { dailyExportQuotaMegabytes = 1, maxProcessingJobs = 1 });
        await server.SeedAsync(20_000, 2);
        var now = server.Clock.GetUtcNow();
        var body = Marketo.Window(now.AddDays(-3), now.AddDays(1));
        var (otherId, otherSecret) = await server.CreateApiUserAsync("other@example.com", "Read-Only Activity");
        var client = await server.AuthorizedClientAsync();

        var big = await Marketo.CreateAsync(client, body);
        var alsoQueued = await Marketo.CreateAsync(client, body);
        var onlyCreated = await Marketo.CreateAsync(client, body);
        // Both enqueued while held (manual progression), so the second is Queued before the first can finish and use the quota.
        var progression = $"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/progression";
        (await server.Admin.PutAsJsonAsync(progression, new { mode = "manual" })).EnsureSuccessStatusCode();
        await Marketo.EnqueueAsync(client, big);
        await Marketo.EnqueueAsync(client, alsoQueued);
        (await server.Admin.PutAsJsonAsync(progression, new { mode = "immediate" })).EnsureSuccessStatusCode();

        var bigJob = await Marketo.WaitAsync(client, big);
        Assert.Equal("Completed", bigJob.GetProperty("status").GetString());
        Assert.True(bigJob.GetProperty("fileSize").GetInt64() > 1024 * 1024, "precondition: the first file is over 1 MB");

        // Over quota: create and enqueue fail with the message clients match, for every user of the subscription.
        var createMessage = await Marketo.CreateErrorAsync(client, body, "1029");
        Assert.Equal("Export daily quota 1MB exceeded.", createMessage);
        Assert.Matches(QuotaMessage(), createMessage);
        Assert.Equal("Export daily quota 1MB exceeded.", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, onlyCreated), "1029"));
        using (var other = await server.AuthorizedClientAsync(otherId, otherSecret))
        {
            Assert.Equal("Export daily quota 1MB exceeded.", await Marketo.CreateErrorAsync(other, body, "1029"));
        }

        // A job that was already queued runs to completion.
        var second = await Marketo.WaitAsync(client, alsoQueued);
        Assert.Equal("Completed", second.GetProperty("status").GetString());
        Assert.Equal("Created", (await Marketo.StatusAsync(client, onlyCreated)).GetProperty("status").GetString());

        // Still the same quota day one minute before midnight America/Chicago; a new day right after it.
        var central = SpillwayClock.Central;
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.Parse(second.GetProperty("finishedAt").GetString()!,
            System.Globalization.CultureInfo.InvariantCulture), central);
        var nextMidnightLocal = local.Date.AddDays(1);
        var nextMidnight = new DateTimeOffset(nextMidnightLocal, central.GetUtcOffset(nextMidnightLocal));

        server.Clock.SetNow(nextMidnight.AddMinutes(-1));
        client.Dispose();
        client = await server.AuthorizedClientAsync();
        Assert.Equal("Export daily quota 1MB exceeded.", await Marketo.CreateErrorAsync(client, body, "1029"));

        server.Clock.SetNow(nextMidnight.AddSeconds(1));
        client.Dispose();
        client = await server.AuthorizedClientAsync();
        var fresh = await Marketo.CreateAsync(client, body);
        // Held, as above: a job that ran at once would use the new day's quota before the second enqueue.
        (await server.Admin.PutAsJsonAsync(progression, new { mode = "manual" })).EnsureSuccessStatusCode();
        Assert.Equal("Queued", (await Marketo.EnqueueAsync(client, onlyCreated)).GetProperty("status").GetString());
        Assert.Equal("Queued", (await Marketo.EnqueueAsync(client, fresh)).GetProperty("status").GetString());
        client.Dispose();
    }

    [Fact]
    public async Task The_quota_day_follows_Chicago_midnight_across_a_daylight_saving_change()
    {
        await using var server = await StartWithRoomAsync(limits: new { dailyExportQuotaMegabytes = 1 });
        // 2027-03-14 starts at 06:00Z (CST) and, being 23 hours long, ends at 2027-03-15T05:00Z (CDT).
        server.Clock.SetNow(new DateTimeOffset(2027, 3, 14, 6, 0, 30, TimeSpan.Zero));
        await server.SeedAsync(20_000, 2);
        var body = Marketo.Window(new DateTimeOffset(2027, 3, 11, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 3, 15, 0, 0, 0, TimeSpan.Zero));
        var client = await server.AuthorizedClientAsync();
        var (_, job) = await Marketo.CompleteAsync(client, body);
        Assert.True(job.GetProperty("fileSize").GetInt64() > 1024 * 1024, "precondition: over 1 MB");
        Assert.Equal("Export daily quota 1MB exceeded.", await Marketo.CreateErrorAsync(client, body, "1029"));

        server.Clock.SetNow(new DateTimeOffset(2027, 3, 15, 4, 59, 30, TimeSpan.Zero)); // 23:59:30 CDT, still the 14th
        client.Dispose();
        client = await server.AuthorizedClientAsync();
        Assert.Equal("Export daily quota 1MB exceeded.", await Marketo.CreateErrorAsync(client, body, "1029"));

        server.Clock.SetNow(new DateTimeOffset(2027, 3, 15, 5, 0, 30, TimeSpan.Zero)); // 00:00:30 CDT on the 15th
        client.Dispose();
        client = await server.AuthorizedClientAsync();
        await Marketo.CreateAsync(client, body);
        client.Dispose();
    }

    /// <summary>A second subscription with one API user; returns a client of that user.</summary>
    private static async Task<HttpClient> OtherSubscriptionClientAsync(SpillwayTestServer server)
    {
        var admin = server.Services.GetRequiredService<SubscriptionAdmin>();
        Assert.Null((await admin.CreateSubscriptionAsync("222-BBB-222", "Other", CancellationToken.None)).Error);
        var user = await admin.AddApiUserAsync("222-BBB-222", "b@example.com", ["Read-Write Activity"], null, null, CancellationToken.None);
        Assert.Null(user.Error);
        return await server.AuthorizedClientAsync(user.Value.Credential.ClientId, user.Value.Credential.ClientSecret);
    }

    [Fact]
    public async Task The_queue_limit_is_configurable_and_per_subscription()
    {
        await using var server = await StartWithRoomAsync(PausedWorker, new { maxQueuedJobs = 3 });
        using var client = await server.AuthorizedClientAsync();
        using var other = await OtherSubscriptionClientAsync(server);
        for (var i = 0; i < 3; i++)
        {
            await Marketo.EnqueueAsync(client, await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1))));
        }

        var fourth = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, fourth), "1029"));

        // The other subscription has its own queue (default 10).
        for (var i = 0; i < 10; i++)
        {
            await Marketo.EnqueueAsync(other, await Marketo.CreateAsync(other, Marketo.Window(Day, Day.AddDays(1))));
        }

        var eleventh = await Marketo.CreateAsync(other, Marketo.Window(Day, Day.AddDays(1)));
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(other, eleventh), "1029"));
    }

    [Fact]
    public async Task The_export_quota_is_per_subscription()
    {
        await using var server = await StartWithRoomAsync(limits: new { dailyExportQuotaMegabytes = 1 });
        await server.SeedAsync(20_000, 2);
        var now = server.Clock.GetUtcNow();
        var body = Marketo.Window(now.AddDays(-3), now.AddDays(1));
        using var client = await server.AuthorizedClientAsync();
        using var other = await OtherSubscriptionClientAsync(server);
        var (_, job) = await Marketo.CompleteAsync(client, body);
        Assert.True(job.GetProperty("fileSize").GetInt64() > 1024 * 1024, "precondition: over 1 MB");

        Assert.Equal("Export daily quota 1MB exceeded.", await Marketo.CreateErrorAsync(client, body, "1029"));
        var elsewhere = await Marketo.CreateAsync(other, body);
        Assert.Equal("Queued", (await Marketo.EnqueueAsync(other, elsewhere)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Under_the_quota_create_and_enqueue_work()
    {
        await using var server = await StartWithRoomAsync(limits: new { dailyExportQuotaMegabytes = 1 });
        await server.AppendAsync(Marketo.Activity(1, Day.AddHours(1)));
        using var client = await server.AuthorizedClientAsync();

        for (var i = 0; i < 3; i++)
        {
            var (_, job) = await Marketo.CompleteAsync(client, Marketo.Window(Day, Day.AddDays(1)));
            Assert.True(job.GetProperty("fileSize").GetInt64() < 1024);
        }
    }
}

public sealed class QueueAndQuotaTests_Embedded : QueueAndQuotaTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class QueueAndQuotaTests_Postgres : QueueAndQuotaTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
