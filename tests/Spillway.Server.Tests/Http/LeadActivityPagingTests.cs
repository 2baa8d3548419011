using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Get Paging Token, Get Lead Activities, Get Lead Changes and Get Deleted Leads over HTTP.</summary>
public abstract class LeadActivityPagingTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<string> TokenAsync(HttpClient client, DateTimeOffset since)
    {
        var envelope = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities/pagingtoken.json?sinceDatetime={since:yyyy-MM-ddTHH:mm:ssZ}"));
        Assert.False(envelope.TryGetProperty("result", out _));
        return envelope.GetProperty("nextPageToken").GetString()!;
    }

    /// <summary>Pages through a query until moreResult is false; returns every activity in order.</summary>
    private static async Task<(List<JsonElement> Items, int Pages, string LastToken)> WalkAsync(HttpClient client, string path, string token)
    {
        var items = new List<JsonElement>();
        var pages = 0;
        while (true)
        {
            var envelope = await Marketo.SuccessAsync(await client.GetAsync($"{path}&nextPageToken={Uri.EscapeDataString(token)}"));
            pages++;
            items.AddRange(envelope.GetProperty("result").EnumerateArray());
            token = envelope.GetProperty("nextPageToken").GetString()!; // always returned
            if (!envelope.GetProperty("moreResult").GetBoolean())
            {
                return (items, pages, token);
            }
        }
    }

    /// <summary>Creates leads 1 to <paramref name="leads"/> and a static list with these members, straight in the stores.</summary>
    private static async Task ListAsync(SpillwayTestServer server, long listId, int leads, params long[] members)
    {
        var none = CancellationToken.None;
        var subscription = (await server.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(SpillwayTestServer.MunchkinId, none))!.Id;
        var leadStore = server.Services.GetRequiredService<ILeadStore>();
        if (await leadStore.CountAsync(subscription, none) < leads)
        {
            await leadStore.SyncAsync(subscription, new LeadSyncRequest(LeadSyncAction.CreateOnly, "email",
                [.. Enumerable.Range(0, leads).Select(_ => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>())]), Day, none);
        }

        var lists = server.Services.GetRequiredService<IListStore>();
        await lists.PutListAsync(subscription, new StaticList(listId, $"List {listId}", null, null, null, Day, Day), none);
        await lists.AddMembersAsync(subscription, listId, members, Day, none);
    }

    private static ActivityRecord Row(long guid, long lead, int type, DateTimeOffset date, long? primaryId = null, string? primary = null,
        string attributes = "{}") => new(guid, lead, date, type, 77, primaryId, primary, attributes, "succeeded");

    [Fact]
    public async Task Pages_of_at_most_batchSize_in_marketoGUID_order_from_the_since_date_with_a_token_on_every_page()
    {
        await using var server = await StartAsync();
        var rows = Enumerable.Range(0, 700).Select(i => Row(1000 + i, 1 + (i % 40), i % 2 == 0 ? 1 : 6, Day.AddMinutes(i), 9, "page",
            """{"Client IP Address":"10.0.0.1","Step ID":3}""")).ToArray();
        await server.AppendAsync(Row(999, 1, 1, Day.AddDays(-1)));
        await server.AppendAsync(rows);
        using var client = await server.AuthorizedClientAsync();
        var token = await TokenAsync(client, Day);

        var first = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds=1,6&nextPageToken={token}"));
        Assert.Equal(300, first.GetProperty("result").GetArrayLength());
        Assert.True(first.GetProperty("moreResult").GetBoolean());
        var item = first.GetProperty("result")[0];
        Assert.Equal(1000, item.GetProperty("id").GetInt64());
        Assert.Equal("1000", item.GetProperty("marketoGUID").GetString());
        Assert.Equal("2026-03-01T00:00:00Z", item.GetProperty("activityDate").GetString());
        Assert.Equal(77, item.GetProperty("campaignId").GetInt64());
        Assert.Equal(9, item.GetProperty("primaryAttributeValueId").GetInt64());
        Assert.Equal("page", item.GetProperty("primaryAttributeValue").GetString());
        var attribute = item.GetProperty("attributes")[1];
        Assert.Equal("Step ID", attribute.GetProperty("name").GetString());
        Assert.Equal(3, attribute.GetProperty("value").GetInt32());

        var (all, pages, last) = await WalkAsync(client, "/rest/v1/activities.json?activityTypeIds=1&activityTypeIds=6&batchSize=300", token);
        Assert.Equal(3, pages);
        Assert.Equal(rows.Select(r => r.MarketoGuid), all.Select(a => a.GetProperty("id").GetInt64()));

        // The last token still works: an empty page that keeps its position.
        var empty = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds=1&nextPageToken={last}"));
        Assert.Empty(empty.GetProperty("result").EnumerateArray());
        Assert.False(empty.GetProperty("moreResult").GetBoolean());
        Assert.Equal(last, empty.GetProperty("nextPageToken").GetString());

        var (small, smallPages, _) = await WalkAsync(client, "/rest/v1/activities.json?activityTypeIds=6&batchSize=100", token);
        Assert.Equal(350, small.Count);
        Assert.Equal(4, smallPages);
        Assert.All(small, a => Assert.Equal(6, a.GetProperty("activityTypeId").GetInt32()));

        var big = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds=1,6&batchSize=1000&nextPageToken={token}"));
        Assert.Equal(300, big.GetProperty("result").GetArrayLength());
    }

    [Fact]
    public async Task Paging_never_skips_or_repeats_while_new_ones_are_being_added()
    {
        // Many calls in a few seconds: the call limits are not what this test is about.
        await using var server = await StartWithRoomAsync();
        using var client = await CustomActivityTypeTests.MetadataClientAsync(server);
        var typeId = await CustomActivityTypeTests.ApprovedConferenceTypeAsync(client);
        await server.AppendAsync([.. Enumerable.Range(0, 500).Select(i => Row(1 + i, 5, 1, Day.AddSeconds(i)))]);
        var token = await TokenAsync(client, Day);
        var path = $"/rest/v1/activities.json?activityTypeIds=1,{typeId}&batchSize=37";

        using var stop = new CancellationTokenSource();
        var added = new List<long>();
        var writer = Task.Run(async () =>
        {
            for (var round = 0; round < 20; round++)
            {
                // Dates in the past, inside the range: they must still be seen, after what was read already.
                var body = "{\"input\":[" + string.Join(',', Enumerable.Range(0, 10).Select(i =>
                    $$"""{"leadId":{{i + 1}},"activityDate":"2026-03-01T00:00:{{i:00}}Z","activityTypeId":{{typeId}},"primaryAttributeValue":"p"}""")) + "]}";
                var envelope = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json(body)));
                lock (added)
                {
                    added.AddRange(envelope.GetProperty("result").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()));
                }
            }
        });

        var seen = new List<long>();
        while (true)
        {
            var writerDone = writer.IsCompleted; // before the read: a page read after the last add has seen all of it
            var envelope = await Marketo.SuccessAsync(await client.GetAsync($"{path}&nextPageToken={Uri.EscapeDataString(token)}"));
            seen.AddRange(envelope.GetProperty("result").EnumerateArray().Select(a => a.GetProperty("id").GetInt64()));
            token = envelope.GetProperty("nextPageToken").GetString()!;
            if (!envelope.GetProperty("moreResult").GetBoolean() && writerDone)
            {
                break;
            }
        }

        await writer;
        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Equal(seen.Order(), seen);
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i).Concat(added.Order()), seen);
    }

    [Fact]
    public async Task Far_apart_marketoGUIDs_page_in_order_without_gaps()
    {
        await using var server = await StartAsync();
        long[] guids = [3, 4, 90_000, 5_000_000, 5_000_001, 800_000_000, 800_000_002, 9_000_000_000_000];
        await server.AppendAsync([.. guids.Select((g, i) => Row(g, 1, i % 3 == 0 ? 6 : 1, Day.AddMinutes(i)))]);
        using var client = await server.AuthorizedClientAsync();
        var (items, pages, _) = await WalkAsync(client, "/rest/v1/activities.json?activityTypeIds=1&batchSize=2", await TokenAsync(client, Day));
        Assert.Equal(guids.Where((_, i) => i % 3 != 0), items.Select(a => a.GetProperty("id").GetInt64()));
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task A_token_holds_no_server_state_so_it_survives_a_restart()
    {
        string token;
        List<long> second;
        var rows = Enumerable.Range(0, 20).Select(i => Row(100 + i, 1, 1, Day.AddMinutes(i))).ToArray();
        await using (var server = await StartAsync())
        {
            await server.AppendAsync(rows);
            using var client = await server.AuthorizedClientAsync();
            var page = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds=1&batchSize=5&nextPageToken={await TokenAsync(client, Day)}"));
            token = page.GetProperty("nextPageToken").GetString()!;
            var next = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds=1&batchSize=5&nextPageToken={token}"));
            second = [.. next.GetProperty("result").EnumerateArray().Select(a => a.GetProperty("id").GetInt64())];
        }

        await using (var again = await StartAsync())
        {
            await again.AppendAsync(rows);
            using var client = await again.AuthorizedClientAsync();
            var next = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds=1&batchSize=5&nextPageToken={token}"));
            Assert.Equal(second, next.GetProperty("result").EnumerateArray().Select(a => a.GetProperty("id").GetInt64()));
            Assert.Equal([105L, 106, 107, 108, 109], second);
        }
    }

    [Fact]
    public async Task Lead_asset_and_list_filters()
    {
        await using var server = await StartAsync();
        await server.AppendAsync(
            Row(1, 10, 24, Day, 500, "List A"),        // lead 10 added to list 500
            Row(2, 11, 24, Day, 500, "List A"),        // lead 11 added ...
            Row(3, 11, 25, Day.AddMinutes(1), 500, "List A"), // ... and removed
            Row(4, 12, 24, Day, 501, "List B"),
            Row(5, 10, 1, Day, 9, "page"),
            Row(6, 11, 1, Day, 9, "page"),
            Row(7, 12, 1, Day, 8, "other"),
            Row(8, 13, 1, Day, 9, "page"));
        await ListAsync(server, 500, 13, 10);
        await ListAsync(server, 501, 13, 12);
        using var client = await server.AuthorizedClientAsync();
        var token = await TokenAsync(client, Day);
        async Task<long[]> Ids(string query) =>
            [.. (await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?nextPageToken={token}&{query}")))
                .GetProperty("result").EnumerateArray().Select(a => a.GetProperty("id").GetInt64())];

        Assert.Equal(new long[] { 5, 7 }, await Ids("activityTypeIds=1&leadIds=10,12"));
        Assert.Equal(new long[] { 5, 6, 8 }, await Ids("activityTypeIds=1&assetIds=9"));
        Assert.Equal(new long[] { 1, 5 }, await Ids("activityTypeIds=1,24&listId=500"));
        Assert.Equal("Static list not found",
            await Marketo.ErrorAsync(await client.GetAsync($"/rest/v1/activities.json?nextPageToken={token}&activityTypeIds=1&listId=999"), "1013"));
    }

    [Fact]
    public async Task From_2026_12_30_a_listId_of_10000_leads_or_more_is_refused()
    {
        await using var server = await StartAsync();
        await server.AppendAsync([.. Enumerable.Range(1, 10_000).Select(i => Row(i, i, 24, Day, 500, "Big"))]);
        await ListAsync(server, 500, 10_000, [.. Enumerable.Range(1, 10_000).Select(i => (long)i)]);
        server.Clock.SetNow(new DateTimeOffset(2026, 12, 29, 12, 0, 0, TimeSpan.Zero));
        using (var before = await server.AuthorizedClientAsync())
        {
            var token = await TokenAsync(before, Day);
            var page = await Marketo.SuccessAsync(await before.GetAsync($"/rest/v1/activities.json?activityTypeIds=24&listId=500&nextPageToken={token}"));
            Assert.Equal(300, page.GetProperty("result").GetArrayLength());
        }

        server.Clock.SetNow(new DateTimeOffset(2026, 12, 30, 0, 0, 0, TimeSpan.Zero));
        using var after = await server.AuthorizedClientAsync();
        var afterToken = await TokenAsync(after, Day);
        await Marketo.ErrorAsync(await after.GetAsync($"/rest/v1/activities.json?activityTypeIds=24&listId=500&nextPageToken={afterToken}"), "1003");
        await Marketo.ErrorAsync(await after.GetAsync($"/rest/v1/activities/leadchanges.json?fields=email&listId=500&nextPageToken={afterToken}"), "1003");
    }

    [Theory]
    [InlineData("activityTypeIds=1", "1002")]                                       // no nextPageToken
    [InlineData("nextPageToken=TOKEN", "1002")]                                     // no activityTypeIds
    [InlineData("nextPageToken=not-a-token&activityTypeIds=1", "1003")]
    [InlineData("nextPageToken=TOKEN&activityTypeIds=1,2,3,6,7,8,9,10,11,12,13", "1003")]
    [InlineData("nextPageToken=TOKEN&activityTypeIds=1,x", "1001")]
    [InlineData("nextPageToken=TOKEN&activityTypeIds=424242", "1003")]
    [InlineData("nextPageToken=TOKEN&activityTypeIds=1&leadIds=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31", "1003")]
    [InlineData("nextPageToken=TOKEN&activityTypeIds=1,6&assetIds=9", "1003")]
    [InlineData("nextPageToken=TOKEN&activityTypeIds=1&batchSize=0", "1003")]
    [InlineData("nextPageToken=TOKEN&activityTypeIds=1&batchSize=ten", "1003")]
    [InlineData("nextPageToken=TOKEN&activityTypeIds=1&leadIds=1&listId=5", "1003")]
    [InlineData("nextPageToken=TOKEN&activityTypeIds=1&listId=abc", "1001")]
    public async Task Get_lead_activity_rejects_bad_input(string query, string code)
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        var token = await TokenAsync(client, Day);
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities.json?" + query.Replace("TOKEN", token, StringComparison.Ordinal)), code);
    }

    [Fact]
    public async Task Paging_token_needs_a_valid_since_datetime_and_30_leadIds_are_fine()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/pagingtoken.json"), "1002");
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/pagingtoken.json?sinceDatetime=yesterday"), "704");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/pagingtoken.json", null), "605");
        var token = await TokenAsync(client, Day);
        var thirty = string.Join(',', Enumerable.Range(1, 30));
        var ok = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?nextPageToken={token}&activityTypeIds=1,2,3,6,7,8,9,10,11,12&leadIds={thirty}"));
        Assert.False(ok.GetProperty("moreResult").GetBoolean());
        Assert.Empty(ok.GetProperty("result").EnumerateArray());

        var (id, secret) = await server.CreateApiUserAsync("nobody@example.com", "Read-Only Lead");
        using var denied = await server.AuthorizedClientAsync(id, secret);
        await Marketo.ErrorAsync(await denied.GetAsync($"/rest/v1/activities.json?nextPageToken={token}&activityTypeIds=1"), "603");
        await Marketo.ErrorAsync(await denied.GetAsync("/rest/v1/activities/pagingtoken.json?sinceDatetime=2026-01-01"), "603");
    }

    [Fact]
    public async Task Lead_changes_come_from_change_data_value_rows_of_the_requested_fields()
    {
        await using var server = await StartAsync();
        await server.AppendAsync(
            Row(1, 10, 13, Day, 48, "First Name", """{"New Value":"Ann","Old Value":"Anne","Reason":"Web service API","Source":"Web service API"}"""),
            Row(2, 10, 13, Day, 50, "Last Name", """{"New Value":"Lee"}"""),
            Row(3, 11, 1, Day, 9, "page"),
            Row(4, 12, 13, Day, 51, "Email Address", """{"New Value":"a@b.test"}"""));
        using var client = await server.AuthorizedClientAsync();
        var token = await TokenAsync(client, Day);

        var envelope = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities/leadchanges.json?nextPageToken={token}&fields=firstName,lastName"));
        var items = envelope.GetProperty("result").EnumerateArray().ToList();
        Assert.Equal(2, items.Count);
        var change = items[0];
        Assert.Equal(13, change.GetProperty("activityTypeId").GetInt32());
        var field = Assert.Single(change.GetProperty("fields").EnumerateArray());
        Assert.Equal(48, field.GetProperty("id").GetInt32());
        Assert.Equal("firstName", field.GetProperty("name").GetString());
        Assert.Equal("Ann", field.GetProperty("newValue").GetString());
        Assert.Equal("Anne", field.GetProperty("oldValue").GetString());
        Assert.Equal(["Reason", "Source"], change.GetProperty("attributes").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        Assert.False(items[1].GetProperty("fields")[0].TryGetProperty("oldValue", out _));

        await Marketo.ErrorAsync(await client.GetAsync($"/rest/v1/activities/leadchanges.json?nextPageToken={token}"), "1002");
        await Marketo.ErrorAsync(await client.GetAsync($"/rest/v1/activities/leadchanges.json?nextPageToken={token}&fields=shoeSize"), "1006");
        await Marketo.ErrorAsync(await client.GetAsync($"/rest/v1/activities/leadchanges.json?fields=firstName"), "1002");
        var byLead = await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities/leadchanges.json?nextPageToken={token}&fields=email&leadIds=12"));
        Assert.Equal(4, Assert.Single(byLead.GetProperty("result").EnumerateArray()).GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task Deleted_leads_are_delete_lead_rows_with_empty_attributes()
    {
        await using var server = await StartAsync();
        await server.AppendAsync(
            Row(1, 6, 37, Day, 6, "Owyliphys Iledil", """{"x":1}"""),
            Row(2, 7, 1, Day, 9, "page"),
            Row(3, 9, 37, Day.AddDays(1), 9, "First Last"));
        using var client = await server.AuthorizedClientAsync();
        var token = await TokenAsync(client, Day);
        var (items, _, _) = await WalkAsync(client, "/rest/v1/activities/deletedleads.json?batchSize=1", token);
        Assert.Equal([1L, 3], items.Select(i => i.GetProperty("id").GetInt64()));
        Assert.All(items, i => Assert.Equal(0, i.GetProperty("attributes").GetArrayLength()));
        Assert.Equal("Owyliphys Iledil", items[0].GetProperty("primaryAttributeValue").GetString());
        await Marketo.ErrorAsync(await client.GetAsync("/rest/v1/activities/deletedleads.json"), "1002");
    }

    [Fact]
    public async Task Custom_activity_attributes_carry_their_api_names()
    {
        await using var server = await StartAsync();
        using var client = await CustomActivityTypeTests.MetadataClientAsync(server);
        var typeId = await CustomActivityTypeTests.ApprovedConferenceTypeAsync(client);
        await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json(
            $$"""{"input":[{"leadId":3,"activityDate":"2026-03-01T10:00:00Z","activityTypeId":{{typeId}},"primaryAttributeValue":"Summit","attributes":[{"apiName":"numberOfAttendees","value":12}]}]}""")));
        var token = await TokenAsync(client, Day);
        var item = Assert.Single((await Marketo.SuccessAsync(await client.GetAsync($"/rest/v1/activities.json?activityTypeIds={typeId}&nextPageToken={token}")))
            .GetProperty("result").EnumerateArray());
        Assert.Equal("Summit", item.GetProperty("primaryAttributeValue").GetString());
        var attribute = Assert.Single(item.GetProperty("attributes").EnumerateArray());
        Assert.Equal("numberOfAttendees", attribute.GetProperty("apiName").GetString());
        Assert.Equal("Number of Attendees", attribute.GetProperty("name").GetString());
        Assert.Equal(12, attribute.GetProperty("value").GetInt32());
    }
}

public sealed class LeadActivityPagingTests_Embedded : LeadActivityPagingTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class LeadActivityPagingTests_Postgres : LeadActivityPagingTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
