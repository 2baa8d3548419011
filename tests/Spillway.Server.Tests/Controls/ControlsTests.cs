using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Controls;

/// <summary>The controls a test rig needs, through the admin API, end to end over HTTP.</summary>
public abstract class ControlsTests : StoreTestBase
{
    private const string Sub = SpillwayTestServer.MunchkinId;
    private static readonly DateTimeOffset Day = new(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);

    private static string Window => Marketo.Window(Day, Day.AddDays(1));

    private static async Task SeedDayAsync(SpillwayTestServer server, int rows = 20)
    {
        await server.AppendAsync([.. Enumerable.Range(1, rows).Select(i => Marketo.Activity(1000 + i, Day.AddMinutes(i)))]);
    }

    private static async Task<JsonElement> OkJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static Task<HttpResponseMessage> AddFaultAsync(SpillwayTestServer server, object rule, string munchkin = Sub) =>
        server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{munchkin}/faults", rule);

    private static async Task<JsonElement[]> RequestLogAsync(SpillwayTestServer server, string munchkin = Sub) =>
        [.. (await OkJsonAsync(await server.Admin.GetAsync($"/_spillway/admin/subscriptions/{munchkin}/requests"))).EnumerateArray()];

    [Fact]
    public async Task Reset_removes_jobs_files_activities_and_counters_but_keeps_users()
    {
        await using var server = await StartWithRoomAsync();
        await SeedDayAsync(server);
        using var client = await server.AuthorizedClientAsync();
        var (id, _) = await Marketo.CompleteAsync(client, Window);
        Assert.NotEmpty(server.ExportFilesOf(id));

        var reset = await OkJsonAsync(await server.Admin.PostAsync($"/_spillway/admin/subscriptions/{Sub}/reset", null));
        Assert.Equal(1, reset.GetProperty("jobs").GetInt32());
        Assert.Equal(20, reset.GetProperty("activities").GetInt64());
        Assert.Empty(server.ExportFilesOf(id));
        Assert.Equal(0, await server.AdmittedCallsTodayAsync());

        // The same token still works (users and credentials stay), the job is gone, the data is gone.
        await Marketo.ErrorAsync(await client.GetAsync($"/bulk/v1/activities/export/{id}/status.json"), "610");
        var (_, job) = await Marketo.CompleteAsync(client, Window);
        Assert.Equal(0, job.GetProperty("numberOfRecords").GetInt64());
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.PostAsync("/_spillway/admin/subscriptions/999-ZZZ-999/reset", null)).StatusCode);
    }

    [Fact]
    public async Task A_subscription_clock_crosses_the_quota_day_and_expires_files_for_that_subscription_only()
    {
        await using var server = await StartWithRoomAsync(limits: new { dailyExportQuotaMegabytes = 1 });
        var padding = new string('x', 150);
        await server.AppendAsync([.. Enumerable.Range(1, 8000).Select(i => Marketo.Activity(1000 + i, Day.AddSeconds(i), attributes: $$"""{"p":"{{padding}}"}"""))]);
        await server.CreateSubscriptionViaAdminAsync("333-CCC-333");
        var other = await server.AddUserViaAdminAsync("333-CCC-333", "other@example.com", "Read-Only Activity");
        using var client = await server.AuthorizedClientAsync();
        using var otherClient = await server.AuthorizedClientAsync(other.ClientId, other.ClientSecret);

        // One export over 1 MB uses up today's quota.
        var (first, firstJob) = await Marketo.CompleteAsync(client, Window);
        Assert.True(firstJob.GetProperty("fileSize").GetInt64() > 1024 * 1024);
        Assert.Equal("Export daily quota 1MB exceeded.", await Marketo.ErrorAsync(await Marketo.PostCreateAsync(client, Window), "1029"));

        // A day later on this subscription's clock, the quota is fresh.
        var clock = await OkJsonAsync(await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/clock", new { advanceSeconds = 86400 }));
        Assert.Equal(86400, clock.GetProperty("offsetSeconds").GetDouble(), 3);
        Assert.True(clock.GetProperty("now").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(23.9));
        var (second, secondJob) = await Marketo.CompleteAsync(client, Window);
        // finishedAt is on the subscription's clock.
        Assert.True(secondJob.GetProperty("finishedAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(23.9));

        // Seven more days: the first file is past its retention (404, status still Completed), the second is not yet.
        await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/clock", new { advanceSeconds = 7 * 86400 - 600 });
        Assert.Equal(HttpStatusCode.NotFound, (await Marketo.GetFileAsync(client, first)).StatusCode);
        Assert.Equal("Completed", (await Marketo.StatusAsync(client, first)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Marketo.GetFileAsync(client, second)).StatusCode);
        await server.SweepAsync();
        Assert.Empty(server.ExportFilesOf(first));
        Assert.NotEmpty(server.ExportFilesOf(second));

        // The other subscription keeps the server's clock.
        var otherClock = await OkJsonAsync(await server.Admin.GetAsync("/_spillway/admin/subscriptions/333-CCC-333/clock"));
        Assert.Equal(0, otherClock.GetProperty("offsetSeconds").GetDouble());
        var (otherId, otherJob) = await Marketo.CompleteAsync(otherClient, Window);
        Assert.True(otherJob.GetProperty("finishedAt").GetDateTimeOffset() < DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(HttpStatusCode.OK, (await Marketo.GetFileAsync(otherClient, otherId)).StatusCode);

        // Reset puts the clock back.
        await OkJsonAsync(await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/clock", new { reset = true }));
        Assert.Equal(0, (await OkJsonAsync(await server.Admin.GetAsync($"/_spillway/admin/subscriptions/{Sub}/clock"))).GetProperty("offsetSeconds").GetDouble());
    }

    [Fact]
    public async Task Manual_progression_moves_a_job_only_when_told()
    {
        await using var server = await StartWithRoomAsync();
        await SeedDayAsync(server, 5);
        using var client = await server.AuthorizedClientAsync();
        var mode = await OkJsonAsync(await server.Admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/progression", new { mode = "manual" }));
        Assert.Equal("Manual", mode.GetProperty("mode").GetString());

        var a = await Marketo.CreateAsync(client, Window);
        var b = await Marketo.CreateAsync(client, Window);
        var c = await Marketo.CreateAsync(client, Window);
        foreach (var id in new[] { a, b, c })
        {
            await Marketo.EnqueueAsync(client, id);
        }

        await Task.Delay(1000); // a worker would have run them long ago
        Assert.Equal("Queued", (await Marketo.StatusAsync(client, a)).GetProperty("status").GetString());

        var started = await OkJsonAsync(await server.Admin.PostAsync($"/_spillway/admin/jobs/{a}/start", null));
        Assert.Equal("Processing", started.GetProperty("status").GetString());
        Assert.Equal("Processing", (await Marketo.StatusAsync(client, a)).GetProperty("status").GetString());
        await OkJsonAsync(await server.Admin.PostAsync($"/_spillway/admin/jobs/{b}/start", null));
        // Two Processing: a third start is refused (the limit holds for manual moves too).
        Assert.Equal(HttpStatusCode.Conflict, (await server.Admin.PostAsync($"/_spillway/admin/jobs/{c}/start", null)).StatusCode);

        var completed = await OkJsonAsync(await server.Admin.PostAsync($"/_spillway/admin/jobs/{a}/complete", null));
        Assert.Equal("Completed", completed.GetProperty("status").GetString());
        Assert.Equal(5, completed.GetProperty("numberOfRecords").GetInt64());
        var file = await Marketo.GetFileAsync(client, a);
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Equal(6, Marketo.Lines(await file.Content.ReadAsByteArrayAsync()).Length);

        var failed = await OkJsonAsync(await server.Admin.PostAsJsonAsync($"/_spillway/admin/jobs/{b}/fail", new { errorMsg = "Internal error, please retry" }));
        Assert.Equal("Failed", failed.GetProperty("status").GetString());
        var b2 = await Marketo.StatusAsync(client, b);
        Assert.Equal("Internal error, please retry", b2.GetProperty("errorMsg").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await server.Admin.PostAsync($"/_spillway/admin/jobs/{b}/complete", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.PostAsync($"/_spillway/admin/jobs/{Guid.NewGuid()}/start", null)).StatusCode);

        // Back to immediate: the held job starts by itself.
        await OkJsonAsync(await server.Admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/progression", new { mode = "immediate" }));
        Assert.Equal("Completed", (await Marketo.WaitAsync(client, c)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_subscription_allowed_no_processing_keeps_its_jobs_queued_when_the_controls_release_held_jobs()
    {
        // A held job and a job of a subscription whose limit is 0 Processing jobs once looked the same to the release
        // loop (both had a processing limit of 0): leaving manual mode started the latter too.
        await using var server = await StartWithRoomAsync();
        await SeedDayAsync(server, 5);
        using var client = await server.AuthorizedClientAsync();
        await OkJsonAsync(await server.Admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/progression", new { mode = "manual" }));
        var held = await Marketo.CreateAsync(client, Window);
        await Marketo.EnqueueAsync(client, held);
        await OkJsonAsync(await server.Admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/progression", new { mode = "immediate" }));
        Assert.Equal("Completed", (await Marketo.WaitAsync(client, held)).GetProperty("status").GetString());

        await server.SetLimitsWithRoomAsync(new { maxProcessingJobs = 0 });
        var blocked = await Marketo.CreateAsync(client, Window);
        await Marketo.EnqueueAsync(client, blocked);
        await OkJsonAsync(await server.Admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/progression", new { mode = "manual" }));
        await OkJsonAsync(await server.Admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/progression", new { mode = "immediate" }));
        await Task.Delay(1500); // several worker polls and release passes
        Assert.Equal("Queued", (await Marketo.StatusAsync(client, blocked)).GetProperty("status").GetString());

        // Given a slot back, it runs.
        await server.SetLimitsWithRoomAsync(new { maxProcessingJobs = 2 });
        var next = await Marketo.CreateAsync(client, Window);
        await Marketo.EnqueueAsync(client, next);
        Assert.Equal("Completed", (await Marketo.WaitAsync(client, next)).GetProperty("status").GetString());
        Assert.Equal("Queued", (await Marketo.StatusAsync(client, blocked)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Realistic_progression_waits_the_start_latency_and_refreshes_status_once_a_minute()
    {
        await using var server = await StartWithRoomAsync();
        await SeedDayAsync(server, 3);
        using var client = await server.AuthorizedClientAsync();
        await OkJsonAsync(await server.Admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/progression",
            new { mode = "realistic", startLatencySeconds = 120, statusRefreshSeconds = 60 }));

        var id = await Marketo.CreateAsync(client, Window);
        Assert.Equal("Queued", (await Marketo.EnqueueAsync(client, id)).GetProperty("status").GetString());
        await Task.Delay(800);
        Assert.Equal("Queued", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());

        // Past the start latency on the subscription's clock the job runs, but the status still shows the last refresh ...
        await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/clock", new { advanceSeconds = 30 });
        Assert.Equal("Queued", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
        await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/clock", new { advanceSeconds = 100 });
        var store = (Spillway.Server.Storage.IExportJobStore)server.Services.GetService(typeof(Spillway.Server.Storage.IExportJobStore))!;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await store.GetByIdAsync(Guid.Parse(id), CancellationToken.None))!.Status != Spillway.Server.Storage.ExportJobStatus.Completed)
        {
            Assert.True(DateTime.UtcNow < deadline, "the released job did not complete");
            await Task.Delay(50);
        }

        // ... 130 s after the last refresh it is current again, and then stays for 60 s.
        Assert.Equal("Completed", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Error_rules_answer_each_code_in_the_envelope_deterministically_by_count()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        var cases = new (object Rule, string Code, string Message)[]
        {
            (new { kind = "error", endpoint = "list", code = "601", count = 1 }, "601", "Access token invalid"),
            (new { kind = "error", endpoint = "list", code = "602", count = 1 }, "602", "Access token expired"),
            (new { kind = "error", endpoint = "list", code = "606", count = 1 }, "606", "Max rate limit '100' exceeded with in '20' secs"),
            (new { kind = "error", endpoint = "list", code = "607", count = 1 }, "607", "Daily quota reached"),
            (new { kind = "error", endpoint = "list", code = "611", count = 1 }, "611", "System error"),
            (new { kind = "error", endpoint = "list", code = "615", count = 1 }, "615", "Concurrent access limit '10' reached"),
            (new { kind = "error", endpoint = "list", code = "1029", count = 1 }, "1029", "Too many jobs in queue"),
            (new { kind = "error", endpoint = "list", code = "1029", variant = "alreadyQueued", count = 1 }, "1029", "Job already queued"),
            (new { kind = "error", endpoint = "list", code = "1029", variant = "quota", count = 1 }, "1029", "Export daily quota 500MB exceeded."),
        };
        foreach (var (rule, code, message) in cases)
        {
            Assert.Equal(HttpStatusCode.Created, (await AddFaultAsync(server, rule)).StatusCode);
            var response = await client.GetAsync("/bulk/v1/activities/export.json");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(message, await Marketo.ErrorAsync(response, code));
            // Count 1: the next call is normal again.
            await Marketo.SuccessAsync(await client.GetAsync("/bulk/v1/activities/export.json"));
        }

        // skip + count: exactly the 3rd and 4th matching calls fail; other endpoints are not matched.
        await AddFaultAsync(server, new { kind = "error", endpoint = "/bulk/v1/activities/export.json", code = "611", skip = 2, count = 2 });
        var outcomes = new List<bool>();
        for (var i = 0; i < 6; i++)
        {
            await Marketo.SuccessAsync(await Marketo.PostCreateAsync(client, Window));
            using var json = JsonDocument.Parse(await (await client.GetAsync("/bulk/v1/activities/export.json")).Content.ReadAsStringAsync());
            outcomes.Add(json.RootElement.GetProperty("success").GetBoolean());
        }

        Assert.Equal([true, true, false, false, true, true], outcomes);
        var rules = await OkJsonAsync(await server.Admin.GetAsync($"/_spillway/admin/subscriptions/{Sub}/faults"));
        var last = rules.EnumerateArray().Last();
        Assert.Equal(6, last.GetProperty("matched").GetInt64());
        Assert.Equal(2, last.GetProperty("fired").GetInt64());
        Assert.Equal(HttpStatusCode.NoContent, (await server.Admin.DeleteAsync($"/_spillway/admin/subscriptions/{Sub}/faults/{last.GetProperty("id").GetString()}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await AddFaultAsync(server, new { kind = "error", code = "999" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await AddFaultAsync(server, new { kind = "explode" })).StatusCode);
    }

    [Fact]
    public async Task Rules_are_scoped_by_api_user_and_probability_is_seeded()
    {
        await using var server = await StartWithRoomAsync();
        var second = await server.CreateApiUserAsync("second@example.com", "Read-Only Activity");
        using var first = await server.AuthorizedClientAsync();
        using var other = await server.AuthorizedClientAsync(second.ClientId, second.ClientSecret);
        await AddFaultAsync(server, new { kind = "http", status = 502, apiUser = "second@example.com" });

        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/bulk/v1/activities/export.json")).StatusCode);
        var bad = await other.GetAsync("/bulk/v1/activities/export.json");
        Assert.Equal(HttpStatusCode.BadGateway, bad.StatusCode);
        Assert.Contains("502 Bad Gateway", await bad.Content.ReadAsStringAsync());
        await server.Admin.DeleteAsync($"/_spillway/admin/subscriptions/{Sub}/faults");

        async Task<string> PatternAsync()
        {
            await server.Admin.DeleteAsync($"/_spillway/admin/subscriptions/{Sub}/faults");
            await AddFaultAsync(server, new { kind = "http", status = 503, probability = 0.5, seed = 42 });
            var pattern = new StringBuilder();
            for (var i = 0; i < 40; i++)
            {
                pattern.Append((await first.GetAsync("/bulk/v1/activities/export.json")).StatusCode == HttpStatusCode.OK ? '.' : 'x');
            }

            return pattern.ToString();
        }

        var once = await PatternAsync();
        Assert.Equal(once, await PatternAsync());
        Assert.InRange(once.Count(ch => ch == 'x'), 8, 32);
    }

    [Fact]
    public async Task A_rule_pattern_that_would_backtrack_matches_in_linear_time_and_never_answers_611()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        // Twenty double stars before a letter the path never holds: a backtracking matcher tries the 3,000 letters of
        // the export id in about 3000^20 ways (it answered 611 once its time limit ran out).
        var pattern = "/" + string.Concat(Enumerable.Repeat("**a", 20)) + "**b";
        Assert.Equal(HttpStatusCode.Created, (await AddFaultAsync(server, new { kind = "http", status = 502, endpoint = pattern })).StatusCode);
        var response = await client.GetAsync("/bulk/v1/activities/export/" + new string('a', 3000) + "/status.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var envelope = await Marketo.EnvelopeAsync(response);
        Assert.False(envelope.GetProperty("success").GetBoolean());
        Assert.NotEqual("611", envelope.GetProperty("errors")[0].GetProperty("code").GetString());

        // The same shape with a letter the path holds does match.
        await server.Admin.DeleteAsync($"/_spillway/admin/subscriptions/{Sub}/faults");
        await AddFaultAsync(server, new { kind = "http", status = 502, endpoint = "/" + string.Concat(Enumerable.Repeat("**a", 20)) + "**json" });
        Assert.Equal(HttpStatusCode.BadGateway, (await client.GetAsync("/bulk/v1/activities/export/" + new string('a', 3000) + "/status.json")).StatusCode);
    }

    [Fact]
    public async Task Latency_cut_download_failed_job_and_missing_file_rules()
    {
        await using var server = await StartWithRoomAsync();
        await SeedDayAsync(server, 200);
        using var client = await server.AuthorizedClientAsync();
        var (id, job) = await Marketo.CompleteAsync(client, Window);
        var size = job.GetProperty("fileSize").GetInt64();

        // Latency.
        await AddFaultAsync(server, new { kind = "latency", endpoint = "status", latencyMs = 700, count = 1 });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Marketo.StatusAsync(client, id);
        Assert.True(watch.ElapsedMilliseconds >= 650, $"{watch.ElapsedMilliseconds} ms");

        // A connection cut after 100 bytes of the file: the client sees a short read and an error, never a whole file.
        await AddFaultAsync(server, new { kind = "cut", afterBytes = 100, count = 1 });
        var received = 0;
        var cut = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var response = await client.GetAsync($"/bulk/v1/activities/export/{id}/file.json", HttpCompletionOption.ResponseHeadersRead);
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[8192];
            int n;
            while ((n = await body.ReadAsync(buffer)) > 0)
            {
                received += n;
            }
        });
        Assert.True(cut is HttpRequestException or IOException, cut.ToString());
        Assert.Equal(100, received);
        Assert.True(size > 100);
        // The next download is whole again.
        Assert.Equal(size, (await (await Marketo.GetFileAsync(client, id)).Content.ReadAsByteArrayAsync()).Length);

        // A job that fails with a chosen errorMsg.
        await AddFaultAsync(server, new { kind = "failJob", errorMsg = "Export failed: simulated", count = 1 });
        var doomed = await Marketo.CreateAsync(client, Window);
        await Marketo.EnqueueAsync(client, doomed);
        var failed = await Marketo.WaitAsync(client, doomed);
        Assert.Equal("Failed", failed.GetProperty("status").GetString());
        Assert.Equal("Export failed: simulated", failed.GetProperty("errorMsg").GetString());

        // A Completed job whose file is gone.
        await AddFaultAsync(server, new { kind = "fileGone", count = 1 });
        Assert.Equal(HttpStatusCode.NotFound, (await Marketo.GetFileAsync(client, id)).StatusCode);
        Assert.Equal("Completed", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Marketo.GetFileAsync(client, id)).StatusCode);
    }

    [Fact]
    public async Task A_call_is_in_the_request_log_as_soon_as_its_answer_has_arrived()
    {
        // On PostgreSQL the log is written in batches in the background; a read must still see every answered call,
        // also while a batch is on its way to the database. 300 rounds cross many batch writes.
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        await server.Admin.DeleteAsync($"/_spillway/admin/subscriptions/{Sub}/requests");
        for (var i = 0; i < 300; i++)
        {
            var path = $"/bulk/v1/activities/export/{Guid.NewGuid()}/status.json";
            await client.GetAsync(path);
            var log = await RequestLogAsync(server);
            Assert.True(log.Length > 0 && log[^1].GetProperty("path").GetString() == path,
                $"round {i}: the log's last call is {(log.Length == 0 ? "none" : log[^1].GetProperty("path").GetString())}, not the one just answered");
        }
    }

    [Fact]
    public async Task The_request_log_records_each_call_of_the_subscription_and_stays_bounded()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await server.AuthorizedClientAsync();
        await server.Admin.DeleteAsync($"/_spillway/admin/subscriptions/{Sub}/requests");
        await AddFaultAsync(server, new { kind = "http", endpoint = "status", status = 500, count = 1 });
        var id = await Marketo.CreateAsync(client, Window);
        await client.GetAsync($"/bulk/v1/activities/export/{id}/status.json");
        await client.GetAsync($"/bulk/v1/activities/export/{Guid.NewGuid()}/status.json");

        var log = await RequestLogAsync(server);
        Assert.Equal(3, log.Length);
        Assert.Equal(("POST", "/bulk/v1/activities/export/create.json", 200), (log[0].GetProperty("method").GetString(), log[0].GetProperty("path").GetString(), log[0].GetProperty("httpStatus").GetInt32()));
        Assert.Equal("tester@example.com", log[0].GetProperty("apiUser").GetString());
        Assert.False(log[0].TryGetProperty("code", out var none) && none.ValueKind != JsonValueKind.Null);
        Assert.Equal(500, log[1].GetProperty("httpStatus").GetInt32());
        Assert.NotEqual(JsonValueKind.Null, log[1].GetProperty("fault").ValueKind);
        Assert.Equal("610", log[2].GetProperty("code").GetString());
        Assert.Contains('#', log[2].GetProperty("requestId").GetString()!);

        // Bodies: the create call's request as sent, its answer as JSON; a call without a body has none.
        Assert.Equal(Window, log[0].GetProperty("requestBody").GetString());
        Assert.Contains($"\"exportId\":\"{id}\"", log[0].GetProperty("responseBody").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, log[2].GetProperty("requestBody").ValueKind);
        Assert.Contains("\"610\"", log[2].GetProperty("responseBody").GetString(), StringComparison.Ordinal);

        // A long body keeps its first 4 KB and says how much is left out; one over 64 KB is only counted.
        await server.Admin.DeleteAsync($"/_spillway/admin/subscriptions/{Sub}/requests");
        var padded = Window[..^1] + ",\"pad\":\"" + new string('x', 10_000) + "\"}";
        await client.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json(padded));
        var huge = Window[..^1] + ",\"pad\":\"" + new string('y', 70_000) + "\"}";
        await client.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json(huge));
        log = await RequestLogAsync(server);
        var kept = log[0].GetProperty("requestBody").GetString()!;
        Assert.StartsWith(padded[..4096], kept, StringComparison.Ordinal);
        Assert.EndsWith($"… ({padded.Length - 4096:N0} more bytes)", kept, StringComparison.Ordinal);
        Assert.Equal($"({huge.Length:N0} bytes, not kept: the log keeps bodies of up to 64 KB)", log[1].GetProperty("requestBody").GetString());
        await server.Admin.DeleteAsync($"/_spillway/admin/subscriptions/{Sub}/requests");

        for (var i = 0; i < 1100; i++)
        {
            await client.GetAsync("/bulk/v1/activities/export.json");
        }

        log = await RequestLogAsync(server);
        Assert.Equal(1000, log.Length);
        Assert.Equal(1105, log[^1].GetProperty("sequence").GetInt64());
    }

    [Fact]
    public async Task Controls_are_closed_without_the_admin_key()
    {
        await using var server = await StartAsync();
        foreach (var (method, path) in new[]
        {
            (HttpMethod.Post, $"/_spillway/admin/subscriptions/{Sub}/reset"),
            (HttpMethod.Post, $"/_spillway/admin/subscriptions/{Sub}/clock"),
            (HttpMethod.Put, $"/_spillway/admin/subscriptions/{Sub}/progression"),
            (HttpMethod.Post, $"/_spillway/admin/jobs/{Guid.NewGuid()}/complete"),
            (HttpMethod.Post, $"/_spillway/admin/subscriptions/{Sub}/faults"),
            (HttpMethod.Get, $"/_spillway/admin/subscriptions/{Sub}/requests"),
        })
        {
            using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(new { }) };
            request.Headers.Add("X-Spillway-Admin-Key", "wrong");
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.SendAsync(request)).StatusCode);
        }
    }
}

public sealed class ControlsTests_Embedded : ControlsTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class ControlsTests_Postgres : ControlsTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
