using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Leads;

/// <summary>
/// Custom lead fields end to end: defined through the admin API, listed by describe, type-checked by Sync Leads,
/// read by Get Leads, recorded by Change Data Value, and written by the Bulk Lead Extract like standard fields.
/// </summary>
public abstract class LeadCustomFieldTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private const string Fields = $"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/lead-fields";

    private static async Task<HttpClient> ClientAsync(SpillwayTestServer server)
    {
        var (id, secret) = await server.CreateApiUserAsync($"custom-{Guid.NewGuid():N}@example.com", "Read-Write Lead", "Read-Only Activity");
        return await server.AuthorizedClientAsync(id, secret);
    }

    private static async Task<JsonElement> DefineAsync(SpillwayTestServer server, string name, string dataType, string? displayName = null)
    {
        var response = await server.Admin.PostAsJsonAsync(Fields, new { name, displayName, dataType });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task<string> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("detail").GetString()!;
    }

    private static async Task<List<JsonElement>> SyncAsync(HttpClient client, string input)
    {
        var envelope = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/leads.json", Marketo.Json($$"""{"input":[{{input}}]}""")));
        return [.. envelope.GetProperty("result").EnumerateArray()];
    }

    private static async Task<List<JsonElement>> GetAsync(HttpClient client, string path) =>
        [.. (await Marketo.SuccessAsync(await client.GetAsync(path))).GetProperty("result").EnumerateArray()];

    private static async Task DefineAllTypesAsync(SpillwayTestServer server)
    {
        await DefineAsync(server, "shoeSize", "integer", "Shoe Size");
        await DefineAsync(server, "tier", "string");
        await DefineAsync(server, "spend", "currency", "Lifetime Spend");
        await DefineAsync(server, "vip", "boolean");
        await DefineAsync(server, "renewal", "date");
        await DefineAsync(server, "lastLogin", "datetime");
        await DefineAsync(server, "notes", "text");
    }

    [Fact]
    public async Task The_admin_api_defines_custom_fields_and_refuses_bad_names_standard_names_unknown_types_and_duplicates()
    {
        await using var server = await StartAsync();
        var shoe = await DefineAsync(server, "shoeSize", "integer", "Shoe Size");
        Assert.Equal((1001, "Shoe Size", "integer", "shoeSize", false), (shoe.GetProperty("id").GetInt32(), shoe.GetProperty("displayName").GetString(),
            shoe.GetProperty("dataType").GetString(), shoe.GetProperty("rest").GetProperty("name").GetString(), shoe.GetProperty("rest").GetProperty("readOnly").GetBoolean()));
        Assert.False(shoe.TryGetProperty("length", out _));
        var tier = await DefineAsync(server, "tier_2", "email");
        Assert.Equal((1002, "tier_2", 255), (tier.GetProperty("id").GetInt32(), tier.GetProperty("displayName").GetString(), tier.GetProperty("length").GetInt32()));

        Assert.Equal("name must be a letter followed by letters, digits or underscores, at most 50 characters",
            await ProblemAsync(await server.Admin.PostAsJsonAsync(Fields, new { name = "2fast", dataType = "string" }), HttpStatusCode.BadRequest));
        Assert.Equal("name must be a letter followed by letters, digits or underscores, at most 50 characters",
            await ProblemAsync(await server.Admin.PostAsJsonAsync(Fields, new { name = "shoe size", dataType = "string" }), HttpStatusCode.BadRequest));
        Assert.Equal("name must be a letter followed by letters, digits or underscores, at most 50 characters",
            await ProblemAsync(await server.Admin.PostAsJsonAsync(Fields, new { name = new string('a', 51), dataType = "string" }), HttpStatusCode.BadRequest));
        Assert.Equal("'Email' is the name of a standard lead field",
            await ProblemAsync(await server.Admin.PostAsJsonAsync(Fields, new { name = "Email", dataType = "string" }), HttpStatusCode.BadRequest));
        Assert.Equal("'createdAt' is the name of a standard lead field",
            await ProblemAsync(await server.Admin.PostAsJsonAsync(Fields, new { name = "createdAt", dataType = "datetime" }), HttpStatusCode.BadRequest));
        Assert.Equal("dataType must be one of string, text, email, phone, url, integer, float, currency, boolean, date, datetime",
            await ProblemAsync(await server.Admin.PostAsJsonAsync(Fields, new { name = "size", dataType = "reference" }), HttpStatusCode.BadRequest));
        Assert.Equal("dataType must be one of string, text, email, phone, url, integer, float, currency, boolean, date, datetime",
            await ProblemAsync(await server.Admin.PostAsJsonAsync(Fields, new { name = "size" }), HttpStatusCode.BadRequest));
        Assert.Equal("displayName must be 1 to 255 characters without control characters",
            await ProblemAsync(await server.Admin.PostAsJsonAsync(Fields, new { name = "size", displayName = "a\nb", dataType = "string" }), HttpStatusCode.BadRequest));
        Assert.Equal($"Subscription {SpillwayTestServer.MunchkinId} already has a lead field named 'SHOESIZE'.",
            await ProblemAsync(await server.Admin.PostAsJsonAsync(Fields, new { name = "SHOESIZE", dataType = "string" }), HttpStatusCode.Conflict));
        Assert.Equal("No subscription 999-ZZZ-999.",
            await ProblemAsync(await server.Admin.PostAsJsonAsync("/_spillway/admin/subscriptions/999-ZZZ-999/lead-fields", new { name = "x", dataType = "string" }),
                HttpStatusCode.NotFound));
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.GetAsync(Fields)).StatusCode);

        using var list = JsonDocument.Parse(await server.Admin.GetStringAsync(Fields));
        Assert.Equal(["shoeSize", "tier_2"], list.RootElement.EnumerateArray().Select(f => f.GetProperty("rest").GetProperty("name").GetString()));

        // Another subscription has its own fields and ids.
        await server.CreateSubscriptionViaAdminAsync("222-BBB-222");
        var other = await server.Admin.PostAsJsonAsync("/_spillway/admin/subscriptions/222-BBB-222/lead-fields", new { name = "shoeSize", dataType = "float" });
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        Assert.Equal(1001, JsonDocument.Parse(await other.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task Describe_lists_custom_fields_and_sync_checks_their_types_get_reads_them_and_changes_are_recorded()
    {
        await using var server = await StartAsync();
        server.Clock.SetNow(Day);
        using var client = await ClientAsync(server);
        await DefineAllTypesAsync(server);

        var describe = await GetAsync(client, "/rest/v1/leads/describe.json");
        var shoe = describe.Single(f => f.TryGetProperty("rest", out var rest) && rest.GetProperty("name").GetString() == "shoeSize");
        Assert.Equal((1001, "Shoe Size", "integer", "shoeSize"), (shoe.GetProperty("id").GetInt32(), shoe.GetProperty("displayName").GetString(),
            shoe.GetProperty("dataType").GetString(), shoe.GetProperty("soap").GetProperty("name").GetString()));
        Assert.Equal("notes", describe[^1].GetProperty("rest").GetProperty("name").GetString());
        var describe2 = (await GetAsync(client, "/rest/v1/leads/describe2.json"))[0].GetProperty("fields").EnumerateArray().ToList();
        var spend = describe2.Single(f => f.GetProperty("name").GetString() == "spend");
        Assert.Equal(("Lifetime Spend", "currency", true), (spend.GetProperty("displayName").GetString(), spend.GetProperty("dataType").GetString(),
            spend.GetProperty("updateable").GetBoolean()));

        var created = await SyncAsync(client, """
            {"email":"ann@example.com","shoeSize":38,"tier":"gold","spend":"1250.5","vip":true,"renewal":"2026-09-30","lastLogin":"2026-02-27T10:11:12+01:00","notes":"line\nnext"},
            {"email":"bob@example.com","shoeSize":"big"},
            {"email":"cid@example.com","vip":"maybe"},
            {"email":"dee@example.com","renewal":"30/09/2026"},
            {"email":"eve@example.com","shoesize":40},
            {"email":"fay@example.com","shoeSize":41.5}
            """);
        Assert.Equal("created", created[0].GetProperty("status").GetString());
        Assert.Equal(
            ["Invalid value 'big' for field 'shoeSize'", "Invalid value 'maybe' for field 'vip'", "Invalid value '30/09/2026' for field 'renewal'",
                "Field 'shoesize' not found", "Invalid value '41.5' for field 'shoeSize'"],
            created.Skip(1).Select(r => Assert.Single(r.GetProperty("reasons").EnumerateArray()).GetProperty("message").GetString()));
        Assert.Equal(["1003", "1003", "1003", "1006", "1003"],
            created.Skip(1).Select(r => Assert.Single(r.GetProperty("reasons").EnumerateArray()).GetProperty("code").GetString()));

        var ann = Assert.Single(await GetAsync(client, "/rest/v1/leads.json?filterType=email&filterValues=ann@example.com&fields=email,shoeSize,tier,spend,vip,renewal,lastLogin,notes"));
        Assert.Equal(38, ann.GetProperty("shoeSize").GetInt64());
        Assert.Equal(1250.5, ann.GetProperty("spend").GetDouble());
        Assert.True(ann.GetProperty("vip").GetBoolean());
        Assert.Equal(("gold", "2026-09-30", "2026-02-27T09:11:12Z", "line\nnext"), (ann.GetProperty("tier").GetString(), ann.GetProperty("renewal").GetString(),
            ann.GetProperty("lastLogin").GetString(), ann.GetProperty("notes").GetString()));
        var id = ann.GetProperty("id").GetInt64();
        var byId = Assert.Single(await GetAsync(client, $"/rest/v1/lead/{id}.json?fields=shoeSize,vip"));
        Assert.Equal((38, true), (byId.GetProperty("shoeSize").GetInt64(), byId.GetProperty("vip").GetBoolean()));
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/leads.json?filterType=shoeSize&filterValues=38"), "1011");
        await Marketo.ErrorAsync(await client.GetAsync($"/rest/v1/lead/{id}.json?fields=hatSize"), "1006");

        // An update changes only what differs: Change Data Value per changed custom field, null clears one.
        server.Clock.SetNow(Day.AddMinutes(5));
        var updated = await SyncAsync(client, """{"email":"ann@example.com","shoeSize":39,"tier":"gold","vip":null,"spend":1250.5}""");
        Assert.Equal("updated", updated[0].GetProperty("status").GetString());
        var after = Assert.Single(await GetAsync(client, "/rest/v1/leads.json?filterType=email&filterValues=ann@example.com&fields=shoeSize,vip,tier"));
        Assert.Equal((39, "gold"), (after.GetProperty("shoeSize").GetInt64(), after.GetProperty("tier").GetString()));
        Assert.False(after.TryGetProperty("vip", out _));

        var token = (await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/pagingtoken.json?sinceDatetime=2026-02-28T00:00:00Z")))
            .GetProperty("nextPageToken").GetString()!;
        var changes = (await GetAsync(client, $"/rest/v1/activities/leadchanges.json?fields=shoeSize,vip,tier&nextPageToken={token}"))
            .Where(c => c.GetProperty("activityTypeId").GetInt32() == 13).Select(c => Assert.Single(c.GetProperty("fields").EnumerateArray())).ToList();
        Assert.Equal([(1001, "shoeSize", "39", "38"), (1004, "vip", "", "true")], changes.Select(c => (c.GetProperty("id").GetInt32(),
            c.GetProperty("name").GetString(), c.TryGetProperty("newValue", out var n) ? n.GetString() : "", c.GetProperty("oldValue").GetString())));
        var raw = await GetAsync(client, $"/rest/v1/activities.json?activityTypeIds=13&nextPageToken={token}");
        Assert.Equal(["Shoe Size", "vip"], raw.Select(a => a.GetProperty("primaryAttributeValue").GetString()));
    }

    [Fact]
    public async Task The_bulk_lead_extract_names_custom_fields_and_writes_them_with_the_standard_cell_rules()
    {
        await using var server = await StartWithRoomAsync();
        server.Clock.SetNow(Day.AddHours(6));
        using var client = await ClientAsync(server);
        await DefineAllTypesAsync(server);
        await SyncAsync(client, """
            {"email":"ann@example.com","shoeSize":38,"tier":"gold, \"plus\"","spend":12.5,"vip":true,"renewal":"2026-09-30","lastLogin":"2026-02-27T10:11:12Z","notes":"a\nb"},
            {"email":"bob@example.com","spend":3,"vip":false}
            """);

        const string Window = "\"createdAt\":{\"startAt\":\"2026-03-01T00:00:00Z\",\"endAt\":\"2026-03-02T00:00:00Z\"}";
        var error = await Marketo.ErrorAsync(await client.PostAsync("/bulk/v1/leads/export/create.json",
            Marketo.Json("""{"fields":["id","hatSize"],"filter":{""" + Window + "}}")), "1003");
        Assert.Equal("Invalid value specified for attribute 'fields': 'hatSize' is not a lead field", error);

        var id = Marketo.Job(await Marketo.SuccessAsync(await client.PostAsync("/bulk/v1/leads/export/create.json", Marketo.Json(
            """{"fields":["id","email","shoeSize","tier","spend","vip","renewal","lastLogin","notes"],"filter":{""" + Window + """},"columnHeaderNames":{"shoeSize":"Shoe Size"}}"""))))
            .GetProperty("exportId").GetString()!;
        await Marketo.SuccessAsync(await client.PostAsync($"/bulk/v1/leads/export/{id}/enqueue.json", null));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Marketo.Job(await Marketo.SuccessAsync(await client.GetAsync($"/bulk/v1/leads/export/{id}/status.json"))).GetProperty("status").GetString() != "Completed")
        {
            Assert.True(DateTime.UtcNow < deadline, "The lead extract did not complete in 60 s");
            await Task.Delay(100);
        }

        var file = await client.GetAsync($"/bulk/v1/leads/export/{id}/file.json");
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Equal(
            "id,email,Shoe Size,tier,spend,vip,renewal,lastLogin,notes\n" +
            "1,ann@example.com,38,\"gold, \"\"plus\"\"\",12.5,true,2026-09-30,2026-02-27T10:11:12Z,\"a\nb\"\n" +
            "2,bob@example.com,null,null,3,false,null,null,null\n",
            Encoding.UTF8.GetString(await file.Content.ReadAsByteArrayAsync()));
    }
}

public sealed class LeadCustomFieldTests_Embedded : LeadCustomFieldTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class LeadCustomFieldTests_Postgres : LeadCustomFieldTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
