using System.Net;
using System.Text;
using System.Text.Json;

namespace Spillway.Server.Tests.Fuzz;

/// <summary>
/// Seeded hostile HTTP requests across every endpoint family (bulk extracts, REST activities and leads, identity,
/// admin and controls, the console's pages and forms) and the check every answer must pass: never a 5xx, never 611,
/// always a documented answer.
/// Bodies: random bytes, deep nesting, oversize, form posts, mutated create bodies, invalid UTF-8, escaped lone
/// surrogates, lead syncs and custom activities with extreme values, admin bodies with extreme values. The same
/// seed gives the same requests. Shared by the test command's fuzz test (hundreds of requests) and the bench's
/// <c>fuzz</c> command (hundreds of thousands).
/// </summary>
public static class FuzzRequests
{
    /// <summary>The Marketo codes a fuzzed call may answer; 611 (System error) is never one of them.</summary>
    public static readonly string[] DocumentedCodes =
    [
        "601", "602", "603", "604", "605", "606", "607", "608", "609", "610", "612", "615",
        "1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1011", "1013", "1029", "1035",
    ];

    public static readonly string[] Ids =
    [
        "..%2f..%2fetc%2fpasswd", "..%2F..%2F..%2Foutside%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%5c..%5cwindows",
        "%252e%252e%252fpasswd", "....%2f%2f", "%00", "con", "aux.json", "%ff%fe", "🙂", "' OR 1=1 --", "${jndi:ldap://x}",
        "00000000-0000-0000-0000-000000000000", "not-a-guid", new string('a', 3000), "%2f", "%5c", "..", ".",
    ];

    public static readonly string[] Paths =
    [
        "/bulk/v1/activities/export/{id}/status.json", "/bulk/v1/activities/export/{id}/file.json",
        "/bulk/v1/activities/export/{id}/enqueue.json", "/bulk/v1/activities/export/{id}/cancel.json",
        "/bulk/v1/activities/export/create.json", "/bulk/v1/activities/export.json", "/identity/oauth/token",
        "/rest/v1/activities/types.json", "/rest/v1/stats/usage.json", "/rest/v1/leads/describe.json", "/rest/../bulk/v1/activities/export.json",
        "/bulk/v1/activities/export/{id}/../../../../etc/passwd", "/bulk/v1/{id}", "/rest/{id}", "/{id}", "/_spillway/admin/subscriptions/{id}/faults",
        "/_spillway/admin/jobs/{id}/complete", "/health",
        "/rest/v1/leads.json", "/rest/v1/lead/{id}.json", "/rest/v1/leads/describe2.json", "/rest/v1/leads/delete.json",
        "/rest/v1/activities.json", "/rest/v1/activities/pagingtoken.json", "/rest/v1/activities/leadchanges.json",
        "/rest/v1/activities/deletedleads.json", "/rest/v1/activities/external.json", "/rest/v1/activities/external/types.json",
        "/rest/v1/activities/external/type.json", "/bulk/v1/leads/export/create.json", "/bulk/v1/leads/export/{id}/status.json",
        "/bulk/v1/leads/export/{id}/file.json", "/bulk/v1/leads/export.json", "/rest/v1/lists.json", "/rest/v1/lists/{id}/leads.json",
        "/_spillway/admin/subscriptions", "/_spillway/admin/subscriptions/{id}/limits", "/_spillway/admin/subscriptions/{id}/clock",
        "/_spillway/admin/subscriptions/{id}/progression", "/_spillway/admin/clock",
    ];

    /// <summary>The console's pages and forms (GET, or POST when marked); sign-in and seeding are left out (a wrong key is delayed on purpose, a seed is long).</summary>
    public static readonly (string Method, string Path)[] ConsolePaths =
    [
        ("GET", ""), ("GET", "/subscriptions/{id}"), ("GET", "/subscriptions/{id}/jobs"), ("GET", "/subscriptions/{id}/jobs/{job}"),
        ("GET", "/subscriptions/{id}/jobs/{job}/file"), ("POST", "/subscriptions/{id}/jobs/{job}/cancel"), ("POST", "/subscriptions/{id}/jobs/{job}/fail"),
        ("GET", "/subscriptions/{id}/requests"), ("GET", "/subscriptions/{id}/requests/{job}"), ("GET", "/subscriptions/{id}/controls"),
        ("POST", "/subscriptions/{id}/controls/clock"), ("POST", "/subscriptions/{id}/controls/progression"), ("POST", "/subscriptions/{id}/controls/faults"),
        ("POST", "/subscriptions/{id}/controls/faults/{job}/remove"), ("POST", "/subscriptions/{id}/controls/reset"), ("GET", "/subscriptions/{id}/data"),
        ("POST", "/subscriptions/{id}/data/users"), ("POST", "/subscriptions/{id}/data/users/rotate"), ("POST", "/subscriptions/{id}/data/limits"),
        ("GET", "/subscriptions/{id}/activities"), ("GET", "/subscriptions/{id}/leads"), ("GET", "/subscriptions/{id}/lists"),
        ("GET", "/subscriptions/{id}/lists/{job}"), ("GET", "/subscriptions/{id}/programs"), ("GET", "/subscriptions/{id}/programs/{job}"),
        ("POST", "/subscriptions"), ("POST", "/sign-out"), ("GET", "/assets/console.css"), ("GET", "/sign-in"), ("GET", "/{job}"),
    ];

    /// <summary>Field names the console's forms and filters read, and a few they do not.</summary>
    private static readonly string[] ConsoleFields =
    [
        "now", "advanceSeconds", "reset", "mode", "startLatencySeconds", "statusRefreshSeconds", "kind", "endpoint", "apiUser", "probability",
        "count", "skip", "seed", "code", "variant", "message", "status", "latencyMs", "afterBytes", "errorMsg", "confirm", "email",
        "permissions", "clientId", "munchkinId", "rateLimitCalls", "maxWindowDays", "dailyExportQuotaMegabytes", "state", "day", "type",
        "after", "q", "field", "value", "page", "_method", "__proto__",
    ];

    /// <summary>
    /// Values no form accepts: every one is refused by the rules the API applies, so a fuzzed form never changes the
    /// server's behaviour for the requests that follow (no valid fault rule, limit or seed).
    /// </summary>
    private static readonly string[] ConsoleValues =
    [
        "", " ", "-99999999999", "99999999999999999999", "1e400", "NaN", "Infinity", "0x10", "meteor", "2026-13-45T99:99:99Z", "0001-01-01", "10000-01-01T00:00:00Z",
        "<script>alert(1)</script>", "\" onmouseover=\"x", "%00", "' OR 1=1 --", "🙂", "\ud800", "..\\..\\", "${jndi:ldap://x}",
    ];

    /// <summary>A signed-in console session: its cookie and its anti-forgery token.</summary>
    public sealed record ConsoleSession(string Cookie, string Csrf);

    /// <summary>Signs in to the console with the admin key (cookie and form token for the console requests).</summary>
    public static async Task<ConsoleSession> SignInAsync(HttpClient http, string adminKey)
    {
        using var signIn = await http.PostAsync("/_spillway/console/sign-in", new FormUrlEncodedContent([new KeyValuePair<string, string>("key", adminKey)]));
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        using var page = new HttpRequestMessage(HttpMethod.Get, "/_spillway/console");
        page.Headers.Add("Cookie", cookie);
        using var response = await http.SendAsync(page);
        var html = await response.Content.ReadAsStringAsync();
        var csrf = System.Text.RegularExpressions.Regex.Match(html, "name=\"_csrf\" value=\"([0-9a-f]+)\"").Groups[1].Value;
        return new ConsoleSession(cookie, csrf);
    }

    /// <summary>One seeded hostile console request: junk in the path, the query and the form, with or without the session and its token.</summary>
    public static HttpRequestMessage GenerateConsole(Random random, ConsoleSession session, string completedId, string munchkinId)
    {
        var (method, template) = ConsolePaths[random.Next(ConsolePaths.Length)];
        string Id() => random.Next(3) switch
        {
            0 => munchkinId,
            1 => Ids[random.Next(Ids.Length)],
            _ => Uri.EscapeDataString(Junk(random, random.Next(1, 40))),
        };
        var path = "/_spillway/console" + template.Replace("{id}", Id(), StringComparison.Ordinal)
            .Replace("{job}", random.Next(2) == 0 ? completedId : Id(), StringComparison.Ordinal);
        string Value() => random.Next(3) == 0 ? Junk(random, random.Next(0, 300)) : ConsoleValues[random.Next(ConsoleValues.Length)];
        var query = new StringBuilder();
        for (var q = random.Next(4); q > 0; q--)
        {
            query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(ConsoleFields[random.Next(ConsoleFields.Length)]))
                .Append('=').Append(Uri.EscapeDataString(Value()));
        }

        var request = new HttpRequestMessage(new HttpMethod(random.Next(20) == 0 ? "PUT" : method), path + query) { Version = HttpVersion.Version11 };
        if (random.Next(4) != 0)
        {
            request.Headers.TryAddWithoutValidation("Cookie", random.Next(10) == 0 ? "spillway-console=" + Ascii(Junk(random, 40)) : session.Cookie);
        }

        if (method == "POST")
        {
            var fields = new List<KeyValuePair<string, string>>();
            for (var f = random.Next(6); f > 0; f--)
            {
                fields.Add(new(ConsoleFields[random.Next(ConsoleFields.Length)], Value()));
            }

            if (random.Next(4) != 0)
            {
                fields.Add(new("_csrf", random.Next(10) == 0 ? Junk(random, 64) : session.Csrf));
            }

            request.Content = random.Next(8) == 0 ? Body(random) : new FormUrlEncodedContent(fields);
            if (random.Next(6) == 0)
            {
                request.Headers.TryAddWithoutValidation("Origin", random.Next(2) == 0 ? "https://evil.example" : Ascii(Junk(random, 30)));
            }
        }

        return request;
    }

    public static readonly string[] Ranges =
    [
        "bytes=0-0", "bytes=-0", "bytes=0-", "bytes=5-1", "bytes=0-1,2-3", "items=0-1", "bytes=99999999999999999999-", "bytes=--1",
        "bytes=-99999999999", "bytes", "=", "bytes=0-0, 0-0, 0-0, 0-0", "bytes=e", "bytes=1-2-3",
    ];

    public static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "multipart/form-data", "application/json; charset=\"", ";;;", "application/xml",
    ];

    public static async Task<string?> CheckAsync(HttpRequestMessage request, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status >= 500)
        {
            return $"HTTP {status}";
        }

        var path = request.RequestUri!.AbsolutePath;
        if (path.StartsWith("/_spillway/console", StringComparison.Ordinal))
        {
            // A page, a redirect to sign in, or a refusal page; never an error the rules do not name.
            return status is 200 or 302 or 303 or 400 or 401 or 403 or 404 or 405 or 409 or 413 or 415 ? null : $"HTTP {status}";
        }

        var body = await response.Content.ReadAsByteArrayAsync();
        var isJson = response.Content.Headers.ContentType?.MediaType == "application/json";
        if (!isJson || status != 200 || !(path.StartsWith("/rest", StringComparison.Ordinal) || path.StartsWith("/bulk", StringComparison.Ordinal)))
        {
            return status is 200 or 204 or 206 or 304 or 400 or 401 or 404 or 405 or 411 or 413 or 414 or 415 or 416 or 431 ? null : $"HTTP {status}";
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
                return DocumentedCodes.Contains(code, StringComparer.Ordinal) ? null : $"code {code}: {root.GetProperty("errors")[0].GetProperty("message").GetString()}";
            }

            return null;
        }
        catch (JsonException ex)
        {
            return $"JSON that does not parse: {ex.Message}";
        }
    }

    /// <summary>One seeded hostile request.</summary>
    /// <param name="random">The seeded generator.</param>
    /// <param name="token">A valid access token, sent in some requests.</param>
    /// <param name="completedId">A Completed export job of the token's user.</param>
    /// <param name="adminKey">The admin key, sent in some admin requests so their bodies reach the handlers.</param>
    /// <param name="munchkinId">The subscription, put in some admin paths.</param>
    public static HttpRequestMessage Generate(Random random, string token, string completedId, string? adminKey = null, string? munchkinId = null)
    {
        var template = Paths[random.Next(Paths.Length)];
        var admin = template.StartsWith("/_spillway/admin/", StringComparison.Ordinal);
        var id = random.Next(4) switch
        {
            0 => admin && munchkinId is not null ? munchkinId : completedId,
            1 => Guid.NewGuid().ToString(),
            _ => Ids[random.Next(Ids.Length)],
        };
        var path = template.Replace("{id}", id, StringComparison.Ordinal);
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

        if (admin && adminKey is not null && random.Next(2) == 0)
        {
            request.Headers.TryAddWithoutValidation("X-Spillway-Admin-Key", adminKey);
        }
        else if (random.Next(4) == 0)
        {
            request.Headers.TryAddWithoutValidation(random.Next(2) == 0 ? "X-Spillway-Admin-Key" : "If-None-Match", Ascii(Junk(random, 40)));
        }

        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, deflate, br");
        if (method != HttpMethod.Get || random.Next(4) == 0)
        {
            request.Content = random.Next(2) == 0 && MatchingBody(random, path) is { } matching ? matching : Body(random);
        }

        return request;
    }

    /// <summary>A hostile body of the kind the path takes (so the request reaches its handler), as JSON; null for other paths.</summary>
    private static ByteArrayContent? MatchingBody(Random random, string path)
    {
        string? json = path switch
        {
            _ when path.EndsWith("/export/create.json", StringComparison.Ordinal) => MutatedCreate(random),
            "/rest/v1/leads.json" => LeadSync(random),
            "/rest/v1/activities/external.json" => ExternalActivities(random),
            _ when path.StartsWith("/_spillway/admin/", StringComparison.Ordinal) => AdminBody(random),
            _ => null,
        };
        if (json is null)
        {
            return null;
        }

        var bytes = random.Next(4) switch
        {
            0 => InvalidUtf8(random, json),
            1 => Encoding.UTF8.GetBytes(WithEscapedSurrogate(random, json)),
            _ => Encoding.UTF8.GetBytes(json),
        };
        var content = new ByteArrayContent(bytes);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        return content;
    }

    private static ByteArrayContent Body(Random random)
    {
        byte[] bytes;
        switch (random.Next(13))
        {
            case 9:
                bytes = InvalidUtf8(random, MutatedCreate(random));
                break;
            case 10:
                bytes = Encoding.UTF8.GetBytes(WithEscapedSurrogate(random, MutatedCreate(random)));
                break;
            case 11:
                bytes = Encoding.UTF8.GetBytes(random.Next(2) == 0 ? LeadSync(random) : ExternalActivities(random));
                break;
            case 12:
                bytes = Encoding.UTF8.GetBytes(AdminBody(random));
                break;
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

    public static string Junk(Random random, int length)
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

    /// <summary>A JSON text with invalid UTF-8 put into it: a lone continuation byte, an overlong '/', a UTF-8-encoded
    /// surrogate, a truncated sequence, or 0xFF.</summary>
    private static byte[] InvalidUtf8(Random random, string json)
    {
        byte[][] bad = [[0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xFF], [0xF4, 0x90, 0x80, 0x80]];
        var bytes = Encoding.UTF8.GetBytes(json).ToList();
        var quote = bytes.IndexOf((byte)'"', random.Next(Math.Max(1, bytes.Count / 2)));
        bytes.InsertRange(quote < 0 ? 0 : quote + 1, bad[random.Next(bad.Length)]);
        return [.. bytes];
    }

    /// <summary>A JSON text with an escaped lone surrogate (as Python's json.dumps writes one) inside a string.</summary>
    private static string WithEscapedSurrogate(Random random, string json)
    {
        var quote = json.IndexOf('"', random.Next(Math.Max(1, json.Length / 2)));
        var escape = random.Next(3) switch { 0 => "\\ud800", 1 => "\\udfff", _ => "\\ud83d\\u0041" };
        return quote < 0 ? json : json.Insert(quote + 1, escape);
    }

    private static string Extreme(Random random) => random.Next(10) switch
    {
        0 => "1e309",
        1 => "-0",
        2 => "2147483648",
        3 => "9223372036854775808",
        4 => "-9223372036854775809",
        5 => "0.0000000000000000000001",
        6 => "\"" + Junk(random, random.Next(0, 300)) + "\"",
        7 => "null",
        8 => "[" + string.Join(',', Enumerable.Repeat("1", random.Next(0, 400))) + "]",
        _ => "{\"a\":" + random.Next() + "}",
    };

    private static string LeadSync(Random random)
    {
        string Pick(params string[] options) => options[random.Next(options.Length)];
        var records = Enumerable.Range(0, random.Next(0, 5)).Select(_ => Pick(
            "{\"email\":\"a" + random.Next(1000) + "@example.com\",\"firstName\":" + Extreme(random) + "}",
            "{\"id\":" + Extreme(random) + ",\"lastName\":\"x\"}",
            "{\"" + Junk(random, 8) + "\":" + Extreme(random) + "}",
            "{\"email\":\"\\ud800@example.com\"}",
            "{\"numberOfEmployees\":" + Extreme(random) + ",\"email\":\"b@example.com\"}",
            "null", "7", "[]"));
        return "{\"action\":" + Pick("\"createOrUpdate\"", "\"createOnly\"", "\"updateOnly\"", "\"x\"", "null", "1") +
            ",\"lookupField\":" + Pick("\"email\"", "\"id\"", "\"firstName\"", "7", "null") +
            ",\"input\":[" + string.Join(',', records) + "]}";
    }

    private static string ExternalActivities(Random random)
    {
        var records = Enumerable.Range(0, random.Next(0, 5)).Select(_ =>
            "{\"leadId\":" + Extreme(random) + ",\"activityDate\":" + Extreme(random) + ",\"activityTypeId\":" + Extreme(random) +
            ",\"primaryAttributeValue\":" + Extreme(random) + ",\"attributes\":" + (random.Next(2) == 0 ? "[{\"name\":\"x\",\"value\":" + Extreme(random) + "}]" : Extreme(random)) + "}");
        return "{\"input\":[" + string.Join(',', records) + "]}";
    }

    private static string AdminBody(Random random)
    {
        string Pick(params string[] options) => options[random.Next(options.Length)];
        return Pick(
            "{\"advanceSeconds\":" + Extreme(random) + "}",
            "{\"now\":" + Extreme(random) + "}",
            "{\"now\":\"0001-01-01T00:00:00Z\"}",
            "{\"now\":\"9999-12-31T23:59:59Z\"}",
            "{\"mode\":" + Extreme(random) + ",\"startLatencySeconds\":" + Extreme(random) + "}",
            "{\"maxWindowDays\":" + Extreme(random) + ",\"listWindowDays\":" + Extreme(random) + "}",
            "{\"munchkinId\":" + Extreme(random) + "}",
            "{\"kind\":\"error\",\"code\":" + Extreme(random) + ",\"count\":" + Extreme(random) + "}");
    }
}
