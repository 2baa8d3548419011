using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Leads;

/// <summary>Bulk Lead Extract over HTTP: the create body's rules, the file's bytes, access, and the queue and quota it shares.</summary>
public abstract class LeadExtractTests : StoreTestBase
{
    private const string Prefix = "/bulk/v1/leads/export";
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<HttpClient> ClientAsync(SpillwayTestServer server, params string[] permissions)
    {
        var (id, secret) = await server.CreateApiUserAsync($"extract-{Guid.NewGuid():N}@example.com",
            permissions.Length == 0 ? ["Read-Write Lead", "Read-Only Activity"] : permissions);
        return await server.AuthorizedClientAsync(id, secret);
    }

    private static async Task SyncAsync(HttpClient client, string input)
    {
        var envelope = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/leads.json", Marketo.Json($$"""{"input":[{{input}}]}""")));
        Assert.All(envelope.GetProperty("result").EnumerateArray(), r => Assert.NotEqual("skipped", r.GetProperty("status").GetString()));
    }

    private static string Body(string fields, string filter, string extra = "") =>
        $$"""{"fields":[{{fields}}],"filter":{{{filter}}}{{extra}}}""";

    private static string Created(DateTimeOffset start, DateTimeOffset end) =>
        $"\"createdAt\":{{\"startAt\":\"{start:yyyy-MM-ddTHH:mm:ssZ}\",\"endAt\":\"{end:yyyy-MM-ddTHH:mm:ssZ}\"}}";

    private static string Updated(DateTimeOffset start, DateTimeOffset end) =>
        $"\"updatedAt\":{{\"startAt\":\"{start:yyyy-MM-ddTHH:mm:ssZ}\",\"endAt\":\"{end:yyyy-MM-ddTHH:mm:ssZ}\"}}";

    private static Task<HttpResponseMessage> PostCreateAsync(HttpClient client, string body) => client.PostAsync($"{Prefix}/create.json", Marketo.Json(body));

    private static async Task<string> CreateErrorAsync(HttpClient client, string body, string code = "1003") =>
        await Marketo.ErrorAsync(await PostCreateAsync(client, body), code);

    private static async Task<string> CreateAsync(HttpClient client, string body) =>
        Marketo.Job(await Marketo.SuccessAsync(await PostCreateAsync(client, body))).GetProperty("exportId").GetString()!;

    private static Task<HttpResponseMessage> PostEnqueueAsync(HttpClient client, string id) => client.PostAsync($"{Prefix}/{id}/enqueue.json", null);

    private static async Task<JsonElement> StatusAsync(HttpClient client, string id) =>
        Marketo.Job(await Marketo.SuccessAsync(await client.GetAsync($"{Prefix}/{id}/status.json")));

    private static async Task<(string Id, JsonElement Job)> CompleteAsync(HttpClient client, string body)
    {
        var id = await CreateAsync(client, body);
        Assert.Equal("Queued", Marketo.Job(await Marketo.SuccessAsync(await PostEnqueueAsync(client, id))).GetProperty("status").GetString());
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var job = await StatusAsync(client, id);
            var status = job.GetProperty("status").GetString();
            if (status is "Completed" or "Failed" or "Cancelled")
            {
                Assert.Equal("Completed", status);
                return (id, job);
            }

            Assert.True(DateTime.UtcNow < deadline, $"Job {id} still {status} after 60 s");
            await Task.Delay(100);
        }
    }

    private static async Task<string> ExportTextAsync(HttpClient client, string body)
    {
        var (id, job) = await CompleteAsync(client, body);
        var response = await client.GetAsync($"{Prefix}/{id}/file.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(job.GetProperty("fileSize").GetInt64(), bytes.Length);
        return Encoding.UTF8.GetString(bytes);
    }

    [Fact]
    public async Task Every_create_rule_answers_its_1003_and_a_list_filter_names_a_list_that_does_not_exist()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await ClientAsync(server);
        var window = Created(Day, Day.AddDays(1));
        Assert.Equal("Invalid value specified for attribute 'body': the request body must be a JSON object", await CreateErrorAsync(client, "[1]"));
        Assert.Equal("Invalid value specified for attribute 'format': 'XLS' is not one of CSV, TSV, SSV",
            await CreateErrorAsync(client, Body("\"id\"", window, ",\"format\":\"XLS\"")));
        Assert.Equal("Invalid value specified for attribute 'filter': filter is required and must be an object",
            await CreateErrorAsync(client, """{"fields":["id"]}"""));
        const string ExactlyOne = "Invalid value specified for attribute 'filter': filter must have exactly one of createdAt, updatedAt, staticListId, staticListName, smartListId, smartListName";
        Assert.Equal(ExactlyOne, await CreateErrorAsync(client, Body("\"id\"", "")));
        Assert.Equal(ExactlyOne, await CreateErrorAsync(client, Body("\"id\"", window + "," + Updated(Day, Day.AddDays(1)))));
        Assert.Equal(ExactlyOne, await CreateErrorAsync(client, Body("\"id\"", window + ",\"staticListId\":1")));
        Assert.Equal("Invalid value specified for attribute 'filter': createdAt range exceeds 31 days",
            await CreateErrorAsync(client, Body("\"id\"", Created(Day, Day.AddDays(32)))));
        Assert.Equal("Invalid value specified for attribute 'filter': updatedAt startAt is after endAt",
            await CreateErrorAsync(client, Body("\"id\"", Updated(Day.AddDays(1), Day))));
        Assert.Equal("Invalid value specified for attribute 'filter': createdAt.startAt 'soon' is not a valid ISO-8601 date-time",
            await CreateErrorAsync(client, Body("\"id\"", "\"createdAt\":{\"startAt\":\"soon\",\"endAt\":\"2026-03-02T00:00:00Z\"}")));
        Assert.Equal("Invalid value specified for attribute 'fields': fields is required and must be an array of field names",
            await CreateErrorAsync(client, "{\"filter\":{" + window + "}}"));
        Assert.Equal("Invalid value specified for attribute 'fields': fields is required and must be an array of field names",
            await CreateErrorAsync(client, "{\"fields\":\"id\",\"filter\":{" + window + "}}"));
        Assert.Equal("Invalid value specified for attribute 'fields': fields must name at least one field", await CreateErrorAsync(client, Body("", window)));
        Assert.Equal("Invalid value specified for attribute 'fields': fields must be an array of field names", await CreateErrorAsync(client, Body("1", window)));
        Assert.Equal("Invalid value specified for attribute 'fields': 'shoeSize' is not a lead field", await CreateErrorAsync(client, Body("\"id\",\"shoeSize\"", window)));
        Assert.Equal("Invalid value specified for attribute 'fields': 'Email' is not a lead field", await CreateErrorAsync(client, Body("\"Email\"", window)));
        Assert.Equal("Invalid value specified for attribute 'fields': 'email' is listed twice", await CreateErrorAsync(client, Body("\"email\",\"id\",\"email\"", window)));
        Assert.Equal("Invalid value specified for attribute 'columnHeaderNames': 'city' is not a field of this export",
            await CreateErrorAsync(client, Body("\"email\"", window, ",\"columnHeaderNames\":{\"city\":\"Town\"}")));
        Assert.Equal("Static list not found", await CreateErrorAsync(client, Body("\"id\"", "\"staticListId\":1001")));
        Assert.Equal("Static list not found", await CreateErrorAsync(client, Body("\"id\"", "\"staticListName\":\"Webinar\"")));
        Assert.Equal("Smart list not found", await CreateErrorAsync(client, Body("\"id\"", "\"smartListId\":7")));
        Assert.Equal("Invalid value specified for attribute 'filter': staticListId must be an integer",
            await CreateErrorAsync(client, Body("\"id\"", "\"staticListId\":\"x\"")));

        // Nothing above made a job.
        Assert.Empty((await Marketo.SuccessAsync(await client.GetAsync($"{Prefix}.json"))).GetProperty("result").EnumerateArray());
    }

    [Fact]
    public async Task Without_the_advanced_filters_updatedAt_and_smart_lists_answer_1035_and_createdAt_still_works()
    {
        await using var server = await StartWithRoomAsync(limits: new { advancedLeadExtractFilters = false });
        using var client = await ClientAsync(server);
        Assert.Equal("Unsupported filter type for target subscription", await CreateErrorAsync(client, Body("\"id\"", Updated(Day, Day.AddDays(1))), "1035"));
        Assert.Equal("Unsupported filter type for target subscription", await CreateErrorAsync(client, Body("\"id\"", "\"smartListId\":1"), "1035"));
        Assert.Equal("Unsupported filter type for target subscription", await CreateErrorAsync(client, Body("\"id\"", "\"smartListName\":\"All\""), "1035"));
        Assert.Equal("Static list not found", await CreateErrorAsync(client, Body("\"id\"", "\"staticListId\":1")));
        Assert.Equal("Created", (await StatusAsync(client, await CreateAsync(client, Body("\"id\"", Created(Day, Day.AddDays(1)))))).GetProperty("status").GetString());

        await server.SetLimitsWithRoomAsync(new { advancedLeadExtractFilters = true });
        await Task.Delay(TimeSpan.FromSeconds(0.1));
        await CreateAsync(client, Body("\"id\"", Updated(Day, Day.AddDays(1))));
    }

    [Fact]
    public async Task The_file_has_the_window_s_leads_in_id_order_with_every_kind_of_value_written_as_activity_files_write_them()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await ClientAsync(server);
        server.Clock.SetNow(Day.AddDays(-1));
        await SyncAsync(client, """{"email":"before@example.com"}""");
        server.Clock.SetNow(Day.AddHours(6));
        await SyncAsync(client, """
            {"email":"ann@example.com","firstName":"Ann, \"A\"","numberOfEmployees":250,"annualRevenue":12.5,"unsubscribed":true,"doNotCall":false,"dateOfBirth":"1990-07-04","city":"東京"},
            {"email":"gone@example.com"},
            {"email":"bob@example.com","lastName":"Line\nBreak"}
            """);
        Assert.Equal("deleted", (await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/leads/delete.json", Marketo.Json("""{"input":[{"id":3}]}"""))))
            .GetProperty("result")[0].GetProperty("status").GetString());
        server.Clock.SetNow(Day.AddDays(3));
        await SyncAsync(client, """{"email":"after@example.com"}""");

        const string Fields = "\"id\",\"email\",\"firstName\",\"lastName\",\"numberOfEmployees\",\"annualRevenue\",\"unsubscribed\",\"doNotCall\",\"dateOfBirth\",\"city\"";
        var csv = await ExportTextAsync(client, Body(Fields, Created(Day, Day.AddDays(1)), ",\"columnHeaderNames\":{\"email\":\"Email Address\",\"id\":\"Lead Id\"}"));
        Assert.Equal(
            "Lead Id,Email Address,firstName,lastName,numberOfEmployees,annualRevenue,unsubscribed,doNotCall,dateOfBirth,city\n" +
            "2,ann@example.com,\"Ann, \"\"A\"\"\",null,250,12.5,true,false,1990-07-04,東京\n" +
            "4,bob@example.com,null,\"Line\nBreak\",null,null,null,null,null,null\n",
            csv);

        var tsv = await ExportTextAsync(client, Body("\"firstName\",\"id\"", Created(Day, Day.AddDays(1)), ",\"format\":\"TSV\""));
        Assert.Equal("firstName\tid\n\"Ann, \"\"A\"\"\"\t2\nnull\t4\n", tsv);
        var ssv = await ExportTextAsync(client, Body("\"id\",\"firstName\"", Created(Day, Day.AddDays(1)), ",\"format\":\"SSV\""));
        Assert.Equal("id firstName\n2 \"Ann, \"\"A\"\"\"\n4 null\n", ssv);

        // The server's clock runs on after a test sets it: the times are a few seconds past the hour.
        Assert.Matches(@"^createdAt\n2026-03-01T06:00:\d\dZ\n2026-03-01T06:00:\d\dZ\n$", await ExportTextAsync(client, Body("\"createdAt\"", Created(Day, Day.AddDays(1)))));

        // An empty window is a header alone.
        Assert.Equal("id\n", await ExportTextAsync(client, Body("\"id\"", Created(Day.AddDays(10), Day.AddDays(11)))));
    }

    [Fact]
    public async Task The_updatedAt_filter_reads_the_last_field_change_not_the_creation()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await ClientAsync(server);
        server.Clock.SetNow(Day);
        await SyncAsync(client, """{"email":"ann@example.com"},{"email":"bob@example.com"}""");
        server.Clock.SetNow(Day.AddDays(10));
        await SyncAsync(client, """{"email":"bob@example.com","firstName":"Bob"}""");

        Assert.Matches(@"^id,firstName,updatedAt\n2,Bob,2026-03-11T00:00:\d\dZ\n$",
            await ExportTextAsync(client, Body("\"id\",\"firstName\",\"updatedAt\"", Updated(Day.AddDays(9), Day.AddDays(11)))));
        Assert.Equal("id\n1\n", await ExportTextAsync(client, Body("\"id\"", Updated(Day.AddDays(-1), Day.AddDays(1)))));
        Assert.Equal("id\n1\n2\n", await ExportTextAsync(client, Body("\"id\"", Created(Day.AddDays(-1), Day.AddDays(1)))));
    }

    [Fact]
    public async Task The_file_answers_ranges_and_the_job_is_listed_and_seen_only_by_its_creator_and_only_as_a_lead_job()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await ClientAsync(server, "Read-Only Lead");
        using var writer = await ClientAsync(server, "Read-Write Lead");
        server.Clock.SetNow(Day.AddHours(1));
        await SyncAsync(writer, """{"email":"ann@example.com"},{"email":"bob@example.com"}""");

        var (id, job) = await CompleteAsync(client, Body("\"id\",\"email\"", Created(Day, Day.AddDays(1))));
        Assert.Equal(2, job.GetProperty("numberOfRecords").GetInt64());
        Assert.Equal("CSV", job.GetProperty("format").GetString());
        var whole = await (await client.GetAsync($"{Prefix}/{id}/file.json")).Content.ReadAsStringAsync();
        Assert.Equal("id,email\n1,ann@example.com\n2,bob@example.com\n", whole);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(whole))),
            job.GetProperty("fileChecksum").GetString());

        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"{Prefix}/{id}/file.json");
        ranged.Headers.Range = new RangeHeaderValue(9, 23);
        var part = await client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(whole[9..24], await part.Content.ReadAsStringAsync());

        var listed = (await Marketo.SuccessAsync(await client.GetAsync($"{Prefix}.json"))).GetProperty("result").EnumerateArray().ToList();
        Assert.Equal(id, Assert.Single(listed).GetProperty("exportId").GetString());

        Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await writer.GetAsync($"{Prefix}/{id}/status.json"), "610"));
        Assert.Empty((await Marketo.SuccessAsync(await writer.GetAsync($"{Prefix}.json"))).GetProperty("result").EnumerateArray());

        using var both = await ClientAsync(server, "Read-Only Lead", "Read-Only Activity");
        var mine = await CreateAsync(both, Body("\"id\"", Created(Day, Day.AddDays(1))));
        Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await both.GetAsync($"/bulk/v1/activities/export/{mine}/status.json"), "610"));
        Assert.Empty((await Marketo.SuccessAsync(await both.GetAsync("/bulk/v1/activities/export.json"))).GetProperty("result").EnumerateArray());
    }

    [Fact]
    public async Task Without_a_lead_permission_every_lead_extract_endpoint_is_603()
    {
        await using var server = await StartWithRoomAsync();
        using var owner = await ClientAsync(server, "Read-Only Lead");
        var id = await CreateAsync(owner, Body("\"id\"", Created(Day, Day.AddDays(1))));
        using var activities = await ClientAsync(server, "Read-Only Activity", "Read-Write Activity");
        Func<HttpClient, Task<HttpResponseMessage>>[] calls =
        [
            c => PostCreateAsync(c, Body("\"id\"", Created(Day, Day.AddDays(1)))),
            c => PostEnqueueAsync(c, id),
            c => c.GetAsync($"{Prefix}/{id}/status.json"),
            c => c.GetAsync($"{Prefix}/{id}/file.json"),
            c => c.PostAsync($"{Prefix}/{id}/cancel.json", null),
            c => c.GetAsync($"{Prefix}.json"),
        ];
        foreach (var call in calls)
        {
            Assert.Equal("Access denied", await Marketo.ErrorAsync(await call(activities), "603"));
        }

        Assert.Equal("Cancelled", Marketo.Job(await Marketo.SuccessAsync(await owner.PostAsync($"{Prefix}/{id}/cancel.json", null))).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Lead_and_activity_jobs_share_one_queue_of_ten_with_processing_jobs_counted()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await ClientAsync(server, "Read-Only Lead", "Read-Only Activity");
        var progression = $"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/progression";
        (await server.Admin.PutAsJsonAsync(progression, new { mode = "manual" })).EnsureSuccessStatusCode();
        var leadBody = Body("\"id\"", Created(Day, Day.AddDays(1)));
        var activityBody = Marketo.Window(Day, Day.AddDays(1));

        var activityIds = new List<string>();
        var leadIds = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            activityIds.Add(await Marketo.CreateAsync(client, activityBody));
            leadIds.Add(await CreateAsync(client, leadBody));
        }

        foreach (var (activity, lead) in activityIds.Zip(leadIds))
        {
            await Marketo.EnqueueAsync(client, activity);
            Assert.Equal("Queued", Marketo.Job(await Marketo.SuccessAsync(await PostEnqueueAsync(client, lead))).GetProperty("status").GetString());
        }

        // One of each kind Processing, eight Queued: ten in all, so neither kind may enqueue another.
        foreach (var id in new[] { activityIds[0], leadIds[0] })
        {
            (await server.Admin.PostAsync($"/_spillway/admin/jobs/{id}/start", null)).EnsureSuccessStatusCode();
        }

        Assert.Equal("Processing", (await StatusAsync(client, leadIds[0])).GetProperty("status").GetString());
        Assert.Equal("Processing", (await Marketo.StatusAsync(client, activityIds[0])).GetProperty("status").GetString());
        var extraLead = await CreateAsync(client, leadBody);
        var extraActivity = await Marketo.CreateAsync(client, activityBody);
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await PostEnqueueAsync(client, extraLead), "1029"));
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, extraActivity), "1029"));

        // A place freed by either kind is a place for the other.
        Assert.Equal("Cancelled", Marketo.Job(await Marketo.SuccessAsync(await client.PostAsync($"{Prefix}/{leadIds[4]}/cancel.json", null))).GetProperty("status").GetString());
        Assert.Equal("Queued", (await Marketo.EnqueueAsync(client, extraActivity)).GetProperty("status").GetString());
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await PostEnqueueAsync(client, extraLead), "1029"));
    }

    [Fact]
    public async Task The_daily_export_quota_counts_activity_and_lead_files_together()
    {
        await using var server = await StartWithRoomAsync(limits: new { dailyExportQuotaMegabytes = 1 });
        await server.SeedAsync(20_000, 2);
        var now = server.Clock.GetUtcNow();
        using var client = await ClientAsync(server, "Read-Only Lead", "Read-Only Activity");
        var leadBody = Body("\"id\"", Created(now.AddDays(-3), now.AddDays(1)));
        Assert.Equal("Created", (await StatusAsync(client, await CreateAsync(client, leadBody))).GetProperty("status").GetString());

        var (_, job) = await Marketo.CompleteAsync(client, Marketo.Window(now.AddDays(-3), now.AddDays(1)));
        Assert.True(job.GetProperty("fileSize").GetInt64() > 1024 * 1024, "precondition: over 1 MB");

        Assert.Equal("Export daily quota 1MB exceeded.", await CreateErrorAsync(client, leadBody, "1029"));
    }
}

public sealed class LeadExtractTests_Embedded : LeadExtractTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class LeadExtractTests_Postgres : LeadExtractTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
