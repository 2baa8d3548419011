using System.Net;
using System.Net.Http.Json;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Console;

/// <summary>The console's pages and forms over HTTP, on every store: what each page shows, and each form's outcome.</summary>
public abstract class ConsolePagesTests : StoreTestBase
{
    private const string Sub = SpillwayTestServer.MunchkinId;
    private const string Base = $"/_spillway/console/subscriptions/{Sub}";
    private static readonly DateTimeOffset Day = new(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);

    private static string Window => Marketo.Window(Day, Day.AddDays(1));

    private static async Task<JsonElement> AdminJsonAsync(SpillwayTestServer server, string path) =>
        JsonDocument.Parse(await (await server.Admin.GetAsync(path)).Content.ReadAsStringAsync()).RootElement.Clone();

    [Fact]
    public async Task Every_page_of_a_subscription_answers_with_its_heading_and_nav()
    {
        await using var server = await StartAsync();
        using var browser = await ConsoleBrowser.SignInAsync(server);

        (string Path, string Heading)[] pages =
        [
            ("/_spillway/console", "Subscriptions"),
            (Base, $"Overview of {Sub}"),
            (Base + "/jobs", $"Jobs of {Sub}"),
            (Base + "/requests", $"Request log of {Sub}"),
            (Base + "/controls", $"Controls of {Sub}"),
            (Base + "/data", $"Data of {Sub}"),
            (Base + "/activities", $"Activities of {Sub}"),
            (Base + "/leads", $"Leads of {Sub}"),
            (Base + "/lists", $"Lists of {Sub}"),
            (Base + "/programs", $"Programs of {Sub}"),
        ];
        foreach (var (path, heading) in pages)
        {
            var page = await browser.GetAsync(path);
            Assert.True(page.Status == HttpStatusCode.OK, $"{path}: {page.Status}");
            Assert.Equal(heading, page.Heading);
            Assert.True(page.Has("console-nav"), path);
            Assert.Contains("<main id=\"main\"", page.Html, StringComparison.Ordinal);
            Assert.Contains("default-src 'none'", page.Response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        }

        var unknown = await browser.GetAsync("/_spillway/console/subscriptions/999-ZZZ-999/jobs");
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Equal("Not found", unknown.Heading);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync(Base + "/jobs/not-a-job")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync(Base + "/requests/12345")).Status);
    }

    [Fact]
    public async Task A_manual_job_is_started_and_completed_from_its_page_and_the_overview_counts_it()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync([.. Enumerable.Range(1, 30).Select(i => Marketo.Activity(5000 + i, Day.AddMinutes(i)))]);
        using var browser = await ConsoleBrowser.SignInAsync(server);
        var manual = await browser.PostAsync(Base + "/controls/progression", ("mode", "Manual"));
        Assert.Equal("Manual", manual.Attr("progression-mode", "data-mode"));

        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Window);
        await Marketo.EnqueueAsync(client, id);

        var overview = await browser.GetAsync(Base);
        Assert.Equal("1", overview.Attr("queue-queued", "data-count"));
        Assert.Equal("10", overview.Attr("queue-queued", "data-max"));
        Assert.Equal("2", overview.Attr("queue-processing", "data-max"));
        Assert.Equal("0", overview.Attr("quota-meter", "data-used-bytes"));
        Assert.Contains(overview.Tags("job-count"), t => t.Contains("data-status=\"Queued\" data-count=\"1\"", StringComparison.Ordinal));
        Assert.Contains($"id=\"overview-live\" data-live=\"{Base}\"", overview.Html, StringComparison.Ordinal);

        var job = await browser.GetAsync($"{Base}/jobs/{id}");
        Assert.Equal("Queued", job.Attr("job-status", "data-status"));
        Assert.True(job.Has("job-start-form") && job.Has("job-complete-form") && job.Has("job-cancel-form"));

        var started = await browser.PostAsync($"{Base}/jobs/{id}/start");
        Assert.Equal(HttpStatusCode.OK, started.Status);
        Assert.Equal("Processing", started.Attr("job-status", "data-status"));
        Assert.Equal("Processing", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());

        var completed = await browser.PostAsync($"{Base}/jobs/{id}/complete");
        Assert.Equal("Completed", completed.Attr("job-status", "data-status"));
        var status = await Marketo.StatusAsync(client, id);
        Assert.Equal(status.GetProperty("fileSize").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
            completed.Attr("job-file-size", "data-bytes"));
        Assert.Equal("30", completed.Text("job-rows"));
        Assert.Equal(status.GetProperty("fileChecksum").GetString(), completed.Text("job-checksum"));
        Assert.Contains("2026-04-01", completed.Text("job-filter"), StringComparison.Ordinal);

        // The console's download is the API's file, byte for byte.
        var download = await browser.GetAsync(completed.Attr("job-download", "href"));
        Assert.Equal(HttpStatusCode.OK, download.Status);
        var apiFile = await (await Marketo.GetFileAsync(client, id)).Content.ReadAsStringAsync();
        Assert.Equal(apiFile, download.Html);

        // A second start is refused with the API's reason.
        var again = await browser.PostAsync($"{Base}/jobs/{id}/start");
        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        Assert.Contains("only a Queued job can be started", again.Text("form-error"), StringComparison.Ordinal);

        overview = await browser.GetAsync(Base);
        Assert.Equal(status.GetProperty("fileSize").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
            overview.Attr("quota-meter", "data-used-bytes"));
        Assert.Equal("0", overview.Attr("queue-queued", "data-count"));
        Assert.NotEqual("0", overview.Attr("calls-today", "data-used"));
        Assert.NotEqual("0", overview.Attr("rate-window", "data-used"));

        var list = await browser.GetAsync(Base + "/jobs?status=Completed&kind=activities&apiUser=tester%40example.com");
        var row = Assert.Single(list.Tags("job-row"));
        Assert.Equal(id, ConsoleResponse.AttrOf(row, "data-export-id"));
        Assert.Equal("Completed", ConsoleResponse.AttrOf(row, "data-status"));
        Assert.True((await browser.GetAsync(Base + "/jobs?status=Failed")).Has("jobs-empty"));
        var bad = await browser.GetAsync(Base + "/jobs?status=Done");
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.True(bad.Has("form-error"));
    }

    [Fact]
    public async Task A_job_is_cancelled_or_failed_from_its_page()
    {
        await using var server = await StartWithRoomAsync();
        using var browser = await ConsoleBrowser.SignInAsync(server);
        await browser.PostAsync(Base + "/controls/progression", ("mode", "Manual"));
        using var client = await server.AuthorizedClientAsync();
        var first = await Marketo.CreateAsync(client, Window);
        await Marketo.EnqueueAsync(client, first);
        var second = await Marketo.CreateAsync(client, Window);
        await Marketo.EnqueueAsync(client, second);

        var cancelled = await browser.PostAsync($"{Base}/jobs/{first}/cancel");
        Assert.Equal("Cancelled", cancelled.Attr("job-status", "data-status"));
        Assert.Equal("Cancelled", (await Marketo.StatusAsync(client, first)).GetProperty("status").GetString());
        Assert.False(cancelled.Has("job-cancel-form"));

        var failed = await browser.PostAsync($"{Base}/jobs/{second}/fail", ("errorMsg", "Disk on fire"));
        Assert.Equal("Failed", failed.Attr("job-status", "data-status"));
        Assert.Equal("Disk on fire", failed.Text("job-error"));
        Assert.Equal("Disk on fire", (await Marketo.StatusAsync(client, second)).GetProperty("errorMsg").GetString());

        var refused = await browser.PostAsync($"{Base}/jobs/{second}/cancel");
        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Contains("cannot be cancelled", refused.Text("form-error"), StringComparison.Ordinal);

        // A job of another subscription is not reachable through this one's pages.
        await server.CreateSubscriptionViaAdminAsync("222-BBB-222");
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync($"/_spillway/console/subscriptions/222-BBB-222/jobs/{second}")).Status);
    }

    [Fact]
    public async Task The_request_log_shows_calls_with_their_code_and_fault_and_filters_them()
    {
        await using var server = await StartWithRoomAsync();
        using var browser = await ConsoleBrowser.SignInAsync(server);
        var added = await browser.PostAsync(Base + "/controls/faults", ("kind", "error"), ("code", "606"), ("count", "1"), ("endpoint", "list"));
        Assert.Equal(HttpStatusCode.OK, added.Status);
        var rule = ConsoleResponse.AttrOf(Assert.Single(added.Tags("fault-row")), "data-rule-id")!;

        using var client = await server.AuthorizedClientAsync();
        await Marketo.ErrorAsync(await client.GetAsync("/bulk/v1/activities/export.json"), "606");
        await Marketo.SuccessAsync(await client.GetAsync("/bulk/v1/activities/export.json"));

        var log = await browser.GetAsync(Base + "/requests");
        Assert.True(log.Has("request-log-scope"));
        var rows = log.Tags("request-row");
        Assert.True(rows.Count >= 2);
        var faulted = Assert.Single(rows, r => ConsoleResponse.AttrOf(r, "data-code") == "606");
        Assert.Equal(rule, ConsoleResponse.AttrOf(faulted, "data-fault"));

        var only606 = await browser.GetAsync(Base + "/requests?code=606");
        Assert.Equal("606", ConsoleResponse.AttrOf(Assert.Single(only606.Tags("request-row")), "data-code"));
        Assert.True((await browser.GetAsync(Base + "/requests?apiUser=nobody%40example.com")).Has("requests-empty"));

        var detail = await browser.GetAsync($"{Base}/requests/{ConsoleResponse.AttrOf(faulted, "data-sequence")}");
        Assert.Equal("606", detail.Text("request-code"));
        Assert.Contains("/bulk/v1/activities/export.json", detail.Text("request-detail"), StringComparison.Ordinal);
        Assert.Equal("(none)", detail.Text("request-body"));
        Assert.Contains("\"code\":\"606\"", detail.Text("response-body"), StringComparison.Ordinal);

        var removed = await browser.PostAsync($"{Base}/controls/faults/{rule}/remove");
        Assert.True(removed.Has("faults-empty"));
        var gone = await browser.PostAsync($"{Base}/controls/faults/{rule}/remove");
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
        Assert.Equal($"No fault rule {rule}.", gone.Text("form-error"));
    }

    [Fact]
    public async Task The_controls_forms_refuse_what_the_admin_api_refuses()
    {
        await using var server = await StartWithRoomAsync();
        using var browser = await ConsoleBrowser.SignInAsync(server);

        var advanced = await browser.PostAsync(Base + "/controls/clock", ("advanceSeconds", "3600"));
        Assert.Equal(HttpStatusCode.OK, advanced.Status);
        var clock = await AdminJsonAsync(server, $"/_spillway/admin/subscriptions/{Sub}/clock");
        Assert.Equal(3600, clock.GetProperty("offsetSeconds").GetDouble(), 0);
        Assert.True(DateTimeOffset.Parse(advanced.Attr("clock-value", "datetime"), System.Globalization.CultureInfo.InvariantCulture)
            > DateTimeOffset.UtcNow.AddMinutes(59));

        var set = await browser.PostAsync(Base + "/controls/clock", ("now", "2030-01-02T03:04:05Z"));
        var setTo = DateTimeOffset.Parse(set.Attr("clock-value", "datetime"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(setTo, new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero), new DateTimeOffset(2030, 1, 2, 3, 5, 5, TimeSpan.Zero));
        await browser.PostAsync(Base + "/controls/clock", ("reset", "true"));
        Assert.Equal(0, (await AdminJsonAsync(server, $"/_spillway/admin/subscriptions/{Sub}/clock")).GetProperty("offsetSeconds").GetDouble(), 0);

        (string Path, (string, string)[] Fields, HttpStatusCode Status, string Error)[] refusals =
        [
            ("/controls/clock", [("advanceSeconds", "1e12")], HttpStatusCode.BadRequest, "advanceSeconds is a finite number of seconds under 100 years."),
            ("/controls/clock", [("now", "yesterday")], HttpStatusCode.BadRequest, "now is an ISO 8601 date-time"),
            ("/controls/clock", [("now", "9999-01-01T00:00:00Z")], HttpStatusCode.BadRequest, "now is a date-time from 1970-01-01T00:00:00Z"),
            ("/controls/clock", [], HttpStatusCode.BadRequest, "Give now, advanceSeconds, or reset the clock."),
            ("/controls/progression", [("mode", "turbo")], HttpStatusCode.BadRequest, "mode is immediate, realistic or manual."),
            ("/controls/progression", [("mode", "Realistic"), ("startLatencySeconds", "-1")], HttpStatusCode.BadRequest,
                "startLatencySeconds and statusRefreshSeconds are from 0 to 86400."),
            ("/controls/faults", [("kind", "meteor")], HttpStatusCode.BadRequest, "kind"),
            ("/controls/faults", [("kind", "http"), ("status", "lots")], HttpStatusCode.BadRequest, "status is a whole number."),
            ("/controls/reset", [("confirm", "nope")], HttpStatusCode.BadRequest, $"Type {Sub} to confirm the reset; nothing was removed."),
        ];
        foreach (var (path, fields, status, error) in refusals)
        {
            var page = await browser.PostAsync(Base + path, fields);
            Assert.True(page.Status == status, $"{path} {string.Join(",", fields)}: {page.Status}");
            Assert.Contains(error, page.Text("form-error"), StringComparison.Ordinal);
        }

        Assert.Equal("Immediate", (await browser.GetAsync(Base + "/controls")).Attr("progression-mode", "data-mode"));
    }

    [Fact]
    public async Task Reset_with_the_confirmation_removes_the_jobs_and_activities()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync([.. Enumerable.Range(1, 5).Select(i => Marketo.Activity(7000 + i, Day.AddMinutes(i)))]);
        using var client = await server.AuthorizedClientAsync();
        await Marketo.CompleteAsync(client, Window);
        using var browser = await ConsoleBrowser.SignInAsync(server);

        var reset = await browser.PostAsync(Base + "/controls/reset", ("confirm", Sub));

        Assert.Equal(HttpStatusCode.OK, reset.Status);
        Assert.Contains("1 jobs and 5 activities removed", reset.Text("flash"), StringComparison.Ordinal);
        Assert.True((await browser.GetAsync(Base + "/jobs")).Has("jobs-empty"));
    }

    [Fact]
    public async Task Data_forms_add_users_rotate_secrets_set_limits_and_seed_with_the_api_rules()
    {
        await using var server = await StartWithRoomAsync();
        using var browser = await ConsoleBrowser.SignInAsync(server);

        var added = await browser.PostAsync(Base + "/data/users", ("email", "robot@example.com"), ("permissions", "Read-Only Activity"));
        Assert.Equal(HttpStatusCode.OK, added.Status);
        var clientId = added.Attr("secret-once", "data-client-id");
        var secret = added.Text("secret-value");
        await server.GetTokenAsync(clientId, secret);
        Assert.Contains(added.Tags("user-row"), t => ConsoleResponse.AttrOf(t, "data-email") == "robot@example.com");
        Assert.False((await browser.GetAsync(Base + "/data")).Has("secret-once"));

        var duplicate = await browser.PostAsync(Base + "/data/users", ("email", "robot@example.com"));
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.Status);
        Assert.Equal($"robot@example.com is already an API user of {Sub}.", duplicate.Text("form-error"));
        var unknownPermission = await browser.PostAsync(Base + "/data/users", ("email", "x@example.com"), ("permissions", "Root"));
        Assert.StartsWith("Unknown permission 'Root'.", unknownPermission.Text("form-error"), StringComparison.Ordinal);

        var rotated = await browser.PostAsync(Base + "/data/users/rotate", ("clientId", clientId));
        var newSecret = rotated.Text("secret-value");
        Assert.NotEqual(secret, newSecret);
        await server.GetTokenAsync(clientId, newSecret);
        var oldSecret = await server.TokenByQueryAsync(clientId, secret);
        Assert.False(oldSecret.IsSuccessStatusCode);

        await server.CreateSubscriptionViaAdminAsync("222-BBB-222");
        var foreign = await server.AddUserViaAdminAsync("222-BBB-222", "other@example.com", "Read-Only Activity");
        var notOurs = await browser.PostAsync(Base + "/data/users/rotate", ("clientId", foreign.ClientId));
        Assert.Equal(HttpStatusCode.NotFound, notOurs.Status);
        await server.GetTokenAsync(foreign.ClientId, foreign.ClientSecret);

        var limits = await browser.PostAsync(Base + "/data/limits", ("maxQueuedJobs", "3"), ("dailyExportQuotaMegabytes", "7"));
        Assert.Equal(HttpStatusCode.OK, limits.Status);
        var queued = Assert.Single(limits.Tags("limit-row"), t => ConsoleResponse.AttrOf(t, "data-limit") == "maxQueuedJobs");
        Assert.Equal(("3", "true"), (ConsoleResponse.AttrOf(queued, "data-value"), ConsoleResponse.AttrOf(queued, "data-overridden")));
        Assert.Equal("3", (await browser.GetAsync(Base)).Attr("queue-queued", "data-max"));
        Assert.Equal((7L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
            (await browser.GetAsync(Base)).Attr("quota-meter", "data-limit-bytes"));
        var subscriptions = await AdminJsonAsync(server, "/_spillway/admin/subscriptions");
        Assert.Equal(3, subscriptions.EnumerateArray().Single(s => s.GetProperty("munchkinId").GetString() == Sub)
            .GetProperty("overrides").GetProperty("maxQueuedJobs").GetInt32());

        var outOfRange = await browser.PostAsync(Base + "/data/limits", ("maxWindowDays", "0"));
        Assert.Equal(HttpStatusCode.BadRequest, outOfRange.Status);
        Assert.Equal("maxWindowDays is from 1 to 36500.", outOfRange.Text("form-error"));
        var notANumber = await browser.PostAsync(Base + "/data/limits", ("maxQueuedJobs", "many"));
        Assert.Equal("maxQueuedJobs is a whole number.", notANumber.Text("form-error"));

        var seeded = await browser.PostAsync(Base + "/data/seed", ("activities", "40"), ("daysBack", "1"), ("seed", "3"));
        Assert.Equal(HttpStatusCode.OK, seeded.Status);
        Assert.Equal("40 activities added; 40 in all. 100 leads written.", seeded.Text("flash"));
        var withLeads = await browser.PostAsync(Base + "/data/seed", ("activities", "0"), ("leads", "12"), ("seed", "4"));
        Assert.Equal("0 activities added; 40 in all. 12 leads written.", withLeads.Text("flash"));
        Assert.Equal("Activities need at least one lead to name.", (await browser.PostAsync(Base + "/data/seed", ("activities", "5"), ("leads", "0"))).Text("form-error"));
        Assert.Equal("leads is a whole number.", (await browser.PostAsync(Base + "/data/seed", ("activities", "5"), ("leads", "x"))).Text("form-error"));
        var badSeed = await browser.PostAsync(Base + "/data/seed", ("activities", "40"), ("daysBack", "0"));
        Assert.Equal("Seed at most 100,000,000 activities and 20,000,000 leads over 1 to 3650 days.", badSeed.Text("form-error"));

        // The seeded activities end now: today's and yesterday's pages hold all 40.
        var today = DateTimeOffset.UtcNow;
        var counted = 0L;
        foreach (var day in new[] { today.AddDays(-1), today })
        {
            var page = await browser.GetAsync($"{Base}/activities?day={day:yyyy-MM-dd}");
            counted += page.Tags("activity-type-row").Sum(t => long.Parse(ConsoleResponse.AttrOf(t, "data-count")!, System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(40, counted);
        Assert.Equal("40", (await browser.GetAsync(Base + "/activities")).Attr("activities-total", "data-count"));
    }

    [Fact]
    public async Task The_activity_browser_lists_a_days_activities_of_a_type_in_export_order()
    {
        await using var server = await StartAsync();
        await server.AppendAsync([
            Marketo.Activity(9003, Day.AddHours(3), type: 2),
            Marketo.Activity(9001, Day.AddHours(1), type: 1),
            Marketo.Activity(9002, Day.AddHours(2), type: 1),
            Marketo.Activity(9004, Day.AddDays(1).AddHours(1), type: 1),
        ]);
        using var browser = await ConsoleBrowser.SignInAsync(server);

        var page = await browser.GetAsync($"{Base}/activities?day=2026-04-01&activityTypeId=1");

        Assert.Equal(["9001", "9002"], page.Tags("activity-row").Select(t => ConsoleResponse.AttrOf(t, "data-marketo-guid")));
        Assert.Equal([("1", "2"), ("2", "1")], page.Tags("activity-type-row")
            .Select(t => (ConsoleResponse.AttrOf(t, "data-activity-type-id"), ConsoleResponse.AttrOf(t, "data-count"))));
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync($"{Base}/activities?day=April")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync($"{Base}/leads?from=-4")).Status);
        Assert.True((await browser.GetAsync($"{Base}/leads")).Has("leads-empty"));
    }

    [Fact]
    public async Task The_lists_and_programs_pages_show_the_stores_members_page_by_page_and_refuse_bad_input()
    {
        await using var server = await StartWithRoomAsync();
        var seeded = await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{Sub}/seed", new { activities = 4_000, daysBack = 5, seed = 9, leads = 600 });
        seeded.EnsureSuccessStatusCode();
        var subscriptionId = (await server.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(Sub, CancellationToken.None))!.Id;
        var lists = server.Services.GetRequiredService<IListStore>();
        // The seeded lists hold a few dozen members each; one list gets 250 more leads, so its members span three pages.
        var at = DateTimeOffset.UtcNow;
        var extra = Enumerable.Range(1, 250).Select(i => new LeadRecord(5_000_000 + i, at, at, at,
            new Dictionary<string, object> { ["email"] = $"page{i}@example.com" })).ToList();
        await server.Services.GetRequiredService<ILeadStore>().PutAsync(subscriptionId, extra, CancellationToken.None);
        var grown = (await lists.GetListsAsync(subscriptionId, CancellationToken.None))[0].Id;
        var before = await lists.CountMembersAsync(subscriptionId, grown, long.MaxValue, CancellationToken.None);
        var added = await lists.AddMembersAsync(subscriptionId, grown, [.. extra.Select(l => l.Id)], at, CancellationToken.None);
        Assert.Empty(added.Missing);
        using var browser = await ConsoleBrowser.SignInAsync(server);

        // Every static list, with the store's member count; and the smart lists with their rules.
        var page = await browser.GetAsync(Base + "/lists");
        var rows = page.Tags("list-row").Select(t => (Id: long.Parse(ConsoleResponse.AttrOf(t, "data-list-id")!, CultureInfo.InvariantCulture),
            Members: long.Parse(ConsoleResponse.AttrOf(t, "data-members")!, CultureInfo.InvariantCulture))).ToList();
        var stored = await lists.GetListsAsync(subscriptionId, CancellationToken.None);
        Assert.Equal(stored.Select(l => l.Id), rows.Select(r => r.Id));
        foreach (var (id, members) in rows)
        {
            Assert.Equal(await lists.CountMembersAsync(subscriptionId, id, long.MaxValue, CancellationToken.None), members);
        }

        Assert.Equal((await lists.GetSmartListsAsync(subscriptionId, CancellationToken.None)).Count, page.Tags("smart-list-row").Count);
        Assert.NotEmpty(page.Tags("smart-list-row"));

        // The biggest list's members, a hundred at a time, in lead id order, all of them once.
        var biggest = rows.MaxBy(r => r.Members);
        Assert.Equal((grown, before + 250), biggest);
        var seen = new List<long>();
        var next = $"{Base}/lists/{biggest.Id}";
        while (true)
        {
            var members = await browser.GetAsync(next);
            Assert.Equal(HttpStatusCode.OK, members.Status);
            Assert.Equal(biggest.Members.ToString(CultureInfo.InvariantCulture), members.Attr("list-members", "data-count"));
            seen.AddRange(members.Tags("member-row").Select(t => long.Parse(ConsoleResponse.AttrOf(t, "data-lead-id")!, CultureInfo.InvariantCulture)));
            if (!members.Has("members-next"))
            {
                break;
            }

            next = System.Net.WebUtility.HtmlDecode(ConsoleResponse.AttrOf(members.Tag("members-next"), "href")!);
        }

        Assert.Equal(await lists.GetMembersAsync(subscriptionId, biggest.Id, 0, int.MaxValue, CancellationToken.None), seen);

        // Programs: every program of the world; a program's members filtered by a status of its channel.
        var programs = await browser.GetAsync(Base + "/programs");
        Assert.Equal(MarketingWorld.Programs.Select(p => p.Id.ToString(CultureInfo.InvariantCulture)),
            programs.Tags("program-row").Select(t => ConsoleResponse.AttrOf(t, "data-program-id")));
        var memberships = server.Services.GetRequiredService<IProgramMemberStore>();
        var (program, status) = (0L, "");
        foreach (var p in MarketingWorld.Programs)
        {
            var first = await memberships.ReadAsync(new ProgramMemberQuery(subscriptionId, [p.Id], 1), CancellationToken.None);
            if (first.Count > 0)
            {
                (program, status) = (p.Id, first[0].StatusName);
                break;
            }
        }

        Assert.NotEqual(0, program);
        var filtered = await browser.GetAsync($"{Base}/programs/{program}?status={Uri.EscapeDataString(status)}");
        Assert.Equal(HttpStatusCode.OK, filtered.Status);
        var expected = await memberships.ReadAsync(new ProgramMemberQuery(subscriptionId, [program], 100) { StatusNames = [status] }, CancellationToken.None);
        Assert.Equal(expected.Select(m => m.LeadId.ToString(CultureInfo.InvariantCulture)),
            filtered.Tags("program-member-row").Select(t => ConsoleResponse.AttrOf(t, "data-lead-id")));
        Assert.All(filtered.Tags("program-member-row"), t => Assert.Equal(status, System.Net.WebUtility.HtmlDecode(ConsoleResponse.AttrOf(t, "data-status")!)));

        // Bad input: unknown list or program 404, a bad position or status 400 with the reason.
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync($"{Base}/lists/999999")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync($"{Base}/lists/-1")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync($"{Base}/programs/123456789")).Status);
        var badAfter = await browser.GetAsync($"{Base}/lists/{biggest.Id}?after=x");
        Assert.Equal(HttpStatusCode.BadRequest, badAfter.Status);
        Assert.Equal("after is a lead id, a whole number from 0.", badAfter.Text("form-error"));
        var badStatus = await browser.GetAsync($"{Base}/programs/{program}?status=Nope");
        Assert.Equal(HttpStatusCode.BadRequest, badStatus.Status);
        Assert.StartsWith("status must be one of the ", badStatus.Text("form-error"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_subscription_is_created_from_the_start_page_with_the_api_rules()
    {
        await using var server = await StartAsync();
        using var browser = await ConsoleBrowser.SignInAsync(server);

        var created = await browser.PostAsync("/_spillway/console/subscriptions", ("munchkinId", "222-bbb-222"), ("name", "Second"));

        Assert.Equal(HttpStatusCode.OK, created.Status);
        Assert.Equal("Subscription 222-BBB-222 created.", created.Text("flash"));
        Assert.Equal([Sub, "222-BBB-222"], created.Tags("subscription-row").Select(t => ConsoleResponse.AttrOf(t, "data-munchkin-id")).Order());
        var bad = await browser.PostAsync("/_spillway/console/subscriptions", ("munchkinId", "nope"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Equal("A munchkin id looks like 123-ABC-456.", bad.Text("form-error"));
        var taken = await browser.PostAsync("/_spillway/console/subscriptions", ("munchkinId", "222-BBB-222"));
        Assert.Equal("Subscription 222-BBB-222 already exists.", taken.Text("form-error"));
        Assert.Equal(2, (await AdminJsonAsync(server, "/_spillway/admin/subscriptions")).GetArrayLength());
    }
}

public sealed class ConsolePagesTests_Embedded : ConsolePagesTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class ConsolePagesTests_Postgres : ConsolePagesTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
