using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>The lead database over HTTP: describe, reads, Sync Leads, Delete Leads, and the activities they write.</summary>
public abstract class LeadEndpointTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<HttpClient> LeadClientAsync(SpillwayTestServer server, params string[] permissions)
    {
        var (id, secret) = await server.CreateApiUserAsync($"leads-{Guid.NewGuid():N}@example.com",
            permissions.Length == 0 ? ["Read-Write Lead", "Read-Only Activity"] : permissions);
        return await server.AuthorizedClientAsync(id, secret);
    }

    private static async Task<List<JsonElement>> SyncAsync(HttpClient client, string body)
    {
        var envelope = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/leads.json", Marketo.Json(body)));
        return [.. envelope.GetProperty("result").EnumerateArray()];
    }

    private static string Reason(JsonElement result)
    {
        Assert.Equal("skipped", result.GetProperty("status").GetString());
        return Assert.Single(result.GetProperty("reasons").EnumerateArray()).GetProperty("code").GetString()!;
    }

    /// <summary>The server's clock keeps running after a test sets it: a time is right when it is a little after the one set.</summary>
    private static void Near(DateTimeOffset expected, JsonElement value)
    {
        var text = value.GetString()!;
        Assert.EndsWith("Z", text, StringComparison.Ordinal);
        var actual = DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(actual, expected, expected.AddMinutes(1));
    }

    private static async Task<List<JsonElement>> GetAsync(HttpClient client, string path) =>
        [.. (await Marketo.SuccessAsync(await client.GetAsync(path))).GetProperty("result").EnumerateArray()];

    [Fact]
    public async Task Reads_need_read_only_lead_and_writes_read_write_lead()
    {
        await using var server = await StartAsync();
        using var activityOnly = await server.AuthorizedClientAsync();
        await Marketo.ErrorAsync(await activityOnly.GetAsync("/rest/v1/leads/describe.json"), "603");
        await Marketo.ErrorAsync(await activityOnly.GetAsync("/rest/v1/lead/1.json"), "603");
        await Marketo.ErrorAsync(await activityOnly.PostAsync("/rest/v1/leads.json", Marketo.Json("""{"input":[]}""")), "603");

        using var reader = await LeadClientAsync(server, "Read-Only Lead");
        await Marketo.SuccessAsync(await reader.GetAsync("/rest/v1/leads/describe2.json"));
        await Marketo.SuccessAsync(await reader.GetAsync("/rest/v1/leads.json?filterType=id&filterValues=1"));
        await Marketo.ErrorAsync(await reader.PostAsync("/rest/v1/leads.json", Marketo.Json("""{"input":[{"email":"a@example.com"}]}""")), "603");
        await Marketo.ErrorAsync(await reader.PostAsync("/rest/v1/leads/delete.json", Marketo.Json("""{"input":[{"id":1}]}""")), "603");
        await Marketo.ErrorAsync(await reader.DeleteAsync("/rest/v1/leads.json?id=1"), "603");
        await Marketo.ErrorAsync(await reader.PutAsync("/rest/v1/leads.json", Marketo.Json("{}")), "605");

        using var writer = await LeadClientAsync(server, "Read-Write Lead");
        Assert.Equal("created", (await SyncAsync(writer, """{"input":[{"email":"a@example.com"}]}"""))[0].GetProperty("status").GetString());
        Assert.Single(await GetAsync(writer, "/rest/v1/lead/1.json"));
    }

    [Fact]
    public async Task Describe_and_describe2_list_the_standard_fields_and_the_searchable_keys()
    {
        await using var server = await StartAsync();
        using var client = await LeadClientAsync(server, "Read-Only Lead");
        var fields = await GetAsync(client, "/rest/v1/leads/describe.json");
        var email = Assert.Single(fields, f => f.GetProperty("id").GetInt32() == 51);
        Assert.Equal("email", email.GetProperty("rest").GetProperty("name").GetString());

        var description = Assert.Single(await GetAsync(client, "/rest/v1/leads/describe2.json"));
        Assert.Equal("API Lead", description.GetProperty("name").GetString());
        Assert.Equal([["email"], ["id"]], description.GetProperty("searchableFields").EnumerateArray()
            .Select(k => k.EnumerateArray().Select(n => n.GetString()).ToArray()));
        var described = description.GetProperty("fields").EnumerateArray().ToList();
        Assert.Equal(fields.Count + 1, described.Count);
        Assert.Equal("id", described[0].GetProperty("name").GetString());
        var company = Assert.Single(described, f => f.GetProperty("name").GetString() == "company");
        Assert.Equal("Company Name", company.GetProperty("displayName").GetString());
        Assert.Equal(255, company.GetProperty("length").GetInt32());
        Assert.True(company.GetProperty("updateable").GetBoolean());
        Assert.False(Assert.Single(described, f => f.GetProperty("name").GetString() == "createdAt").GetProperty("updateable").GetBoolean());
    }

    [Fact]
    public async Task Sync_creates_updates_and_skips_per_record_and_reads_return_the_stored_values()
    {
        await using var server = await StartAsync();
        server.Clock.SetNow(Day);
        using var client = await LeadClientAsync(server);
        var created = await SyncAsync(client, """
            {"action":"createOnly","input":[
              {"email":"ann@example.com","firstName":"Ann","lastName":"Lee","numberOfEmployees":"250","annualRevenue":12.5,"unsubscribed":true,"dateOfBirth":"1990-07-04"},
              {"email":"bob@example.com","firstName":"Bob"},
              {"email":"ANN@example.com"},
              {"email":"x@example.com","shoeSize":44},
              {"email":"y@example.com","numberOfEmployees":"many"},
              {"email":"z@example.com","originalSourceType":"x"},
              {"id":5,"email":"w@example.com"},
              {"email":"v@example.com","email":"u@example.com"},
              "not an object"
            ]}
            """);
        Assert.Equal(["created", "created"], created.Take(2).Select(r => r.GetProperty("status").GetString()));
        Assert.Equal([1L, 2], created.Take(2).Select(r => r.GetProperty("id").GetInt64()));
        Assert.Equal(["1005", "1006", "1003", "1003", "1003", "1003", "1003"], created.Skip(2).Select(Reason));
        Assert.All(created.Skip(2), r => Assert.False(r.TryGetProperty("id", out _)));

        var ann = Assert.Single(await GetAsync(client, "/rest/v1/lead/1.json"));
        Assert.Equal(["id", "email", "updatedAt", "createdAt", "firstName", "lastName"], ann.EnumerateObject().Select(p => p.Name));
        Near(Day, ann.GetProperty("createdAt"));
        var typed = Assert.Single(await GetAsync(client, "/rest/v1/lead/1.json?fields=numberOfEmployees,annualRevenue,unsubscribed,dateOfBirth,city"));
        Assert.Equal(1, typed.GetProperty("id").GetInt64());
        Assert.Equal(250, typed.GetProperty("numberOfEmployees").GetInt64());
        Assert.Equal(12.5, typed.GetProperty("annualRevenue").GetDouble());
        Assert.True(typed.GetProperty("unsubscribed").GetBoolean());
        Assert.Equal("1990-07-04", typed.GetProperty("dateOfBirth").GetString());
        Assert.False(typed.TryGetProperty("city", out _)); // null fields are left out
        Assert.Empty(await GetAsync(client, "/rest/v1/lead/99.json"));
        Assert.Equal(2, (await GetAsync(client, "/rest/v1/leads.json?filterType=id&filterValues=1,2,3,4,5,6,7,8")).Count); // nothing skipped was written

        server.Clock.SetNow(Day.AddMinutes(10)); // within the token's life
        var synced = await SyncAsync(client, """
            {"input":[{"email":"Ann@Example.com","firstName":"Anne"},{"email":"carl@example.com"},{"firstName":"NoEmail"}]}
            """);
        Assert.Equal(("updated", 1L), (synced[0].GetProperty("status").GetString(), synced[0].GetProperty("id").GetInt64()));
        Assert.Equal(("created", 3L), (synced[1].GetProperty("status").GetString(), synced[1].GetProperty("id").GetInt64()));
        Assert.Equal("1003", Reason(synced[2]));
        var updated = Assert.Single(await GetAsync(client, "/rest/v1/lead/1.json?fields=firstName,updatedAt,createdAt"));
        Assert.Equal("Anne", updated.GetProperty("firstName").GetString());
        Near(Day.AddMinutes(10), updated.GetProperty("updatedAt"));
        Near(Day, updated.GetProperty("createdAt"));

        var byId = await SyncAsync(client, """{"action":"updateOnly","lookupField":"id","input":[{"id":2,"city":"Oslo"},{"id":42,"city":"Oslo"},{"city":"Oslo"}]}""");
        Assert.Equal("updated", byId[0].GetProperty("status").GetString());
        Assert.Equal(["1004", "1003"], byId.Skip(1).Select(Reason));
        var notFound = await SyncAsync(client, """{"action":"updateOnly","input":[{"email":"nobody@example.com","city":"x"}]}""");
        Assert.Equal("1004", Reason(Assert.Single(notFound)));
    }

    [Theory]
    [InlineData("""{"action":"merge","input":[]}""", "1003")]
    [InlineData("""{"lookupField":"firstName","input":[]}""", "1011")]
    [InlineData("""{"lookupField":"shoeSize","input":[]}""", "1006")]
    [InlineData("""{"lookupField":"id","input":[]}""", "1003")]
    [InlineData("""{"lookupField":7,"input":[]}""", "1001")]
    [InlineData("""{"action":"createOnly"}""", "1002")]
    [InlineData("""{"input":{"email":"a@example.com"}}""", "609")]
    [InlineData("""[1,2]""", "609")]
    [InlineData("""{"input":[""", "609")]
    public async Task Sync_rejects_bad_requests_whole(string body, string code)
    {
        await using var server = await StartAsync();
        using var client = await LeadClientAsync(server);
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/leads.json", Marketo.Json(body)), code);
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/leads.json", new StringContent("""{"input":[]}""")), "612");
    }

    [Fact]
    public async Task Sync_takes_at_most_300_records()
    {
        await using var server = await StartAsync();
        using var client = await LeadClientAsync(server);
        string Body(int n) => "{\"input\":[" + string.Join(',', Enumerable.Range(0, n).Select(i => $"{{\"email\":\"l{i}@example.com\"}}")) + "]}";
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/leads.json", Marketo.Json(Body(301))), "1003");
        Assert.Empty(await GetAsync(client, "/rest/v1/leads.json?filterType=email&filterValues=l0@example.com"));
        Assert.Equal(300, (await SyncAsync(client, Body(300))).Count(r => r.GetProperty("status").GetString() == "created"));
    }

    [Fact]
    public async Task Get_leads_by_filter_type_matches_email_case_insensitively_and_pages_by_id()
    {
        await using var server = await StartAsync();
        using var client = await LeadClientAsync(server);
        await SyncAsync(client, "{\"input\":[" + string.Join(',', Enumerable.Range(1, 7).Select(i => $"{{\"email\":\"u{i}@example.com\",\"city\":\"C{i}\"}}")) + "]}");

        var byEmail = await GetAsync(client, "/rest/v1/leads.json?filterType=email&filterValues=U3@EXAMPLE.com,u1@example.com,none@example.com&fields=email,city");
        Assert.Equal([1L, 3], byEmail.Select(l => l.GetProperty("id").GetInt64()));
        Assert.Equal("C3", byEmail[1].GetProperty("city").GetString());
        Assert.Equal(["id", "email", "city"], byEmail[0].EnumerateObject().Select(p => p.Name));

        var ids = new List<long>();
        var path = "/rest/v1/leads.json?filterType=id&filterValues=7,6,5,4,3,2,1,99&batchSize=3";
        var pages = 0;
        string? token = null;
        do
        {
            var envelope = await Marketo.SuccessAsync(await client.GetAsync(token is null ? path : $"{path}&nextPageToken={Uri.EscapeDataString(token)}"));
            pages++;
            ids.AddRange(envelope.GetProperty("result").EnumerateArray().Select(l => l.GetProperty("id").GetInt64()));
            token = envelope.TryGetProperty("nextPageToken", out var next) ? next.GetString() : null;
            Assert.False(envelope.TryGetProperty("moreResult", out _));
        }
        while (token is not null);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], ids);
        Assert.Equal(3, pages);
        Assert.Empty(await GetAsync(client, "/rest/v1/leads.json?filterType=email&filterValues=nobody@example.com"));
    }

    [Theory]
    [InlineData("filterValues=1", "1002")]
    [InlineData("filterType=id", "1002")]
    [InlineData("filterType=firstName&filterValues=Ann", "1011")]
    [InlineData("filterType=shoeSize&filterValues=44", "1006")]
    [InlineData("filterType=id&filterValues=1,abc", "1001")]
    [InlineData("filterType=id&filterValues=1&fields=email,shoeSize", "1006")]
    [InlineData("filterType=id&filterValues=1&batchSize=0", "1003")]
    [InlineData("filterType=id&filterValues=1&nextPageToken=not-a-token", "1003")]
    public async Task Get_leads_by_filter_type_rejects_bad_input(string query, string code)
    {
        await using var server = await StartAsync();
        using var client = await LeadClientAsync(server, "Read-Only Lead");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/leads.json?" + query), code);
    }

    [Fact]
    public async Task Get_leads_takes_at_most_300_filter_values_and_get_lead_by_id_checks_its_input()
    {
        await using var server = await StartAsync();
        using var client = await LeadClientAsync(server, "Read-Only Lead");
        await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/leads.json?filterType=id&filterValues=" + string.Join(',', Enumerable.Range(1, 300))));
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/leads.json?filterType=id&filterValues=" + string.Join(',', Enumerable.Range(1, 301))), "1003");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/lead/abc.json"), "1001");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/lead/1.json?fields=shoeSize"), "1006");
    }

    [Fact]
    public async Task Lead_writes_leave_new_lead_change_data_value_and_delete_lead_activities()
    {
        await using var server = await StartAsync();
        server.Clock.SetNow(Day);
        using var client = await LeadClientAsync(server);
        await SyncAsync(client, """{"input":[{"email":"ann@example.com","firstName":"Ann","lastName":"Lee"},{"email":"bob@example.com"}]}""");
        server.Clock.SetNow(Day.AddMinutes(5));
        await SyncAsync(client, """{"input":[{"email":"ann@example.com","firstName":"Anne","leadScore":7},{"email":"bob@example.com"}]}""");

        var token = (await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities/pagingtoken.json?sinceDatetime=2026-02-28T00:00:00Z")))
            .GetProperty("nextPageToken").GetString()!;
        var changes = await GetAsync(client, $"/rest/v1/activities/leadchanges.json?fields=firstName,leadScore&nextPageToken={token}");
        Assert.Equal([12, 12, 13, 13], changes.Select(c => c.GetProperty("activityTypeId").GetInt32()));
        Assert.Equal([1L, 2, 1, 1], changes.Select(c => c.GetProperty("leadId").GetInt64()));
        Assert.Empty(changes[0].GetProperty("fields").EnumerateArray());
        Assert.Contains(changes[0].GetProperty("attributes").EnumerateArray(),
            a => a.GetProperty("name").GetString() == "Source Type" && a.GetProperty("value").GetString() == "Web service API");
        var names = changes.Skip(2).Select(c => Assert.Single(c.GetProperty("fields").EnumerateArray())).ToList();
        Assert.Equal((48, "firstName", "Anne", "Ann"), (names[0].GetProperty("id").GetInt32(), names[0].GetProperty("name").GetString(),
            names[0].GetProperty("newValue").GetString(), names[0].GetProperty("oldValue").GetString()));
        Assert.Equal(("leadScore", "7"), (names[1].GetProperty("name").GetString(), names[1].GetProperty("newValue").GetString()));
        Assert.False(names[1].TryGetProperty("oldValue", out _));
        Near(Day.AddMinutes(5), changes[2].GetProperty("activityDate"));
        var onlyScore = await GetAsync(client, $"/rest/v1/activities/leadchanges.json?fields=leadScore&nextPageToken={token}");
        Assert.Equal([12, 12, 13], onlyScore.Select(c => c.GetProperty("activityTypeId").GetInt32()));

        var deleted = (await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/leads/delete.json", Marketo.Json("""{"input":[{"id":1},{"id":9},{"id":1},{"x":1}]}"""))))
            .GetProperty("result").EnumerateArray().ToList();
        Assert.Equal(("deleted", 1L), (deleted[0].GetProperty("status").GetString(), deleted[0].GetProperty("id").GetInt64()));
        Assert.Equal(["1004", "1004", "1003"], deleted.Skip(1).Select(Reason));
        Assert.Equal(9, deleted[1].GetProperty("id").GetInt64());
        var byQuery = (await Marketo.SuccessAsync(await client.DeleteAsync("/rest/v1/leads.json?id=2,3"))).GetProperty("result").EnumerateArray().ToList();
        Assert.Equal(["deleted", "skipped"], byQuery.Select(r => r.GetProperty("status").GetString()));
        await Marketo.ErrorAsync(await client.DeleteAsync("/rest/v1/leads.json?id=2,x"), "1001");
        await Marketo.ErrorAsync(await client.DeleteAsync("/rest/v1/leads.json"), "1002");
        Assert.Empty(await GetAsync(client, "/rest/v1/leads.json?filterType=id&filterValues=1,2"));

        var gone = await GetAsync(client, $"/rest/v1/activities/deletedleads.json?nextPageToken={token}");
        Assert.Equal([1L, 2], gone.Select(g => g.GetProperty("leadId").GetInt64()));
        Assert.Equal([1L, 2], gone.Select(g => g.GetProperty("primaryAttributeValueId").GetInt64()));
        Assert.Equal("Anne Lee", gone[0].GetProperty("primaryAttributeValue").GetString());

        // A new lead never takes a deleted lead's id.
        Assert.Equal(3, (await SyncAsync(client, """{"input":[{"email":"ann@example.com"}]}"""))[0].GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task Custom_activities_for_an_unknown_lead_are_skipped_once_the_subscription_has_a_lead_database()
    {
        await using var server = await StartAsync();
        using var metadata = await CustomActivityTypeTests.MetadataClientAsync(server);
        var typeId = await CustomActivityTypeTests.ApprovedConferenceTypeAsync(metadata);
        string Body(params long[] leads) => "{\"input\":[" + string.Join(',', leads.Select(l =>
            $$"""{"leadId":{{l}},"activityDate":"2026-03-01T00:00:00Z","activityTypeId":{{typeId}},"primaryAttributeValue":"Summit","attributes":[]}""")) + "]}";

        // No lead database yet: any lead id is taken, as seeded and imported activities need.
        var before = await Marketo.SuccessAsync(await metadata.PostAsync("/rest/v1/activities/external.json", Marketo.Json(Body(500))));
        Assert.Equal("added", Assert.Single(before.GetProperty("result").EnumerateArray()).GetProperty("status").GetString());

        using var leads = await LeadClientAsync(server);
        await SyncAsync(leads, """{"input":[{"email":"ann@example.com"}]}""");
        var after = (await Marketo.SuccessAsync(await metadata.PostAsync("/rest/v1/activities/external.json", Marketo.Json(Body(1, 500, 1)))))
            .GetProperty("result").EnumerateArray().ToList();
        Assert.Equal(["added", "skipped", "added"], after.Select(r => r.GetProperty("status").GetString()));
        var error = Assert.Single(after[1].GetProperty("errors").EnumerateArray());
        Assert.Equal(("1004", "Lead not found"), (error.GetProperty("code").GetString(), error.GetProperty("message").GetString()));
        Assert.Equal(after[0].GetProperty("id").GetInt64() + 1, after[2].GetProperty("id").GetInt64());
    }
}

public sealed class LeadEndpointTests_Embedded : LeadEndpointTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class LeadEndpointTests_Postgres : LeadEndpointTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
