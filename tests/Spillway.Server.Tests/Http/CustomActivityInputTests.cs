using System.Text;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary><c>POST /rest/v1/activities/external.json</c>: per-record results, limits, typed attributes, visibility in exports.</summary>
public abstract class CustomActivityInputTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Good_records_are_added_bad_ones_skipped_with_their_error_and_exports_see_them_at_once()
    {
        await using var server = await StartAsync();
        using var client = await CustomActivityTypeTests.MetadataClientAsync(server);
        var typeId = await CustomActivityTypeTests.ApprovedConferenceTypeAsync(client);
        await server.AppendAsync(new Spillway.Contracts.ActivityRecord(5000, 1, Day, 1, null, null, null, "{}", null));

        var body = $$"""
            {"input":[
              {"leadId":1001,"activityDate":"2026-03-01T06:56:35+07:00","activityTypeId":{{typeId}},"primaryAttributeValue":"Summit \"東京\" 🎉",
               "attributes":[{"apiName":"numberOfAttendees","value":"250"},{"name":"Conference Date","value":"2026-04-01T09:00:00-05:00"},
                             {"apiName":"ticketPrice","value":12.50},{"apiName":"vip","value":"true"},{"apiName":"notes","value":"a\nb, \"c\""}]},
              {"leadId":1002,"activityDate":"2026-03-01","activityTypeId":{{typeId}},"primaryAttributeValue":"Other","attributes":[]},
              {"activityDate":"2026-03-01","activityTypeId":{{typeId}},"primaryAttributeValue":"x","attributes":[]},
              {"leadId":"abc","activityDate":"2026-03-01","activityTypeId":{{typeId}},"primaryAttributeValue":"x","attributes":[]},
              {"leadId":1,"activityDate":"yesterday","activityTypeId":{{typeId}},"primaryAttributeValue":"x","attributes":[]},
              {"leadId":1,"activityDate":"2026-03-01","activityTypeId":1,"primaryAttributeValue":"x","attributes":[]},
              {"leadId":1,"activityDate":"2026-03-01","activityTypeId":{{typeId}},"attributes":[]},
              {"leadId":1,"activityDate":"2026-03-01","activityTypeId":{{typeId}},"primaryAttributeValue":"x","attributes":[{"apiName":"nope","value":1}]},
              {"leadId":1,"activityDate":"2026-03-01","activityTypeId":{{typeId}},"primaryAttributeValue":"x","attributes":[{"apiName":"numberOfAttendees","value":"many"}]},
              {"leadId":1,"activityDate":"2026-03-01","activityTypeId":{{typeId}},"primaryAttributeValue":"x","attributes":[{"apiName":"notes","value":"{{new string('x', 70_000)}}"}]},
              {"leadId":1,"activityDate":"2026-03-01","activityTypeId":{{typeId}},"primaryAttributeValue":"x","attributes":[{"apiName":"vip","value":true},{"name":"VIP","value":false}]},
              {"leadId":1,"activityDate":"2026-03-01","activityTypeId":999999,"primaryAttributeValue":"x","attributes":[]},
              7
            ]}
            """;
        var envelope = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json(body)));
        var results = envelope.GetProperty("result").EnumerateArray().ToList();
        Assert.Equal(13, results.Count);
        Assert.Equal("added", results[0].GetProperty("status").GetString());
        Assert.Equal("added", results[1].GetProperty("status").GetString());
        var first = long.Parse(results[0].GetProperty("marketoGUID").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(5001, first); // above the store's max
        Assert.Equal(first, results[0].GetProperty("id").GetInt64());
        Assert.Equal(first + 1, results[1].GetProperty("id").GetInt64());
        string[] expected = ["1002", "1001", "1001", "1003", "1002", "1006", "1001", "1049", "1003", "1003", "1003"];
        for (var i = 0; i < expected.Length; i++)
        {
            var skipped = results[i + 2];
            Assert.Equal("skipped", skipped.GetProperty("status").GetString());
            Assert.False(skipped.TryGetProperty("marketoGUID", out _));
            Assert.Equal(expected[i], Assert.Single(skipped.GetProperty("errors").EnumerateArray()).GetProperty("code").GetString());
        }

        var (file, _) = await Marketo.ExportAsync(client, Marketo.Window(Day.AddDays(-1), Day.AddDays(1),
            $$""","activityTypeIds":[{{typeId}}]""", ""","fields":["marketoGUID","leadId","activityDate","activityTypeId","primaryAttributeValue","attributes"]"""));
        var lines = Encoding.UTF8.GetString(file);
        Assert.Equal(
            "marketoGUID,leadId,activityDate,activityTypeId,primaryAttributeValue,attributes\n" +
            $"{first},1001,2026-02-28T23:56:35Z,{typeId},\"Summit \"\"東京\"\" 🎉\"," +
            "\"{\"\"Conference Date\"\":\"\"2026-04-01T14:00:00Z\"\",\"\"Number of Attendees\"\":250,\"\"Ticket Price\"\":12.50,\"\"VIP\"\":true,\"\"Notes\"\":\"\"a\\nb, \\\"\"c\\\"\"\"\"}\"\n" +
            $"{first + 1},1002,2026-03-01T00:00:00Z,{typeId},Other,{{}}\n",
            lines);
    }

    [Fact]
    public async Task At_most_300_per_call_and_the_body_must_be_an_input_array()
    {
        await using var server = await StartAsync();
        using var client = await CustomActivityTypeTests.MetadataClientAsync(server);
        var typeId = await CustomActivityTypeTests.ApprovedConferenceTypeAsync(client);
        string Input(int n) => "{\"input\":[" + string.Join(',', Enumerable.Range(0, n).Select(i =>
            $$"""{"leadId":{{i + 1}},"activityDate":"2026-03-01T00:00:00Z","activityTypeId":{{typeId}},"primaryAttributeValue":"p","attributes":[]}""")) + "]}";

        var ok = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json(Input(300))));
        var guids = ok.GetProperty("result").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(300, guids.Distinct().Count());
        Assert.Equal(guids.Order(), guids);
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json(Input(301))), "1003");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json("""{"input":{}}""")), "609");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json("""{"input":[""")), "609");
        await Marketo.ErrorAsync(await client.PostAsync("/rest/v1/activities/external.json", new StringContent(Input(1))), "612");
        var empty = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json("""{"input":[]}""")));
        Assert.Empty(empty.GetProperty("result").EnumerateArray());
    }

    [Fact]
    public async Task A_draft_only_type_takes_no_records_and_read_only_users_cannot_add()
    {
        await using var server = await StartAsync();
        using var client = await CustomActivityTypeTests.MetadataClientAsync(server);
        var created = CustomActivityTypeTests.Single(await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external/type.json",
            Marketo.Json(CustomActivityTypeTests.Conference))));
        var id = created.GetProperty("id").GetInt32();
        var envelope = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json(
            $$"""{"input":[{"leadId":1,"activityDate":"2026-03-01","activityTypeId":{{id}},"primaryAttributeValue":"x"}]}""")));
        var result = Assert.Single(envelope.GetProperty("result").EnumerateArray());
        Assert.Equal("skipped", result.GetProperty("status").GetString());

        var (roId, roSecret) = await server.CreateApiUserAsync("reader@example.com", "Read-Only Activity");
        using var reader = await server.AuthorizedClientAsync(roId, roSecret);
        await Marketo.ErrorAsync(await reader.PostAsync("/rest/v1/activities/external.json", Marketo.Json("""{"input":[]}""")), "603");
    }

    [Fact]
    public async Task Concurrent_calls_get_distinct_increasing_guids()
    {
        await using var server = await StartAsync();
        using var client = await CustomActivityTypeTests.MetadataClientAsync(server);
        var typeId = await CustomActivityTypeTests.ApprovedConferenceTypeAsync(client);
        var body = "{\"input\":[" + string.Join(',', Enumerable.Range(0, 50).Select(i =>
            $$"""{"leadId":{{i + 1}},"activityDate":"2026-03-01T00:00:00Z","activityTypeId":{{typeId}},"primaryAttributeValue":"p"}""")) + "]}";
        var calls = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            var envelope = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external.json", Marketo.Json(body)));
            return envelope.GetProperty("result").EnumerateArray().Select(r => r.GetProperty("id").GetInt64()).ToList();
        }));
        var all = calls.SelectMany(c => c).ToList();
        Assert.Equal(400, all.Distinct().Count());
        Assert.All(calls, c => Assert.Equal(Enumerable.Range(0, 50).Select(i => c[0] + i), c));
    }
}

public sealed class CustomActivityInputTests_Embedded : CustomActivityInputTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class CustomActivityInputTests_Postgres : CustomActivityInputTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
