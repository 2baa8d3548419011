using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Spillway.Server.Storage;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>Requests real clients send that the server must accept (the token ones are in IdentityTests).</summary>
public abstract class CompatRequestTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<(SpillwayTestServer Server, HttpClient Client)> StartWithDataAsync(Func<IDictionary<string, string?>?, Task<SpillwayTestServer>> start)
    {
        var server = await start(null);
        await server.AppendAsync(
            new ActivityRecord(100, 8, Day.AddHours(1), 6, 3, 4, "Mail", """{"Step ID":1}""", null),
            new ActivityRecord(101, 9, Day.AddHours(2), 1, null, 5, "page", "{}", null));
        return (server, await server.AuthorizedClientAsync());
    }

    private static async Task<HttpResponseMessage> SendRawAsync(HttpClient client, HttpMethod method, string pathAndQuery, HttpContent? content = null)
    {
        using var request = Wire.RawRequest(method, client.BaseAddress!, pathAndQuery);
        Assert.Equal(pathAndQuery, request.RequestUri!.PathAndQuery); // sent as written, dot segments included
        request.Content = content;
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task Every_bulk_route_works_through_a_rest_dot_dot_prefix()
    {
        var (server, client) = await StartWithDataAsync(StartAsync);
        await using var serverScope = server;
        using var clientScope = client;
        const string Base = "/rest/../bulk/v1/activities/export";

        var created = await SendRawAsync(client, HttpMethod.Post, Base + "/create.json", Marketo.Json(Marketo.Window(Day, Day.AddDays(1))));
        var id = Marketo.Job(await Marketo.SuccessAsync(created)).GetProperty("exportId").GetString()!;

        var enqueued = await SendRawAsync(client, HttpMethod.Post, $"{Base}/{id}/enqueue.json");
        Assert.Equal("Queued", Marketo.Job(await Marketo.SuccessAsync(enqueued)).GetProperty("status").GetString());

        await Marketo.WaitAsync(client, id);
        var status = await SendRawAsync(client, HttpMethod.Get, $"{Base}/{id}/status.json");
        var job = Marketo.Job(await Marketo.SuccessAsync(status));
        Assert.Equal("Completed", job.GetProperty("status").GetString());

        var file = await SendRawAsync(client, HttpMethod.Get, $"{Base}/{id}/file.json");
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Equal(job.GetProperty("fileSize").GetInt64(), (await file.Content.ReadAsByteArrayAsync()).Length);

        var list = await SendRawAsync(client, HttpMethod.Get, "/rest/../bulk/v1/activities/export.json");
        Assert.Equal(id, Marketo.Job(await Marketo.SuccessAsync(list)).GetProperty("exportId").GetString());

        var other = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var cancelled = await SendRawAsync(client, HttpMethod.Post, $"{Base}/{other}/cancel.json");
        Assert.Equal("Cancelled", Marketo.Job(await Marketo.SuccessAsync(cancelled)).GetProperty("status").GetString());

        var types = await SendRawAsync(client, HttpMethod.Get, "/rest/v1/../v1/activities/types.json");
        await Marketo.SuccessAsync(types);
    }

    [Fact]
    public async Task Dot_segments_cannot_escape_to_an_unknown_or_admin_path()
    {
        var (server, client) = await StartWithDataAsync(StartAsync);
        await using var serverScope = server;
        using var clientScope = client;

        await Marketo.ErrorAsync(await SendRawAsync(client, HttpMethod.Get, "/rest/../bulk/v1/nothing.json"), "610");
        var admin = await SendRawAsync(client, HttpMethod.Get, "/rest/../_spillway/admin/subscriptions");
        Assert.Equal(HttpStatusCode.Unauthorized, admin.StatusCode);
    }

    [Fact]
    public async Task Method_override_GET_as_POST_with_a_form_body_or_a_query_parameter()
    {
        var (server, client) = await StartWithDataAsync(StartAsync);
        await using var serverScope = server;
        using var clientScope = client;
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        var byForm = await client.PostAsync($"/bulk/v1/activities/export/{id}/status.json", Wire.Form(("_method", "GET")));
        Assert.Equal(id, Marketo.Job(await Marketo.SuccessAsync(byForm)).GetProperty("exportId").GetString());

        var byQuery = await client.PostAsync($"/bulk/v1/activities/export/{id}/status.json?_method=GET", null);
        Assert.Equal(id, Marketo.Job(await Marketo.SuccessAsync(byQuery)).GetProperty("exportId").GetString());

        var byQueryLower = await client.PostAsync($"/bulk/v1/activities/export/{id}/status.json?_method=get", null);
        Assert.Equal(id, Marketo.Job(await Marketo.SuccessAsync(byQueryLower)).GetProperty("exportId").GetString());

        var types = await client.PostAsync("/rest/v1/activities/types.json", Wire.Form(("_method", "GET")));
        Assert.NotEmpty((await Marketo.SuccessAsync(types)).GetProperty("result").EnumerateArray());
        await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/stats/usage.json?_method=GET", null));

        // The form's other fields become the query parameters of the GET.
        var listAll = await client.PostAsync("/bulk/v1/activities/export.json", Wire.Form(("_method", "GET")));
        Assert.Equal(2, (await Marketo.SuccessAsync(listAll)).GetProperty("result").GetArrayLength());
        var listPage = await client.PostAsync("/bulk/v1/activities/export.json", Wire.Form(("_method", "GET"), ("batchSize", "1")));
        var page = await Marketo.SuccessAsync(listPage);
        Assert.Equal(1, page.GetProperty("result").GetArrayLength());
        Assert.True(page.TryGetProperty("nextPageToken", out _));
        var listByQuery = await client.PostAsync("/bulk/v1/activities/export.json?_method=GET&batchSize=1", null);
        Assert.Equal(1, (await Marketo.SuccessAsync(listByQuery)).GetProperty("result").GetArrayLength());
    }

    [Fact]
    public async Task Method_override_GET_reaches_the_file_and_a_GET_with_a_form_body_works()
    {
        var (server, client) = await StartWithDataAsync(StartAsync);
        await using var serverScope = server;
        using var clientScope = client;
        var (expected, job) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var id = job.GetProperty("exportId").GetString()!;

        var file = await client.PostAsync($"/bulk/v1/activities/export/{id}/file.json", Wire.Form(("_method", "GET")));
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Equal(expected, await file.Content.ReadAsByteArrayAsync());

        using var getWithForm = new HttpRequestMessage(HttpMethod.Get, $"/bulk/v1/activities/export/{id}/status.json")
        {
            Content = Wire.Form(("_method", "GET")),
        };
        Assert.Equal("Completed", Marketo.Job(await Marketo.SuccessAsync(await client.SendAsync(getWithForm))).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Enqueue_and_cancel_as_POST_with_a_form_body_method_POST()
    {
        var (server, client) = await StartWithDataAsync(StartAsync);
        await using var serverScope = server;
        using var clientScope = client;
        var toEnqueue = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var toCancel = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        var enqueued = await client.PostAsync($"/bulk/v1/activities/export/{toEnqueue}/enqueue.json", Wire.Form(("_method", "POST")));
        Assert.Equal("Queued", Marketo.Job(await Marketo.SuccessAsync(enqueued)).GetProperty("status").GetString());

        var cancelled = await client.PostAsync($"/bulk/v1/activities/export/{toCancel}/cancel.json", Wire.Form(("_method", "POST")));
        Assert.Equal("Cancelled", Marketo.Job(await Marketo.SuccessAsync(cancelled)).GetProperty("status").GetString());

        var created = await client.PostAsync("/bulk/v1/activities/export/create.json?_method=POST", Marketo.Json(Marketo.Window(Day, Day.AddDays(1))));
        Assert.Equal("Created", Marketo.Job(await Marketo.SuccessAsync(created)).GetProperty("status").GetString());
    }

    public static TheoryData<string> Bodies => ["json-empty", "form", "form-empty", "none", "json-object"];

    private static HttpContent? Body(string kind) => kind switch
    {
        "json-empty" => new StringContent("", Encoding.UTF8, "application/json"),
        "json-object" => Marketo.Json("{}"),
        "form" => Wire.Form(("reason", "compat")),
        "form-empty" => Wire.Form(),
        _ => null,
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Enqueue_and_cancel_accept_any_of_the_bodies_clients_send(string body)
    {
        var (server, client) = await StartWithDataAsync(StartAsync);
        await using var serverScope = server;
        using var clientScope = client;
        var toEnqueue = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var toCancel = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        using var enqueue = new HttpRequestMessage(HttpMethod.Post, $"/bulk/v1/activities/export/{toEnqueue}/enqueue.json") { Content = Body(body) };
        var enqueued = await client.SendAsync(enqueue);
        Assert.Equal("Queued", Marketo.Job(await Marketo.SuccessAsync(enqueued)).GetProperty("status").GetString());

        using var cancel = new HttpRequestMessage(HttpMethod.Post, $"/bulk/v1/activities/export/{toCancel}/cancel.json") { Content = Body(body) };
        var cancelled = await client.SendAsync(cancel);
        Assert.Equal("Cancelled", Marketo.Job(await Marketo.SuccessAsync(cancelled)).GetProperty("status").GetString());

        Assert.Equal("Completed", (await Marketo.WaitAsync(client, toEnqueue)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Enqueue_without_any_content_headers_at_all_works()
    {
        var (server, client) = await StartWithDataAsync(StartAsync);
        await using var serverScope = server;
        using var clientScope = client;
        var id = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var token = client.DefaultRequestHeaders.Authorization!.Parameter;

        // A hand-written request: no Content-Type and no Content-Length (HttpClient would add Content-Length: 0).
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        await using var stream = tcp.GetStream();
        var request = $"POST /bulk/v1/activities/export/{id}/enqueue.json HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\n" +
            $"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();

        Assert.StartsWith("HTTP/1.1 200 ", response, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"Queued\"", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accept_Encoding_gzip_still_gets_an_uncompressed_file_and_readable_json()
    {
        var (server, client) = await StartWithDataAsync(StartAsync);
        await using var serverScope = server;
        using var clientScope = client;
        var (expected, job) = await Marketo.ExportAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var id = job.GetProperty("exportId").GetString()!;
        using var gzipClient = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = server.BaseAddress };
        gzipClient.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;
        gzipClient.DefaultRequestHeaders.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        gzipClient.DefaultRequestHeaders.AcceptEncoding.Add(new StringWithQualityHeaderValue("deflate"));

        var file = await gzipClient.GetAsync($"/bulk/v1/activities/export/{id}/file.json");
        Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        Assert.Empty(file.Content.Headers.ContentEncoding);
        Assert.Equal("text/csv;charset=UTF-8", Wire.RawContentType(file));
        Assert.Equal(expected, await file.Content.ReadAsByteArrayAsync());

        using var ranged = new HttpRequestMessage(HttpMethod.Get, $"/bulk/v1/activities/export/{id}/file.json");
        ranged.Headers.Range = new RangeHeaderValue(0, 9);
        var part = await gzipClient.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Empty(part.Content.Headers.ContentEncoding);
        Assert.Equal(expected[..10], await part.Content.ReadAsByteArrayAsync());

        // JSON answers stay readable by a client that asked for gzip without decompressing itself.
        Assert.Equal(id, (await Marketo.StatusAsync(gzipClient, id)).GetProperty("exportId").GetString());
        await Marketo.SuccessAsync(await gzipClient.GetAsync("/rest/v1/activities/types.json"));
        var token = await gzipClient.GetAsync($"/identity/oauth/token?grant_type=client_credentials&client_id={server.ClientId}&client_secret={server.ClientSecret}");
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        Assert.Contains("access_token", await token.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

public sealed class CompatRequestTests_Embedded : CompatRequestTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class CompatRequestTests_Postgres : CompatRequestTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
