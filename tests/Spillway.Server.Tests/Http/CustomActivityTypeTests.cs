using System.Net.Http.Headers;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Marketo's Custom Activities Metadata API over HTTP: lifecycle, limits, permissions, and types.json.</summary>
public abstract class CustomActivityTypeTests : StoreTestBase
{
    internal const string Conference = """
        {"apiName":"attendConference","name":"Attend Conference","description":"Attend the conference",
         "triggerName":"Attends Conference","filterName":"Attended Conference",
         "primaryAttribute":{"apiName":"conferenceName","name":"Conference Name","description":"Name of the conference"}}
        """;

    internal const string ConferenceAttributes = """
        {"attributes":[{"apiName":"conferenceDate","name":"Conference Date","dataType":"datetime"},
                       {"apiName":"numberOfAttendees","name":"Number of Attendees","dataType":"integer"},
                       {"apiName":"ticketPrice","name":"Ticket Price","dataType":"currency"},
                       {"apiName":"vip","name":"VIP","dataType":"boolean"},
                       {"apiName":"notes","name":"Notes","dataType":"text"}]}
        """;

    /// <summary>A client whose API user may manage types and add activities.</summary>
    internal static async Task<HttpClient> MetadataClientAsync(SpillwayTestServer server)
    {
        var (id, secret) = await server.CreateApiUserAsync("meta@example.com", "Read-Write Activity Metadata", "Read-Write Activity");
        return await server.AuthorizedClientAsync(id, secret);
    }

    /// <summary>Creates, adds attributes to and approves the conference type; returns its id.</summary>
    internal static async Task<int> ApprovedConferenceTypeAsync(HttpClient client)
    {
        await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type.json", Marketo.Json(Conference)));
        await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/attributes/create.json",
            Marketo.Json(ConferenceAttributes)));
        var approved = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/approve.json", null)));
        Assert.Equal("approved", approved.GetProperty("status").GetString());
        return approved.GetProperty("id").GetInt32();
    }

    internal static JsonElement Single(JsonElement envelope) => Assert.Single(envelope.GetProperty("result").EnumerateArray());

    [Fact]
    public async Task Create_is_a_draft_with_an_id_from_100000_that_types_json_shows_only_once_approved()
    {
        await using var server = await StartAsync();
        using var client = await MetadataClientAsync(server);

        var created = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type.json", Marketo.Json(Conference))));
        Assert.Equal("draft", created.GetProperty("status").GetString());
        Assert.Equal("attendConference", created.GetProperty("apiName").GetString());
        Assert.Equal("Attends Conference", created.GetProperty("triggerName").GetString());
        Assert.Equal("string", created.GetProperty("primaryAttribute").GetProperty("dataType").GetString());
        var id = created.GetProperty("id").GetInt32();
        Assert.True(id >= 100000);

        var types = await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/types.json"));
        Assert.DoesNotContain(types.GetProperty("result").EnumerateArray(), t => t.GetProperty("id").GetInt32() == id);

        var withAttributes = Single(await Marketo.SuccessAsync(await client.PostAsync(
            "/rest/v1/activities/external/type/attendConference/attributes/create.json", Marketo.Json(ConferenceAttributes))));
        Assert.Equal(5, withAttributes.GetProperty("attributes").GetArrayLength());
        var approved = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/approve.json", null)));
        Assert.Equal("approved", approved.GetProperty("status").GetString());

        types = await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/types.json"));
        var listed = Assert.Single(types.GetProperty("result").EnumerateArray(), t => t.GetProperty("id").GetInt32() == id);
        Assert.Equal("attendConference", listed.GetProperty("apiName").GetString());
        Assert.Equal("Attend Conference", listed.GetProperty("name").GetString());
        Assert.Equal("conferenceName", listed.GetProperty("primaryAttribute").GetProperty("apiName").GetString());
        Assert.Equal(["Conference Date", "Number of Attendees", "Ticket Price", "VIP", "Notes"],
            listed.GetProperty("attributes").EnumerateArray().Select(a => a.GetProperty("name").GetString()));

        // Export create accepts the approved custom type id.
        await Marketo.CreateAsync(client, Marketo.Window(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow,
            $$""","activityTypeIds":[{{id}}]"""));
    }

    [Fact]
    public async Task Edits_go_to_a_draft_that_approve_publishes_and_discard_drops()
    {
        await using var server = await StartAsync();
        using var client = await MetadataClientAsync(server);
        await ApprovedConferenceTypeAsync(client);

        var updated = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference.json",
            Marketo.Json("""{"name":"Attend Big Conference","description":"Bigger"}"""))));
        Assert.Equal("approved with draft", updated.GetProperty("status").GetString());
        Assert.Equal("Attend Big Conference", updated.GetProperty("name").GetString());

        var live = Single(await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/external/type/attendConference/describe.json")));
        Assert.Equal("Attend Conference", live.GetProperty("name").GetString());
        var draft = Single(await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/external/type/attendConference/describe.json?draft=true")));
        Assert.Equal("Attend Big Conference", draft.GetProperty("name").GetString());

        var discarded = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/discardDraft.json", null)));
        Assert.Equal("approved", discarded.GetProperty("status").GetString());
        Assert.Equal("Attend Conference", discarded.GetProperty("name").GetString());
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/discardDraft.json", null), "709");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/approve.json", null), "709");

        // Attribute update and removal work on the draft.
        var renamed = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/attributes/update.json",
            Marketo.Json("""{"attributes":[{"apiName":"notes","name":"Remarks","dataType":"string"}]}"""))));
        Assert.Contains(renamed.GetProperty("attributes").EnumerateArray(), a => a.GetProperty("name").GetString() == "Remarks");
        var removed = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/attributes/delete.json",
            Marketo.Json("""{"attributes":[{"apiName":"vip"}]}"""))));
        Assert.Equal(4, removed.GetProperty("attributes").GetArrayLength());
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/attributes/delete.json",
            Marketo.Json("""{"attributes":[{"apiName":"nope"}]}""")), "1006");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/attributes/delete.json",
            Marketo.Json("""{"attributes":[{"apiName":"conferenceName"}]}""")), "1003");

        // Promoting an attribute swaps it with the primary.
        var promoted = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/attributes/update.json",
            Marketo.Json("""{"attributes":[{"apiName":"conferenceDate","name":"Conference Date","isPrimary":true}]}"""))));
        Assert.Equal("conferenceDate", promoted.GetProperty("primaryAttribute").GetProperty("apiName").GetString());
        Assert.Contains(promoted.GetProperty("attributes").EnumerateArray(), a => a.GetProperty("apiName").GetString() == "conferenceName");

        var list = await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/external/types.json"));
        var item = Assert.Single(list.GetProperty("result").EnumerateArray());
        Assert.Equal("approved with draft", item.GetProperty("status").GetString());
        Assert.False(item.TryGetProperty("attributes", out _));

        var deleted = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/delete.json", null)));
        Assert.Equal("attendConference", deleted.GetProperty("apiName").GetString());
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/external/type/attendConference/describe.json"), "610");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/delete.json", null), "610");
        Assert.Empty((await Marketo.SuccessAsync(await client.GetAsync("/rest/v1/activities/external/types.json"))).GetProperty("result").EnumerateArray());
    }

    [Fact]
    public async Task At_most_10_types_1027_and_20_attributes_1028()
    {
        await using var server = await StartAsync();
        using var client = await MetadataClientAsync(server);
        var ids = new List<int>();
        for (var i = 0; i < 10; i++)
        {
            var created = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type.json", Marketo.Json(TypeBody(i)))));
            ids.Add(created.GetProperty("id").GetInt32());
        }

        Assert.Equal(Enumerable.Range(ids[0], 10), ids);
        Assert.Equal("Max Activity Type Limit Reached",
            await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type.json", Marketo.Json(TypeBody(10))), "1027"));

        // Ids of deleted types are not reused.
        await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/type9/delete.json", null));
        var next = Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type.json", Marketo.Json(TypeBody(10)))));
        Assert.Equal(ids[^1] + 1, next.GetProperty("id").GetInt32());

        var twenty = string.Join(',', Enumerable.Range(0, 20).Select(i => $$"""{"apiName":"a{{i}}","name":"A {{i}}","dataType":"string"}"""));
        await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type/type0/attributes/create.json",
            Marketo.Json($$"""{"attributes":[{{twenty}}]}""")));
        Assert.Equal("Max field limit reached", await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type/type0/attributes/create.json",
            Marketo.Json("""{"attributes":[{"apiName":"a20","name":"A 20","dataType":"string"}]}""")), "1028"));
    }

    [Theory]
    [InlineData("""{"name":"X","triggerName":"t","filterName":"f","primaryAttribute":{"apiName":"p","name":"P"}}""", "701")]
    [InlineData("""{"apiName":"bad name","name":"X","triggerName":"t","filterName":"f","primaryAttribute":{"apiName":"p","name":"P"}}""", "1003")]
    [InlineData("""{"apiName":"x","name":"X!","triggerName":"t","filterName":"f","primaryAttribute":{"apiName":"p","name":"P"}}""", "1003")]
    [InlineData("""{"apiName":"x","name":"X","filterName":"f","primaryAttribute":{"apiName":"p","name":"P"}}""", "701")]
    [InlineData("""{"apiName":"x","name":"X","triggerName":"t","primaryAttribute":{"apiName":"p","name":"P"}}""", "701")]
    [InlineData("""{"apiName":"x","name":"X","triggerName":"t","filterName":"f"}""", "701")]
    [InlineData("""{"apiName":"x","name":"X","triggerName":"t","filterName":"f","primaryAttribute":{"apiName":"p","name":"P","dataType":"blob"}}""", "1003")]
    [InlineData("""{"apiName":"x","name":"Visit Webpage","triggerName":"t","filterName":"f","primaryAttribute":{"apiName":"p","name":"P"}}""", "1003")]
    [InlineData("""[1]""", "1003")]
    [InlineData("""{"apiName":""", "609")]
    public async Task Create_rejects_bad_definitions(string body, string code)
    {
        await using var server = await StartAsync();
        using var client = await MetadataClientAsync(server);
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type.json", Marketo.Json(body)), code);
    }

    [Fact]
    public async Task Duplicate_names_wrong_content_type_and_unknown_attribute_types_are_rejected()
    {
        await using var server = await StartAsync();
        using var client = await MetadataClientAsync(server);
        await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type.json", Marketo.Json(Conference)));
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type.json", Marketo.Json(Conference)), "1003");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type.json",
            Marketo.Json(Conference.Replace("attendConference", "other", StringComparison.Ordinal))), "1003"); // same trigger name
        var text = new StringContent(Conference);
        text.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type.json", text), "612");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/attributes/create.json",
            Marketo.Json("""{"attributes":[{"apiName":"a","name":"A","dataType":"picture"}]}""")), "1003");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type/attendConference/attributes/create.json",
            Marketo.Json("""{"attributes":[{"apiName":"conferenceName","name":"Again","dataType":"string"}]}""")), "1003");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external/type/nope/attributes/create.json",
            Marketo.Json("""{"attributes":[{"apiName":"a","name":"A","dataType":"string"}]}""")), "610");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/external/type.json"), "605");
    }

    [Fact]
    public async Task Metadata_calls_need_the_metadata_permissions()
    {
        await using var server = await StartAsync();
        using var activityOnly = await server.AuthorizedClientAsync(); // Read-Write Activity only
        await Marketo.ErrorAsync(await activityOnly.GetAsync("/rest/v1/activities/external/types.json"), "603");
        await Marketo.ErrorAsync(await activityOnly.PostAsync("/rest/v1/activities/external/type.json", Marketo.Json(Conference)), "603");

        var (id, secret) = await server.CreateApiUserAsync("ro-meta@example.com", "Read-Only Activity Metadata");
        using var readOnly = await server.AuthorizedClientAsync(id, secret);
        await Marketo.SuccessAsync(await readOnly.GetAsync("/rest/v1/activities/external/types.json"));
        await Marketo.ErrorAsync(await readOnly.PostAsync("/rest/v1/activities/external/type.json", Marketo.Json(Conference)), "603");
        await Marketo.ErrorAsync(await readOnly.PostAsync("/rest/v1/activities/external.json", Marketo.Json("""{"input":[]}""")), "603");
    }

    [Fact]
    public async Task The_openapi_document_describes_the_new_operations()
    {
        await using var server = await StartAsync();
        var response = await server.Http.GetAsync("/openapi/v1.json");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        foreach (var operation in new[] { "getCustomActivityTypeUsingGET", "createCustomActivityTypeUsingPOST", "approveCustomActivityTypeUsingPOST",
                     "addCustomActivityUsingPOST", "getActivitiesPagingTokenUsingGET", "getLeadActivitiesUsingGET", "getLeadChangesUsingGET",
                     "getDeletedLeadsUsingGET" })
        {
            Assert.Contains(operation, text, StringComparison.Ordinal);
        }
    }

    private static string TypeBody(int i) =>
        $$$"""{"apiName":"type{{{i}}}","name":"Type {{{i}}}","triggerName":"Does {{{i}}}","filterName":"Did {{{i}}}","primaryAttribute":{"apiName":"p","name":"P"}}""";
}

public sealed class CustomActivityTypeTests_Embedded : CustomActivityTypeTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class CustomActivityTypeTests_Postgres : CustomActivityTypeTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
