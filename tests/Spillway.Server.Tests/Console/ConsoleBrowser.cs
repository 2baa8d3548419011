using System.Net;
using System.Text.RegularExpressions;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Console;

/// <summary>A page as the console answered it, with the lookups the tests make by data-testid.</summary>
public sealed partial record ConsoleResponse(HttpStatusCode Status, string Html, HttpResponseMessage Response)
{
    /// <summary>The opening tags that carry <c>data-testid="<paramref name="testId"/>"</c>, in page order.</summary>
    public IReadOnlyList<string> Tags(string testId) =>
        [.. Regex.Matches(Html, $"<[a-z0-9]+\\s[^>]*data-testid=\"{Regex.Escape(testId)}\"[^>]*>").Select(m => m.Value)];

    public string Tag(string testId) => Assert.Single(Tags(testId));

    public bool Has(string testId) => Tags(testId).Count > 0;

    /// <summary>An attribute of the one element with the test id.</summary>
    public string Attr(string testId, string attribute) => AttrOf(Tag(testId), attribute)
        ?? throw new Xunit.Sdk.XunitException($"{testId} has no {attribute}: {Tag(testId)}");

    public static string? AttrOf(string tag, string attribute)
    {
        var match = Regex.Match(tag, $"\\s{Regex.Escape(attribute)}=\"([^\"]*)\"");
        return match.Success ? WebUtility.HtmlDecode(match.Groups[1].Value) : null;
    }

    /// <summary>The text of the one element with the test id (tags stripped).</summary>
    public string Text(string testId)
    {
        var start = Html.IndexOf(Tag(testId), StringComparison.Ordinal) + Tag(testId).Length;
        var name = TagName().Match(Tag(testId)).Groups[1].Value;
        var end = Html.IndexOf($"</{name}>", start, StringComparison.Ordinal);
        return WebUtility.HtmlDecode(Regex.Replace(Html[start..end], "<[^>]+>", "")).Trim();
    }

    public string Heading => WebUtility.HtmlDecode(Regex.Match(Html, "<h1>(.*?)</h1>").Groups[1].Value);

    [GeneratedRegex("^<([a-z0-9]+)")]
    private static partial Regex TagName();
}

/// <summary>A signed-in browser for the console: a cookie, the form token read from a page, and nothing else.</summary>
public sealed partial class ConsoleBrowser : IDisposable
{
    public const string Prefix = "/_spillway/console";

    private readonly HttpClient _http;
    private string? _cookie;
    private string? _token;

    public ConsoleBrowser(SpillwayTestServer server)
        : this(server.BaseAddress)
    {
    }

    public ConsoleBrowser(Uri baseAddress)
    {
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = baseAddress };
    }

    public string? Cookie => _cookie;

    public static Task<ConsoleBrowser> SignInAsync(SpillwayTestServer server) => SignInAsync(server.BaseAddress, SpillwayTestServer.AdminKey);

    /// <summary>Signs in to the console of the server at <paramref name="baseAddress"/> (a node of a cluster, say).</summary>
    public static async Task<ConsoleBrowser> SignInAsync(Uri baseAddress, string adminKey)
    {
        var browser = new ConsoleBrowser(baseAddress);
        var response = await browser._http.PostAsync(Prefix + "/sign-in",
            new FormUrlEncodedContent([new KeyValuePair<string, string>("key", adminKey)]));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        browser._cookie = response.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        return browser;
    }

    public async Task<ConsoleResponse> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path.StartsWith('/') ? path : $"{Prefix}/{path}");
        return await SendAsync(request);
    }

    /// <summary>Posts a form as the console's own page would: with the session's token, from the same origin.</summary>
    public async Task<ConsoleResponse> PostAsync(string path, params (string Name, string Value)[] fields) =>
        await PostRawAsync(path, [.. fields, ("_csrf", await TokenAsync())]);

    /// <summary>Posts exactly the given fields and headers (no token added).</summary>
    public async Task<ConsoleResponse> PostRawAsync(string path, (string Name, string Value)[] fields, string? origin = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path.StartsWith('/') ? path : $"{Prefix}/{path}")
        {
            Content = new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))),
        };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return await SendAsync(request);
    }

    public async Task<string> TokenAsync()
    {
        if (_token is null)
        {
            var page = await GetAsync(Prefix);
            _token = TokenPattern().Match(page.Html).Groups[1].Value;
            Assert.NotEmpty(_token);
        }

        return _token;
    }

    private async Task<ConsoleResponse> SendAsync(HttpRequestMessage request)
    {
        if (_cookie is not null)
        {
            request.Headers.Add("Cookie", _cookie);
        }

        var response = await _http.SendAsync(request);
        return new ConsoleResponse(response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"_csrf\" value=\"([0-9a-f]+)\"")]
    private static partial Regex TokenPattern();
}
