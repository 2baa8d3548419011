using System.Net;
using Spillway.Server.Tests.Infrastructure;

namespace Spillway.Server.Tests.Console;

/// <summary>The web console's sign-in: the admin key through a form, an HttpOnly SameSite=Strict cookie, no key in URLs.</summary>
public sealed class ConsoleSignInTests
{
    private static HttpClient Browser(SpillwayTestServer server) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };

    private static FormUrlEncodedContent KeyForm(string key) => new([new KeyValuePair<string, string>("key", key)]);

    [Fact]
    public async Task Without_the_cookie_the_overview_sends_the_browser_to_sign_in()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        using var browser = Browser(server);

        var response = await browser.GetAsync("/_spillway/console");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/_spillway/console/sign-in", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task A_wrong_key_gets_the_sign_in_page_with_an_error_and_no_cookie()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        using var browser = Browser(server);

        var response = await browser.PostAsync("/_spillway/console/sign-in", KeyForm("not-the-key"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("That is not the admin key.", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task The_right_key_sets_an_http_only_strict_cookie_that_opens_the_overview()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        using var browser = Browser(server);

        var signIn = await browser.PostAsync("/_spillway/console/sign-in", KeyForm(SpillwayTestServer.AdminKey));

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(SpillwayTestServer.AdminKey, cookie, StringComparison.Ordinal);

        using var overview = new HttpRequestMessage(HttpMethod.Get, "/_spillway/console");
        overview.Headers.Add("Cookie", cookie.Split(';')[0]);
        var page = await browser.SendAsync(overview);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains(SpillwayTestServer.MunchkinId, await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cookie_does_not_open_the_admin_api()
    {
        await using var server = await SpillwayTestServer.StartAsync();
        using var browser = Browser(server);
        var signIn = await browser.PostAsync("/_spillway/console/sign-in", KeyForm(SpillwayTestServer.AdminKey));
        var cookie = signIn.Headers.GetValues("Set-Cookie").Single().Split(';')[0];

        using var admin = new HttpRequestMessage(HttpMethod.Get, "/_spillway/admin/subscriptions");
        admin.Headers.Add("Cookie", cookie);
        var response = await browser.SendAsync(admin);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
