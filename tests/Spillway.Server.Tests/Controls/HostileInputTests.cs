using System.Net;
using System.Text;
using System.Text.Json;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Controls;

/// <summary>
/// Hostile input: seeded random requests (bodies, query strings, headers, ranges, export ids with path
/// traversal, huge and deeply nested JSON) never get a 500 or an unhandled exception (the server's log is captured),
/// always a documented answer, and never touch a file outside the data folder. The seed is fixed: a failure replays.
/// </summary>
public abstract class HostileInputTests : StoreTestBase
{
    private const int Requests = 600;

    private static readonly string[] Ids =
    [
        "..%2f..%2fetc%2fpasswd", "..%2F..%2F..%2Foutside%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%5c..%5cwindows",
        "%252e%252e%252fpasswd", "....%2f%2f", "%00", "con", "aux.json", "%ff%fe", "🙂", "' OR 1=1 --", "${jndi:ldap://x}",
        "00000000-0000-0000-0000-000000000000", "not-a-guid", new string('a', 3000), "%2f", "%5c", "..", ".",
    ];

    private static readonly string[] Paths =
    [
        "/bulk/v1/activities/export/{id}/status.json", "/bulk/v1/activities/export/{id}/file.json",
        "/bulk/v1/activities/export/{id}/enqueue.json", "/bulk/v1/activities/export/{id}/cancel.json",
        "/bulk/v1/activities/export/create.json", "/bulk/v1/activities/export.json", "/identity/oauth/token",
        "/rest/v1/activities/types.json", "/rest/v1/stats/usage.json", "/rest/v1/leads/describe.json", "/rest/../bulk/v1/activities/export.json",
        "/bulk/v1/activities/export/{id}/../../../../etc/passwd", "/bulk/v1/{id}", "/rest/{id}", "/{id}", "/_spillway/admin/subscriptions/{id}/faults",
        "/_spillway/admin/jobs/{id}/complete", "/health",
    ];

    private static readonly string[] Ranges =
    [
        "bytes=0-0", "bytes=-0", "bytes=0-", "bytes=5-1", "bytes=0-1,2-3", "items=0-1", "bytes=99999999999999999999-", "bytes=--1",
        "bytes=-99999999999", "bytes", "=", "bytes=0-0, 0-0, 0-0, 0-0", "bytes=e", "bytes=1-2-3",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "multipart/form-data", "application/json; charset=\"", ";;;", "application/xml",
    ];

    private static readonly string[] DocumentedCodes = ["601", "602", "603", "604", "605", "606", "607", "609", "610", "612", "1003", "1029"];

    [Fact]
    public async Task Fuzzed_requests_never_get_a_500_an_unhandled_exception_or_a_file_outside_the_data_folder()
    {
        var root = Path.Combine(Path.GetTempPath(), "spillway-fuzz-" + Guid.NewGuid().ToString("N"));
        var sentinels = new[] { Path.Combine(root, "outside", "passwd"), Path.Combine(root, "etc", "passwd") };
        foreach (var sentinel in sentinels)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(sentinel)!);
            await File.WriteAllTextAsync(sentinel, "root:x:0:0");
        }

        var stamps = sentinels.Select(File.GetLastWriteTimeUtc).ToList();
        try
        {
            await using var server = await SpillwayTestServer.StartAsync(store: Store, dataPath: Path.Combine(root, "data"));
            await server.SetLimitsWithRoomAsync();
            var log = LogCapture.AttachTo(server);
            var day = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
            await server.AppendAsync([.. Enumerable.Range(1, 50).Select(i => Marketo.Activity(i, day.AddMinutes(i)))]);
            var token = await server.GetTokenAsync();
            using var client = await server.AuthorizedClientAsync();
            var (completedId, _) = await Marketo.CompleteAsync(client, Marketo.Window(day, day.AddDays(1)));
            using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };

            var random = new Random(20260707);
            var failures = new List<string>();
            for (var i = 0; i < Requests; i++)
            {
                using var request = Generate(random, token, completedId);
                var description = $"#{i} {request.Method} {request.RequestUri}";
                HttpResponseMessage response;
                try
                {
                    response = await http.SendAsync(request);
                }
                catch (HttpRequestException ex)
                {
                    // A refused body (413 with Connection: close while still sending) may surface as a closed connection.
                    if (request.Content?.Headers.ContentLength > 1024 * 1024)
                    {
                        continue;
                    }

                    failures.Add($"{description}: {ex.Message}");
                    continue;
                }

                using (response)
                {
                    var problem = await CheckAsync(request, response);
                    if (problem is not null)
                    {
                        failures.Add($"{description}: {problem}");
                    }
                }
            }

            failures.InsertRange(0, log.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Take(3).Select(e => $"log: {e.Message} {e.Exception}"));
            Assert.True(failures.Count == 0, $"{failures.Count} of {Requests}:\n" + string.Join("\n", failures.Take(25)));
            var errors = log.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error || e.Exception is not null && e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).ToList();
            Assert.True(errors.Count == 0, string.Join("\n", errors.Take(5).Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception}")));

            // The completed file is still whole and served.
            Assert.Equal(HttpStatusCode.OK, (await Marketo.GetFileAsync(client, completedId)).StatusCode);
        }
        finally
        {
            // Nothing outside the data folder was created, changed or removed.
            Assert.Equal(new[] { "etc", "outside" }, Directory.GetFileSystemEntries(root).Select(p => Path.GetFileName(p)!).Where(n => n != "data").Order(StringComparer.Ordinal).ToArray());
            for (var s = 0; s < sentinels.Length; s++)
            {
                Assert.Equal("root:x:0:0", await File.ReadAllTextAsync(sentinels[s]));
                Assert.Equal(stamps[s], File.GetLastWriteTimeUtc(sentinels[s]));
                Assert.Single(Directory.GetFileSystemEntries(Path.GetDirectoryName(sentinels[s])!));
            }

            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<string?> CheckAsync(HttpRequestMessage request, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status >= 500)
        {
            return $"HTTP {status}";
        }

        var path = request.RequestUri!.AbsolutePath;
        var body = await response.Content.ReadAsByteArrayAsync();
        var isJson = response.Content.Headers.ContentType?.MediaType == "application/json";
        if (!isJson || status != 200 || !(path.StartsWith("/rest", StringComparison.Ordinal) || path.StartsWith("/bulk", StringComparison.Ordinal)))
        {
            return status is 200 or 204 or 206 or 400 or 401 or 404 or 405 or 411 or 413 or 414 or 415 or 416 or 431 ? null : $"HTTP {status}";
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("requestId", out _) || !root.TryGetProperty("success", out var success))
            {
                return "an envelope without requestId or success";
            }

            if (!success.GetBoolean())
            {
                var code = root.GetProperty("errors")[0].GetProperty("code").GetString();
                return DocumentedCodes.Contains(code) ? null : $"code {code}: {root.GetProperty("errors")[0].GetProperty("message").GetString()}";
            }

            return null;
        }
        catch (JsonException ex)
        {
            return $"JSON that does not parse: {ex.Message}";
        }
    }

    private static HttpRequestMessage Generate(Random random, string token, string completedId)
    {
        var id = random.Next(4) switch
        {
            0 => completedId,
            1 => Guid.NewGuid().ToString(),
            _ => Ids[random.Next(Ids.Length)],
        };
        var path = Paths[random.Next(Paths.Length)].Replace("{id}", id, StringComparison.Ordinal);
        var query = new StringBuilder();
        for (var q = random.Next(4); q > 0; q--)
        {
            var key = random.Next(8) switch
            {
                0 => "access_token",
                1 => "status",
                2 => "batchSize",
                3 => "nextPageToken",
                4 => "_method",
                5 => "client_id",
                _ => Junk(random, 8),
            };
            var value = random.Next(6) switch
            {
                0 => token,
                1 => "-1",
                2 => "99999999999999999999",
                3 => Uri.EscapeDataString(Junk(random, random.Next(1, 200))),
                4 => random.Next(2) == 0 ? "GET" : "DELETE",
                _ => "queued,COMPLETED,canceled,,",
            };
            query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(key)).Append('=').Append(value);
        }

        var method = random.Next(10) switch
        {
            < 4 => HttpMethod.Get,
            < 8 => HttpMethod.Post,
            8 => HttpMethod.Put,
            _ => random.Next(2) == 0 ? HttpMethod.Delete : new HttpMethod("PROPFIND"),
        };
        var request = new HttpRequestMessage(method, path + query) { Version = HttpVersion.Version11 };
        switch (random.Next(5))
        {
            case 0:
                break;
            case 1:
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Ascii(Junk(random, random.Next(0, 300))));
                break;
            default:
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
                break;
        }

        if (random.Next(3) == 0)
        {
            request.Headers.TryAddWithoutValidation("Range", Ranges[random.Next(Ranges.Length)]);
        }

        if (random.Next(4) == 0)
        {
            request.Headers.TryAddWithoutValidation(random.Next(2) == 0 ? "X-Spillway-Admin-Key" : "If-None-Match", Ascii(Junk(random, 40)));
        }

        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, deflate, br");
        if (method != HttpMethod.Get || random.Next(4) == 0)
        {
            request.Content = Body(random);
        }

        return request;
    }

    private static ByteArrayContent Body(Random random)
    {
        byte[] bytes;
        switch (random.Next(9))
        {
            case 0:
                bytes = new byte[random.Next(0, 4096)];
                random.NextBytes(bytes);
                break;
            case 1:
                var depth = random.Next(65, 200_000);
                bytes = Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth));
                break;
            case 2:
                bytes = Encoding.UTF8.GetBytes("{\"filter\":{\"createdAt\":{\"startAt\":\"2026-02-01\",\"endAt\":\"2026-02-02\"}},\"x\":\"" + new string('x', random.Next(500_000, 1_040_000)) + "\"}");
                break;
            case 3:
                bytes = new byte[random.Next(1024 * 1024 + 1, 3 * 1024 * 1024)];
                break;
            case 4:
                bytes = Encoding.UTF8.GetBytes("_method=GET&access_token=" + Junk(random, 20) + "&" + Junk(random, 50));
                break;
            default:
                bytes = Encoding.UTF8.GetBytes(MutatedCreate(random));
                break;
        }

        var content = new ByteArrayContent(bytes);
        content.Headers.TryAddWithoutValidation("Content-Type", ContentTypes[random.Next(ContentTypes.Length)]);
        return content;
    }

    private static string MutatedCreate(Random random)
    {
        string Pick(params string[] options) => options[random.Next(options.Length)];
        var date = () => Pick("\"2026-02-01T00:00:00Z\"", "\"2026-02-01\"", "\"2026-02-31\"", "\"9999-12-31T23:59:59+14:00\"", "\"0001-01-01\"", "null", "12",
            "\"2026-02-01T00:00:00.123456789123Z\"", "\"\"", "[]", "{}", "\"" + Junk(random, 30) + "\"", "\"2026-02-01T00:00:00-99:99\"");
        var fields = Pick("", ",\"fields\":null", ",\"fields\":[]", ",\"fields\":[\"marketoGUID\",\"marketoGUID\"]", ",\"fields\":[\"" + Junk(random, 10) + "\"]",
            ",\"fields\":\"leadId\"", ",\"fields\":[1,2,3]");
        var types = Pick("", ",\"activityTypeIds\":[1,2]", ",\"activityTypeIds\":[37]", ",\"activityTypeIds\":[-1,99999999999999]", ",\"activityTypeIds\":\"1\"",
            ",\"primaryAttributeValueIds\":[" + string.Join(',', Enumerable.Range(0, random.Next(0, 80))) + "]");
        var format = Pick("", ",\"format\":\"tsv\"", ",\"format\":\"XLS\"", ",\"format\":null", ",\"format\":7");
        var headers = Pick("", ",\"columnHeaderNames\":{\"leadId\":\"L\"}", ",\"columnHeaderNames\":{\"x\":\"y\"}", ",\"columnHeaderNames\":[]");
        return $"{{\"filter\":{{\"createdAt\":{{\"startAt\":{date()},\"endAt\":{date()}}}{types}}}{fields}{format}{headers}}}";
    }

    /// <summary>What a header may carry on the wire: visible ASCII and spaces (HttpClient refuses the rest itself).</summary>
    private static string Ascii(string text) => new([.. text.Where(c => c is >= ' ' and <= '~')]);

    private static string Junk(Random random, int length)
    {
        const string Alphabet = "abcXYZ019-_.~%/\\'\"<>{}[]:;,=&?#@!$*() \u00e9\u4e2d\ud83d\ude00\u0000\r\n\t";
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append(Alphabet[random.Next(Alphabet.Length)]);
        }

        // No lone surrogates: the alphabet's emoji is a pair, and a cut pair is dropped.
        return new string([.. text.ToString().Where((c, i) => !char.IsSurrogate(c) || (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) || (char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(text[i - 1])))]);
    }
}

public sealed class HostileInputTests_Embedded : HostileInputTests
{
    protected override StoreKind Store => StoreKind.Embedded;
}

public sealed class HostileInputTests_Postgres : HostileInputTests
{
    protected override StoreKind Store => StoreKind.Postgres;
}
