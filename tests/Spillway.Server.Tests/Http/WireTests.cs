using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>The envelope, member order, request ids, timestamps, content types and real HTTP statuses.</summary>
public abstract partial class WireTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] JobMembers =
        ["exportId", "format", "status", "createdAt", "queuedAt", "startedAt", "finishedAt", "numberOfRecords", "fileSize", "fileChecksum", "errorMsg"];

    [GeneratedRegex("^[0-9a-f]{1,5}#([0-9a-f]+)$")]
    private static partial Regex RequestIdPattern();

    [GeneratedRegex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")]
    private static partial Regex TimestampPattern();

    [Fact]
    public async Task Error_envelope_is_http_200_with_requestId_success_errors_only_and_a_string_code()
    {
        await using var server = await StartAsync();

        var response = await server.Http.GetAsync($"/bulk/v1/activities/export/{Guid.NewGuid()}/status.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Wire.JsonContentType, Wire.RawContentType(response));
        var (text, root) = await Wire.ReadJsonAsync(response);
        Assert.Equal(["requestId", "success", "errors"], Wire.MemberNames(root));
        Assert.StartsWith("{\"requestId\":\"", text, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.False, root.GetProperty("success").ValueKind);
        var error = Assert.Single(root.GetProperty("errors").EnumerateArray());
        Assert.Equal(["code", "message"], Wire.MemberNames(error));
        Assert.Equal(JsonValueKind.String, error.GetProperty("code").ValueKind);
        Assert.Equal("601", error.GetProperty("code").GetString());
        Assert.Equal("Access token invalid", error.GetProperty("message").GetString());
        Assert.Contains("\"code\":\"601\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Business_errors_use_the_same_envelope_shape()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();

        var response = await client.GetAsync($"/bulk/v1/activities/export/{Guid.NewGuid()}/status.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Wire.JsonContentType, Wire.RawContentType(response));
        var (_, root) = await Wire.ReadJsonAsync(response);
        Assert.Equal(["requestId", "success", "errors"], Wire.MemberNames(root));
        var error = Assert.Single(root.GetProperty("errors").EnumerateArray());
        Assert.Equal("610", error.GetProperty("code").GetString());
        Assert.Equal("Requested resource not found", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Success_members_come_in_real_order_and_a_created_job_has_no_null_or_future_members()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();

        var response = await client.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json(Marketo.Window(Day, Day.AddDays(1))));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Wire.JsonContentType, Wire.RawContentType(response));
        var (text, root) = await Wire.ReadJsonAsync(response);
        Assert.Equal(["requestId", "result", "success"], Wire.MemberNames(root));
        Assert.Matches("^\\{\"requestId\":\"[^\"]+\",\"result\":\\[\\{.*\\}\\],\"success\":true\\}$", text);
        var job = Assert.Single(root.GetProperty("result").EnumerateArray());
        Assert.Equal(["exportId", "format", "status", "createdAt"], Wire.MemberNames(job));
        Assert.DoesNotContain("null", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_completed_job_has_every_member_in_order_and_none_null()
    {
        await using var server = await StartAsync();
        await server.AppendAsync(new ActivityRecord(100, 8, Day.AddHours(1), 6, 3, 4, "Mail", "{}", null));
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        await Marketo.EnqueueAsync(client, id);
        await Marketo.WaitAsync(client, id);

        var response = await client.GetAsync($"/bulk/v1/activities/export/{id}/status.json");

        var (text, root) = await Wire.ReadJsonAsync(response);
        Assert.Equal(["requestId", "result", "success"], Wire.MemberNames(root));
        var job = Assert.Single(root.GetProperty("result").EnumerateArray());
        Assert.Equal("Completed", job.GetProperty("status").GetString());
        Assert.Equal(JobMembers[..^1], Wire.MemberNames(job));
        Assert.All(job.EnumerateObject(), p => Assert.NotEqual(JsonValueKind.Null, p.Value.ValueKind));
        Assert.DoesNotContain("null", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_job_list_keeps_member_order_and_omits_nextPageToken_on_the_last_page()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        await Marketo.EnqueueAsync(client, id);

        var response = await client.GetAsync("/bulk/v1/activities/export.json");

        Assert.Equal(Wire.JsonContentType, Wire.RawContentType(response));
        var (text, root) = await Wire.ReadJsonAsync(response);
        Assert.Equal(["requestId", "result", "success"], Wire.MemberNames(root));
        Assert.Equal(2, root.GetProperty("result").GetArrayLength());
        foreach (var job in root.GetProperty("result").EnumerateArray())
        {
            var names = Wire.MemberNames(job);
            Assert.Equal(JobMembers.Where(names.Contains), names);
        }

        Assert.DoesNotContain("null", text, StringComparison.Ordinal);

        var paged = await client.GetAsync("/bulk/v1/activities/export.json?batchSize=1");
        var (_, pagedRoot) = await Wire.ReadJsonAsync(paged);
        Assert.Equal(["requestId", "result", "success", "nextPageToken"], Wire.MemberNames(pagedRoot));
        var last = await client.GetAsync($"/bulk/v1/activities/export.json?batchSize=1&nextPageToken={Uri.EscapeDataString(pagedRoot.GetProperty("nextPageToken").GetString()!)}");
        var (_, lastRoot) = await Wire.ReadJsonAsync(last);
        Assert.Equal(["requestId", "result", "success"], Wire.MemberNames(lastRoot));
    }

    [Fact]
    public async Task RequestId_is_short_hex_hash_server_epoch_ms_in_hex_and_unique()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        var seen = new HashSet<string>();

        foreach (var path in new[] { "/rest/v1/activities/types.json", "/bulk/v1/activities/export.json", "/rest/v1/nope.json", $"/bulk/v1/activities/export/{Guid.NewGuid()}/status.json" })
        {
            var before = DateTimeOffset.UtcNow;
            var response = await client.GetAsync(path);
            var after = DateTimeOffset.UtcNow;
            var (_, root) = await Wire.ReadJsonAsync(response);
            var requestId = root.GetProperty("requestId").GetString()!;
            var match = RequestIdPattern().Match(requestId);
            Assert.True(match.Success, $"'{requestId}' from {path} is not <hex>#<hex ms>");
            var ms = long.Parse(match.Groups[1].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            var stamped = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            Assert.InRange(stamped, before.AddSeconds(-3), after.AddSeconds(3));
            Assert.True(seen.Add(requestId), $"request id {requestId} repeated");
        }
    }

    /// <summary>
    /// A timestamp (whole seconds, truncated) taken while handling a request whose id carries its start in ms: from the
    /// start's second (the handler may run into the next second, whose stamp is then later than the start) to 2 s after.
    /// </summary>
    private static void AssertStampedDuring(long requestStartMs, DateTimeOffset stamp)
    {
        var start = DateTimeOffset.FromUnixTimeMilliseconds(requestStartMs);
        Assert.InRange(stamp, DateTimeOffset.FromUnixTimeSeconds(start.ToUnixTimeSeconds()), start.AddSeconds(2));
    }

    [Fact]
    public async Task Timestamps_are_utc_second_precision_with_Z_and_match_the_request()
    {
        await using var server = await StartAsync();
        await server.AppendAsync(new ActivityRecord(100, 8, Day.AddHours(1), 6, 3, 4, "Mail", "{}", null));
        using var client = await server.AuthorizedClientAsync();

        var createResponse = await client.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json(Marketo.Window(Day, Day.AddDays(1))));
        var (_, created) = await Wire.ReadJsonAsync(createResponse);
        var requestMs = long.Parse(created.GetProperty("requestId").GetString()!.Split('#')[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var createdJob = Marketo.Job(created);
        var createdAt = createdJob.GetProperty("createdAt").GetString()!;
        Assert.Matches(TimestampPattern(), createdAt);
        var createdInstant = DateTimeOffset.ParseExact(createdAt, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        AssertStampedDuring(requestMs, createdInstant);

        // With the server clock moved, the request id and the timestamps move together.
        server.Clock.Advance(TimeSpan.FromMinutes(30));
        var shifted = await Wire.ReadJsonAsync(await client.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json(Marketo.Window(Day, Day.AddDays(1)))));
        var shiftedMs = long.Parse(shifted.Root.GetProperty("requestId").GetString()!.Split('#')[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var shiftedCreated = DateTimeOffset.ParseExact(Marketo.Job(shifted.Root).GetProperty("createdAt").GetString()!, "yyyy-MM-dd'T'HH:mm:ss'Z'",
            CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        AssertStampedDuring(shiftedMs, shiftedCreated);
        Assert.InRange(shiftedCreated - createdInstant, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(31));

        var id = createdJob.GetProperty("exportId").GetString()!;
        await Marketo.EnqueueAsync(client, id);
        var job = await Marketo.WaitAsync(client, id);
        foreach (var member in new[] { "createdAt", "queuedAt", "startedAt", "finishedAt" })
        {
            Assert.Matches(TimestampPattern(), job.GetProperty(member).GetString()!);
        }
    }

    [Fact]
    public async Task Every_json_answer_has_exactly_application_json_charset_UTF_8()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        var responses = new[]
        {
            await client.GetAsync("/rest/v1/activities/types.json"),
            await client.GetAsync("/rest/v1/stats/usage.json"),
            await client.GetAsync("/bulk/v1/activities/export.json"),
            await client.GetAsync($"/bulk/v1/activities/export/{id}/status.json"),
            await client.PostAsync($"/bulk/v1/activities/export/{id}/cancel.json", null),
            await client.PostAsync($"/bulk/v1/activities/export/{id}/enqueue.json", null),
            await client.GetAsync("/rest/v1/unknown.json"),
            await client.GetAsync("/bulk/v1/activities/export/create.json"),
            await server.Http.GetAsync("/rest/v1/activities/types.json"),
            await server.TokenByQueryAsync(server.ClientId, server.ClientSecret),
            await server.TokenByQueryAsync(server.ClientId, "wrong-secret-0123456789"),
        };

        foreach (var response in responses)
        {
            Assert.Equal(Wire.JsonContentType, Wire.RawContentType(response));
        }
    }

    [Fact]
    public async Task A_create_body_over_1_MB_is_413_and_one_of_exactly_1_MB_is_accepted()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        const int OneMegabyte = 1024 * 1024;

        static string Body(int length)
        {
            var head = Marketo.Window(Day, Day.AddDays(1))[..^1] + ",\"padding\":\"";
            return head + new string('x', length - head.Length - 2) + "\"}";
        }

        Assert.Equal(OneMegabyte, Encoding.UTF8.GetByteCount(Body(OneMegabyte)));
        var accepted = await client.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json(Body(OneMegabyte)));
        Assert.Equal("Created", Marketo.Job(await Marketo.SuccessAsync(accepted)).GetProperty("status").GetString());

        var rejected = await client.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json(Body(OneMegabyte + 1)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, rejected.StatusCode);

        var chunked = new HeldContent(Body(OneMegabyte + 1));
        chunked.Release();
        var rejectedChunked = await client.PostAsync("/bulk/v1/activities/export/create.json", chunked);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, rejectedChunked.StatusCode);
        Assert.Empty((await Marketo.SuccessAsync(await client.GetAsync("/bulk/v1/activities/export.json"))).GetProperty("result")
            .EnumerateArray().Skip(1));
    }

    [Fact]
    public async Task A_body_over_1_MB_is_413_on_every_endpoint_whatever_its_content_or_token()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var big = new string('x', 1024 * 1024 + 1);

        var calls = new Func<Task<HttpResponseMessage>>[]
        {
            () => server.Http.PostAsync("/bulk/v1/activities/export/create.json", Marketo.Json("{\"p\":\"" + big + "\"}")),
            () => client.PostAsync($"/bulk/v1/activities/export/{id}/enqueue.json", Marketo.Json("{\"p\":\"" + big + "\"}")),
            () => client.PostAsync($"/bulk/v1/activities/export/{id}/cancel.json", Wire.Form(("p", big))),
            () => client.PostAsync($"/bulk/v1/activities/export/{id}/status.json", Wire.Form(("_method", "GET"), ("p", big))),
            () => client.PostAsync("/bulk/v1/activities/export.json?_method=GET", new StringContent(big)),
            () => server.Http.PostAsync("/identity/oauth/token", Wire.Form(("grant_type", "client_credentials"),
                ("client_id", server.ClientId), ("client_secret", server.ClientSecret), ("p", big))),
        };

        var wrong = new List<string>();
        for (var i = 0; i < calls.Length; i++)
        {
            var response = await calls[i]();
            if (response.StatusCode != HttpStatusCode.RequestEntityTooLarge)
            {
                wrong.Add($"call {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }

        Assert.Empty(wrong);

        Assert.Equal("Created", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_uri_over_8_KB_is_414_while_7_KB_and_exactly_8_KB_are_served()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        const string Path = "/rest/v1/activities/types.json?padding=";

        string Uri(int length) => Path + new string('a', length - Path.Length);

        var sevenKb = await client.GetAsync(Uri(7 * 1024));
        await Marketo.SuccessAsync(sevenKb);

        var eightKb = await client.GetAsync(Uri(8 * 1024));
        await Marketo.SuccessAsync(eightKb);

        var over = await client.GetAsync(Uri(8 * 1024 + 1));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, over.StatusCode);

        var farOver = await client.GetAsync(Uri(9 * 1024));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, farOver.StatusCode);
    }

    [Theory]
    [InlineData("/rest/v1/opportunities.json")]
    [InlineData("/rest/v1/activities/nothing.json")]
    [InlineData("/rest/v2/activities/types.json")]
    [InlineData("/bulk/v1/opportunities/export.json")]
    [InlineData("/bulk/v1/activities/export/create")]
    [InlineData("/bulk/v1/activities/export/abc/def/status.json")]
    [InlineData("/bulk/v2/activities/export.json")]
    public async Task Unknown_rest_and_bulk_paths_are_610_in_the_envelope_with_http_200(string path)
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();

        var withToken = await client.GetAsync(path);
        Assert.Equal(Wire.JsonContentType, Wire.RawContentType(withToken));
        Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(withToken, "610"));

        var withoutToken = await server.Http.GetAsync(path);
        Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(withoutToken, "610"));

        var posted = await client.PostAsync(path, Marketo.Json("{}"));
        Assert.Equal("Requested resource not found", await Marketo.ErrorAsync(posted, "610"));
    }

    [Theory]
    [InlineData("GET", "/bulk/v1/activities/export/create.json")]
    [InlineData("PUT", "/bulk/v1/activities/export/create.json")]
    [InlineData("GET", "/bulk/v1/activities/export/{id}/enqueue.json")]
    [InlineData("DELETE", "/bulk/v1/activities/export/{id}/enqueue.json")]
    [InlineData("POST", "/bulk/v1/activities/export/{id}/status.json")]
    [InlineData("DELETE", "/bulk/v1/activities/export/{id}/status.json")]
    [InlineData("POST", "/bulk/v1/activities/export/{id}/file.json")]
    [InlineData("GET", "/bulk/v1/activities/export/{id}/cancel.json")]
    [InlineData("PATCH", "/bulk/v1/activities/export/{id}/cancel.json")]
    [InlineData("POST", "/bulk/v1/activities/export.json")]
    [InlineData("POST", "/rest/v1/activities/types.json")]
    [InlineData("DELETE", "/rest/v1/stats/usage.json")]
    public async Task A_wrong_method_on_a_known_path_is_605(string method, string path)
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{id}", id, StringComparison.Ordinal));
        var response = await client.SendAsync(request);

        Assert.Equal(Wire.JsonContentType, Wire.RawContentType(response));
        Assert.Equal("HTTP Method not supported", await Marketo.ErrorAsync(response, "605"));
        Assert.Equal("Created", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_unexpected_store_failure_is_611_System_error_in_the_envelope_not_a_500()
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        // Break the store under the running server: the job table disappears.
        await server.ExecuteMetadataSqlAsync("ALTER TABLE export_job RENAME TO export_job_broken");

        var logs = LogCapture.AttachTo(server);
        var status = await client.GetAsync($"/bulk/v1/activities/export/{id}/status.json");
        Assert.Equal(Wire.JsonContentType, Wire.RawContentType(status));
        var (_, root) = await Wire.ReadJsonAsync(status);
        var requestId = root.GetProperty("requestId").GetString()!;
        Assert.Matches(RequestIdPattern(), requestId);
        Assert.Equal("System error", await Marketo.ErrorAsync(status, "611"));

        // The incident is logged, with the request id the client saw, and the exception.
        var incident = Assert.Single(logs.Entries, e => e.ScopeValues.TryGetValue("MarketoRequestId", out var r) && Equals(r, requestId)
            && e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
        Assert.NotNull(incident.Exception);

        var list = await client.GetAsync("/bulk/v1/activities/export.json");
        Assert.Equal("System error", await Marketo.ErrorAsync(list, "611"));
        var file = await client.GetAsync($"/bulk/v1/activities/export/{id}/file.json");
        Assert.Equal("System error", await Marketo.ErrorAsync(file, "611"));

        await server.ExecuteMetadataSqlAsync("ALTER TABLE export_job_broken RENAME TO export_job");

        Assert.Equal("Created", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("/bulk/v1/activities/export/not-a-guid/status.json")]
    [InlineData("/bulk/v1/activities/export/%ff%fe/status.json")]
    [InlineData("/bulk/v1/activities/export.json?batchSize=-1&nextPageToken=%%%")]
    [InlineData("/bulk/v1/activities/export.json?nextPageToken=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("/rest/v1/activities/types.json?_method=DELETE")]
    public async Task Bad_input_never_gets_a_500(string path)
    {
        await using var server = await StartAsync();
        using var client = await server.AuthorizedClientAsync();

        var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (_, root) = await Wire.ReadJsonAsync(response);
        Assert.True(root.TryGetProperty("success", out _));
        if (!root.GetProperty("success").GetBoolean())
        {
            Assert.NotEqual("611", root.GetProperty("errors")[0].GetProperty("code").GetString());
        }
    }
}

public sealed class WireTests_Embedded : WireTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class WireTests_Postgres : WireTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
