using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Server.Activities.Import;
using Spillway.Server.Leads.Import;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Leads;

/// <summary>
/// Lead files load back with the lead importer: leads exported in createdAt windows, imported into a fresh
/// subscription and exported again with the same requests give the same bytes; imports are idempotent by id, keep
/// the file's times, refuse bad records whole with their line and reason.
/// </summary>
public abstract class LeadRoundTripTests : StoreTestBase
{
    private const string Prefix = "/bulk/v1/leads/export";
    private static readonly DateTimeOffset Start = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Text a CSV, TSV or SSV writer must quote, or that a reader could take for something else.</summary>
    private static readonly string[] HardText =
    [
        "Ann, \"A\"", "Line\nBreak", "CR\r\nLF", "lone\rCR", "tab\there", "space at end ", " leading", "東京", "emoji 🎉", "null", "",
        "semi;colon", "quote\" inside", "\"quoted\"", "back\\slash", "<b>html</b> & more", "two  spaces", "Ünïcödé",
    ];

    /// <summary>Every describe field the extract can name: id, then the catalogue in id order (createdAt and updatedAt among them).</summary>
    private static readonly string[] AllFields = ["id", .. LeadFields.All.Where(f => f.Rest is not null).Select(f => f.Rest!.Name)];

    private static string FieldsJson => string.Join(",", AllFields.Select(f => $"\"{f}\""));

    private static string Body(DateTimeOffset start, DateTimeOffset end, string extra = "") =>
        $$$"""{"fields":[{{{FieldsJson}}}],"filter":{"createdAt":{"startAt":"{{{start:yyyy-MM-ddTHH:mm:ssZ}}}","endAt":"{{{end:yyyy-MM-ddTHH:mm:ssZ}}}"}}{{{extra}}}}""";

    private static async Task<byte[]> ExportAsync(HttpClient client, string body)
    {
        var created = Marketo.Job(await Marketo.SuccessAsync(await client.PostAsync($"{Prefix}/create.json", Marketo.Json(body))));
        var id = created.GetProperty("exportId").GetString()!;
        await Marketo.SuccessAsync(await client.PostAsync($"{Prefix}/{id}/enqueue.json", null));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var job = Marketo.Job(await Marketo.SuccessAsync(await client.GetAsync($"{Prefix}/{id}/status.json")));
            var status = job.GetProperty("status").GetString();
            if (status is "Completed" or "Failed" or "Cancelled")
            {
                Assert.Equal("Completed", status);
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Job {id} still {status} after 60 s");
            await Task.Delay(100);
        }

        var response = await client.GetAsync($"{Prefix}/{id}/file.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static async Task SyncAsync(HttpClient client, IEnumerable<Dictionary<string, object?>> records)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, object> { ["action"] = "createOrUpdate", ["input"] = records.ToList() });
        var envelope = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/leads.json", Marketo.Json(body)));
        Assert.All(envelope.GetProperty("result").EnumerateArray(), r => Assert.NotEqual("skipped", r.GetProperty("status").GetString()));
    }

    /// <summary>A lead with a value of every writable field's kind, some left null, text from <see cref="HardText"/>.</summary>
    private static Dictionary<string, object?> Lead(int i)
    {
        var lead = new Dictionary<string, object?> { ["email"] = $"lead{i}@example.com" };
        var n = 0;
        foreach (var column in LeadColumns.All.Where(c => c.Field.Rest is { ReadOnly: false } && c.RestName != "email"))
        {
            n++;
            if ((i + n) % 7 == 0)
            {
                continue; // null
            }

            lead[column.RestName] = column.Kind switch
            {
                LeadValueKind.Integer => (object)((i * 37L) - 500 + n),
                LeadValueKind.Float => new[] { 12.5, -0.1, 1e-7, 123456789.125, 3.0, double.Epsilon * 1e300, 0.30000000000000004 }[(i + n) % 7],
                LeadValueKind.Boolean => (i + n) % 2 == 0,
                LeadValueKind.Date => new DateOnly(1950, 1, 1).AddDays((i * 331) + n).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                _ => HardText[(i + n) % HardText.Length],
            };
        }

        return lead;
    }

    private static LeadImporter Importer(SpillwayTestServer server) =>
        new(server.Services.GetRequiredService<ILeadStore>(), server.Services.GetRequiredService<TimeProvider>(),
            server.Services.GetRequiredService<ILeadFieldStore>());

    private static async Task<LeadImportSummary> ImportAsync(SpillwayTestServer server, int subscriptionId, byte[] file, ActivityFileFormat format,
        List<ImportIssue>? issues = null, int batchSize = LeadImporter.DefaultBatchSize) =>
        await Importer(server).ImportAsync(subscriptionId, new MemoryStream(file), format, i => issues?.Add(i), null, CancellationToken.None, batchSize);

    /// <summary>A second subscription with room for polling and an API user that reads and writes leads.</summary>
    private static async Task<(int Id, HttpClient Client)> FreshSubscriptionAsync(SpillwayTestServer server, string munchkinId)
    {
        await server.CreateSubscriptionViaAdminAsync(munchkinId);
        (await server.Admin.PutAsJsonAsync($"/_spillway/admin/subscriptions/{munchkinId}/limits",
            new { rateLimitCalls = 1_000_000, concurrentCalls = 1_000, dailyCallQuota = 100_000_000 })).EnsureSuccessStatusCode();
        var (clientId, secret) = await server.AddUserViaAdminAsync(munchkinId, "copy@example.com", "Read-Write Lead");
        var subscription = await server.Services.GetRequiredService<IIdentityStore>().FindSubscriptionAsync(munchkinId, CancellationToken.None);
        return (subscription!.Id, await server.AuthorizedClientAsync(clientId, secret));
    }

    [Fact]
    public async Task Leads_exported_in_windows_import_into_a_fresh_subscription_and_export_byte_identical()
    {
        await using var server = await StartWithRoomAsync();
        var (source, secret) = await server.CreateApiUserAsync("leads@example.com", "Read-Write Lead");
        using var client = await server.AuthorizedClientAsync(source, secret);

        // 140 leads over 70 days, a few at each moment; then a third of them change later, and one is deleted.
        for (var day = 0; day < 70; day++)
        {
            server.Clock.SetNow(Start.AddDays(day).AddHours(day % 24).AddMinutes(day));
            await SyncAsync(client, [Lead(day * 2), Lead((day * 2) + 1)]);
        }

        server.Clock.SetNow(Start.AddDays(75));
        await SyncAsync(client, Enumerable.Range(0, 140).Where(i => i % 3 == 0)
            .Select(i => new Dictionary<string, object?> { ["email"] = $"lead{i}@example.com", ["firstName"] = $"Changed \"{i}\",\n", ["leadScore"] = null }));
        await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/leads/delete.json", Marketo.Json("""{"input":[{"id":5}]}""")));

        var windows = Enumerable.Range(0, 3).Select(w => (Start: Start.AddDays(31 * w), End: Start.AddDays(31 * (w + 1)).AddSeconds(-1))).ToList();
        var requests = windows.Select(w => (Body: Body(w.Start, w.End), Format: ActivityFileFormat.Csv)).ToList();
        requests.Add((Body(windows[0].Start, windows[0].End, ",\"format\":\"TSV\""), ActivityFileFormat.Tsv));
        requests.Add((Body(windows[1].Start, windows[1].End, ",\"format\":\"SSV\""), ActivityFileFormat.Ssv));
        var originals = new List<byte[]>();
        foreach (var (body, _) in requests)
        {
            originals.Add(await ExportAsync(client, body));
        }

        var text = string.Concat(originals.Take(3).Select(Encoding.UTF8.GetString));
        Assert.Contains("東京", text, StringComparison.Ordinal);
        Assert.Contains("\"CR\r\nLF\"", text, StringComparison.Ordinal);
        Assert.Contains(",true,", text, StringComparison.Ordinal);
        Assert.Contains("1E-07", text, StringComparison.Ordinal);

        var (copyId, copy) = await FreshSubscriptionAsync(server, "222-BBB-222");
        using (copy)
        {
            long added = 0;
            for (var i = 0; i < originals.Count; i++)
            {
                var issues = new List<ImportIssue>();
                var summary = await ImportAsync(server, copyId, originals[i], requests[i].Format, issues, batchSize: 25);
                Assert.Empty(issues);
                added += summary.Added;
                Assert.Equal(0, summary.Replaced);
                Assert.Equal(i < 3 ? 0 : summary.Read, summary.Unchanged); // the TSV and SSV files hold leads the CSV files loaded
            }

            Assert.Equal(139, added);
            Assert.Equal(139, await server.Services.GetRequiredService<ILeadStore>().CountAsync(copyId, CancellationToken.None));

            for (var i = 0; i < requests.Count; i++)
            {
                var again = await ExportAsync(copy, requests[i].Body);
                Assert.True(originals[i].AsSpan().SequenceEqual(again),
                    $"export {i} differs after the round trip:\n{Encoding.UTF8.GetString(originals[i])}\n----\n{Encoding.UTF8.GetString(again)}");
            }

            // A second import changes nothing, and the copy's id sequence was moved past the largest imported id.
            var twice = await ImportAsync(server, copyId, originals[0], ActivityFileFormat.Csv);
            Assert.Equal((0L, 0L), (twice.Added, twice.Replaced));
            Assert.Equal(twice.Read, twice.Unchanged);
            var created = await Marketo.SuccessAsync(await copy.PostAsync("/rest/v1/leads.json", Marketo.Json("""{"input":[{"email":"new@example.com"}]}""")));
            Assert.Equal(141, created.GetProperty("result")[0].GetProperty("id").GetInt64());
        }
    }

    [Fact]
    public async Task Custom_field_values_survive_an_export_and_an_import_into_a_subscription_with_the_same_fields()
    {
        await using var server = await StartWithRoomAsync();
        (string Name, string Type)[] definitions = [("shoeSize", "integer"), ("favouriteColour", "string"), ("vip", "boolean"), ("lastMet", "date"), ("ratio", "float")];
        async Task DefineAsync(string munchkinId)
        {
            foreach (var (name, type) in definitions)
            {
                (await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{munchkinId}/lead-fields", new { name, displayName = name, dataType = type }))
                    .EnsureSuccessStatusCode();
            }
        }

        await DefineAsync(SpillwayTestServer.MunchkinId);
        var (source, secret) = await server.CreateApiUserAsync("custom@example.com", "Read-Write Lead");
        using var client = await server.AuthorizedClientAsync(source, secret);
        server.Clock.SetNow(Start.AddDays(3));
        await SyncAsync(client, Enumerable.Range(0, 30).Select(i => new Dictionary<string, object?>
        {
            ["email"] = $"custom{i}@example.com",
            ["shoeSize"] = i % 5 == 0 ? null : 30 + i,
            ["favouriteColour"] = HardText[i % HardText.Length],
            ["vip"] = i % 2 == 0,
            ["lastMet"] = i % 4 == 0 ? null : new DateOnly(2025, 1, 1).AddDays(i * 9).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["ratio"] = i / 7.0,
        }));

        string[] fields = ["id", "email", "shoeSize", "favouriteColour", "vip", "lastMet", "ratio", "createdAt", "updatedAt"];
        var body = "{\"fields\":[" + string.Join(",", fields.Select(f => $"\"{f}\"")) + "],\"filter\":{\"createdAt\":{\"startAt\":\""
            + Start.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) + "\",\"endAt\":\"" + Start.AddDays(10).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) + "\"}}}";
        var csv = await ExportAsync(client, body);
        var tsv = await ExportAsync(client, body[..^1] + ",\"format\":\"TSV\"}");
        Assert.Contains(",true,", Encoding.UTF8.GetString(csv), StringComparison.Ordinal);
        Assert.Contains(",31,", Encoding.UTF8.GetString(csv), StringComparison.Ordinal);

        var (copyId, copy) = await FreshSubscriptionAsync(server, "333-CCC-333");
        using (copy)
        {
            // Without the fields defined the file's custom columns are unknown: the whole file is refused.
            var refused = await Assert.ThrowsAsync<ImportFormatException>(() => ImportAsync(server, copyId, csv, ActivityFileFormat.Csv));
            Assert.Contains("'shoeSize' is not a lead field", refused.Message, StringComparison.Ordinal);

            await DefineAsync("333-CCC-333");
            var issues = new List<ImportIssue>();
            var summary = await ImportAsync(server, copyId, csv, ActivityFileFormat.Csv, issues);
            Assert.Empty(issues);
            Assert.Equal(30, summary.Added);
            Assert.Equal(30, (await ImportAsync(server, copyId, tsv, ActivityFileFormat.Tsv)).Unchanged);

            var csvAgain = await ExportAsync(copy, body);
            var tsvAgain = await ExportAsync(copy, body[..^1] + ",\"format\":\"TSV\"}");
            Assert.Equal(Encoding.UTF8.GetString(csv), Encoding.UTF8.GetString(csvAgain));
            Assert.Equal(Encoding.UTF8.GetString(tsv), Encoding.UTF8.GetString(tsvAgain));
            Assert.Equal(csv, csvAgain);

            // A custom value given as null clears it; one not given keeps it.
            var leads = await server.Services.GetRequiredService<ILeadStore>().GetByIdsAsync(copyId, [2, 3], CancellationToken.None);
            Assert.Equal(31L, leads[0].Get("shoeSize"));
            var ndjson = Encoding.UTF8.GetBytes("{\"id\":2,\"shoeSize\":null}\n{\"id\":3,\"favouriteColour\":\"teal\"}\n");
            var patched = await ImportAsync(server, copyId, ndjson, ActivityFileFormat.Ndjson);
            Assert.Equal(2, patched.Replaced);
            leads = await server.Services.GetRequiredService<ILeadStore>().GetByIdsAsync(copyId, [2, 3], CancellationToken.None);
            Assert.Null(leads[0].Get("shoeSize"));
            Assert.Equal("teal", leads[1].Get("favouriteColour"));
            Assert.Equal(32L, leads[1].Get("shoeSize"));
        }
    }

    [Fact]
    public async Task An_import_keeps_given_times_and_ungiven_fields_refuses_bad_records_whole_and_reads_ndjson()
    {
        await using var server = await StartWithRoomAsync();
        var (copyId, copy) = await FreshSubscriptionAsync(server, "444-DDD-444");
        using (copy)
        {
            var csv = """"
                id,email,firstName,numberOfEmployees,unsubscribed,dateOfBirth,createdAt,updatedAt,originalSourceType
                10,ann@example.com,Ann,250,true,1990-07-04,2026-01-02T03:04:05Z,2026-01-05T00:00:00+01:00,Web
                11,bob@example.com,Bob,many,false,null,2026-01-02T03:04:05Z,null,null
                12,cy@example.com,"Cy, ""C""",null,maybe,null,null,null,null
                ,nobody@example.com,No,1,true,null,null,null,null
                13,ünï@example.com,U,1,true,null,null,null,null
                14,dee@example.com,Dee,1,true,1990-02-30,null,null,null
                15,eve@example.com,Eve,1,true,null,yesterday,null,null
                16,fay@example.com
                0,zero@example.com,Z,1,true,null,null,null,null
                17,gus@example.com,Gus,null,null,null,2026-01-03T00:00:00Z,null,null

                """".ReplaceLineEndings("\n");
            var issues = new List<ImportIssue>();
            var summary = await ImportAsync(server, copyId, Encoding.UTF8.GetBytes(csv), ActivityFileFormat.Csv, issues);
            Assert.Equal(new LeadImportSummary(2, 2, 0, 0, 8), summary);
            Assert.Equal(
                [
                    "3: numberOfEmployees 'many' is not an integer",
                    "4: unsubscribed 'maybe' is not true or false",
                    "5: id is required",
                    "6: email 'ünï@example.com' is not ASCII text of at most 255 characters",
                    "7: dateOfBirth '1990-02-30' is not a date (yyyy-MM-dd)",
                    "8: createdAt 'yesterday' is not an ISO-8601 date-time",
                    "9: expected 9 fields, found 2",
                    "10: id '0' is not a positive integer",
                ],
                issues.Select(i => $"{i.Line}: {i.Message}"));

            var store = server.Services.GetRequiredService<ILeadStore>();
            var leads = await store.GetByIdsAsync(copyId, [10, 11, 12, 17], CancellationToken.None);
            Assert.Equal([10L, 17L], leads.Select(l => l.Id));
            var ann = leads[0];
            Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), ann.CreatedAt);
            Assert.Equal(new DateTimeOffset(2026, 1, 4, 23, 0, 0, TimeSpan.Zero), ann.UpdatedAt);
            Assert.Equal(250L, ann.Get("numberOfEmployees"));
            Assert.Equal(true, ann.Get("unsubscribed"));
            Assert.Equal(new DateOnly(1990, 7, 4), ann.Get("dateOfBirth"));
            Assert.Equal("Web", ann.Get("originalSourceType")); // read-only for Sync Leads, but an import restores it
            Assert.Equal(leads[1].CreatedAt, leads[1].UpdatedAt); // no updatedAt: the createdAt

            // NDJSON: a subset of fields replaces only those; null clears; a bad record changes nothing of its lead.
            var ndjson = """
                {"id":10,"firstName":"Annie","unsubscribed":null,"updatedAt":"2026-02-01T00:00:00Z"}
                {"id":"17","email":"gus@example.com","leadScore":"42","annualRevenue":12.5,"doNotCall":false}
                {"id":10,"firstName":"Never","numberOfEmployees":"x"}
                {"id":18,"shoeSize":44}
                [1]
                {"id":-1}
                {"email":"x@example.com"}
                {"id":19,"createdAt":5}

                """.ReplaceLineEndings("\n");
            issues.Clear();
            summary = await ImportAsync(server, copyId, Encoding.UTF8.GetBytes(ndjson), ActivityFileFormat.Ndjson, issues);
            Assert.Equal(new LeadImportSummary(2, 0, 2, 0, 6), summary);
            Assert.Equal(
                [
                    "3: numberOfEmployees must be an integer, or null",
                    "4: 'shoeSize' is not a lead field",
                    "5: not a JSON object",
                    "6: id must be a positive integer (number or string)",
                    "7: id is required",
                    "8: createdAt must be an ISO-8601 date-time string or null",
                ],
                issues.Select(i => $"{i.Line}: {i.Message}"));
            leads = await store.GetByIdsAsync(copyId, [10, 17], CancellationToken.None);
            Assert.Equal("Annie", leads[0].Get("firstName"));
            Assert.Null(leads[0].Get("unsubscribed"));
            Assert.Equal(250L, leads[0].Get("numberOfEmployees"));
            Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), leads[0].CreatedAt);
            Assert.Equal(new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero), leads[0].UpdatedAt);
            Assert.Equal(42L, leads[1].Get("leadScore"));
            Assert.Equal(12.5, leads[1].Get("annualRevenue"));
            Assert.Equal("Gus", leads[1].Get("firstName"));

            // The same NDJSON again leaves everything as it is.
            summary = await ImportAsync(server, copyId, Encoding.UTF8.GetBytes(ndjson), ActivityFileFormat.Ndjson);
            Assert.Equal(new LeadImportSummary(2, 0, 0, 2, 6), summary);

            // A file that cannot be read at all loads nothing.
            var header = Assert.Throws<ImportFormatException>(() => LeadFileReader.Read(new MemoryStream("email,shoeSize\n"u8.ToArray()), ActivityFileFormat.Csv).ToList());
            Assert.StartsWith("Line 1: 'shoeSize' is not a lead field", header.Message, StringComparison.Ordinal);
            Assert.Equal("Line 1: the column id is required.",
                Assert.Throws<ImportFormatException>(() => LeadFileReader.Read(new MemoryStream("email\n"u8.ToArray()), ActivityFileFormat.Csv).ToList()).Message);
            Assert.Equal("Line 1: 'id' is listed twice.",
                Assert.Throws<ImportFormatException>(() => LeadFileReader.Read(new MemoryStream("id,id\n"u8.ToArray()), ActivityFileFormat.Csv).ToList()).Message);
            Assert.Equal(2, await store.CountAsync(copyId, CancellationToken.None));
        }
    }
}

public sealed class LeadRoundTripTests_Embedded : LeadRoundTripTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class LeadRoundTripTests_Postgres : LeadRoundTripTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
