using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Leads.Programs;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Leads;

/// <summary>
/// Program membership over HTTP: Describe Program Member, Get Program Members, Get Leads by Program Id, the Program
/// Member Extract's create rules, file, lifecycle and the queue and quota it shares, and memberships derived by seeding.
/// </summary>
public abstract class ProgramMemberTests : StoreTestBase
{
    private const string Prefix = "/bulk/v1/program/members/export";
    private const long Webinar = 1038;
    private const long Nurture = 1149;
    private const long Events = 1408;
    private const string WebinarName = "2024-01 Webinar - Data Mesh Basics";
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<HttpClient> ClientAsync(SpillwayTestServer server, params string[] permissions)
    {
        var (id, secret) = await server.CreateApiUserAsync($"members-{Guid.NewGuid():N}@example.com",
            permissions.Length == 0 ? ["Read-Write Lead", "Read-Only Activity"] : permissions);
        return await server.AuthorizedClientAsync(id, secret);
    }

    private static ProgramMember Member(long program, long lead, string status, bool success = false, bool exhausted = false, string? cadence = null,
        string? track = null, int updatedDays = 0) =>
        new(program, lead, status, null, success, success ? Day.AddHours(12) : null, Day.AddHours(lead), AcquiredBy: lead == 1, exhausted, cadence, track,
            Day.AddHours(lead), Day.AddDays(updatedDays));

    /// <summary>
    /// Three leads (ann 1, bob 2, cid 3) and their memberships: the webinar has all three (ann attended), the nurture
    /// program bob (paused, exhausted) and cid, the events program ann.
    /// </summary>
    private static async Task<HttpClient> WorldAsync(SpillwayTestServer server, params string[] permissions)
    {
        var client = await ClientAsync(server, permissions);
        using var writer = await ClientAsync(server, "Read-Write Lead");
        server.Clock.SetNow(Day);
        var synced = await Marketo.SuccessAsync(await writer.PostAsync("/rest/v1/leads.json", Marketo.Json("""
            {"input":[{"email":"ann@example.com","firstName":"Ann","lastName":"Lee"},{"email":"bob@example.com","firstName":"Bob, Jr."},{"email":"cid@example.com"}]}
            """)));
        Assert.All(synced.GetProperty("result").EnumerateArray(), r => Assert.Equal("created", r.GetProperty("status").GetString()));
        var subscription = await server.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(SpillwayTestServer.MunchkinId, CancellationToken.None);
        await server.Services.GetRequiredService<IProgramMemberStore>().PutAsync(subscription!.Id,
        [
            Member(Webinar, 1, "Attended", success: true),
            Member(Webinar, 2, "Registered", updatedDays: 10),
            Member(Webinar, 3, "Invited"),
            Member(Nurture, 2, "Member", exhausted: true, cadence: "paus", track: "Track A"),
            Member(Nurture, 3, "Engaged", success: true, cadence: "norm", track: "Track B"),
            Member(Events, 1, "Visited Booth", success: true),
        ], CancellationToken.None);
        return client;
    }

    private static async Task<JsonElement[]> ResultAsync(HttpClient client, string path) =>
        [.. (await Marketo.SuccessAsync(await client.GetAsync(path))).GetProperty("result").EnumerateArray()];

    private static string Body(string fields, string filter, string extra = "") => $$"""{"fields":[{{fields}}],"filter":{{{filter}}}{{extra}}}""";

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
        var bytes = await (await client.GetAsync($"{Prefix}/{id}/file.json")).Content.ReadAsByteArrayAsync();
        Assert.Equal(job.GetProperty("fileSize").GetInt64(), bytes.Length);
        Assert.Equal(job.GetProperty("numberOfRecords").GetInt64(), Encoding.UTF8.GetString(bytes).Count(c => c == '\n') - 1);
        return Encoding.UTF8.GetString(bytes);
    }

    [Fact]
    public async Task Describe_program_member_lists_marketo_s_fields_keys_and_searchable_fields()
    {
        await using var server = await StartAsync();
        using var client = await ClientAsync(server, "Read-Only Lead");
        var description = Assert.Single(await ResultAsync(client, "/rest/v1/programs/members/describe.json"));
        Assert.Equal("API Program Membership", description.GetProperty("name").GetString());
        Assert.Equal(["leadId", "programId"], description.GetProperty("dedupeFields").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["leadId", "reachedSuccess", "statusName"], description.GetProperty("searchableFields").EnumerateArray().Select(e => Assert.Single(e.EnumerateArray()).GetString()));
        var fields = description.GetProperty("fields").EnumerateArray().ToList();
        Assert.Equal(ProgramMemberFields.All.Select(f => f.Name), fields.Select(f => f.GetProperty("name").GetString()));
        var cadence = fields.Single(f => f.GetProperty("name").GetString() == "nurtureCadence");
        Assert.Equal("""{"name":"nurtureCadence","displayName":"nurtureCadence","dataType":"string","length":4,"updateable":false,"crmManaged":false}""", cadence.GetRawText());
        Assert.Equal("datetime", fields.Single(f => f.GetProperty("name").GetString() == "membershipDate").GetProperty("dataType").GetString());

        using var activities = await ClientAsync(server, "Read-Only Activity");
        Assert.Equal("Access denied", await Marketo.ErrorAsync(await activities.GetAsync("/rest/v1/programs/members/describe.json"), "603"));
    }

    [Fact]
    public async Task Get_leads_by_program_returns_each_member_with_its_membership_in_pages()
    {
        await using var server = await StartAsync();
        using var client = await WorldAsync(server, "Read-Only Lead");
        var leads = await ResultAsync(client, $"/rest/v1/leads/programs/{Webinar}.json");
        Assert.Equal([1L, 2, 3], leads.Select(l => l.GetProperty("id").GetInt64()));
        Assert.Equal(["id", "email", "updatedAt", "createdAt", "firstName", "lastName", "membership"], Wire.MemberNames(leads[0]));
        Assert.Equal(
            """{"progressionStatus":"Attended","progressionStatusType":"Attended","isExhausted":false,"acquiredBy":true,"reachedSuccess":true,"membershipDate":"2026-03-01T01:00:00Z","updatedAt":"2026-03-01T00:00:00Z"}""",
            leads[0].GetProperty("membership").GetRawText());
        Assert.Equal(["id", "email", "updatedAt", "createdAt", "membership"], Wire.MemberNames(leads[2]));

        var nurture = await ResultAsync(client, $"/rest/v1/leads/programs/{Nurture}.json?fields=email,membership");
        Assert.Equal(["id", "email", "membership"], Wire.MemberNames(nurture[0]));
        Assert.Equal("""{"progressionStatus":"Member","progressionStatusType":"Member","isExhausted":true,"acquiredBy":false,"reachedSuccess":false,"membershipDate":"2026-03-01T02:00:00Z","updatedAt":"2026-03-01T00:00:00Z","stream":"Track A","nurtureCadence":"paus"}""",
            nurture[0].GetProperty("membership").GetRawText());

        var first = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/leads/programs/{Webinar}.json?batchSize=2&fields=email"));
        Assert.Equal([1L, 2], first.GetProperty("result").EnumerateArray().Select(l => l.GetProperty("id").GetInt64()));
        Assert.True(first.GetProperty("moreResult").GetBoolean());
        var token = first.GetProperty("nextPageToken").GetString();
        var second = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/leads/programs/{Webinar}.json?batchSize=2&fields=email&nextPageToken={token}"));
        Assert.Equal([3L], second.GetProperty("result").EnumerateArray().Select(l => l.GetProperty("id").GetInt64()));
        Assert.False(second.GetProperty("moreResult").GetBoolean());

        Assert.Empty(await ResultAsync(client, "/rest/v1/leads/programs/1112.json"));
        Assert.Equal("Program not found", await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/leads/programs/4242.json"), "1013"));
        Assert.Equal("Invalid value 'abc'. Required of type 'integer'", await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/leads/programs/abc.json"), "1001"));
        Assert.Equal("Field 'shoeSize' not found", await Marketo.ErrorAsync(await client.GetAsync($"/rest/v1/leads/programs/{Webinar}.json?fields=email,shoeSize"), "1006"));
        Assert.Equal("Invalid value specified for attribute 'batchSize': must be an integer from 1 to 300",
            await Marketo.ErrorAsync(await client.GetAsync($"/rest/v1/leads/programs/{Webinar}.json?batchSize=0"), "1003"));
        Assert.Equal("Invalid value specified for attribute 'nextPageToken': not a paging token of this call",
            await Marketo.ErrorAsync(await client.GetAsync($"/rest/v1/leads/programs/{Webinar}.json?nextPageToken=nope"), "1003"));

        // A deleted lead is no longer a member of anything.
        using var writer = await ClientAsync(server, "Read-Write Lead");
        await Marketo.SuccessAsync(await writer.PostAsync("/rest/v1/leads/delete.json", Marketo.Json("""{"input":[{"id":2}]}""")));
        Assert.Equal([1L, 3], (await ResultAsync(client, $"/rest/v1/leads/programs/{Webinar}.json")).Select(l => l.GetProperty("id").GetInt64()));
        Assert.Equal([3L], (await ResultAsync(client, $"/rest/v1/leads/programs/{Nurture}.json")).Select(l => l.GetProperty("id").GetInt64()));
    }

    [Fact]
    public async Task Get_program_members_filters_by_a_searchable_field_or_an_updatedAt_range()
    {
        await using var server = await StartAsync();
        using var client = await WorldAsync(server, "Read-Write Lead");
        var path = $"/rest/v1/programs/{Webinar}/members.json";
        var attended = await ResultAsync(client, path + "?filterType=statusName&filterValues=Attended,Invited");
        Assert.Equal("""{"seq":0,"acquiredBy":true,"leadId":1,"membershipDate":"2026-03-01T01:00:00Z","programId":1038,"reachedSuccess":true}""", attended[0].GetRawText());
        Assert.Equal([1L, 3], attended.Select(m => m.GetProperty("leadId").GetInt64()));
        Assert.Equal(1, attended[1].GetProperty("seq").GetInt32());

        Assert.Equal(
            """{"seq":0,"leadId":2,"statusName":"Registered","program":"2024-01 Webinar - Data Mesh Basics","updatedAt":"2026-03-11T00:00:00Z"}""",
            Assert.Single(await ResultAsync(client, path + "?filterType=leadId&filterValues=2,99&fields=leadId,statusName,program,reachedSuccessDate,updatedAt")).GetRawText());
        Assert.Equal([2L, 3], (await ResultAsync(client, path + "?filterType=reachedSuccess&filterValues=false")).Select(m => m.GetProperty("leadId").GetInt64()));
        Assert.Equal([2L], (await ResultAsync(client, path + "?filterType=updatedAt&startAt=2026-03-10T00:00:00Z&endAt=2026-03-12T00:00:00Z"))
            .Select(m => m.GetProperty("leadId").GetInt64()));

        var first = await Marketo.SuccessAsync(await client.GetAsync(path + "?filterType=reachedSuccess&filterValues=false&batchSize=1"));
        Assert.True(first.GetProperty("moreResult").GetBoolean());
        var next = await ResultAsync(client, path + $"?filterType=reachedSuccess&filterValues=false&batchSize=1&nextPageToken={first.GetProperty("nextPageToken").GetString()}");
        Assert.Equal(3, Assert.Single(next).GetProperty("leadId").GetInt64());

        Assert.Equal("Missing value for the required parameter 'filterType'", await Marketo.ErrorAsync(await client.GetAsync(path), "1002"));
        Assert.Equal("Missing value for the required parameter 'filterValues'", await Marketo.ErrorAsync(await client.GetAsync(path + "?filterType=leadId"), "1002"));
        Assert.Equal("Field 'shoeSize' not found", await Marketo.ErrorAsync(await client.GetAsync(path + "?filterType=shoeSize&filterValues=1"), "1006"));
        Assert.Equal("Field 'program' not supported", await Marketo.ErrorAsync(await client.GetAsync(path + "?filterType=program&filterValues=x"), "1011"));
        Assert.Equal("Invalid value 'x'. Required of type 'integer'", await Marketo.ErrorAsync(await client.GetAsync(path + "?filterType=leadId&filterValues=x"), "1001"));
        Assert.Equal("Field 'email' not found", await Marketo.ErrorAsync(await client.GetAsync(path + "?filterType=leadId&filterValues=1&fields=email"), "1006"));
        Assert.Equal("Missing value for the required parameter 'endAt'",
            await Marketo.ErrorAsync(await client.GetAsync(path + "?filterType=updatedAt&startAt=2026-03-10T00:00:00Z"), "1002"));
        Assert.Equal("Invalid value specified for attribute 'endAt': the range exceeds 7 days",
            await Marketo.ErrorAsync(await client.GetAsync(path + "?filterType=updatedAt&startAt=2026-03-01T00:00:00Z&endAt=2026-03-09T00:00:00Z"), "1003"));
        Assert.Equal("Program not found", await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/programs/4242/members.json?filterType=leadId&filterValues=1"), "1013"));
    }

    [Fact]
    public async Task Every_create_rule_answers_its_error_and_nothing_is_created()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await ClientAsync(server);
        var program = $"\"programId\":{Webinar}";
        Assert.Equal("Invalid value specified for attribute 'body': the request body must be a JSON object", await CreateErrorAsync(client, "[1]"));
        Assert.Equal("Invalid value specified for attribute 'format': 'XLS' is not one of CSV, TSV, SSV",
            await CreateErrorAsync(client, Body("\"leadId\"", program, ",\"format\":\"XLS\"")));
        Assert.Equal("Invalid value specified for attribute 'filter': filter is required and must be an object",
            await CreateErrorAsync(client, """{"fields":["leadId"]}"""));
        const string ExactlyOne = "Invalid value specified for attribute 'filter': filter must have exactly one of programId, programIds";
        Assert.Equal(ExactlyOne, await CreateErrorAsync(client, Body("\"leadId\"", "\"isExhausted\":true")));
        Assert.Equal(ExactlyOne, await CreateErrorAsync(client, Body("\"leadId\"", program + $",\"programIds\":[{Nurture}]")));
        Assert.Equal("Invalid value specified for attribute 'filter': programId must be an integer", await CreateErrorAsync(client, Body("\"leadId\"", "\"programId\":\"1038\"")));
        Assert.Equal("Invalid value specified for attribute 'filter': programIds must be an array of 1 to 10 program ids",
            await CreateErrorAsync(client, Body("\"leadId\"", "\"programIds\":[]")));
        Assert.Equal("Invalid value specified for attribute 'filter': programIds must be an array of 1 to 10 program ids",
            await CreateErrorAsync(client, Body("\"leadId\"", "\"programIds\":[1,2,3,4,5,6,7,8,9,10,11]")));
        Assert.Equal("Invalid value specified for attribute 'filter': programIds must be an array of integers",
            await CreateErrorAsync(client, Body("\"leadId\"", "\"programIds\":[1038,\"x\"]")));
        Assert.Equal("Program not found", await CreateErrorAsync(client, Body("\"leadId\"", "\"programId\":4242")));
        Assert.Equal("Program not found", await CreateErrorAsync(client, Body("\"leadId\"", $"\"programIds\":[{Webinar},4242]")));
        Assert.Equal("Invalid value specified for attribute 'filter': isExhausted must be a boolean",
            await CreateErrorAsync(client, Body("\"leadId\"", program + ",\"isExhausted\":\"yes\"")));
        Assert.Equal("Invalid value specified for attribute 'filter': nurtureCadence must be paus or norm",
            await CreateErrorAsync(client, Body("\"leadId\"", program + ",\"nurtureCadence\":\"fast\"")));
        Assert.Equal("Invalid value specified for attribute 'filter': statusNames must be a non-empty array of status names",
            await CreateErrorAsync(client, Body("\"leadId\"", program + ",\"statusNames\":[]")));
        Assert.Equal("Invalid value specified for attribute 'filter': statusNames 'Visited Booth' is not a status of the program",
            await CreateErrorAsync(client, Body("\"leadId\"", program + ",\"statusNames\":[\"Attended\",\"Visited Booth\"]")));
        Assert.Equal("Invalid value specified for attribute 'filter': updatedAt range exceeds 31 days",
            await CreateErrorAsync(client, Body("\"leadId\"", program + "," + Updated(Day, Day.AddDays(32)))));
        Assert.Equal("Invalid value specified for attribute 'filter': updatedAt startAt is after endAt",
            await CreateErrorAsync(client, Body("\"leadId\"", program + "," + Updated(Day.AddDays(1), Day))));
        Assert.Equal("Invalid value specified for attribute 'fields': fields is required and must be an array of field names",
            await CreateErrorAsync(client, "{\"filter\":{" + program + "}}"));
        Assert.Equal("Invalid value specified for attribute 'fields': fields must name at least one field", await CreateErrorAsync(client, Body("", program)));
        Assert.Equal("Invalid value specified for attribute 'fields': 'shoeSize' is not a program member or lead field",
            await CreateErrorAsync(client, Body("\"leadId\",\"shoeSize\"", program)));
        Assert.Equal("Invalid value specified for attribute 'fields': 'id' is not a program member or lead field", await CreateErrorAsync(client, Body("\"id\"", program)));
        Assert.Equal("Invalid value specified for attribute 'fields': 'email' is listed twice", await CreateErrorAsync(client, Body("\"email\",\"leadId\",\"email\"", program)));
        Assert.Equal("Invalid value specified for attribute 'columnHeaderNames': 'city' is not a field of this export",
            await CreateErrorAsync(client, Body("\"email\"", program, ",\"columnHeaderNames\":{\"city\":\"Town\"}")));

        // Nothing above made a job.
        Assert.Empty((await Marketo.SuccessAsync(await client.GetAsync($"{Prefix}.json"))).GetProperty("result").EnumerateArray());
    }

    [Fact]
    public async Task Without_the_advanced_filters_updatedAt_answers_1035_and_the_other_filters_still_work()
    {
        await using var server = await StartWithRoomAsync(limits: new { advancedLeadExtractFilters = false });
        using var client = await ClientAsync(server);
        Assert.Equal("Unsupported filter type for target subscription",
            await CreateErrorAsync(client, Body("\"leadId\"", $"\"programId\":{Webinar}," + Updated(Day, Day.AddDays(1))), "1035"));
        Assert.Equal("Created", (await StatusAsync(client, await CreateAsync(client, Body("\"leadId\"", $"\"programId\":{Webinar},\"isExhausted\":false"))))
            .GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_file_has_the_programs_members_with_member_and_lead_fields_and_a_leading_programId_for_programIds()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await WorldAsync(server);
        var csv = await ExportTextAsync(client, Body("\"leadId\",\"email\",\"firstName\",\"statusName\",\"reachedSuccess\",\"reachedSuccessDate\",\"membershipDate\",\"program\",\"nurtureCadence\"",
            $"\"programId\":{Webinar}", ",\"columnHeaderNames\":{\"leadId\":\"Lead Id\",\"statusName\":\"Status\"}"));
        Assert.Equal(
            "Lead Id,email,firstName,Status,reachedSuccess,reachedSuccessDate,membershipDate,program,nurtureCadence\n" +
            $"1,ann@example.com,Ann,Attended,true,2026-03-01T12:00:00Z,2026-03-01T01:00:00Z,{WebinarName},null\n" +
            $"2,bob@example.com,\"Bob, Jr.\",Registered,false,null,2026-03-01T02:00:00Z,{WebinarName},null\n" +
            $"3,cid@example.com,null,Invited,false,null,2026-03-01T03:00:00Z,{WebinarName},null\n",
            csv);

        var many = await ExportTextAsync(client, Body("\"leadId\",\"program\",\"statusName\"", $"\"programIds\":[{Events},{Nurture}]", ",\"format\":\"TSV\""));
        Assert.Equal("programId\tleadId\tprogram\tstatusName\n1149\t2\tNurture - Early Stage\tMember\n1149\t3\tNurture - Early Stage\tEngaged\n1408\t1\tEvents, EMEA 2025\tVisited Booth\n", many);
        Assert.Equal("leadId,program\n1,\"Events, EMEA 2025\"\n", await ExportTextAsync(client, Body("\"leadId\",\"program\"", $"\"programId\":{Events}")));

        Assert.Equal("leadId,statusName\n1,Attended\n3,Invited\n",
            await ExportTextAsync(client, Body("\"leadId\",\"statusName\"", $"\"programId\":{Webinar},\"statusNames\":[\"Attended\",\"Invited\"]")));
        Assert.Equal("leadId trackName\n2 \"Track A\"\n",
            await ExportTextAsync(client, Body("\"leadId\",\"trackName\"", $"\"programId\":{Nurture},\"isExhausted\":true", ",\"format\":\"SSV\"")));
        Assert.Equal("leadId\n3\n", await ExportTextAsync(client, Body("\"leadId\"", $"\"programId\":{Nurture},\"nurtureCadence\":\"norm\"")));
        Assert.Equal("leadId\n2\n", await ExportTextAsync(client, Body("\"leadId\"", $"\"programId\":{Nurture},\"nurtureCadence\":\"pause\"")));
        Assert.Equal("leadId,updatedAt\n2,2026-03-11T00:00:00Z\n",
            await ExportTextAsync(client, Body("\"leadId\",\"updatedAt\"", $"\"programId\":{Webinar}," + Updated(Day.AddDays(9), Day.AddDays(11)))));

        // A program without members is a header alone.
        Assert.Equal("leadId\n", await ExportTextAsync(client, Body("\"leadId\"", "\"programId\":1112")));
    }

    [Fact]
    public async Task The_file_answers_ranges_the_job_is_its_creator_s_and_cancel_and_access_work_as_for_other_kinds()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await WorldAsync(server, "Read-Only Lead");
        var (id, job) = await CompleteAsync(client, Body("\"leadId\",\"email\"", $"\"programId\":{Webinar}"));
        Assert.Equal(3, job.GetProperty("numberOfRecords").GetInt64());
        var whole = await (await client.GetAsync($"{Prefix}/{id}/file.json")).Content.ReadAsStringAsync();
        Assert.Equal("leadId,email\n1,ann@example.com\n2,bob@example.com\n3,cid@example.com\n", whole);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(whole))),
            job.GetProperty("fileChecksum").GetString());
        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"{Prefix}/{id}/file.json");
        ranged.Headers.Range = new RangeHeaderValue(13, 29);
        var part = await client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(whole[13..30], await part.Content.ReadAsStringAsync());
        Assert.Equal(id, Assert.Single((await Marketo.SuccessAsync(await client.GetAsync($"{Prefix}.json"))).GetProperty("result").EnumerateArray()).GetProperty("exportId").GetString());

        using var other = await ClientAsync(server, "Read-Only Lead", "Read-Only Activity");
        Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await other.GetAsync($"{Prefix}/{id}/status.json"), "610"));
        var mine = await CreateAsync(other, Body("\"leadId\"", $"\"programId\":{Webinar}"));
        Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(await other.GetAsync($"/bulk/v1/leads/export/{mine}/status.json"), "610"));
        Assert.Equal("Cancelled", Marketo.Job(await Marketo.SuccessAsync(await other.PostAsync($"{Prefix}/{mine}/cancel.json", null))).GetProperty("status").GetString());

        using var activities = await ClientAsync(server, "Read-Only Activity", "Read-Write Activity");
        Func<HttpClient, Task<HttpResponseMessage>>[] calls =
        [
            c => PostCreateAsync(c, Body("\"leadId\"", $"\"programId\":{Webinar}")),
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
    }

    [Fact]
    public async Task Program_member_and_activity_jobs_share_one_queue_of_ten()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await ClientAsync(server, "Read-Only Lead", "Read-Only Activity");
        var progression = $"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/progression";
        (await server.Admin.PutAsJsonAsync(progression, new { mode = "manual" })).EnsureSuccessStatusCode();
        var memberBody = Body("\"leadId\"", $"\"programId\":{Webinar}");
        var activityBody = Marketo.Window(Day, Day.AddDays(1));
        var activityIds = new List<string>();
        var memberIds = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            activityIds.Add(await Marketo.CreateAsync(client, activityBody));
            memberIds.Add(await CreateAsync(client, memberBody));
        }

        foreach (var (activity, member) in activityIds.Zip(memberIds))
        {
            await Marketo.EnqueueAsync(client, activity);
            Assert.Equal("Queued", Marketo.Job(await Marketo.SuccessAsync(await PostEnqueueAsync(client, member))).GetProperty("status").GetString());
        }

        (await server.Admin.PostAsync($"/_spillway/admin/jobs/{memberIds[0]}/start", null)).EnsureSuccessStatusCode();
        Assert.Equal("Processing", (await StatusAsync(client, memberIds[0])).GetProperty("status").GetString());
        var extraMember = await CreateAsync(client, memberBody);
        var extraActivity = await Marketo.CreateAsync(client, activityBody);
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await PostEnqueueAsync(client, extraMember), "1029"));
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, extraActivity), "1029"));

        // A place freed by either kind is a place for the other.
        Assert.Equal("Cancelled", (await Marketo.CancelAsync(client, activityIds[4])).GetProperty("status").GetString());
        Assert.Equal("Queued", Marketo.Job(await Marketo.SuccessAsync(await PostEnqueueAsync(client, extraMember))).GetProperty("status").GetString());
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, extraActivity), "1029"));
    }

    [Fact]
    public async Task The_daily_export_quota_counts_activity_and_program_member_files_together()
    {
        await using var server = await StartWithRoomAsync(limits: new { dailyExportQuotaMegabytes = 1 });
        await server.SeedAsync(20_000, 2);
        var now = server.Clock.GetUtcNow();
        using var client = await ClientAsync(server, "Read-Only Lead", "Read-Only Activity");
        var memberBody = Body("\"leadId\"", $"\"programId\":{Webinar}");
        Assert.Equal("Created", (await StatusAsync(client, await CreateAsync(client, memberBody))).GetProperty("status").GetString());

        var (_, job) = await Marketo.CompleteAsync(client, Marketo.Window(now.AddDays(-3), now.AddDays(1)));
        Assert.True(job.GetProperty("fileSize").GetInt64() > 1024 * 1024, "precondition: over 1 MB");
        Assert.Equal("Export daily quota 1MB exceeded.", await CreateErrorAsync(client, memberBody, "1029"));
    }

    [Fact]
    public async Task Seeding_derives_memberships_from_the_subscription_s_program_activities()
    {
        await using var server = await StartAsync();
        using var client = await WorldAsync(server, "Read-Only Lead");
        var attrs = (string status) => $$"""{"New Status":"{{status}}","Acquired By":false,"Success":false}""";
        await server.AppendAsync(
            new Spillway.Contracts.ActivityRecord(9_000_001, 2, Day.AddDays(2), 104, null, 1260, "2025-02 Webinar - AI in Marketing", attrs("Registered"), null),
            new Spillway.Contracts.ActivityRecord(9_000_002, 2, Day.AddDays(1), 104, null, 1260, "2025-02 Webinar - AI in Marketing", attrs("Invited"), null),
            new Spillway.Contracts.ActivityRecord(9_000_003, 3, Day.AddDays(3), 104, null, 1260, "2025-02 Webinar - AI in Marketing", attrs("Attended"), null));
        await server.SeedAsync(0, 1);

        var members = await ResultAsync(client, "/rest/v1/leads/programs/1260.json?fields=email");
        Assert.Equal([2L, 3], members.Select(m => m.GetProperty("id").GetInt64()));
        Assert.Equal("Registered", members[0].GetProperty("membership").GetProperty("progressionStatus").GetString());
        Assert.Equal("2026-03-02T00:00:00Z", members[0].GetProperty("membership").GetProperty("membershipDate").GetString());
        Assert.Equal("2026-03-03T00:00:00Z", members[0].GetProperty("membership").GetProperty("updatedAt").GetString());
        Assert.True(members[1].GetProperty("membership").GetProperty("reachedSuccess").GetBoolean());

        // The memberships put before seeding are untouched: seeding adds what the activities show.
        Assert.Equal(3, (await ResultAsync(client, $"/rest/v1/leads/programs/{Webinar}.json")).Length);
    }
}

public sealed class ProgramMemberTests_Embedded : ProgramMemberTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class ProgramMemberTests_Postgres : ProgramMemberTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
