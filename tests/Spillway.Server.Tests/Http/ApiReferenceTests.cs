using System.Net;
using System.Text.RegularExpressions;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Http;

/// <summary>
/// The interactive API reference at /_spillway/reference: it renders, points at the server's OpenAPI document, and
/// loads nothing from another host (no CDN script or style, no web fonts, no telemetry), so it works offline.
/// </summary>
public sealed partial class ApiReferenceTests
{
    [GeneratedRegex(@"(?:src|href)\s*=\s*[""'](?<url>[^""']+)[""']", RegexOptions.IgnoreCase)]
    private static partial Regex Reference();

    [GeneratedRegex(@"(?:https?:)?//(?<host>[a-z0-9.-]+(?::\d+)?)", RegexOptions.IgnoreCase)]
    private static partial Regex AbsoluteUrl();

    [Fact]
    public async Task The_page_renders_points_at_the_OpenAPI_document_and_loads_nothing_from_another_host()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        using var page = await server.Http.GetAsync("/_spillway/reference");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("Spillway API reference", html, StringComparison.Ordinal);
        Assert.Contains("openapi/v1.json", html, StringComparison.Ordinal);

        // The document it points at is the server's own.
        using var document = await server.Http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);

        // Nothing in the HTML names another host: every script and link is relative or on this server.
        var self = server.BaseAddress.Authority;
        var foreign = AbsoluteUrl().Matches(html).Select(m => m.Groups["host"].Value)
            .Where(h => !string.Equals(h, self, StringComparison.OrdinalIgnoreCase)).Distinct().ToList();
        Assert.True(foreign.Count == 0, "the page names other hosts: " + string.Join(", ", foreign));
        Assert.DoesNotContain("\"withDefaultFonts\":true", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\"telemetry\":true", html, StringComparison.Ordinal);

        var scripts = Reference().Matches(html).Select(m => m.Groups["url"].Value).Where(u => u.EndsWith(".js", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(scripts);
        var bundleBytes = 0L;
        foreach (var script in scripts)
        {
            var url = new Uri(page.RequestMessage!.RequestUri!, script);
            Assert.Equal(self, url.Authority);
            using var response = await server.Http.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            bundleBytes = Math.Max(bundleBytes, text.Length);
            if (text.Length < 100_000)
            {
                // The page's own loader names no host at all (the large bundle carries documentation links as text).
                Assert.DoesNotMatch(@"https?://[a-z]", text);
            }
        }

        // The whole Scalar bundle comes from this server, not from a CDN.
        Assert.True(bundleBytes > 1_000_000, $"the largest script is {bundleBytes} bytes: the bundle is not served here");
    }
}
