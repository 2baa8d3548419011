using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Activities.Catalog;
using Spillway.Server.Leads.Lists;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Leads;

/// <summary>
/// Static and smart lists over HTTP: the seeded lists and their membership derived from Add/Remove activities, the list
/// endpoints and their errors, the lead extract's list filters and Get Lead Activities' listId.
/// </summary>
public abstract class ListEndpointTests : StoreTestBase
{
    private const long Outbound = 4201;
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<HttpClient> ClientAsync(SpillwayTestServer server, params string[] permissions)
    {
        var (id, secret) = await server.CreateApiUserAsync($"lists-{Guid.NewGuid():N}@example.com",
            permissions.Length == 0 ? ["Read-Write Lead", "Read-Only Activity", "Read-Only Assets"] : permissions);
        return await server.AuthorizedClientAsync(id, secret);
    }

    /// <summary>Creates leads through Sync Leads; returns their ids in input order.</summary>
    private static async Task<long[]> CreateLeadsAsync(HttpClient client, params string[] records)
    {
        var envelope = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/leads.json",
            Marketo.Json($$"""{"action":"createOnly","input":[{{string.Join(",", records)}}]}""")));
        return [.. envelope.GetProperty("result").EnumerateArray().Select(r =>
        {
            Assert.Equal("created", r.GetProperty("status").GetString());
            return r.GetProperty("id").GetInt64();
        })];
    }

    private static async Task<int> SubscriptionIdAsync(SpillwayTestServer server) =>
        (await server.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(SpillwayTestServer.MunchkinId, CancellationToken.None))!.Id;

    /// <summary>Seeds no activities: the lists of the demo world are created and their members derived from the activities there are.</summary>
    private static Task SeedListsAsync(SpillwayTestServer server) => server.SeedAsync(0, 1);

    private static async Task<long[]> IdsAsync(HttpResponseMessage response) =>
        [.. Result(await Marketo.SuccessAsync(response)).Select(r => r.GetProperty("id").GetInt64())];

    /// <summary>A successful Asset API envelope (which always carries an empty <c>errors</c>).</summary>
    private static async Task<JsonElement> AssetAsync(HttpResponseMessage response)
    {
        var envelope = await Marketo.EnvelopeAsync(response);
        Assert.True(envelope.GetProperty("success").GetBoolean(), envelope.ToString());
        Assert.Empty(envelope.GetProperty("errors").EnumerateArray());
        return envelope;
    }

    /// <summary>The result array; an envelope without one has none.</summary>
    private static List<JsonElement> Result(JsonElement envelope) =>
        envelope.TryGetProperty("result", out var result) ? [.. result.EnumerateArray()] : [];

    private static async Task<string[]> StatusesAsync(HttpResponseMessage response) =>
        [.. (await Marketo.SuccessAsync(response)).GetProperty("result").EnumerateArray().Select(r =>
            r.GetProperty("status").GetString() + (r.TryGetProperty("reasons", out var reasons) ? ":" + reasons[0].GetProperty("code").GetString() : ""))];

    /// <summary>An activity with a marketoGUID above those the leads' New Lead activities took.</summary>
    private static ActivityRecord Row(long guid, long lead, int type, DateTimeOffset date, long listId) =>
        new(1000 + guid, lead, date, type, null, listId, "MPS Outbound", "{}", null);

    [Fact]
    public async Task Seeding_creates_the_catalogue_lists_and_smart_lists_and_members_are_the_final_state_of_add_and_remove_activities()
    {
        await using var server = await StartWithRoomAsync();
        using var client = await ClientAsync(server);
        var ids = await CreateLeadsAsync(client, """{"email":"a@x.com"}""", """{"email":"b@x.com"}""", """{"email":"c@x.com"}""");
        await server.AppendAsync(
            Row(1, ids[0], 24, Day, Outbound),
            Row(2, ids[1], 24, Day, Outbound),
            Row(3, ids[1], 25, Day.AddHours(1), Outbound),
            Row(4, ids[2], 25, Day, Outbound),
            Row(5, ids[2], 24, Day.AddHours(2), Outbound),
            Row(6, 999_999, 24, Day, Outbound), // a lead that does not exist is no member
            Row(7, ids[1], 24, Day, 4214));
        await SeedListsAsync(server);

        Assert.Equal(new long[] { ids[0], ids[2] }, await IdsAsync(await client.GetAsync($"/rest/v1/lists/{Outbound}/leads.json")));
        Assert.Equal(new long[] { ids[1] }, await IdsAsync(await client.GetAsync("/rest/v1/lists/4214/leads.json")));
        var lists = await IdsAsync(await client.GetAsync("/rest/v1/lists.json"));
        Assert.Equal(MarketingWorld.StaticListsToSeed.Select(l => l.Id).Order(), lists);
        var outbound = Assert.Single((await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/lists/{Outbound}.json"))).GetProperty("result").EnumerateArray());
        Assert.Equal("MPS Outbound", outbound.GetProperty("name").GetString());
        Assert.Equal("Default", outbound.GetProperty("workspaceName").GetString());
        Assert.Equal(MarketingWorld.ProgramById(MarketingWorld.StaticListsToSeed[0].ProgramId)!.Name, outbound.GetProperty("programName").GetString());
        var smart = Result(await AssetAsync(await client.GetAsync("/rest/asset/v1/smartLists.json"))).Select(r => r.GetProperty("id").GetInt64());
        Assert.Equal(ListWorld.SmartListsToSeed.Select(l => l.Id), smart);

        // Seeding again replays every activity again: a later Remove takes the lead out.
        await server.AppendAsync(Row(8, ids[0], 25, Day.AddDays(1), Outbound));
        await SeedListsAsync(server);
        Assert.Equal(new long[] { ids[2] }, await IdsAsync(await client.GetAsync($"/rest/v1/lists/{Outbound}/leads.json")));

        // Reset removes the lists with everything else.
        (await server.Admin.PostAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/reset", null)).EnsureSuccessStatusCode();
        using var after = await ClientAsync(server);
        Assert.Empty(await IdsAsync(await after.GetAsync("/rest/v1/lists.json")));
        Assert.Equal("Static list not found", await Marketo.ErrorAsync(await after.GetAsync($"/rest/v1/lists/{Outbound}.json"), "1013"));
    }

    [Fact]
    public async Task Get_lists_filters_by_id_name_program_and_workspace_and_pages_with_a_token()
    {
        await using var server = await StartWithRoomAsync();
        await SeedListsAsync(server);
        using var client = await ClientAsync(server);
        var all = MarketingWorld.StaticListsToSeed.Select(l => l.Id).Order().ToList();

        var walked = new List<long>();
        var query = "/rest/v1/lists.json?batchSize=4";
        while (true)
        {
            var page = await Marketo.SuccessAsync(await client.GetAsync(query));
            var items = page.GetProperty("result").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()).ToList();
            Assert.InRange(items.Count, 1, 4);
            walked.AddRange(items);
            if (!page.TryGetProperty("nextPageToken", out var token))
            {
                break;
            }

            query = $"/rest/v1/lists.json?batchSize=4&nextPageToken={Uri.EscapeDataString(token.GetString()!)}";
        }

        Assert.Equal(all, walked);
        Assert.Equal(new long[] { 4201L, 4227 }, await IdsAsync(await client.GetAsync("/rest/v1/lists.json?id=4227,4201&id=1")));
        var registrants = MarketingWorld.StaticListsToSeed.Where(l => l.Name == "Registrants").Select(l => l.Id).Order();
        Assert.Equal(registrants, await IdsAsync(await client.GetAsync("/rest/v1/lists.json?name=Registrants")));
        var program = MarketingWorld.ProgramById(MarketingWorld.StaticListsToSeed[0].ProgramId)!.Name;
        Assert.Equal(MarketingWorld.StaticListsToSeed.Where(l => l.ProgramId == MarketingWorld.StaticListsToSeed[0].ProgramId).Select(l => l.Id).Order(),
            await IdsAsync(await client.GetAsync($"/rest/v1/lists.json?programName={Uri.EscapeDataString(program)}")));
        Assert.Equal(all, await IdsAsync(await client.GetAsync("/rest/v1/lists.json?workspaceName=Default")));
        Assert.Empty(await IdsAsync(await client.GetAsync("/rest/v1/lists.json?workspaceName=Japan")));

        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/lists.json?id=x"), "1001");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/lists.json?batchSize=0"), "1003");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/lists.json?nextPageToken=nope"), "1003");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/lists/abc.json"), "1001");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/lists/1.json"), "1013");
    }

    [Fact]
    public async Task Add_remove_and_member_of_list_answer_per_id_and_write_activities_only_for_real_changes()
    {
        await using var server = await StartWithRoomAsync();
        await SeedListsAsync(server);
        using var client = await ClientAsync(server);
        var ids = await CreateLeadsAsync(client, """{"email":"a@x.com"}""", """{"email":"b@x.com"}""");
        var path = $"/rest/v1/lists/{Outbound}/leads.json";

        Assert.Equal(new string[] { "added", "skipped:1004" }, await StatusesAsync(await client.PostAsync($"{path}?id={ids[0]}&id=999999", null)));
        Assert.Equal(new string[] { "added", "added" }, await StatusesAsync(await client.PostAsync(path,
            Marketo.Json($$"""{"input":[{"id":{{ids[0]}}},{"id":{{ids[1]}}}]}"""))));
        Assert.Equal(new string[] { "memberof", "skipped:1004" }, await StatusesAsync(await client.GetAsync($"{path[..^5]}/ismember.json?id={ids[0]},999999")));
        Assert.Equal(new string[] { "removed", "skipped:1015", "skipped:1004" },
            await StatusesAsync(await client.DeleteAsync($"{path}?id={ids[1]}&id={ids[1]}&id=999999")));
        Assert.Equal(new string[] { "memberof", "notmemberof" }, await StatusesAsync(await client.GetAsync($"{path[..^5]}/ismember.json?id={ids[0]}&id={ids[1]}")));
        Assert.Equal(new long[] { ids[0] }, await IdsAsync(await client.GetAsync(path)));

        // One Add to List per lead that joined, one Remove from List per lead that left; a repeated add writes nothing.
        var token = (await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities/pagingtoken.json?sinceDatetime={Day.AddYears(-1):yyyy-MM-dd}")))
            .GetProperty("nextPageToken").GetString();
        var activities = (await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds=24,25&nextPageToken={token}")))
            .GetProperty("result").EnumerateArray().ToList();
        Assert.Equal([(24, ids[0]), (24, ids[1]), (25, ids[1])], activities.Select(a => (a.GetProperty("activityTypeId").GetInt32(), a.GetProperty("leadId").GetInt64())));
        Assert.All(activities, a =>
        {
            Assert.Equal(Outbound, a.GetProperty("primaryAttributeValueId").GetInt64());
            Assert.Equal("MPS Outbound", a.GetProperty("primaryAttributeValue").GetString());
        });

        // The list is checked first, then the ids.
        Assert.Equal("Static list not found", await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/lists/1/leads.json?id=1", null), "1013"));
        await Marketo.ErrorAsync(await client.DeleteAsync("/rest/v1/lists/1/leads.json?id=1"), "1013");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/lists/1/leads/ismember.json?id=1"), "1013");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/lists/1/leads.json"), "1013");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/lists/x/leads.json?id=1", null), "1001");
        Assert.Equal("Missing value for the required parameter 'id'", await Marketo.ErrorAsync(await client.PostAsync(path, null), "1002"));
        await Marketo.ErrorAsync(await client.PostAsync($"{path}?id=abc", null), "1001");
        await Marketo.ErrorAsync(await client.PostAsync($"{path}?id={string.Join(",", Enumerable.Range(1, 301))}", null), "1003");
        await Marketo.ErrorAsync(await client.PostAsync(path, Marketo.Json("""{"input":[{"id":"one"}]}""")), "1003");

        // Membership changes need Read-Write Lead.
        using var reader = await ClientAsync(server, "Read-Only Lead");
        Assert.Equal(new string[] { "memberof" }, await StatusesAsync(await reader.GetAsync($"{path[..^5]}/ismember.json?id={ids[0]}")));
        Assert.False((await Marketo.EnvelopeAsync(await reader.PostAsync($"{path}?id={ids[1]}", null))).GetProperty("success").GetBoolean());
    }

    [Fact]
    public async Task Get_leads_by_list_pages_in_lead_id_order_with_the_requested_fields_also_on_the_legacy_path()
    {
        await using var server = await StartWithRoomAsync();
        await SeedListsAsync(server);
        using var client = await ClientAsync(server);
        var ids = await CreateLeadsAsync(client, [.. Enumerable.Range(0, 5).Select(i => $$"""{"email":"p{{i}}@x.com","firstName":"P{{i}}"}""")]);
        await Marketo.SuccessAsync(await client.PostAsync($"/rest/v1/lists/{Outbound}/leads.json?id={ids[4]},{ids[0]},{ids[2]},{ids[3]}", null));

        var first = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/lists/{Outbound}/leads.json?batchSize=3&fields=firstName"));
        var rows = first.GetProperty("result").EnumerateArray().ToList();
        Assert.Equal([ids[0], ids[2], ids[3]], rows.Select(r => r.GetProperty("id").GetInt64()));
        Assert.Equal(["P0", "P2", "P3"], rows.Select(r => r.GetProperty("firstName").GetString()));
        Assert.False(rows[0].TryGetProperty("email", out _));
        var token = Uri.EscapeDataString(first.GetProperty("nextPageToken").GetString()!);
        var second = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/list/{Outbound}/leads.json?batchSize=3&nextPageToken={token}"));
        var last = Assert.Single(second.GetProperty("result").EnumerateArray());
        Assert.Equal(ids[4], last.GetProperty("id").GetInt64());
        Assert.Equal("p4@x.com", last.GetProperty("email").GetString());
        Assert.False(second.TryGetProperty("nextPageToken", out _));

        await Marketo.ErrorAsync(await client.GetAsync($"/rest/v1/lists/{Outbound}/leads.json?fields=shoeSize"), "1006");

        // A deleted lead leaves every list.
        await Marketo.SuccessAsync(await client.DeleteAsync($"/rest/v1/leads.json?id={ids[0]}"));
        Assert.Equal(new long[] { ids[2], ids[3], ids[4] }, await IdsAsync(await client.GetAsync($"/rest/v1/lists/{Outbound}/leads.json")));
    }

    [Fact]
    public async Task Asset_api_static_and_smart_lists()
    {
        await using var server = await StartWithRoomAsync();
        await SeedListsAsync(server);
        using var client = await ClientAsync(server);
        var browse = await AssetAsync(await client.GetAsync("/rest/asset/v1/staticLists.json?offset=1&maxReturn=2"));
        Assert.Equal(MarketingWorld.StaticListsToSeed.Select(l => l.Id).Order().Skip(1).Take(2),
            browse.GetProperty("result").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()));
        var byId = Assert.Single((await AssetAsync(await client.GetAsync($"/rest/asset/v1/staticList/{Outbound}.json"))).GetProperty("result").EnumerateArray());
        Assert.Equal("MPS Outbound", byId.GetProperty("name").GetString());
        Assert.Equal("Program", byId.GetProperty("folder").GetProperty("type").GetString());
        Assert.Equal(Outbound, Assert.Single((await AssetAsync(await client.GetAsync("/rest/asset/v1/staticList/byName.json?name=MPS%20Outbound")))
            .GetProperty("result").EnumerateArray()).GetProperty("id").GetInt64());
        var none = await AssetAsync(await client.GetAsync("/rest/asset/v1/staticList/1.json"));
        Assert.False(none.TryGetProperty("result", out _));
        Assert.Equal(AssetEndpointsWarning, none.GetProperty("warnings")[0].GetString());

        var hot = ListWorld.SmartListsToSeed.Single(l => l.Name == "Hot Leads");
        var smart = Assert.Single((await AssetAsync(await client.GetAsync($"/rest/asset/v1/smartList/{hot.Id}.json?includeRules=true")))
            .GetProperty("result").EnumerateArray());
        Assert.Equal("Hot Leads", smart.GetProperty("name").GetString());
        Assert.Equal("at least", smart.GetProperty("rules").GetProperty("filters")[0].GetProperty("operator").GetString());
        await Marketo.ErrorAsync(await client.GetAsync("/rest/asset/v1/smartList/x.json"), "1001");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/asset/v1/staticLists.json?maxReturn=201"), "1003");
    }

    private const string AssetEndpointsWarning = "No assets found for the given search criteria.";

    [Fact]
    public async Task Lead_extract_list_filters_read_membership_when_the_job_starts_processing_in_lead_id_order()
    {
        await using var server = await StartWithRoomAsync();
        await SeedListsAsync(server);
        using var client = await ClientAsync(server);
        var ids = await CreateLeadsAsync(client,
            """{"email":"a@example.com","country":"Germany","leadScore":10}""",
            """{"email":"b@other.org","country":"France","leadScore":70}""",
            """{"email":"c@example.com","country":"germany","leadScore":55}""");
        await Marketo.SuccessAsync(await client.PostAsync($"/rest/v1/lists/{Outbound}/leads.json?id={ids[2]},{ids[0]}", null));

        async Task<string> ExportAsync(string filter, Func<Task>? beforeEnqueue = null)
        {
            const string Prefix = "/bulk/v1/leads/export";
            var id = Marketo.Job(await Marketo.SuccessAsync(await client.PostAsync($"{Prefix}/create.json",
                Marketo.Json("{\"fields\":[\"id\",\"email\"],\"filter\":{" + filter + "}}")))).GetProperty("exportId").GetString();
            if (beforeEnqueue is not null)
            {
                await beforeEnqueue();
            }

            await Marketo.SuccessAsync(await client.PostAsync($"{Prefix}/{id}/enqueue.json", null));
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var status = Marketo.Job(await Marketo.SuccessAsync(await client.GetAsync($"{Prefix}/{id}/status.json"))).GetProperty("status").GetString();
                if (status is "Completed" or "Failed" or "Cancelled")
                {
                    Assert.Equal("Completed", status);
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"Job {id} still {status} after 60 s");
                await Task.Delay(100);
            }

            return await client.GetStringAsync($"{Prefix}/{id}/file.json");
        }

        Assert.Equal($"id,email\n{ids[0]},a@example.com\n{ids[2]},c@example.com\n", await ExportAsync($"\"staticListId\":{Outbound}"));

        // A lead that joins after the job is created but before it starts processing is in the file.
        Assert.Equal($"id,email\n{ids[0]},a@example.com\n{ids[1]},b@other.org\n{ids[2]},c@example.com\n",
            await ExportAsync("\"staticListName\":\"MPS Outbound\"",
                async () => await Marketo.SuccessAsync(await client.PostAsync($"/rest/v1/lists/{Outbound}/leads.json?id={ids[1]}", null))));

        var germany = ListWorld.SmartListsToSeed.Single(l => l.Name == "Leads in Germany").Id;
        Assert.Equal($"id,email\n{ids[0]},a@example.com\n{ids[2]},c@example.com\n", await ExportAsync($"\"smartListId\":{germany}"));
        Assert.Equal($"id,email\n{ids[1]},b@other.org\n{ids[2]},c@example.com\n", await ExportAsync("\"smartListName\":\"Hot Leads\""));

        const string Create = "/bulk/v1/leads/export/create.json";
        Assert.Equal("Static list not found", await Marketo.ErrorAsync(await client.PostAsync(Create,
            Marketo.Json("""{"fields":["id"],"filter":{"staticListName":"mps outbound"}}""")), "1003"));
        Assert.Equal("Smart list not found", await Marketo.ErrorAsync(await client.PostAsync(Create,
            Marketo.Json("{\"fields\":[\"id\"],\"filter\":{\"smartListId\":" + Outbound + "}}")), "1003"));
    }

    [Fact]
    public async Task Get_lead_activities_listId_reads_real_membership_and_an_unknown_list_is_1013()
    {
        await using var server = await StartWithRoomAsync();
        await SeedListsAsync(server);
        using var client = await ClientAsync(server);
        var ids = await CreateLeadsAsync(client, """{"email":"a@x.com"}""", """{"email":"b@x.com"}""");
        await Marketo.SuccessAsync(await client.PostAsync($"/rest/v1/lists/{Outbound}/leads.json?id={ids[1]}", null));
        var token = (await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities/pagingtoken.json?sinceDatetime={Day.AddYears(-1):yyyy-MM-dd}")))
            .GetProperty("nextPageToken").GetString();

        // New Lead (12) of both leads exists; only the member's is returned.
        var page = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds=12&listId={Outbound}&nextPageToken={token}"));
        Assert.Equal([ids[1]], Result(page).Select(a => a.GetProperty("leadId").GetInt64()));
        Assert.Empty(Result(await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds=12&listId=4214&nextPageToken={token}"))));
        Assert.Equal("Static list not found",
            await Marketo.ErrorAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds=12&listId=1&nextPageToken={token}"), "1013"));
    }
}

public sealed class ListEndpointTests_Embedded : ListEndpointTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class ListEndpointTests_Postgres : ListEndpointTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
