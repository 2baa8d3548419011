using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Controls;

/// <summary>
/// Hostile bytes that a naive parser lets through: secrets with trailing NULs, export ids in other spellings, If-Range
/// validators that match nothing, and JSON strings that are not valid Unicode.
/// </summary>
public abstract class HostileBytesTests : StoreTestBase
{
    private static readonly DateTimeOffset Day = new(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_secret_with_trailing_NULs_or_control_characters_is_not_the_secret()
    {
        await using var server = await StartWithRoomAsync();
        Assert.Equal(HttpStatusCode.OK, (await server.TokenByQueryAsync(server.ClientId, server.ClientSecret)).StatusCode);

        foreach (var suffix in new[] { "\0", "\0\0", "\0\0\0\0\0\0\0\0", "\t", "\u0001" })
        {
            var byQuery = await server.TokenByQueryAsync(server.ClientId, server.ClientSecret + suffix);
            Assert.Equal(HttpStatusCode.Unauthorized, byQuery.StatusCode);
            var byForm = await server.Http.PostAsync("/identity/oauth/token", Wire.Form(("grant_type", "client_credentials"),
                ("client_id", server.ClientId), ("client_secret", server.ClientSecret + suffix)));
            Assert.True(byForm.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.BadRequest, $"{byForm.StatusCode}");
            Assert.DoesNotContain("access_token", await byForm.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The raw query the attack used: %00 after the secret.
        var raw = await server.Http.GetAsync($"/identity/oauth/token?grant_type=client_credentials&client_id={server.ClientId}&client_secret={server.ClientSecret}%00%00");
        Assert.Equal(HttpStatusCode.Unauthorized, raw.StatusCode);

        // A chosen secret may not carry a control character either (it would be a second name of a shorter secret).
        var refused = await server.Admin.PostAsJsonAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/users",
            new { email = "nul@example.com", permissions = new[] { "Read-Only Activity" }, clientSecret = "0123456789abcdef\0" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    [Fact]
    public async Task An_export_id_that_is_not_the_lower_case_uuid_is_an_unknown_job_everywhere()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync([.. Enumerable.Range(1, 20).Select(i => Marketo.Activity(i, Day.AddMinutes(i)))]);
        using var client = await server.AuthorizedClientAsync();
        var (id, _) = await Marketo.CompleteAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var pending = await Marketo.CreateAsync(client, Marketo.Window(Day, Day.AddDays(1)));

        foreach (var (job, other) in new[] { (id, id.ToUpperInvariant()), (id, id + "%20"), (id, "%20" + id), (id, "{" + id + "}"),
            (pending, pending.ToUpperInvariant()), (pending, pending + "%20"), (id, OneLetterUp(id)) })
        {
            Assert.NotEqual(job, other);
            await Marketo.ErrorAsync(await client.GetAsync($"/bulk/v1/activities/export/{other}/status.json"), "610");
            Assert.Equal(HttpStatusCode.NotFound, (await Marketo.GetFileAsync(client, other)).StatusCode);
            await Marketo.ErrorAsync(await Marketo.PostEnqueueAsync(client, other), "610");
            await Marketo.ErrorAsync(await Marketo.PostCancelAsync(client, other), "610");
            Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.PostAsync($"/_spillway/admin/jobs/{other}/start", null)).StatusCode);
        }

        // The canonical id still is the job, and the refused spellings changed nothing.
        Assert.Equal("Completed", (await Marketo.StatusAsync(client, id)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Marketo.GetFileAsync(client, id)).StatusCode);
        Assert.Equal("Created", (await Marketo.StatusAsync(client, pending)).GetProperty("status").GetString());
    }

    private static string OneLetterUp(string id)
    {
        var at = id.LastIndexOfAny(['a', 'b', 'c', 'd', 'e', 'f']);
        return id[..at] + char.ToUpperInvariant(id[at]) + id[(at + 1)..];
    }

    [Fact]
    public async Task If_range_that_matches_neither_the_etag_nor_the_date_gets_the_whole_file()
    {
        await using var server = await StartWithRoomAsync();
        await server.AppendAsync([.. Enumerable.Range(1, 200).Select(i => Marketo.Activity(i, Day.AddMinutes(i)))]);
        using var client = await server.AuthorizedClientAsync();
        var (id, _) = await Marketo.CompleteAsync(client, Marketo.Window(Day, Day.AddDays(1)));
        var whole = await client.GetAsync($"/bulk/v1/activities/export/{id}/file.json");
        var bytes = await whole.Content.ReadAsByteArrayAsync();
        var etag = whole.Headers.ETag!.ToString();
        var lastModified = whole.Content.Headers.LastModified!.Value;

        async Task<HttpResponseMessage> GetAsync(string ifRange)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/bulk/v1/activities/export/{id}/file.json");
            Assert.True(request.Headers.TryAddWithoutValidation("Range", "bytes=10-19"));
            Assert.True(request.Headers.TryAddWithoutValidation("If-Range", ifRange));
            return await client.SendAsync(request);
        }

        // A matching validator resumes.
        foreach (var matching in new[] { etag, lastModified.ToString("R") })
        {
            var partial = await GetAsync(matching);
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.Equal(bytes[10..20], await partial.Content.ReadAsByteArrayAsync());
        }

        // Anything else is another file (or nothing): the whole file, 200.
        foreach (var other in new[]
        {
            "\"0000000000000000000000000000000000000000000000000000000000000000\"", "W/" + etag, "garbage", "\"", "0",
            lastModified.AddSeconds(1).ToString("R"), lastModified.AddDays(365).ToString("R"), lastModified.AddSeconds(-1).ToString("R"),
        })
        {
            var response = await GetAsync(other);
            Assert.True(HttpStatusCode.OK == response.StatusCode, $"If-Range {other}: {response.StatusCode}");
            Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
        }
    }

    /// <summary>The two ways a JSON string fails to be text: raw bytes that are not UTF-8, and an escaped lone surrogate.</summary>
    private static readonly (string Name, byte[] Bytes)[] NotText =
    [
        ("invalid UTF-8", [0xC3, 0x28, 0xFF, 0xFE]),
        ("lone surrogate", "\\ud800"u8.ToArray()),
        ("reversed surrogates", "x\\udc00\\ud800"u8.ToArray()),
    ];

    /// <summary><paramref name="template"/> as UTF-8 with <c>{S}</c> replaced by the raw bytes.</summary>
    private static ByteArrayContent Body(string template, byte[] bad)
    {
        var at = template.IndexOf("{S}", StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(template[..at]).Concat(bad).Concat(Encoding.UTF8.GetBytes(template[(at + 3)..])).ToArray();
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return content;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, string what)
    {
        Assert.True(HttpStatusCode.BadRequest == response.StatusCode, $"{what}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(400, json.RootElement.GetProperty("status").GetInt32());
    }

    private static async Task<string> CodeAsync(HttpResponseMessage response, string what)
    {
        Assert.True(HttpStatusCode.OK == response.StatusCode, $"{what}: {response.StatusCode}");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(json.RootElement.GetProperty("success").GetBoolean(), $"{what}: {json.RootElement}");
        return json.RootElement.GetProperty("errors")[0].GetProperty("code").GetString()!;
    }

    [Fact]
    public async Task Json_strings_that_are_not_text_are_bad_input_everywhere_never_611()
    {
        await using var server = await StartWithRoomAsync();
        var log = LogCapture.AttachTo(server);
        using var client = await Spillway.Server.Tests.Http.CustomActivityTypeTests.MetadataClientAsync(server);
        var typeId = await Spillway.Server.Tests.Http.CustomActivityTypeTests.ApprovedConferenceTypeAsync(client);
        const string Filter = "\"filter\":{\"createdAt\":{\"startAt\":\"2026-04-01T00:00:00Z\",\"endAt\":\"2026-04-02T00:00:00Z\"}}";
        string[] create =
        [
            "{\"format\":\"{S}\"," + Filter + "}",
            "{\"filter\":{\"createdAt\":{\"startAt\":\"{S}\",\"endAt\":\"2026-04-02T00:00:00Z\"}}}",
            "{\"fields\":[\"{S}\"]," + Filter + "}",
            "{\"{S}\":1," + Filter + "}",
            "{\"columnHeaderNames\":{\"marketoGUID\":\"{S}\"}," + Filter + "}",
            "{\"columnHeaderNames\":{\"{S}\":\"x\"}," + Filter + "}",
        ];
        string[] types =
        [
            "/rest/v1/activities/external/type.json|{\"apiName\":\"{S}\",\"name\":\"n\",\"triggerName\":\"t\",\"filterName\":\"f\",\"primaryAttribute\":{\"apiName\":\"p\",\"name\":\"P\"}}",
            "/rest/v1/activities/external/type.json|{\"apiName\":\"other\",\"name\":\"{S}\",\"triggerName\":\"t\",\"filterName\":\"f\",\"primaryAttribute\":{\"apiName\":\"p\",\"name\":\"P\"}}",
            "/rest/v1/activities/external/type/attendConference.json|{\"description\":\"{S}\"}",
            "/rest/v1/activities/external/type/attendConference/attributes/create.json|{\"attributes\":[{\"apiName\":\"a{S}\",\"name\":\"A\",\"dataType\":\"string\"}]}",
            "/rest/v1/activities/external/type/attendConference/attributes/update.json|{\"attributes\":[{\"apiName\":\"notes\",\"name\":\"{S}\"}]}",
            "/rest/v1/activities/external/type/attendConference/attributes/delete.json|{\"attributes\":[{\"apiName\":\"{S}\"}]}",
        ];
        string[] admin =
        [
            "POST|/_spillway/admin/subscriptions|{\"munchkinId\":\"{S}\"}",
            $"POST|/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/users|{{\"email\":\"{{S}}@example.com\"}}",
            $"PUT|/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/progression|{{\"mode\":\"{{S}}\"}}",
            $"POST|/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/faults|{{\"kind\":\"error\",\"endpoint\":\"{{S}}\"}}",
            $"POST|/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/clock|{{\"now\":\"{{S}}\"}}",
            "POST|/_spillway/admin/clock|{\"now\":\"{S}\"}",
        ];

        foreach (var (name, bad) in NotText)
        {
            foreach (var template in create)
            {
                var code = await CodeAsync(await client.PostAsync(Marketo.CreatePath, Body(template, bad)), $"create {name} {template}");
                Assert.True(code == (name == "invalid UTF-8" ? "609" : "1003") || code == "609" && template.Contains("{S}\":", StringComparison.Ordinal),
                    $"create {name} {template}: {code}");
            }

            foreach (var entry in types)
            {
                var (path, template) = (entry.Split('|')[0], entry.Split('|')[1]);
                var code = await CodeAsync(await client.PostAsync(path, Body(template, bad)), $"{path} {name}");
                Assert.True(code is "609" or "1003", $"{path} {name}: {code}");
            }

            foreach (var entry in admin)
            {
                var parts = entry.Split('|');
                using var request = new HttpRequestMessage(new HttpMethod(parts[0]), parts[1]) { Content = Body(parts[2], bad) };
                await AssertProblemAsync(await server.Admin.SendAsync(request), $"{parts[1]} {name}");
            }

            // external.json: the record with the string is skipped with its own reason, the others are added.
            var input = "{\"input\":[" +
                $"{{\"leadId\":1,\"activityDate\":\"2026-03-01T00:00:00Z\",\"activityTypeId\":{typeId},\"primaryAttributeValue\":\"first\",\"attributes\":[]}}," +
                $"{{\"leadId\":2,\"activityDate\":\"2026-03-01T00:00:00Z\",\"activityTypeId\":{typeId},\"primaryAttributeValue\":\"x\",\"attributes\":[{{\"apiName\":\"notes\",\"value\":\"{{S}}\"}}]}}," +
                $"{{\"leadId\":3,\"activityDate\":\"2026-03-01T00:00:00Z\",\"activityTypeId\":{typeId},\"primaryAttributeValue\":\"third\",\"attributes\":[]}}]}}";
            foreach (var placed in new[] { input, input.Replace("\"primaryAttributeValue\":\"x\"", "\"primaryAttributeValue\":\"{S}\"", StringComparison.Ordinal)
                .Replace("\"value\":\"{S}\"", "\"value\":\"ok\"", StringComparison.Ordinal) })
            {
                var envelope = await Marketo.SuccessAsync(await client.PostAsync("/rest/v1/activities/external.json", Body(placed, bad)));
                var results = envelope.GetProperty("result").EnumerateArray().ToList();
                Assert.Equal(["added", "skipped", "added"], results.Select(r => r.GetProperty("status").GetString()));
                Assert.Equal("1003", Assert.Single(results[1].GetProperty("errors").EnumerateArray()).GetProperty("code").GetString());
            }

            // A name beside "input" that is no text is the whole body's problem (found by the bench's fuzz: it was 611).
            var outside = "{\"{S}\":1,\"input\":[]}";
            var outsideCode = await CodeAsync(await client.PostAsync("/rest/v1/activities/external.json", Body(outside, bad)), $"external.json name {name}");
            Assert.Equal(name == "invalid UTF-8" ? "609" : "1003", outsideCode);
        }

        var errors = log.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(3).Select(e => $"{e.Message} {e.Exception}")));
    }

    [Fact]
    public async Task Overflowing_chunk_sizes_extreme_limits_and_extreme_clocks_are_bad_input_never_611()
    {
        await using var server = await StartWithRoomAsync();
        var log = LogCapture.AttachTo(server);
        using var client = await server.AuthorizedClientAsync();
        var window = Marketo.Window(Day, Day.AddDays(1));

        // A chunk size past 2^64: Kestrel's 400, or 609; never a 611.
        foreach (var size in new[] { "FFFFFFFFFFFFFFFFFFFF", "10000000000000000", "7FFFFFFFFFFFFFFF" })
        {
            var answer = await RawAsync(server.BaseAddress, "POST " + Marketo.CreatePath + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                client.DefaultRequestHeaders.Authorization!.Parameter + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                size + "\r\n{\"a\":1}\r\n0\r\n\r\n");
            Assert.True(answer.StartsWith("HTTP/1.1 400", StringComparison.Ordinal) || answer.Contains("\"609\"", StringComparison.Ordinal), $"chunk {size}: {answer}");
            Assert.DoesNotContain("611", answer, StringComparison.Ordinal);
        }

        // Limits at int.MaxValue: refused when set, or they work; create and list never 611.
        foreach (var limit in new[] { "maxWindowDays", "listWindowDays", "jobRetentionDays", "fileRetentionDays" })
        {
            var set = await server.Admin.PutAsync($"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/limits",
                new StringContent($"{{\"rateLimitCalls\":1000000,\"concurrentCalls\":1000,\"dailyCallQuota\":100000000,\"{limit}\":2147483647}}", Encoding.UTF8, "application/json"));
            if (set.StatusCode != HttpStatusCode.OK)
            {
                await AssertProblemAsync(set, limit);
            }

            var id = await Marketo.CreateAsync(client, window);
            await Marketo.SuccessAsync(await client.GetAsync("/bulk/v1/activities/export.json"));
            await Marketo.SuccessAsync(await client.GetAsync($"/bulk/v1/activities/export/{id}/status.json"));
        }

        await server.SetLimitsWithRoomAsync();
        foreach (var now in new[] { "0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-25T00:00:00Z" })
        {
            foreach (var path in new[] { $"/_spillway/admin/subscriptions/{SpillwayTestServer.MunchkinId}/clock", "/_spillway/admin/clock" })
            {
                var set = await server.Admin.PostAsync(path, new StringContent($"{{\"now\":\"{now}\"}}", Encoding.UTF8, "application/json"));
                if (set.StatusCode != HttpStatusCode.OK)
                {
                    await AssertProblemAsync(set, $"{path} {now}");
                }

                var created = await client.PostAsync(Marketo.CreatePath, Marketo.Json(window));
                var text = await created.Content.ReadAsStringAsync();
                Assert.True(created.StatusCode == HttpStatusCode.OK && !text.Contains("\"611\"", StringComparison.Ordinal), $"create at {now} ({path}): {text}");
                var listed = await client.GetAsync("/bulk/v1/activities/export.json");
                text = await listed.Content.ReadAsStringAsync();
                Assert.True(listed.StatusCode == HttpStatusCode.OK && !text.Contains("\"611\"", StringComparison.Ordinal), $"list at {now} ({path}): {text}");
                await server.Admin.PostAsync(path, new StringContent("{\"reset\":true}", Encoding.UTF8, "application/json"));
            }
        }

        var errors = log.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(3).Select(e => $"{e.Message} {e.Exception}")));
    }

    /// <summary>Sends raw bytes on a fresh connection and returns what the server answers (until it closes or 5 s pass).</summary>
    internal static async Task<string> RawAsync(Uri address, string request)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream,
            System.Net.Sockets.ProtocolType.Tcp);
        await socket.ConnectAsync(address.Host, address.Port);
        await using var stream = new System.Net.Sockets.NetworkStream(socket);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var answer = new StringBuilder();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                answer.Append(Encoding.UTF8.GetString(buffer, 0, n));
                var text = answer.ToString();
                var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                var length = System.Text.RegularExpressions.Regex.Match(text, "Content-Length: (\\d+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
                if (end >= 0 && length.Success && Encoding.UTF8.GetByteCount(text[(end + 4)..]) >= int.Parse(length.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
        }

        return answer.ToString();
    }
}

public sealed class HostileBytesTests_Embedded : HostileBytesTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class HostileBytesTests_Postgres : HostileBytesTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
