using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Spillway.Contracts;
using Spillway.Server.BulkExport;
using Spillway.Server.Identity;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>
/// A second bulk extract kind plugs into the engine as a row source with its own routes, permission, validation and
/// columns, and shares one queue, one set of processing slots and one daily export quota with activity jobs.
/// </summary>
public abstract class ExtractKindTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private const string Things = "/bulk/v1/things/export";

    private Task<SpillwayTestServer> StartWithThingsAsync(IDictionary<string, string?>? settings = null) =>
        SpillwayTestServer.StartAsync(settings, Store, configure: builder => builder.Services.AddSingleton<IExtractKind, ThingExtract>());

    private static async Task<HttpClient> ThingClientAsync(SpillwayTestServer server)
    {
        var (clientId, secret) = await server.CreateApiUserAsync("things@example.com", "Read-Write Activity", "Read-Only Lead");
        return await server.AuthorizedClientAsync(clientId, secret);
    }

    private static async Task<string> CreateThingAsync(HttpClient client, int rows)
    {
        var job = Marketo.Job(await Marketo.SuccessAsync(await client.PostAsync($"{Things}/create.json", Marketo.Json($$"""{"format":"tsv","rows":{{rows}}}"""))));
        Assert.Equal("Created", job.GetProperty("status").GetString());
        Assert.Equal("TSV", job.GetProperty("format").GetString());
        return job.GetProperty("exportId").GetString()!;
    }

    private static async Task<JsonElement> ThingStatusAsync(HttpClient client, string id) =>
        Marketo.Job(await Marketo.SuccessAsync(await client.GetAsync($"{Things}/{id}/status.json")));

    private static async Task<IReadOnlyList<string>> ListIdsAsync(HttpClient client, string listPath) =>
        [.. (await Marketo.SuccessAsync(await client.GetAsync(listPath))).GetProperty("result").EnumerateArray()
            .Select(j => j.GetProperty("exportId").GetString()!)];

    [Fact]
    public async Task A_second_kind_runs_the_whole_lifecycle_on_its_own_routes_and_writes_its_own_file()
    {
        await using var server = await StartWithThingsAsync();
        await server.SetLimitsWithRoomAsync();
        using var client = await ThingClientAsync(server);

        var id = await CreateThingAsync(client, 3);
        var queued = Marketo.Job(await Marketo.SuccessAsync(await client.PostAsync($"{Things}/{id}/enqueue.json", null)));
        Assert.Equal("Queued", queued.GetProperty("status").GetString());
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement job;
        while ((job = await ThingStatusAsync(client, id)).GetProperty("status").GetString() != "Completed")
        {
            Assert.True(DateTime.UtcNow < deadline, $"thing job still {job.GetProperty("status")}");
            await Task.Delay(50);
        }

        var file = await client.GetAsync($"{Things}/{id}/file.json");
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        var bytes = await file.Content.ReadAsByteArrayAsync();
        Assert.Equal(ThingExtract.File(3), bytes);
        Assert.Equal(3, job.GetProperty("numberOfRecords").GetInt64());
        Assert.Equal(bytes.Length, job.GetProperty("fileSize").GetInt64());
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)), job.GetProperty("fileChecksum").GetString());

        // The kind validates its own body; the shared rules answer with the same messages for every kind.
        Assert.Equal("Invalid value specified for attribute 'format': 'XML' is not one of CSV, TSV, SSV",
            await Marketo.ErrorAsync(await client.PostAsync($"{Things}/create.json", Marketo.Json("""{"format":"XML","rows":1}""")), "1003"));
        Assert.Equal("Invalid value specified for attribute 'rows': rows must be a positive integer",
            await Marketo.ErrorAsync(await client.PostAsync($"{Things}/create.json", Marketo.Json("""{"rows":"many"}""")), "1003"));

        // Its permission is its own: a user with activity rights only is refused.
        using var activityOnly = await server.AuthorizedClientAsync();
        Assert.Equal("Access denied", await Marketo.ErrorAsync(await activityOnly.GetAsync($"{Things}/{id}/status.json"), "603"));
        Assert.Equal("Access denied", await Marketo.ErrorAsync(await activityOnly.GetAsync($"{Things}.json"), "603"));
    }

    [Fact]
    public async Task A_job_is_unknown_to_the_endpoints_of_another_kind()
    {
        await using var server = await StartWithThingsAsync(PausedWorker);
        await server.SetLimitsWithRoomAsync();
        using var client = await ThingClientAsync(server);
        var thing = await CreateThingAsync(client, 1);
        var activity = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        foreach (var response in new[]
                 {
                     await client.GetAsync($"/bulk/v1/activities/export/{thing}/status.json"),
                     await client.PostAsync($"/bulk/v1/activities/export/{thing}/enqueue.json", null),
                     await client.PostAsync($"/bulk/v1/activities/export/{thing}/cancel.json", null),
                     await client.GetAsync($"{Things}/{activity}/status.json"),
                     await client.PostAsync($"{Things}/{activity}/enqueue.json", null),
                     await client.PostAsync($"{Things}/{activity}/cancel.json", null),
                 })
        {
            Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(response, "610"));
        }

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/bulk/v1/activities/export/{thing}/file.json")).StatusCode);
        Assert.Equal("Created", (await ThingStatusAsync(client, thing)).GetProperty("status").GetString());
        Assert.Equal("Created", (await Marketo.StatusAsync(client, activity)).GetProperty("status").GetString());
        Assert.Equal([activity], await ListIdsAsync(client, "/bulk/v1/activities/export.json"));
        Assert.Equal([thing], await ListIdsAsync(client, $"{Things}.json"));
    }

    [Fact]
    public async Task The_queue_holds_ten_jobs_of_all_kinds_together()
    {
        await using var server = await StartWithThingsAsync(PausedWorker);
        await server.SetLimitsWithRoomAsync();
        using var client = await ThingClientAsync(server);
        for (var i = 0; i < 5; i++)
        {
            var thing = await CreateThingAsync(client, 1);
            await Marketo.SuccessAsync(await client.PostAsync($"{Things}/{thing}/enqueue.json", null));
            await Marketo.EnqueueAsync(client, await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1))));
        }

        var activity = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, activity), "1029"));
        var another = await CreateThingAsync(client, 1);
        Assert.Equal("Too many jobs in queue", await Marketo.ErrorAsync(await client.PostAsync($"{Things}/{another}/enqueue.json", null), "1029"));
    }

    [Fact]
    public async Task Bytes_exported_by_one_kind_count_against_the_daily_quota_of_every_kind()
    {
        await using var server = await StartWithThingsAsync();
        await server.SetLimitsWithRoomAsync(new { dailyExportQuotaMegabytes = 1 });
        using var client = await ThingClientAsync(server);

        var big = await CreateThingAsync(client, 11_000); // 11,000 rows of 100 bytes: over 1 MB
        await Marketo.SuccessAsync(await client.PostAsync($"{Things}/{big}/enqueue.json", null));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await ThingStatusAsync(client, big)).GetProperty("status").GetString() != "Completed")
        {
            Assert.True(DateTime.UtcNow < deadline, "the thing job did not complete");
            await Task.Delay(50);
        }

        Assert.Equal("Export daily quota 1MB exceeded.",
            await Marketo.CreateErrorAsync(client, Marketo.Window(Day, Day.AddDays(1)), "1029"));
        Assert.Equal("Export daily quota 1MB exceeded.",
            await Marketo.ErrorAsync(await client.PostAsync($"{Things}/create.json", Marketo.Json("""{"rows":1}""")), "1029"));
    }

    [Fact]
    public async Task A_second_kind_has_its_own_openapi_operations_and_605_answers()
    {
        await using var server = await StartWithThingsAsync();
        var text = await server.Http.GetStringAsync("/openapi/v1.json");
        foreach (var operation in new[] { "createExportThingsUsingPOST", "enqueueExportThingsUsingPOST", "getExportThingsStatusUsingGET",
                     "getExportThingsFileUsingGET", "cancelExportThingsUsingPOST", "getExportThingsUsingGET", "Create Export Thing Job",
                     "Bulk Export Things", "createExportActivitiesUsingPOST", "Bulk Export Activities" })
        {
            Assert.Contains(operation, text, StringComparison.Ordinal);
        }

        foreach (var (method, path) in new[] { ("GET", "/create.json"), ("PUT", $"/{Guid.NewGuid()}/enqueue.json"), ("POST", $"/{Guid.NewGuid()}/file.json"), ("DELETE", ".json") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), Things + path);
            Assert.Equal("HTTP Method not supported", await Marketo.ErrorAsync(await server.Http.SendAsync(request), "605"));
        }
    }

    /// <summary>A minimal kind: a body of <c>rows</c> and <c>format</c>, and a file of that many fixed rows.</summary>
    private sealed class ThingExtract : IExtractKind
    {
        private const string Row = "a123456789b123456789c123456789d123456789e123456789f123456789g123456789h123456789i123456789j12345678\n";

        public string Name => "things";

        public string RoutePrefix => Things;

        public string Permission => Permissions.ReadOnlyLead;

        public ExtractOpenApiNames OpenApi { get; } = new("Things", "Thing");

        public static byte[] File(int rows) => Encoding.ASCII.GetBytes("thing\n" + string.Concat(Enumerable.Repeat(Row, rows)));

        public ValueTask<CreateOutcome> ParseCreateAsync(JsonElement body, ApiCaller caller, CancellationToken ct)
        {
            if (ExtractRequestRules.RequireObject(body) is { } notObject)
            {
                return ValueTask.FromResult(CreateOutcome.Rejected(notObject));
            }

            if (ExtractRequestRules.ReadFormat(body, out var format) is { } formatError)
            {
                return ValueTask.FromResult(CreateOutcome.Rejected(formatError));
            }

            if (!body.TryGetProperty("rows", out var rows) || rows.ValueKind != JsonValueKind.Number || !rows.TryGetInt32(out var count) || count < 1)
            {
                return ValueTask.FromResult(CreateOutcome.Rejected(ExtractRequestRules.Invalid("rows", "rows must be a positive integer")));
            }

            return ValueTask.FromResult(CreateOutcome.Accepted(format, count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        public async Task<ExportFileSummary> WriteFileAsync(ExportJobRecord job, Stream output, CancellationToken ct)
        {
            var rows = int.Parse(job.SpecJson, System.Globalization.CultureInfo.InvariantCulture);
            var bytes = File(rows);
            await output.WriteAsync(bytes, ct);
            return new ExportFileSummary(rows, bytes.Length, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
    }
}

public sealed class ExtractKindTests_Embedded : ExtractKindTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class ExtractKindTests_Postgres : ExtractKindTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
